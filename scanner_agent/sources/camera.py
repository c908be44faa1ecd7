"""Camera (webcam) or video-file scanning with OpenCV and the decoder chain.

A live camera is opened at 1280×720 by default with a one-frame buffer; a reader thread keeps
only the latest frame, and the decoder takes that frame at ``decode_hz`` (10 Hz by default),
giving each frame a deadline so the rate holds. A video file is read frame by frame and sampled
at ``decode_hz`` of *video* time, so results do not depend on the machine's speed.

A code is reported once and re-armed only after it has been out of view for ``rearm_seconds``
(2 s), as ZBar's video cache does, so a label held under the camera is one scan.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

from ..config import SourceConfig
from . import Emit, RawScan, SourceError

log = logging.getLogger(__name__)


class ReArm:
    """Report a code once; report it again only after ``seconds`` without seeing it."""

    def __init__(self, seconds: float = 2.0) -> None:
        self.seconds = seconds
        self._last_seen: dict[str, float] = {}

    def update(self, codes: Iterable[str], now: float) -> list[str]:
        """Feed the codes seen in one frame at time ``now``; return those to report."""
        new = []
        for code in dict.fromkeys(codes):
            last = self._last_seen.get(code)
            if last is None or now - last >= self.seconds:
                new.append(code)
            self._last_seen[code] = now
        stale = [c for c, t in self._last_seen.items() if now - t >= 2 * self.seconds]
        for code in stale:
            del self._last_seen[code]
        return new


def _cv2() -> Any:
    try:
        import cv2
    except ImportError as exc:
        msg = "the camera source needs the 'camera' extra (opencv-python, zxing-cpp, pyzbar)"
        raise SourceError(msg) from exc
    return cv2


def _is_file(device: str) -> bool:
    return not device.isdigit()


def open_capture(device: str, width: int = 1280, height: int = 720) -> Any:
    """Open a camera index or a video file.

    :raises SourceError: if it cannot be opened.
    """
    cv2 = _cv2()
    if _is_file(device):
        if not os.path.exists(device):
            msg = f"video file not found: {device}"
            raise SourceError(msg)
        cap = cv2.VideoCapture(device)
    else:
        index = int(device)
        # MSMF can take seconds to open a webcam on Windows; DirectShow does not.
        api = cv2.CAP_DSHOW if os.name == "nt" else cv2.CAP_ANY
        cap = cv2.VideoCapture(index, api)
        if cap.isOpened():
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
    if not cap.isOpened():
        cap.release()
        what = f"video file {device}" if _is_file(device) else f"camera {device}"
        msg = f"cannot open {what} (not connected, or in use by another program)"
        raise SourceError(msg)
    return cap


def iter_video_codes(
    path: str, decode_hz: float = 10.0, rearm_seconds: float = 2.0
) -> Iterator[tuple[float, str]]:
    """Yield ``(video time in s, code)`` for each code the camera source would report."""
    from ..decode import decode_frame

    cv2 = _cv2()
    cap = open_capture(path)
    try:
        fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
        step = max(1, round(fps / decode_hz))
        rearm = ReArm(rearm_seconds)
        index = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                return
            if index % step == 0:
                t = index / fps
                codes = [d.text for d in decode_frame(frame)]
                for code in rearm.update(codes, t):
                    yield t, code
            index += 1
    finally:
        cap.release()


class _LatestFrame:
    """Reads a live camera continuously, keeping only the newest frame."""

    def __init__(self, cap: Any) -> None:
        self.cap = cap
        self.frame: Any = None
        self.count = 0
        self.failed = False
        self._lock = threading.Lock()

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            ok, frame = self.cap.read()
            if not ok:
                self.failed = True
                return
            with self._lock:
                self.frame, self.count = frame, self.count + 1

    def latest(self) -> tuple[Any, int]:
        with self._lock:
            return self.frame, self.count


class CameraSource:
    """Scans codes held in front of a webcam, or in a video file."""

    def __init__(self, config: SourceConfig) -> None:
        self.config = config
        self.label = config.label

    def run(self, emit: Emit, stop: threading.Event) -> None:
        """Report codes until ``stop`` (or the end of a video file unless ``loop``)."""
        from ..decode import DecoderUnavailable, decode_frame

        try:
            decode_frame(__import__("numpy").zeros((8, 8), dtype="uint8"))
        except (ImportError, DecoderUnavailable) as exc:
            raise SourceError(str(exc)) from exc
        if _is_file(self.config.device):
            while not stop.is_set():
                for _, code in iter_video_codes(
                    self.config.device, self.config.decode_hz, self.config.rearm_seconds
                ):
                    if stop.is_set():
                        return
                    emit(RawScan(code, self.label))
                if not self.config.loop:
                    return
            return
        self._run_live(emit, stop)

    def _run_live(self, emit: Emit, stop: threading.Event) -> None:
        from ..decode import decode_frame

        period = 1.0 / max(0.5, self.config.decode_hz)
        rearm = ReArm(self.config.rearm_seconds)
        delay = 0.5
        while not stop.is_set():
            try:
                cap = open_capture(self.config.device, self.config.width, self.config.height)
            except SourceError as exc:
                log.warning("%s: %s; retrying in %.0f s", self.label, exc, delay)
                stop.wait(delay)
                delay = min(delay * 2, 10.0)
                continue
            delay = 0.5
            reader = _LatestFrame(cap)
            reader_stop = threading.Event()
            thread = threading.Thread(target=reader.run, args=(reader_stop,), daemon=True)
            thread.start()
            seen = 0
            try:
                while not stop.is_set() and not reader.failed:
                    started = time.monotonic()
                    frame, count = reader.latest()
                    if frame is not None and count != seen:
                        seen = count
                        found = decode_frame(frame, deadline=started + period * 0.8)
                        for code in rearm.update([d.text for d in found], started):
                            emit(RawScan(code, self.label))
                    stop.wait(max(0.0, period - (time.monotonic() - started)))
                if reader.failed:
                    log.warning("%s: camera stopped delivering frames; reopening", self.label)
            finally:
                reader_stop.set()
                thread.join(timeout=2)
                cap.release()
