"""Keyboard-wedge scanners on Linux read below the desktop with evdev.

The device is grabbed (its keystrokes reach no other program) and its *key codes* are decoded
with a fixed US map, so the desktop keyboard layout and Vietnamese input methods (Telex, VNI,
Unikey) cannot alter a scan. Shift is tracked, numpad digits count as digits, Alt+numpad
decimal codes (a scanner's "ALT mode") are understood, and Enter, keypad Enter or Tab end a
scan. Scanner or human is told apart by inter-key timing: a scan whose keys came slower than
``max_key_gap_ms`` on average (or that is shorter than ``min_length``) is dropped as typing.

The decoder is pure (events in, scans out) and takes ``evdev.InputEvent`` objects or
``(sec, usec, type, code, value)`` tuples, so it is tested without a device.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ..config import SourceConfig
from . import Emit, RawScan, SourceError

log = logging.getLogger(__name__)

EV_KEY = 1
KEY_UP, KEY_DOWN, KEY_REPEAT = 0, 1, 2

# Linux input-event-codes.h values (stable kernel ABI), so decoding needs no evdev import.
KEY_TAB, KEY_ENTER, KEY_KPENTER = 15, 28, 96
KEY_LEFTSHIFT, KEY_RIGHTSHIFT = 42, 54
KEY_LEFTALT, KEY_RIGHTALT = 56, 100
KEY_BACKSPACE = 14
TERMINATORS = frozenset({KEY_ENTER, KEY_KPENTER, KEY_TAB})
SHIFTS = frozenset({KEY_LEFTSHIFT, KEY_RIGHTSHIFT})
ALTS = frozenset({KEY_LEFTALT, KEY_RIGHTALT})

#: key code -> (unshifted, shifted) on a US keyboard.
US_KEYMAP: dict[int, tuple[str, str]] = {
    2: ("1", "!"), 3: ("2", "@"), 4: ("3", "#"), 5: ("4", "$"), 6: ("5", "%"),
    7: ("6", "^"), 8: ("7", "&"), 9: ("8", "*"), 10: ("9", "("), 11: ("0", ")"),
    12: ("-", "_"), 13: ("=", "+"),
    16: ("q", "Q"), 17: ("w", "W"), 18: ("e", "E"), 19: ("r", "R"), 20: ("t", "T"),
    21: ("y", "Y"), 22: ("u", "U"), 23: ("i", "I"), 24: ("o", "O"), 25: ("p", "P"),
    26: ("[", "{"), 27: ("]", "}"),
    30: ("a", "A"), 31: ("s", "S"), 32: ("d", "D"), 33: ("f", "F"), 34: ("g", "G"),
    35: ("h", "H"), 36: ("j", "J"), 37: ("k", "K"), 38: ("l", "L"),
    39: (";", ":"), 40: ("'", '"'), 41: ("`", "~"), 43: ("\\", "|"),
    44: ("z", "Z"), 45: ("x", "X"), 46: ("c", "C"), 47: ("v", "V"), 48: ("b", "B"),
    49: ("n", "N"), 50: ("m", "M"), 51: (",", "<"), 52: (".", ">"), 53: ("/", "?"),
    57: (" ", " "),
    # keypad: digits regardless of NumLock (some scanners send these for every digit)
    71: ("7", "7"), 72: ("8", "8"), 73: ("9", "9"), 74: ("-", "-"),
    75: ("4", "4"), 76: ("5", "5"), 77: ("6", "6"), 78: ("+", "+"),
    79: ("1", "1"), 80: ("2", "2"), 81: ("3", "3"), 82: ("0", "0"), 83: (".", "."),
    55: ("*", "*"), 98: ("/", "/"),
}  # fmt: skip
KEYPAD_DIGITS: dict[int, str] = {
    79: "1",
    80: "2",
    81: "3",
    75: "4",
    76: "5",
    77: "6",
    71: "7",
    72: "8",
    73: "9",
    82: "0",
}


def _unpack(event: Any) -> tuple[float, int, int, int]:
    """``(timestamp, type, code, value)`` from an InputEvent or a 5-tuple."""
    if isinstance(event, tuple):
        sec, usec, etype, code, value = event
        return sec + usec / 1e6, etype, code, value
    return event.sec + event.usec / 1e6, event.type, event.code, event.value


@dataclass(frozen=True)
class KeyScan:
    """A terminated key sequence and its timing."""

    text: str
    keys: int
    duration: float
    mean_gap_ms: float
    by_scanner: bool


class KeyDecoder:
    """Turns one device's key events into scans.

    :param max_key_gap_ms: mean inter-key gap above which the sequence is human typing.
    :param min_length: shorter sequences are treated as typing (a stray Enter, a digit).
    :param timeout_s: a sequence with no key for this long is discarded (unterminated typing).
    """

    def __init__(
        self, max_key_gap_ms: float = 50.0, min_length: int = 4, timeout_s: float = 2.0
    ) -> None:
        self.max_key_gap_ms = max_key_gap_ms
        self.min_length = min_length
        self.timeout_s = timeout_s
        self._shift: set[int] = set()
        self._alt: set[int] = set()
        self._alt_digits = ""
        self._chars: list[str] = []
        self._times: list[float] = []

    def reset(self) -> None:
        """Forget a partial sequence (after unplug)."""
        self._shift.clear()
        self._alt.clear()
        self._alt_digits = ""
        self._chars.clear()
        self._times.clear()

    def feed(self, event: Any) -> KeyScan | None:
        """Process one event; return a scan when a terminator key completes one."""
        ts, etype, code, value = _unpack(event)
        if etype != EV_KEY:
            return None
        if self._times and ts - self._times[-1] > self.timeout_s:
            self._chars.clear()
            self._times.clear()
        if code in SHIFTS:
            (self._shift.add if value else self._shift.discard)(code)
            return None
        if code in ALTS:
            if value:
                self._alt.add(code)
            else:
                self._alt.discard(code)
                if not self._alt and self._alt_digits:
                    self._add(chr(int(self._alt_digits) % 256), ts)
                    self._alt_digits = ""
            return None
        if value != KEY_DOWN:  # key up and autorepeat carry no new character
            return None
        if self._alt and code in KEYPAD_DIGITS:
            self._alt_digits += KEYPAD_DIGITS[code]
            return None
        if code in TERMINATORS:
            return self._finish(ts)
        if code == KEY_BACKSPACE:
            if self._chars:
                self._chars.pop()
            self._times.append(ts)
            return None
        pair = US_KEYMAP.get(code)
        if pair is not None:
            self._add(pair[1] if self._shift else pair[0], ts)
        return None

    def _add(self, char: str, ts: float) -> None:
        self._chars.append(char)
        self._times.append(ts)

    def _finish(self, ts: float) -> KeyScan | None:
        if not self._chars:
            return None
        times = [*self._times, ts]
        text = "".join(self._chars)
        self._chars.clear()
        self._times.clear()
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        mean_gap_ms = 1000.0 * sum(gaps) / len(gaps) if gaps else 0.0
        by_scanner = len(text) >= self.min_length and mean_gap_ms <= self.max_key_gap_ms
        return KeyScan(text, len(text), times[-1] - times[0], mean_gap_ms, by_scanner)


def decode_events(events: Iterable[Any], **options: Any) -> list[KeyScan]:
    """Decode one device's events (InputEvents or tuples) into every terminated sequence."""
    decoder = KeyDecoder(**options)
    return [s for s in (decoder.feed(e) for e in events) if s is not None]


