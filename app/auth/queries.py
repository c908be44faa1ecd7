"""Read queries for staff accounts and their tokens."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from app.auth.models import ApiToken, User
from app.db import db, utcnow


@dataclass(frozen=True)
class UserOverview:
    """A staff account with how many of its tokens still work and when one was last used."""

    user: User
    live_tokens: int
    last_used_at: dt.datetime | None


def user_overview() -> list[UserOverview]:
    """Every staff user by username, with live-token count and last token use."""
    now = utcnow()
    live = sa.case((sa.and_(ApiToken.revoked_at.is_(None), ApiToken.expires_at > now), 1),
                   else_=0)
    # max() of a UTCDateTime would come back untyped (a string on SQLite): keep the type.
    last_used = sa.type_coerce(sa.func.max(ApiToken.last_used_at), ApiToken.last_used_at.type)
    stmt = (sa.select(User, sa.func.coalesce(sa.func.sum(live), 0), last_used)
            .outerjoin(ApiToken, ApiToken.user_id == User.id)
            .group_by(User.id).order_by(User.username))
    rows = db.session.execute(stmt)
    return [UserOverview(user, int(count), last) for user, count, last in rows]
