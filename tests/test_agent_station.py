"""Badges and action cards at a station, through the real tracker server and the real agent.

The agent reads stdin as its own process (as on an office PC), or a serial scanner through a
pseudo-terminal pair in this process; idle expiry runs in this process with a fake clock.
Each stored event's actor, action and destination are read back from the server's database.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import sqlite3
import subprocess
import threading
import tty
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agent_support import (
    AgentProcess,
    TrackerServer,
    agent_command,
    agent_env,
    key_events,
    wait_for,
    write_config,
)

from scanner_agent import feedback as fb
from scanner_agent.agent import Agent
from scanner_agent.client import TrackerClient
from scanner_agent.config import AgentConfig, ConfigError, SourceConfig, from_mapping
from scanner_agent.feedback import Feedback
from scanner_agent.outbox import SCHEMA, Outbox
from scanner_agent.sources import RawScan
from scanner_agent.sources.evdev_source import decode_events
from scanner_agent.sources.serial_source import SerialSource

pytestmark = pytest.mark.skipif(
    not (Path(__file__).parents[1] / "app" / "cli.py").exists(), reason="server not present"
)

MAI, HUNG = "Trần Thị Mai (B-0001)", "Lê Văn Hùng (B-0002)"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> TrackerServer:
    return TrackerServer(tmp_path_factory.mktemp("tracker-template"))


@pytest.fixture
def server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[TrackerServer]:
    """The demo office served by the real server: on ``TEST_DATABASE_URL`` when it is a
    PostgreSQL one (emptied, migrated and seeded for each test), else on a SQLite copy."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    if url.startswith("postgresql"):
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                             autocommit=True) as pg:
            pg.execute("DROP SCHEMA public CASCADE")
            pg.execute("CREATE SCHEMA public")
        tracker = TrackerServer(tmp_path, database_url=url)
    else:
        tracker = TrackerServer(tmp_path, template=request.getfixturevalue("template"))
    tracker.start()
    yield tracker
    tracker.stop()


def answers(agent: AgentProcess, code: str) -> list[str]:
    """The lines that show the server's answers for ``code`` (recorded, flagged or refused)."""
    return [line for line in agent.lines
            if line.startswith(("[OK] ", "[FLAGGED] ", "[REFUSED] ")) and line.split()[1] == code]


def answered(agent: AgentProcess, code: str) -> bool:
    return bool(answers(agent, code))


def line_of(agent: AgentProcess, prefix: str) -> str:
    [line] = [line for line in agent.lines if line.startswith(prefix)]
    return line


# --- through stdin, the agent as its own process -----------------------------------------------

@pytest.mark.db  # the real server: SQLite, or PostgreSQL with TEST_DATABASE_URL
def test_each_file_is_the_person_whose_badge_was_scanned_last_until_logout(
        tmp_path: Path, server: TrackerServer) -> None:
    d0, d1, d2 = server.dossiers
    agent = AgentProcess(tmp_path, write_config(tmp_path, server.url, server))
    agent.scan("$B-B-0001")
    agent.scan(d0["tracking_number"])
    agent.scan(d1["code"].lower())
    wait_for(lambda: answered(agent, d1["code"]), timeout=30)
    agent.scan("$b-b-0002")
    agent.scan(d2["tracking_number"])
    wait_for(lambda: answered(agent, d2["tracking_number"]), timeout=30)
    agent.scan("$A-LOGOUT")
    agent.scan(d0["code"])
    wait_for(lambda: answered(agent, d0["code"]), timeout=30)
    assert agent.finish() == 0

    assert server.device_events() == [
        (d0["tracking_number"], "TRANSFER_IN", "B-0001", "letan", None),
        (d1["code"], "TRANSFER_IN", "B-0001", "letan", None),
        (d2["tracking_number"], "TRANSFER_IN", "B-0002", "tuphap", None),
        (d0["code"], "TRANSFER_IN", "", None, None),
    ]
    assert line_of(agent, "[BADGE] $B-B-0001") == (
        "[BADGE] $B-B-0001  Bắt đầu phiên của B-0001 · thao tác: Nhận bàn giao hồ sơ"
        "  · người quét: B-0001  <stdin>")
    # The server named the badge holder (staff of the device's office) in its answer.
    assert answers(agent, d1["code"])[0].endswith(f"· người quét: {MAI}  <stdin>")
    assert line_of(agent, "[BADGE] $B-B-0002").startswith(
        "[BADGE] $B-B-0002  Bắt đầu phiên của B-0002, kết thúc phiên của B-0001")
    assert answers(agent, d2["tracking_number"])[0].endswith(f"· người quét: {HUNG}  <stdin>")
    assert line_of(agent, "[LOGOUT] $A-LOGOUT") == (
        "[LOGOUT] $A-LOGOUT  Kết thúc phiên của B-0002  <stdin>")
    # Names are shown, never logged nor kept in the outbox.
    kept = (tmp_path / "agent.log").read_text(encoding="utf-8")
    with Outbox(tmp_path / "outbox.db") as box:
        kept += "".join(row.result_json or "" for row in box.rows())
    assert "B-0001" in kept and "Trần Thị Mai" not in kept and "Lê Văn Hùng" not in kept
    assert "người quét" not in answers(agent, d0["code"])[-1]
    assert not any(line.startswith("[REFUSED]") for line in agent.lines)


