"""The on-time verdict under Decision 766 at any instant, read from the stays (each keeps the
dossier's state after the scan that began it) instead of a replay of the events up to it.

The reference is the replay itself (what ``queries.verdict_766`` did before): every test
here compares with :func:`replayed_verdict`.
"""

from __future__ import annotations

import datetime as dt
import decimal
import itertools
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import Office, scan
from dossier_support import intake, nov
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from migration_support import migration
from test_pauses_and_verdicts import DESK, LEADER, PLAN, RETURN, TUPHAP, at, hours

from app.db import db
from app.offices.operations import calendar_of
from app.procedures.operations import plan_of
from app.tracking import operations as ops
from app.tracking import queries
from app.tracking import state as fold
from app.tracking import stays as stay_fold
from app.tracking.models import Dossier, DossierStatus, ScanAction, ScanEvent, Stay
from app.tracking.queries import LATE, ON_TIME, verdict_766, verdicts_766
from app.worktime import WorkCalendar

# --- the fold: each stay's snapshot is the replay's state after the scan that began it ------

_FOLD_ACTIONS = [ScanAction.RECEIVE, ScanAction.TRANSFER_IN, ScanAction.REQUEST_SUPPLEMENT,
                 ScanAction.SUPPLEMENT_RECEIVED, ScanAction.REQUEST_PAYMENT,
                 ScanAction.PAYMENT_RECEIVED, ScanAction.RESULT_READY, ScanAction.RETURNED,
                 ScanAction.WITHDRAWN, ScanAction.SEND]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 8 * 24 * 9), st.sampled_from(_FOLD_ACTIONS),
                          st.sampled_from([DESK, TUPHAP, LEADER, RETURN]),
                          st.integers(0, 2**128 - 1)),
                max_size=12, unique_by=lambda e: e[3]))
def test_each_stay_keeps_the_replays_state_after_the_scan_that_began_it(
        steps: list[tuple[int, ScanAction, Any, int]]) -> None:
    # Times on a 15-minute grid, so that scans at the same instant are ordered by their id.
    events = [fold.EventFacts(uuid=uuid.UUID(int=n), at=at(2, 7) + dt.timedelta(minutes=15 * m),
                              action=a, station=s, actor_id=None) for m, a, s, n in steps]
    initial = fold.DossierState(status=DossierStatus.NEW, station_id=None, holder_id=None)
    replayed = stay_fold.replay_stays(initial, events, PLAN, hours)
    ordered = sorted(events, key=lambda e: e.order_key)
    assert [s.event_uuid for s in replayed.stays] == [e.uuid for e in ordered]
    for n, stay in enumerate(replayed.stays):
        state, _ = fold.replay(initial, ordered[:n + 1], PLAN, hours)
        assert stay.snapshot == stay_fold.Snapshot.of(state)


# --- through the API and the database ----------------------------------------------------------

def replayed_verdict(dossier: Dossier, calendar: WorkCalendar, instant: dt.datetime) -> str:
    """The verdict as it was judged before the stays kept the state: a replay of the
    dossier's events up to ``instant``."""
    events = [e for e in db.session.scalars(
        dossier.events.select().options(sa.orm.joinedload(ScanEvent.station)))
        if e.corrected_at <= instant]
    state, _ = fold.replay(ops.initial_state(), map(ops.event_facts, events),
                           plan_of(dossier.procedure_version_id),
                           ops.working_hours_fn(lambda: calendar))
    if state.supplement_count > 1:
        return LATE
    due = ops.moved_due_at(dossier.base_due_at, state.paused_hours, calendar)
    end = state.finished_at or state.paused_since or instant
    return LATE if end > due else ON_TIME


def instants(dossier: Dossier) -> list[dt.datetime]:
    """Every instant where the verdict may change, and a minute either side of it."""
    times = sorted({e.corrected_at for e in db.session.scalars(dossier.events.select())}
                   | {dossier.received_at, dossier.base_due_at})
    minute = dt.timedelta(minutes=1)
    return [t + d for t in times for d in (-minute, dt.timedelta(0), minute)] + [
        times[-1] + dt.timedelta(days=60)]


