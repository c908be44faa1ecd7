"""Durable local outbox: every accepted scan is committed here before anything else happens.

One SQLite file in WAL mode with ``synchronous=FULL`` (a commit survives power loss, not only a
crash). Each scan gets a UUID (the server's idempotency key, reused on every retry) and a
per-device sequence number (``AUTOINCREMENT``: never reused, even after old rows are pruned), so
the server can order one device's scans even when the PC clock is wrong. The retry state
(``attempts``, ``next_attempt_at`` as wall-clock epoch seconds) lives in the row, so backoff
survives restarts.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PENDING = "pending"
DELIVERED = "delivered"
REJECTED = "rejected"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    code TEXT NOT NULL,
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    station TEXT,
    action TEXT,
    actor TEXT,
    destination TEXT,
    scanned_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'delivered', 'rejected')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL DEFAULT 0,
    sent_at TEXT,
    last_error TEXT,
    result_status TEXT,
    result_reason TEXT,
    result_message TEXT,
    result_json TEXT,
    done_at TEXT
);
CREATE INDEX IF NOT EXISTS outbox_status_seq ON outbox (status, seq);
"""


def now_iso() -> str:
    """The current time as ISO 8601 with the local UTC offset, millisecond precision."""
    return datetime.now(UTC).astimezone().isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class OutboxRow:
    """One queued scan, as stored."""

    seq: int
    event_id: str
    code: str
    kind: str
    source: str
    station: str | None
    action: str | None
    actor: str | None
    destination: str | None
    scanned_at: str
    status: str
    attempts: int
    next_attempt_at: float
    sent_at: str | None
    last_error: str | None
    result_status: str | None
    result_reason: str | None
    result_message: str | None
    result_json: str | None

    def event(self, sent_at: str) -> dict[str, Any]:
        """The JSON event sent to ``POST /api/v1/scans``."""
        event: dict[str, Any] = {
            "id": self.event_id,
            "code": self.code,
            "scanned_at": self.scanned_at,
            "sent_at": sent_at,
            "seq": self.seq,
        }
        for key in ("station", "action", "actor", "destination"):
            value = getattr(self, key)
            if value:
                event[key] = value
        return event

    @property
    def result(self) -> dict[str, Any] | None:
        """The server's answer for this scan, if any."""
        return json.loads(self.result_json) if self.result_json else None


_COLUMNS = ", ".join(OutboxRow.__dataclass_fields__)


@dataclass(frozen=True)
class OutboxStats:
    """What ``scanner-agent status`` shows."""

    pending: int
    delivered: int
    rejected: int
    oldest_pending_at: str | None
    next_attempt_at: float | None
    last_sync_at: str | None
    last_error: str | None
    last_error_at: str | None
    device_id: str


