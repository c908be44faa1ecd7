"""Operator feedback for each scan: a console line and a distinct sound per outcome.

The outcomes the operator must tell apart, each with its own console tag and sound:

- ``accepted``: recorded; the line says where the file is now, its due date and the working
  time left (from the server's device view of the dossier);
- ``flagged``: recorded, but the server flagged it (``after_close``, ``off_plan``, ...): the
  reason in plain Vietnamese, then the same dossier summary;
- ``duplicate``: this very scan was recorded already (a resend);
- ``rejected`` / ``unknown``: refused by the server, or refused on the spot because the code is
  no dossier code: the reason in plain Vietnamese;
- ``queued``: no answer from the server yet; the scan is kept and sent later;
- ``double_read``: the same scanner read the same code again within ``double_read_seconds``;
  dropped here, and said so;
- ``badge``, ``logout``, ``action``: a station card (:mod:`app.station`): a person's session
  began, the session ended, an action card chose (or locked, or reset) the next scans' action.
  Never sent; each line says who is active now and what the next file scan will be.

A file's line ends with the person it was attributed to (``· người quét: <name or badge>``)
and, when an action card chose it, its action. The server names a badge holder of the
device's own office in its answer; an unknown badge or one of another office is recorded
without a name and shown as flagged (:data:`ACTOR_REASONS`).

Sounds: ``winsound.Beep`` tone patterns on Windows; elsewhere ``<sound_dir>/<kind>.wav`` (for
example ``flagged.wav``) played with ``paplay``/``aplay``/``afplay`` when present, otherwise
terminal bells (1 = accepted, 2 = duplicate, 3 = refused or unknown code, 4 = flagged; none
while queued offline or for a double read, whose console line says it). A serial scanner with
host ACK gets ``ESC 7`` (good: recorded, queued or a double read) or ``ESC 8`` (refused)
through the scan's reply callback.

The reason tables are the agent's own: it imports nothing of the server but ``app.codes``
(a test keeps them in step with the server's lists).
"""

from __future__ import annotations

import datetime as dt
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
FLAGGED = "flagged"
DUPLICATE = "duplicate"
REJECTED = "rejected"
UNKNOWN = "unknown"
QUEUED = "queued"
DOUBLE_READ = "double_read"
BADGE = "badge"
LOGOUT = "logout"
ACTION = "action"

KINDS = (ACCEPTED, FLAGGED, DUPLICATE, REJECTED, UNKNOWN, QUEUED, DOUBLE_READ, BADGE, LOGOUT,
         ACTION)

#: Tone patterns, (frequency Hz, duration ms); one distinct pattern per outcome class (the
#: code refused here and the scan refused by the server are one class: refused).
TONES: dict[str, tuple[tuple[int, int], ...]] = {
    ACCEPTED: ((1400, 120),),
    FLAGGED: ((1400, 120), (700, 300)),
    DUPLICATE: ((1400, 80), (1400, 80)),
    REJECTED: ((400, 250), (300, 250), (200, 400)),
    UNKNOWN: ((400, 250), (300, 250), (200, 400)),
    QUEUED: ((800, 150), (1000, 150)),
    DOUBLE_READ: ((2000, 30),),
    BADGE: ((1000, 100), (1400, 100), (1800, 150)),
    LOGOUT: ((1800, 100), (1400, 100), (1000, 150)),
    ACTION: ((1200, 80), (1600, 80)),
}
#: Terminal bells per outcome when no sound file is configured.
BELLS: dict[str, int] = {ACCEPTED: 1, DUPLICATE: 2, REJECTED: 3, UNKNOWN: 3, FLAGGED: 4,
                         BADGE: 1, LOGOUT: 1, ACTION: 1}
#: Whether the outcome counts as "good" for a scanner's host ACK.
GOOD: dict[str, bool] = {
    ACCEPTED: True,
    FLAGGED: True,
    DUPLICATE: True,
    QUEUED: True,
    DOUBLE_READ: True,
    BADGE: True,
    LOGOUT: True,
    ACTION: True,
    REJECTED: False,
    UNKNOWN: False,
}

