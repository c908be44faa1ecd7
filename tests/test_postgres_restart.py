"""PostgreSQL restarted during ingest: clients see 503 with Retry-After, retry, lose nothing.

The test runs its own throwaway cluster (initdb / pg_ctl on a free port, never the machine's),
the real ``tracker`` server on it, and a client posting scan batches the way the agent does
(retry the same batch, same event ids, until it is answered). Skipped only where no PostgreSQL
server binaries are installed.
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from agent_support import TrackerServer, free_port, wait_for

BINARIES = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))


class Cluster:
    """A private PostgreSQL cluster in a temporary directory, run as ``postgres`` under root."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="tracker-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            shutil.chown(self.root, "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--no-sync", "--no-instructions")
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/tracker"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.as_user, str(self.bindir / tool), *args], check=True,
                       capture_output=True, timeout=120)

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l",
                  str(self.root / "server.log"), "-w", "-t", "120", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "120", "stop")

    def create_database(self) -> None:
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres",
                             autocommit=True) as conn:
            conn.execute("CREATE DATABASE tracker")

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run([*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.data),
                            "-m", "immediate", "-w", "stop"], capture_output=True, timeout=120)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    if not BINARIES:
        pytest.skip("no PostgreSQL server binaries under /usr/lib/postgresql")
    pytest.importorskip("psycopg")
    made = Cluster(Path(BINARIES[-1]))
    try:
        made.start()
        made.create_database()
        yield made
    finally:
        made.destroy()


@dataclass
class Poster:
    """Posts batches like the agent: the same batch again until it is answered 200."""

    url: str
    token: str
    batches: list[list[dict[str, str]]]
    done: int = 0
    refusals: list[tuple[int, str | None]] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    connection_errors: int = 0

    def run(self) -> None:
        session = requests.Session()
        headers = {"Authorization": f"Bearer {self.token}"}
        for batch in self.batches:
            while True:
                try:
                    answer = session.post(f"{self.url}/api/v1/scans", json={"events": batch},
                                          headers=headers, timeout=60)
                except requests.ConnectionError:
                    self.connection_errors += 1
                    time.sleep(0.2)
                    continue
                if answer.status_code == 200:
                    statuses = {r["status"] for r in answer.json()["results"]}
                    if not statuses <= {"accepted", "duplicate"}:
                        self.unexpected.append(f"results {statuses}")
                    break
                retry_after = answer.headers.get("Retry-After")
                self.refusals.append((answer.status_code, retry_after))
                if answer.status_code != 503 or retry_after is None:
                    self.unexpected.append(f"{answer.status_code} {answer.text[:200]}")
                    return
                time.sleep(min(float(retry_after), 1.0))
            self.done += 1


def _recorded_ids(cluster: Cluster) -> list[str]:
    import psycopg

    with psycopg.connect(cluster.url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        rows = conn.execute("SELECT uuid FROM scan_event WHERE device_id IS NOT NULL").fetchall()
    return [str(u) for (u,) in rows]


def test_postgresql_restart_during_ingest_loses_and_doubles_nothing(
    tmp_path: Path, cluster: Cluster
) -> None:
    server = TrackerServer(tmp_path, database_url=cluster.url)
    server.env["FLASK_OUTAGE_RETRY_AFTER_SECONDS"] = "1"
    server.start()
    try:
        codes = [d["tracking_number"] for d in server.dossiers]
        # Scans of the last minutes, in order (a future scan would be refused bad_time).
        now = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=600)
        batches = [[{"id": str(uuid.uuid4()), "code": codes[(b + i) % len(codes)],
                     "scanned_at": (now + dt.timedelta(seconds=b * 10 + i)).isoformat(),
                     "station": server.station} for i in range(10)] for b in range(40)]
        poster = Poster(server.url, server.token, batches)
        thread = threading.Thread(target=poster.run, daemon=True)
        thread.start()
        wait_for(lambda: poster.done >= 5 or not thread.is_alive(), timeout=120)
        cluster.stop()
        # While the database is down, the client is answered 503 with Retry-After, and waits.
        wait_for(lambda: len(poster.refusals) >= 3 or not thread.is_alive(), timeout=120)
        done_while_down = poster.done
        cluster.start()
        wait_for(lambda: not thread.is_alive(), timeout=300, interval=0.2)
    finally:
        server.stop()
    assert poster.unexpected == []
    assert poster.done == len(batches) and done_while_down < len(batches)
    assert len(poster.refusals) >= 3
    assert {status for status, _ in poster.refusals} == {503}
    assert {retry for _, retry in poster.refusals} == {"1"}
    recorded = _recorded_ids(cluster)
    sent = [event["id"] for batch in batches for event in batch]
    assert len(recorded) == len(set(recorded)), "no scan recorded twice"
    assert sorted(recorded) == sorted(sent), "every scan recorded"
    log = (tmp_path / "server.log").read_text(errors="replace")
    assert "database unavailable" in log and "Traceback" not in log
