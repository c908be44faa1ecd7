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
from typing import NamedTuple
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


# --- stays: where the file sat between one scan and the next ------------------------------------

# What the time from one scan to the next was: processing charged to a plan step, a wait for
# the citizen (no budget: the clock is paused), the result awaiting pickup (processing has
# ended), or nothing (the file was closed).
PROCESSING, SUPPLEMENT, PAYMENT, PICKUP, CLOSED = (
    "processing", "supplement", "payment", "pickup", "closed")
INTERVAL_LABELS = {PROCESSING: "Đang xử lý", SUPPLEMENT: "Chờ bổ sung hồ sơ",
                   PAYMENT: "Chờ thực hiện nghĩa vụ tài chính", PICKUP: "Chờ trả kết quả",
                   CLOSED: "Kết thúc"}
WAITS = {DossierStatus.SUPPLEMENT_REQUESTED: SUPPLEMENT,
         DossierStatus.FINANCIAL_OBLIGATION: PAYMENT, DossierStatus.PROCESSED: PICKUP}
PAUSED_INTERVALS = frozenset({SUPPLEMENT, PAYMENT})
RESUMES = (ScanAction.SUPPLEMENT_RECEIVED, ScanAction.PAYMENT_RECEIVED)

EARLY, ON_TIME, LATE = "early", "on_time", "late"
WITHIN, APPROACHING = "within", "approaching"
_ZERO = decimal.Decimal(0)
_CENT = decimal.Decimal("0.01")


def step_verdict(spent_hours: decimal.Decimal | float, budget_hours: decimal.Decimal | float,
                 finished: bool) -> str:
    """Mẫu 05's rule, to the minute: spent < budget early, = on time, > late; a step still
    running is within its budget or late already."""
    spent_min = round(float(spent_hours) * 60)
    budget_min = round(float(budget_hours) * 60)
    if spent_min > budget_min:
        return LATE
    if not finished:
        return WITHIN
    return EARLY if spent_min < budget_min else ON_TIME


def calendar_hours(a: dt.datetime, b: dt.datetime) -> decimal.Decimal:
    """Wall-clock hours from ``a`` to ``b``, to the cent."""
    return (decimal.Decimal((b - a).total_seconds()) / 3600).quantize(_CENT)


@dataclass(frozen=True)
class StayFacts:
    """The file's stay at a station, from the scan that began it to the next scan of the file
    (a scan after the file was closed ends nobody's stay).

    ``interval`` says what the time was (:data:`INTERVAL_LABELS`); only ``processing`` is
    charged to the plan step, and its verdict is on the step's time charged so far, across
    its stays (``charged_before`` + this one): the wait for the citizen between them is not.
    The stay that closes the file (and any scan after it) is a ``closed`` stay of no length.
    """

    event_uuid: UUID
    office_id: int
    station_id: int
    holder_id: int | None
    step: PlanStep | None
    interval: str
    started_at: dt.datetime
    ended_at: dt.datetime | None = None
    working_hours: decimal.Decimal | None = None
    calendar_hours: decimal.Decimal | None = None
    verdict: str | None = None
    charged_before: decimal.Decimal = _ZERO

    @property
    def charged(self) -> bool:
        return self.interval == PROCESSING and self.step is not None

    @property
    def paused_hours(self) -> decimal.Decimal:
        """Working hours of this stay during which the dossier's clock stood still."""
        if self.interval in PAUSED_INTERVALS and self.working_hours is not None:
            return self.working_hours
        return _ZERO


@dataclass(frozen=True)
class StayLog:
    """What the stay fold carries from one scan to the next: the open stay, and the working
    hours charged so far to each plan step (by position)."""

    open: StayFacts | None = None
    charged: tuple[tuple[int, decimal.Decimal], ...] = ()

    def charged_to(self, position: int) -> decimal.Decimal:
        return dict(self.charged).get(position, _ZERO)

    # Only the current plan step's hours are ever needed again: a stay is charged to the step
    # the dossier is at (matched, or interrupted by a wait), and the plan position never moves
    # back. So the log is stored on the dossier as two numbers (``Dossier.stay_position``,
    # ``Dossier.step_charged_hours``) and rebuilt from them and the dossier's state.

    @property
    def open_position(self) -> int | None:
        return self.open.step.position if self.open is not None and self.open.step else None

    @classmethod
    def resume(cls, state: DossierState, plan: Sequence[PlanStep], position: int | None,
               charged: decimal.Decimal, event_uuid: UUID) -> StayLog:
        """The log after ``state``'s last event, from the two stored numbers. The open stay
        carries what closing it needs (start, step, interval, charge so far); its office,
        station and holder are already stored with it."""
        current = ((state.plan_position, charged),) if state.plan_position else ()
        if state.status.closed or state.last_event_at is None or state.station_id is None:
            return cls(None, current)
        step = next((s for s in plan if s.position == position), None)
        stay = StayFacts(event_uuid, 0, state.station_id, state.holder_id, step,
                         WAITS.get(state.status, PROCESSING), state.last_event_at,
                         charged_before=charged if step is not None else _ZERO)
        return cls(stay, current)


