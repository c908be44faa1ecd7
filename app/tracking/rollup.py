"""The monthly stay rollup (:class:`app.tracking.models.StayRollup`) behind the dwell report.

A past month's ended processing stays are counted once, per office, station, holder,
procedure and plan step, and once more per procedure and plan step for all offices together
(:data:`PROVINCE`), with a histogram of their hours; the dwell report reads these rows
for the whole months of its period and only the rest (the period's partial months, and the
stays still open at its end) from ``stay`` and the open dossiers. A month is built the first
time a report needs it, once it has ended (:func:`ensure_built`), and dropped whole when a
scan changes a stay that ended in it (a late event's replay, or a scan recorded after the
month with an earlier time: :func:`invalidate`); the next report builds it again. Scans of
the current month, which are nearly all of them, touch no rollup row.

Months are the calendar months of ``DEFAULT_TIMEZONE`` (Vietnam: UTC+7, no daylight time).

Precision: counts, means (exact sums), maxima and the hours beyond budget are exact. For the
median and p90 a value stands for the mean of its bucket: its hours cut to two significant
figures (0.1 h below 10 h, 1 h below 100 h, 10 h above), so a percentile is off by less than
the width of the bucket of the larger value it interpolates from, and exact where a bucket's
values are equal.
"""

from __future__ import annotations

import datetime as dt
import decimal
import zoneinfo
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from flask import current_app

from app.db import db, utcnow
from app.tracking import stays
from app.tracking.models import RollupMonth, Stay, StayRollup

WORKING, CALENDAR = 0, 1  # StayRollup.measure
# The office, station and holder of the rows that count every office's stays together (the
# province's figures per procedure and step: what a report over every office reads).
PROVINCE = 0


def zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(current_app.config["DEFAULT_TIMEZONE"])


def month_of(at: dt.datetime, tz: dt.tzinfo) -> dt.date:
    return at.astimezone(tz).date().replace(day=1)


