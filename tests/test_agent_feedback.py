"""Scanner agent feedback: each kind of result has its own console line and its own sound.

The agent runs in this process against the contract stub (which can flag or refuse a scan
as the server does) and, for a flag and a refusal, as its own process against the real tracker
server. Sounds are observed through the agent's real player path: a ``paplay``/``aplay`` on
``PATH`` that writes down the file it was asked to play.
"""

from __future__ import annotations

import io
import os
import stat
import threading
from collections import Counter
from pathlib import Path

import pytest
from agent_support import StubServer, free_port, stub_dossier, tracking_numbers, wait_for

from scanner_agent import feedback as fb
from scanner_agent.agent import Agent
from scanner_agent.client import TrackerClient
from scanner_agent.config import AgentConfig, SourceConfig
from scanner_agent.feedback import Feedback
from scanner_agent.outbox import Outbox
from scanner_agent.sources.stdin import StdinSource

SOUND_NAMES = ("accepted", "flagged", "duplicate", "rejected", "unknown", "queued", "double_read",
               "badge", "logout", "action")


def test_the_agent_has_a_vietnamese_reason_for_every_flag_and_refusal_the_server_sends() -> None:
    """The agent keeps its own tables (it imports nothing of the server but app.codes); they
    must name exactly what the server can send."""
    from app.tracking import schemas, state

    flags = {value for name, value in vars(state).items()
             if name.isupper() and isinstance(value, str)}  # fmt: skip
    assert flags == set(fb.FLAG_REASONS)
    assert set(schemas.REJECTION_REASONS) == set(fb.REFUSAL_REASONS)
    for table in (fb.FLAG_REASONS, fb.REFUSAL_REASONS):
        texts = list(table.values())
        assert len(set(texts)) == len(texts), "each reason reads differently"
        assert all(not text.isascii() for text in texts), "plain Vietnamese, not a code"
    assert fb.flag_reason("after_close") == "Quét sau khi đã trả kết quả"
    assert fb.flag_reason("off_plan") == "Ngoài quy trình"


@pytest.fixture
def sounds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A sound folder with every outcome's file, and a player that logs what it plays."""
    folder = tmp_path / "sounds"
    folder.mkdir()
    for name in SOUND_NAMES:
        (folder / f"{name}.wav").write_bytes(b"RIFF")
    played = tmp_path / "played.log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for player in ("paplay", "aplay", "afplay"):
        script = bin_dir / player
        script.write_text(f'#!/bin/sh\nbasename "$1" >> "{played}"\n', encoding="utf-8")
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return folder, played


def run_scans(tmp_path: Path, sounds: tuple[Path, Path], url: str, lines: list[str],
              double_read_seconds: float = 0.0) -> tuple[list[str], Counter[str]]:  # fmt: skip
    """Scan ``lines`` through an agent with sound on; the console lines and sounds played."""
    folder, played = sounds
    config = AgentConfig(server_url=url, token="good-token", sound=True, sound_dir=folder,
                         double_read_seconds=double_read_seconds, backoff_base=0.1,
                         request_timeout=2.0)  # fmt: skip
    console = io.StringIO()
    feedback = Feedback(console, sound=True, sound_dir=folder, color=False)
    with Outbox(tmp_path / "o.db") as outbox:
        agent = Agent(config, outbox, TrackerClient(url, "good-token", timeout=2.0), feedback,
                      answer_wait=3.0)  # fmt: skip
        source = StdinSource(SourceConfig("stdin"), io.StringIO("".join(f"{x}\n" for x in lines)))
        agent.run([source], threading.Event())
    shown = [line for line in console.getvalue().splitlines() if line.startswith("[")]
    wait_for(lambda: played.exists() and len(played.read_text().split()) == len(shown))
    return shown, Counter(played.read_text().split())


def test_accepted_scan_shows_where_the_file_is_its_due_date_and_time_left(
    tmp_path: Path, sounds: tuple[Path, Path]
) -> None:
    [code] = tracking_numbers(1)
    with StubServer() as server:
        shown, played = run_scans(tmp_path, sounds, server.url, [code])
    assert shown == [
        f"[OK] {code}  H12.22-261122-0001 · đang ở Một cửa (UBND xã Tân Phú)"
        " · hạn 17:00 02/12/2026 · còn 12,5 giờ làm việc · Trong hạn  <stdin>"
    ]
    assert played == Counter({"accepted.wav": 1})