@pytest.mark.db  # the real server: SQLite, or PostgreSQL with TEST_DATABASE_URL
def test_action_cards_set_the_next_file_or_lock_and_the_station_default_returns(
        tmp_path: Path, server: TrackerServer) -> None:
    """At the return counter, whose default action is "Có kết quả" in the agent's config."""
    d0, d1, d2 = server.dossiers
    config = write_config(tmp_path, server.url, server, action="result_ready",
                          station="TP-RETURN")
    agent = AgentProcess(tmp_path, config)
    for code in ("$A-RETURNED", d0["code"], d1["code"],
                 "$A-REQUEST_SUPPLEMENT", "$A-REQUEST_SUPPLEMENT", d1["tracking_number"],
                 d2["code"], "$A-DEFAULT", d2["tracking_number"],
                 "$A-SEND", "$A-SEND-000.00.01.H12", d2["code"], d0["tracking_number"]):
        agent.scan(code)
    wait_for(lambda: len(server.device_events()) == 7, timeout=30)
    wait_for(lambda: answered(agent, d0["tracking_number"]), timeout=30)
    assert agent.finish() == 0

    assert [(code, action, dest) for code, action, _, _, dest in server.device_events()] == [
        (d0["code"], "RETURNED", None),
        (d1["code"], "RESULT_READY", None),
        (d1["tracking_number"], "REQUEST_SUPPLEMENT", None),
        (d2["code"], "REQUEST_SUPPLEMENT", None),
        (d2["tracking_number"], "RESULT_READY", None),
        (d2["code"], "SEND", "000.00.01.H12"),
        (d0["tracking_number"], "RESULT_READY", None),
    ]
    cards = [line for line in agent.lines if line.startswith(("[ACTION]", "[REFUSED] $A"))]
    assert cards == [
        "[ACTION] $A-RETURNED  Lượt quét tiếp theo: Trả kết quả (quét thẻ lần nữa để khóa)"
        "  <stdin>",
        "[ACTION] $A-REQUEST_SUPPLEMENT  Lượt quét tiếp theo: Yêu cầu bổ sung (quét thẻ lần "
        "nữa để khóa)  <stdin>",
        "[ACTION] $A-REQUEST_SUPPLEMENT  ĐÃ KHÓA: mọi lượt quét là Yêu cầu bổ sung, đến khi "
        "quét thẻ khác  <stdin>",
        "[ACTION] $A-DEFAULT  Trở lại thao tác mặc định: Có kết quả  <stdin>",
        "[REFUSED] $A-SEND  Thẻ Gửi liên thông phải ghi nơi nhận (in bằng `tracker cards "
        "--send-to MÃ`): không đổi thao tác  <stdin>",
        "[ACTION] $A-SEND-000.00.01.H12  Lượt quét tiếp theo: Gửi liên thông → 000.00.01.H12 "
        "(quét thẻ lần nữa để khóa)  <stdin>",
    ]
    assert "thao tác: Trả kết quả" in answers(agent, d0["code"])[0]


# --- in this process: a fake clock, a serial scanner ---------------------------------------------

def in_process_agent(tmp_path: Path, server: TrackerServer, console: io.StringIO,
                     clock: Any = None, **config: Any) -> tuple[Agent, Outbox]:
    settings = AgentConfig(server_url=server.url, token=server.token, station=server.station,
                           sound=False, double_read_seconds=0.0, **config)
    outbox = Outbox(tmp_path / "outbox.db")
    feedback = Feedback(console, sound=False, color=False)
    extra = {"clock": clock} if clock is not None else {}
    client = TrackerClient(server.url, server.token)
    return Agent(settings, outbox, client, feedback, answer_wait=30.0, **extra), outbox


