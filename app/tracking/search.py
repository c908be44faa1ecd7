"""Finding dossiers for staff: by code, tracking number, applicant name or phone, with filters.

Names are searched without diacritics on SQLite and PostgreSQL alike: each dossier keeps its
applicant's name folded (:func:`fold_text`, written at intake, backfilled by migration 0012),
and the query is folded the same way, so "nguyen van a" finds "Nguyễn Văn A".
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, NamedTuple

import sqlalchemy as sa

from app.auth.tokens import Principal
from app.db import db
from app.offices.models import Station
from app.tracking.models import Dossier, DossierStatus, not_closed

_NOT_DIGITS = re.compile(r"[\s.\-()+]")


def fold_text(text: str) -> str:
    """``Nguyễn Văn Đức`` → ``nguyen van duc``: lower case, no diacritics (đ → d), one space
    between words."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(bare.lower().split())


def _contains(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class DossierSearch:
    """What the list asks for; every criterion given must hold."""

    q: str | None = None
    statuses: frozenset[DossierStatus] = frozenset()
    station: str | None = None
    overdue: bool | None = None
    page: int = 1
    per_page: int = 20


class Page(NamedTuple):
    dossiers: list[Dossier]
    total: int


def _matches(q: str) -> sa.ColumnElement[bool]:
    """Code or applicant name containing ``q``; with digits only, also the tracking number
    or the phone (written with or without spaces, dots or dashes)."""
    conditions = [Dossier.code.like(_contains(q.upper()), escape="\\"),
                  Dossier.applicant_name_folded.like(_contains(fold_text(q)), escape="\\")]
    digits = _NOT_DIGITS.sub("", q)
    if digits.isdigit():
        phone: Any = Dossier.applicant_phone
        for char in " .-":
            phone = sa.func.replace(phone, char, "")
        conditions += [Dossier.tracking_number.like(f"%{digits}%"),
                       phone.like(f"%{digits}%")]
    return sa.or_(*conditions)


def listed_for(principal: Principal) -> sa.ColumnElement[bool]:
    """The dossiers a caller's lists show: those the caller's offices own (receiving or
    competent), or that a ``send`` handed to one of them (app.tracking.scope). A dossier open
    to an office only as a plan step's guest is read by its code, not listed."""
    offices = principal.office_ids
    return sa.or_(Dossier.receiving_office_id.in_(offices),
                  Dossier.competent_office_id.in_(offices),
                  Dossier.sent_to_office_id.in_(offices))


def open_clause() -> sa.ColumnElement[bool]:
    """Not finished and not closed: the office still owes the citizen something."""
    return sa.and_(Dossier.finished_at.is_(None), not_closed())


def late_clause(now: dt.datetime) -> sa.ColumnElement[bool]:
    """DOMAIN: an open dossier is late once past its due time; while the citizen is awaited,
    it is judged at the instant the wait began."""
    return sa.and_(open_clause(),
                   sa.func.coalesce(Dossier.paused_since,
                                    sa.literal(now, Dossier.due_at.type)) > Dossier.due_at)


def search_dossiers(principal: Principal, criteria: DossierSearch, now: dt.datetime) -> Page:
    """One page of the dossiers in the caller's lists (:func:`listed_for`) that match,
    newest received first."""
    stmt = sa.select(Dossier).where(listed_for(principal))
    if criteria.q:
        stmt = stmt.where(_matches(criteria.q))
    if criteria.statuses:
        stmt = stmt.where(Dossier.status.in_(criteria.statuses))
    if criteria.station:
        stmt = stmt.join(Station, Station.id == Dossier.current_station_id).where(
            Station.code == criteria.station.upper())
    if criteria.overdue is not None:
        late = late_clause(now)
        stmt = stmt.where(late if criteria.overdue else sa.not_(late))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery()))
    rows = db.session.scalars(
        stmt.order_by(Dossier.received_at.desc(), Dossier.id.desc())
        .offset((criteria.page - 1) * criteria.per_page).limit(criteria.per_page)
        .options(sa.orm.joinedload(Dossier.current_station)))
    return Page(list(rows), int(total or 0))
