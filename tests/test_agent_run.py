"""Scanner agent: the running agent end to end, feedback, and installing it without extras."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import tty
from pathlib import Path

import pytest
from agent_support import StubServer, agent_env, tracking_numbers, wait_for

from scanner_agent import feedback as fb
from scanner_agent.agent import Agent, DoubleReadFilter
from scanner_agent.client import TrackerClient
from scanner_agent.config import AgentConfig, SourceConfig
from scanner_agent.feedback import Feedback
from scanner_agent.outbox import Outbox
from scanner_agent.sources.serial_source import SerialSource


def test_each_outcome_has_its_own_sound_and_ack() -> None:
    classes = (fb.ACCEPTED, fb.FLAGGED, fb.DUPLICATE, fb.QUEUED, fb.REJECTED, fb.DOUBLE_READ)
    patterns = [fb.TONES[k] for k in classes]
    assert len(set(patterns)) == len(classes)
    bells = [fb.BELLS.get(k, 0) for k in (fb.ACCEPTED, fb.FLAGGED, fb.DUPLICATE, fb.REJECTED)]
    assert len(set(bells)) == 4
    out = io.StringIO()
    acks: list[bool] = []
    feedback = Feedback(out, sound=True, color=False)
    feedback.report(fb.ACCEPTED, "261122000123", "H12 now at Một cửa", reply=acks.append)
    feedback.report(fb.UNKNOWN, "HELLO", "not a dossier code", reply=acks.append)
    feedback.report(fb.QUEUED, "261122000123", reply=acks.append)
    assert acks == [True, False, True]
    lines = out.getvalue().splitlines()
    assert lines[0] == "[OK] 261122000123  H12 now at Một cửa"
    assert lines[1].startswith("[UNKNOWN CODE] HELLO")
    assert lines[2].startswith("[QUEUED OFFLINE]")
    assert "\a" not in out.getvalue()  # bells only on a real terminal


def test_server_answer_is_described_for_the_operator() -> None:
    dossier = {"code": "H12.22-261122-0001", "status": "in_progress", "status_label": "Đang xử lý",
               "station": {"code": "TP-DESK", "name": "Quầy 1", "office": "UBND xã"},
               "due_at": "2026-12-02T17:00:00+07:00", "working_hours_left": 3.0,
               "on_time_label": "Sắp đến hạn"}  # fmt: skip
    said = {"status": "accepted", "message": "H12.22-261122-0001 now at Quầy 1", "dossier": dossier}
    assert fb.describe(said) == (
        "H12.22-261122-0001 · đang ở Quầy 1 (UBND xã) · hạn 17:00 02/12/2026"
        " · còn 3 giờ làm việc · Sắp đến hạn"
    )
    late = {"dossier": {**dossier, "working_hours_left": -1.5, "on_time_label": "Quá hạn"}}
    assert "quá hạn 1,5 giờ làm việc · Quá hạn" in fb.describe(late)
    finished = {"dossier": {**dossier, "working_hours_left": None, "status_label": "Đã trả"}}
    assert fb.describe(finished).endswith("hạn 17:00 02/12/2026 · Đã trả")
    assert (
        fb.describe({"status": "accepted", "message": "H12 now at Quầy 1"}) == "H12 now at Quầy 1"
    )


def test_double_reads_are_per_source_and_time_window() -> None:
    doubles = DoubleReadFilter(3.0)
    assert not doubles.is_double("serial", "A", 0.0)
    assert doubles.is_double("serial", "A", 1.0)
    assert not doubles.is_double("camera", "A", 1.5)  # another source is another read
    assert not doubles.is_double("serial", "A", 5.0)


def test_serial_scanner_gets_host_ack_from_the_server_answer(tmp_path: Path) -> None:
    """ESC 7 when the server accepts, ESC 8 for a code it does not know or a misread."""
    master, slave = os.openpty()
    tty.setraw(slave)
    good, unknown = tracking_numbers(2)
    try:
        with StubServer() as server, Outbox(tmp_path / "o.db") as outbox:
            server.state.unknown_codes.add(unknown)
            source_config = SourceConfig("serial", device=os.ttyname(slave), host_ack=True)
            config = AgentConfig(server_url=server.url, token="good-token",
                                 sources=(source_config,), sound=False)  # fmt: skip
            console = io.StringIO()
            agent = Agent(config, outbox, TrackerClient(server.url, "good-token"),
                          Feedback(console, sound=False))  # fmt: skip
            source = SerialSource(source_config)
            stop = threading.Event()
            thread = threading.Thread(target=agent.run, args=([source], stop))
            thread.start()
            try:
                wait_for(lambda: source._port is not None)
                replies = b""
                cases = ((good, b"\x1b7"), (unknown, b"\x1b8"), ("12345", b"\x1b8"))
                for code, expected in cases:
                    os.write(master, code.encode() + b"\r\n")
                    replies += wait_for(lambda: os.read(master, 16), timeout=15)
                    assert replies.endswith(expected), (code, replies)
            finally:
                stop.set()
                thread.join(10)
            assert server.state.delivered_codes() == [good]
            assert "[OK]" in console.getvalue() and "[REFUSED]" in console.getvalue()
    finally:
        os.close(master)
        os.close(slave)


def test_agent_writes_a_rotating_log(tmp_path: Path) -> None:
    with StubServer() as server:
        log = tmp_path / "logs" / "agent.log"
        config = tmp_path / "agent.toml"
        config.write_text(
            f'server_url = "{server.url}"\ntoken = "good-token"\n'
            f'outbox = "{tmp_path / "o.db"}"\n'
            f'log_file = "{log}"\nlog_max_bytes = 2000\nlog_backups = 2\nsound = false\n',
            encoding="utf-8",
        )
        codes = tracking_numbers(40)
        subprocess.run(
            [sys.executable, "-m", "scanner_agent", "run", "--config", str(config)],
            input="\n".join(codes) + "\n", text=True, capture_output=True,
            env=agent_env(tmp_path), timeout=60, check=True,
        )  # fmt: skip
    assert log.exists() and (tmp_path / "logs" / "agent.log.1").exists()
    assert not (tmp_path / "logs" / "agent.log.3").exists()
    assert f"accepted {codes[-1]}" in log.read_text(encoding="utf-8")  # newest entries


BLOCKER = """
import atexit, sys
# Absent, as on an office PC with only the agent installed: the camera and device extras, the
# server's dependencies and every module of app but the stdlib-only code rules (app.codes) and
# station session (app.station).
ABSENT = {"cv2", "numpy", "zxingcpp", "pyzbar", "evdev", "serial", "flask", "werkzeug",
          "sqlalchemy", "flask_sqlalchemy", "flask_limiter", "alembic", "jinja2", "pydantic",
          "psycopg", "reportlab", "PIL", "holidays", "labels"}
