"""Operator feedback for each scan: a console line and a distinct sound per outcome.

Sounds: ``winsound.Beep`` tone patterns on Windows; elsewhere ``<sound_dir>/<kind>.wav`` played
with ``paplay``/``aplay`` when present, otherwise terminal bells (1 = accepted, 2 = duplicate,
3 = refused or unknown code, none while queued offline). A serial scanner with host ACK gets
``ESC 7`` (good) or ``ESC 8`` (bad) through the scan's reply callback.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import click

log = logging.getLogger(__name__)

ACCEPTED = "accepted"
DUPLICATE = "duplicate"
REJECTED = "rejected"
UNKNOWN = "unknown"
QUEUED = "queued"
DOUBLE_READ = "double_read"

KINDS = (ACCEPTED, DUPLICATE, REJECTED, UNKNOWN, QUEUED, DOUBLE_READ)

#: Tone patterns, (frequency Hz, duration ms); one distinct pattern per outcome.
TONES: dict[str, tuple[tuple[int, int], ...]] = {
    ACCEPTED: ((1400, 120),),
    DUPLICATE: ((1400, 80), (1400, 80)),
    REJECTED: ((400, 250), (300, 250), (200, 400)),
    UNKNOWN: ((400, 250), (300, 250), (200, 400)),
    QUEUED: ((800, 150), (1000, 150)),
    DOUBLE_READ: (),
}
#: Terminal bells per outcome when no sound file is configured.
BELLS: dict[str, int] = {ACCEPTED: 1, DUPLICATE: 2, REJECTED: 3, UNKNOWN: 3}
#: Whether the outcome counts as "good" for a scanner's host ACK.
GOOD: dict[str, bool] = {
    ACCEPTED: True,
    DUPLICATE: True,
    QUEUED: True,
    REJECTED: False,
    UNKNOWN: False,
}

_LABELS = {
    ACCEPTED: ("OK", "green"),
    DUPLICATE: ("ALREADY RECORDED", "cyan"),
    REJECTED: ("REFUSED", "red"),
    UNKNOWN: ("UNKNOWN CODE", "red"),
    QUEUED: ("QUEUED OFFLINE", "yellow"),
    DOUBLE_READ: ("double read ignored", "white"),
}


def describe(result: dict[str, Any]) -> str:
    """A short human line from a server result.

    The server's own message is preferred (it already says where the dossier is now); without
    one, the line is built from the dossier: code, where it is, status.
    """
    message = str(result.get("message") or "")
    if message:
        return message
    parts: list[str] = []
    dossier = result.get("dossier") or {}
    if isinstance(dossier, dict) and dossier:
        code = dossier.get("code") or dossier.get("tracking_number")
        if code:
            parts.append(str(code))
        station = dossier.get("station") or {}
        if isinstance(station, dict) and (station.get("name") or station.get("code")):
            parts.append(f"now at {station.get('name') or station.get('code')}")
        status = dossier.get("status_label") or dossier.get("status")
        if status:
            parts.append(f"({status})")
    return " ".join(parts)


class Feedback:
    """Shows each outcome on the console and plays its sound.

    :param out: the console stream (``None``: standard output).
    :param sound: play sounds at all.
    :param sound_dir: folder with ``accepted.wav``, ``duplicate.wav``, ... (optional).
    """

    def __init__(
        self,
        out: TextIO | None = None,
        *,
        sound: bool = True,
        sound_dir: Path | None = None,
        color: bool | None = None,
    ) -> None:
        self.out = out
        self.sound = sound
        self.sound_dir = sound_dir
        self.color = color
        self._player = self._find_player()
        self._lock = threading.Lock()

    @staticmethod
    def _find_player() -> str | None:
        for name in ("paplay", "aplay", "afplay"):
            if shutil.which(name):
                return name
        return None

    def report(
        self,
        kind: str,
        code: str,
        detail: str = "",
        *,
        source: str = "",
        reply: Callable[[bool], None] | None = None,
    ) -> None:
        """Show and sound one outcome, and answer the scanner if it asked for host ACK."""
        label, colour = _LABELS.get(kind, (kind.upper(), "white"))
        line = f"[{label}] {code}"
        if detail:
            line += f"  {detail}"
        if source:
            line += f"  <{source}>"
        with self._lock:
            click.secho(line, file=self.out, fg=colour, color=self.color)
        log.info("%s %s %s %s", kind, code, detail, source)
        if reply is not None and kind in GOOD:
            try:
                reply(GOOD[kind])
            except Exception:
                log.exception("host ACK to %s failed", source)
        if self.sound:
            self.play(kind)

    def play(self, kind: str) -> None:
        """Play the sound of ``kind`` without blocking."""
        if sys.platform == "win32":
            tones = TONES.get(kind, ())
            if tones:
                threading.Thread(target=_beep, args=(tones,), daemon=True).start()
            return
        if self.sound_dir is not None and self._player is not None:
            path = self.sound_dir / f"{kind}.wav"
            if path.is_file():
                subprocess.Popen(  # noqa: S603 - fixed player, our own file
                    [self._player, str(path)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                return
        bells = BELLS.get(kind, 0)
        stream = self.out or sys.stdout
        if bells and stream.isatty():
            stream.write("\a" * bells)
            stream.flush()


def _beep(tones: tuple[tuple[int, int], ...]) -> None:  # pragma: no cover - Windows only
    import winsound

    for frequency, duration in tones:
        winsound.Beep(frequency, duration)  # type: ignore[attr-defined]
