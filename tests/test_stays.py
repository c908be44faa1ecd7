"""Stays: the ingest keeps one per scan, by the fold, whatever order the events arrive in
(issue 10, point 1). Hours are computed by hand on the default office hours (07:00–11:30,
13:30–17:00, Monday to Friday; 8 working hours a day) and the 2026 calendar.
"""

from __future__ import annotations

import decimal
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import Office
from dossier_support import intake, iso, nov, post
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from migration_support import migration

from app.db import db
from app.offices.models import Station
from app.tracking.models import Dossier, Stay
from app.tracking.operations import refresh_state
from app.tracking.queries import every_stay, open_stays


def stays(app, code: str) -> list[tuple[Any, ...]]:
    """The dossier's stays, ended (rows) and open (its state), as the reports read them."""
    with app.app_context():
        s = every_stay()
        rows = db.session.execute(
            sa.select(Station.code, s.interval, s.step_name, s.working_hours, s.calendar_hours,
                      s.paused_hours, s.verdict, s.ended_at)
            .join(Station, Station.id == s.station_id).join(Dossier, Dossier.id == s.dossier_id)
            .where(Dossier.code == code).order_by(s.started_at, s.event_uuid))
        return [(r.code, r.interval, r.step_name, _f(r.working_hours),
                 _f(r.calendar_hours), _f(r.paused_hours), r.verdict, r.ended_at is None)
                for r in rows]


def _f(value: decimal.Decimal | None) -> float | None:
    return None if value is None else float(value)


# Thu 5 Nov 08:00 received; a supplement asked Thu 10:00, brought Mon 9 Nov 09:00.
SUPPLEMENT_CASE = [
    (nov(5, 9), "TUPHAP", None), (nov(5, 10), "TUPHAP", "request_supplement"),
    (nov(9, 9), "TUPHAP", "supplement_received"), (nov(9, 10), "LEADER", None),
    (nov(9, 11), "LEADER", "result_ready"), (nov(9, 14), "RETURN", None),
    (nov(11, 10), "RETURN", "returned")]
SUPPLEMENT_STAYS = [
    ("DESK", "processing", "Tiếp nhận", 1.0, 1.0, 0.0, "on_time", False),
    ("TUPHAP", "processing", "Thụ lý", 1.0, 1.0, 0.0, "early", False),
    # Thu 10:00 → Mon 09:00: Thu 1.5 + 3.5, Fri 8, Mon 2 = 15 working hours, all paused;
    # 95 calendar hours.
    ("TUPHAP", "supplement", "Thụ lý", 15.0, 95.0, 15.0, None, False),
    # Thụ lý's 1 h after the wait joins its 1 h before it: 2 h of 5.
    ("TUPHAP", "processing", "Thụ lý", 1.0, 1.0, 0.0, "early", False),
    ("LEADER", "processing", "Ký", 1.0, 1.0, 0.0, "early", False),
    # The result waits: Mon 11:00 → 14:00 is 0.5 + 0.5 working hours, 3 calendar hours.
    ("LEADER", "pickup", "Ký", 1.0, 3.0, 0.0, None, False),
    # Mon 14:00 → Wed 10:00: 3 + 8 + 3 working hours, 44 calendar hours.
    ("RETURN", "pickup", "Trả", 14.0, 44.0, 0.0, None, False),
    ("RETURN", "closed", "Trả", 0.0, 0.0, 0.0, None, False)]


def test_each_scan_ends_the_stay_before_it_with_its_hours_and_verdict(app, client,
                                                                      office: Office):
    d = intake(client, office, nov(5, 8))
    post(client, office, d["tracking_number"], SUPPLEMENT_CASE[:1])
    assert stays(app, d["code"]) == [
        ("DESK", "processing", "Tiếp nhận", 1.0, 1.0, 0.0, "on_time", False),
        ("TUPHAP", "processing", "Thụ lý", None, None, 0.0, None, True)]
    for row in SUPPLEMENT_CASE[1:]:  # one request per scan: each ends a stored open stay
        post(client, office, d["tracking_number"], [row],
             who="specialist" if row[2] and "supplement" in row[2] else "device")
    assert stays(app, d["code"]) == SUPPLEMENT_STAYS