@pytest.mark.parametrize("flag", sorted(fb.FLAG_REASONS))
def test_flagged_scan_is_recorded_and_says_why_in_vietnamese(
    tmp_path: Path, sounds: tuple[Path, Path], flag: str
) -> None:
    [code] = tracking_numbers(1)
    with StubServer() as server:
        server.state.flags[code] = flag
        shown, played = run_scans(tmp_path, sounds, server.url, [code])
        assert server.state.delivered_codes() == [code]
    [line] = shown
    assert line.startswith(f"[FLAGGED] {code}  {fb.FLAG_REASONS[flag]} · H12.22-261122-0001")
    assert "đang ở Một cửa" in line and "còn 12,5 giờ làm việc" in line
    assert played == Counter({"flagged.wav": 1})


@pytest.mark.parametrize("reason", sorted(fb.REFUSAL_REASONS))
def test_refused_scan_says_why_in_vietnamese(
    tmp_path: Path, sounds: tuple[Path, Path], reason: str
) -> None:
    [code] = tracking_numbers(1)
    with StubServer() as server:
        server.state.refusals[code] = reason
        shown, played = run_scans(tmp_path, sounds, server.url, [code])
    assert shown == [f"[REFUSED] {code}  {fb.REFUSAL_REASONS[reason]}  <stdin>"]
    assert played == Counter({"rejected.wav": 1})


def test_code_refused_on_the_spot_says_why_in_vietnamese(
    tmp_path: Path, sounds: tuple[Path, Path]
) -> None:
    [code] = tracking_numbers(1)
    misread = code[:-1] + str((int(code[-1]) + 1) % 10)
    with StubServer() as server:
        shown, played = run_scans(tmp_path, sounds, server.url, ["HELLO", misread])
        assert server.state.delivered_codes() == []
    assert shown == [
        "[UNKNOWN CODE] HELLO  Không phải mã hồ sơ  <stdin>",
        f"[UNKNOWN CODE] {misread}  Sai số kiểm tra, có thể đọc nhầm mã  <stdin>",
    ]
    assert played == Counter({"unknown.wav": 2})


def test_scan_without_a_server_is_queued_offline_with_its_own_sound(
    tmp_path: Path, sounds: tuple[Path, Path]
) -> None:
    [code] = tracking_numbers(1)
    shown, played = run_scans(tmp_path, sounds, f"http://127.0.0.1:{free_port()}", [code])
    [line] = shown
    assert line.startswith(f"[QUEUED OFFLINE] {code}  ")
    assert "sẽ tự gửi" in line
    assert played == Counter({"queued.wav": 1})
    with Outbox(tmp_path / "o.db") as outbox:
        assert outbox.stats().pending == 1


def test_double_read_is_dropped_and_shown_with_its_own_sound(
    tmp_path: Path, sounds: tuple[Path, Path]
) -> None:
    [code] = tracking_numbers(1)
    with StubServer() as server:
        shown, played = run_scans(tmp_path, sounds, server.url, [code, code],
                                  double_read_seconds=30.0)  # fmt: skip
        assert server.state.delivered_codes() == [code]
    assert f"[DOUBLE READ] {code}  Đọc trùng trong 30 giây, đã bỏ qua  <stdin>" in shown
    assert sum(line.startswith(f"[OK] {code}") for line in shown) == 1
    assert played == Counter({"accepted.wav": 1, "double_read.wav": 1})


def test_each_class_has_its_own_sound_file_and_bells_without_one(
    tmp_path: Path, sounds: tuple[Path, Path]
) -> None:
    folder, _ = sounds
    feedback = Feedback(io.StringIO(), sound_dir=folder)
    assert {kind: feedback.sound_of(kind) for kind in fb.KINDS} == {
        kind: folder / f"{kind}.wav" for kind in fb.KINDS
    }
    (folder / "flagged.wav").unlink()
    assert feedback.sound_of(fb.FLAGGED) == 4  # the bell fallback
    assert Feedback(io.StringIO()).sound_of(fb.ACCEPTED) == 1


def test_the_active_person_hook_names_who_scans_and_nothing_without_it() -> None:
    """Without a person and without a hook no name is shown; a hook names who scans."""
    dossier = {"status": "accepted", "dossier": stub_dossier("261122000123")}
    console = io.StringIO()
    Feedback(console, sound=False, color=False).report(
        fb.ACCEPTED, "261122000123", fb.explain(fb.ACCEPTED, dossier)
    )
    person: list[str | None] = ["Nguyễn Văn A"]
    Feedback(console, sound=False, color=False, active_person=lambda: person[0]).report(
        fb.ACCEPTED, "261122000123", fb.explain(fb.ACCEPTED, dossier)
    )
    first, second = console.getvalue().splitlines()
    assert "người quét" not in first
    assert second == first + "  · người quét: Nguyễn Văn A"
