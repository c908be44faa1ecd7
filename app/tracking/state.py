"""The dossier's state as a fold over its scan events, ordered by corrected scan time.

The same function serves an event that arrives in order (one step on top of the stored state)
and a late one (a replay of the whole history), so the final state never depends on the order
in which events reached the server.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from uuid import UUID

from app.offices.models import Station
from app.procedures.operations import PlanStep
from app.tracking.models import DossierStatus, ScanAction

# Flags: why a scan makes no sense. The scan is kept and shown, never dropped.
AFTER_CLOSE = "after_close"
OFF_PLAN = "off_plan"
NO_PENDING_SUPPLEMENT = "no_pending_supplement"
NO_PENDING_PAYMENT = "no_pending_payment"
REPEAT_RECEIVE = "repeat_receive"
BEFORE_RECEIPT = "before_receipt"

WorkingHours = Callable[[dt.datetime, dt.datetime], decimal.Decimal]


@dataclass(frozen=True)
class DossierState:
    status: DossierStatus
    station_id: int | None
    holder_id: int | None
    plan_position: int = 0
    paused_since: dt.datetime | None = None
    paused_hours: decimal.Decimal = decimal.Decimal(0)
    supplement_count: int = 0
    # What the office waits for from the citizen; the clock is paused (``paused_since``)
    # from the first request until neither is awaited, never after processing ended.
    awaiting_supplement: bool = False
    awaiting_payment: bool = False
    finished_at: dt.datetime | None = None
    returned_at: dt.datetime | None = None
    last_event_at: dt.datetime | None = None
    last_event_uuid: UUID | None = None
    # The office a ``send`` handed the file to, until it hands it back (see apply_event).
    sent_to_office_id: int | None = None
    # In transit: since the ``send`` that put the file between hands, and where it goes
    # (an office, and the station when the send named one), until the next scan anywhere.
    in_transit_since: dt.datetime | None = None
    transit_to_office_id: int | None = None
    transit_to_station_id: int | None = None

    @property
    def order_key(self) -> tuple[dt.datetime, UUID] | None:
        if self.last_event_at is None or self.last_event_uuid is None:
            return None
        return (self.last_event_at, self.last_event_uuid)


@dataclass(frozen=True)
class EventFacts:
    """What the fold needs to know of one scan."""

    uuid: UUID
    at: dt.datetime  # corrected scan time
    action: ScanAction
    station: Station
    actor_id: int | None
    destination_office_id: int | None = None  # for SEND
    destination_station_id: int | None = None  # for SEND, when it named a station

    @property
    def order_key(self) -> tuple[dt.datetime, UUID]:
        return (self.at, self.uuid)


def plan_match(plan: Sequence[PlanStep], position: int, station: Station) -> PlanStep | None:
    """The first plan step at or after ``position`` (1-based) that ``station`` serves."""
    for step in plan:
        if step.position >= max(position, 1) and step.matches(station):
            return step
    return None


def apply_event(state: DossierState, event: EventFacts, plan: Sequence[PlanStep],
                working_hours: WorkingHours) -> tuple[DossierState, str | None]:
    """One step of the fold: the state after ``event``, and the event's flag if it makes no sense.

    :param working_hours: working time between two instants, in hours (pauses).

    Waiting for the citizen: ``request_supplement`` (status 5) and ``request_payment`` (status
    6) pause the clock until ``supplement_received`` and ``payment_received`` answer them (both,
    when both were asked for), or until processing ends (``result_ready``, or the file
    leaves: ``returned``, ``withdrawn``, ``stopped``, ``refused``). A handoff during the wait
    does not end it: the paper file may well move while the citizen is away. The working
    time waited accumulates in ``paused_hours``. A request made after ``result_ready`` changes
    the status but stops no clock: processing has ended already.

    Processing ends at the first ``result_ready`` (``finished_at``); a closing action without
    one ends it too. ``refused`` is the desk's refusal (status 3, "Không được tiếp nhận").

    Handoffs to another office: a ``send`` naming another office than the one it is scanned
    in hands the file to that office (``sent_to_office_id``), which may then scan it. The
    holder keeps it while the file's scans stay at its stations; its own ``send`` onward hands
    it on; the first scan at any other office's station (the owners scanning it again, which
    a send back to them leads to) ends the handoff. Scans at the holder's stations are not
    flagged off-plan: the file was sent there.

    In transit: every ``send`` (to another office, or to a station of its own) puts the file
    between hands (``in_transit_since``, ``transit_to_*``) until the next scan, which is the
    receiving scan when it is made at the destination (any station of the destination office,
    or the destination station). A scan anywhere else ends the transit too: someone holds the
    file, so it was not sent after all or came back; the timeline shows where it turned up.
    A scan after the file was closed, or before its receipt, changes no transit.
    """
    if state.status.closed:
        return dataclasses.replace(state, last_event_at=event.at,
                                   last_event_uuid=event.uuid), AFTER_CLOSE
    if state.status is DossierStatus.NEW and event.action is not ScanAction.RECEIVE:
        # A file cannot move before the desk received it: a wrong device clock, most likely.
        return state, BEFORE_RECEIPT
    flag = None
    changes: dict[str, object] = {"station_id": event.station.id, "holder_id": event.actor_id,
                                  "last_event_at": event.at, "last_event_uuid": event.uuid}
    office_id = event.station.office_id
    sent = event.action is ScanAction.SEND
    changes["in_transit_since"] = event.at if sent else None
    changes["transit_to_office_id"] = event.destination_office_id if sent else None
    changes["transit_to_station_id"] = event.destination_station_id if sent else None
    if (event.action is ScanAction.SEND and event.destination_office_id is not None
            and event.destination_office_id != office_id):
        changes["sent_to_office_id"] = event.destination_office_id
    elif office_id != state.sent_to_office_id:
        changes["sent_to_office_id"] = None
    matched = plan_match(plan, state.plan_position, event.station)
    if matched is not None:
        changes["plan_position"] = matched.position
    elif (event.station.id != state.station_id and event.action is ScanAction.TRANSFER_IN
          and office_id != state.sent_to_office_id):
        flag = OFF_PLAN

    action = event.action
    status = state.status
    if action is ScanAction.RECEIVE:
        if status not in (DossierStatus.NEW, DossierStatus.RECEIVED):
            flag = REPEAT_RECEIVE
        else:
            status = DossierStatus.RECEIVED
    elif action in (ScanAction.TRANSFER_IN, ScanAction.SEND):
        # Moving a file that waits for the citizen, or a finished result, restarts nothing.
        if status not in (DossierStatus.SUPPLEMENT_REQUESTED,
                          DossierStatus.FINANCIAL_OBLIGATION, DossierStatus.PROCESSED):
            status = DossierStatus.IN_PROGRESS
    elif action is ScanAction.REQUEST_SUPPLEMENT:
        if not state.awaiting_supplement:
            # A request repeated while the first is unanswered is the same request.
            changes["supplement_count"] = state.supplement_count + 1
            changes["awaiting_supplement"] = True
        changes.update(_pause(state, event.at))
        status = DossierStatus.SUPPLEMENT_REQUESTED
    elif action is ScanAction.REQUEST_PAYMENT:
        changes["awaiting_payment"] = True
        changes.update(_pause(state, event.at))
        status = DossierStatus.FINANCIAL_OBLIGATION
    elif action in (ScanAction.SUPPLEMENT_RECEIVED, ScanAction.PAYMENT_RECEIVED):
        supplement = action is ScanAction.SUPPLEMENT_RECEIVED
        if not (state.awaiting_supplement if supplement else state.awaiting_payment):
            flag = NO_PENDING_SUPPLEMENT if supplement else NO_PENDING_PAYMENT
        supplement_left = state.awaiting_supplement and not supplement
        payment_left = state.awaiting_payment and supplement
        changes["awaiting_supplement"] = supplement_left
        changes["awaiting_payment"] = payment_left
        if not (supplement_left or payment_left):
            changes.update(_resume(state, event.at, working_hours))
        status = _waiting_status(state.finished_at, supplement_left, payment_left)
    elif action is ScanAction.RESULT_READY:
        changes.update(_resume(state, event.at, working_hours), awaiting_supplement=False,
                       awaiting_payment=False)
        # Processing ends with the first result (Decision 766: "processed" before "returned").
        changes["finished_at"] = state.finished_at or event.at
        status = DossierStatus.PROCESSED
    else:  # RETURNED, WITHDRAWN, STOPPED, REFUSED: the file leaves the office's hands
        changes.update(_resume(state, event.at, working_hours), awaiting_supplement=False,
                       awaiting_payment=False)
        changes["finished_at"] = state.finished_at or event.at
        if action is ScanAction.RETURNED:
            changes["returned_at"] = event.at
        status = {ScanAction.RETURNED: DossierStatus.RETURNED,
                  ScanAction.WITHDRAWN: DossierStatus.WITHDRAWN,
                  ScanAction.STOPPED: DossierStatus.STOPPED,
                  ScanAction.REFUSED: DossierStatus.NOT_ACCEPTED}[action]
    changes["status"] = status
    return dataclasses.replace(state, **changes), flag  # type: ignore[arg-type]


def _waiting_status(finished_at: dt.datetime | None, supplement: bool,
                    payment: bool) -> DossierStatus:
    """The status once one wait is over: the other wait's, else processing or processed."""
    if payment:
        return DossierStatus.FINANCIAL_OBLIGATION
    if supplement:
        return DossierStatus.SUPPLEMENT_REQUESTED
    return DossierStatus.PROCESSED if finished_at is not None else DossierStatus.IN_PROGRESS


def _pause(state: DossierState, at: dt.datetime) -> dict[str, object]:
    """Stop the clock at ``at``, unless it is stopped already or processing has ended (a fee
    asked for before the result is handed over delays no deadline: the result was ready)."""
    if state.paused_since is not None or state.finished_at is not None:
        return {}
    return {"paused_since": at}


def _resume(state: DossierState, at: dt.datetime,
            working_hours: WorkingHours) -> dict[str, object]:
    if state.paused_since is None:
        return {}
    waited = max(working_hours(state.paused_since, at), decimal.Decimal(0))
    return {"paused_since": None, "paused_hours": state.paused_hours + waited}


def replay(initial: DossierState, events: Iterable[EventFacts], plan: Sequence[PlanStep],
           working_hours: WorkingHours) -> tuple[DossierState, dict[UUID, str | None]]:
    """Fold every event in corrected-time order; returns the final state and each event's flag."""
    state = initial
    flags: dict[UUID, str | None] = {}
    for event in sorted(events, key=lambda e: e.order_key):
        state, flags[event.uuid] = apply_event(state, event, plan, working_hours)
    return state, flags

