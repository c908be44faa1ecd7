"""Scanner agent: keyboard-wedge scanners decoded from evdev key codes (no device needed)."""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Iterator

import evdev
import pytest
from agent_support import interleave, key_events, wait_for
from evdev import InputEvent, ecodes

from scanner_agent.config import SourceConfig
from scanner_agent.sources import RawScan, SourceError, evdev_source
from scanner_agent.sources.evdev_source import (
    US_KEYMAP,
    EvdevSource,
    KeyDecoder,
    decode_events,
    decode_interleaved,
)

OFFICIAL = "000.00.19.H12-261122-0001"


def test_scanner_speed_keys_decode_to_the_code() -> None:
    [scan] = decode_events(key_events("261122000123", gap_ms=8, jitter_ms=4))
    assert scan.text == "261122000123"
    assert scan.by_scanner


def test_shift_gives_uppercase_and_symbols() -> None:
    [scan] = decode_events(key_events("H12.22-261122-0001", gap_ms=5))
    assert scan.text == "H12.22-261122-0001" and scan.by_scanner
    [scan] = decode_events(key_events('Ab_+{}:"<>?~|!@#$%^&*()', gap_ms=5))
    assert scan.text == 'Ab_+{}:"<>?~|!@#$%^&*()'


def test_numpad_digits_count_as_digits() -> None:
    [scan] = decode_events(key_events("261122000123", numpad=True))
    assert scan.text == "261122000123"


@pytest.mark.parametrize("terminator", ["KEY_ENTER", "KEY_KPENTER", "KEY_TAB"])
def test_enter_keypad_enter_and_tab_end_a_scan(terminator: str) -> None:
    events = key_events("HS-0001", terminator=terminator) + key_events(
        "HS-0002", start=1001.0, terminator=terminator
    )
    assert [s.text for s in decode_events(events)] == ["HS-0001", "HS-0002"]


def test_decoding_ignores_the_desktop_layout_and_input_method() -> None:
    """Key codes, not characters: what Telex/VNI or a Vietnamese layout would type is moot.

    Under Telex "DD" becomes "Đ" and under VNI "A1" becomes "Á"; under the Windows Vietnamese
    layout the digit row types Ă Â Ê Ô. The decoder sees only key positions, so the scanner's
    bytes come out unchanged.
    """
    for text in ("HS-DD01", "AD12-A1", "1234567890"):
        [scan] = decode_events(key_events(text, gap_ms=6))
        assert scan.text == text


def test_human_typing_is_told_apart_from_a_scan() -> None:
    [typed] = decode_events(key_events("261122000123", gap_ms=180, jitter_ms=60))
    assert typed.text == "261122000123"
    assert not typed.by_scanner
    [short] = decode_events(key_events("12", gap_ms=5))
    assert not short.by_scanner  # a stray digit and Enter is not a scan


def test_a_second_keyboard_interleaved_does_not_corrupt_the_scan() -> None:
    scanner = key_events("H12.22-261122-0001", start=1000.0, gap_ms=6)
    person = key_events("hello", start=999.95, gap_ms=70)
    decoded = decode_interleaved(interleave(("scanner", scanner), ("keyboard", person)))
    by_device = {device: scan for device, scan in decoded}
    assert by_device["scanner"].text == "H12.22-261122-0001" and by_device["scanner"].by_scanner
    assert by_device["keyboard"].text == "hello" and not by_device["keyboard"].by_scanner


def test_recorded_tuples_and_alt_numpad_codes_are_understood() -> None:
    """A recording as (sec, usec, type, code, value); the scanner in "ALT mode" types '-'."""
    k = ecodes
    recorded = [
        (5, 0, k.EV_KEY, k.KEY_H, 1), (5, 800, k.EV_KEY, k.KEY_H, 0),
        (5, 4000, k.EV_KEY, k.KEY_S, 1), (5, 4800, k.EV_KEY, k.KEY_S, 0),
        (5, 8000, k.EV_KEY, k.KEY_LEFTALT, 1),
        (5, 9000, k.EV_KEY, k.KEY_KP4, 1), (5, 9500, k.EV_KEY, k.KEY_KP4, 0),
        (5, 10000, k.EV_KEY, k.KEY_KP5, 1), (5, 10500, k.EV_KEY, k.KEY_KP5, 0),
        (5, 11000, k.EV_KEY, k.KEY_LEFTALT, 0),
        (5, 14000, k.EV_KEY, k.KEY_KP0, 1), (5, 14500, k.EV_KEY, k.KEY_KP0, 0),
        (5, 17000, k.EV_KEY, k.KEY_1, 1), (5, 17500, k.EV_KEY, k.KEY_1, 2),
        (5, 18000, k.EV_KEY, k.KEY_1, 0),
        (5, 21000, k.EV_KEY, k.KEY_ENTER, 1), (5, 21500, k.EV_KEY, k.KEY_ENTER, 0),
    ]  # fmt: skip
    [scan] = decode_events(recorded)
    assert scan.text == "hs-01"  # autorepeat (value 2) adds nothing


