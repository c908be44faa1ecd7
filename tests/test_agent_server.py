"""Scanner agent against the real tracker server (started here on a free port).

The agent runs as its own process, as on an office PC; a fault-injecting proxy sits between
it and the server where a test needs a 500 or a connection cut mid-batch.
"""

from __future__ import annotations

import random
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from agent_support import (
    AgentProcess,
    FaultProxy,
    TrackerServer,
    agent_command,
    agent_env,
    wait_for,
    write_config,
)

from scanner_agent.outbox import Outbox

pytestmark = pytest.mark.skipif(
    not (Path(__file__).parents[1] / "app" / "cli.py").exists(), reason="server not present"
)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> TrackerServer:
    return TrackerServer(tmp_path_factory.mktemp("tracker-template"))


@pytest.fixture
def server(tmp_path: Path, template: TrackerServer) -> Iterator[TrackerServer]:
    tracker = TrackerServer(tmp_path, template=template)
    yield tracker
    tracker.stop()


def codes_for(server: TrackerServer, count: int) -> list[str]:
    """A mix of tracking numbers, official codes and receipt URLs of the demo dossiers."""
    choices = []
    for d in server.dossiers:
        choices += [d["tracking_number"], d["code"], d["lookup_url"]]
    return [choices[i % len(choices)] for i in range(count)]


def prefill(outbox: Path, server: TrackerServer, count: int) -> list[str]:
    """Queue ``count`` scans the way the agent does, as if scanned while offline."""
    codes = codes_for(server, count)
    with Outbox(outbox) as box:
        for code in codes:
            kind = "receipt_url" if code.startswith("http") else "tracking_number"
            box.add(code, kind, "stdin", station=server.station)
        return [r.event_id.replace("-", "") for r in box.rows()]


def pending(outbox: Path) -> int:
    with Outbox(outbox) as box:
        return box.stats().pending


def assert_exactly_once_in_order(server: TrackerServer, expected_ids: list[str]) -> None:
    events = server.scan_events()
    ids = [u for u, _, _, _ in events]
    assert sorted(ids) == sorted(expected_ids), "every scan arrives, none twice"
    assert len(ids) == len(set(ids))
    received = [r for _, _, _, r in events]
    assert received == sorted(received), "no scan reached the server before an earlier one"


def test_scans_during_an_outage_are_delivered_when_the_server_returns(
    tmp_path: Path, server: TrackerServer
) -> None:
    config = write_config(tmp_path, server.url, server)
    agent = AgentProcess(tmp_path, config)
    offline = codes_for(server, 6)
    for code in offline:
        agent.scan(code)
    wait_for(lambda: agent.count("[QUEUED OFFLINE]") == 6, timeout=30)
    assert server.scan_events() == []
    server.start()
    wait_for(lambda: len(server.scan_events()) == 6, timeout=60)
    tracking = server.dossiers[0]["tracking_number"]
    agent.scan(tracking)
    wait_for(lambda: agent.count(f"[OK] {tracking}") == 1, timeout=30)
    assert "đang ở" in agent.lines[-1] and server.dossiers[0]["code"] in agent.lines[-1]
    assert " · hạn " in agent.lines[-1] and "giờ làm việc" in agent.lines[-1]
    misread = tracking[:-1] + str((int(tracking[-1]) + 1) % 10)
    agent.scan(misread)  # fails its check digit: refused locally, never sent
    wait_for(lambda: agent.count(f"[UNKNOWN CODE] {misread}") == 1)
    assert agent.finish() == 0
    events = server.scan_events()
    assert [c for _, _, c, _ in events] == [*offline, tracking]
    with Outbox(tmp_path / "outbox.db") as box:
        assert_exactly_once_in_order(server, [r.event_id.replace("-", "") for r in box.rows()])


def test_unknown_dossier_is_refused_by_the_server_and_shown(
    tmp_path: Path, server: TrackerServer
) -> None:
    server.start()
    agent = AgentProcess(tmp_path, write_config(tmp_path, server.url, server))
    agent.scan("000.00.19.H12-261122-9999")
    wait_for(lambda: agent.count("[REFUSED] 000.00.19.H12-261122-9999") == 1, timeout=30)
    assert agent.finish() == 0
    assert "Không có hồ sơ mang mã này" in agent.lines[-1]
    with Outbox(tmp_path / "outbox.db") as box:
        [row] = box.rows()
        assert row.status == "rejected" and row.result_reason == "unknown_code"


