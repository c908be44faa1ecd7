"""Benchmark: time for the scanner agent to drain 10,000 queued scans into the real server.

A PostgreSQL-backed ``tracker`` server is started on a free port (database ``bench_agent``,
recreated), 10,000 scans are queued in a fresh outbox as after a day offline, and the agent's
:class:`scanner_agent.sync.Syncer` drains them with its default batch size. The server's
``scan_event`` table is then checked: every scan exactly once, in sequence order.

Baseline in the same run: one scan per request (batch size 1) on a sample, extrapolated.

Run: ``.venv/bin/python bench/bench_agent_drain.py`` (options: ``--scans``, ``--batch``,
``--server gunicorn``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scanner_agent.client import TrackerClient  # noqa: E402
from scanner_agent.config import AgentConfig  # noqa: E402
from scanner_agent.outbox import Outbox  # noqa: E402
from scanner_agent.sync import Syncer  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def recreate_database(name: str) -> str:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        con.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def start_server(url: str, tmp: Path, server: str) -> tuple[subprocess.Popen[bytes], str, dict]:
    env = dict(os.environ, DATABASE_URL=url)
    tracker = str(BIN / "tracker")
    subprocess.run([tracker, "db", "upgrade"], env=env, check=True, capture_output=True)
    demo = json.loads(
        subprocess.run(
            [tracker, "demo", "--json"], env=env, check=True, capture_output=True, text=True
        ).stdout
    )
    port = free_port()
    log = (tmp / "server.log").open("ab")
    if server == "gunicorn":
        cmd = [str(BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "app:create_app()"]
    else:
        cmd = [tracker, "run", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            requests.get(f"{base}/api/v1/stations", timeout=5)
            break
        except requests.RequestException:
            time.sleep(0.1)
    return proc, base, demo


def fill(outbox: Outbox, demo: dict, count: int) -> None:
    station = demo["devices"][0]["station"]
    codes = [d["tracking_number"] for d in demo["dossiers"]]
    for i in range(count):
        outbox.add(codes[i % len(codes)], "tracking_number", "bench", station=station)


class TimedClient(TrackerClient):
    """Counts the time spent waiting for the server (request, server work, answer)."""

    waited = 0.0

    def post_scans(self, events):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return super().post_scans(events)
        finally:
            self.waited += time.perf_counter() - started


def drain(outbox: Outbox, base: str, token: str, batch: int) -> tuple[float, int, float]:
    client = TimedClient(base, token, timeout=120)
    syncer = Syncer(outbox, client, batch_size=batch)
    started = time.perf_counter()
    requests_made = 0
    while outbox.stats().pending:
        report = syncer.sync_once()
        requests_made += 1
        if report.error:
            msg = f"drain failed: {report.error}"
            raise RuntimeError(msg)
    return time.perf_counter() - started, requests_made, client.waited


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scans", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=AgentConfig().batch_size)
    parser.add_argument("--baseline-sample", type=int, default=300)
    parser.add_argument("--server", choices=["tracker-run", "gunicorn"], default="tracker-run")
    parser.add_argument("--database", default="bench_agent")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-agent-drain-"))
    url = recreate_database(args.database)
    proc, base, demo = start_server(url, tmp, args.server)
    token = demo["devices"][0]["token"]
    try:
        with Outbox(tmp / "baseline.db") as box:
            fill(box, demo, args.baseline_sample)
            base_s, _, _ = drain(box, base, token, batch=1)
        with Outbox(tmp / "outbox.db") as box:
            t0 = time.perf_counter()
            fill(box, demo, args.scans)
            fill_s = time.perf_counter() - t0
            drain_s, batches, waited = drain(box, base, token, batch=args.batch)
            ids = [r.event_id.replace("-", "") for r in box.rows()]
        with psycopg.connect(f"{PG}/{args.database}") as con:
            # The server inserts a batch in its own order; arrival is what received_at says.
            rows = con.execute(
                "SELECT uuid, received_at FROM scan_event WHERE seq IS NOT NULL ORDER BY seq"
            ).fetchall()
    finally:
        proc.terminate()
        proc.wait(30)
    got = [str(u).replace("-", "") for u, _ in rows]
    main_ids = set(ids)
    in_main = [u for u in got if u in main_ids]
    received = [r for u, r in rows if str(u).replace("-", "") in main_ids]
    exactly_once = sorted(in_main) == sorted(ids) and len(in_main) == len(set(in_main))
    in_order = received == sorted(received)
    per_scan_base = base_s / args.baseline_sample
    extrapolated = per_scan_base * args.scans
    print(f"server: {args.server} on PostgreSQL ({args.database}); {args.scans} scans")
    print(f"queueing {args.scans} scans in the outbox (WAL, synchronous=FULL): {fill_s:.2f} s")
    print(
        f"agent drain, batch {args.batch}: {drain_s:.2f} s in {batches} requests "
        f"({args.scans / drain_s:.0f} scans/s); target <= 10 s: "
        f"{'MET' if drain_s <= 10 else 'NOT MET'}"
    )
    print(
        f"  of which waiting for the server: {waited:.2f} s; agent's own work (outbox reads, "
        f"fsynced status updates, JSON): {drain_s - waited:.2f} s"
    )
    print(
        f"baseline, one scan per request: {per_scan_base * 1000:.1f} ms/scan on "
        f"{args.baseline_sample} scans -> {extrapolated:.1f} s for {args.scans} (extrapolated)"
    )
    print(f"speed-up vs baseline: {extrapolated / drain_s:.1f}x")
    print(f"server check: exactly once {exactly_once}, in sequence order {in_order}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