_LABELS = {
    ACCEPTED: ("OK", "green"),
    FLAGGED: ("FLAGGED", "magenta"),
    DUPLICATE: ("ALREADY RECORDED", "cyan"),
    REJECTED: ("REFUSED", "red"),
    UNKNOWN: ("UNKNOWN CODE", "red"),
    QUEUED: ("QUEUED OFFLINE", "yellow"),
    DOUBLE_READ: ("DOUBLE READ", "white"),
    BADGE: ("BADGE", "blue"),
    LOGOUT: ("LOGOUT", "blue"),
    ACTION: ("ACTION", "blue"),
}

#: Why the server flagged a recorded scan, for the operator (the server's fold flags).
FLAG_REASONS: dict[str, str] = {
    "after_close": "Quét sau khi đã trả kết quả",
    "off_plan": "Ngoài quy trình",
    "before_receipt": "Quét trước khi hồ sơ được tiếp nhận",
    "repeat_receive": "Tiếp nhận lại hồ sơ đã tiếp nhận",
    "no_pending_supplement": "Không có yêu cầu bổ sung nào đang chờ",
    "no_pending_payment": "Không có nghĩa vụ tài chính nào đang chờ",
}
#: Why the server refused a scan, for the operator (the server's rejection reasons).
REFUSAL_REASONS: dict[str, str] = {
    "malformed": "Dữ liệu quét không hợp lệ",
    "bad_time": "Giờ quét không hợp lệ, kiểm tra đồng hồ máy",
    "bad_check_digit": "Sai số kiểm tra, có thể đọc nhầm mã",
    "unrecognized_code": "Không phải mã hồ sơ",
    "unknown_code": "Không có hồ sơ mang mã này",
    "station_not_allowed": "Máy quét không được dùng tại vị trí này",
    "no_station": "Máy quét chưa được gán vị trí nào",
    "out_of_scope": "Hồ sơ không thuộc phạm vi của đơn vị",
    "action_not_allowed": "Thao tác này không được phép tại đây",
    "unknown_destination": "Không rõ nơi nhận hồ sơ",
}
#: Why the server recorded a scan without its person (the server's actor flags).
ACTOR_REASONS: dict[str, str] = {
    "unknown_actor": "Thẻ nhân viên không có trong hệ thống: đã ghi nhận nhưng chưa ghi tên",
    "foreign_actor": "Thẻ nhân viên của đơn vị khác: đã ghi nhận nhưng chưa ghi tên",
}


def flag_reason(flag: str) -> str:
    """The Vietnamese reason of a server flag (the flag itself if this agent is older)."""
    return FLAG_REASONS.get(flag, f"Cần kiểm tra ({flag})")


def refusal_reason(reason: str | None, message: str = "") -> str:
    """The Vietnamese reason of a refusal; the server's own message for a reason not listed."""
    if reason and reason in REFUSAL_REASONS:
        return REFUSAL_REASONS[reason]
    return message or (f"Bị từ chối ({reason})" if reason else "Bị từ chối")


def classify(status: str, result: dict[str, Any]) -> str:
    """The feedback kind of a server answer: a flagged acceptance is its own kind (flagged
    by the dossier's rules, or recorded without the person its badge should have named)."""
    if status == ACCEPTED and (result.get("flag") or result.get("actor_flag")):
        return FLAGGED
    return status if status in KINDS else REJECTED


def _hours(value: float) -> str:
    text = f"{abs(value):.1f}".removesuffix(".0").replace(".", ",")
    return f"{text} giờ làm việc"


def _due(value: str) -> str:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    return moment.strftime("%H:%M %d/%m/%Y")


def describe(result: dict[str, Any]) -> str:
    """A short human line from a server result: the dossier's code, where it is now, its due
    date and the working time left (or its status once finished), in Vietnamese.

    Without the server's device view of the dossier, the server's own message.
    """
    dossier = result.get("dossier") or {}
    if not isinstance(dossier, dict) or not dossier:
        return str(result.get("message") or "")
    parts: list[str] = []
    code = dossier.get("code") or dossier.get("tracking_number")
    if code:
        parts.append(str(code))
    station = dossier.get("station") or {}
    if isinstance(station, dict) and (station.get("name") or station.get("code")):
        where = str(station.get("name") or station.get("code"))
        if station.get("office"):
            where += f" ({station['office']})"
        parts.append(f"đang ở {where}")
    if dossier.get("due_at"):
        parts.append(f"hạn {_due(str(dossier['due_at']))}")
    left = dossier.get("working_hours_left")
    if isinstance(left, (int, float)):
        parts.append(f"còn {_hours(left)}" if left >= 0 else f"quá hạn {_hours(left)}")
        label = dossier.get("on_time_label")
    else:  # finished (or an older server): the status says more than a clock
        label = dossier.get("status_label") or dossier.get("status")
    if label:
        parts.append(str(label))
    return " · ".join(parts)


