"""Scan sources: each runs in its own thread and hands raw scans to the agent.

A source's ``run(emit, stop)`` calls ``emit(RawScan)`` for every scan until ``stop`` is set or
its input ends. Sources survive their device disappearing (they wait and reopen it); they only
raise :class:`SourceError` for a configuration problem they cannot get past.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from ..config import SourceConfig


class SourceError(RuntimeError):
    """A source cannot run (missing extra, bad device name, permission denied)."""


def local_now() -> datetime:
    """The current time with the local UTC offset."""
    return datetime.now(UTC).astimezone()


@dataclass(frozen=True)
class RawScan:
    """One scan as read from a device, before normalization.

    :param text: what the scanner sent (without its terminator).
    :param source: the source's label, e.g. ``serial:/dev/ttyACM0``.
    :param scanned_at: when it was read (local time with offset).
    :param reply: host ACK callback (``True`` = good read), for scanners that support it.
    """

    text: str
    source: str
    scanned_at: datetime = field(default_factory=local_now)
    reply: Callable[[bool], None] | None = None


Emit = Callable[[RawScan], None]


class Source(Protocol):
    """What the agent runs in a thread."""

    label: str

    def run(self, emit: Emit, stop: threading.Event) -> None: ...


def build_source(config: SourceConfig) -> Source:
    """Create the source for ``config``; heavy libraries are imported only here.

    :raises SourceError: if the extra needed by this source type is not installed.
    """
    if config.type == "stdin":
        from .stdin import StdinSource

        return StdinSource(config)
    if config.type == "serial":
        from .serial_source import SerialSource

        return SerialSource(config)
    if config.type == "evdev":
        from .evdev_source import EvdevSource

        return EvdevSource(config)
    if config.type == "camera":
        from .camera import CameraSource

        return CameraSource(config)
    msg = f"unknown source type {config.type!r}"
    raise SourceError(msg)
