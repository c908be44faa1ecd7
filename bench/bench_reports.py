"""Reports benchmark (issue 10): one province-year in PostgreSQL, loaded with COPY, then the
dwell and on-time reports timed for the whole year and for one office-month.

Generation (deterministic, ``--seed``): 50 offices of one province, four stations each
(desk, department, leader, return), six procedures with step plans by station kind (1 to 15
working days). Each dossier of 2025 is received at a random working instant and moves step by
step; each step takes its budget times a log-normal factor (median 0.75, so about one step in
five runs over); half of the files pass between two specialists of the department, 8% get a
supplement request there (1% a second one), 2% a fee request, 3% a scan at an off-plan
station (the archive); the result waits for the citizen at the return counter; dossiers
received near the year's end are still in progress (about 6.7 scans per dossier). The events
are folded by the app's own fold (:func:`app.tracking.stays.replay_stays`) into exactly the
dossier state and stays the ingest would store — whatever order events arrive in, the fold
stores the same (tests/test_stays.py), so late arrivals need no simulation here. Then ``COPY``
into ``dossier``, ``scan_event`` and ``stay``, in blocks of 10,000 dossiers (each with its own
seed), ``--jobs`` processes at a time; then ``VACUUM ANALYZE``. The events get a unique place
in their office's chain but no computed hashes (the reports do not read them; bench_ingest.py
measures the chain).

Measurement first builds the dwell report's stay rollup of the twelve months (timed on its
own: a report builds a past month the first time it needs it).

Measurement runs in a fresh process (``--measure``), so that its peak RSS is the report's:
each report is run 3 times and the best time kept.

    .venv/bin/python bench/bench_reports.py --scale 0.01     # 20,000 dossiers, ~150,000 events
    .venv/bin/python bench/bench_reports.py                  # 2,000,000 dossiers: hours to load

Targets: dwell and on-time for the whole year <= 2 s each, one office-month <= 100 ms, the
report process <= 500 MB. The database (``--db-name``, ``bench*``) is dropped and recreated.
"""

from __future__ import annotations

import argparse
import datetime as dt
import decimal
import math
import random
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
YEAR = 2025
OFFICES = 50
FULL_DOSSIERS = 2_000_000
GENESIS = "0" * 64

# code, name, duration, steps (name, station kind, budget hours), weight in the mix
PROCEDURES = [
    ("1.001193", "Đăng ký khai sinh", "1 working day",
     [("Tiếp nhận", "RECEPTION", 1), ("Thụ lý", "DEPARTMENT", 5), ("Ký", "LEADER", 1.5),
      ("Trả", "RETURN", 0.5)], 30),
    ("1.001022", "Chứng thực bản sao", "same day, cutoff 15:00",
     [("Tiếp nhận", "RECEPTION", 0.5), ("Chứng thực", "DEPARTMENT", 1), ("Ký", "LEADER", 0.5),
      ("Trả", "RETURN", 0)], 25),
    ("2.000908", "Đăng ký kết hôn", "5 working days",
     [("Tiếp nhận", "RECEPTION", 2), ("Thẩm định", "DEPARTMENT", 28), ("Ký", "LEADER", 8),
      ("Trả", "RETURN", 2)], 10),
    ("1.004227", "Cấp giấy phép kinh doanh hộ", "3 working days",
     [("Tiếp nhận", "RECEPTION", 2), ("Thẩm định", "DEPARTMENT", 16), ("Ký", "LEADER", 4),
      ("Trả", "RETURN", 2)], 15),
    ("1.009972", "Cấp giấy phép xây dựng", "15 working days",
     [("Tiếp nhận", "RECEPTION", 4), ("Thẩm định", "DEPARTMENT", 92), ("Ký", "LEADER", 24),
      ("Trả", "RETURN", 0)], 10),
    ("1.003503", "Đăng ký biến động đất đai", "10 working days",
     [("Tiếp nhận", "RECEPTION", 4), ("Thẩm định", "DEPARTMENT", 56), ("Ký", "LEADER", 16),
      ("Trả", "RETURN", 4)], 10),
]


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", type=float, default=1.0,
                   help="share of the 2,000,000 dossiers to generate (default 1)")
    p.add_argument("--seed", type=int, default=20250101)
    p.add_argument("--jobs", type=int, default=2, help="generating processes (default 2)")
    p.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    p.add_argument("--db-name", default="bench_reports")
    p.add_argument("--measure", action="store_true", help="only time the reports (internal)")
    p.add_argument("--keep-db", action="store_true")
    a = p.parse_args()
    if not a.db_name.startswith("bench"):
        p.error("--db-name must start with 'bench'")
    return a