def decode_interleaved(
    events: Iterable[tuple[str, Any]], **options: Any
) -> list[tuple[str, KeyScan]]:
    """Decode ``(device, event)`` pairs from several keyboards, each with its own state."""
    decoders: dict[str, KeyDecoder] = {}
    out = []
    for device, event in events:
        decoder = decoders.setdefault(device, KeyDecoder(**options))
        scan = decoder.feed(event)
        if scan is not None:
            out.append((device, scan))
    return out


def _evdev() -> Any:
    try:
        import evdev
    except ImportError as exc:
        msg = "the evdev source needs Linux and python-evdev (pip install evdev)"
        raise SourceError(msg) from exc
    return evdev


_VID_PID = re.compile(r"^([0-9a-fA-F]{4}):([0-9a-fA-F]{4})$")


def list_keyboards() -> list[dict[str, str]]:
    """Input devices with keys: path, name, VID:PID, phys, and their ``by-id`` links."""
    evdev = _evdev()
    links: dict[str, list[str]] = {}
    by_id = "/dev/input/by-id"
    if os.path.isdir(by_id):
        for name in sorted(os.listdir(by_id)):
            full = os.path.join(by_id, name)
            links.setdefault(os.path.realpath(full), []).append(full)
    devices = []
    for path in evdev.list_devices():
        try:
            dev = evdev.InputDevice(path)
        except OSError as exc:
            devices.append({"path": path, "name": f"(cannot open: {exc.strerror})"})
            continue
        with dev:
            keys = dev.capabilities().get(EV_KEY, [])
            if KEY_ENTER not in keys:
                continue
            devices.append(
                {
                    "path": path,
                    "name": dev.name,
                    "vid_pid": f"{dev.info.vendor:04x}:{dev.info.product:04x}",
                    "phys": dev.phys or "",
                    "by_id": " ".join(links.get(os.path.realpath(path), [])),
                }
            )
    return devices