@pytest.mark.parametrize("order", ["reversed", "shuffled"])
def test_events_arriving_out_of_order_give_the_same_stays(app, client, office: Office,
                                                          order: str):
    d = intake(client, office, nov(5, 8))
    rows = list(reversed(SUPPLEMENT_CASE)) if order == "reversed" else [
        SUPPLEMENT_CASE[i] for i in (3, 0, 6, 1, 5, 2, 4)]
    for row in rows:
        post(client, office, d["tracking_number"], [row], who="admin")
    assert stays(app, d["code"]) == SUPPLEMENT_STAYS


def test_a_stay_across_tet_2026_and_a_make_up_saturday_counts_only_working_hours(
        app, client, office: Office):
    # 1.009972: 15 working days; desk 4 h, Thẩm định 92 h, Ký 24 h, Trả 0 h.
    d = intake(client, office, iso(2026, 1, 9, 7), procedure="1.009972")
    post(client, office, d["tracking_number"], [
        (iso(2026, 1, 9, 11), "TUPHAP", None), (iso(2026, 2, 24, 9), "LEADER", None),
        (iso(2026, 2, 25, 10), "LEADER", "result_ready"),
        (iso(2026, 2, 26, 8), "RETURN", "returned")])
    assert stays(app, d["code"]) == [
        ("DESK", "processing", "Tiếp nhận", 4.0, 4.0, 0.0, "on_time", False),
        # Fri 9 Jan 11:00 → Tue 24 Feb 09:00: Fri 0.5 + 3.5; 27 whole working days (Sat 10
        # Jan, the make-up day for Fri 2 Jan, counts; Tết, Mon 16 – Fri 20 Feb, does not):
        # 16 in January, 11 in February = 216; Tue 2 = 222 working hours, over 92: late.
        # Calendar: 46 days less 2 hours = 1,102 hours.
        ("TUPHAP", "processing", "Thẩm định", 222.0, 1102.0, 0.0, "late", False),
        # Tue 09:00 → Wed 10:00: 2.5 + 3.5 + 3 = 9 of 24.
        ("LEADER", "processing", "Ký", 9.0, 25.0, 0.0, "early", False),
        # Wed 10:00 → Thu 08:00: 1.5 + 3.5 + 1.
        ("LEADER", "pickup", "Ký", 6.0, 22.0, 0.0, None, False),
        ("RETURN", "closed", "Trả", 0.0, 0.0, 0.0, None, False)]


def test_a_replay_and_the_migration_backfill_rebuild_the_same_stays(app, client,
                                                                    office: Office):
    d = intake(client, office, nov(5, 8))
    post(client, office, d["tracking_number"], SUPPLEMENT_CASE[:4], who="admin")
    other = intake(client, office, nov(6, 8))
    post(client, office, other["tracking_number"], SUPPLEMENT_CASE[4:5])
    expected = stays(app, d["code"]), stays(app, other["code"])
    assert expected[0][-1][-1] is True  # still open at LEADER
    carry = sa.select(Dossier.id, Dossier.stay_position, Dossier.step_charged_hours) \
        .order_by(Dossier.id)
    with app.app_context():
        kept = db.session.execute(carry).all()
    # Where the fold stands: d's open stay is charged to Ký (3) with nothing charged before.
    assert [(r.stay_position, r.step_charged_hours) for r in kept] == [(3, 0), (3, 0)]
    with app.app_context():
        refresh_state(db.session.scalars(sa.select(Dossier).where(Dossier.code == d["code"]))
                      .one())
        db.session.commit()
    assert (stays(app, d["code"]), stays(app, other["code"])) == expected
    backfill = migration("0011").backfill
    with app.app_context():
        db.session.execute(sa.delete(Stay))
        db.session.execute(sa.update(Dossier).values(stay_position=None, step_charged_hours=0))
        db.session.commit()
        with db.engine.begin() as connection:
            assert backfill(connection) == len(expected[0]) + len(expected[1])
            # Then 0020 drops the open stays' rows: the dossiers hold them.
            connection.execute(sa.text(migration("0020").DROP_OPEN_STAYS))
        assert db.session.execute(carry).all() == kept
    assert (stays(app, d["code"]), stays(app, other["code"])) == expected


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.permutations(range(len(SUPPLEMENT_CASE))), st.integers(1, len(SUPPLEMENT_CASE)))
def test_any_arrival_order_and_batching_gives_the_same_stays(app, client, office: Office,
                                                             order: list[int], size: int):
    d = intake(client, office, nov(5, 8))
    rows = [SUPPLEMENT_CASE[i] for i in order]
    for first in range(0, len(rows), size):
        post(client, office, d["tracking_number"], rows[first:first + size], who="admin")
    assert stays(app, d["code"]) == SUPPLEMENT_STAYS