def sqlalchemy_url(a: argparse.Namespace) -> str:
    return a.pg.replace("postgresql://", "postgresql+psycopg://", 1) + "/" + a.db_name


def make_app(a: argparse.Namespace) -> Any:
    from app import create_app

    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": sqlalchemy_url(a),
                       "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False})


# --- generation --------------------------------------------------------------------------------

def seed_reference(a: argparse.Namespace) -> dict[str, Any]:
    """Offices, stations, a specialist per office, the procedures; returns their ids."""
    from app.auth.models import Role
    from app.auth.operations import create_user
    from app.db import db
    from app.offices.models import StationKind
    from app.offices.operations import add_station, create_office
    from app.procedures.operations import StepSpec, create_procedure, plan_of

    app = make_app(a)
    with app.app_context():
        db.create_all()
        offices = []
        for n in range(OFFICES):
            office = create_office(f"000.{n:02d}.99.H99", f"UBND xã số {n}", province="H99")
            stations = {kind: add_station(office, f"H99-{n:02d}-{kind.name[:4]}",
                                          f"{kind.value} {n}", kind)
                        for kind in (StationKind.RECEPTION, StationKind.DEPARTMENT,
                                     StationKind.LEADER, StationKind.RETURN,
                                     StationKind.ARCHIVE)}
            user = create_user(f"cb{n:02d}", f"Cán bộ {n}", Role.SPECIALIST, office)
            offices.append((office, stations, user))
        versions = []
        for code, name, duration, steps, weight in PROCEDURES:
            version = create_procedure(code, name, duration, [
                StepSpec(step, decimal.Decimal(str(budget)), kind=StationKind[kind])
                for step, kind, budget in steps])
            versions.append((version, weight))
        db.session.commit()
        from app.offices.models import Station
        from app.offices.operations import calendar_for

        # Plain copies: the fold only reads a station's id, office and kind.
        return {
            "offices": [(o.id, o.code, {k.name: Station(id=s.id, office_id=s.office_id, kind=k,
                                                        code=s.code) for k, s in st.items()},
                         u.id) for o, st, u in offices],
            "versions": [(v.id, v.procedure_id, v.duration_amount, v.duration_unit,
                          v.same_day_cutoff, plan_of(v.id), w) for v, w in versions],
            "calendar": calendar_for(offices[0][0]),
            "app": app,
        }


def working_days(calendar: Any) -> list[dt.date]:
    day, out = dt.date(YEAR, 1, 1), []
    while day.year == YEAR:
        if calendar.is_working_day(day):
            out.append(day)
        day += dt.timedelta(days=1)
    return out


BLOCK = 10_000  # dossiers generated from one seed and COPYed together


