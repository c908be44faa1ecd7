"""Scanner agent: serial / USB-CDC scanners, through pseudo-terminal pairs."""

from __future__ import annotations

import os
import threading
import tty
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import serial
from agent_support import wait_for
from hypothesis import given
from hypothesis import strategies as st

from scanner_agent.config import SourceConfig
from scanner_agent.sources import RawScan, SourceError, serial_source
from scanner_agent.sources.serial_source import LineSplitter, SerialSource, find_port


class Pty:
    """A pseudo-terminal pair: the test writes as the scanner on ``master``."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.name = os.ttyname(self.slave)

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def read_available(self) -> bytes:
        import select

        out = b""
        while select.select([self.master], [], [], 0.2)[0]:
            out += os.read(self.master, 1024)
        return out

    def close(self) -> None:
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


@pytest.fixture
def pty() -> Iterator[Pty]:
    pair = Pty()
    yield pair
    pair.close()


class Running:
    """A serial source running in a thread, collecting what it emits."""

    def __init__(self, source: SerialSource) -> None:
        self.source = source
        self.scans: list[RawScan] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=source.run, args=(self.scans.append, self.stop))

    def __enter__(self) -> Running:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(5)
        assert not self.thread.is_alive()

    def texts(self, count: int) -> list[str]:
        wait_for(lambda: len(self.scans) >= count, timeout=10)
        return [s.text for s in self.scans]


def test_cr_lf_and_crlf_terminators_and_split_writes(pty: Pty) -> None:
    with Running(SerialSource(SourceConfig("serial", device=pty.name))) as run:
        wait_for(lambda: run.source._port is not None)
        pty.write(b"2611220")
        pty.write(b"00123\r")  # CR
        pty.write(b"HS-0002\n")  # LF
        pty.write(b"HS-0003\r")
        pty.write(b"\nHS-00")  # the LF of a CRLF arrives in the next read
        pty.write(b"04\r\n")
        assert run.texts(4) == ["261122000123", "HS-0002", "HS-0003", "HS-0004"]
        assert all(s.source == f"serial:{pty.name}" for s in run.scans)


def test_text_without_terminator_is_taken_after_a_pause(pty: Pty) -> None:
    with Running(SerialSource(SourceConfig("serial", device=pty.name))) as run:
        wait_for(lambda: run.source._port is not None)
        pty.write(b"261122000123")
        assert run.texts(1) == ["261122000123"]


def test_host_ack_answers_good_and_bad_reads(pty: Pty) -> None:
    config = SourceConfig("serial", device=pty.name, host_ack=True)
    with Running(SerialSource(config)) as run:
        wait_for(lambda: run.source._port is not None)
        pty.write(b"261122000123\r\n")
        [scan] = [run.scans[0] for _ in run.texts(1)]
        assert scan.reply is not None
        scan.reply(True)
        assert pty.read_available() == b"\x1b7"
        scan.reply(False)
        assert pty.read_available() == b"\x1b8"


def test_no_ack_is_sent_unless_configured(pty: Pty) -> None:
    with Running(SerialSource(SourceConfig("serial", device=pty.name))) as run:
        wait_for(lambda: run.source._port is not None)
        pty.write(b"261122000123\r")
        run.texts(1)
        assert run.scans[0].reply is None


def test_port_loss_is_survived_and_the_port_reopened(tmp_path: Path) -> None:
    """Unplugging (the pty closes) and replugging (a new pty at the same path) loses nothing."""
    link = tmp_path / "ttyScanner"
    first = Pty()
    link.symlink_to(first.name)
    try:
        with Running(SerialSource(SourceConfig("serial", device=str(link)))) as run:
            wait_for(lambda: run.source._port is not None)
            first.write(b"HS-0001\r\n")
            assert run.texts(1) == ["HS-0001"]
            first.close()  # unplugged
            wait_for(lambda: run.source._port is None)
            second = Pty()
            try:
                link.unlink()
                link.symlink_to(second.name)  # plugged back in (udev recreates the link)
                wait_for(lambda: run.source._port is not None, timeout=15)
                second.write(b"HS-0002\r\n")
                assert run.texts(2) == ["HS-0001", "HS-0002"]
            finally:
                second.close()
    finally:
        first.close()


def test_busy_port_gives_a_clear_error(pty: Pty) -> None:
    holder = serial.Serial(pty.name, exclusive=True)
    try:
        with pytest.raises(SourceError, match="busy: another program has it open"):
            SerialSource(SourceConfig("serial", device=pty.name)).open()
    finally:
        holder.close()


def fake_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    ports = [
        SimpleNamespace(device="/dev/ttyACM0", vid=0x0C2E, pid=0x0B61, serial_number="17046B0E5A",
                        description="Honeywell 1900", manufacturer="Honeywell"),
        SimpleNamespace(device="/dev/ttyUSB0", vid=None, pid=None, serial_number=None,
                        description="n/a", manufacturer=None),
    ]  # fmt: skip
    monkeypatch.setattr(serial_source._serial().tools.list_ports, "comports", lambda: ports)


def test_port_found_by_vid_pid_serial_number_or_name(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_ports(monkeypatch)
    assert find_port("0c2e:0b61") == "/dev/ttyACM0"
    assert find_port("0C2E:0B61") == "/dev/ttyACM0"
    assert find_port("17046B0E5A") == "/dev/ttyACM0"
    assert find_port("/dev/ttyUSB0") == "/dev/ttyUSB0"


def test_missing_port_error_lists_what_is_connected(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_ports(monkeypatch)
    with pytest.raises(SourceError, match=r"no serial port matches '1234:5678'.*ttyACM0"):
        find_port("1234:5678")


@given(
    st.lists(st.text(alphabet="0123456789ABCDEF-.", min_size=1, max_size=25), max_size=6),
    st.sampled_from([b"\r", b"\n", b"\r\n"]),
    st.lists(st.integers(1, 40), min_size=1, max_size=20),
)
def test_any_chunking_of_the_byte_stream_gives_the_same_lines(
    lines: list[str], terminator: bytes, cuts: list[int]
) -> None:
    stream = b"".join(line.encode() + terminator for line in lines)
    splitter = LineSplitter()
    got: list[bytes] = []
    pos = 0
    for size in cuts * (len(stream) // max(1, sum(cuts)) + 1):
        got += splitter.feed(stream[pos : pos + size])
        pos += size
        if pos >= len(stream):
            break
    assert [g.decode() for g in got] == lines
    assert not splitter.pending
