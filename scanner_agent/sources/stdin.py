"""Keyboard-wedge scanner typing into the agent's own console: one scan per line."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from ..config import SourceConfig
from . import Emit, RawScan


class StdinSource:
    """Reads lines from standard input (or any text stream) until end of file.

    The console must have focus, and the keyboard layout and input method (Unikey, Telex,
    VNI) apply to what arrives; prefer the evdev or serial source where possible.
    """

    def __init__(self, config: SourceConfig, stream: TextIO | None = None) -> None:
        self.config = config
        self.label = config.label
        self.stream = stream

    def run(self, emit: Emit, stop: threading.Event) -> None:
        """Emit each non-empty line; return at end of input."""
        stream = self.stream or sys.stdin
        for line in stream:
            if stop.is_set():
                return
            text = line.rstrip("\r\n")
            if text.strip():
                emit(RawScan(text, self.label))