def find_device(spec: str) -> str:
    """Resolve a ``/dev/input/...`` path or ``VID:PID`` to an event device path.

    :raises SourceError: if nothing matches (listing the keyboards that are there).
    """
    if not _VID_PID.match(spec):
        if os.path.exists(spec):
            return os.path.realpath(spec)
        msg = f"input device {spec} not found (unplugged, or wrong path)"
        raise SourceError(msg)
    keyboards = list_keyboards()
    for dev in keyboards:
        if dev.get("vid_pid") == spec.lower():
            return dev["path"]
    seen = ", ".join(f"{d['path']} {d.get('vid_pid', '?')} {d['name']}" for d in keyboards)
    msg = f"no keyboard device with VID:PID {spec}; found: {seen or 'none'}"
    raise SourceError(msg)


class EvdevSource:
    """Grabs one keyboard-wedge scanner and decodes its key codes."""

    def __init__(self, config: SourceConfig) -> None:
        self.config = config
        self.label = config.label

    def _events(self, dev: Any, stop: threading.Event) -> Iterator[Any]:
        import select

        while not stop.is_set():
            ready, _, _ = select.select([dev.fd], [], [], 0.25)
            if ready:
                yield from dev.read()

    def run(self, emit: Emit, stop: threading.Event) -> None:
        """Read until ``stop``; wait for the device and re-grab it after an unplug."""
        evdev = _evdev()
        decoder = KeyDecoder(self.config.max_key_gap_ms, self.config.min_length)
        delay = 0.5
        while not stop.is_set():
            try:
                path = find_device(self.config.device)
                dev = evdev.InputDevice(path)
            except (SourceError, OSError) as exc:
                text = _permission_hint(exc)
                log.warning("%s: %s; retrying in %.0f s", self.label, text, delay)
                stop.wait(delay)
                delay = min(delay * 2, 10.0)
                continue
            delay = 0.5
            try:
                if self.config.grab:
                    dev.grab()
                log.info("%s: reading %s (%s)", self.label, path, dev.name)
                for event in self._events(dev, stop):
                    scan = decoder.feed(event)
                    if scan is None:
                        continue
                    if scan.by_scanner:
                        emit(RawScan(scan.text, self.label))
                    else:
                        log.info(
                            "%s: ignored %d keys typed at %.0f ms/key (a person, not the scanner)",
                            self.label,
                            scan.keys,
                            scan.mean_gap_ms,
                        )
            except OSError as exc:  # ENODEV after unplug, EBUSY if someone else grabbed it
                log.warning("%s: device lost (%s); waiting for it", self.label, exc)
                decoder.reset()
            finally:
                try:
                    dev.close()
                except OSError:
                    pass


def _permission_hint(exc: Exception) -> str:
    if isinstance(exc, PermissionError):
        return (
            f"{exc}: no permission; install a udev rule giving this user the scanner's "
            f"event device (see README)"
        )
    return str(exc)
