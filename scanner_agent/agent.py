"""The running agent: sources feed scans in, each scan is checked, queued, sent and answered.

Order of events for one scan: normalize and recognize it (unknown codes are refused here,
with feedback); a staff badge or an action card goes to the station session
(:mod:`app.station`) and is answered at once, never sent; drop a file scan, and say so, if the
same source read the same code within ``double_read_seconds``; take its person and action from
the session; commit it to the outbox; only then wake the sender. The operator hears
the server's answer (accepted, flagged, duplicate, refused) or, if it does not come within
``answer_wait`` seconds, "queued offline"; the scan is delivered later all the same.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app import station as st
from app.codes import badge_card_code

from . import feedback as fb
from .codes import CodeRules, Unrecognized
from .config import AgentConfig
from .feedback import Feedback
from .outbox import Outbox, OutboxRow
from .sources import RawScan, Source, SourceError, local_now
from .sync import Outcome, ScanPoster, Syncer

log = logging.getLogger(__name__)


class DoubleReadFilter:
    """Drops the same code from the same source within ``seconds`` of its previous read."""

    def __init__(self, seconds: float = 3.0) -> None:
        self.seconds = seconds
        self._last: dict[tuple[str, str], float] = {}

    def is_double(self, source: str, code: str, now: float) -> bool:
        """True if ``code`` was read by ``source`` less than ``seconds`` before ``now``."""
        key = (source, code)
        last = self._last.get(key)
        self._last[key] = now
        if len(self._last) > 1000:
            self._last = {k: t for k, t in self._last.items() if now - t < self.seconds}
        return last is not None and now - last < self.seconds


@dataclass
class _Live:
    code: str
    source: str
    reply: Callable[[bool], None] | None
    since: float
    actor: str = ""
    action: str = ""  # chosen by an action card ("": the station's default)


class Agent:
    """Ties sources, outbox, sender and feedback together.

    :param answer_wait: seconds to wait for the server before saying "queued offline".
    :param workers: loops run in their own threads while the agent runs, each given the
        event that stops them (e.g. :meth:`scanner_agent.printing.PrintJobPoller.run`).
    :param clock: the time now (aware), for showing whose session is still active; each scan
        is judged at its own ``scanned_at``.
    """

    def __init__(
        self,
        config: AgentConfig,
        outbox: Outbox,
        client: ScanPoster,
        feedback: Feedback,
        *,
        answer_wait: float = 4.0,
        workers: Sequence[Callable[[threading.Event], None]] = (),
        clock: Callable[[], dt.datetime] = local_now,
    ) -> None:
        self.config = config
        self.clock = clock
        self.session = st.Session(default_action=config.default_action,
                                  idle=dt.timedelta(minutes=config.badge_session_minutes))
        self._names: dict[str, str] = {}  # badge -> name, as the server answered
        if feedback.active_person is None:  # lines about no file (unknown code, double read)
            feedback.active_person = self.active_person
        self.outbox = outbox
        self.feedback = feedback
        self.rules = CodeRules(config.official_code_pattern)
        self.doubles = DoubleReadFilter(config.double_read_seconds)
        self.answer_wait = answer_wait
        # Background loops beside the sender (the print-job poller), stopped with it.
        self.workers = tuple(workers)
        self.syncer = Syncer(
            outbox,
            client,
            batch_size=config.batch_size,
            backoff_base=config.backoff_base,
            backoff_cap=config.backoff_cap,
            on_outcomes=self._on_outcomes,
        )
        self._queue: queue.Queue[RawScan] = queue.Queue()
        self._live: dict[str, _Live] = {}
        self._lock = threading.Lock()

    # -- scans in ------------------------------------------------------------------------------

    def submit(self, raw: RawScan) -> None:
        """Hand a scan over from any thread."""
        self._queue.put(raw)

    def handle(self, raw: RawScan) -> OutboxRow | None:
        """Check, de-duplicate and queue one scan (runs on the agent's main thread)."""
        found = self.rules.recognize(raw.text)
        if isinstance(found, Unrecognized):
            self.feedback.report(
                fb.UNKNOWN, found.code or repr(raw.text), found.message,
                source=raw.source, reply=raw.reply,
            )  # fmt: skip
            return None
        if found.is_card:  # a station command, never a dossier scan: not queued nor sent
            self.session, step = st.scan(self.session, found.kind, found.value,
                                         raw.scanned_at, found.destination)
            self._report_card(found.code, step, raw)
            return None
        # Before the session: a double read must not use up an action chosen for one scan.
        if self.doubles.is_double(raw.source, found.code, time.monotonic()):
            # Shown, not only logged; a host-ACK scanner gets its "good" answer either way.
            seconds = f"{self.config.double_read_seconds:g}".replace(".", ",")
            self.feedback.report(
                fb.DOUBLE_READ, found.code, f"Đọc trùng trong {seconds} giây, đã bỏ qua",
                source=raw.source, reply=raw.reply,
            )  # fmt: skip
            return None
        self.session, step = st.scan(self.session, found.kind, found.value, raw.scanned_at)
        if step.expired:
            self._report_card("", step, raw)
        actor = step.person or self.config.actor
        chosen = step.action if step.action != self.config.default_action else ""
        event_id = str(uuid.uuid4())
        with self._lock:
            self._live[event_id] = _Live(found.code, raw.source, raw.reply, time.monotonic(),
                                         actor, chosen)
        try:
            row = self.outbox.add(
                found.code,
                found.kind,
                raw.source,
                scanned_at=raw.scanned_at.isoformat(timespec="milliseconds"),
                station=self.config.station,
                action=step.action,
                actor=actor,
                destination=step.destination,
                event_id=event_id,
            )
        except Exception:
            with self._lock:
                self._live.pop(event_id, None)
            raise
        log.info("queued #%d %s %s from %s", row.seq, row.kind, row.code, raw.source)
        self.syncer.kick(force=True)
        return row

    # -- the station session -----------------------------------------------------------------

    def person(self, badge: str) -> str:
        """A person as the console names them: ``name (badge)`` once the server named them."""
        name = self._names.get(badge.upper())
        return f"{name} ({badge})" if name else badge

    def active_person(self) -> str:
        """Who scans now: the active session's person, else the configured actor, else ``""``."""
        return self.person(self.session.at(self.clock()).person or self.config.actor)

    def _report_card(self, code: str, step: st.Step, raw: RawScan) -> None:
        """The line and sound of a card (or of a session that ran out before a file scan).

        The detail, which is logged, names badges only; a name the server gave is shown at the
        end of the line (``person``), which is never logged.
        """
        minutes = f"{self.config.badge_session_minutes:g}".replace(".", ",")
        what = f"Phiên của {step.ended}" if step.ended else "Thao tác đã chọn"
        gone = f"{what} đã hết hạn (không quét trong {minutes} phút)" if step.expired else ""
        if step.kind == st.FILE:  # only said because the session (or a chosen action) ran out
            if step.ended:
                self.feedback.report(fb.LOGOUT, badge_card_code(step.ended), gone,
                                     source=raw.source, person="")
            else:
                self.feedback.report(fb.ACTION, "", gone, source=raw.source)
            return
        next_scan = st.action_label(step.action, step.destination)
        kind, detail = fb.ACTION, ""
        if step.kind == st.STARTED:
            kind = fb.BADGE
            detail = f"Bắt đầu phiên của {step.person}"
            if step.ended and not step.expired:
                detail += f", kết thúc phiên của {step.ended}"
            detail += f" · thao tác: {next_scan}"
        elif step.kind == st.ENDED:
            kind = fb.LOGOUT
            detail = (f"Kết thúc phiên của {step.ended}" if step.ended and
                      not step.expired else "Không có phiên nào đang mở")
        elif step.kind == st.ONE_SHOT:
            detail = f"Lượt quét tiếp theo: {next_scan} (quét thẻ lần nữa để khóa)"
        elif step.kind == st.LOCKED:
            detail = f"ĐÃ KHÓA: mọi lượt quét là {next_scan}, đến khi quét thẻ khác"
        elif step.kind == st.DEFAULT:
            detail = f"Trở lại thao tác mặc định: {next_scan}"
        else:  # a send card without destination
            kind = fb.REJECTED
            detail = ("Thẻ Gửi liên thông phải ghi nơi nhận (in bằng `tracker cards "
                      "--send-to MÃ`): không đổi thao tác")
        if gone:
            detail = f"{gone} · {detail}"
        self.feedback.report(kind, code, detail, source=raw.source, reply=raw.reply,
                             person=self.person(step.person or self.config.actor))

    def _handle_safely(self, raw: RawScan) -> None:
        try:
            self.handle(raw)
        except Exception as exc:  # e.g. disk full: say so loudly, keep reading scanners
            log.exception("could not queue %r from %s", raw.text, raw.source)
            self.feedback.report(
                fb.REJECTED, raw.text.strip(), f"CHƯA LƯU được, hãy quét lại sau ({exc})",
                source=raw.source, reply=raw.reply,
            )  # fmt: skip

    # -- answers out ---------------------------------------------------------------------------

    def _on_outcomes(self, outcomes: list[Outcome]) -> None:
        for outcome in outcomes:
            with self._lock:
                live = self._live.pop(outcome.row.event_id, None)
            name = outcome.result.get("actor_name")
            if name and outcome.row.actor:
                self._names[outcome.row.actor.upper()] = str(name)
            if live is None:  # an older scan delivered from the backlog: log only
                log.info("#%d %s: %s", outcome.row.seq, outcome.row.code, outcome.status)
                continue
            kind = fb.classify(outcome.status, outcome.result)
            detail = fb.explain(kind, outcome.result)
            if live.action:
                chosen = st.action_label(live.action, outcome.row.destination or "")
                detail = f"{detail} · thao tác: {chosen}" if detail else f"thao tác: {chosen}"
            self.feedback.report(kind, live.code, detail, source=live.source, reply=live.reply,
                                 person=self.person(live.actor))

    def expire_live(self, everything: bool = False) -> None:
        """Say "queued offline" for scans whose answer is late (or for all, ``everything``)."""
        now = time.monotonic()
        with self._lock:
            late = [
                k for k, v in self._live.items() if everything or now - v.since >= self.answer_wait
            ]
            expired = [self._live.pop(k) for k in late]
        for live in expired:
            self.feedback.report(
                fb.QUEUED, live.code, "Máy chủ chưa trả lời, sẽ tự gửi khi có kết nối",
                source=live.source, reply=live.reply, person=self.person(live.actor),
            )  # fmt: skip

    @property
    def waiting(self) -> int:
        """Scans still waiting for their first answer."""
        with self._lock:
            return len(self._live)

    # -- running -------------------------------------------------------------------------------

    def _run_source(self, source: Source, stop: threading.Event) -> None:
        try:
            source.run(self.submit, stop)
        except SourceError as exc:
            log.error("%s: %s", source.label, exc)
            self.feedback.report(fb.REJECTED, source.label, f"Nguồn quét đã dừng: {exc}")
        except Exception:
            log.exception("%s crashed", source.label)

    def run(self, sources: Sequence[Source], stop: threading.Event) -> None:
        """Run until ``stop`` is set or every source has ended (e.g. stdin closed)."""
        self.outbox.prune()
        sync_stop = threading.Event()
        sync_thread = threading.Thread(
            target=self.syncer.run, args=(sync_stop,), name="sync", daemon=True
        )
        sync_thread.start()
        for work in self.workers:
            threading.Thread(target=work, args=(sync_stop,), daemon=True).start()
        threads = [
            threading.Thread(target=self._run_source, args=(s, stop), name=s.label, daemon=True)
            for s in sources
        ]
        for t in threads:
            t.start()
        ended = False
        try:
            while not stop.is_set():
                try:
                    raw = self._queue.get(timeout=0.2)
                except queue.Empty:
                    pass
                else:
                    self._handle_safely(raw)
                    continue
                self.expire_live()
                if not any(t.is_alive() for t in threads) and self._queue.empty():
                    ended = True
                    break
            # Sources ended: give the scans just made a last chance at a server answer.
            deadline = time.monotonic() + self.answer_wait
            while self.waiting and time.monotonic() < deadline and not stop.is_set():
                time.sleep(0.05)
        finally:
            stop.set()
            # Scans already read from a device are committed before exiting.
            while not self._queue.empty():
                self._handle_safely(self._queue.get_nowait())
            sync_stop.set()
            self.syncer.kick()
            sync_thread.join(timeout=self.config.request_timeout + 5)
        if ended and not sync_thread.is_alive():
            # Input ran out (``scanner-agent run < codes.txt``): one last pass over the queue.
            self.syncer.kick(force=True)
            self.syncer.drain()
        self.expire_live(everything=True)
