"""Scanner agent: sending the outbox (against a stub of the server contract)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from agent_support import StubServer, free_port, tracking_numbers

from scanner_agent.client import TrackerClient
from scanner_agent.outbox import DELIVERED, PENDING, REJECTED, Outbox
from scanner_agent.sync import ACCEPTED, QUEUED, Outcome, Syncer, backoff_delay


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def server() -> Iterator[StubServer]:
    with StubServer() as stub:
        yield stub


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    with Outbox(tmp_path / "outbox.db") as box:
        yield box


def make_syncer(outbox: Outbox, url: str, token: str = "good-token", **kw: object) -> Syncer:
    client = TrackerClient(url, token, timeout=5)
    kw.setdefault("rng", lambda: 1.0)
    return Syncer(outbox, client, **kw)  # type: ignore[arg-type]


def queue(outbox: Outbox, codes: list[str]) -> None:
    for code in codes:
        outbox.add(code, "tracking_number", "test", station="RECEPTION")


def test_queued_scans_arrive_in_order_in_batches(outbox: Outbox, server: StubServer) -> None:
    codes = tracking_numbers(25)
    queue(outbox, codes)
    report = make_syncer(outbox, server.url, batch_size=10).drain()
    assert report.delivered == 25
    assert server.state.delivered_codes() == codes
    assert [len(batch) for batch in server.state.attempts] == [10, 10, 5]
    first = server.state.attempts[0][0]
    assert first["station"] == "RECEPTION" and first["seq"] == 1 and "sent_at" in first
    assert outbox.stats().pending == 0 and outbox.stats().last_sync_at


def test_duplicate_answer_counts_as_delivered(outbox: Outbox, server: StubServer) -> None:
    queue(outbox, tracking_numbers(1))
    [row] = outbox.pending(1)
    server.state.events[row.event_id] = row.event("x")  # the server already has it
    make_syncer(outbox, server.url).drain()
    [done] = outbox.rows()
    assert done.status == DELIVERED and done.result_status == "duplicate"


def test_permanent_rejection_is_kept_and_not_retried(outbox: Outbox, server: StubServer) -> None:
    codes = tracking_numbers(3)
    server.state.unknown_codes.add(codes[1])
    queue(outbox, codes)
    syncer = make_syncer(outbox, server.url)
    syncer.drain()
    syncer.drain()
    statuses = [(r.code, r.status, r.result_reason) for r in outbox.rows()]
    assert statuses == [
        (codes[0], DELIVERED, None),
        (codes[1], REJECTED, "unknown_code"),
        (codes[2], DELIVERED, None),
    ]
    assert len(server.state.attempts) == 1
    assert outbox.recent_rejected()[0].result_message == "no such dossier"


def test_server_error_keeps_scans_and_backs_off(outbox: Outbox, server: StubServer) -> None:
    clock = Clock()
    codes = tracking_numbers(3)
    queue(outbox, codes)
    server.state.fail_next = [500, 503]
    syncer = make_syncer(outbox, server.url, clock=clock, backoff_base=2.0, backoff_cap=60.0)
    first = syncer.drain()
    assert first.error and "500" in first.error and first.delivered == 0
    assert first.wait == pytest.approx(4.0)  # attempts=1: min(60, 2 * 2**1) * rng(=1.0)
    assert syncer.sync_once().sent == 0  # not due yet: nothing is sent
    clock.now += 4.0
    second = syncer.drain()
    assert "503" in (second.error or "") and second.wait == pytest.approx(8.0)
    clock.now += 8.0
    assert syncer.drain().delivered == 3
    assert server.state.delivered_codes() == codes
    sent_ats = [batch[0]["sent_at"] for batch in server.state.attempts]
    assert len(server.state.attempts) == 3 and [r.attempts for r in outbox.rows()] == [3, 3, 3]
    assert sent_ats == sorted(sent_ats)  # stamped anew on every attempt
    assert outbox.rows()[0].sent_at == sent_ats[-1]


def test_backoff_survives_a_restart(tmp_path: Path, server: StubServer) -> None:
    clock = Clock()
    server.state.fail_next = [500]
    with Outbox(tmp_path / "o.db") as box:
        queue(box, tracking_numbers(1))
        make_syncer(box, server.url, clock=clock, backoff_base=10.0).drain()
    with Outbox(tmp_path / "o.db") as box:
        syncer = make_syncer(box, server.url, clock=clock, backoff_base=10.0)
        assert syncer.sync_once().wait == pytest.approx(20.0)
        clock.now += 20.0
        assert syncer.drain().delivered == 1


def test_retry_after_header_is_honoured(outbox: Outbox, server: StubServer) -> None:
    queue(outbox, tracking_numbers(1))
    server.state.fail_next = [429]
    server.state.retry_after = "30"
    report = make_syncer(outbox, server.url, rng=lambda: 0.0).drain()
    assert report.wait == pytest.approx(30.0)


def test_server_down_then_up_drains_in_order(outbox: Outbox) -> None:
    port = free_port()
    clock = Clock()
    codes = tracking_numbers(12)
    queue(outbox, codes)
    syncer = make_syncer(outbox, f"http://127.0.0.1:{port}", clock=clock, batch_size=5)
    down = syncer.drain()
    assert down.error and "cannot reach the server" in down.error
    assert outbox.stats().pending == 12 and "cannot reach" in (outbox.stats().last_error or "")
    with StubServer(port) as server:
        clock.now += 3600
        assert syncer.drain().delivered == 12
        assert server.state.delivered_codes() == codes


def test_bad_token_keeps_scans_queued_with_a_clear_error(
    outbox: Outbox, server: StubServer
) -> None:
    queue(outbox, tracking_numbers(2))
    seen: list[Outcome] = []
    syncer = make_syncer(outbox, server.url, token="wrong", on_outcomes=seen.extend)
    report = syncer.drain()
    assert "refused the device token (invalid_token)" in (report.error or "")
    assert [r.status for r in outbox.rows()] == [PENDING, PENDING]
    assert {o.status for o in seen} == {QUEUED}


def test_a_batch_refused_whole_is_split_to_isolate_the_bad_scan(
    outbox: Outbox, server: StubServer
) -> None:
    codes = tracking_numbers(8)
    server.state.broken_codes.add(codes[5])
    queue(outbox, codes)
    syncer = make_syncer(outbox, server.url, batch_size=8)
    for _ in range(10):
        syncer.drain()
    rows = outbox.rows()
    assert [r.code for r in rows if r.status == REJECTED] == [codes[5]]
    assert server.state.delivered_codes() == codes[:5] + codes[6:]
    assert rows[5].result_reason == "malformed"


def test_a_batch_that_times_out_is_retried_smaller(outbox: Outbox, server: StubServer) -> None:
    clock = Clock()
    codes = tracking_numbers(40)
    queue(outbox, codes)
    server.state.slow_over = 10
    client = TrackerClient(server.url, "good-token", timeout=0.3)
    syncer = Syncer(outbox, client, batch_size=40, clock=clock, rng=lambda: 0.0)
    for _ in range(20):
        syncer.drain()
        if not outbox.stats().pending:
            break
    assert server.state.delivered_codes() == codes
    sizes = [len(batch) for batch in server.state.attempts]
    assert sizes[:3] == [40, 20, 10]  # halved after each timeout until it went through
    assert outbox.stats().pending == 0


def test_outcomes_report_the_server_answer(outbox: Outbox, server: StubServer) -> None:
    queue(outbox, tracking_numbers(1))
    seen: list[Outcome] = []
    make_syncer(outbox, server.url, on_outcomes=seen.extend).drain()
    [outcome] = seen
    assert outcome.status == ACCEPTED
    assert outcome.result["dossier"]["station"]["name"] == "Một cửa"


def test_full_jitter_stays_within_the_capped_exponential() -> None:
    assert backoff_delay(0, 1.0, 300.0, lambda: 0.999) < 1.0
    assert backoff_delay(5, 1.0, 300.0, lambda: 0.5) == 16.0
    assert backoff_delay(40, 1.0, 300.0, lambda: 1.0) == 300.0
    assert backoff_delay(3, 1.0, 300.0, lambda: 0.0) == 0.0
