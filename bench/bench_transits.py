"""Files-in-transit listing (issue 9 point 3): ``app.tracking.queries.in_transit`` on PostgreSQL.

The transit is stored on the dossier (``in_transit_since``, indexed), so the list reads the
dossiers in transit only, with their send event, whatever the number of dossiers; the age in
working hours is computed per row on the sending office's calendar.

This is a script, not a test. It drops and recreates the database ``bench_transits`` (by
default), creates 20 offices of one province, inserts ``--dossiers`` dossiers (each with its
intake scan) of which ``--in-transit`` end with a send to a neighbouring office, measures the
query (best and median of ``--repeat``) for the whole province and for one office, all and
overdue only, and drops the database again::

    .venv/bin/python bench/bench_transits.py
    .venv/bin/python bench/bench_transits.py --dossiers 200000 --in-transit 5000
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
import sqlalchemy as sa

OFFICES = 20


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    p.add_argument("--db-name", default="bench_transits")
    p.add_argument("--dossiers", type=int, default=100_000)
    p.add_argument("--in-transit", type=int, default=2_000)
    p.add_argument("--repeat", type=int, default=7)
    return p.parse_args(argv)


def recreate(args: argparse.Namespace, create: bool) -> None:
    with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.db_name}" WITH (FORCE)')
        if create:
            conn.execute(f'CREATE DATABASE "{args.db_name}"')


def seed(args: argparse.Namespace) -> None:
    from app.db import db
    from app.offices.models import StationKind
    from app.offices.operations import add_station, create_office
    from app.procedures.operations import StepSpec, create_procedure
    from app.tracking.models import Dossier, DossierStatus, ScanAction, ScanEvent

    offices, stations = [], []
    for n in range(OFFICES):
        office = create_office(f"000.00.{n:02d}.H12", f"UBND xã số {n}", province="H12")
        offices.append(office)
        stations.append(add_station(office, f"S{n:02d}-DESK", "Một cửa", StationKind.RECEPTION))
    version = create_procedure("1.001193", "Đăng ký khai sinh", "5 working days", [
        StepSpec("Tiếp nhận", 4, station=stations[0].code)])
    db.session.flush()
    base = dt.datetime(2026, 11, 2, 1, tzinfo=dt.UTC)
    dossiers: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    sent = set(random.Random(1).sample(range(args.dossiers), min(args.in_transit,
                                                                   args.dossiers)))
    for i in range(args.dossiers):
        at = base + dt.timedelta(minutes=7 * (i % 3000))
        k = i % OFFICES
        sending = i in sent
        intake, send = uuid.uuid4(), uuid.uuid4()
        sent_at = at + dt.timedelta(hours=1)
        dossiers.append({
            "id": i + 1, "code": f"000.00.{k:02d}.H12-261102-{i:06d}",
            "tracking_number": f"{i:012d}", "procedure_version_id": version.id,
            "receiving_office_id": offices[k].id, "competent_office_id": offices[k].id,
            "applicant_name": "Nguyễn Văn A", "documents": [], "received_at": at,
            "base_due_at": at + dt.timedelta(days=7), "due_at": at + dt.timedelta(days=7),
            "status": DossierStatus.IN_PROGRESS, "current_station_id": stations[k].id,
            "last_event_at": sent_at if sending else at,
            "last_event_uuid": send if sending else intake,
            "in_transit_since": sent_at if sending else None,
            "transit_to_office_id": offices[(k + 1) % OFFICES].id if sending else None,
            "lookup_nonce": "0" * 16, "lookup_secret_hash": "0" * 64})
        common = {"dossier_id": i + 1, "station_id": stations[k].id,
                  "code_scanned": dossiers[-1]["code"], "actor_raw": "", "note": "",
                  "destination_office_id": None}
        events.append(common | {"uuid": intake, "action": ScanAction.RECEIVE, "scanned_at": at,
                                "received_at": at, "corrected_at": at})
        if sending:
            events.append(common | {
                "uuid": send, "action": ScanAction.SEND, "scanned_at": sent_at,
                "received_at": sent_at, "corrected_at": sent_at,
                "destination_office_id": dossiers[-1]["transit_to_office_id"]})
    for table, rows in ((Dossier.__table__, dossiers), (ScanEvent.__table__, events)):
        for start in range(0, len(rows), 5000):
            db.session.execute(sa.insert(table), rows[start:start + 5000])
    db.session.commit()
    db.session.execute(sa.text("ANALYZE"))
    db.session.commit()


def timed(fn: Callable[[], int], repeat: int) -> tuple[float, float, int]:
    times, count = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        count = fn()
        times.append((time.perf_counter() - started) * 1000)
    return min(times), statistics.median(times), count


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from app import create_app
    from app.db import db
    from app.tracking.queries import alert_after, in_transit

    recreate(args, create=True)
    url = f"{args.pg.replace('postgresql://', 'postgresql+psycopg://')}/{args.db_name}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    try:
        with app.app_context():
            db.create_all()
            started = time.perf_counter()
            seed(args)
            print(f"seeded {args.dossiers} dossiers, {args.in_transit} in transit, "
                  f"{OFFICES} offices in {time.perf_counter() - started:.1f} s")
            now = dt.datetime(2026, 12, 1, 3, tzinfo=dt.UTC)
            one = [db.session.scalar(sa.text("SELECT min(id) FROM office"))]

            def run(offices: list[int] | None, older: dt.timedelta | None) -> Callable[[], int]:
                def call() -> int:
                    rows = len(in_transit(offices, now, older))
                    db.session.expunge_all()  # every run loads its rows afresh
                    return rows
                return call

            for name, offices, older in [("province, all", None, None),
                                         ("province, overdue", None, alert_after()),
                                         ("one office, all", one, None),
                                         ("one office, overdue", one, alert_after())]:
                best, median, count = timed(run(offices, older), args.repeat)
                print(f"in_transit {name:<20} {count:>6} rows  best {best:7.1f} ms  "
                      f"median {median:7.1f} ms")
            db.session.remove()
            db.engine.dispose()
    finally:
        recreate(args, create=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
