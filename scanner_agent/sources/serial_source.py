"""Serial / USB-CDC scanners (pyserial): COM ports on Windows, ``/dev/ttyACM*`` on Linux.

The port is found by ``VID:PID`` (hex), USB serial number or port name, so it survives the
scanner getting another COM number. Lines end with CR, LF or CRLF (a CRLF split across two
reads is one terminator); partial reads are joined; text left without a terminator is taken
after an idle gap. If the port disappears (unplugged), the source waits and reopens it.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from typing import Any

from ..config import SourceConfig
from . import Emit, RawScan, SourceError

log = logging.getLogger(__name__)

IDLE_FLUSH_SECONDS = 0.5
MAX_LINE_BYTES = 4096
_VID_PID = re.compile(r"^([0-9a-fA-F]{4}):([0-9a-fA-F]{4})$")


def _serial() -> Any:
    try:
        import serial
        import serial.tools.list_ports  # noqa: F401 - used through the serial module
    except ImportError as exc:
        msg = "the serial source needs pyserial (pip install 'dossier-tracker[agent]')"
        raise SourceError(msg) from exc
    return serial


class LineSplitter:
    """Joins partial reads and splits them on CR, LF or CRLF."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._after_cr = False

    @property
    def pending(self) -> bool:
        """True while a partial line waits for its terminator."""
        return bool(self._buffer)

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes; return the complete lines (without terminators, empty lines dropped)."""
        lines: list[bytes] = []
        for byte in data:
            if byte == 0x0A and self._after_cr:  # the LF of a CRLF
                self._after_cr = False
                continue
            self._after_cr = byte == 0x0D
            if byte in (0x0A, 0x0D):
                if self._buffer:
                    lines.append(bytes(self._buffer))
                    self._buffer.clear()
            elif len(self._buffer) < MAX_LINE_BYTES:
                self._buffer.append(byte)
        return lines

    def flush(self) -> bytes:
        """Return and forget the partial line (for scanners configured without a suffix)."""
        data = bytes(self._buffer)
        self._buffer.clear()
        return data


def decode_line(data: bytes) -> str:
    """Scanner bytes to text: UTF-8 if valid, else Latin-1 (code page 1252-like)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def list_ports() -> list[dict[str, str]]:
    """Serial ports seen by pyserial: device, VID:PID, serial number, description."""
    serial = _serial()
    ports = []
    for p in serial.tools.list_ports.comports():
        vid_pid = f"{p.vid:04x}:{p.pid:04x}" if p.vid is not None and p.pid is not None else ""
        ports.append(
            {
                "device": p.device,
                "vid_pid": vid_pid,
                "serial_number": p.serial_number or "",
                "description": p.description or "",
                "manufacturer": p.manufacturer or "",
            }
        )
    return ports


def find_port(spec: str) -> str:
    """Resolve a port spec to a device name.

    :param spec: ``VID:PID`` (hex), a USB serial number, a port name (``COM3``,
        ``/dev/ttyACM0``, ``/dev/serial/by-id/...``) or a path to an existing device file.
    :raises SourceError: if no connected port matches, listing what is connected.
    """
    match = _VID_PID.match(spec)
    ports = list_ports()
    for p in ports:
        if match and p["vid_pid"] == spec.lower():
            return p["device"]
        if not match and (
            p["device"] == spec or (p["serial_number"] and p["serial_number"] == spec)
        ):
            return p["device"]
    if not match and (os.path.exists(spec) or spec.upper().startswith("COM")):
        return spec
    seen = ", ".join(f"{p['device']} ({p['vid_pid'] or '?'} {p['description']})" for p in ports)
    msg = f"no serial port matches {spec!r}; connected: {seen or 'none'}"
    raise SourceError(msg)


def _open_error(spec: str, exc: Exception) -> str:
    text = str(exc)
    lowered = text.lower()
    if "lock" in lowered or "busy" in lowered or "access is denied" in lowered:
        return f"serial port {spec} is busy: another program has it open ({text})"
    if "permission" in lowered:
        return (
            f"no permission to open {spec}: add this user to the 'dialout' group or install a "
            f"udev rule ({text})"
        )
    return f"cannot open serial port {spec}: {text}"


class SerialSource:
    """Reads one serial scanner; optionally answers with Honeywell host ACK."""

    def __init__(self, config: SourceConfig) -> None:
        self.config = config
        self.label = config.label
        self._port: Any = None
        self._write_lock = threading.Lock()

    def open(self) -> Any:
        """Find and open the port (exclusive on POSIX).

        :raises SourceError: no matching port, busy port or no permission.
        """
        serial = _serial()
        device = find_port(self.config.device)
        kwargs: dict[str, Any] = {"baudrate": self.config.baudrate, "timeout": 0.1}
        if os.name == "posix":
            kwargs["exclusive"] = True
        try:
            return serial.Serial(device, **kwargs)
        except (serial.SerialException, OSError) as exc:
            raise SourceError(_open_error(device, exc)) from exc

    def reply(self, good: bool) -> None:
        """Send ``ESC 7`` (good) or ``ESC 8`` (bad) if host ACK is configured."""
        if not self.config.host_ack:
            return
        data = (self.config.ack_good if good else self.config.ack_bad).encode("latin-1")
        with self._write_lock:
            port = self._port
            if port is not None:
                port.write(data)
                port.flush()

    def run(self, emit: Emit, stop: threading.Event) -> None:
        """Read scans until ``stop``; reopen the port after it is lost."""
        serial = _serial()
        delay = 0.5
        while not stop.is_set():
            try:
                port = self.open()
            except SourceError as exc:
                log.warning("%s: %s; retrying in %.0f s", self.label, exc, delay)
                stop.wait(delay)
                delay = min(delay * 2, 10.0)
                continue
            delay = 0.5
            log.info("%s: reading %s", self.label, port.name)
            with self._write_lock:
                self._port = port
            try:
                self._read(port, emit, stop)
            except (serial.SerialException, OSError) as exc:
                log.warning("%s: port lost (%s); waiting for it to come back", self.label, exc)
            finally:
                with self._write_lock:
                    self._port = None
                try:
                    port.close()
                except (serial.SerialException, OSError):
                    pass

    def _read(self, port: Any, emit: Emit, stop: threading.Event) -> None:
        splitter = LineSplitter()
        last_data = time.monotonic()
        reply = self.reply if self.config.host_ack else None
        while not stop.is_set():
            data = port.read(max(1, port.in_waiting or 1))
            now = time.monotonic()
            if data:
                last_data = now
                for line in splitter.feed(data):
                    emit(RawScan(decode_line(line), self.label, reply=reply))
            elif splitter.pending and now - last_data >= IDLE_FLUSH_SECONDS:
                emit(RawScan(decode_line(splitter.flush()), self.label, reply=reply))
