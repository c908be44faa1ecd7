"""The dwell report's monthly rollup (app.tracking.rollup) against the stays it sums: on a
random October of scans, a report over the whole month (read from the rollup) and the same
figures computed from every stay agree — counts, open stays, means, maxima and hours over
budget exactly, medians and p90 within the rollup's stated precision — for every grouping,
also after late and backdated scans have changed stays of the month built already."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import Office
from dossier_support import HCM, intake, iso, post
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.analytics import reports
from app.db import db
from app.tracking import rollup
from app.tracking.models import RollupMonth, StayRollup

OCTOBER = (dt.datetime(2026, 10, 1, tzinfo=HCM), dt.datetime(2026, 11, 1, tzinfo=HCM))
STATIONS = ["DESK", "TUPHAP", "LEADER"]

# One dossier: its receipt (day of October, hour) and its scans, as (days, hours) after the
# scan before and the station.
dossiers = st.lists(st.tuples(
    st.integers(1, 27), st.integers(7, 16),
    st.lists(st.tuples(st.integers(0, 3), st.integers(1, 9), st.sampled_from(STATIONS)),
             min_size=1, max_size=5)), min_size=1, max_size=4)


def scans(day: int, hour: int, steps: list[tuple[int, int, str]]) -> list[tuple[str, str, None]]:
    at = dt.datetime(2026, 10, day, hour, tzinfo=HCM)
    out = []
    for days, hours, station in steps:
        at += dt.timedelta(days=days, hours=hours)
        out.append((at.isoformat(), station, None))
    return out


def exact(query: reports.ReportQuery) -> list[dict[str, Any]]:
    """The figures from every stay (no month read from the rollup), each row with the bound
    of its percentiles' error: the width of the bucket of the larger value each interpolates
    from (module app.tracking.rollup)."""
    columns = reports._DWELL_COLUMNS[query.by] if query.by else []
    groups: dict[tuple[Any, ...], reports._Dwell] = defaultdict(reports._Dwell)
    reports._dwell_from_stays(query, None, columns, groups)
    names = reports._names(query.by)
    rows = []
    for key, group in groups.items():
        row = names(key) | group.figures()
        for measure, suffix in ((0, "hours"), (1, "calendar_hours")):
            ordered = sorted(v for v, _ in group.values[measure])
            for p, name in ((0.5, "median"), (0.9, "p90")):
                upper = min(math.floor(p * (len(ordered) - 1)) + 1, len(ordered) - 1)
                row[f"bound_{name}_{suffix}"] = width(ordered[upper])
        rows.append(row)
    return rows


def width(hours: float) -> float:
    return 0.1 if hours < 10 else 1.0 if hours < 100 else 10.0


def agree(rolled: list[dict[str, Any]], counted: list[dict[str, Any]], keys: list[str]) -> None:
    by_key = {tuple(r[k] for k in keys): r for r in counted}
    assert len(rolled) == len(counted)
    for row in rolled:
        other = by_key[tuple(row[k] for k in keys)]
        for name in ("count", "open", "mean_hours", "max_hours", "mean_calendar_hours",
                     "max_calendar_hours", "over_budget_hours"):
            assert row[name] == pytest.approx(other[name], abs=0.011), name
        for name in ("median_hours", "p90_hours", "median_calendar_hours",
                     "p90_calendar_hours"):
            assert abs(row[name] - other[name]) <= other[f"bound_{name}"] + 0.011, name


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dossiers, st.integers(0, 3))
def test_the_rollup_of_a_month_gives_the_figures_of_its_stays(app, client, office: Office,
                                                              histories: list[Any],
                                                              late: int):
    for day, hour, steps in histories:
        d = intake(client, office, iso(2026, 10, day, hour))
        rows = scans(day, hour, steps)
        replayed = late and len(rows) > 1
        post(client, office, d["tracking_number"], rows[:-1] if replayed else rows)
        if replayed:  # then a scan in between the earlier ones: a late event, a replay
            post(client, office, d["tracking_number"], rows[-1:])
            post(client, office, d["tracking_number"],
                 [((dt.datetime.fromisoformat(rows[0][0]) - dt.timedelta(minutes=late))
                   .isoformat(), "DESK", None)])
    with app.app_context():
        # October's scans came in December: a month built by an earlier example is stale.
        month = db.session.get(RollupMonth, dt.date(2026, 10, 1))
        assert month is None or month.built_at is None
        for by in (None, *reports.DWELL_BY):
            query = reports.ReportQuery(start=OCTOBER[0], end=OCTOBER[1],
                                        now=dt.datetime.now(dt.UTC), by=by)
            keys = reports._DWELL_KEYS[by] if by else []
            assert rollup.whole_months(query.start, query.at, HCM) == [dt.date(2026, 10, 1)]
            agree(reports.dwell(query).rows, exact(query), keys)
        # Each row's largest value lies in its bucket: two significant figures, in cents.
        tops = db.session.execute(sa.select(StayRollup.bucket, StayRollup.top)).all()
        assert tops and all(rollup.bucket_of(top / 100) == bucket for bucket, top in tops)
        db.session.commit()