def rows_of(app, code: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The dossier's stays as the reports read them (:func:`every_stay`), and as a replay of
    its events makes them, every column but the id (the open stay is the replay's last)."""
    from app.offices.operations import station_office
    from app.procedures.operations import plan_of
    from app.tracking import operations as ops
    from app.tracking.models import ScanEvent
    from app.tracking.stays import replay_stays

    with app.app_context():
        dossier = db.session.scalars(sa.select(Dossier).where(Dossier.code == code)).one()
        s = every_stay()
        columns = [c.key for c in Stay.__table__.columns if c.key != "id"]
        stored = [dict(r._mapping) for r in db.session.execute(
            sa.select(*(getattr(s, c) for c in columns)).where(s.dossier_id == dossier.id)
            .order_by(s.started_at, s.event_uuid))]
        events = db.session.scalars(dossier.events.select()
                                    .options(sa.orm.joinedload(ScanEvent.station))).all()
        replayed = replay_stays(ops.initial_state(), map(ops.event_facts, events),
                                plan_of(dossier.procedure_version_id),
                                ops.working_hours_fn(ops._calendar_of(dossier)))
        assert all(stay.office_id == station_office(stay.station_id)
                   for stay in replayed.stays)
        expected = [ops._stay_row(dossier, stay) for stay in replayed.stays]
    return stored, expected


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(1, len(SUPPLEMENT_CASE) - 1).flatmap(
    lambda n: st.tuples(st.permutations(range(n)), st.integers(1, n))))
def test_the_open_stay_read_from_the_dossier_is_the_one_a_replay_ends_with(
        app, client, office: Office, arrival: tuple[list[int], int]):
    order, size = arrival
    d = intake(client, office, nov(5, 8))
    rows = [SUPPLEMENT_CASE[i] for i in order]
    for first in range(0, len(rows), size):
        post(client, office, d["tracking_number"], rows[first:first + size], who="admin")
    stored, expected = rows_of(app, d["code"])
    assert stored == expected
    assert stored[-1]["ended_at"] is None  # the file is still in the office's hands


def test_migration_0020_writes_the_open_stays_as_rows_and_back(app, client, office: Office):
    module = migration("0020")
    waiting = intake(client, office, nov(5, 8))
    post(client, office, waiting["tracking_number"], SUPPLEMENT_CASE[:2], who="admin")
    leader = intake(client, office, nov(5, 8))
    post(client, office, leader["tracking_number"], SUPPLEMENT_CASE[:5], who="admin")
    closed = intake(client, office, nov(5, 8))
    post(client, office, closed["tracking_number"], SUPPLEMENT_CASE, who="admin")
    codes = [d["code"] for d in (waiting, leader, closed)]
    before = [rows_of(app, code)[0] for code in codes]
    assert [rows[-1]["interval"] for rows in before] == ["supplement", "pickup", "closed"]
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(sa.text(module.RESTORE_OPEN_STAYS))  # the downgrade's rows
        columns = [c.key for c in Stay.__table__.columns if c.key != "id"]
        derived = open_stays().subquery()
        rows = [connection.execute(sa.select(*(table.c[c] for c in columns))
                                   .where(table.c.ended_at.is_(None))
                                   .order_by(table.c.dossier_id)).all()
                for table in (Stay.__table__, derived)]
        assert len(rows[0]) == 2
        assert rows[0] == rows[1]  # the open stays as the app reads them
        connection.execute(sa.text(module.DROP_OPEN_STAYS))  # the upgrade's
    assert [rows_of(app, code)[0] for code in codes] == before
