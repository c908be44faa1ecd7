"""Whose dossier it is: the one scope rule for scans and reads, handoffs, refused attempts.

A dossier is in a caller's scope when one of the caller's offices (its own; every office of
the province for a province-scoped supervisor or admin; a device's office only) is

- an *owner*: the dossier's receiving or competent office; or
- a *guest*: the office a ``send`` handed the file to and that has not handed it back
  (``Dossier.sent_to_office_id``, derived from the events by the fold in
  :mod:`app.tracking.state`, so a replay after a late event gives the same grant), or the
  office of a plan step's station while the dossier is *for* that step (its plan position is
  the step before, so the office can scan it in) or *at* it (until a later step is reached),
  once the dossier follows its plan (has matched a first step).

The same rule answers reads (:func:`in_scope`) and writes (:class:`ScanGate`). A scan outside
it is refused per event (``out_of_scope``), changes nothing the owners see, and is kept as a
:class:`~app.tracking.models.RefusedScan` for the owners' supervisors.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from app.auth.permissions import action_table
from app.auth.tokens import Principal
from app.db import db
from app.offices.models import Office, Station
from app.procedures.operations import PlanStep, plan_of
from app.tracking.models import Dossier, RefusedScan, ScanAction, ScanEvent

log = logging.getLogger(__name__)

OUT_OF_SCOPE = "out_of_scope"
ACTION_NOT_ALLOWED = "action_not_allowed"
UNKNOWN_DESTINATION = "unknown_destination"


def plan_guests(plan: Sequence[PlanStep], position: int) -> frozenset[int]:
    """Offices named by the plan's station steps at ``position`` (the dossier is at that step)
    or ``position + 1`` (it is due there next).

    Nothing before the dossier has matched a first step: a procedure's plan names one
    office's stations, and another office receiving the same procedure without following
    that plan must not open its dossiers to the office the plan names.
    """
    if position < 1:
        return frozenset()
    return frozenset(step.station_office_id for step in plan
                     if step.station_office_id is not None
                     and position <= step.position <= position + 1)


def guest_offices(dossier: Dossier) -> frozenset[int]:
    """Offices that are not owners but may scan and read the dossier now."""
    guests = plan_guests(plan_of(dossier.procedure_version_id), dossier.plan_position)
    if dossier.sent_to_office_id is not None:
        guests |= {dossier.sent_to_office_id}
    return guests


def is_owner(principal: Principal, dossier: Dossier) -> bool:
    offices = principal.office_ids
    return dossier.receiving_office_id in offices or dossier.competent_office_id in offices


def in_scope(principal: Principal, dossier: Dossier) -> bool:
    """Whether the caller may scan and read ``dossier`` (the module's rule)."""
    return is_owner(principal, dossier) or bool(principal.office_ids & guest_offices(dossier))


@dataclass(frozen=True)
class Refusal:
    reason: str
    message: str


class ScanGate:
    """Judges the events of one scan batch against scope and the action table.

    Call :meth:`judge` once per event that is about to be recorded, then :meth:`record_refused`
    once: out-of-scope attempts are written in one statement, idempotently on the event id.
    """

    def __init__(self, principal: Principal, now: dt.datetime) -> None:
        self.principal = principal
        self.now = now
        self.table = action_table()
        self._refused: dict[Any, dict[str, Any]] = {}
        self._places: dict[str, tuple[int, int | None] | None] = {}

    def judge(self, dossier: Dossier, event: ScanEvent,
              destination: str | None) -> Refusal | None:
        """Refuse ``event`` or let it through; a ``send`` gets its destination filled in.

        :param destination: the agency code or station code a ``send`` names.
        """
        if not in_scope(self.principal, dossier):
            self._remember(dossier, event)
            return Refusal(OUT_OF_SCOPE, "this dossier belongs to another office and was not "
                           "sent to yours; its owners' supervisors will see the attempt")
        action = event.action.value
        station = event.station
        user = self.principal.user
        if user is not None:
            if not self.table.user_may(user.role, action):
                return Refusal(ACTION_NOT_ALLOWED,
                               f"the role {user.role.value} may not post {action}")
        elif not self.table.device_may(station.kind, action):
            return Refusal(ACTION_NOT_ALLOWED,
                           f"{action} may not be scanned by a device at {station.code}")
        if event.action is not ScanAction.SEND:
            if destination:
                return Refusal("malformed", "destination is only for the send action")
            return None
        if not destination:
            return Refusal("malformed", "send needs a destination: an agency or station code")
        place = self._place(destination)
        if place is None:
            return Refusal(UNKNOWN_DESTINATION, f"no office or station {destination[:40]}")
        event.destination_office_id, event.destination_station_id = place
        return None

    def _place(self, code: str) -> tuple[int, int | None] | None:
        code = code.strip().upper()
        if code not in self._places:
            station = db.session.execute(sa.select(Station.office_id, Station.id).where(
                Station.code == code)).one_or_none()
            if station is not None:
                self._places[code] = (station.office_id, station.id)
            else:
                office = db.session.scalar(sa.select(Office.id).where(Office.code == code))
                self._places[code] = (office, None) if office is not None else None
        return self._places[code]

    def _remember(self, dossier: Dossier, event: ScanEvent) -> None:
        user = self.principal.user
        device = self.principal.device
        self._refused.setdefault(event.uuid, {
            "uuid": event.uuid, "dossier_id": dossier.id, "reason": OUT_OF_SCOPE,
            "action": event.action, "office_id": self.principal.office_id,
            "station_id": event.station_id, "device_id": device.id if device else None,
            "user_id": user.id if user else None, "role": user.role.value if user else "",
            "scanned_at": event.corrected_at, "received_at": self.now})

    def record_refused(self) -> None:
        """Write the refused attempts; an event id already on file adds nothing."""
        if not self._refused:
            return
        dialect = db.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        db.session.execute(insert(RefusedScan).on_conflict_do_nothing(
            index_elements=[RefusedScan.uuid]), list(self._refused.values()))
        log.warning("%d scan(s) refused as out of scope for office %s", len(self._refused),
                    self.principal.office_id)


# --- the owners' supervisors' list -------------------------------------------------------------

def refused_scans(offices: Collection[int] | None, since: dt.datetime, until: dt.datetime, *,
                  limit: int, before: int | None = None) -> list[RefusedScan]:
    """Refused attempts on dossiers owned by ``offices`` (all when ``None``), newest first.

    :param before: a row id from the previous page; only older rows are returned.
    """
    stmt = (sa.select(RefusedScan).join(RefusedScan.dossier)
            .where(RefusedScan.received_at >= since, RefusedScan.received_at < until)
            .options(sa.orm.contains_eager(RefusedScan.dossier),
                     sa.orm.joinedload(RefusedScan.office), sa.orm.joinedload(RefusedScan.station),
                     sa.orm.joinedload(RefusedScan.device))
            .order_by(RefusedScan.id.desc()).limit(limit))
    if offices is not None:
        stmt = stmt.where(sa.or_(Dossier.receiving_office_id.in_(offices),
                                 Dossier.competent_office_id.in_(offices)))
    if before is not None:
        stmt = stmt.where(RefusedScan.id < before)
    return list(db.session.scalars(stmt))