@pytest.mark.db  # the real server: SQLite, or PostgreSQL with TEST_DATABASE_URL
def test_a_session_ends_after_its_idle_minutes_and_the_next_file_carries_nobody(
        tmp_path: Path, server: TrackerServer) -> None:
    d0, d1, _ = server.dossiers
    base = dt.datetime.now(dt.UTC).astimezone() - dt.timedelta(minutes=90)
    now = [base]
    console = io.StringIO()
    agent, outbox = in_process_agent(tmp_path, server, console, clock=lambda: now[0],
                                     badge_session_minutes=30.0)
    with outbox:
        def scan(text: str, minutes: float) -> None:
            agent.handle(RawScan(text, "stdin", scanned_at=base + dt.timedelta(minutes=minutes)))
            agent.syncer.drain()

        scan("$B-B-0001", 0)
        scan(d0["code"], 10)  # 10 minutes later: still hers
        now[0] = base + dt.timedelta(minutes=39)
        assert agent.active_person() == MAI
        now[0] = base + dt.timedelta(minutes=40)  # 30 minutes after her last scan
        assert agent.active_person() == ""
        scan(d1["code"], 45)
        scan("$B-B-9999", 46)  # a badge nobody holds: the scan is kept, without a person
        scan(d1["tracking_number"], 47)
        scan("$A-LOGOUT", 48)
        scan("$A-RETURNED", 49)  # a chosen action runs out too
        scan(d0["tracking_number"], 79)
    assert server.device_events() == [
        (d0["code"], "TRANSFER_IN", "B-0001", "letan", None),
        (d1["code"], "TRANSFER_IN", "", None, None),
        (d1["tracking_number"], "TRANSFER_IN", "B-9999", None, None),
        (d0["tracking_number"], "TRANSFER_IN", "", None, None),
    ]
    lines = console.getvalue().splitlines()
    assert ("[LOGOUT] $B-B-0001  Phiên của B-0001 đã hết hạn (không quét trong 30 phút)"
            "  <stdin>") in lines
    assert "[ACTION]  Thao tác đã chọn đã hết hạn (không quét trong 30 phút)  <stdin>" in lines
    [unknown] = [line for line in lines if line.startswith(f"[FLAGGED] {d1['tracking_number']}")]
    assert "Thẻ nhân viên không có trong hệ thống: đã ghi nhận nhưng chưa ghi tên" in unknown
    assert unknown.endswith("· người quét: B-9999  <stdin>")


@pytest.mark.db  # the real server: SQLite, or PostgreSQL with TEST_DATABASE_URL
def test_a_serial_scanner_badges_in_and_its_cards_get_a_good_host_ack(
        tmp_path: Path, server: TrackerServer) -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    d0 = server.dossiers[0]
    source_config = SourceConfig("serial", device=os.ttyname(slave), host_ack=True)
    console = io.StringIO()
    agent, outbox = in_process_agent(tmp_path, server, console, sources=(source_config,))
    source = SerialSource(source_config)
    stop = threading.Event()
    thread = threading.Thread(target=agent.run, args=([source], stop))
    thread.start()
    try:
        wait_for(lambda: source._port is not None)
        for code, ack in (("$B-B-0003", b"\x1b7"), ("$A-RETURNED", b"\x1b7"),
                          ("$A-SEND", b"\x1b8"), (d0["code"], b"\x1b7")):
            os.write(master, code.encode() + b"\r\n")
            assert wait_for(lambda: os.read(master, 16), timeout=15) == ack, code
    finally:
        stop.set()
        thread.join(15)
        outbox.close()
        os.close(master)
        os.close(slave)
    assert server.device_events() == [(d0["code"], "RETURNED", "B-0003", "diachinh", None)]
    text = console.getvalue()
    assert "[BADGE] $B-B-0003  Bắt đầu phiên của B-0003 · thao tác: Nhận bàn giao hồ sơ" in text
    assert "· người quét: Phạm Quốc Bảo (B-0003)" in text


