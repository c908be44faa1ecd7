"""Scan-ingest benchmark (issue 2): ``POST /api/v1/scans`` under gunicorn on PostgreSQL.

Measures, in one run and on one freshly created database:

(a) single-event ingest: 16 clients (threads, one ``requests.Session`` each), one event per
    request, each client moving its own slice of the dossiers station by station;
(b) batch ingest: 16 clients, 100-event batches (100 different dossiers per batch);
(c) baseline: single-row INSERTs into ``bench_raw_scan``, a scratch table shaped like
    ``scan_event`` (same columns, indexes, unique and foreign keys), from 16 threads with one
    autocommit psycopg connection each, every row its own transaction;
(d) baseline: ``executemany`` of the same rows, 100 rows per transaction, 16 threads.

Targets: (a) >= 25% of (c) with p99 <= 30 ms; (b) >= 50% of (d).

The baselines get at least as many rows as the server phases (more when the server phases
are short, for a stable rate); a server phase stops after ``--max-seconds`` when slower.
Besides rates and latencies it reports the CPU the gunicorn processes spent per event,
which, unlike the rates, hardly depends on what else runs on the machine.

gunicorn: ``sync:4`` (4 sync workers: two per core, so a worker waiting on PostgreSQL leaves
the core to another) and ``gthread:2:8`` (one process per core, 8 threads each, so all 16
clients are served at once without queueing in the listen backlog). Other shapes can be
tried with ``--server``; on 2 cores they all end CPU-bound (see bench/RESULTS.md).

This is a script, not a test. It drops and recreates the database ``bench_ingest`` (by
default), seeds the demo office, creates dossiers through the API, starts gunicorn on
127.0.0.1, measures, stops gunicorn and drops the database again (also on Ctrl-C, SIGTERM or
error)::

    .venv/bin/python bench/bench_ingest.py            # full run, about 4 minutes
    .venv/bin/python bench/bench_ingest.py --quick    # smoke run, about a minute
    .venv/bin/python bench/bench_ingest.py --server sync:4 --server gthread:2:8

Exit status 0 when every target is met, 1 when one is missed.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PROCEDURE = "1.001193"
# A dossier walks these stations in turn (the first three follow the procedure's plan).
ROUTE = ("TP-TUPHAP", "TP-LEADER", "TP-RETURN", "TP-ARCHIVE", "TP-DIACHINH")
SCRATCH = "bench_raw_scan"
SINGLE_P99_MS = 30.0
SINGLE_RATIO = 0.25
BATCH_RATIO = 0.50


# --- configuration ----------------------------------------------------------------------------

@dataclass(frozen=True)
class ServerSpec:
    """A gunicorn configuration: ``sync:4`` or ``gthread:2:8`` (workers, threads)."""

    kind: str
    workers: int
    threads: int = 1

    @classmethod
    def parse(cls, text: str) -> ServerSpec:
        parts = text.split(":")
        if parts[0] not in ("sync", "gthread") or len(parts) not in (2, 3):
            msg = f"server spec {text!r}: use sync:WORKERS or gthread:WORKERS:THREADS"
            raise argparse.ArgumentTypeError(msg)
        threads = int(parts[2]) if len(parts) == 3 else 1
        if parts[0] == "sync" and threads != 1:
            raise argparse.ArgumentTypeError("sync workers have one thread each")
        return cls(parts[0], int(parts[1]), threads)

    @property
    def label(self) -> str:
        if self.kind == "sync":
            return f"{self.workers} sync workers"
        return f"{self.workers} gthread workers x {self.threads} threads"

    def argv(self) -> list[str]:
        args = ["-w", str(self.workers), "-k", self.kind]
        if self.kind == "gthread":
            args += ["--threads", str(self.threads)]
        return args


@dataclass(frozen=True)
class Config:
    db_name: str
    pg_url: str  # libpq form, without a database name
    port: int
    clients: int
    dossiers: int
    single_events: int
    batches_per_client: int
    batch_size: int
    warmup_events: int
    max_seconds: float
    raw_single_rows: int
    raw_batch_rows: int
    servers: tuple[ServerSpec, ...]
    keep_db: bool
    compare: str | None = None  # a git revision measured beside the working tree
    rounds: int = 3  # A/B rounds of the comparison
    bare: bool = False  # also measure a bare Flask endpoint doing one INSERT
    tree: Path = ROOT  # the code the server runs

    def conninfo(self, db_name: str | None = None) -> str:
        return f"{self.pg_url}/{db_name or self.db_name}"

    @property
    def sqlalchemy_url(self) -> str:
        return self.conninfo().replace("postgresql://", "postgresql+psycopg://", 1)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def batch_events(self) -> int:
        return self.clients * self.batches_per_client * self.batch_size


def parse_args(argv: Sequence[str] | None = None) -> Config:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="a short smoke run")
    p.add_argument("--db-name", default="bench_ingest",
                   help="database to DROP and recreate, named bench* (default: bench_ingest)")
    p.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432",
                   help="PostgreSQL server, without database name")
    p.add_argument("--port", type=int, default=8765, help="gunicorn port on 127.0.0.1")
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--dossiers", type=int, default=None, help="default 2000 (quick: 400)")
    p.add_argument("--single-events", type=int, default=None,
                   help="single-event requests in total (default 4000, quick: 800)")
    p.add_argument("--batches-per-client", type=int, default=None,
                   help="100-event batches per client (default 10, quick: 2)")
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--max-seconds", type=float, default=None,
                   help="stop a server load phase after this long (default 30, quick: 15)")
    p.add_argument("--raw-rows", type=int, default=None,
                   help="at least this many rows per raw single-INSERT baseline, and 4x as "
                        "many for executemany (default 16000, quick: 4000); the baselines "
                        "are fast, so they get more rows than the server phases for a "
                        "stable rate")
    p.add_argument("--server", dest="servers", action="append", type=ServerSpec.parse,
                   help="gunicorn config KIND:WORKERS[:THREADS], repeatable "
                        "(default: sync:4 and gthread:2:8; quick: sync:4)")
    p.add_argument("--keep-db", action="store_true", help="leave the database for inspection")
    p.add_argument("--compare", metavar="REV", default=None,
                   help="also run the server of git revision REV (git archive into a temp "
                        "folder, its own database <db-name>_base and port) beside the working "
                        "tree's, with the first --server, and compare their server CPU per "
                        "event over alternating rounds in the same run")
    p.add_argument("--rounds", type=int, default=3,
                   help="A/B rounds with --compare, the order alternating (default 3)")
    p.add_argument("--bare", action="store_true",
                   help="also measure a bare Flask endpoint doing one INSERT (bench/"
                        "bare_insert_app.py) under the first --server: the floor of a request")
    a = p.parse_args(argv)
    if not a.db_name.startswith("bench"):
        p.error("--db-name must start with 'bench' (the database is dropped)")
    quick = a.quick
    servers = a.servers or ([ServerSpec("sync", 4)] if quick else
                            [ServerSpec("sync", 4), ServerSpec("gthread", 2, 8)])
    single = a.single_events or (800 if quick else 4000)
    batches = a.batches_per_client or (2 if quick else 10)
    raw = a.raw_rows or (4000 if quick else 16000)
    return Config(
        db_name=a.db_name, pg_url=a.pg.rstrip("/"), port=a.port, clients=a.clients,
        dossiers=a.dossiers or (400 if quick else 2000), single_events=single,
        batches_per_client=batches, batch_size=a.batch_size,
        warmup_events=max(a.clients * 10, single // 10),
        max_seconds=a.max_seconds or (15.0 if quick else 30.0),
        raw_single_rows=max(single, raw),
        raw_batch_rows=max(a.clients * batches * a.batch_size, 4 * raw),
        servers=tuple(servers), keep_db=a.keep_db, compare=a.compare, rounds=a.rounds, bare=a.bare)


# --- measurements -----------------------------------------------------------------------------

@dataclass
class Phase:
    """One measured load: how many events in how long, and per-operation latencies (s)."""

    name: str
    events: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    notes: list[str] = field(default_factory=list)
    client_cpu: float = 0.0  # CPU seconds of this (load-generating) process
    server_cpu: float | None = None  # CPU seconds of gunicorn (master and workers)
    machine_busy: float = 0.0  # share of all CPUs busy during the phase (all processes)

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        """Latency percentile in milliseconds (nearest rank)."""
        if not self.latencies:
            return float("nan")
        data = sorted(self.latencies)
        rank = min(len(data), max(1, math.ceil(q / 100 * len(data))))
        return data[rank - 1] * 1000


def _busy_jiffies() -> tuple[int, int]:
    """(busy, total) CPU jiffies of the whole machine, from /proc/stat (0, 0 elsewhere)."""
    try:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
    except OSError:
        return 0, 0
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values) - idle, sum(values)


def process_tree_cpu(root: int) -> float:
    """CPU seconds (user + system) used so far by ``root`` and its live children."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # fields from the 3rd (state) on
        if int(entry.name) == root or int(fields[1]) == root:
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def run_threads(n: int, work: Callable[[int, threading.Barrier], None],
                stop: threading.Event, phase: Phase | None = None,
                server_pid: int | None = None) -> float:
    """Run ``work(i, barrier)`` in ``n`` threads; seconds from the common start to the last end.

    Each worker calls ``barrier.wait()`` when ready, so set-up (connecting) is not timed.
    """
    barrier = threading.Barrier(n + 1)
    errors: list[BaseException] = []

    def target(i: int) -> None:
        try:
            work(i, barrier)
        except BaseException as exc:  # reported below, after the others stop
            errors.append(exc)
            stop.set()
            barrier.abort()

    threads = [threading.Thread(target=target, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    try:
        barrier.wait(timeout=120)
    except threading.BrokenBarrierError:
        pass
    start = time.perf_counter()
    cpu0, (busy0, total0) = time.process_time(), _busy_jiffies()
    server0 = process_tree_cpu(server_pid) if server_pid else 0.0
    for t in threads:
        while t.is_alive():
            t.join(timeout=0.5)
    elapsed = time.perf_counter() - start
    if phase is not None:
        busy1, total1 = _busy_jiffies()
        phase.client_cpu = time.process_time() - cpu0
        if server_pid:
            phase.server_cpu = process_tree_cpu(server_pid) - server0
        phase.machine_busy = (busy1 - busy0) / (total1 - total0) if total1 > total0 else 0.0
    real = [e for e in errors if not isinstance(e, threading.BrokenBarrierError)]
    if real:
        raise RuntimeError(f"{len(real)} client thread(s) failed") from real[0]
    return elapsed


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


# --- database and server set-up ---------------------------------------------------------------

def recreate_database(cfg: Config) -> None:
    with psycopg.connect(cfg.conninfo("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{cfg.db_name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{cfg.db_name}"')


def drop_database(cfg: Config) -> None:
    with psycopg.connect(cfg.conninfo("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{cfg.db_name}" WITH (FORCE)')


def server_env(cfg: Config) -> dict[str, str]:
    env = dict(os.environ)
    # PYTHONPATH first, so a revision under --compare runs its own code, not the editable
    # install of the working tree; the per-token rate limit is lifted for the load.
    env.update(DATABASE_URL=cfg.sqlalchemy_url, FLASK_SECRET_KEY="bench-ingest-secret",
               PYTHONPATH=str(cfg.tree), FLASK_TOKEN_RATE_LIMIT='"1000000 per minute"',
               FLASK_TOKEN_EVENT_RATE_LIMIT='"100000000 per minute"')
    return env


def tracker(cfg: Config, *args: str) -> str:
    out = subprocess.run([str(BIN / "python"), "-c", "from app.cli import main; main()", *args],
                         cwd=cfg.tree, env=server_env(cfg), check=True, capture_output=True,
                         text=True, timeout=300)
    return out.stdout


def create_scratch_table(cfg: Config) -> None:
    """``bench_raw_scan``: scan_event's columns, indexes, unique and foreign keys."""
    with psycopg.connect(cfg.conninfo(), autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {SCRATCH}")
        conn.execute(f"DROP SEQUENCE IF EXISTS {SCRATCH}_id_seq")
        conn.execute(f"CREATE TABLE {SCRATCH} (LIKE scan_event INCLUDING CONSTRAINTS "
                     "INCLUDING INDEXES)")
        conn.execute(f"CREATE SEQUENCE {SCRATCH}_id_seq OWNED BY {SCRATCH}.id")
        conn.execute(f"ALTER TABLE {SCRATCH} ALTER COLUMN id "
                     f"SET DEFAULT nextval('{SCRATCH}_id_seq')")
        columns = {r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'scan_event'")}
        if "chain_seq" in columns:
            # The hash chain's columns (migration 0012) get filler defaults: the baseline
            # writes a row of the same shape, without the chain's lock and hashing.
            row = conn.execute("SELECT office_id FROM station WHERE code = %s",
                               [ROUTE[0]]).fetchone()
            assert row is not None
            conn.execute(f"CREATE SEQUENCE {SCRATCH}_chain_seq OWNED BY {SCRATCH}.chain_seq")
            conn.execute(f"ALTER TABLE {SCRATCH} "
                         f"ALTER COLUMN chain_seq SET DEFAULT nextval('{SCRATCH}_chain_seq'), "
                         f"ALTER COLUMN office_id SET DEFAULT {int(row[0])}, "
                         "ALTER COLUMN prev_hash SET DEFAULT repeat('0', 64), "
                         "ALTER COLUMN row_hash SET DEFAULT repeat('0', 64)")
        fks = conn.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                           "WHERE conrelid = 'scan_event'::regclass AND contype = 'f'").fetchall()
        for name, definition in fks:
            conn.execute(f"ALTER TABLE {SCRATCH} ADD CONSTRAINT "
                         f"{name.replace('scan_event', SCRATCH)} {definition}")


def analyze(cfg: Config) -> None:
    """Give the planner statistics: autovacuum is off on these machines, and without them
    the batch duplicate check (``uuid IN (...)``) is planned as a sequential scan."""
    with psycopg.connect(cfg.conninfo(), autocommit=True) as conn:
        conn.execute("ANALYZE")


@contextmanager
def export_revision(rev: str) -> Iterator[Path]:
    """The files of git revision ``rev`` in a temporary folder (removed on the way out)."""
    with tempfile.TemporaryDirectory(prefix="bench-rev-") as tmp:
        archive = subprocess.run(["git", "archive", "--format=tar", rev], cwd=ROOT,
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        yield Path(tmp)


@contextmanager
def gunicorn(cfg: Config, spec: ServerSpec,
             target: str = "app:create_app()") -> Iterator[subprocess.Popen[bytes]]:
    """A gunicorn master on 127.0.0.1:port, stopped (by its pid) on the way out."""
    log = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log", delete=False)
    proc = subprocess.Popen(
        [str(BIN / "gunicorn"), *spec.argv(), "-b", f"127.0.0.1:{cfg.port}",
         "--backlog", "256", "--timeout", "60", "--log-level", "warning", target],
        cwd=cfg.tree, env=server_env(cfg), stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {proc.returncode}; see {log.name}")
            try:
                if requests.get(f"{cfg.base_url}/health", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not answer /health within 60 s")
            time.sleep(0.2)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        log.close()
        failure = sys.exc_info()[0]
        if failure is None or issubclass(failure, KeyboardInterrupt):
            Path(log.name).unlink(missing_ok=True)
        else:
            print(f"gunicorn log kept: {log.name}", file=sys.stderr)


def create_dossiers(cfg: Config, token: str, stop: threading.Event) -> list[str]:
    """Receive ``cfg.dossiers`` dossiers through the API; their tracking numbers."""
    numbers: list[str] = []
    lock = threading.Lock()
    counts = split(cfg.dossiers, 8)

    def work(i: int, barrier: threading.Barrier) -> None:
        with requests.Session() as s:
            s.headers["Authorization"] = f"Bearer {token}"
            barrier.wait()
            for n in range(counts[i]):
                if stop.is_set():
                    return
                body = {"procedure": PROCEDURE,
                        "applicant": {"name": f"Nguyễn Văn A {i}-{n}"}}
                r = s.post(f"{cfg.base_url}/api/v1/dossiers", json=body, timeout=30)
                if r.status_code != 201:
                    raise RuntimeError(f"dossier intake: {r.status_code} {r.text[:300]}")
                with lock:
                    numbers.append(r.json()["tracking_number"])

    seconds = run_threads(8, work, stop)
    print(f"  created {len(numbers)} dossiers in {seconds:.1f} s "
          f"({len(numbers) / seconds:.0f}/s)", flush=True)
    return numbers


# --- load against the server ------------------------------------------------------------------

class Route:
    """Each client owns a disjoint slice of the dossiers and moves them station by station,
    so the scans of one dossier arrive in time order (the in-order fold, never a replay)."""

    def __init__(self, numbers: Sequence[str], clients: int) -> None:
        self.slices = [list(numbers[i::clients]) for i in range(clients)]
        self.cursor = [0] * clients
        self.visits: dict[str, int] = {}

    def take(self, client: int, n: int) -> list[str]:
        """The next ``n`` dossiers of this client's slice (distinct when n <= slice size)."""
        mine = self.slices[client]
        start = self.cursor[client]
        self.cursor[client] = start + n
        return [mine[(start + k) % len(mine)] for k in range(n)]

    def next_station(self, number: str) -> str:
        k = self.visits.get(number, 0)
        self.visits[number] = k + 1
        return ROUTE[k % len(ROUTE)]


ICT = dt.timezone(dt.timedelta(hours=7))


def make_events(route: Route, client: int, n: int) -> list[dict[str, Any]]:
    """``n`` scans of this client's next dossiers, scanned just now in order (1 us apart)."""
    now = dt.datetime.now(ICT)
    sent = now.isoformat()
    return [{"id": str(uuid.uuid4()), "code": number,
             "scanned_at": (now - dt.timedelta(microseconds=n - k)).isoformat(),
             "sent_at": sent, "station": route.next_station(number)}
            for k, number in enumerate(route.take(client, n))]


def post_load(cfg: Config, token: str, route: Route, name: str, per_client: Sequence[int],
              batch: int, stop: threading.Event, server_pid: int,
              max_seconds: float = 120.0) -> Phase:
    """``per_client[i]`` requests of ``batch`` events from each of ``len(per_client)`` clients,
    or fewer if ``max_seconds`` pass first."""
    phase = Phase(name)
    lock = threading.Lock()
    url = f"{cfg.base_url}/api/v1/scans"

    def work(i: int, barrier: threading.Barrier) -> None:
        lat: list[float] = []
        accepted = failures = 0
        notes: list[str] = []
        with requests.Session() as s:
            s.headers["Authorization"] = f"Bearer {token}"
            s.headers["Content-Type"] = "application/json"
            barrier.wait()
            deadline = time.perf_counter() + max_seconds
            for _ in range(per_client[i]):
                if stop.is_set() or time.perf_counter() > deadline:
                    break
                body = json.dumps({"events": make_events(route, i, batch)})
                t0 = time.perf_counter()
                r = s.post(url, data=body.encode(), timeout=60)
                lat.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    failures += batch
                    notes.append(f"HTTP {r.status_code}: {r.text[:200]}")
                    continue
                for res in r.json()["results"]:
                    if res["status"] == "accepted" and res.get("flag") != "before_receipt":
                        accepted += 1
                    else:
                        failures += 1
                        notes.append(json.dumps(res, ensure_ascii=False)[:200])
        with lock:
            phase.latencies += lat
            phase.events += accepted
            phase.failures += failures
            phase.notes += notes[:3]

    phase.seconds = run_threads(len(per_client), work, stop, phase, server_pid)
    return phase


# --- raw psycopg baselines --------------------------------------------------------------------

INSERT_SQL = (
    f"INSERT INTO {SCRATCH} (uuid, dossier_id, station_id, action, actor_id, actor_raw, "
    "device_id, user_id, code_scanned, seq, note, scanned_at, sent_at, received_at, "
    "corrected_at, flag) VALUES (%s, %s, %s, 'TRANSFER_IN', NULL, %s, %s, NULL, %s, NULL, '', "
    "%s, %s, %s, %s, NULL) RETURNING id")


@dataclass(frozen=True)
class RawRefs:
    dossiers: list[tuple[int, str]]  # (id, tracking number)
    stations: list[int]
    device_id: int


def load_refs(cfg: Config) -> RawRefs:
    with psycopg.connect(cfg.conninfo()) as conn:
        dossiers = conn.execute("SELECT id, tracking_number FROM dossier ORDER BY id").fetchall()
        stations = [r[0] for r in conn.execute(
            "SELECT id FROM station WHERE code = ANY(%s) ORDER BY id", [list(ROUTE)])]
        device = conn.execute("SELECT id FROM device ORDER BY id LIMIT 1").fetchone()
    assert device is not None
    return RawRefs([(int(a), str(b)) for a, b in dossiers], stations, int(device[0]))


def raw_rows(refs: RawRefs, client: int, clients: int, n: int, k0: int) -> list[tuple[Any, ...]]:
    now = dt.datetime.now(dt.UTC)
    rows = []
    for k in range(k0, k0 + n):
        dossier_id, number = refs.dossiers[(client + k * clients) % len(refs.dossiers)]
        station = refs.stations[k % len(refs.stations)]
        rows.append((uuid.uuid4(), dossier_id, station, f"device:{refs.device_id}",
                     refs.device_id, number, now, now, now, now))
    return rows


def raw_load(cfg: Config, refs: RawRefs, name: str, per_client: Sequence[int], batch: int,
             stop: threading.Event) -> Phase:
    """Each client: its own autocommit connection; one transaction per ``batch`` rows."""
    phase = Phase(name)
    lock = threading.Lock()

    def work(i: int, barrier: threading.Barrier) -> None:
        lat: list[float] = []
        with psycopg.connect(cfg.conninfo(), autocommit=True) as conn:
            cur = conn.cursor()
            barrier.wait()
            for r in range(per_client[i]):
                if stop.is_set():
                    break
                rows = raw_rows(refs, i, len(per_client), batch, r * batch)
                t0 = time.perf_counter()
                if batch == 1:
                    cur.execute(INSERT_SQL, rows[0])
                    cur.fetchone()
                else:
                    with conn.transaction():
                        cur.executemany(INSERT_SQL, rows, returning=True)
                lat.append(time.perf_counter() - t0)
        with lock:
            phase.latencies += lat
            phase.events += len(lat) * batch

    phase.seconds = run_threads(len(per_client), work, stop, phase)
    return phase


# --- report -----------------------------------------------------------------------------------

@dataclass
class Row:
    label: str
    phase: Phase
    baseline: Phase | None = None
    ratio_target: float | None = None
    p99_target: float | None = None

    @property
    def ratio(self) -> float | None:
        return self.phase.rate / self.baseline.rate if self.baseline else None

    @property
    def met(self) -> bool | None:
        if self.baseline is None or self.ratio_target is None or self.ratio is None:
            return None
        ok = self.ratio >= self.ratio_target and self.phase.failures == 0
        if self.p99_target is not None:
            ok = ok and self.phase.pct(99) <= self.p99_target
        return ok


def format_table(rows: Sequence[Row]) -> str:
    head = ("| load | events | s | events/s | p50 ms | p95 ms | p99 ms | server CPU ms/event "
            "| bench CPU | machine busy | vs baseline | target | met |")
    lines = [head, "|---|" + "---:|" * 9 + "---|---|---|"]
    for row in rows:
        p = row.phase
        ratio = f"{row.ratio:.1%}" if row.ratio is not None else "baseline"
        target = ""
        if row.ratio_target is not None:
            target = f">= {row.ratio_target:.0%}"
            if row.p99_target is not None:
                target += f", p99 <= {row.p99_target:.0f} ms"
        met = {None: "", True: "yes", False: "**no**"}[row.met]
        fail = f" ({p.failures} failed)" if p.failures else ""
        server = "" if p.server_cpu is None or not p.events else \
            f"{p.server_cpu / p.events * 1000:.2f}"
        lines.append(f"| {row.label} | {p.events}{fail} | {p.seconds:.2f} | {p.rate:,.0f} | "
                     f"{p.pct(50):.1f} | {p.pct(95):.1f} | {p.pct(99):.1f} | {server} | "
                     f"{p.client_cpu / p.seconds:.0%} | {p.machine_busy:.0%} | {ratio} | "
                     f"{target} | {met} |")
    return "\n".join(lines)


# --- main -------------------------------------------------------------------------------------

def setup_tree(cfg: Config, stop: threading.Event) -> tuple[str, Route]:
    """A fresh database for ``cfg.tree``'s code: schema, demo office, dossiers, statistics.
    Returns the device token and the route over the dossiers."""
    recreate_database(cfg)
    tracker(cfg, "db", "upgrade")
    demo = json.loads(tracker(cfg, "demo", "--json"))
    device_token = demo["devices"][0]["token"]
    reception = next(u["token"] for u in demo["users"] if u["role"] == "reception")
    with gunicorn(cfg, cfg.servers[0]):
        route = Route(create_dossiers(cfg, reception, stop), cfg.clients)
    analyze(cfg)
    return device_token, route


def measure_server(cfg: Config, spec: ServerSpec, token: str, route: Route,
                   stop: threading.Event) -> tuple[Phase, Phase]:
    """Warm up, then the single-event and the batch phase against one gunicorn shape."""
    singles = split(cfg.single_events, cfg.clients)
    batches = [cfg.batches_per_client] * cfg.clients
    with gunicorn(cfg, spec) as server:
        warm = post_load(cfg, token, route, "warm-up", split(cfg.warmup_events, cfg.clients), 1,
                         stop, server.pid)
        post_load(cfg, token, route, "warm-up batch", [1] * cfg.clients, cfg.batch_size, stop,
                  server.pid)
        if warm.failures:
            raise RuntimeError(f"warm-up scans failed: {warm.notes[:3]}")
        analyze(cfg)
        single = post_load(cfg, token, route, "single", singles, 1, stop, server.pid,
                           cfg.max_seconds)
        print(f"  single: {single.rate:,.0f} events/s, p99 {single.pct(99):.1f} ms", flush=True)
        batch = post_load(cfg, token, route, "batch", batches, cfg.batch_size, stop,
                          server.pid, cfg.max_seconds)
        print(f"  batch:  {batch.rate:,.0f} events/s", flush=True)
    return single, batch


@dataclass
class Side:
    """One code tree in an A/B comparison: its configuration, token, route and phases."""

    name: str
    cfg: Config
    token: str
    route: Route
    singles: list[Phase] = field(default_factory=list)
    batches: list[Phase] = field(default_factory=list)


def compare_rounds(sides: Sequence[Side], rounds: int, stop: threading.Event) -> None:
    """Both servers up at once (one port each); then ``rounds`` rounds of a single-event
    and a batch phase on each, the order alternating every round, so that a machine whose
    speed drifts (a shared VM) weighs on both sides alike."""
    spec = sides[0].cfg.servers[0]
    with contextlib.ExitStack() as stack:
        pids = {}
        for side in sides:
            server = stack.enter_context(gunicorn(side.cfg, spec))
            pids[side.name] = server.pid
            c = side.cfg
            warm = post_load(c, side.token, side.route, "warm-up",
                             split(c.warmup_events, c.clients), 1, stop, server.pid)
            if warm.failures:
                raise RuntimeError(f"{side.name}: warm-up scans failed: {warm.notes[:3]}")
            post_load(c, side.token, side.route, "warm-up batch", [1] * c.clients,
                      c.batch_size, stop, server.pid)
            analyze(c)
        for r in range(rounds):
            for side in (sides if r % 2 == 0 else list(reversed(sides))):
                c = side.cfg
                single = post_load(c, side.token, side.route, "single",
                                   split(c.single_events, c.clients), 1, stop, pids[side.name],
                                   c.max_seconds)
                batch = post_load(c, side.token, side.route, "batch",
                                  [c.batches_per_client] * c.clients, c.batch_size, stop,
                                  pids[side.name], c.max_seconds)
                side.singles.append(single)
                side.batches.append(batch)
                print(f"  round {r + 1} {side.name}: server CPU {cpu_ms(single):.2f} ms/event "
                      f"single, {cpu_ms(batch):.3f} ms/event in batches; {single.rate:,.0f} "
                      f"and {batch.rate:,.0f} events/s", flush=True)


def measure_bare(cfg: Config, refs: RawRefs, stop: threading.Event) -> Phase:
    """Single-row requests to a bare Flask endpoint doing one INSERT (the floor of a request)."""
    phase = Phase("bare")
    lock = threading.Lock()
    per_client = split(cfg.single_events, cfg.clients)
    env_cfg = dataclasses.replace(cfg, tree=ROOT / "bench")
    with gunicorn(env_cfg, cfg.servers[0], "bare_insert_app:app") as server:

        def work(i: int, barrier: threading.Barrier) -> None:
            lat: list[float] = []
            with requests.Session() as s:
                barrier.wait()
                for k in range(per_client[i]):
                    if stop.is_set():
                        break
                    row = raw_rows(refs, i, cfg.clients, 1, k)[0]
                    body = {"uuid": str(row[0]), "dossier_id": row[1], "station_id": row[2],
                            "device_id": row[4], "code": row[5]}
                    t0 = time.perf_counter()
                    r = s.post(f"{cfg.base_url}/insert", json=body, timeout=60)
                    lat.append(time.perf_counter() - t0)
                    if r.status_code != 200:
                        raise RuntimeError(f"bare insert: {r.status_code} {r.text[:200]}")
            with lock:
                phase.latencies += lat
                phase.events += len(lat)

        phase.seconds = run_threads(cfg.clients, work, stop, phase, server.pid)
    return phase


def compare_table(sides: Sequence[Side]) -> str:
    """Median server CPU per event and median rate of each side over the rounds, and their
    ratios to the last side's. The rate depends on everything the machine runs (PostgreSQL,
    the clients, other jobs); the server CPU per event far less."""
    def median(values: list[float]) -> float:
        return statistics.median(values) if values else float("nan")

    def figures(side: Side) -> tuple[float, float, float, float]:
        return (median([cpu_ms(p) for p in side.singles]),
                median([cpu_ms(p) for p in side.batches]),
                median([p.rate for p in side.singles]), median([p.rate for p in side.batches]))

    lines = ["", "| server (A/B rounds, median) | single: server CPU ms/event | "
             "batch: server CPU ms/event | single: events/s | batch: events/s | "
             "single CPU vs last | batch CPU vs last | single rate vs last | "
             "batch rate vs last |", "|---|" + "---:|" * 8]
    ref = figures(sides[-1])
    for side in sides:
        cpu_single, cpu_batch, rate_single, rate_batch = figures(side)
        lines.append(f"| {side.name} | {cpu_single:.2f} | {cpu_batch:.3f} | {rate_single:,.0f} "
                     f"| {rate_batch:,.0f} | {cpu_single / ref[0]:.2f}x | "
                     f"{cpu_batch / ref[1]:.2f}x | {rate_single / ref[2]:.0%} | "
                     f"{rate_batch / ref[3]:.0%} |")
    return "\n".join(lines)


def cpu_ms(phase: Phase) -> float:
    return phase.server_cpu / phase.events * 1000 if phase.server_cpu and phase.events else 0.0


def main(argv: Sequence[str] | None = None) -> int:
    cfg = parse_args(argv)
    stop = threading.Event()

    def on_term(signum: int, _frame: Any) -> None:
        stop.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)  # also when started in the background
    print(f"bench_ingest: db {cfg.db_name}, {cfg.clients} clients, {cfg.dossiers} dossiers, "
          f"{cfg.single_events} single events, {cfg.batches_per_client} x {cfg.batch_size}-event "
          f"batches per client ({cfg.batch_events} events); servers: "
          f"{', '.join(s.label for s in cfg.servers)}; {os.cpu_count()} CPUs", flush=True)
    busy0, total0 = _busy_jiffies()
    time.sleep(2.0)
    busy1, total1 = _busy_jiffies()
    background = (busy1 - busy0) / (total1 - total0) if total1 > total0 else 0.0
    print(f"background CPU load before starting: {background:.0%} of {os.cpu_count()} CPUs",
          flush=True)
    rows: list[Row] = []
    base_cfg = dataclasses.replace(cfg, db_name=f"{cfg.db_name}_base")
    try:
        print("setting up database ...", flush=True)
        device_token, route = setup_tree(cfg, stop)
        create_scratch_table(cfg)
        results: list[tuple[str, Phase, Phase]] = []
        for n, spec in enumerate(cfg.servers):
            print(f"gunicorn: {spec.label} ...", flush=True)
            single, batch = measure_server(cfg, spec, device_token, route, stop)
            results.append((spec.label, single, batch))
            if n == 0:
                # Baselines after the first server so they see the same table sizes; no
                # server process is running while they are measured.
                print("raw psycopg baselines ...", flush=True)
                refs = load_refs(cfg)
                raw_single = raw_load(cfg, refs, "raw insert",
                                      split(cfg.raw_single_rows, cfg.clients), 1, stop)
                raw_many = raw_load(cfg, refs, "raw executemany",
                                    split(cfg.raw_batch_rows // cfg.batch_size, cfg.clients),
                                    cfg.batch_size, stop)
                print(f"  INSERT: {raw_single.rate:,.0f} rows/s; executemany: "
                      f"{raw_many.rate:,.0f} rows/s", flush=True)
                if cfg.bare:
                    print("bare Flask endpoint, one INSERT per request ...", flush=True)
                    bare = measure_bare(cfg, refs, stop)
                    rows.append(Row(f"bare Flask POST, 1 INSERT/request, {spec.label}", bare))
        sides: list[Side] = []
        if cfg.compare:
            with export_revision(cfg.compare) as tree:
                base_cfg = dataclasses.replace(base_cfg, tree=tree, port=cfg.port + 1)
                print(f"revision {cfg.compare}: setting up database {base_cfg.db_name} ...",
                      flush=True)
                token, base_route = setup_tree(base_cfg, stop)
                sides = [Side("working tree", cfg, device_token, route),
                         Side(cfg.compare, base_cfg, token, base_route)]
                print(f"A/B, {cfg.rounds} rounds, {cfg.servers[0].label} each ...", flush=True)
                compare_rounds(sides, cfg.rounds, stop)

        rows.insert(0, Row("raw INSERT, 1 row/txn (psycopg)", raw_single))
        rows.insert(1, Row(f"raw executemany, {cfg.batch_size} rows/txn (psycopg)", raw_many))
        for label, single, batch in results:
            rows.append(Row(f"POST /scans, 1 event/request, {label}", single, raw_single,
                            SINGLE_RATIO, SINGLE_P99_MS))
            rows.append(Row(f"POST /scans, {cfg.batch_size} events/request, {label}",
                            batch, raw_many, BATCH_RATIO))
        print()
        print(format_table(rows))
        print()
        print(f"{cfg.clients} concurrent clients (threads, requests.Session / psycopg "
              f"connection each); latency per request (per row or per {cfg.batch_size}-row "
              "transaction for the baselines); ratio = events/s over the baseline's rows/s; "
              "server CPU = CPU of the gunicorn processes (not PostgreSQL) per accepted event; "
              "bench CPU = CPU of this load-generating process (100% = one core); machine "
              f"busy = share of all {os.cpu_count()} CPUs busy (every process) during the "
              f"phase; background load before the run: {background:.0%}.")
        if sides:
            print(compare_table(sides))
        for row in rows:
            for note in row.phase.notes[:3]:
                print(f"  {row.label}: {note}")
        return 0 if all(r.met is not False for r in rows) else 1
    except KeyboardInterrupt:
        stop.set()
        print("interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        stop.set()
        if not cfg.keep_db:
            for c in (cfg, base_cfg):
                try:
                    drop_database(c)
                except psycopg.Error as exc:
                    print(f"could not drop {c.db_name}: {exc}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