def close_stay(stay: StayFacts, at: dt.datetime, working_hours: WorkingHours) -> StayFacts:
    """``stay`` ended at ``at``: its hours and, when charged to a step, its verdict."""
    spent = max(working_hours(stay.started_at, at), _ZERO)
    verdict = None
    if stay.charged:
        assert stay.step is not None
        verdict = step_verdict(stay.charged_before + spent, stay.step.budget_hours, True)
    # Built directly rather than with dataclasses.replace: this runs once per scan ingested.
    return StayFacts(stay.event_uuid, stay.office_id, stay.station_id, stay.holder_id,
                     stay.step, stay.interval, stay.started_at, at, spent,
                     max(calendar_hours(stay.started_at, at), _ZERO), verdict,
                     stay.charged_before)


def advance_stays(log: StayLog, before: DossierState, after: DossierState, event: EventFacts,
                  flag: str | None, plan: Sequence[PlanStep], working_hours: WorkingHours,
                  ) -> tuple[StayLog, StayFacts | None, StayFacts]:
    """One scan in the stay fold, alongside :func:`apply_event` (``before`` → ``after``).

    :returns: the new log, the stay this scan ended (``None`` if none was open), and the stay
        it began (closed already when the scan closes the file or comes after that).
    """
    station = event.station
    step = plan_match(plan, before.plan_position, station)
    if flag == AFTER_CLOSE or after.status.closed:
        ended = None
        if flag != AFTER_CLOSE and log.open is not None:
            ended = close_stay(log.open, event.at, working_hours)
            log = _charge(log, ended)
        begun = StayFacts(event.uuid, station.office_id, station.id, event.actor_id, step,
                          CLOSED, event.at, event.at, _ZERO, _ZERO)
        return StayLog(None, log.charged), ended, begun
    ended = None
    if log.open is not None:
        ended = close_stay(log.open, event.at, working_hours)
        log = _charge(log, ended)
    interval = WAITS.get(after.status, PROCESSING)
    if interval == PROCESSING and step is None and event.action in RESUMES:
        # The desk took the papers back: the time until the next handoff is the interrupted
        # step's, when the desk has no step of its own at that point of the plan.
        step = next((s for s in plan if s.position == before.plan_position), None)
    begun = StayFacts(event.uuid, station.office_id, station.id, event.actor_id, step,
                      interval, event.at,
                      charged_before=log.charged_to(step.position) if step else _ZERO)
    return StayLog(begun, log.charged), ended, begun


def _charge(log: StayLog, ended: StayFacts) -> StayLog:
    if not ended.charged or ended.working_hours is None:
        return log
    assert ended.step is not None
    totals = dict(log.charged)
    totals[ended.step.position] = totals.get(ended.step.position, _ZERO) + ended.working_hours
    return StayLog(log.open, tuple(sorted(totals.items())))


class StayReplay(NamedTuple):
    state: DossierState
    flags: dict[UUID, str | None]
    stays: list[StayFacts]
    log: StayLog


def replay_stays(initial: DossierState, events: Iterable[EventFacts], plan: Sequence[PlanStep],
                 working_hours: WorkingHours) -> StayReplay:
    """:func:`replay` with the dossier's stays: one per scan, in corrected-time order, the
    last one open unless the file is closed; and where the stay fold ends."""
    state = initial
    flags: dict[UUID, str | None] = {}
    log = StayLog()
    stays: list[StayFacts] = []
    for event in sorted(events, key=lambda e: e.order_key):
        after, flags[event.uuid] = apply_event(state, event, plan, working_hours)
        log, ended, begun = advance_stays(log, state, after, event, flags[event.uuid], plan,
                                          working_hours)
        if ended is not None:
            stays[-1] = ended
        stays.append(begun)
        state = after
    return StayReplay(state, flags, stays, log)