ALLOWED_APP = {"app", "app.codes", "app.station"}
tried = []

class Absent:
    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        if top == "app" and name not in ALLOWED_APP:
            tried.append(name)
        if top in ABSENT or (top == "app" and name not in ALLOWED_APP):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Absent())
atexit.register(lambda: print("APP-MODULES", sorted(m for m in sys.modules if m.split(".")[0]
                                                    == "app"), "APP-TRIED", tried, file=sys.stderr))
from scanner_agent.cli import main
main()
"""


@pytest.mark.parametrize("command", ["run", "test-scan"])
def test_agent_runs_with_only_requests_and_click(tmp_path: Path, command: str) -> None:
    """Installed alone on an office PC: no OpenCV, decoders, evdev, pyserial, Flask or any server
    code but the stdlib-only ``app.codes`` and ``app.station``."""
    with StubServer() as server:
        [code] = tracking_numbers(1)
        args = ["--server", server.url, "--token", "good-token", "--outbox", str(tmp_path / "o.db")]
        argv = (
            ["run", "--source", "stdin", *args] if command == "run" else ["test-scan", code, *args]
        )
        result = subprocess.run(
            [sys.executable, "-c", BLOCKER, *argv], input=code + "\n", text=True,
            capture_output=True, env=agent_env(tmp_path), timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert f"[OK] {code}" in result.stdout
        assert server.state.delivered_codes() == [code]
    # Of the server's package, the agent imported the shared modules and nothing else.
    assert "APP-MODULES ['app', 'app.codes', 'app.station'] APP-TRIED []" in result.stderr


def test_missing_extras_are_named(tmp_path: Path) -> None:
    image = tmp_path / "x.png"
    image.write_bytes(b"")
    result = subprocess.run(
        [sys.executable, "-c", BLOCKER, "decode", "--json", str(image)],
        text=True, capture_output=True, env=agent_env(tmp_path), timeout=60,
    )  # fmt: skip
    assert result.returncode == 1 and "needs the 'camera' extra" in result.stderr
    serial = subprocess.run(
        [sys.executable, "-c", BLOCKER, "run", "--server", "http://127.0.0.1:9", "--token", "t",
         "--outbox", str(tmp_path / "o.db"), "--source", "serial:COM3"],
        text=True, capture_output=True, env=agent_env(tmp_path), timeout=60,
    )  # fmt: skip
    assert "needs pyserial" in serial.stdout + serial.stderr


def test_a_scan_that_cannot_be_saved_is_announced_and_the_agent_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    from scanner_agent.sources.stdin import StdinSource

    first, second = tracking_numbers(2)
    with StubServer() as server, Outbox(tmp_path / "o.db") as outbox:
        real_add = outbox.add
        calls = {"n": 0}

        def flaky_add(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
            calls["n"] += 1
            if calls["n"] == 1:
                raise sqlite3.OperationalError("database or disk is full")
            return real_add(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(outbox, "add", flaky_add)
        config = AgentConfig(server_url=server.url, token="good-token", sound=False)
        console = io.StringIO()
        agent = Agent(config, outbox, TrackerClient(server.url, "good-token"),
                      Feedback(console, sound=False))  # fmt: skip
        source = StdinSource(SourceConfig("stdin"), io.StringIO(f"{first}\n{second}\n"))
        agent.run([source], threading.Event())
        assert f"[REFUSED] {first}  CHƯA LƯU được, hãy quét lại sau" in console.getvalue()
        assert f"[OK] {second}" in console.getvalue()
        assert server.state.delivered_codes() == [second]