def explain(kind: str, result: dict[str, Any]) -> str:
    """The detail shown after the code for a server answer of ``kind``."""
    if kind == FLAGGED:
        summary = describe(result)
        reasons = [flag_reason(str(result["flag"]))] if result.get("flag") else []
        if result.get("actor_flag"):
            flag = str(result["actor_flag"])
            reasons.append(ACTOR_REASONS.get(flag, f"Cần kiểm tra người quét ({flag})"))
        reason = " · ".join(reasons)
        return f"{reason} · {summary}" if summary else reason
    if kind in (REJECTED, UNKNOWN):
        return refusal_reason(result.get("reason"), str(result.get("message") or ""))
    if kind == QUEUED:
        why = str(result.get("message") or "")
        said = "Chưa gửi được, sẽ tự gửi khi máy chủ trả lời"
        return f"{said} ({why})" if why else said
    return describe(result)


class Feedback:
    """Shows each outcome on the console and plays its sound.

    :param out: the console stream (``None``: standard output).
    :param sound: play sounds at all.
    :param sound_dir: folder with ``accepted.wav``, ``flagged.wav``, ``duplicate.wav``,
        ``rejected.wav``, ``unknown.wav``, ``queued.wav``, ``double_read.wav``, ``badge.wav``,
        ``logout.wav``, ``action.wav`` (optional; a missing file falls back to terminal bells).
    :param active_person: the hook that names the person whose session is active at this
        scanner, for lines reported without a ``person``; each line then ends with that
        name. ``None`` or a hook that answers ``None``: no name is shown.
    """

    def __init__(
        self,
        out: TextIO | None = None,
        *,
        sound: bool = True,
        sound_dir: Path | None = None,
        color: bool | None = None,
        active_person: Callable[[], str | None] | None = None,
    ) -> None:
        self.out = out
        self.active_person = active_person
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
        person: str | None = None,
    ) -> None:
        """Show and sound one outcome, and answer the scanner if it asked for host ACK.

        :param person: the person to name at the end of the line (``""``: nobody); ``None``:
            ask the ``active_person`` hook.
        """
        label, colour = _LABELS.get(kind, (kind.upper(), "white"))
        line = f"[{label}] {code}" if code else f"[{label}]"
        if detail:
            line += f"  {detail}"
        if person is None and self.active_person is not None:
            person = self.active_person()
        if person:
            line += f"  · người quét: {person}"
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

    def sound_of(self, kind: str) -> Path | tuple[tuple[int, int], ...] | int:
        """The sound ``kind`` gets here: its tone pattern on Windows, else its ``.wav`` file
        when there is one and a player, else the number of terminal bells (0: silence)."""
        if sys.platform == "win32":
            return TONES.get(kind, ())
        if self.sound_dir is not None and self._player is not None:
            path = self.sound_dir / f"{kind}.wav"
            if path.is_file():
                return path
        return BELLS.get(kind, 0)

    def play(self, kind: str) -> None:
        """Play the sound of ``kind`` without blocking."""
        sound = self.sound_of(kind)
        if isinstance(sound, tuple):
            if sound:
                threading.Thread(target=_beep, args=(sound,), daemon=True).start()
        elif isinstance(sound, Path):
            assert self._player is not None
            player = subprocess.Popen(  # noqa: S603 - fixed player, our own file
                [self._player, str(sound)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            # Reaped aside, so that playing never blocks and leaves no zombie behind.
            threading.Thread(target=player.wait, daemon=True).start()
        else:
            stream = self.out or sys.stdout
            if sound and stream.isatty():
                stream.write("\a" * sound)
                stream.flush()


def _beep(tones: tuple[tuple[int, int], ...]) -> None:  # pragma: no cover - Windows only
    import winsound

    for frequency, duration in tones:
        winsound.Beep(frequency, duration)  # type: ignore[attr-defined]
