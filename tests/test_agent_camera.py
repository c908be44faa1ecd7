"""Scanner agent: camera and video decoding with labels printed by ``labels/``."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from agent_support import CORPUS, iter_corpus, label_image, scene, wait_for, write_video
from click.testing import CliRunner

from scanner_agent.cli import main
from scanner_agent.config import SourceConfig
from scanner_agent.decode import decode_frame
from scanner_agent.sources import RawScan
from scanner_agent.sources.camera import CameraSource, ReArm, iter_video_codes

CODE = "261122000123"


@pytest.fixture(scope="module")
def label() -> np.ndarray:
    return label_image(CODE, dpi=150)


def texts(frame: np.ndarray) -> list[str]:
    return [d.text for d in decode_frame(frame)]


def test_printed_label_decodes_at_every_tilt(label: np.ndarray) -> None:
    """Row/column scanners miss a Code 128 tilted by 12° or more; the chain must not."""
    for angle in range(0, 95, 5):
        assert texts(scene(label, angle=angle)) == [CODE], f"tilted {angle}°"


@pytest.mark.parametrize(
    ("angle", "scale", "blur", "noise"),
    [(0, 1.0, 1.0, 8), (30, 0.9, 1.0, 8), (60, 0.8, 0.8, 6), (85, 0.7, 0.8, 6), (-20, 1.0, 1.5, 4)],
)
def test_blurred_noisy_small_labels_decode(
    label: np.ndarray, angle: float, scale: float, blur: float, noise: float
) -> None:
    frame = scene(label, angle=angle, scale=scale, blur=blur, noise=noise, seed=int(angle) + 90)
    assert texts(frame) == [CODE]


def test_colour_frames_decode_too(label: np.ndarray) -> None:
    frame = cv2.cvtColor(scene(label, angle=10, size=(640, 480), offset=(0, 0)), cv2.COLOR_GRAY2BGR)
    assert texts(frame) == [CODE]


def test_an_empty_desk_reads_nothing() -> None:
    rng = np.random.default_rng(1)
    desk = np.clip(110 + rng.normal(0, 12, (480, 640)), 0, 255).astype(np.uint8)
    assert texts(desk) == []


def test_rearm_reports_once_until_out_of_view_for_two_seconds() -> None:
    rearm = ReArm(2.0)
    assert rearm.update([CODE], 0.0) == [CODE]
    assert rearm.update([CODE], 0.1) == []
    assert rearm.update([], 1.0) == []
    assert rearm.update([CODE], 1.9) == []  # seen again after only 1.8 s away
    assert rearm.update([CODE], 4.0) == [CODE]  # gone 2.1 s, then back: a new scan
    assert rearm.update([CODE, "HS-0001"], 4.1) == ["HS-0001"]


def _clip(label: np.ndarray, tmp_path: Path) -> Path:
    """5 fps: label 1 s, desk 3 s, label 1.6 s with a one-frame dropout, desk 0.6 s."""
    shown = scene(label, angle=25, size=(640, 480), offset=(0, 0), blur=0.7, noise=4)
    rng = np.random.default_rng(2)
    desk = np.clip(110 + rng.normal(0, 4, (480, 640)), 0, 255).astype(np.uint8)
    frames = [shown] * 5 + [desk] * 15 + [shown] * 4 + [desk] + [shown] * 3 + [desk] * 3
    return write_video(tmp_path / "clip.avi", frames, fps=5.0)


def test_video_reports_a_code_again_only_after_it_left_the_view(
    label: np.ndarray, tmp_path: Path
) -> None:
    reported = list(iter_video_codes(str(_clip(label, tmp_path)), decode_hz=5.0))
    assert [code for _, code in reported] == [CODE, CODE]
    assert reported[0][0] == pytest.approx(0.0)
    assert reported[1][0] == pytest.approx(4.0)


def test_camera_source_on_a_video_file_emits_scans(label: np.ndarray, tmp_path: Path) -> None:
    clip = str(_clip(label, tmp_path))
    source = CameraSource(SourceConfig("camera", device=clip, decode_hz=5.0))
    scans: list[RawScan] = []
    source.run(scans.append, threading.Event())
    assert [s.text for s in scans] == [CODE, CODE]
    assert scans[0].source.startswith("camera:")


CORPUS_SETS = ["zxing-code128-1", "zxing-datamatrix-3", "zxing-qrcode-5"]


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared barcode corpus not present")
def test_corpus_photos_decode_to_their_expected_text() -> None:
    results = [(p, expected, texts(cv2.imread(str(p)))) for p, expected in iter_corpus(CORPUS_SETS)]
    assert len(results) >= 30
    for path, expected, found in results:
        assert found == [expected], path.name


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared barcode corpus not present")
def test_false_positive_set_reads_nothing() -> None:
    images = [p for p, _ in iter_corpus(["zxingcpp-falsepositives-1"])][:12]
    runner = CliRunner()
    result = runner.invoke(main, ["decode", "--json", *map(str, images)])
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert len(lines) == len(images)
    assert all(line["codes"] == [] for line in lines)


def test_decode_command_prints_one_json_object_per_image(label: np.ndarray, tmp_path: Path) -> None:
    good = tmp_path / "label.png"
    cv2.imwrite(str(good), scene(label, angle=40, size=(800, 600), offset=(0, 0)))
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    result = CliRunner().invoke(main, ["decode", "--json", str(good), str(broken)])
    assert result.exit_code == 0, result.output
    first, second = (json.loads(line) for line in result.output.splitlines())
    assert first == {"path": str(good), "codes": [CODE]}
    assert second["path"] == str(broken) and second["codes"] == [] and "error" in second


class FakeCapture:
    """A webcam: serves ``frames`` at ~50 fps, then fails as if unplugged."""

    def __init__(self, frames: list[np.ndarray]) -> None:
        self.frames = list(frames)
        self.released = False

    def read(self) -> tuple[bool, np.ndarray | None]:
        import time

        time.sleep(0.02)
        if not self.frames:
            return False, None
        return True, self.frames.pop(0)

    def release(self) -> None:
        self.released = True


def test_live_camera_reports_once_and_reopens_after_losing_the_camera(
    label: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scanner_agent.sources import camera

    shown = cv2.cvtColor(scene(label, angle=15, size=(640, 480), offset=(0, 0)), cv2.COLOR_GRAY2BGR)
    opened: list[FakeCapture] = []

    def fake_open(device: str, width: int, height: int) -> FakeCapture:
        assert (device, width, height) == ("0", 1280, 720)  # 1280×720 asked for by default
        cap = FakeCapture([shown] * 25)
        opened.append(cap)
        return cap

    monkeypatch.setattr(camera, "open_capture", fake_open)
    scans: list[RawScan] = []
    stop = threading.Event()
    thread = threading.Thread(
        target=CameraSource(SourceConfig("camera", device="0")).run, args=(scans.append, stop)
    )
    thread.start()
    try:
        wait_for(lambda: len(opened) >= 2, timeout=30)  # the camera "came back"
    finally:
        stop.set()
        thread.join(10)
    # Held in view the whole time: one scan, not one per frame, even across the reopen.
    assert [s.text for s in scans] == [CODE]
    assert all(cap.released for cap in opened[:-1])
