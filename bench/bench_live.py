"""Live pages (issue 11 point 9): what a poll costs when nothing changed (304) and when a scan
arrived (the region's fragment rendered), for the work queue and the waiting-room board.

This is a script, not a test. It builds the app on a fresh SQLite file (or ``--database-url``,
whose tables it drops and recreates), seeds one office with ``--dossiers`` dossiers through
the API (a third held by the specialist, a tenth overdue, a tenth ready for pickup), logs the
specialist in, and times through the WSGI test client (no network) the best and median of
``--repeat`` requests::

    PYTHONPATH=$PWD .venv/bin/python bench/bench_live.py
    PYTHONPATH=$PWD .venv/bin/python bench/bench_live.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_live
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--database-url", default=None)
    p.add_argument("--dossiers", type=int, default=300)
    p.add_argument("--repeat", type=int, default=30)
    return p.parse_args(argv)


def timed(label: str, repeat: int, request: Callable[[], Any], status: int) -> None:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = request()
        times.append(time.perf_counter() - start)
        assert response.status_code == status, (label, response.status_code)
    print(f"{label:<44} {status}  {len(response.data):>7} B  best {min(times) * 1000:7.1f} ms"
          f"  median {statistics.median(times) * 1000:7.1f} ms")


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    from conftest import seed_office
    from pages_support import set_passwords
    from test_pages import log_in

    from app import create_app
    from app.db import db

    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/bench_live.db"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                      "RATELIMIT_ENABLED": False, "TESTING": True, "SCAN_MAX_AGE_DAYS": 3650})
    with app.app_context():
        db.drop_all()
        db.create_all()
    office = seed_office(app)
    set_passwords(app)
    client = app.test_client()
    start = time.perf_counter()
    now = dt.datetime.now(dt.UTC)
    for n in range(args.dossiers):
        received = now - dt.timedelta(days=12 if n % 10 == 1 else 0, hours=1)
        d = office.intake(client, received_at=received.isoformat(),
                          code=f"{office.code}-{received:%y%m%d}-{n:04d}")
        event = {"id": str(uuid.uuid4()), "code": d["tracking_number"],
                 "scanned_at": (received + dt.timedelta(minutes=5)).isoformat()}
        if n % 3 == 0:
            event |= {"station": "TUPHAP", "actor": "B-SPECIALIST"}
        elif n % 10 == 2:
            event |= {"station": "LEADER", "action": "result_ready"}
        else:
            event |= {"station": "TUPHAP"}
        client.post("/api/v1/scans", headers=office.headers(), json={"events": [event]})
    print(f"seeded {args.dossiers} dossiers in {time.perf_counter() - start:.1f} s on "
          f"{url.split(':')[0]}")

    log_in(client, "specialist")
    for path in ("/queue", f"/board/{office.code}"):
        etag = [client.get(path).headers["ETag"]]

        def unchanged(p: str = path, e: list[str] = etag) -> Any:
            response = client.get(p, headers={"X-Live": "1", "If-None-Match": e[0]})
            if response.status_code == 200:  # the minute turned: the token with it
                e[0] = response.headers["ETag"]
                response = client.get(p, headers={"X-Live": "1", "If-None-Match": e[0]})
            return response

        timed(f"{path} whole page", args.repeat, lambda p=path: client.get(p), 200)
        timed(f"{path} poll, nothing changed", args.repeat, unchanged, 304)
        timed(f"{path} poll, changed (fragment)", args.repeat,
              lambda p=path: client.get(p, headers={"X-Live": "1", "If-None-Match": '"x"'}),
              200)
    with app.app_context():
        db.session.remove()
        if args.database_url:
            db.drop_all()
        db.engine.dispose()


if __name__ == "__main__":
    main()
