"""Scanner agent: the command line (config, run, status, doctor, test-scan)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from agent_support import (
    StubServer,
    agent_command,
    agent_env,
    free_port,
    tracking_numbers,
)
from click.testing import CliRunner

from scanner_agent.cli import main
from scanner_agent.config import ConfigError, SourceConfig, load_config

EXAMPLE = """
server_url = "https://tracker.example.gov.vn/"
token = "abc"
station = "RECEPTION"
outbox = "{outbox}"
double_read_seconds = 2.5

[[source]]
type = "serial"
device = "0c2e:0b61"
host_ack = true

[[source]]
type = "evdev"
device = "/dev/input/by-id/usb-Honeywell_Scanner-event-kbd"
max_key_gap_ms = 40

[[source]]
type = "camera"
device = "0"
"""


@pytest.fixture
def server() -> Iterator[StubServer]:
    with StubServer() as stub:
        yield stub


def run_agent(
    tmp_path: Path, *args: str, stdin: str = "", timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        agent_command(*args), input=stdin, text=True, capture_output=True,
        env=agent_env(tmp_path), timeout=timeout,
    )  # fmt: skip


def test_config_file_is_read_and_flags_override_it(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(EXAMPLE.format(outbox=tmp_path / "o.db"), encoding="utf-8")
    config = load_config(path)
    assert config.server_url == "https://tracker.example.gov.vn"
    assert config.double_read_seconds == 2.5
    assert [s.type for s in config.sources] == ["serial", "evdev", "camera"]
    assert config.sources[0].host_ack and config.sources[1].max_key_gap_ms == 40
    flagged = load_config(path, station="ARCHIVE", sources=(SourceConfig("stdin"),))
    assert flagged.station == "ARCHIVE" and [s.type for s in flagged.sources] == ["stdin"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('servr_url = "x"', "unknown key 'servr_url'"),
        ('batch_size = "ten"', "batch_size must be an integer"),
        ('[[source]]\ntype = "bluetooth"', "unknown source type 'bluetooth'"),
        ('[[source]]\ntype = "serial"', "a serial source needs a device"),
        ("server_url = ", "not valid TOML"),
    ],
)
def test_config_mistakes_are_named(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_run_without_a_server_says_what_is_missing(tmp_path: Path) -> None:
    result = run_agent(tmp_path, "run", "--outbox", str(tmp_path / "o.db"))
    assert result.returncode != 0
    assert "no server URL" in result.stderr


def test_stdin_scans_are_checked_sent_and_answered(tmp_path: Path, server: StubServer) -> None:
    good, unknown = tracking_numbers(2)
    server.state.unknown_codes.add(unknown)
    lines = [good, good, "hello", unknown, "h12.22-261122-0001"]
    result = run_agent(
        tmp_path, "run", "--server", server.url, "--token", "good-token",
        "--station", "RECEPTION", "--outbox", str(tmp_path / "o.db"), "--source", "stdin",
        stdin="\n".join(lines) + "\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"[OK] {good}" in out and "đang ở Một cửa" in out
    assert out.count(f"[OK] {good}") == 1  # the second read within 3 s is a double read,
    assert f"[DOUBLE READ] {good}" in out  # dropped here and shown
    assert "[UNKNOWN CODE] HELLO" in out
    assert f"[REFUSED] {unknown}  Không có hồ sơ mang mã này" in out
    assert "[OK] H12.22-261122-0001" in out
    assert server.state.delivered_codes() == [good, "H12.22-261122-0001"]
    assert all(e["station"] == "RECEPTION" for e in server.state.events.values())


def test_offline_scans_are_queued_then_delivered(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    outbox = str(tmp_path / "o.db")
    codes = tracking_numbers(3)
    common = ["--server", url, "--token", "good-token", "--outbox", outbox]
    offline = run_agent(tmp_path, "run", *common, stdin="\n".join(codes) + "\n")
    assert offline.stdout.count("[QUEUED OFFLINE]") == 3, offline.stdout + offline.stderr
    assert "3 scan(s) still queued" in offline.stderr
    status = json.loads(run_agent(tmp_path, "status", "--outbox", outbox, "--json").stdout)
    assert status["pending"] == 3 and "cannot reach the server" in status["last_error"]
    human = run_agent(tmp_path, "status", "--outbox", outbox).stdout
    assert "queued:          3" in human and "oldest queued" in human
    with StubServer(port) as server:
        online = run_agent(tmp_path, "run", *common, stdin="")
        assert online.returncode == 0, online.stderr
        assert server.state.delivered_codes() == codes
    status = json.loads(run_agent(tmp_path, "status", "--outbox", outbox, "--json").stdout)
    assert status["pending"] == 0 and status["delivered"] == 3 and status["last_sync_at"]


def test_test_scan_sends_one_code_and_shows_the_answer(tmp_path: Path, server: StubServer) -> None:
    [code] = tracking_numbers(1)
    args = ["--server", server.url, "--token", "good-token", "--outbox", str(tmp_path / "o.db")]
    result = run_agent(tmp_path, "test-scan", code, *args)
    assert result.returncode == 0, result.stderr
    assert f"[OK] {code}" in result.stdout
    assert server.state.delivered_codes() == [code]


def test_test_scan_dry_run_and_refusal(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["test-scan", "--dry-run", " 000.00.19.h12-261122-0001 "])
    assert ok.exit_code == 0 and "000.00.19.H12-261122-0001: official_code" in ok.output
    bad = runner.invoke(main, ["test-scan", "261122000124"])
    assert bad.exit_code == 2 and "bad_check_digit" in bad.output
    card = runner.invoke(main, ["test-scan", "$b-b-0001", "--server", "http://127.0.0.1:9",
                                "--token", "t", "--outbox", str(tmp_path / "o.db")])
    assert card.exit_code == 2 and "$B-B-0001 is a badge card" in card.output


def test_doctor_checks_server_and_token(tmp_path: Path, server: StubServer) -> None:
    outbox = str(tmp_path / "o.db")
    good = run_agent(tmp_path, "doctor", "--server", server.url, "--token", "good-token",
                     "--station", "RECEPTION", "--outbox", outbox, "--source", "stdin")  # fmt: skip
    assert "reachable, token accepted, 1 station(s)" in good.stdout, good.stdout + good.stderr
    assert "== serial ports" in good.stdout and "== input devices" in good.stdout
    assert "== cameras and decoders" in good.stdout

    wrong = run_agent(tmp_path, "doctor", "--server", server.url, "--token", "nope",
                      "--outbox", outbox)  # fmt: skip
    assert wrong.returncode == 1
    assert "refused the device token (invalid_token)" in wrong.stdout

    down = run_agent(tmp_path, "doctor", "--server", f"http://127.0.0.1:{free_port()}",
                     "--token", "x", "--outbox", outbox)  # fmt: skip
    assert down.returncode == 1 and "cannot reach the server" in down.stdout


def test_doctor_reports_a_missing_device(tmp_path: Path) -> None:
    result = run_agent(tmp_path, "doctor", "--outbox", str(tmp_path / "o.db"),
                       "--source", "serial:/dev/ttyNOPE9", "--source",
                       "evdev:/dev/input/by-id/usb-Missing-event-kbd")  # fmt: skip
    assert result.returncode == 1
    assert "no serial port matches '/dev/ttyNOPE9'" in result.stdout
    assert "usb-Missing-event-kbd not found" in result.stdout
