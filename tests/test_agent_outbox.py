"""Scanner agent: the durable SQLite outbox."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from agent_support import tracking_numbers

from scanner_agent.outbox import DELIVERED, PENDING, REJECTED, Outbox

WRITER = """
import sys
from scanner_agent.outbox import Outbox
box = Outbox(sys.argv[1])
i = 0
while True:
    row = box.add(f"{i:012d}", "tracking_number", "stress")
    print(row.seq, row.event_id, flush=True)
    i += 1
"""


def test_outbox_uses_wal_and_full_sync(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.db") as box:
        assert box._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        # 2 = FULL: a commit is on disk before add() returns, so power loss cannot undo it.
        assert box._db.execute("PRAGMA synchronous").fetchone()[0] == 2


def test_scans_get_unique_ids_and_increasing_sequence_numbers(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.db") as box:
        rows = [box.add(code, "tracking_number", "test") for code in tracking_numbers(5)]
        assert [r.seq for r in rows] == sorted({r.seq for r in rows})
        assert len({r.event_id for r in rows}) == 5
        assert all(r.status == PENDING and r.attempts == 0 for r in rows)
        event = rows[0].event("2026-11-22T10:00:00.000+07:00")
        assert event["id"] == rows[0].event_id and event["seq"] == rows[0].seq
        assert event["scanned_at"].endswith(("+00:00", "Z")) or "+" in event["scanned_at"]


def test_sequence_numbers_are_never_reused_after_pruning(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.db") as box:
        rows = [box.add(code, "tracking_number", "test") for code in tracking_numbers(3)]
        box.finish([(r, DELIVERED, {"status": "accepted"}) for r in rows])
        box._db.execute("UPDATE outbox SET done_at = '2000-01-01T00:00:00+00:00'")
        assert box.prune(keep_days=1) == 3
    with Outbox(tmp_path / "o.db") as box:
        assert box.add("261122000123", "tracking_number", "test").seq == rows[-1].seq + 1


def test_rejected_scans_are_kept_and_listed(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.db") as box:
        row = box.add("261122000123", "tracking_number", "test")
        box.finish([(row, REJECTED, {"status": "rejected", "reason": "unknown_code",
                                     "message": "no such dossier"})])  # fmt: skip
        box._db.execute("UPDATE outbox SET done_at = '2000-01-01T00:00:00+00:00'")
        box.prune(keep_days=1)
        [kept] = box.recent_rejected()
        assert kept.result_reason == "unknown_code"
        assert box.stats().rejected == 1 and box.stats().pending == 0


def test_retry_state_survives_reopening(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.db") as box:
        row = box.add("261122000123", "tracking_number", "test")
        box.mark_attempt([row], "2026-11-22T10:00:00.000+07:00")
        box.schedule_retry([row], "server down", time.time() + 600)
    with Outbox(tmp_path / "o.db") as box:
        [again] = box.pending(10)
        assert again.attempts == 1
        assert again.next_attempt_at > time.time() + 500
        assert again.sent_at == "2026-11-22T10:00:00.000+07:00"
        stats = box.stats()
        assert stats.last_error == "server down" and stats.pending == 1


def test_every_committed_scan_survives_kill_9(tmp_path: Path) -> None:
    """A writer killed with SIGKILL mid-stream loses nothing it reported as committed."""
    path = tmp_path / "o.db"
    for run in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        committed: list[list[str]] = []
        while len(committed) < 20 + run * 7:
            committed.append(proc.stdout.readline().split())
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        con = sqlite3.connect(path)
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = dict(con.execute("SELECT seq, event_id FROM outbox").fetchall())
        con.close()
        for seq, event_id in committed:
            assert stored[int(seq)] == event_id
    seqs = sorted(stored)
    assert seqs == list(range(1, len(seqs) + 1))