def month_bounds(month: dt.date, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    following = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return (dt.datetime.combine(month, dt.time(), tz),
            dt.datetime.combine(following, dt.time(), tz))


def whole_months(start: dt.datetime, at: dt.datetime, tz: dt.tzinfo) -> list[dt.date]:
    """The months lying wholly in ``[start, at)``, in order (a contiguous run)."""
    month, out = month_of(start, tz), list[dt.date]()
    while True:
        first, following = month_bounds(month, tz)
        if following > at:
            return out
        if first >= start:
            out.append(month)
        month = following.astimezone(tz).date()


def bucket_of(hours: decimal.Decimal | float) -> int:
    """``hours`` in cents, cut to two significant figures (see the module docstring)."""
    cents = round(float(hours) * 100)
    step = 10 if cents < 1000 else 100 if cents < 10000 else 1000
    return cents // step * step


def _cents(hours: Any) -> Any:
    return sa.cast(sa.func.round(hours * 100), sa.Integer)


def _bucket(hours: Any) -> Any:
    cents = _cents(hours)
    return sa.case((cents < 1000, cents // 10 * 10), (cents < 10000, cents // 100 * 100),
                   else_=cents // 1000 * 1000)


def _greatest(a: Any, b: Any) -> Any:
    return sa.case((a > b, a), else_=b)


def charged(where: Iterable[sa.ColumnElement[bool]]) -> sa.Subquery:
    """The processing stays of the dossiers that have one matching ``where``, each with
    ``charged`` (the working hours charged to its plan step by the dossier's stays before
    it, as the stay fold counts them) and ``over`` (the hours of it beyond the step's
    budget: what it adds to the step's excess)."""
    dossiers = sa.select(Stay.dossier_id).where(Stay.interval == stays.PROCESSING, *where)
    before = sa.func.coalesce(sa.func.sum(Stay.working_hours).over(
        partition_by=(Stay.dossier_id, Stay.plan_position),
        order_by=(Stay.started_at, Stay.event_uuid), rows=(None, -1)), 0)
    return (sa.select(Stay, before.label("charged"))
            .where(Stay.interval == stays.PROCESSING, Stay.dossier_id.in_(dossiers))
            .subquery("charged"))


def excess(charged_before: Any, hours: Any, budget: Any) -> Any:
    """What a stay of ``hours`` adds to its step's hours beyond ``budget`` (SQL or Python)."""
    if isinstance(hours, (int, float, decimal.Decimal)):
        return (max(charged_before + hours - budget, 0) - max(charged_before - budget, 0)
                if budget is not None else 0)
    return sa.case((budget.is_(None), 0), else_=_greatest(charged_before + hours - budget, 0)
                   - _greatest(charged_before - budget, 0))


def _build(month: dt.date, tz: dt.tzinfo) -> None:
    first, following = month_bounds(month, tz)
    ended = [Stay.ended_at >= first, Stay.ended_at < following]
    c = charged(ended)
    rows = sa.select(c).where(c.c.ended_at >= first, c.c.ended_at < following).subquery()
    step = [rows.c.procedure_id, sa.func.coalesce(rows.c.plan_position, 0),
            sa.func.coalesce(rows.c.step_name, "")]
    where = [rows.c.office_id, rows.c.station_id, sa.func.coalesce(rows.c.holder_id, 0)]
    everywhere = [sa.literal(PROVINCE)] * 3
    parts = []
    for measure, hours, over in (
            (WORKING, rows.c.working_hours,
             excess(rows.c.charged, rows.c.working_hours, rows.c.budget_hours)),
            (CALENDAR, rows.c.calendar_hours, sa.literal(0))):
        bucket = _bucket(hours)
        for place in (where, everywhere):
            parts.append(sa.select(sa.literal(month, sa.Date), *place, *step,
                                   sa.literal(measure, sa.SmallInteger), bucket,
                                   sa.func.count(), sa.func.sum(_cents(hours)),
                                   sa.func.max(_cents(hours)), sa.func.sum(_cents(over)))
                         .group_by(*(place if place is where else ()), *step, bucket))
    columns = ["month", "office_id", "station_id", "holder_id", "procedure_id",
               "plan_position", "step_name", "measure", "bucket", "n", "total", "top", "over"]
    db.session.execute(sa.insert(StayRollup).from_select(columns, sa.union_all(*parts)))


def _upsert(month: dt.date, built_at: dt.datetime | None) -> Any:
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(RollupMonth).values(month=month, built_at=built_at)
    if built_at is None:
        return stmt.on_conflict_do_update(index_elements=[RollupMonth.month],
                                          set_={"built_at": None})
    return stmt.on_conflict_do_update(
        index_elements=[RollupMonth.month], set_={"built_at": built_at},
        where=RollupMonth.built_at.is_(None)).returning(RollupMonth.month)


def ensure_built(months: Iterable[dt.date]) -> None:
    """Build the rollup of the ended ``months`` that have none yet, or a stale one.

    Claiming a month and making one stale both write its :class:`RollupMonth` row, so on
    PostgreSQL each waits for the other's transaction: a build never misses a change, and a
    change made during a build makes it stale once the build is committed."""
    tz = zone()
    built = set(db.session.scalars(sa.select(RollupMonth.month)
                                   .where(RollupMonth.built_at.is_not(None))))
    for month in sorted(set(months) - built):
        if db.session.execute(_upsert(month, utcnow())).first() is not None:
            db.session.execute(sa.delete(StayRollup).where(StayRollup.month == month))
            _build(month, tz)


def invalidate(ended: Iterable[dt.datetime | None]) -> None:
    """Make stale the past months in which stays (their ``ended_at``) were changed.
    Nothing is read or written when they all ended this month (every scan in time)."""
    tz = zone()
    this_month = month_of(utcnow(), tz)
    months = {m for m in (month_of(at, tz) for at in ended if at is not None) if m < this_month}
    for month in sorted(months):
        db.session.execute(_upsert(month, None))
    if months:
        db.session.execute(sa.delete(StayRollup).where(StayRollup.month.in_(months)))