def generate(a: argparse.Namespace, ref: dict[str, Any]) -> tuple[int, int, int]:
    """Fold and COPY the dossiers, events and stays in blocks of :data:`BLOCK` dossiers,
    ``--jobs`` processes at a time (each block has its own seed: the data does not depend on
    the number of jobs); returns their counts."""
    import multiprocessing

    global _REF
    _REF = (a, ref)
    total = int(FULL_DOSSIERS * a.scale)
    blocks = range((total + BLOCK - 1) // BLOCK)
    counts = [0, 0, 0]
    with multiprocessing.get_context("fork").Pool(a.jobs) as pool:
        for done in pool.imap_unordered(_generate_block, blocks):
            counts = [c + d for c, d in zip(counts, done, strict=True)]
            if counts[0] // 100_000 != (counts[0] - done[0]) // 100_000:
                print(f"  {counts[0]:,} dossiers ...", flush=True)
    with psycopg.connect(f"{a.pg}/{a.db_name}", autocommit=True) as conn:
        for table in COLUMNS:
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                         f"(SELECT max(id) FROM {table}))")
        conn.execute("VACUUM ANALYZE")  # as autovacuum would: index-only scans, statistics
    return counts[0], counts[1], counts[2]


_REF: tuple[argparse.Namespace, dict[str, Any]] | None = None
_CONNECTION: psycopg.Connection[Any] | None = None


