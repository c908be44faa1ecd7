"""The reports (issue 10, points 2–5): read-only queries over ``stay`` and ``dossier``.

Every report takes one :class:`ReportQuery` (the period, the caller's scope and the filters)
and answers a :class:`Table`: rows of plain values with their column names, which the API
answers as JSON and the CLI writes as JSON, CSV or XLSX (:mod:`app.analytics.export`).

The period is ``[start, end)``; what is still open is measured at the period end, or now when
the period has not ended yet (:attr:`ReportQuery.at`). Hours are working hours on the
dossier's office calendar unless a column says ``calendar``.

Formulas (also in the README, "Reports"):

- **Dwell** (:func:`dwell`): the processing stays (time charged to a plan step or off-plan,
  not the waits for the citizen nor the result's wait for pickup) that ended in the period or
  were open at its end, the open ones with their age then. Per group: ``count``, ``open``,
  mean, median, p90 (linear interpolation between closest ranks, as PostgreSQL's
  ``percentile_cont``) and max, in working and calendar hours; ``over_budget_hours`` sums,
  per dossier and plan step, the working hours of the period's stays that lie beyond the
  step's budget (counting the hours charged to the step before them, as the stay fold does):
  the bottleneck ranking, rows sorted by it. The whole months of the period are read from
  the monthly rollup, whose median and p90 are within a stated precision
  (:mod:`app.tracking.rollup`).
- **On time, formula 766** (Decision 766/QĐ-TTg, indicator 2.1): the dossiers of the period,
  finished in it or in progress at its end (received before the end, processing not ended
  before the start), each judged by :func:`app.tracking.queries.verdict_766` at the period end
  (its state then read from its stays: :func:`app.tracking.queries.verdicts_766`);
  ``rate`` = on time / total × 100, to 2 decimals.
- **On time, formula resolved**: the dossiers whose processing ended in the period with a
  result (status processed or returned), judged early / on time / late against their
  appointment (:func:`app.tracking.queries.dossier_verdict`); ``rate`` = (early + on time) /
  resolved × 100, to 2 decimals.
- **Indicator 2.2** (``mean_resolution_hours`` on every on-time row): the mean working hours
  from receipt to the end of processing, less the time waited for the citizen, over the
  group's dossiers resolved in the period.
- **Per-step verdicts** (on time ``by=step``): per dossier and plan step, the Mẫu 05 verdict
  of the step's time against its budget (its last stay ending in the period).
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import current_app

from app.auth.models import User
from app.db import db
from app.offices.models import Office, Station
from app.offices.operations import calendar_of
from app.procedures.models import Procedure, ProcedureVersion
from app.procedures.operations import plan_of
from app.tracking import queries, rollup, stays
from app.tracking import state as fold
from app.tracking.models import (
    Dossier,
    DossierNotice,
    DossierStatus,
    NoticeKind,
    ScanEvent,
    Stay,
    StayRollup,
)

DWELL_BY = ("step", "station", "procedure", "staff", "office")
ONTIME_BY = ("office", "procedure", "month", "step")
FORMULAS = ("766", "resolved")
_RESOLVED = (DossierStatus.PROCESSED, DossierStatus.RETURNED)


@dataclass(frozen=True)
class ReportQuery:
    """What a report is asked for: the period ``[start, end)``, the caller's offices
    (``None``: every office) and the filters."""

    start: dt.datetime
    end: dt.datetime
    now: dt.datetime
    offices: frozenset[int] | None = None
    procedure_id: int | None = None
    by: str | None = None
    formula: str = "766"

    @property
    def at(self) -> dt.datetime:
        """The instant open stays and unfinished dossiers are measured at."""
        return min(self.end, self.now)


@dataclass
class Table:
    columns: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)


def _hours(value: dt.timedelta) -> float:
    return round(value.total_seconds() / 3600, 2)


def _round(value: float | decimal.Decimal | None) -> float | None:
    return None if value is None else round(float(value), 2)


def rate(part: int, total: int) -> float | None:
    return round(part * 100 / total, 2) if total else None


_OFFICE_COLUMNS = (Dossier.receiving_office_id, Dossier.competent_office_id)


def _owned(query: ReportQuery, offices: bool = True) -> list[sa.ColumnElement[bool]]:
    """Dossiers the caller's offices own (unless ``offices`` is false: the caller spells
    that out itself), of the procedure asked for."""
    where: list[sa.ColumnElement[bool]] = []
    if query.offices is not None and offices:
        where.append(sa.or_(*(column.in_(query.offices) for column in _OFFICE_COLUMNS)))
    if query.procedure_id is not None:
        where.append(Dossier.procedure_version_id.in_(
            sa.select(ProcedureVersion.id).where(
                ProcedureVersion.procedure_id == query.procedure_id)))
    return where


def _stays_in_scope(query: ReportQuery, stay: Any = Stay) -> list[sa.ColumnElement[bool]]:
    """Stays at the caller's offices' stations, of the procedure asked for (``stay``: the
    model, or the columns of a subquery of it)."""
    where: list[sa.ColumnElement[bool]] = []
    if query.offices is not None:
        where.append(stay.office_id.in_(query.offices))
    if query.procedure_id is not None:
        where.append(stay.procedure_id == query.procedure_id)
    return where


# --- dwell ------------------------------------------------------------------------------------

_DWELL_KEYS: dict[str, list[str]] = {
    "step": ["procedure", "step_position", "step"], "station": ["office", "station"],
    "procedure": ["procedure"], "staff": ["staff", "staff_name"], "office": ["office"]}
_DWELL_FIGURES = ["count", "open", "mean_hours", "median_hours", "p90_hours", "max_hours",
                  "mean_calendar_hours", "median_calendar_hours", "p90_calendar_hours",
                  "max_calendar_hours", "over_budget_hours"]


_DWELL_COLUMNS: dict[str, list[str]] = {
    "step": ["procedure_id", "plan_position", "step_name"],
    "station": ["office_id", "station_id"], "procedure": ["procedure_id"],
    "staff": ["holder_id"], "office": ["office_id"]}


def dwell(query: ReportQuery) -> Table:
    """Time spent per step, station, procedure, staff member or office (module docstring).

    The whole months of the period are read from the monthly rollup
    (:mod:`app.tracking.rollup`, which states the percentiles' precision), the rest from the
    stays: those that ended in the period's partial months, and those open at its end with
    their age then (working hours on the dossier's office calendar).
    """
    keys = _DWELL_KEYS[query.by] if query.by else []
    columns = _DWELL_COLUMNS[query.by] if query.by else []
    tz = rollup.zone()
    months = rollup.whole_months(query.start, query.at, tz)
    groups: dict[tuple[Any, ...], _Dwell] = defaultdict(_Dwell)
    rolled = None
    if months:
        rollup.ensure_built(months)
        _dwell_from_rollup(query, months, columns, groups)
        rolled = (rollup.month_bounds(months[0], tz)[0], rollup.month_bounds(months[-1], tz)[1])
    _dwell_from_stays(query, rolled, columns, groups)
    names = _names(query.by)
    rows = [names(key) | group.figures() for key, group in groups.items()]
    rows.sort(key=lambda r: (-r["over_budget_hours"], *(str(r[k]) for k in keys)))
    return Table(keys + _DWELL_FIGURES, rows)


@dataclass
class _Dwell:
    """A dwell group's figures as they add up: per measure (working, calendar hours) the sum,
    the maximum and the values with their counts (a rollup bucket's stand for its mean)."""

    n: int = 0
    still: int = 0
    over: float = 0.0
    sums: list[float] = field(default_factory=lambda: [0.0, 0.0])
    tops: list[float] = field(default_factory=lambda: [-math.inf, -math.inf])
    values: tuple[list[tuple[float, int]], list[tuple[float, int]]] = field(
        default_factory=lambda: ([], []))

    def add(self, measure: int, count: int, total: float, top: float) -> None:
        self.sums[measure] += total
        self.tops[measure] = max(self.tops[measure], top)
        self.values[measure].append((total / count, count))

    def figures(self) -> dict[str, Any]:
        def summary(measure: int) -> list[float]:
            ordered = sorted(self.values[measure])
            return [self.sums[measure] / self.n, weighted_percentile(ordered, 0.5),
                    weighted_percentile(ordered, 0.9), self.tops[measure]]

        return _figures(self.n, self.still, summary(0), summary(1), self.over)


def _open_ages(query: ReportQuery) -> dict[int, tuple[float, float]]:
    """Working and calendar hours, at the period end, of the processing stays open then
    (started before it, not ended by it)."""
    at = query.at
    stay = queries.every_stay()
    stmt = (sa.select(stay.id, stay.started_at, Dossier.receiving_office_id).select_from(stay)
            .join(Dossier, Dossier.id == stay.dossier_id)
            .where(stay.interval == stays.PROCESSING, stay.started_at < at,
                   sa.or_(stay.ended_at.is_(None), stay.ended_at > at),
                   *_stays_in_scope(query, stay)))
    return {row.id: (_hours(calendar_of(row.receiving_office_id).working_time_between(
                row.started_at, at)), _hours(at - row.started_at))
            for row in db.session.execute(stmt)}


def _figures(count: int, still: int, working: Sequence[Any], wall: Sequence[Any],
             over: float) -> dict[str, Any]:
    """``working`` and ``wall``: mean, median, p90 and max, unrounded (in that order)."""
    names = ("mean", "median", "p90", "max")
    return ({"count": count, "open": still}
            | {f"{n}_hours": _round(v) for n, v in zip(names, working, strict=True)}
            | {f"{n}_calendar_hours": _round(v) for n, v in zip(names, wall, strict=True)}
            | {"over_budget_hours": round(over, 2)})


def weighted_percentile(ordered: Sequence[tuple[float, int]], p: float) -> float:
    """``percentile_cont(p)`` (linear interpolation between closest ranks) of the values
    ``ordered`` holds, sorted, each ``(value, count)`` standing for ``count`` equal values."""
    position = p * (sum(count for _, count in ordered) - 1)
    low = math.floor(position)
    seen, below, above = 0, None, None
    for value, count in ordered:
        if below is None and low < seen + count:
            below = value
        if low + 1 < seen + count:
            above = value
            break
        seen += count
    assert below is not None
    above = below if above is None else above
    return below + (above - below) * (position - low)


def _dwell_from_rollup(query: ReportQuery, months: list[dt.date], columns: list[str],
                       groups: dict[tuple[Any, ...], _Dwell]) -> None:
    group = [getattr(StayRollup, c) for c in columns]
    # Every office's stays per procedure and step are counted together in rows of their own.
    together = query.offices is None and query.by in (None, "step", "procedure")
    where: list[sa.ColumnElement[bool]] = [
        StayRollup.month.in_(months),
        (StayRollup.office_id == rollup.PROVINCE) if together
        else (StayRollup.office_id != rollup.PROVINCE)]
    if query.offices is not None:
        where.append(StayRollup.office_id.in_(query.offices))
    if query.procedure_id is not None:
        where.append(StayRollup.procedure_id == query.procedure_id)
    stmt = (sa.select(*group, StayRollup.measure, sa.func.sum(StayRollup.n),
                      sa.func.sum(StayRollup.total), sa.func.max(StayRollup.top),
                      sa.func.sum(StayRollup.over))
            .where(*where).group_by(*group, StayRollup.measure, StayRollup.bucket))
    n = len(columns)
    for row in db.session.execute(stmt):
        # The rollup stores no NULL key: 0 or '' stand for none.
        dwelt = groups[tuple(value or None for value in row[:n])]
        measure, count = row[n], int(row[n + 1])
        dwelt.add(measure, count, int(row[n + 2]) / 100, int(row[n + 3]) / 100)
        if measure == rollup.WORKING:
            dwelt.n += count
            dwelt.over += int(row[n + 4]) / 100


def _dwell_from_stays(query: ReportQuery, rolled: tuple[dt.datetime, dt.datetime] | None,
                      columns: list[str], groups: dict[tuple[Any, ...], _Dwell]) -> None:
    """The period's processing stays that did not end in the ``rolled`` months: those open
    now (each charged what the dossier's stay fold carries) and the ended ones (charged
    what the dossier's stays before them were)."""
    at = query.at

    def period(stay: Any) -> list[sa.ColumnElement[bool]]:
        where = [stay.started_at < at, stay.ended_at >= query.start,
                 *_stays_in_scope(query, stay)]
        if rolled is not None:
            where.append(sa.or_(stay.ended_at < rolled[0], stay.ended_at >= rolled[1]))
        return where

    fields = ("started_at", "ended_at", "working_hours", "calendar_hours", "budget_hours")
    o = queries.open_stays(Dossier.step_charged_hours.label("charged"),
                           Dossier.receiving_office_id.label("receiving_office_id")).subquery()
    still_open = (sa.select(*(o.c[k] for k in (*columns, *fields)), o.c.charged,
                            o.c.receiving_office_id)
                  .where(o.c.interval == stays.PROCESSING, o.c.started_at < at,
                         *_stays_in_scope(query, o.c)))
    c = rollup.charged(period(Stay)).c
    ended = (sa.select(*(c[k] for k in (*columns, *fields)), c.charged,
                       Dossier.receiving_office_id)
             .join(Dossier, Dossier.id == c.dossier_id).where(*period(c)))
    n = len(columns)
    for stmt in (still_open, ended):
        for row in db.session.execute(stmt):
            if row.ended_at is None or row.ended_at > at:  # open at the period end: its age
                hours = _hours(calendar_of(row.receiving_office_id).working_time_between(
                    row.started_at, at))
                wall = _hours(at - row.started_at)
                still = 1
            else:
                hours, wall, still = float(row.working_hours), float(row.calendar_hours), 0
            dwelt = groups[tuple(row[:n])]
            dwelt.n += 1
            dwelt.still += still
            dwelt.add(rollup.WORKING, 1, hours, hours)
            dwelt.add(rollup.CALENDAR, 1, wall, wall)
            budget = None if row.budget_hours is None else float(row.budget_hours)
            dwelt.over += rollup.excess(float(row.charged or 0), hours, budget)


def _names(by: str | None) -> Callable[[tuple[Any, ...]], dict[str, Any]]:
    """The report's columns for a group's ids: the procedure's, office's and station's codes,
    the staff member's username and full name."""
    def codes(model: Any, column: Any = None) -> dict[Any, Any]:
        column = model.code if column is None else column
        return {row[0]: row[1] for row in db.session.execute(sa.select(model.id, column))}

    if by == "step":
        procedures = codes(Procedure)
        return lambda k: {"procedure": procedures[k[0]], "step_position": k[1], "step": k[2]}
    if by == "station":
        offices, stations = codes(Office), codes(Station)
        return lambda k: {"office": offices[k[0]], "station": stations[k[1]]}
    if by == "procedure":
        procedures = codes(Procedure)
        return lambda k: {"procedure": procedures[k[0]]}
    if by == "staff":
        users = {row.id: (row.username, row.full_name)
                 for row in db.session.execute(sa.select(User.id, User.username, User.full_name))}
        return lambda k: dict(zip(("staff", "staff_name"), users.get(k[0], (None, None)),
                                  strict=True))
    if by == "office":
        offices = codes(Office)
        return lambda k: {"office": offices[k[0]]}
    return lambda k: {}


# --- on time ----------------------------------------------------------------------------------

def _months(start: dt.datetime, end: dt.datetime, tz: Any) -> list[tuple[str, dt.datetime,
                                                                           dt.datetime]]:
    """The calendar months (in ``tz``) the period spans, each cut to the period."""
    out = []
    local = start.astimezone(tz)
    month = dt.datetime(local.year, local.month, 1, tzinfo=tz)
    while month < end:
        following = dt.datetime(month.year + month.month // 12, month.month % 12 + 1, 1,
                                tzinfo=tz)
        out.append((f"{month:%Y-%m}", max(month, start), min(following, end)))
        month = following
    return out


_ONTIME_KEYS = {"office": ["office"], "procedure": ["procedure"], "month": ["month"],
                "step": ["procedure", "step_position", "step"]}
_ONTIME_FIGURES = ["formula", "total", "early", "on_time", "late", "rate",
                   "mean_resolution_hours"]


@dataclass
class _Tally:
    early: int = 0
    on_time: int = 0
    late: int = 0
    taken: float = 0.0  # working hours of processing, over the resolved dossiers
    resolved: int = 0


def ontime(query: ReportQuery) -> Table:
    """On-time rates under the named formula, per office, procedure or month; per-step
    verdicts with ``by=step`` (module docstring).

    On PostgreSQL the dossiers are counted in SQL: every one for ``resolved`` (its verdict
    needs only its appointment and end), and for ``766`` those that nothing has happened to
    since the period end and that no apology moved (their stored state is the period end's);
    the others are judged from their state at the period end, read from their stays in one
    query (:func:`app.tracking.queries.verdicts_766`), as every dossier's 766 verdict is
    elsewhere. Indicator 2.2 sums each resolved dossier's processing stays.
    """
    if query.by == "step":
        return _step_verdicts(query)
    keys = _ONTIME_KEYS[query.by] if query.by else []
    periods = (_months(query.start, query.end, _zone()) if query.by == "month"
               else [("", query.start, query.end)])
    in_sql = db.session.get_bind().dialect.name == "postgresql"
    rows = []
    for month, start, end in periods:
        at = min(end, query.now)
        tallies: dict[tuple[Any, ...], _Tally] = defaultdict(_Tally)
        if in_sql:
            unsettled = _tally_in_sql(query, keys, month, start, at, tallies)
            verdicts = queries.verdicts_766(unsettled, at)
            for dossier_id, key in unsettled.items():
                _count(tallies[key], verdicts[dossier_id])
        else:
            _tally_in_python(query, keys, month, start, at, tallies)
        for key, t in tallies.items():
            total = t.early + t.on_time + t.late
            if total:
                rows.append(dict(zip(keys, key, strict=True)) | {
                    "formula": query.formula, "total": total, "early": t.early,
                    "on_time": t.early + t.on_time, "late": t.late,
                    "rate": rate(t.early + t.on_time, total),
                    "mean_resolution_hours": (round(t.taken / t.resolved, 2) if t.resolved
                                              else None)})
    rows.sort(key=lambda r: tuple(str(r[k]) for k in keys))
    return Table(keys + _ONTIME_FIGURES, rows)


def _count(tally: _Tally, verdict: str) -> None:
    setattr(tally, verdict, getattr(tally, verdict) + 1)


def _tally_in_python(query: ReportQuery, keys: list[str], month: str, start: dt.datetime,
                     at: dt.datetime, tallies: dict[tuple[Any, ...], _Tally]) -> None:
    """Count the period's dossiers one by one (elsewhere than on PostgreSQL), the 766
    verdicts read together (:func:`app.tracking.queries.verdicts_766`)."""
    judged = _period_dossiers(query, start, at)
    verdicts = (queries.verdicts_766([row[0].id for row in judged], at)
                if query.formula == "766" else {})
    for dossier, office, procedure, taken in judged:
        key = tuple({"office": office, "procedure": procedure, "month": month}[k]
                    for k in keys)
        tally = tallies[key]
        resolved = (dossier.finished_at is not None and start <= dossier.finished_at < at
                    and dossier.status in _RESOLVED)
        if resolved:
            tally.resolved += 1
            tally.taken += float(taken or 0)
        if query.formula == "766":
            _count(tally, verdicts[dossier.id])
        elif resolved:
            _count(tally, queries.dossier_verdict(
                dossier, calendar_of(dossier.receiving_office_id), at, 0))


def _period_base(query: ReportQuery, start: dt.datetime, at: dt.datetime,
                 *columns: Any) -> sa.Select[Any]:
    """The dossiers finished in ``[start, at)`` or in progress at ``at`` (766 counts both;
    the resolved formula keeps the first), with their processing hours (kept on the dossier
    by the stay fold: no stay is read).

    For some offices the condition is spelled out per office column (each one's dossiers
    unfinished, or finished since ``start``), so that PostgreSQL reads just those from the
    (office, finished_at) indexes instead of visiting every dossier the offices ever had
    (an office-month: 125 ms → 17 ms at a province-year's scale)."""
    unfinished_or_since = (Dossier.finished_at.is_(None), Dossier.finished_at >= start)
    if query.offices is None:
        period = sa.or_(*unfinished_or_since)
    else:
        period = sa.or_(*(sa.and_(column.in_(query.offices), finished)
                          for column in _OFFICE_COLUMNS for finished in unfinished_or_since))
    return (sa.select(*columns, Dossier.processing_hours.label("hours"))
            .select_from(Dossier)
            .join(Office, Office.id == Dossier.receiving_office_id)
            .join(ProcedureVersion, ProcedureVersion.id == Dossier.procedure_version_id)
            .join(Procedure, Procedure.id == ProcedureVersion.procedure_id)
            .where(Dossier.received_at < at, period, *_owned(query, offices=False)))


def _apologised() -> sa.ColumnElement[bool]:
    # IN rather than EXISTS: PostgreSQL hashes the few apologised dossiers once instead of
    # probing the notices for each dossier (2.6 s → 1.1 s over a province-year).
    return Dossier.id.in_(sa.select(DossierNotice.dossier_id)
                          .where(DossierNotice.kind == NoticeKind.APOLOGY))


def _stored_state_holds(at: dt.datetime) -> sa.ColumnElement[bool]:
    """Nothing happened after ``at`` and no apology moved the appointment: the stored state
    is the one at ``at``, and ``due_at`` the first appointment moved by the waits."""
    return sa.and_(Dossier.last_event_at <= at, ~_apologised())


def _period_dossiers(query: ReportQuery, start: dt.datetime,
                     at: dt.datetime) -> Sequence[tuple[Any, ...]]:
    """The period's dossiers, with their office's and procedure's codes and processing
    hours."""
    stmt = _period_base(query, start, at, Dossier, Office.code, Procedure.code)
    return [tuple(row) for row in db.session.execute(stmt.order_by(Dossier.id))]


def _tally_in_sql(query: ReportQuery, keys: list[str], month: str, start: dt.datetime,
                  at: dt.datetime, tallies: dict[tuple[Any, ...], _Tally],
                  ) -> dict[int, tuple[Any, ...]]:
    """Count the period's dossiers in SQL (PostgreSQL; see :func:`ontime`), in one pass over
    them; returns those left to judge from their stays (none for ``resolved``), by id, with
    their group's key."""
    dims: list[Any] = [{"office": Office.code, "procedure": Procedure.code,
             "month": sa.literal(month)}[k].label(k) for k in keys]
    resolved = sa.and_(Dossier.finished_at >= start, Dossier.finished_at < at,
                       Dossier.status.in_(_RESOLVED))
    holds = (sa.func.coalesce(_stored_state_holds(at), False) if query.formula == "766"
             else sa.true())
    base = _period_base(query, start, at, *dims, Dossier.id, Dossier.status,
                        Dossier.finished_at, Dossier.due_at, Dossier.paused_since,
                        Dossier.supplement_count, resolved.label("resolved"),
                        holds.label("holds"),
                        sa.func.timezone(Office.timezone, Dossier.finished_at).label("end_local"),
                        sa.func.timezone(Office.timezone, Dossier.due_at).label("due_local"))
    b = base.subquery()
    group = [b.c[k] for k in keys]
    late: sa.ColumnElement[bool]
    counted: sa.ColumnElement[bool]
    early: sa.ColumnElement[bool]
    if query.formula == "766":
        late = sa.or_(b.c.supplement_count > 1,
                      sa.func.coalesce(b.c.finished_at, b.c.paused_since, at) > b.c.due_at)
        counted = b.c.holds
        early = sa.false()
    else:
        late = b.c.finished_at > b.c.due_at
        counted = b.c.resolved
        early = sa.cast(b.c.end_local, sa.Date) < sa.cast(b.c.due_local, sa.Date)
    # Indicator 2.2 counts every resolved dossier here, the ones judged one by one too.
    stmt = (sa.select(*group, sa.func.count(sa.case((counted, 1))),
                      sa.func.count(sa.case((sa.and_(counted, late), 1))),
                      sa.func.count(sa.case((sa.and_(counted, ~late, early), 1))),
                      sa.func.count(sa.case((b.c.resolved, 1))),
                      sa.func.coalesce(sa.func.sum(sa.case((b.c.resolved, b.c.hours))), 0),
                      sa.func.array_agg(b.c.id).filter(~b.c.holds))
            .group_by(*group))
    n = len(keys)
    unsettled: dict[int, tuple[Any, ...]] = {}
    for row in db.session.execute(stmt):
        key = tuple(row[:n])
        unsettled |= dict.fromkeys(row[n + 5] or (), key)
        if not (row[n] or row[n + 3]):
            continue
        tally = tallies[key]
        tally.late += row[n + 1]
        tally.early += row[n + 2]
        tally.on_time += row[n] - row[n + 1] - row[n + 2]
        tally.resolved += row[n + 3]
        tally.taken += float(row[n + 4])
    return unsettled


def _step_verdicts(query: ReportQuery) -> Table:
    at = query.at
    keys = _ONTIME_KEYS["step"]
    stmt = (sa.select(Stay.dossier_id, Stay.plan_position, Stay.step_name, Stay.verdict,
                      Stay.ended_at, Procedure.code.label("procedure"))
            .join(Procedure, Procedure.id == Stay.procedure_id)
            .where(Stay.interval == stays.PROCESSING, Stay.verdict.is_not(None),
                   Stay.ended_at >= query.start, Stay.ended_at < at, *_stays_in_scope(query))
            .order_by(Stay.ended_at))
    last: dict[tuple[int, int], Any] = {}
    for row in db.session.execute(stmt):
        last[(row.dossier_id, row.plan_position)] = row  # the step's latest verdict
    counts: dict[tuple[Any, ...], dict[str, int]] = {}
    for row in last.values():
        key = (row.procedure, row.plan_position, row.step_name)
        counts.setdefault(key, {stays.EARLY: 0, stays.ON_TIME: 0, stays.LATE: 0})[row.verdict] += 1
    rows = []
    for key, c in sorted(counts.items()):
        total = sum(c.values())
        rows.append(dict(zip(keys, key, strict=True)) | {
            "formula": "step", "total": total, "early": c[stays.EARLY],
            "on_time": c[stays.EARLY] + c[stays.ON_TIME], "late": c[stays.LATE],
            "rate": rate(c[stays.EARLY] + c[stays.ON_TIME], total),
            "mean_resolution_hours": None})
    return Table(keys + _ONTIME_FIGURES, rows)


def _zone() -> Any:
    import zoneinfo

    return zoneinfo.ZoneInfo(current_app.config["DEFAULT_TIMEZONE"])


# --- triage -----------------------------------------------------------------------------------

TRIAGE_COLUMNS = ["code", "tracking_number", "procedure", "office", "station", "status",
                  "due_at", "hours_left", "remaining_budget_hours", "triage", "triage_label",
                  "needs_apology", "apologies"]


def triage(query: ReportQuery) -> Table:
    """Dossiers in progress now: trong hạn / sắp đến hạn (``APPROACHING_DUE_HOURS``) / quá
    hạn, and whether each needs an apology letter (Mẫu 04).

    A dossier needs one when it is late, or when the working hours left before its
    appointment are fewer than the budgets of the plan steps it has not reached: it cannot
    make it if each step takes its budget. An apology moves the appointment (``due_at``), so
    a dossier apologised for is judged against the new one, and needs another only if that
    one is missed too. ``apologies`` counts those issued. Ordered by the hours left. Judged
    now: the period does not apply, the office and procedure filters do.
    """
    now = query.now
    threshold = current_app.config["APPROACHING_DUE_HOURS"]
    apologies = (sa.select(sa.func.count(DossierNotice.id))
                 .where(DossierNotice.dossier_id == Dossier.id,
                        DossierNotice.kind == NoticeKind.APOLOGY).scalar_subquery())
    stmt = (sa.select(Dossier, Office.code, Procedure.code, Station.code, apologies)
            .join(Office, Office.id == Dossier.receiving_office_id)
            .join(ProcedureVersion, ProcedureVersion.id == Dossier.procedure_version_id)
            .join(Procedure, Procedure.id == ProcedureVersion.procedure_id)
            .outerjoin(Station, Station.id == Dossier.current_station_id)
            .where(Dossier.finished_at.is_(None), Dossier.status.not_in(
                [DossierStatus.NEW, *(s for s in DossierStatus if s.closed)]), *_owned(query))
            .order_by(Dossier.id))
    rows = []
    for dossier, office, procedure, station, apology_count in db.session.execute(stmt):
        calendar = calendar_of(dossier.receiving_office_id)
        verdict = queries.dossier_verdict(dossier, calendar, now, threshold)
        left = queries.working_hours_left(dossier, calendar, now)
        remaining = float(sum(s.budget_hours for s in plan_of(dossier.procedure_version_id)
                              if s.position > dossier.plan_position))
        rows.append({
            "code": dossier.code, "tracking_number": dossier.tracking_number,
            "procedure": procedure, "office": office, "station": station,
            "status": dossier.status.name.lower(), "due_at": dossier.due_at.isoformat(),
            "hours_left": left, "remaining_budget_hours": remaining, "triage": verdict,
            "triage_label": queries.VERDICT_LABELS[verdict],
            "needs_apology": verdict == queries.LATE or (left is not None and left < remaining),
            "apologies": apology_count})
    rows.sort(key=lambda r: (r["hours_left"] if r["hours_left"] is not None else math.inf,
                             r["code"]))
    return Table(TRIAGE_COLUMNS, rows)


# --- missed scans -----------------------------------------------------------------------------

MISSED_COLUMNS = ["kind", "code", "station", "at", "step", "hours", "budget_hours", "staff",
                  "key", "expected", "scanned", "rate"]
OFF_PLAN, SKIPPED_STEP, OVERDUE_SCAN, SILENT, OVERDUE_TRANSIT = (
    "off_plan", "skipped_step", "overdue_scan", "silent", "overdue_transit")
STATION_COMPLIANCE, STAFF_COMPLIANCE = "station_compliance", "staff_compliance"


def missed(query: ReportQuery) -> Table:
    """Where scans were probably missed, and the scan compliance per station and staff member.

    Row kinds:

    - ``off_plan``: a scan at a station the plan did not send the file to (the fold's flag);
    - ``skipped_step``: a file scanned at a plan step while the step before it was never
      scanned (``step`` names the steps passed without a scan);
    - ``overdue_scan``: the next scan is overdue: a processing stay still open at the period
      end has lasted longer than its step's budget;
    - ``silent``: a dossier in progress, not waiting for the citizen, without a scan for
      ``MISSED_SCAN_DAYS`` working days at the period end;
    - ``overdue_transit``: a file sent to another office and not scanned there in time;
    - ``station_compliance`` / ``staff_compliance``: the share of plan steps passed with a
      scan (``scanned`` / ``expected``), over the dossiers scanned in the period. A step is
      *passed* once the file was scanned at a later step. Per station: the step's station
      (the named one, else the one that scanned it, else ``kind:<KIND>``); per staff member:
      the person who held the file at the step before, whose handoff the step's scan
      records.
    """
    rows = (_off_plan(query) + _plan_gaps(query) + _overdue_scans(query) + _silent(query)
            + overdue_transits(query))
    return Table(MISSED_COLUMNS, rows)


def overdue_transits(query: ReportQuery) -> list[dict[str, Any]]:
    """Files sent (``send``) and not scanned since for longer than ``TRANSIT_ALERT_HOURS``
    working hours: where they left from, when, by whom, and for how long so far.

    A transit is a fact of the dossier as it stands, so it is measured now, whatever the period;
    the sending office, the destination office and the dossier's owners each see it.
    """
    rows = []
    for row in queries.in_transit(query.offices, query.now, queries.alert_after()):
        if (query.procedure_id is not None
                and row.dossier.procedure_version.procedure_id != query.procedure_id):
            continue
        rows.append({"kind": OVERDUE_TRANSIT, "code": row.dossier.code,
                     "station": row.send.station.code, "at": row.since.isoformat(),
                     "hours": row.age.working_hours,
                     "staff": row.send.actor.username if row.send.actor else None,
                     "key": row.to_station.code if row.to_station else
                     row.to_office.code if row.to_office else None})
    return rows


def _off_plan(query: ReportQuery) -> list[dict[str, Any]]:
    stmt = (sa.select(Dossier.code, Station.code.label("station"), ScanEvent.corrected_at,
                      User.username)
            .join(Dossier, Dossier.id == ScanEvent.dossier_id)
            .join(Station, Station.id == ScanEvent.station_id)
            .outerjoin(User, User.id == ScanEvent.actor_id)
            .where(ScanEvent.flag == fold.OFF_PLAN, ScanEvent.corrected_at >= query.start,
                   ScanEvent.corrected_at < query.at, *_owned(query))
            .order_by(ScanEvent.corrected_at))
    if query.offices is not None:
        stmt = stmt.where(Station.office_id.in_(query.offices))
    return [{"kind": OFF_PLAN, "code": r.code, "station": r.station,
             "at": r.corrected_at.isoformat(), "staff": r.username}
            for r in db.session.execute(stmt)]


def _overdue_scans(query: ReportQuery) -> list[dict[str, Any]]:
    at = query.at
    stay = queries.every_stay()
    stmt = (sa.select(Dossier.code, Dossier.receiving_office_id, Station.code.label("station"),
                      stay.started_at, stay.step_name, stay.budget_hours, User.username)
            .join(Dossier, Dossier.id == stay.dossier_id)
            .join(Station, Station.id == stay.station_id)
            .outerjoin(User, User.id == stay.holder_id)
            .where(stay.interval == stays.PROCESSING, stay.budget_hours.is_not(None),
                   stay.started_at < at,
                   sa.or_(stay.ended_at.is_(None), stay.ended_at > at),
                   *_stays_in_scope(query, stay))
            .order_by(stay.started_at))
    rows = []
    for r in db.session.execute(stmt):
        hours = _hours(calendar_of(r.receiving_office_id).working_time_between(
            r.started_at, at))
        if hours > float(r.budget_hours):
            rows.append({"kind": OVERDUE_SCAN, "code": r.code, "station": r.station,
                         "at": r.started_at.isoformat(), "step": r.step_name, "hours": hours,
                         "budget_hours": float(r.budget_hours), "staff": r.username})
    return rows


def _silent(query: ReportQuery) -> list[dict[str, Any]]:
    at = query.at
    days = dt.timedelta(hours=8 * current_app.config["MISSED_SCAN_DAYS"])
    stmt = (sa.select(Dossier, Station.code)
            .outerjoin(Station, Station.id == Dossier.current_station_id)
            .where(Dossier.received_at < at,
                   sa.or_(Dossier.finished_at.is_(None), Dossier.finished_at > at),
                   Dossier.last_event_at < at, Dossier.paused_since.is_(None),
                   *_owned(query))
            .order_by(Dossier.last_event_at))
    rows = []
    for dossier, station in db.session.execute(stmt):
        assert dossier.last_event_at is not None
        quiet = calendar_of(dossier.receiving_office_id).working_time_between(
            dossier.last_event_at, at)
        if quiet >= days:
            rows.append({"kind": SILENT, "code": dossier.code, "station": station,
                         "at": dossier.last_event_at.isoformat(), "hours": _hours(quiet)})
    return rows


def _plan_gaps(query: ReportQuery) -> list[dict[str, Any]]:
    """Skipped steps, and the compliance they make (see :func:`missed`)."""
    at = query.at
    stay = queries.every_stay()
    recent = (sa.select(stay.dossier_id).where(
        stay.started_at >= query.start, stay.started_at < at, stay.plan_position.is_not(None),
        *_stays_in_scope(query, stay)).distinct())
    stmt = (sa.select(stay.dossier_id, stay.plan_position, stay.started_at,
                      Dossier.code, Dossier.procedure_version_id,
                      Station.code.label("station"), User.username)
            .join(Dossier, Dossier.id == stay.dossier_id)
            .join(Station, Station.id == stay.station_id)
            .outerjoin(User, User.id == stay.holder_id)
            .where(stay.dossier_id.in_(recent), stay.plan_position.is_not(None),
                   stay.started_at < at)
            .order_by(stay.dossier_id, stay.started_at, stay.event_uuid))
    by_dossier: dict[int, list[Any]] = defaultdict(list)
    for row in db.session.execute(stmt):
        by_dossier[row.dossier_id].append(row)
    stations = {row.id: row.code for row in db.session.execute(sa.select(Station.id, Station.code))}
    rows: list[dict[str, Any]] = []
    station_tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    staff_tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for history in by_dossier.values():
        plan = plan_of(history[0].procedure_version_id)
        scanned: dict[int, Any] = {}
        reached = 0
        for stay in history:
            position = stay.plan_position
            skipped = [s for s in plan if reached < s.position < position
                       and s.position not in scanned]
            if skipped and stay.started_at >= query.start:
                rows.append({"kind": SKIPPED_STEP, "code": stay.code, "station": stay.station,
                             "at": stay.started_at.isoformat(),
                             "step": ", ".join(s.name for s in skipped),
                             "staff": stay.username})
            scanned.setdefault(position, stay)
            reached = max(reached, position)
        for step in plan:
            if step.position >= reached:
                break  # not passed yet
            hit = scanned.get(step.position)
            where = (stations.get(step.station_id) if step.station_id is not None
                     else hit.station if hit is not None
                     else f"kind:{step.station_kind.name if step.station_kind else ''}")
            station_tally[where or ""][0] += 1
            station_tally[where or ""][1] += hit is not None
            giver = _holder_before(scanned, step.position)
            if giver is not None:
                staff_tally[giver][0] += 1
                staff_tally[giver][1] += hit is not None
    for kind, tally in ((STATION_COMPLIANCE, station_tally), (STAFF_COMPLIANCE, staff_tally)):
        for key, (expected, hits) in sorted(tally.items()):
            rows.append({"kind": kind, "key": key, "expected": expected, "scanned": hits,
                         "rate": rate(hits, expected)})
    return rows


def _holder_before(scanned: dict[int, Any], position: int) -> str | None:
    """Who held the file at the last scanned step before ``position``."""
    earlier = [p for p in scanned if p < position]
    if not earlier:
        return None
    return scanned[max(earlier)].username  # type: ignore[no-any-return]


# --- counts by status and station queues (the dashboard) --------------------------------------

STATUS_COLUMNS = ["status", "status_code", "status_label", "count"]


def status_counts(query: ReportQuery) -> Table:
    """The dossiers received in the period, counted by their status now, in the national
    codes' order (statuses no dossier has are left out)."""
    stmt = (sa.select(Dossier.status, sa.func.count())
            .where(Dossier.received_at >= query.start, Dossier.received_at < query.end,
                   *_owned(query))
            .group_by(Dossier.status))
    counts = {status: count for status, count in db.session.execute(stmt)}
    return Table(STATUS_COLUMNS, [
        {"status": s.name.lower(), "status_code": s.value, "status_label": s.label,
         "count": counts[s]} for s in DossierStatus if counts.get(s)])


QUEUE_COLUMNS = ["office", "station", "station_name", "processing", "waiting", "oldest_code",
                 "oldest_since", "oldest_hours", "oldest_calendar_hours"]
_WAITING = (stays.SUPPLEMENT, stays.PAYMENT, stays.PICKUP)


def queues(query: ReportQuery) -> Table:
    """The files at each station at the period end (now, unless it has ended): the stays
    open then, ``processing`` (charged to a step) and ``waiting`` (for the citizen's papers or
    payment, or for pickup), and the oldest processing one with its age then (working and
    calendar hours). Ordered by the files in processing, most first."""
    at = query.at
    stay = queries.every_stay()
    ages = _open_ages(query)
    stmt = (sa.select(stay.id, stay.interval, stay.started_at, Dossier.code.label("dossier"),
                      Office.code.label("office"), Station.code.label("station"),
                      Station.name.label("station_name"))
            .join(Dossier, Dossier.id == stay.dossier_id)
            .join(Station, Station.id == stay.station_id)
            .join(Office, Office.id == Station.office_id)
            .where(stay.interval.in_((stays.PROCESSING, *_WAITING)), stay.started_at < at,
                   sa.or_(stay.ended_at.is_(None), stay.ended_at > at),
                   *_stays_in_scope(query, stay))
            .order_by(stay.started_at, stay.id))
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for held in db.session.execute(stmt):
        row = rows.setdefault((held.office, held.station), {
            "office": held.office, "station": held.station, "station_name": held.station_name,
            "processing": 0, "waiting": 0, "oldest_code": None, "oldest_since": None,
            "oldest_hours": None, "oldest_calendar_hours": None})
        if held.interval != stays.PROCESSING:
            row["waiting"] += 1
            continue
        row["processing"] += 1
        if row["oldest_code"] is None and held.id in ages:  # the earliest started
            working, wall = ages[held.id]
            row |= {"oldest_code": held.dossier, "oldest_since": held.started_at.isoformat(),
                    "oldest_hours": working, "oldest_calendar_hours": wall}
    ordered = sorted(rows.values(), key=lambda r: (-r["processing"], -(r["oldest_hours"] or 0),
                                                   r["office"], r["station"]))
    return Table(QUEUE_COLUMNS, ordered)


REPORTS: dict[str, Callable[[ReportQuery], Table]] = {
    "dwell": dwell, "ontime": ontime, "triage": triage, "missed": missed,
    "status": status_counts, "queues": queues}


def office_ids(codes: Collection[str]) -> frozenset[int]:
    return frozenset(db.session.scalars(sa.select(Office.id).where(Office.code.in_(codes))))
