"""Helpers for the scanner-agent tests: a contract stub server, key-event and image makers."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from app.codes import make_tracking_number

ROOT = Path(__file__).resolve().parents[1]


def _find_corpus() -> Path:
    """The shared barcode corpus: ``$TRACKER_BARCODE_CORPUS``, else ``shared/bench/barcodes``
    beside the checkout or beside its parent folder (a git worktree in ``wt/<branch>``)."""
    if os.environ.get("TRACKER_BARCODE_CORPUS"):
        return Path(os.environ["TRACKER_BARCODE_CORPUS"])
    for base in (ROOT.parent, ROOT.parent.parent):
        candidate = base / "shared" / "bench" / "barcodes"
        if candidate.is_dir():
            return candidate
    return ROOT.parent / "shared" / "bench" / "barcodes"


CORPUS = _find_corpus()
VENV_BIN = Path(sys.executable).parent


def tracking_numbers(count: int, start: int = 1) -> list[str]:
    """``count`` valid tracking numbers (11-digit body + Damm digit)."""
    return [make_tracking_number(f"2611220{i:04d}") for i in range(start, start + count)]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- a stub of the tracker's /api/v1 contract -------------------------------------------------


@dataclass
class StubState:
    """What the stub server knows and how it should misbehave."""

    token: str = "good-token"
    unknown_codes: set[str] = field(default_factory=set)
    broken_codes: set[str] = field(default_factory=set)
    flags: dict[str, str] = field(default_factory=dict)
    refusals: dict[str, str] = field(default_factory=dict)
    fail_next: list[int] = field(default_factory=list)
    retry_after: str | None = None
    slow_over: int | None = None
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    attempts: list[list[dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def delivered_codes(self) -> list[str]:
        """Codes recorded by the server, in arrival order (each event once)."""
        with self.lock:
            return [self.events[i]["code"] for i in self.order]


def stub_dossier(tracking_number: str) -> dict[str, Any]:
    """The device view of a dossier the stub answers with (the server's ``DeviceDossier``)."""
    return {
        "code": "H12.22-261122-0001",
        "tracking_number": tracking_number,
        "procedure": {"code": "1.009994", "name": "Cấp giấy phép xây dựng"},
        "station": {
            "code": "RECEPTION",
            "name": "Một cửa",
            "kind": "desk",
            "office": "UBND xã Tân Phú",
        },
        "status": "in_progress",
        "status_label": "Đang xử lý",
        "due_at": "2026-12-02T17:00:00+07:00",
        "working_hours_left": 12.5,
        "on_time": "within",
        "on_time_label": "Trong hạn",
    }


def _make_handler(state: StubState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _authorized(self) -> bool:
            if self.headers.get("Authorization") != f"Bearer {state.token}":
                self._send(401, {"error": {"code": "invalid_token", "message": "bad token"}})
                return False
            return True

        def do_GET(self) -> None:
            if not self._authorized():
                return
            if self.path == "/api/v1/stations":
                stations = [{"code": "RECEPTION", "name": "Một cửa", "kind": "desk"}]
                self._send(200, {"stations": stations})
            else:
                self._send(404, {"error": {"code": "not_found", "message": "no"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if not self._authorized():
                return
            events = body.get("events") or []
            if state.slow_over is not None and len(events) > state.slow_over:
                with state.lock:
                    state.attempts.append(events)
                time.sleep(1.0)  # a batch too big for a slow link: the client gives up first
                self.close_connection = True
                return
            with state.lock:
                state.attempts.append(events)
                if state.fail_next:
                    status = state.fail_next.pop(0)
                    headers = {"Retry-After": state.retry_after} if state.retry_after else None
                    self._send(status, {"error": {"code": "boom", "message": "boom"}}, headers)
                    return
                if any(e.get("code") in state.broken_codes for e in events):
                    self._send(422, {"error": {"code": "malformed", "message": "bad event"}})
                    return
                results = []
                for e in events:
                    if e["id"] in state.events:
                        results.append({"id": e["id"], "status": "duplicate"})
                    elif e["code"] in state.unknown_codes or e["code"] in state.refusals:
                        reason = state.refusals.get(e["code"], "unknown_code")
                        results.append(
                            {"id": e["id"], "status": "rejected", "reason": reason,
                             "message": "no such dossier"}
                        )  # fmt: skip
                    else:
                        state.events[e["id"]] = e
                        state.order.append(e["id"])
                        result = {"id": e["id"], "status": "accepted",
                                  "message": "H12.22-261122-0001 now at Một cửa",
                                  "dossier": stub_dossier(e["code"])}  # fmt: skip
                        if e["code"] in state.flags:
                            result["flag"] = state.flags[e["code"]]
                        results.append(result)
            self._send(200, {"results": results})

    return Handler


class StubServer:
    """A throwaway HTTP server implementing ``/api/v1/scans`` and ``/api/v1/stations``."""

    def __init__(self, port: int = 0, state: StubState | None = None) -> None:
        self.state = state or StubState()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), _make_handler(self.state))
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> StubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join()


# -- evdev event sequences --------------------------------------------------------------------

EV_KEY = 1
EV_SYN = 0

_US_CHARS: dict[str, tuple[str, bool]] = {}


def _us_table() -> dict[str, tuple[str, bool]]:
    if _US_CHARS:
        return _US_CHARS
    rows = {
        "1234567890": "1234567890", "!@#$%^&*()": "1234567890",
        "-=[];',./`\\": ["MINUS", "EQUAL", "LEFTBRACE", "RIGHTBRACE", "SEMICOLON",
                         "APOSTROPHE", "COMMA", "DOT", "SLASH", "GRAVE", "BACKSLASH"],
        "_+{}:\"<>?~|": ["MINUS", "EQUAL", "LEFTBRACE", "RIGHTBRACE", "SEMICOLON",
                         "APOSTROPHE", "COMMA", "DOT", "SLASH", "GRAVE", "BACKSLASH"],
    }  # fmt: skip
    for i, (chars, names) in enumerate(rows.items()):
        for ch, name in zip(chars, names, strict=True):
            _US_CHARS[ch] = (f"KEY_{name}", i % 2 == 1)
    for ch in "abcdefghijklmnopqrstuvwxyz":
        _US_CHARS[ch] = (f"KEY_{ch.upper()}", False)
        _US_CHARS[ch.upper()] = (f"KEY_{ch.upper()}", True)
    _US_CHARS[" "] = ("KEY_SPACE", False)
    return _US_CHARS


def key_events(
    text: str,
    *,
    start: float = 1000.0,
    gap_ms: float = 8.0,
    jitter_ms: float = 0.0,
    numpad: bool = False,
    terminator: str = "KEY_ENTER",
    seed: int = 0,
) -> list[Any]:
    """``evdev.InputEvent`` objects a US-layout scanner would send to type ``text``.

    :param gap_ms: time between key presses (a scanner: 2–20 ms; a person: 100+ ms).
    :param numpad: digits on the keypad (KEY_KP0–KP9) instead of the top row.
    """
    from evdev import InputEvent, ecodes

    rng = random.Random(seed)
    table = _us_table()
    events: list[Any] = []
    t = start

    def emit(code: int, value: int) -> None:
        sec = int(t)
        usec = int(round((t - sec) * 1e6))
        events.append(InputEvent(sec, usec, ecodes.EV_KEY, code, value))
        events.append(InputEvent(sec, usec, ecodes.EV_SYN, ecodes.SYN_REPORT, 0))

    for ch in text:
        if numpad and ch.isdigit():
            name, shift = f"KEY_KP{ch}", False
        else:
            name, shift = table[ch]
        code = ecodes.ecodes[name]
        if shift:
            emit(ecodes.KEY_LEFTSHIFT, 1)
            t += 0.001
        emit(code, 1)
        t += 0.001
        emit(code, 0)
        if shift:
            emit(ecodes.KEY_LEFTSHIFT, 0)
        t += max(0.0005, (gap_ms + rng.uniform(-jitter_ms, jitter_ms)) / 1000.0)
    if terminator:
        code = ecodes.ecodes[terminator]
        emit(code, 1)
        emit(code, 0)
    return events


def interleave(*streams: tuple[str, Sequence[Any]]) -> list[tuple[str, Any]]:
    """Merge several devices' events by timestamp into ``(device, event)`` pairs."""
    merged = [(e.timestamp(), dev, e) for dev, events in streams for e in events]
    merged.sort(key=lambda x: x[0])
    return [(dev, e) for _, dev, e in merged]


# -- label images and videos ------------------------------------------------------------------


def label_image(tracking_number: str, dpi: int = 150) -> Any:
    """A 50×30 mm thermal label from ``labels/`` rasterized to grayscale at ``dpi``."""
    import pypdfium2

    import labels

    tz = timezone(timedelta(hours=7))
    data = labels.LabelData(
        tracking_number=tracking_number,
        official_code="H12.22-261122-0001",
        procedure_name="Cấp giấy phép xây dựng",
        received_at=datetime(2026, 11, 22, 8, tzinfo=tz),
        due_at=datetime(2026, 12, 2, 17, tzinfo=tz),
    )
    pdf = labels.render_labels([data], labels.LAYOUTS["thermal-50x30"])
    document = pypdfium2.PdfDocument(pdf)
    try:
        return document[0].render(scale=dpi / 72, grayscale=True).to_numpy().copy()
    finally:
        document.close()


def scene(
    label: Any,
    *,
    angle: float = 0.0,
    scale: float = 1.0,
    size: tuple[int, int] = (1280, 720),
    blur: float = 0.0,
    noise: float = 0.0,
    offset: tuple[int, int] = (-100, 30),
    seed: int = 0,
) -> Any:
    """A gray desk (``size`` = width, height) with ``label`` on it, rotated and degraded."""
    import cv2
    import numpy as np

    width, height = size
    rng = np.random.default_rng(seed)
    frame = np.full((height, width), 110, np.uint8)
    small = cv2.resize(label, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    h, w = small.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    nw, nh = int(h * sin + w * cos), int(h * cos + w * sin)
    matrix[0, 2] += nw / 2 - w / 2
    matrix[1, 2] += nh / 2 - h / 2
    turned = cv2.warpAffine(small, matrix, (nw, nh), borderValue=0)
    mask = cv2.warpAffine(np.full_like(small, 255), matrix, (nw, nh), borderValue=0) > 0
    y = (height - nh) // 2 + offset[1]
    x = (width - nw) // 2 + offset[0]
    region = frame[y : y + nh, x : x + nw]
    region[mask] = turned[mask]
    if blur:
        frame = cv2.GaussianBlur(frame, (0, 0), blur)
    if noise:
        frame = np.clip(frame + rng.normal(0, noise, frame.shape), 0, 255).astype(np.uint8)
    return frame


def write_video(path: Path, frames: Sequence[Any], fps: float = 10.0) -> Path:
    """Write grayscale frames to an MJPG AVI that OpenCV can read back."""
    import cv2

    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    assert writer.isOpened(), "OpenCV cannot write MJPG video here"
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR) if frame.ndim == 2 else frame)
    writer.release()
    return path


# -- running the agent as a separate process ----------------------------------------------------


def agent_command(*args: str) -> list[str]:
    """``python -m scanner_agent ARGS`` with this interpreter."""
    return [sys.executable, "-m", "scanner_agent", *args]


def agent_env(tmp: Path) -> dict[str, str]:
    """An environment that keeps the agent's default files inside ``tmp``."""
    env = dict(os.environ)
    env.update(
        XDG_CONFIG_HOME=str(tmp / "config"),
        XDG_STATE_HOME=str(tmp / "state"),
        SCANNER_AGENT_CONFIG=str(tmp / "no-such-config.toml"),
        PYTHONUNBUFFERED="1",
    )
    env.pop("SCANNER_AGENT_TOKEN", None)
    return env


def wait_for(predicate: Any, timeout: float = 30.0, interval: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            msg = f"condition not met within {timeout} s"
            raise AssertionError(msg)
        time.sleep(interval)


def start_process(args: list[str], env: dict[str, str], **kwargs: Any) -> subprocess.Popen[str]:
    """Start a child process with text pipes."""
    return subprocess.Popen(
        args, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs
    )


def iter_corpus(sets: Sequence[str]) -> Iterator[tuple[Path, str | None]]:
    """``(image, expected text or None)`` for the named corpus folders."""
    for name in sets:
        for path in sorted((CORPUS / name).iterdir()):
            if path.suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp", ".gif"):
                continue
            expected = path.with_suffix(".txt")
            text = None
            if expected.exists():
                with expected.open(encoding="utf-8", newline="") as f:
                    text = f.read()
            yield path, text


# -- the real tracker server, and a fault-injecting proxy in front of it ------------------------


class TrackerServer:
    """A real ``tracker`` server in a child process, with its demo data.

    :param database_url: SQLAlchemy URL; a SQLite file in ``tmp`` by default.
    """

    def __init__(
        self, tmp: Path, database_url: str | None = None, template: TrackerServer | None = None
    ) -> None:
        self.tmp = tmp
        self.database_url = database_url or f"sqlite:///{tmp}/tracker.db"
        self.env = dict(os.environ, DATABASE_URL=self.database_url)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        if template is not None:
            # Copying a migrated, seeded SQLite file is much faster than migrating again.
            import shutil

            source = template.database_url.removeprefix("sqlite:///")
            shutil.copyfile(source, self.database_url.removeprefix("sqlite:///"))
            self.demo: dict[str, Any] = template.demo
        else:
            tracker = str(VENV_BIN / "tracker")
            subprocess.run([tracker, "db", "upgrade"], env=self.env, check=True,
                           capture_output=True)  # fmt: skip
            demo = subprocess.run([tracker, "demo", "--json"], env=self.env, check=True,
                                  capture_output=True, text=True)  # fmt: skip
            self.demo = json.loads(demo.stdout)
        device = self.demo["devices"][0]
        self.token: str = device["token"]
        self.station: str = device["station"]
        self.dossiers: list[dict[str, Any]] = self.demo["dossiers"]

    def start(self) -> TrackerServer:
        """Start serving on the fixed port and wait until it answers."""
        import requests

        log = (self.tmp / "server.log").open("ab")
        self.process = subprocess.Popen(
            [str(VENV_BIN / "tracker"), "run", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()

        def up() -> bool:
            assert self.process is not None and self.process.poll() is None, "server died"
            try:
                requests.get(f"{self.url}/api/v1/stations", timeout=1)
            except requests.ConnectionError:
                return False
            return True

        wait_for(up, timeout=60, interval=0.1)
        return self

    def stop(self) -> None:
        """Stop serving (the database stays)."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """The rows of a read-only ``sql`` on the server's database."""
        if self.database_url.startswith("sqlite:///"):
            import sqlite3

            con = sqlite3.connect(self.database_url.removeprefix("sqlite:///"))
            try:
                return con.execute(sql).fetchall()
            finally:
                con.close()
        import psycopg

        url = self.database_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(url) as pg:
            return [tuple(row) for row in pg.execute(sql).fetchall()]

    def scan_events(self) -> list[tuple[str, int, str, str]]:
        """``(uuid, seq, code, received_at)`` of the scans the agent sent, by sequence number.

        The server inserts a batch's events in its own order (by corrected time), so arrival
        order is read from ``received_at``, which each request stamps.
        """
        rows = self.query("SELECT uuid, seq, code_scanned, received_at FROM scan_event"
                          " WHERE device_id IS NOT NULL AND seq IS NOT NULL ORDER BY seq")
        return [(str(u).replace("-", ""), s, c, str(r)) for u, s, c, r in rows]

    def device_events(self) -> list[tuple[str, str, str, str | None, str | None]]:
        """``(code scanned, action, actor as sent, attributed username, destination office)``
        of the scans the agent sent, by sequence number."""
        return [tuple(row) for row in self.query(  # type: ignore[misc]
            "SELECT e.code_scanned, e.action, e.actor_raw, u.username, o.code"
            " FROM scan_event e LEFT JOIN user_account u ON u.id = e.actor_id"
            " LEFT JOIN office o ON o.id = e.destination_office_id"
            " WHERE e.device_id IS NOT NULL AND e.seq IS NOT NULL ORDER BY e.seq")]


def write_config(
    tmp: Path, url: str, server: TrackerServer, batch_size: int = 50, action: str = "",
    extra: str = "", station: str = "",
) -> Path:
    """An agent config file for ``server`` reached at ``url``; ``action`` is the station's
    ``default_action``, ``extra`` more TOML lines, ``station`` another of the device's."""
    path = tmp / "agent.toml"
    path.write_text(
        f'server_url = "{url}"\ntoken = "{server.token}"\n'
        f'station = "{station or server.station}"\n'
        f'default_action = "{action}"\n'
        f'outbox = "{tmp / "outbox.db"}"\nbatch_size = {batch_size}\n'
        "double_read_seconds = 0.0\nbackoff_base = 0.2\nbackoff_cap = 1.0\nsound = false\n"
        f'log_file = "{tmp / "agent.log"}"\n{extra}',
        encoding="utf-8",
    )
    return path


class AgentProcess:
    """``scanner-agent run --source stdin`` in a child process; the test types the scans."""

    def __init__(self, tmp: Path, config: Path) -> None:
        self.process = subprocess.Popen(
            agent_command("run", "--config", str(config), "--source", "stdin"),
            env=agent_env(tmp), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True, encoding="utf-8",
        )  # fmt: skip
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def scan(self, code: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(code + "\n")
        self.process.stdin.flush()

    def count(self, marker: str) -> int:
        return sum(marker in line for line in self.lines)

    def finish(self) -> int:
        assert self.process.stdin is not None
        self.process.stdin.close()
        code = self.process.wait(timeout=60)
        self._reader.join(5)
        assert self.process.stdout is not None
        self.process.stdout.close()
        return code

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self._reader.join(5)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                try:
                    stream.close()
                except BrokenPipeError:
                    pass


class FaultProxy:
    """An HTTP proxy in front of the server that misbehaves on chosen ``POST /scans`` calls.

    ``plan`` maps the index of a scans request (0-based) to an action: ``"500"`` (answer 500
    without forwarding), ``"forward-500"`` (forward, the server records the batch, then answer
    500), ``"forward-hold"`` (forward, then set :attr:`held` and never answer).
    """

    def __init__(self, target: str, plan: dict[int, str] | None = None) -> None:
        self.target = target
        self.plan = dict(plan or {})
        self.requests = 0
        self.held = threading.Event()
        self._release = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _forward(self, method: str, body: bytes | None) -> tuple[int, bytes]:
                import requests

                headers = {"Authorization": self.headers.get("Authorization", ""),
                           "Content-Type": "application/json"}  # fmt: skip
                r = requests.request(method, proxy.target + self.path, data=body,
                                     headers=headers, timeout=60)  # fmt: skip
                return r.status_code, r.content

            def _answer(self, status: int, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._answer(*self._forward("GET", None))

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                index = proxy.requests
                proxy.requests += 1
                action = proxy.plan.get(index, "pass")
                if action == "500":
                    self._answer(500, b'{"error": {"code": "injected", "message": "x"}}')
                    return
                status, data = self._forward("POST", body)
                if action == "forward-500":
                    self._answer(500, b'{"error": {"code": "injected", "message": "x"}}')
                elif action == "forward-hold":
                    proxy.held.set()
                    proxy._release.wait(120)
                    self.close_connection = True
                else:
                    self._answer(status, data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join()
