"""Read-side views of a dossier: its handoff timeline, who gave and who received, files in
transit and on-time verdicts."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from flask import current_app

from app.db import db, utcnow
from app.offices.models import Office, Station
from app.offices.operations import calendar_of
from app.procedures.models import ProcedureStep, ProcedureVersion
from app.procedures.operations import PlanStep, plan_of
from app.tracking import operations as ops
from app.tracking import state as fold
from app.tracking import stays as stay_fold
from app.tracking.models import Dossier, ScanAction, ScanEvent, Stay, not_closed
from app.tracking.stays import (  # noqa: F401  (re-exported: the read side's names)
    APPROACHING,
    CLOSED,
    EARLY,
    INTERVAL_LABELS,
    LATE,
    ON_TIME,
    PAYMENT,
    PICKUP,
    PROCESSING,
    SUPPLEMENT,
    TRANSIT,
    WITHIN,
    step_verdict,
)
from app.worktime import WorkCalendar

VERDICT_LABELS = {EARLY: "Trước hạn", ON_TIME: "Đúng hạn", LATE: "Quá hạn",
                  WITHIN: "Trong hạn", APPROACHING: "Sắp đến hạn"}


@dataclass(frozen=True)
class Party:
    """One side of a handoff: the station, and the person's name ("" when nobody is known:
    a scanner without a badge session)."""

    station: Station
    name: str


@dataclass(frozen=True)
class TimelineStep:
    """One handoff as the control sheet shows it: who gave, who received, when, and the verdict
    on the time the file spent at the receiving station.

    ``interval`` says what the time until the next handoff was (:data:`INTERVAL_LABELS`); only
    ``processing`` is charged to a plan step (``charged``), and the verdict is on the step's
    time charged so far, across its rows: the wait for the citizen between them is not.
    """

    event: ScanEvent
    giver: Party | None  # None for the intake: the citizen handed the file in
    receiver: Party
    plan_step: PlanStep | None
    arrived_at: dt.datetime
    left_at: dt.datetime | None
    spent: dt.timedelta
    verdict: str | None  # early | on_time | late | None (no budget); running steps: within/late
    interval: str = PROCESSING
    charged: dt.timedelta = dt.timedelta(0)


def _events(dossier: Dossier) -> list[ScanEvent]:
    """The dossier's events (stations and actors loaded) in corrected-time order."""
    stmt = dossier.events.select().options(
        sa.orm.joinedload(ScanEvent.station), sa.orm.joinedload(ScanEvent.actor))
    return sorted(db.session.scalars(stmt), key=lambda e: (e.corrected_at, e.uuid))


def _hours(calendar: WorkCalendar) -> fold.WorkingHours:
    return ops.working_hours_fn(lambda: calendar)


def timeline(dossier: Dossier, calendar: WorkCalendar, now: dt.datetime) -> list[TimelineStep]:
    """The dossier's handoffs in corrected-time order, each with its plan step and verdict.

    The fold is replayed alongside, so each row knows what the file was doing until the next
    one: a wait for the citizen (``request_supplement``/``request_payment`` until answered)
    and the result's wait for pickup (after ``result_ready``) are intervals of their own,
    without budget or verdict. The time after a wait, until the next handoff, is charged to
    the step the wait interrupted when the desk that took the papers back has no step of its
    own at that point of the plan.
    """
    events = _events(dossier)
    plan = plan_of(dossier.procedure_version_id)
    stays = stay_fold.replay_stays(ops.initial_state(), map(ops.event_facts, events), plan,
                                   _hours(calendar)).stays
    steps: list[TimelineStep] = []
    for event, stay in zip(events, stays, strict=True):
        left_at = stay.ended_at if stay.interval != CLOSED else None
        spent = calendar.working_time_between(event.corrected_at, left_at or stay.ended_at or now)
        verdict = stay.verdict
        if stay.charged and left_at is None:
            assert stay.step is not None
            verdict = stay_fold.step_verdict(
                stay.charged_before + decimal.Decimal(spent.total_seconds()) / 3600,
                stay.step.budget_hours, False)
        giver, receiver = handoff_parties(dossier, steps[-1].event if steps else None, event)
        steps.append(TimelineStep(
            event=event, giver=giver, receiver=receiver, plan_step=stay.step,
            arrived_at=event.corrected_at, left_at=left_at, spent=spent, verdict=verdict,
            interval=stay.interval, charged=spent if stay.charged else dt.timedelta(0)))
    return steps


def person(event: ScanEvent) -> str:
    """Who scanned: the staff member's name, else the badge or device that was given."""
    if event.actor is not None:
        return event.actor.full_name
    return event.actor_raw


