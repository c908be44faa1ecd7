"""Printable station cards: staff badges (who scans) and action cards (what the next scan means).

The codes come from :mod:`app.codes` (the reserved ``$`` prefix, never a dossier code); the
drawing from :mod:`labels.cards`.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from app.auth.models import Role, User
from app.codes import (
    CARD_ACTIONS,
    DEFAULT_ACTION,
    LOGOUT,
    SEND,
    action_card_code,
    badge_card_code,
    send_card_code,
)
from app.db import db
from app.errors import NotFound, ValidationError
from app.offices.models import Office, Station
from app.offices.operations import get_office
from labels.cards import COMMAND_HINT, BadgeCard, CommandCard

ROLE_LABELS = {
    Role.RECEPTION: "Tiếp nhận và trả kết quả",
    Role.SPECIALIST: "Chuyên viên",
    Role.LEADER: "Lãnh đạo",
    Role.SUPERVISOR: "Giám sát",
    Role.ADMIN: "Quản trị hệ thống",
}
_HINTS = {LOGOUT: "Kết thúc phiên của người đang quét", DEFAULT_ACTION: "Trở lại thao tác "
          "mặc định của quầy"}


def badge_users(usernames: Sequence[str] = (), office_code: str | None = None) -> list[User]:
    """The users whose badges to print: those named, else every active user (of the office).

    :raises NotFound: an unknown username or office.
    :raises ValidationError: a named user has no badge, or a badge no scanner could read
        back; or nobody to print.
    """
    query = sa.select(User).order_by(User.username)
    if office_code:
        query = query.where(User.office_id == get_office(office_code).id)
    if usernames:
        wanted = [name.strip().lower() for name in usernames]
        users = list(db.session.scalars(query.where(User.username.in_(wanted))))
        missing = sorted(set(wanted) - {u.username for u in users})
        if missing:
            where = f" in office {office_code}" if office_code else ""
            raise NotFound(f"no user {', '.join(missing)}{where}")
        without = [u.username for u in users if not u.badge]
        if without:
            raise ValidationError(f"no badge for {', '.join(without)}: give one with "
                                  "`tracker user add --badge` before printing a badge card")
    else:
        users = [u for u in db.session.scalars(query.where(User.active)) if u.badge]
        if not users:
            raise ValidationError("no active user with a badge to print")
    for user in users:
        try:
            badge_card_code(user.badge or "")
        except ValueError as exc:
            raise ValidationError(f"user {user.username}: {exc}") from exc
    return users


def badge_card(user: User) -> BadgeCard:
    """The card of a user who has a badge."""
    assert user.badge
    return BadgeCard(code=badge_card_code(user.badge), name=user.full_name,
                     role=ROLE_LABELS[user.role], office=user.office.name)


def send_destination(code: str) -> tuple[str, str]:
    """A send card's destination: its code and its name as printed, a station (with its
    office) or an office, the places a ``send`` scan may name (app.tracking.scope).

    :raises NotFound: no station nor office has that code.
    """
    code = code.strip().upper()
    station = db.session.scalar(sa.select(Station).where(Station.code == code))
    if station is not None:
        return code, f"{station.name} ({station.office.name})"
    office = db.session.scalar(sa.select(Office).where(Office.code == code))
    if office is None:
        raise NotFound(f"no office or station {code}: a send card names where the file goes")
    return code, office.name


def action_cards(send_to: Sequence[str] = ()) -> list[CommandCard]:
    """One card per action worth a card, then the default-action and log-out cards.

    A send needs a destination, so there is one send card per office or station code in
    ``send_to`` and none without.

    :raises NotFound: a destination no station nor office has.
    :raises ValidationError: a destination code a card cannot carry.
    """
    cards = []
    for action, title in CARD_ACTIONS.items():
        if action != SEND:
            cards.append(CommandCard(code=action_card_code(action), title=title,
                                     hint=_HINTS.get(action, COMMAND_HINT)))
            continue
        for code, name in map(send_destination, send_to):
            try:
                card_code = send_card_code(code)
            except ValueError as exc:
                raise ValidationError(str(exc)) from exc
            cards.append(CommandCard(code=card_code, title=title, hint=f"Đến: {name}"))
    return cards