@pytest.mark.db  # the real server: SQLite, or PostgreSQL with TEST_DATABASE_URL
def test_cards_typed_by_a_keyboard_wedge_scanner_act_like_any_other_read(
        tmp_path: Path, server: TrackerServer) -> None:
    """``$``, ``-`` and ``_`` come through the evdev key decoding (shifted keys) intact."""
    pytest.importorskip("evdev")
    d0, d1, _ = server.dossiers
    typed = ["$B-B-0004", "$A-REQUEST_SUPPLEMENT", d0["code"], d1["code"]]
    keys = [event for i, text in enumerate(typed)
            for event in key_events(text, start=1000.0 + i, gap_ms=6, jitter_ms=3, seed=i)]
    reads = [scan.text for scan in decode_events(keys)]
    assert reads == typed
    console = io.StringIO()
    agent, outbox = in_process_agent(tmp_path, server, console)
    with outbox:
        for text in reads:
            agent.handle(RawScan(text, "evdev:0c2e:0b61"))
        agent.syncer.drain()
    assert server.device_events() == [
        (d0["code"], "REQUEST_SUPPLEMENT", "B-0004", "lanhdao", None),
        (d1["code"], "TRANSFER_IN", "B-0004", "lanhdao", None)]
    assert "· người quét: Nguyễn Văn Thành (B-0004)  <evdev:0c2e:0b61>" in console.getvalue()


# --- configuration, outbox and feedback ---------------------------------------------------------

@pytest.mark.db  # the real server: SQLite, or PostgreSQL with TEST_DATABASE_URL
def test_doctor_checks_the_default_action_against_what_the_server_lets_the_station_scan(
        tmp_path: Path, server: TrackerServer) -> None:
    def doctor(action: str) -> subprocess.CompletedProcess[str]:
        config = write_config(tmp_path, server.url, server, action=action,
                              extra="badge_session_minutes = 20\n")
        return subprocess.run(agent_command("doctor", "--config", str(config)),
                              env=agent_env(tmp_path), capture_output=True, text=True,
                              timeout=60)

    good = doctor("returned")  # the reception desk hands results back
    assert ("station session: default action returned (Trả kết quả); badge session 20 min "
            "without a scan") in good.stdout
    assert "PROBLEM: the server" not in good.stdout
    bad = doctor("result_ready")  # a department's verb, not the desk's
    assert bad.returncode == 1
    assert "PROBLEM: the server does not let this device scan result_ready at TP-DESK" in bad.stdout


def test_the_stations_list_says_what_each_caller_may_scan_there(client, office: Any) -> None:
    device = client.get("/api/v1/stations", headers=office.headers()).get_json()["stations"]
    actions = {s["code"]: s["actions"] for s in device}
    assert "receive" in actions["DESK"] and "receive" not in actions["TUPHAP"]
    assert "result_ready" in actions["TUPHAP"] and "withdrawn" not in actions["DESK"]
    staff = client.get("/api/v1/stations", headers=office.headers("reception")).get_json()
    assert all("withdrawn" in s["actions"] for s in staff["stations"])  # by role, not place


def test_the_default_action_and_session_length_are_checked_when_the_config_is_read() -> None:
    assert from_mapping({"default_action": " Returned "}).default_action == "returned"
    assert from_mapping({"action": "result_ready"}).default_action == "result_ready"  # old key
    assert from_mapping({}).badge_session_minutes == 30.0
    for bad, message in (({"default_action": "teleport"}, "not an action the server knows"),
                         ({"default_action": "send"}, "needs a destination"),
                         ({"action": "returned", "default_action": "returned"}, "once"),
                         ({"badge_session_minutes": -1}, "between 0"),
                         ({"badge_session_minutes": 100_000}, "between 0"),
                         ({"badge_session_minutes": "long"}, "must be a number")):
        with pytest.raises(ConfigError, match=message):
            from_mapping(bad)


def test_an_outbox_of_an_older_agent_gains_the_destination_column(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA.replace("    destination TEXT,\n", ""))
        db.execute("INSERT INTO outbox (event_id, code, kind, source, scanned_at) VALUES "
                   "('e1', 'H12-1', 'official_code', 'stdin', '2026-12-01T08:00:00+07:00')")
    with Outbox(path) as box:
        row = box.add("H12-2", "official_code", "stdin", action="send", destination="H13")
        assert row.event("now")["destination"] == "H13"
        assert [r.destination for r in box.rows()] == [None, "H13"]
        assert "destination" not in box.rows()[0].event("now")


def test_a_scan_recorded_without_its_person_is_shown_flagged_with_the_reason() -> None:
    result = {"status": "accepted", "actor_flag": "foreign_actor"}
    kind = fb.classify("accepted", result)
    assert kind == fb.FLAGGED
    assert fb.explain(kind, result) == fb.ACTOR_REASONS["foreign_actor"]
    both = {"status": "accepted", "flag": "off_plan", "actor_flag": "unknown_actor"}
    assert fb.explain(fb.classify("accepted", both), both) == (
        f"Ngoài quy trình · {fb.ACTOR_REASONS['unknown_actor']}")