def check_every_instant(app, code: str) -> None:
    """At every instant, the verdict read from the stays (batched, and the single
    dossier's) is the replay's."""
    with app.app_context():
        dossier = db.session.scalars(sa.select(Dossier).where(Dossier.code == code)).one()
        calendar = calendar_of(dossier.receiving_office_id)
        for instant in instants(dossier):
            expected = replayed_verdict(dossier, calendar, instant)
            assert verdicts_766([dossier.id], instant) == {dossier.id: expected}, instant
            assert verdict_766(dossier, calendar, instant) == expected, instant


_API_ACTIONS = ["transfer_in", "request_supplement", "supplement_received", "request_payment",
                "payment_received", "result_ready", "returned"]
_ids = itertools.count(1)


def event_id(rank: int) -> str:
    """A fresh event id whose order among scans at the same instant is ``rank``'s (the high
    64 bits: the sign bit too), whatever the tests before have used."""
    return str(uuid.UUID(int=(rank << 64) | next(_ids)))


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scans=st.lists(st.tuples(st.integers(-4, 8 * 5), st.sampled_from(_API_ACTIONS),
                                st.sampled_from(["DESK", "TUPHAP", "LEADER", "RETURN"]),
                                st.integers(0, 2**64 - 1)), min_size=1, max_size=9),
       order=st.randoms(use_true_random=False), size=st.integers(1, 9))
def test_the_verdict_read_from_the_stays_is_the_replays_at_any_instant(
        app, client, office: Office, scans: list[tuple[int, str, str, int]], order: Any,
        size: int):
    """Supplements, payments, results and returns, at any times (half-hour steps from two
    hours before the receipt, so that some scans share an instant), arriving in any order
    and batches: late ones replay the dossier, the others advance it."""
    d = intake(client, office, nov(2, 8))
    rows = [scan(d["tracking_number"], (at(2, 8) + dt.timedelta(minutes=30 * m)).isoformat(),
                 station=station, action=action, id=event_id(rank))
            for m, action, station, rank in scans]
    order.shuffle(rows)
    for first in range(0, len(rows), size):
        response = client.post("/api/v1/scans", json={"events": rows[first:first + size]},
                               headers=office.headers("admin"))
        assert response.status_code == 200, response.get_json()
        assert {r["status"] for r in response.get_json()["results"]} == {"accepted"}
    check_every_instant(app, d["code"])


@pytest.mark.parametrize(("first", "second"), [
    # Sign bit: 0x80… is after 0x7f… (unsigned, as Python compares).
    ("80000000-0000-0000-0000-000000000000", "7fffffff-ffff-ffff-ffff-ffffffffffff"),
    # The last bytes: …0100 is after …00ff.
    ("00000000-0000-0000-0000-000000000100", "00000000-0000-0000-0000-0000000000ff")])
def test_scans_at_the_same_instant_are_ordered_by_id_as_the_fold_orders_them(
        app, client, office: Office, first: str, second: str):
    """The request and the answer scanned at the same instant: the answer's id comes first
    in the fold's order, so it answers nothing and the request then pauses the clock."""
    assert uuid.UUID(second) < uuid.UUID(first)
    d = intake(client, office, nov(2, 8))  # due Tue 3 Nov 08:00
    response = client.post("/api/v1/scans", headers=office.headers("admin"), json={"events": [
        scan(d["tracking_number"], nov(2, 10), station="DESK", action="request_supplement",
             id=first),
        scan(d["tracking_number"], nov(2, 10), station="DESK", action="supplement_received",
             id=second),
        scan(d["tracking_number"], nov(9, 10), station="DESK", action="supplement_received")]})
    assert response.status_code == 200, response.get_json()
    with app.app_context():
        dossier = db.session.scalars(sa.select(Dossier).where(Dossier.code == d["code"])).one()
        calendar = calendar_of(dossier.receiving_office_id)
        # Wed 4 Nov: still waiting since Mon 10:00 (before the due date): on time; had the
        # answer come after the request, the dossier would be in progress and late.
        instant = at(4, 12)
        assert replayed_verdict(dossier, calendar, instant) == ON_TIME
        assert verdicts_766([dossier.id], instant) == {dossier.id: ON_TIME}
        assert verdict_766(dossier, calendar, instant) == ON_TIME
    check_every_instant(app, d["code"])