def handoff_parties(dossier: Dossier, previous: ScanEvent | None,
                    event: ScanEvent) -> tuple[Party | None, Party]:
    """The giver and the receiver of the handoff that ``event`` records (Mẫu 05's "Bên
    giao" and "Bên nhận").

    The receiver is whoever made the arriving scan. The giver is the holder of the previous
    stay: the one who made the scan before (``previous``, in corrected-time order); when that
    scan names nobody and was the intake, the staff member who received the dossier at the
    desk (``Dossier.received_by``). The intake itself has no giver among the staff (the
    citizen handed the file in): ``None``.
    """
    receiver = Party(event.station, person(event))
    if previous is None:
        return None, receiver
    name = person(previous)
    if not name and previous.action is ScanAction.RECEIVE and dossier.received_by is not None:
        name = dossier.received_by.full_name
    return Party(previous.station, name), receiver


def dossier_verdict(dossier: Dossier, calendar: WorkCalendar, now: dt.datetime,
                    approaching_hours: float) -> str:
    """Finished: early / on_time / late by day (DOMAIN: on the due day is on time).
    In progress: within / approaching / late.

    While the office waits for the citizen the clock stands still: the dossier is judged at
    the instant the wait began, so the wait never makes it late; one that was late when the
    wait began stays late. Once the wait is over the due date has moved by the working time
    waited (:func:`app.tracking.operations.moved_due_at`).
    """
    tz = calendar.tz
    if dossier.finished_at is not None:
        done = dossier.finished_at
        if done > dossier.due_at:
            return LATE
        return EARLY if done.astimezone(tz).date() < dossier.due_at.astimezone(tz).date() \
            else ON_TIME
    at = dossier.paused_since or now
    if at > dossier.due_at:
        return LATE
    left = calendar.working_time_between(at, dossier.due_at)
    return APPROACHING if left <= dt.timedelta(hours=approaching_hours) else WITHIN


def verdict_766(dossier: Dossier, calendar: WorkCalendar, period_end: dt.datetime) -> str:
    """On time or late under Decision 766/QĐ-TTg (2022), indicator 2.1, at ``period_end``:
    :data:`ON_TIME` or :data:`LATE`.

    The rule: on time ⇔ the end of processing ≤ the due date, where

    - the end of processing is the first of refused, stopped, processed (``result_ready``),
      returned and withdrawn (``finished_at``; "processed" comes before "returned"), and for a
      dossier unfinished at ``period_end`` the period end: finished and in-progress dossiers
      of the period are both counted;
    - the time waited for the citizen (supplements, financial obligations) is subtracted: the
      due date moves by the working time waited, and a dossier still waiting at the period
      end is judged at the instant its wait began;
    - more than one supplement request makes the dossier late, whatever the times
      (``supplement_count``).

    Judged from the dossier's events up to ``period_end`` only, so a past period's verdict does
    not change with what happened after it: the state then is the snapshot of its last stay
    begun by then (:func:`verdicts_766`, which judges many dossiers in one query).
    """
    if dossier.last_event_at is not None and dossier.last_event_at <= period_end:
        # Nothing happened after the period end: the stored state is the one then (the
        # dossier's detail page judges it now, without a query).
        return judge_766(dossier.base_due_at, stay_fold.Snapshot.of(ops.read_state(dossier)),
                         calendar, period_end)
    return verdicts_766([dossier.id], period_end, lambda office_id: calendar)[dossier.id]


def judge_766(base_due_at: dt.datetime, state: stay_fold.Snapshot, calendar: WorkCalendar,
              period_end: dt.datetime) -> str:
    """:func:`verdict_766` of a dossier whose state at ``period_end`` is ``state``."""
    if state.supplement_count > 1:
        return LATE
    due = ops.moved_due_at(base_due_at, state.paused_hours, calendar)
    end = state.finished_at or state.paused_since or period_end
    return LATE if end > due else ON_TIME


_STAY_TABLE = cast(sa.Table, Stay.__table__)