class Outbox:
    """The outbox file; safe to share between the threads of one process.

    Several processes may open the same file (``run`` plus ``status`` or ``test-scan``):
    SQLite serializes writers and ``busy_timeout`` makes them wait instead of failing.

    :param path: the SQLite file; its folder is created if needed.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            str(path), isolation_level=None, check_same_thread=False, timeout=30.0
        )
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA busy_timeout = 30000")
        mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(path) != ":memory:" and mode.lower() != "wal":
            msg = f"{path}: could not switch the outbox to WAL mode (got {mode})"
            raise RuntimeError(msg)
        self._db.execute("PRAGMA synchronous = FULL")
        with self._write() as db:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            columns = {row[1] for row in db.execute("PRAGMA table_info(outbox)")}
            if "destination" not in columns:  # an outbox written by an older agent
                db.execute("ALTER TABLE outbox ADD COLUMN destination TEXT")
            db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('device_id', ?)",
                (str(uuid.uuid4()),),
            )

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- writing -------------------------------------------------------------------------------

    def add(
        self,
        code: str,
        kind: str,
        source: str,
        *,
        scanned_at: str | None = None,
        station: str = "",
        action: str = "",
        actor: str = "",
        destination: str = "",
        event_id: str | None = None,
    ) -> OutboxRow:
        """Commit a new pending scan and return it (with its UUID and sequence number)."""
        event_id = event_id or str(uuid.uuid4())
        with self._write() as db:
            cur = db.execute(
                "INSERT INTO outbox (event_id, code, kind, source, station, action, actor,"
                " destination, scanned_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    event_id,
                    code,
                    kind,
                    source,
                    station or None,
                    action or None,
                    actor or None,
                    destination or None,
                    scanned_at or now_iso(),
                ),
            )
            seq = cur.lastrowid
        row = self.get(int(seq or 0))
        assert row is not None
        return row

    def mark_attempt(self, rows: Sequence[OutboxRow], sent_at: str) -> None:
        """Record, before the request goes out, that ``rows`` are being sent at ``sent_at``."""
        with self._write() as db:
            db.executemany(
                "UPDATE outbox SET attempts = attempts + 1, sent_at = ? WHERE seq = ?",
                [(sent_at, r.seq) for r in rows],
            )

    def schedule_retry(self, rows: Sequence[OutboxRow], error: str, not_before: float) -> None:
        """Keep ``rows`` pending, not to be sent again before ``not_before`` (epoch seconds)."""
        with self._write() as db:
            db.executemany(
                "UPDATE outbox SET next_attempt_at = ?, last_error = ? WHERE seq = ?",
                [(not_before, error, r.seq) for r in rows],
            )
            self._set_meta(db, "last_error", error)
            self._set_meta(db, "last_error_at", now_iso())

    def finish(self, outcomes: Iterable[tuple[OutboxRow, str, dict[str, Any]]]) -> None:
        """Record final answers: ``(row, DELIVERED or REJECTED, server result)``."""
        done_at = now_iso()
        with self._write() as db:
            db.executemany(
                "UPDATE outbox SET status = ?, result_status = ?, result_reason = ?,"
                " result_message = ?, result_json = ?, done_at = ?, last_error = NULL"
                " WHERE seq = ? AND status = 'pending'",
                [
                    (
                        status,
                        result.get("status"),
                        result.get("reason"),
                        result.get("message"),
                        json.dumps(result, ensure_ascii=False),
                        done_at,
                        row.seq,
                    )
                    for row, status, result in outcomes
                ],
            )

    def record_sync(self) -> None:
        """Note that the server answered (shown as "last sync")."""
        with self._write() as db:
            self._set_meta(db, "last_sync_at", now_iso())

    def record_error(self, error: str) -> None:
        """Note an error that is not tied to rows (shown as "last error")."""
        with self._write() as db:
            self._set_meta(db, "last_error", error)
            self._set_meta(db, "last_error_at", now_iso())

    def prune(self, keep_days: float = 30.0) -> int:
        """Delete delivered rows older than ``keep_days``; rejected rows are kept for review."""
        cutoff = datetime.fromtimestamp(time.time() - keep_days * 86400, UTC)
        with self._write() as db:
            cur = db.execute(
                "DELETE FROM outbox WHERE status = 'delivered' AND done_at < ?",
                (cutoff.isoformat(timespec="milliseconds"),),
            )
            return cur.rowcount

    @staticmethod
    def _set_meta(db: sqlite3.Connection, key: str, value: str) -> None:
        db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # -- reading -------------------------------------------------------------------------------

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[OutboxRow]:
        with self._lock:
            cur = self._db.execute(sql, params)
            return [OutboxRow(**dict(r)) for r in cur.fetchall()]

    def get(self, seq: int) -> OutboxRow | None:
        """One row by sequence number."""
        rows = self._rows(f"SELECT {_COLUMNS} FROM outbox WHERE seq = ?", (seq,))
        return rows[0] if rows else None

    def pending(self, limit: int) -> list[OutboxRow]:
        """The oldest ``limit`` pending rows, in sequence order (due or not)."""
        return self._rows(
            f"SELECT {_COLUMNS} FROM outbox WHERE status = 'pending' ORDER BY seq LIMIT ?",
            (limit,),
        )

    def rows(self, status: str | None = None, limit: int = 1_000_000) -> list[OutboxRow]:
        """Rows with ``status`` (all when ``None``), in sequence order."""
        if status is None:
            return self._rows(f"SELECT {_COLUMNS} FROM outbox ORDER BY seq LIMIT ?", (limit,))
        return self._rows(
            f"SELECT {_COLUMNS} FROM outbox WHERE status = ? ORDER BY seq LIMIT ?",
            (status, limit),
        )

    def recent_rejected(self, limit: int = 10) -> list[OutboxRow]:
        """The latest permanently rejected scans, newest first."""
        return self._rows(
            f"SELECT {_COLUMNS} FROM outbox WHERE status = 'rejected' ORDER BY seq DESC LIMIT ?",
            (limit,),
        )

    def meta(self, key: str) -> str | None:
        """A value from the meta table."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def stats(self) -> OutboxStats:
        """Queue depth, oldest pending scan, last sync and last error."""
        with self._lock:
            counts = dict(
                self._db.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status").fetchall()
            )
            head = self._db.execute(
                "SELECT scanned_at, next_attempt_at FROM outbox WHERE status = 'pending'"
                " ORDER BY seq LIMIT 1"
            ).fetchone()
        return OutboxStats(
            pending=counts.get(PENDING, 0),
            delivered=counts.get(DELIVERED, 0),
            rejected=counts.get(REJECTED, 0),
            oldest_pending_at=head[0] if head else None,
            next_attempt_at=head[1] if head else None,
            last_sync_at=self.meta("last_sync_at"),
            last_error=self.meta("last_error"),
            last_error_at=self.meta("last_error_at"),
            device_id=self.meta("device_id") or "",
        )