def test_keymap_codes_match_the_kernel_names() -> None:
    names = {"a": "KEY_A", "1": "KEY_1", "-": "KEY_MINUS", ".": "KEY_DOT", "/": "KEY_SLASH"}
    for char, name in names.items():
        assert US_KEYMAP[ecodes.ecodes[name]][0] == char
    for digit in "0123456789":
        assert US_KEYMAP[ecodes.ecodes[f"KEY_KP{digit}"]][0] == digit


def test_an_unterminated_sequence_is_dropped_after_a_pause() -> None:
    decoder = KeyDecoder(timeout_s=2.0)
    for event in key_events("999", terminator=""):
        decoder.feed(event)
    events = key_events("HS-0001", start=1010.0)
    results = [decoder.feed(e) for e in events]
    assert [r.text for r in results if r] == ["HS-0001"]


# -- the source loop with a fake device: grab, unplug, replug -----------------------------------


class FakeDevice:
    """Stands in for evdev.InputDevice: a pipe to wake select(), and a list of events."""

    def __init__(self, path: str, events: list[InputEvent]) -> None:
        self.path = path
        self.name = "Fake Honeywell scanner"
        self.events = list(events)
        self.unplugged = False
        self.grabbed = False
        self.closed = False
        self._r, self._w = os.pipe()
        os.write(self._w, b"x")

    def fileno(self) -> int:
        return self._r

    @property
    def fd(self) -> int:
        return self._r

    def grab(self) -> None:
        self.grabbed = True

    def read(self) -> Iterator[InputEvent]:
        if self.unplugged:
            raise OSError(errno.ENODEV, "No such device")
        events, self.events = self.events, []
        if not events:
            os.read(self._r, 1)
        return iter(events)

    def unplug(self) -> None:
        self.unplugged = True
        os.write(self._w, b"x")

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self._r)
            os.close(self._w)


def test_source_grabs_the_device_and_survives_unplug_and_replug(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plugged: dict[str, FakeDevice] = {}

    def fake_find(spec: str) -> str:
        if spec not in plugged:
            raise SourceError(f"no keyboard device with VID:PID {spec}")
        return spec

    monkeypatch.setattr(evdev_source, "find_device", fake_find)
    monkeypatch.setattr(evdev, "InputDevice", lambda path: plugged[path])
    scans: list[RawScan] = []
    stop = threading.Event()
    source = EvdevSource(SourceConfig("evdev", device="0c2e:0b61"))
    thread = threading.Thread(target=source.run, args=(scans.append, stop))
    first = FakeDevice("0c2e:0b61", key_events(OFFICIAL) + key_events("hi", gap_ms=300))
    plugged["0c2e:0b61"] = first
    thread.start()
    try:
        wait_for(lambda: len(scans) == 1)
        assert first.grabbed
        first.unplug()
        del plugged["0c2e:0b61"]
        wait_for(lambda: first.closed)
        second = FakeDevice("0c2e:0b61", key_events("261122000123", numpad=True))
        plugged["0c2e:0b61"] = second
        wait_for(lambda: len(scans) == 2, timeout=15)
    finally:
        stop.set()
        thread.join(5)
    assert [s.text for s in scans] == [OFFICIAL, "261122000123"]
    assert {s.source for s in scans} == {"evdev:0c2e:0b61"}
    second.close()


def test_missing_device_message_names_it() -> None:
    with pytest.raises(SourceError, match="not found"):
        evdev_source.find_device("/dev/input/by-id/usb-No_Such_Scanner-event-kbd")