def open_stays(*extra: sa.ColumnElement[Any]) -> sa.Select[Any]:
    """The open dossiers' open stays, as rows of the ``stay`` table's columns, read from the
    state their last scan left (what :meth:`app.tracking.stays.StayLog.resume` makes of it):
    begun by that scan at the dossier's station, charged to the plan step the stay fold
    stored (``stay_position``), and what the time since is (transit, a wait or processing,
    as :func:`app.tracking.stays.interval_after` says). Such a stay has no row and no id of
    its own: its ``id`` is minus the dossier's. A closed dossier has none; nor a dossier
    without a scan. Served by ``ix_dossier_open_station``.

    :param extra: more columns after the stay's (of the dossier, say), for a query of the
        open stays alone that would otherwise join the dossier again.
    """
    d = Dossier
    none = {column.key: sa.cast(sa.null(), column.type) for column in _STAY_TABLE.columns}
    waits = [(d.status == status, label) for status, label in stay_fold.WAITS.items()]
    values = none | {
        "id": -d.id, "dossier_id": d.id, "event_uuid": d.last_event_uuid,
        "procedure_id": ProcedureVersion.procedure_id, "office_id": Station.office_id,
        "station_id": d.current_station_id, "holder_id": d.current_holder_id,
        "plan_position": ProcedureStep.position, "step_name": ProcedureStep.name,
        "budget_hours": ProcedureStep.budget_hours,
        "interval": sa.case((d.in_transit_since.is_not(None), stay_fold.TRANSIT), *waits,
                            else_=stay_fold.PROCESSING),
        "started_at": d.last_event_at,
        "paused_hours": sa.literal(0, _STAY_TABLE.c.paused_hours.type),
        "dossier_supplement_count": d.supplement_count,
        "dossier_paused_hours": d.paused_hours, "dossier_paused_since": d.paused_since,
        "dossier_finished_at": d.finished_at}
    return (sa.select(*(values[column.key].label(column.key) for column in _STAY_TABLE.columns),
                      *extra)
            .select_from(d)
            .join(Station, Station.id == d.current_station_id)
            .join(ProcedureVersion, ProcedureVersion.id == d.procedure_version_id)
            .outerjoin(ProcedureStep, sa.and_(ProcedureStep.version_id == d.procedure_version_id,
                                              ProcedureStep.position == d.stay_position))
            .where(not_closed(), d.last_event_at.is_not(None)))


def every_stay() -> Any:
    """Every stay, ended (the ``stay`` table) or open (:func:`open_stays`), as an alias of
    :class:`~app.tracking.models.Stay` to select from like the model."""
    union = sa.union_all(sa.select(_STAY_TABLE), open_stays()).subquery("every_stay")
    return sa.orm.aliased(Stay, union)


# Dossiers per query elsewhere than on PostgreSQL: well under SQLite's bound parameters.
_CHUNK = 1000


def _among(column: Any, ids: list[int], in_array: bool) -> sa.ColumnElement[bool]:
    if in_array:  # one parameter whatever their number: no IN list to bind and parse
        return column == sa.any_(sa.cast(sa.literal(ids, sa.ARRAY(sa.Integer)),
                                         sa.ARRAY(sa.Integer)))
    return column.in_(ids)  # type: ignore[no-any-return]


def verdicts_766(dossier_ids: Collection[int], period_end: dt.datetime,
                 calendar: Callable[[int], WorkCalendar] = calendar_of) -> dict[int, str]:
    """:func:`verdict_766` of many dossiers at ``period_end``, by id, without a replay: one
    query (elsewhere than on PostgreSQL, one per thousand dossiers) reads each one's state
    then, the snapshot of its last stay begun at or before ``period_end`` in the fold's
    order (corrected time, then event id), or its stored state when it has had no scan
    since; a dossier with no scan by then has the initial state
    (:class:`app.tracking.stays.Snapshot`).

    :param calendar: the calendar of the dossiers' receiving office, by the office's id.
    """
    ids = sorted(set(dossier_ids))
    in_array = db.session.get_bind().dialect.name == "postgresql"
    size = max(len(ids), 1) if in_array else _CHUNK
    verdicts: dict[int, str] = {}
    for first in range(0, len(ids), size):
        chunk = ids[first:first + size]
        last = (sa.select(Stay.dossier_id, Stay.dossier_supplement_count,
                          Stay.dossier_paused_hours, Stay.dossier_paused_since,
                          Stay.dossier_finished_at,
                          sa.func.row_number().over(
                              partition_by=Stay.dossier_id,
                              order_by=(Stay.started_at.desc(), Stay.event_uuid.desc()))
                          .label("n"))
                .where(_among(Stay.dossier_id, chunk, in_array), Stay.started_at <= period_end)
                .subquery())
        stmt = (sa.select(Dossier.id, Dossier.base_due_at, Dossier.receiving_office_id,
                          Dossier.last_event_at, Dossier.supplement_count,
                          Dossier.paused_hours, Dossier.paused_since, Dossier.finished_at,
                          last.c.dossier_supplement_count, last.c.dossier_paused_hours,
                          last.c.dossier_paused_since, last.c.dossier_finished_at)
                .outerjoin(last, sa.and_(last.c.dossier_id == Dossier.id, last.c.n == 1))
                .where(_among(Dossier.id, chunk, in_array)))
        for row in db.session.execute(stmt):
            state = stay_fold.Snapshot()
            if row.last_event_at is not None and row.last_event_at <= period_end:
                # No scan since: the stored state (its open stay has no row yet).
                state = stay_fold.Snapshot(row.supplement_count, row.paused_hours,
                                           row.paused_since, row.finished_at)
            elif row.dossier_supplement_count is not None:  # a stay begun by then
                state = stay_fold.Snapshot(row.dossier_supplement_count,
                                           row.dossier_paused_hours, row.dossier_paused_since,
                                           row.dossier_finished_at)
            verdicts[row.id] = judge_766(row.base_due_at, state,
                                         calendar(row.receiving_office_id), period_end)
    return verdicts