def test_many_dossiers_are_judged_in_one_call_those_without_a_scan_by_then_too(
        app, client, office: Office, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(queries, "_CHUNK", 2)  # SQLite: queries of two dossiers, then one
    late = intake(client, office, nov(2, 8))
    post_scans(client, office, late["tracking_number"], [
        (nov(2, 9), "TUPHAP", "request_supplement"), (nov(2, 10), "TUPHAP",
                                                      "supplement_received"),
        (nov(2, 11), "TUPHAP", "request_supplement"), (nov(5, 9), "LEADER", "result_ready")])
    waiting = intake(client, office, nov(2, 8))
    post_scans(client, office, waiting["tracking_number"], [
        (nov(2, 9), "TUPHAP", "request_supplement"), (nov(12, 9), "TUPHAP",
                                                      "supplement_received")])
    later = intake(client, office, nov(20, 8))  # received after the instant judged
    instant = at(6, 17)
    with app.app_context():
        dossiers = db.session.scalars(sa.select(Dossier).where(Dossier.code.in_(
            [late["code"], waiting["code"], later["code"]]))).all()
        got = verdicts_766([d.id for d in dossiers], instant)
        by_code = {d.code: got[d.id] for d in dossiers}
        # Two supplement requests: late; waiting since Mon 09:00, before the due date: on
        # time; not received yet: its initial state, judged at the instant (before its due).
        assert by_code == {late["code"]: LATE, waiting["code"]: ON_TIME,
                           later["code"]: ON_TIME}
        calendar = calendar_of(dossiers[0].receiving_office_id)
        assert got == {d.id: replayed_verdict(d, calendar, instant) for d in dossiers}
        assert verdicts_766([], instant) == {}


def post_scans(client, office: Office, code: str,
               rows: list[tuple[str, str, str | None]]) -> None:
    events = [scan(code, t, station=s, **({"action": a} if a else {})) for t, s, a in rows]
    response = client.post("/api/v1/scans", json={"events": events},
                           headers=office.headers("admin"))
    assert response.status_code == 200, response.get_json()


# --- migration 0018 ------------------------------------------------------------------------------

_SNAPSHOT = (Stay.dossier_supplement_count, Stay.dossier_paused_hours,
             Stay.dossier_paused_since, Stay.dossier_finished_at)


def test_migration_0018_backfills_each_stays_state_as_the_ingest_stored_it(
        app, client, office: Office):
    d = intake(client, office, nov(2, 8))
    post_scans(client, office, d["tracking_number"], [
        (nov(2, 9), "TUPHAP", "request_supplement"), (nov(3, 9), "TUPHAP", "request_payment"),
        (nov(3, 14), "TUPHAP", "supplement_received"), (nov(4, 9), "TUPHAP",
                                                        "payment_received"),
        (nov(4, 10), "LEADER", "result_ready"), (nov(4, 11), "RETURN", None)])
    # A late scan: the dossier is replayed and its stays rewritten.
    post_scans(client, office, d["tracking_number"], [(nov(2, 8, 30), "TUPHAP", None)])
    other = intake(client, office, nov(3, 8))
    post_scans(client, office, other["tracking_number"], [
        (nov(3, 9), "TUPHAP", "request_supplement")])
    stored = sa.select(Stay.event_uuid, *_SNAPSHOT).order_by(Stay.event_uuid)
    with app.app_context():
        expected = db.session.execute(stored).all()
    assert len(expected) == 8  # the stays ended: the two dossiers' open ones have no row
    # Mon 09:00 → Wed 09:00 waited (the payment was the last answer): 6 + 8 + 2 hours.
    assert (1, decimal.Decimal(16)) in {
        (r.dossier_supplement_count, r.dossier_paused_hours) for r in expected}
    backfill = migration("0018").backfill
    with app.app_context():
        db.session.execute(sa.update(Stay).values(
            dossier_supplement_count=0, dossier_paused_hours=0, dossier_paused_since=None,
            dossier_finished_at=None))
        db.session.commit()
        with db.engine.begin() as connection:
            assert backfill(connection) == len(expected)
        assert db.session.execute(stored).all() == expected
