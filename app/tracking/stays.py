"""Stays: where the file sat between one scan and the next, as a fold beside the dossier's.

:func:`advance_stays` takes one scan after :func:`app.tracking.state.apply_event` has taken
it; :func:`replay_stays` replays a whole history. Both are pure (no session, no clock), so the
ingest, a replay after a late event, the migration's backfill and the control sheet's
timeline derive the same stays.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple
from uuid import UUID

from app.procedures.operations import PlanStep
from app.tracking.models import DossierStatus, ScanAction
from app.tracking.state import (
    AFTER_CLOSE,
    DossierState,
    EventFacts,
    WorkingHours,
    apply_event,
    plan_match,
)

# What the time from one scan to the next was: processing charged to a plan step, a wait for
# the citizen (no budget: the clock is paused), the result awaiting pickup (processing has
# ended), the file on its way after a ``send`` (between hands: charged to no step), or
# nothing (the file was closed).
PROCESSING, SUPPLEMENT, PAYMENT, PICKUP, TRANSIT, CLOSED = (
    "processing", "supplement", "payment", "pickup", "transit", "closed")
INTERVAL_LABELS = {PROCESSING: "Đang xử lý", SUPPLEMENT: "Chờ bổ sung hồ sơ",
                   PAYMENT: "Chờ thực hiện nghĩa vụ tài chính", PICKUP: "Chờ trả kết quả",
                   TRANSIT: "Đang chuyển", CLOSED: "Kết thúc"}
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
class Snapshot:
    """The dossier's fold state after the scan that began a stay, as much of it as judging the
    dossier under Decision 766 needs (:func:`app.tracking.queries.verdicts_766`): the state
    at any instant is the snapshot of the last stay begun at or before it, so no replay."""

    supplement_count: int = 0
    paused_hours: decimal.Decimal = _ZERO
    paused_since: dt.datetime | None = None
    finished_at: dt.datetime | None = None

    @classmethod
    def of(cls, state: DossierState) -> Snapshot:
        return cls(state.supplement_count, state.paused_hours, state.paused_since,
                   state.finished_at)


@dataclass(frozen=True)
class StayFacts:
    """The file's stay at a station, from the scan that began it to the next scan of the file
    (a scan after the file was closed ends nobody's stay).

    ``interval`` says what the time was (:data:`INTERVAL_LABELS`); only ``processing`` is
    charged to the plan step, and its verdict is on the step's time charged so far, across
    its stays (``charged_before`` + this one): the wait for the citizen between them is not.
    The stay that closes the file (and any scan after it) is a ``closed`` stay of no length.
    ``snapshot`` is the dossier's state after the scan that began the stay.
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
    snapshot: Snapshot = Snapshot()

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
               charged: decimal.Decimal, office_of: Callable[[int], int]) -> StayLog:
        """The log after ``state``'s last event, from the two stored numbers (and the office
        of a station, ``office_of``): the open stay is what that event began (the stay table has
        no row for it until it ends; :func:`app.tracking.queries.open_stays` reads the same
        from the stored state)."""
        current = ((state.plan_position, charged),) if state.plan_position else ()
        if (state.status.closed or state.last_event_at is None or state.station_id is None
                or state.last_event_uuid is None):
            return cls(None, current)
        step = next((s for s in plan if s.position == position), None)
        stay = StayFacts(state.last_event_uuid, office_of(state.station_id), state.station_id,
                         state.holder_id, step, interval_after(state), state.last_event_at,
                         charged_before=charged if step is not None else _ZERO,
                         snapshot=Snapshot.of(state))
        return cls(stay, current)


def interval_after(state: DossierState) -> str:
    """What the file does from ``state``'s last scan until the next: on its way after a
    ``send``, waiting (for the citizen, or for pickup), or being processed."""
    if state.in_transit_since is not None:
        return TRANSIT
    return WAITS.get(state.status, PROCESSING)


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
                     stay.charged_before, stay.snapshot)


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
                          CLOSED, event.at, event.at, _ZERO, _ZERO,
                          snapshot=Snapshot.of(after))
        return StayLog(None, log.charged), ended, begun
    ended = None
    if log.open is not None:
        ended = close_stay(log.open, event.at, working_hours)
        log = _charge(log, ended)
    interval = interval_after(after)
    if interval == PROCESSING and step is None and event.action in RESUMES:
        # The desk took the papers back: the time until the next handoff is the interrupted
        # step's, when the desk has no step of its own at that point of the plan.
        step = next((s for s in plan if s.position == before.plan_position), None)
    begun = StayFacts(event.uuid, station.office_id, station.id, event.actor_id, step,
                      interval, event.at,
                      charged_before=log.charged_to(step.position) if step else _ZERO,
                      snapshot=Snapshot.of(after))
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