def _generate_block(block: int) -> tuple[int, int, int]:
    """One block of dossiers, folded and COPYed in a transaction of its own (in a worker)."""
    from app.tracking.operations import (
        initial_state,
        moved_due_at,
        processing_hours,
        working_hours_fn,
    )
    from app.tracking.state import EventFacts
    from app.tracking.stays import replay_stays

    global _CONNECTION
    assert _REF is not None
    a, ref = _REF
    if _CONNECTION is None:
        _CONNECTION = psycopg.connect(f"{a.pg}/{a.db_name}", autocommit=False)
    rng = random.Random(a.seed * 100_003 + block)
    calendar = ref["calendar"]
    hours = working_hours_fn(lambda: calendar)
    days = working_days(calendar)
    end_of_data = dt.datetime(YEAR + 1, 1, 1, tzinfo=HCM)
    versions = ref["versions"]
    weights = [v[-1] for v in versions]
    first = block * BLOCK + 1
    last = min(first + BLOCK, int(FULL_DOSSIERS * a.scale) + 1)
    counts = [0, 0, 0]
    now = dt.datetime.now(dt.UTC)
    rows: dict[str, list[tuple[Any, ...]]] = {name: [] for name in COLUMNS}
    for dossier_id in range(first, last):
        office_id, office_code, stations, user_id = rng.choice(ref["offices"])
        version_id, procedure_id, amount, unit, cutoff, plan, _ = rng.choices(
            versions, weights)[0]
        day = rng.choice(days)
        minute = rng.randrange(0, 8 * 60 - 30)
        start = dt.datetime.combine(day, dt.time(7), HCM) + dt.timedelta(
            minutes=minute + (120 if minute >= 270 else 0))
        due = calendar.due_at(start, amount, unit, cutoff=cutoff)
        events = scan_plan(rng, calendar, start, plan, stations, user_id)
        facts = [EventFacts(uuid.UUID(int=rng.getrandbits(128)), at, action,
                            station, holder) for at, action, station, holder in events
                 if at < end_of_data]
        replayed = replay_stays(initial_state(), facts, plan, hours)
        s = replayed.state
        code = f"{office_code}-{start:%y%m%d}-{dossier_id:07d}"
        rows["dossier"].append((
            dossier_id, code, f"{dossier_id:012d}", version_id, office_id, office_id,
            stations["RECEPTION"].id, "Người nộp", "nguoi nop", "", "", "", "", "[]", 1, "", "",
            False, start, due, moved_due_at(due, s.paused_hours, calendar), s.status.name,
            s.station_id, s.holder_id, s.plan_position, s.paused_since, s.last_event_at,
            s.last_event_uuid, s.paused_hours, s.supplement_count, s.awaiting_supplement,
            s.awaiting_payment, s.finished_at, s.returned_at, None,
            replayed.log.open_position, replayed.log.charged_to(s.plan_position),
            processing_hours(replayed.stays), "0" * 16, "0" * 64, now))
        for n, f in enumerate(facts):
            # A unique place in the office's chain (the hashes are not computed: the reports
            # do not read them; bench_ingest measures the chain).
            rows["scan_event"].append((
                f.uuid, dossier_id, f.station.id, f.action.name, f.actor_id, "", code, "",
                f.at, f.at, f.at, replayed.flags[f.uuid], f.station.office_id,
                dossier_id * 32 + n, GENESIS, GENESIS))
        for stay in replayed.stays:
            if stay.ended_at is None:
                continue  # the open stay has no row: it is the dossier's state
            step = stay.step
            rows["stay"].append((
                dossier_id, stay.event_uuid, procedure_id, stay.office_id,
                stay.station_id, stay.holder_id, step.position if step else None,
                step.name if step else None, step.budget_hours if step else None,
                stay.interval, stay.started_at, stay.ended_at, stay.working_hours,
                stay.calendar_hours, stay.paused_hours, stay.verdict,
                stay.snapshot.supplement_count, stay.snapshot.paused_hours,
                stay.snapshot.paused_since, stay.snapshot.finished_at))
        counts[0] += 1
        counts[1] += len(facts)
        counts[2] += sum(stay.ended_at is not None for stay in replayed.stays)
    with _CONNECTION.cursor() as cur:
        for name, cols in COLUMNS.items():  # one COPY at a time per connection
            with cur.copy(f"COPY {name} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in rows[name]:
                    copy.write_row(row)
    _CONNECTION.commit()
    return counts[0], counts[1], counts[2]


COLUMNS = {
    "dossier": ["id", "code", "tracking_number", "procedure_version_id", "receiving_office_id",
                "competent_office_id", "reception_station_id", "applicant_name",
                "applicant_name_folded", "applicant_phone", "applicant_id_number",
                "applicant_address", "applicant_email", "documents", "copies", "return_method",
                "note", "upstream", "received_at", "base_due_at", "due_at", "status",
                "current_station_id", "current_holder_id", "plan_position", "paused_since",
                "last_event_at", "last_event_uuid", "paused_hours", "supplement_count",
                "awaiting_supplement", "awaiting_payment", "finished_at", "returned_at",
                "sent_to_office_id", "stay_position", "step_charged_hours", "processing_hours",
                "lookup_nonce", "lookup_secret_hash", "created_at"],
    "scan_event": ["uuid", "dossier_id", "station_id", "action", "actor_id", "actor_raw",
                   "code_scanned", "note", "scanned_at", "received_at", "corrected_at",
                   "flag", "office_id", "chain_seq", "prev_hash", "row_hash"],
    "stay": ["dossier_id", "event_uuid", "procedure_id", "office_id", "station_id",
             "holder_id", "plan_position", "step_name", "budget_hours", "interval",
             "started_at", "ended_at", "working_hours", "calendar_hours", "paused_hours",
             "verdict", "dossier_supplement_count", "dossier_paused_hours",
             "dossier_paused_since", "dossier_finished_at"],
}


def scan_plan(rng: random.Random, calendar: Any, start: dt.datetime, plan: Any,
              stations: dict[str, Any], user_id: int) -> list[tuple[Any, ...]]:
    """The scans of one dossier: (time, action, station, holder)."""
    from app.tracking.models import ScanAction as A

    def later(at: dt.datetime, budget: float) -> dt.datetime:
        factor = math.exp(rng.gauss(math.log(0.75), 0.6))
        worked = max(budget, 0.25) * factor
        return calendar.add_working_time(at, dt.timedelta(hours=worked))

    events = [(start, A.RECEIVE, stations["RECEPTION"], user_id)]
    at = later(start, float(plan[0].budget_hours))
    if rng.random() < 0.03:
        events.append((at, A.TRANSFER_IN, stations["ARCHIVE"], user_id))
        at = later(at, 1)
    for step in plan[1:]:
        station = stations[step.station_kind.name]
        budget = float(step.budget_hours)
        events.append((at, A.TRANSFER_IN, station, user_id))
        if step.station_kind.name == "RETURN":
            # The result waits for the citizen (not processing time).
            at = later(at, 12)
            events.append((at, A.RETURNED, station, user_id))
            break
        if step.station_kind.name == "DEPARTMENT":
            if rng.random() < 0.5:  # handed to a second specialist of the department
                at = later(at, budget / 2)
                events.append((at, A.TRANSFER_IN, station, user_id))
            for _ in range(2 if rng.random() < 0.01 else 1 if rng.random() < 0.08 else 0):
                at = later(at, budget / 3)
                events.append((at, A.REQUEST_SUPPLEMENT, station, user_id))
                at = later(at, 16)
                events.append((at, A.SUPPLEMENT_RECEIVED, station, user_id))
        at = later(at, budget)
        if step.station_kind.name == "LEADER":
            events.append((at, A.RESULT_READY, station, user_id))
            if rng.random() < 0.02:
                at = later(at, 1)
                events.append((at, A.REQUEST_PAYMENT, station, user_id))
                at = later(at, 8)
                events.append((at, A.PAYMENT_RECEIVED, station, user_id))
            at = later(at, 6)
    return events


# --- measurement -------------------------------------------------------------------------------

def measure(a: argparse.Namespace) -> None:
    from app.analytics import reports
    from app.db import db
    from app.offices.models import Office
    from app.tracking import rollup
    from app.tracking.models import StayRollup

    app = make_app(a)
    with app.app_context():
        now = dt.datetime.now(dt.UTC)
        year = (dt.datetime(YEAR, 1, 1, tzinfo=HCM), dt.datetime(YEAR + 1, 1, 1, tzinfo=HCM))
        month = (dt.datetime(YEAR, 11, 1, tzinfo=HCM), dt.datetime(YEAR, 12, 1, tzinfo=HCM))
        office = db.session.scalar(sa.select(Office.id).order_by(Office.id).limit(1))
        # The dwell report builds a month's stay rollup the first time it needs it; here all
        # of the year's at once, timed on their own (the reports below read them built).
        began = time.perf_counter()
        rollup.ensure_built(rollup.whole_months(*year, HCM))
        db.session.commit()
        print(f"stay rollup of the 12 months built: {time.perf_counter() - began:,.1f} s "
              f"({db.session.scalar(sa.select(sa.func.count()).select_from(StayRollup)):,} "
              "rows)", flush=True)
        cases = [
            ("dwell, whole year, by step", reports.dwell, year, None, "step", "766"),
            ("on time 766, whole year", reports.ontime, year, None, None, "766"),
            ("on time resolved, whole year", reports.ontime, year, None, None, "resolved"),
            ("dwell, one office-month, by step", reports.dwell, month, {office}, "step", "766"),
            ("on time 766, one office-month", reports.ontime, month, {office}, None, "766"),
        ]
        for label, report, (start, end), offices, by, formula in cases:
            query = reports.ReportQuery(start=start, end=end, now=now,
                                        offices=frozenset(offices) if offices else None,
                                        by=by, formula=formula)
            best = math.inf
            for _ in range(3):
                began = time.perf_counter()
                table = report(query)
                best = min(best, time.perf_counter() - began)
                db.session.expunge_all()
            print(f"{label}: {best * 1000:,.0f} ms ({len(table.rows)} rows)", flush=True)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"report process peak RSS: {rss:,.0f} MB")


def main() -> None:
    a = parse()
    if a.measure:
        measure(a)
        return
    with psycopg.connect(f"{a.pg}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{a.db_name}"')
        conn.execute(f'CREATE DATABASE "{a.db_name}"')
    try:
        began = time.perf_counter()
        ref = seed_reference(a)
        with ref["app"].app_context():
            dossiers, events, stays = generate(a, ref)
        print(f"loaded {dossiers:,} dossiers, {events:,} events, {stays:,} stays in "
              f"{time.perf_counter() - began:,.0f} s (scale {a.scale})", flush=True)
        subprocess.run([sys.executable, __file__, "--measure", "--db-name", a.db_name,
                        "--pg", a.pg], check=True)
    finally:
        if not a.keep_db:
            with psycopg.connect(f"{a.pg}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{a.db_name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
