"""Sending the outbox to the server in order, in batches, with persistent backoff.

Delivery is strictly in sequence order: the oldest pending scan is always in the next batch,
and nothing overtakes it while it waits for its retry time. Transient failures (network, 5xx,
401) keep the rows pending with exponential backoff and full jitter
(``sleep = random(0, min(cap, base * 2**attempts))``), stored in the rows. A whole-batch 4xx
(a broken envelope, or too large) halves the batch until the offending scan is alone, and only
that scan is rejected; a timeout also halves it. After each success the batch doubles again, up to
``batch_size``. Per-event answers ``accepted`` and ``duplicate`` count as delivered; ``rejected`` is
kept in the outbox and shown, never retried.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .client import AuthError, BatchRejected, RequestTimeout, TransientError
from .outbox import DELIVERED, REJECTED, Outbox, OutboxRow, now_iso

log = logging.getLogger(__name__)

ACCEPTED = "accepted"
DUPLICATE = "duplicate"
QUEUED = "queued"


class ScanPoster(Protocol):
    """What the syncer needs from :class:`scanner_agent.client.TrackerClient`."""

    def post_scans(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]: ...


#: Answer fields shown to the operator but not stored with the outbox row.
NOT_KEPT = frozenset({"actor_name"})


@dataclass(frozen=True)
class Outcome:
    """What became of one scan after a send attempt.

    :param status: ``accepted``, ``duplicate``, ``rejected`` (final) or ``queued`` (retry later).
    :param result: the server's result object, or ``{"message": <error>}`` when queued.
    """

    row: OutboxRow
    status: str
    result: dict[str, Any] = field(default_factory=dict)


def backoff_delay(
    attempts: int, base: float, cap: float, rng: Callable[[], float] = random.random
) -> float:
    """Full-jitter exponential backoff: uniform in ``[0, min(cap, base * 2**attempts))``."""
    ceiling = min(cap, base * (2 ** min(attempts, 62)))
    return ceiling * rng()


@dataclass
class SyncReport:
    """What one :meth:`Syncer.sync_once` call did."""

    sent: int = 0
    delivered: int = 0
    rejected: int = 0
    error: str | None = None
    wait: float | None = None


class Syncer:
    """Moves pending rows from the outbox to the server.

    :param on_outcomes: called after each attempt with what happened to each scan of the batch
        (used for operator feedback).
    """

    def __init__(
        self,
        outbox: Outbox,
        client: ScanPoster,
        *,
        batch_size: int = 100,
        backoff_base: float = 1.0,
        backoff_cap: float = 300.0,
        on_outcomes: Callable[[list[Outcome]], None] | None = None,
        clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.outbox = outbox
        self.client = client
        self.batch_size = max(1, min(500, batch_size))
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.on_outcomes = on_outcomes
        self.clock = clock
        self.rng = rng
        self._limit = self.batch_size
        self._wake = threading.Event()
        self._force = False
        self.last_error: str | None = None

    def kick(self, force: bool = False) -> None:
        """Wake the sync loop now (a new scan was queued).

        :param force: try once even if the queue is backing off, so an operator who scans
            while the server is coming back gets the server's answer at once.
        """
        self._force = self._force or force
        self._wake.set()

    def _notify(self, outcomes: list[Outcome]) -> None:
        if self.on_outcomes and outcomes:
            try:
                self.on_outcomes(outcomes)
            except Exception:  # feedback must never stop delivery
                log.exception("feedback failed")

    def _retry(self, rows: list[OutboxRow], error: str, retry_after: float | None) -> float:
        delay = backoff_delay(rows[0].attempts, self.backoff_base, self.backoff_cap, self.rng)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.backoff_cap))
        self.outbox.schedule_retry(rows, error, self.clock() + delay)
        self.last_error = error
        return delay

    def sync_once(self) -> SyncReport:
        """Send at most one batch if the head of the queue is due."""
        report = SyncReport()
        rows = self.outbox.pending(self._limit)
        if not rows:
            return report
        now = self.clock()
        head_due = rows[0].next_attempt_at
        # A clock set backwards must not park the queue for days: never wait past the cap.
        force, self._force = self._force, False
        if not force and head_due > now and head_due - now <= self.backoff_cap:
            report.wait = head_due - now
            return report
        sent_at = now_iso()
        self.outbox.mark_attempt(rows, sent_at)
        # mark_attempt committed attempts + 1; reflect it for the backoff computation.
        rows = [_bumped(r, sent_at) for r in rows]
        report.sent = len(rows)
        try:
            results = self.client.post_scans([r.event(sent_at) for r in rows])
        except (TransientError, AuthError) as exc:
            retry_after = exc.retry_after if isinstance(exc, TransientError) else None
            report.error = str(exc)
            if isinstance(exc, RequestTimeout):
                # Maybe too big for the link or the server: retry with half as many.
                self._limit = max(1, len(rows) // 2)
            report.wait = self._retry(rows, str(exc), retry_after)
            log.warning("%d scan(s) kept queued: %s", len(rows), exc)
            self._notify([Outcome(r, QUEUED, {"message": str(exc)}) for r in rows])
            return report
        except BatchRejected as exc:
            report.error = str(exc)
            if len(rows) > 1:
                self._limit = max(1, len(rows) // 2)
                log.warning("batch of %d refused (%s); retrying smaller", len(rows), exc)
                return report
            result: dict[str, Any] = {
                "status": REJECTED,
                "reason": exc.code,
                "message": str(exc),
            }
            self.outbox.finish([(rows[0], REJECTED, result)])
            report.rejected = 1
            self._notify([Outcome(rows[0], REJECTED, result)])
            return report
        self._limit = min(self.batch_size, self._limit * 2)
        self.outbox.record_sync()
        self.last_error = None
        by_id = {str(r.get("id")): r for r in results}
        finished: list[tuple[OutboxRow, str, dict[str, Any]]] = []
        outcomes: list[Outcome] = []
        missing: list[OutboxRow] = []
        for row in rows:
            answer = by_id.get(row.event_id)
            status = answer.get("status") if answer else None
            if answer is None or status not in (ACCEPTED, DUPLICATE, REJECTED):
                missing.append(row)
                continue
            # A colleague's name is shown on the console, never kept on disk.
            kept = {key: value for key, value in answer.items() if key not in NOT_KEPT}
            finished.append((row, REJECTED if status == REJECTED else DELIVERED, kept))
            outcomes.append(Outcome(row, str(status), answer))
        self.outbox.finish(finished)
        report.delivered = sum(1 for _, s, _ in finished if s == DELIVERED)
        report.rejected = len(finished) - report.delivered
        if missing:
            error = f"server gave no usable answer for {len(missing)} scan(s)"
            report.error = error
            report.wait = self._retry(missing, error, None)
            outcomes.extend(Outcome(r, QUEUED, {"message": error}) for r in missing)
        self._notify(outcomes)
        return report

    def drain(self, max_batches: int | None = None) -> SyncReport:
        """Send batches back to back until the queue is empty, waits, or fails."""
        total = SyncReport()
        batches = 0
        while max_batches is None or batches < max_batches:
            report = self.sync_once()
            batches += 1
            total.sent += report.sent
            total.delivered += report.delivered
            total.rejected += report.rejected
            total.error = report.error or total.error
            total.wait = report.wait
            if report.sent == 0 or (report.error and report.wait is not None):
                break
        return total

    def run(self, stop: threading.Event, idle_wait: float = 5.0) -> None:
        """Sync until ``stop`` is set: drain, then sleep until due or kicked."""
        while not stop.is_set():
            try:
                report = self.drain()
            except Exception:  # e.g. the disk is full; keep the agent alive and retry
                log.exception("sync failed")
                report = SyncReport(wait=idle_wait)
            wait = idle_wait if report.wait is None else min(report.wait, idle_wait)
            self._wake.wait(max(0.05, wait))
            self._wake.clear()


def _bumped(row: OutboxRow, sent_at: str) -> OutboxRow:
    from dataclasses import replace

    return replace(row, attempts=row.attempts + 1, sent_at=sent_at)