def test_a_scan_the_server_flags_is_shown_as_flagged_with_the_reason_in_vietnamese(
    tmp_path: Path, server: TrackerServer
) -> None:
    """A supplement handed in when none was asked for is recorded, and flagged."""
    server.start()
    config = write_config(tmp_path, server.url, server, action="supplement_received")
    agent = AgentProcess(tmp_path, config)
    dossier = server.dossiers[0]
    agent.scan(dossier["tracking_number"])
    wait_for(lambda: agent.count(f"[FLAGGED] {dossier['tracking_number']}") == 1, timeout=30)
    assert agent.finish() == 0
    line = agent.lines[-1]
    assert "Không có yêu cầu bổ sung nào đang chờ" in line
    assert f"{dossier['code']} · đang ở " in line and " · hạn " in line
    assert len(server.scan_events()) == 1


def test_batches_answered_500_are_retried_and_recorded_once(
    tmp_path: Path, server: TrackerServer
) -> None:
    server.start()
    ids = prefill(tmp_path / "outbox.db", server, 120)
    # Batch 0 fails before reaching the server; batch 1 is recorded, then answered 500.
    with FaultProxy(server.url, {0: "500", 1: "forward-500"}) as proxy:
        agent = AgentProcess(tmp_path, write_config(tmp_path, proxy.url, server, batch_size=50))
        wait_for(lambda: pending(tmp_path / "outbox.db") == 0, timeout=60)
        assert agent.finish() == 0
        assert proxy.requests >= 5
    assert_exactly_once_in_order(server, ids)
    with Outbox(tmp_path / "outbox.db") as box:
        statuses = {r.result_status for r in box.rows()}
    assert statuses == {"accepted", "duplicate"}  # the re-sent batch was already recorded


def test_agent_killed_mid_batch_delivers_everything_exactly_once(
    tmp_path: Path, server: TrackerServer
) -> None:
    server.start()
    outbox = tmp_path / "outbox.db"
    ids = prefill(outbox, server, 200)
    with FaultProxy(server.url, {1: "forward-hold"}) as proxy:
        config = write_config(tmp_path, proxy.url, server, batch_size=50)
        agent = AgentProcess(tmp_path, config)
        proxy.held.wait(60)  # the server recorded batch 2; its answer never comes
        agent.kill()
        assert len(server.scan_events()) == 100
        assert pending(outbox) == 150
        restarted = AgentProcess(tmp_path, config)
        wait_for(lambda: pending(outbox) == 0, timeout=60)
        assert restarted.finish() == 0
    assert_exactly_once_in_order(server, ids)


def test_repeated_kill_9_at_random_instants_loses_and_doubles_nothing(
    tmp_path: Path, server: TrackerServer
) -> None:
    server.start()
    outbox = tmp_path / "outbox.db"
    ids = prefill(outbox, server, 600)
    config = write_config(tmp_path, server.url, server, batch_size=20)
    rng = random.Random(7)
    for _ in range(4):
        agent = AgentProcess(tmp_path, config)
        time.sleep(rng.uniform(0.3, 1.5))
        agent.kill()
    final = AgentProcess(tmp_path, config)
    wait_for(lambda: pending(outbox) == 0, timeout=120)
    assert final.finish() == 0
    assert_exactly_once_in_order(server, ids)


def test_doctor_and_test_scan_against_the_real_server(
    tmp_path: Path, server: TrackerServer
) -> None:
    server.start()
    config = write_config(tmp_path, server.url, server)
    env = agent_env(tmp_path)
    doctor = subprocess.run(agent_command("doctor", "--config", str(config)), env=env,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert "token accepted" in doctor.stdout and f"station {server.station}: known" in doctor.stdout
    tracking = server.dossiers[1]["tracking_number"]
    scan = subprocess.run(agent_command("test-scan", tracking, "--config", str(config)), env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert scan.returncode == 0 and f"[OK] {tracking}" in scan.stdout
    bad = config.read_text(encoding="utf-8").replace(server.token, "trk_dev_revoked")
    config.write_text(bad, encoding="utf-8")
    denied = subprocess.run(agent_command("doctor", "--config", str(config)), env=env,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert denied.returncode == 1 and "refused the device token" in denied.stdout
