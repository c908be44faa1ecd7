"""A station's session: who is scanning, and what the next file scan means (standard library only).

The scanner agent and the station page share this pure fold: frozen dataclasses in and out, the
time of each scan passed in (no clock is read here), so both work the same way and the rules are
tested once, directly. The cards are :mod:`app.codes`' (``$B-<badge>``, ``$A-<ACTION>``).

Rules:

- A **badge** starts that person's session, replacing whoever's was active; every file scan
  meanwhile is theirs. A new session starts from the station's default action.
- The **log-out** card ends the session: file scans carry no person until the next badge.
- **Idle expiry**: the session, and any action a card chose, end after ``idle`` without a scan
  at the station (a badge, a card or a file). Idle rather than absolute, so that a person who
  keeps working is never cut off mid-pile, while one who walks away is logged out
  ``idle`` later. ``idle`` of zero: no expiry (until log-out or another badge).
- An **action card** sets the action of the NEXT file scan only; then the station's default
  returns. The same card scanned twice in a row **locks** its action for every file scan until
  another action card or the **default** card (which goes back to the default at once).
- A **send** needs a destination, so only a send card that names one
  (``$A-SEND-<agency or station code>``) sets it; a bare send card changes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from app.codes import ACTION, BADGE, CARD_ACTIONS, DEFAULT_ACTION, LOGOUT, SCAN_ACTIONS, SEND

DEFAULT_IDLE = dt.timedelta(minutes=30)

#: Each scan action in Vietnamese, for what a station shows (the cards' own titles where a
#: card exists); ``""`` is the server's default, ``transfer_in``.
ACTION_LABELS: dict[str, str] = {
    "receive": "Tiếp nhận hồ sơ",
    "transfer_in": "Nhận bàn giao hồ sơ",
    "stopped": "Dừng xử lý",
    **{action: CARD_ACTIONS[action] for action in SCAN_ACTIONS if action in CARD_ACTIONS},
}
ACTION_LABELS[""] = ACTION_LABELS["transfer_in"]


def action_label(action: str, destination: str = "") -> str:
    """``action`` in Vietnamese, with a send's destination (``Gửi liên thông → H12``)."""
    label = ACTION_LABELS.get(action, action)
    return f"{label} → {destination}" if destination else label


# What a scan did (Step.kind).
STARTED = "badge"
"""A badge started that person's session."""
ENDED = "logout"
"""The log-out card ended the session."""
ONE_SHOT = "action"
"""An action card chose the action of the next file scan."""
LOCKED = "locked"
"""The same action card again: its action holds for every file scan until another card."""
DEFAULT = "default"
"""The default card: back to the station's default action."""
NO_DESTINATION = "no_destination"
"""A send card without a destination: refused, nothing changed."""
FILE = "file"
"""A file scan: it carries the person and the action in force."""
STEP_KINDS = (STARTED, ENDED, ONE_SHOT, LOCKED, DEFAULT, NO_DESTINATION, FILE)


@dataclass(frozen=True)
class Session:
    """A station's state between scans.

    :param default_action: the station's action for a file scan no card chose (``""``: the
        server's default, ``transfer_in``).
    :param idle: how long without a scan ends the session and any chosen action (zero: never).
    :param person: the badge of the active person (``""``: nobody).
    :param action: the action a card chose (``""``: the default).
    :param destination: a chosen send's agency or station code.
    :param locked: the chosen action holds for every file scan, not the next one only.
    :param last_at: when the station last saw a scan.
    """

    default_action: str = ""
    idle: dt.timedelta = DEFAULT_IDLE
    person: str = ""
    action: str = ""
    destination: str = ""
    locked: bool = False
    last_at: dt.datetime | None = None

    def at(self, moment: dt.datetime) -> Session:
        """The session as it stands at ``moment``: emptied if it has been idle too long."""
        if self.expired(moment):
            return replace(self, person="", action="", destination="", locked=False)
        return self

    def expired(self, moment: dt.datetime) -> bool:
        """True if something is held (a person or an action) and ``idle`` has passed."""
        held = bool(self.person or self.action)
        return (held and self.last_at is not None and self.idle > dt.timedelta(0)
                and moment - self.last_at >= self.idle)

    @property
    def next_action(self) -> str:
        """The action the next file scan gets (``""``: the server's default)."""
        return self.action or self.default_action


@dataclass(frozen=True)
class Step:
    """What one scan did.

    :param kind: one of :data:`STEP_KINDS`.
    :param person: for a file, who it is attributed to; for a card, who is active after it.
    :param action: for a file, its action; for a card, the action the next file scan gets
        (``""``: the server's default).
    :param destination: with a ``send``, where the file goes.
    :param ended: the person whose session this scan ended (another badge, log-out), or that
        had ended for being idle before it.
    :param expired: the session (or a chosen action) had run out before this scan.
    """

    kind: str
    person: str
    action: str
    destination: str = ""
    ended: str = ""
    expired: bool = False


def scan(session: Session, kind: str, value: str, moment: dt.datetime,
         destination: str = "") -> tuple[Session, Step]:
    """Apply one recognized scan to the station's session.

    :param kind: ``badge`` or ``action`` for a card (:data:`app.codes.CARD_KINDS`), any other
        kind for a file.
    :param value: the badge, or the card's action (a :data:`app.codes.CARD_ACTIONS` key).
    :param moment: when the scan was made (aware).
    :param destination: a send card's agency or station code.
    """
    expired = session.expired(moment)
    before = session.at(moment)
    ended = session.person if expired else ""
    now = replace(before, last_at=moment)
    if kind == BADGE:
        ended = ended or (before.person if before.person != value else "")
        after = replace(now, person=value, action="", destination="", locked=False)
        return after, Step(STARTED, value, after.next_action, "", ended, expired)
    if kind == ACTION:
        if value == LOGOUT:
            after = replace(now, person="", action="", destination="", locked=False)
            return after, Step(ENDED, "", after.next_action, "", ended or before.person, expired)
        if value == DEFAULT_ACTION:
            after = replace(now, action="", destination="", locked=False)
            return after, Step(DEFAULT, after.person, after.next_action, "", ended, expired)
        if value == SEND and not destination:
            return now, Step(NO_DESTINATION, now.person, now.next_action, now.destination,
                             ended, expired)
        again = before.action == value and before.destination == destination
        after = replace(now, action=value, destination=destination, locked=again)
        return after, Step(LOCKED if again else ONE_SHOT, after.person, value, destination,
                           ended, expired)
    step = Step(FILE, now.person, now.next_action, now.destination, ended, expired)
    if not now.locked:
        now = replace(now, action="", destination="")
    return now, step