@dataclass(frozen=True)
class Standing:
    """A dossier's office calendar, the instant it is judged at, and its on-time verdict then."""

    calendar: WorkCalendar
    now: dt.datetime
    verdict: str


def standing(dossier: Dossier) -> Standing:
    calendar = calendar_of(dossier.receiving_office_id)
    now = utcnow()
    return Standing(calendar, now, dossier_verdict(
        dossier, calendar, now, current_app.config["APPROACHING_DUE_HOURS"]))


def working_hours_left(dossier: Dossier, calendar: WorkCalendar, now: dt.datetime) -> float | None:
    if dossier.finished_at is not None:
        return None
    start = dossier.paused_since or now
    return round(calendar.working_time_between(start, dossier.due_at).total_seconds() / 3600, 2)


# --- files in transit ---------------------------------------------------------------------------

@dataclass(frozen=True)
class TransitAge:
    """How long a file has been in transit: calendar hours, and working hours on the sending
    office's calendar (what the alert threshold ``TRANSIT_ALERT_HOURS`` is measured in, so a
    file sent on Friday evening is not overdue on Monday morning)."""

    hours: float
    working_hours: float
    overdue: bool


def transit_age(since: dt.datetime, office_id: int, now: dt.datetime) -> TransitAge:
    worked = calendar_of(office_id).working_time_between(since, now)
    return TransitAge(hours=round(max((now - since).total_seconds(), 0) / 3600, 2),
                      working_hours=round(worked.total_seconds() / 3600, 2),
                      overdue=worked >= alert_after())


def alert_after() -> dt.timedelta:
    """``TRANSIT_ALERT_HOURS``, the working time after which a file in transit is overdue."""
    return dt.timedelta(hours=float(current_app.config["TRANSIT_ALERT_HOURS"]))


@dataclass(frozen=True)
class TransitRow:
    """A file in transit: which dossier, from where and whom, to where, since when."""

    dossier: Dossier
    send: ScanEvent  # the send: its station, office and sender
    to_office: Office | None
    to_station: Station | None
    since: dt.datetime
    age: TransitAge

    @property
    def sender(self) -> str:
        return person(self.send)


def in_transit(offices: Collection[int] | None, now: dt.datetime,
               older_than: dt.timedelta | None = None) -> list[TransitRow]:
    """Files in transit at ``now``, oldest first, that concern ``offices`` (all when ``None``):
    the sender's office, the destination office and the dossier's owners each see them.

    :param older_than: only those in transit at least this much working time (on the
        sending office's calendar), e.g. :func:`alert_after` for the overdue ones.
    """
    send_station = sa.orm.aliased(Station)
    stmt = (sa.select(Dossier, ScanEvent)
            .join(ScanEvent, ScanEvent.uuid == Dossier.last_event_uuid)
            .join(send_station, send_station.id == ScanEvent.station_id)
            .where(Dossier.in_transit_since.is_not(None), Dossier.in_transit_since <= now)
            .options(sa.orm.contains_eager(ScanEvent.station.of_type(send_station)),
                     sa.orm.joinedload(ScanEvent.actor),
                     sa.orm.joinedload(Dossier.transit_to_office),
                     sa.orm.joinedload(Dossier.transit_to_station))
            .order_by(Dossier.in_transit_since, Dossier.id))
    if offices is not None:
        stmt = stmt.where(sa.or_(send_station.office_id.in_(offices),
                                 Dossier.transit_to_office_id.in_(offices),
                                 Dossier.receiving_office_id.in_(offices),
                                 Dossier.competent_office_id.in_(offices)))
    if older_than is not None:
        # Working time never exceeds calendar time: a cheap bound before the exact check.
        stmt = stmt.where(Dossier.in_transit_since <= now - older_than)
    rows = []
    for dossier, send in db.session.execute(stmt).all():
        since = dossier.in_transit_since
        assert since is not None
        age = transit_age(since, send.station.office_id, now)
        if older_than is not None and age.working_hours * 3600 < older_than.total_seconds():
            continue
        rows.append(TransitRow(dossier=dossier, send=send, to_office=dossier.transit_to_office,
                               to_station=dossier.transit_to_station, since=since, age=age))
    return rows
