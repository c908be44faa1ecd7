"""Deterministic synthetic camera photos of this project's own labels (held-out decoder set).

Two kinds of printed code, each photographed on a desk at four difficulty levels:

- ``code128``: a 50×30 mm thermal dossier label rendered by ``labels.render_labels`` with
  ``labels.RollLayout(50, 30)``, rasterised with pypdfium2; the truth is its tracking number.
- ``qr``: the receipt's lookup QR code (``labels.barcodes.qr_matrix``, the encoder
  ``labels.render_receipt`` draws with) of a lookup URL ``https://…/tra-cuu/<code>?t=<secret>``;
  the truth is the URL.

Each photo is a 1280×720 grayscale frame: the print is scaled, turned, warped in perspective,
blurred (defocus and motion), lit unevenly with a glare spot, its contrast lowered, sensor
noise added and the frame JPEG-compressed; every parameter is drawn from a range that grows with
the level (1 easiest … 4 hardest) by a generator seeded with (level, index), so the same call
always returns the same pixels. Nothing is written to disk unless asked
(``python bench/synth_labels.py --out DIR`` writes PNGs, for eyeballing, into a folder you name).

These images were never used to tune ``scanner_agent.decode``'s constants before they were
measured; see bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import labels  # noqa: E402
from app.codes import make_tracking_number  # noqa: E402
from labels.barcodes import qr_matrix  # noqa: E402

FRAME = (1280, 720)
LEVELS = (1, 2, 3, 4)
#: Per level: (Code 128 photos, QR photos).
PER_LEVEL = (75, 25)
LABEL_DPI = 203


@dataclass(frozen=True)
class Difficulty:
    """Ranges (low, high) of each degradation at one level."""

    width_px: tuple[float, float]  # printed code's width in the frame, pixels
    angle: tuple[float, float]  # in-plane tilt, degrees (either sign)
    perspective: tuple[float, float]  # corner displacement, fraction of the print's size
    blur: tuple[float, float]  # Gaussian defocus sigma, pixels
    motion: tuple[float, float]  # motion blur length, pixels
    glare: tuple[float, float]  # peak brightness added by the glare spot (0-255)
    contrast: tuple[float, float]  # ink-to-paper contrast kept (1 = full)
    noise: tuple[float, float]  # sensor noise sigma
    jpeg: tuple[float, float]  # JPEG quality


LEVEL_RANGES: dict[int, Difficulty] = {
    1: Difficulty((420, 560), (0, 8), (0, 0.02), (0, 0.6), (0, 0), (0, 20), (0.85, 1.0),
                  (0, 3), (90, 95)),
    2: Difficulty((330, 460), (0, 35), (0.02, 0.06), (0.5, 1.1), (0, 3), (20, 60), (0.6, 0.85),
                  (3, 6), (75, 90)),
    3: Difficulty((280, 400), (0, 90), (0.04, 0.09), (0.8, 1.4), (0, 4), (50, 110), (0.45, 0.7),
                  (4, 8), (65, 85)),
    4: Difficulty((240, 360), (0, 180), (0.06, 0.12), (1.1, 1.8), (0, 5), (80, 150), (0.3, 0.5),
                  (6, 10), (50, 70)),
}  # fmt: skip


@dataclass(frozen=True)
class Sample:
    """One synthetic photo and what it holds.

    :param image: the 1280×720 8-bit grayscale frame.
    :param truth: the text the code encodes.
    :param kind: ``"code128"`` (thermal label) or ``"qr"`` (receipt lookup QR).
    :param level: difficulty, 1 (easiest) to 4.
    :param index: position within the level.
    """

    image: Any
    truth: str
    kind: str
    level: int
    index: int


def tracking_number(level: int, index: int) -> str:
    return make_tracking_number(f"26112{level}{index:05d}")


@functools.cache
def label_print(tracking: str) -> Any:
    """The thermal label of ``tracking`` rasterised at the printer's 203 dpi."""
    import pypdfium2

    tz = timezone(timedelta(hours=7))
    data = labels.LabelData(
        tracking_number=tracking,
        official_code=f"H12.22-{tracking[:6]}-{tracking[6:10]}",
        procedure_name="Cấp giấy phép xây dựng nhà ở riêng lẻ",
        received_at=datetime(2026, 11, 22, 8, tzinfo=tz),
        due_at=datetime(2026, 12, 2, 17, tzinfo=tz),
        office_name="UBND phường Ba Đình",
    )
    pdf = labels.render_labels([data], labels.RollLayout(50, 30))
    document = pypdfium2.PdfDocument(pdf)
    try:
        page = document[0].render(scale=LABEL_DPI / 72, grayscale=True)
        return page.to_numpy().copy()
    finally:
        document.close()


def lookup_url(level: int, index: int) -> str:
    rng = np.random.default_rng([7, level, index])
    secret = "".join(rng.choice(list("ABCDEFGHJKLMNPQRSTUVWXYZ23456789"), 10))
    return f"https://dichvucong.badinh.gov.vn/tra-cuu/{tracking_number(level, index)}?t={secret}"


def qr_print(url: str, module_px: int = 8) -> Any:
    """The receipt's QR code with a 4-module quiet zone on white paper, plus a paper margin."""
    modules = np.array(qr_matrix(url), dtype=bool)
    quiet = 4
    grid = np.pad(~modules, quiet, constant_values=True).astype(np.uint8) * 255
    image = cv2.resize(grid, None, fx=module_px, fy=module_px, interpolation=cv2.INTER_NEAREST)
    return cv2.copyMakeBorder(image, 40, 40, 40, 40, cv2.BORDER_CONSTANT, value=255)


def _draw(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(*bounds))


def photograph(print_: Any, level: int, rng: np.random.Generator, kind: str) -> Any:
    """Place ``print_`` on a desk and degrade it as a phone or webcam would, at ``level``."""
    d = LEVEL_RANGES[level]
    width, height = FRAME
    # Desk: a mid-grey gradient with texture.
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    desk = 95 + 30 * (xx / width) + 15 * (yy / height)
    desk += cv2.GaussianBlur(rng.normal(0, 6, (height, width)).astype(np.float32), (0, 0), 3)

    # The print, scaled so its code is about width_px wide (a QR is narrower for its size).
    target = _draw(rng, d.width_px) * (0.75 if kind == "qr" else 1.0)
    scale = target / print_.shape[1]
    small = cv2.resize(print_, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    h, w = small.shape
    # Corners of the print, turned about its centre and displaced (perspective), then placed.
    angle = np.deg2rad(_draw(rng, d.angle) * rng.choice([-1, 1]))
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32) - [w / 2, h / 2]
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]], np.float32)
    turned = corners @ rot.T
    shift = _draw(rng, d.perspective) * max(w, h)
    turned += rng.uniform(-shift, shift, turned.shape).astype(np.float32)
    span = turned.max(axis=0) - turned.min(axis=0)
    room = np.maximum(np.array([width, height], np.float32) - span - 20, 0)
    centre = np.array([width / 2, height / 2], np.float32) + rng.uniform(-0.5, 0.5, 2) * room
    target_quad = (turned + centre).astype(np.float32)
    matrix = cv2.getPerspectiveTransform(
        np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32), target_quad
    )
    paper = cv2.warpPerspective(small.astype(np.float32), matrix, (width, height),
                                flags=cv2.INTER_LINEAR, borderValue=0)  # fmt: skip
    mask = cv2.warpPerspective(np.ones_like(small, np.float32), matrix, (width, height),
                               flags=cv2.INTER_LINEAR, borderValue=0)  # fmt: skip
    # Low contrast: ink is lifted towards the paper's white.
    contrast = _draw(rng, d.contrast)
    paper = 255 - (255 - paper) * contrast
    paper_white = 0.85 + 0.1 * rng.random()
    frame = desk * (1 - mask) + paper * paper_white * mask

    # Uneven light and a glare spot (additive, saturating, as on glossy thermal paper).
    light = 1.0 - 0.25 * rng.random() * (xx / width if rng.random() < 0.5 else yy / height)
    frame *= light
    gx, gy = centre + rng.uniform(-0.5, 0.5, 2) * span
    radius = max(span) * rng.uniform(0.15, 0.35)
    glare = _draw(rng, d.glare) * np.exp(-((xx - gx) ** 2 + (yy - gy) ** 2) / (2 * radius**2))
    frame += glare

    # Optics: defocus, then motion blur along a random direction.
    sigma = _draw(rng, d.blur)
    if sigma > 0.05:
        frame = cv2.GaussianBlur(frame, (0, 0), sigma)
    length = int(round(_draw(rng, d.motion)))
    if length >= 2:
        kernel = np.zeros((length, length), np.float32)
        kernel[length // 2, :] = 1.0 / length
        direction = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5),
                                            float(rng.uniform(0, 180)), 1.0)  # fmt: skip
        kernel = cv2.warpAffine(kernel, direction, (length, length))
        kernel /= max(float(kernel.sum()), 1e-6)
        frame = cv2.filter2D(frame, -1, kernel)
    frame += rng.normal(0, _draw(rng, d.noise), frame.shape)
    frame = np.clip(frame, 0, 255).astype(np.uint8)
    quality = int(_draw(rng, d.jpeg))
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)


def sample(level: int, index: int) -> Sample:
    """The ``index``-th photo of ``level`` (Code 128 first, then QR), always the same pixels."""
    n_code128, n_qr = PER_LEVEL
    if not 0 <= index < n_code128 + n_qr:
        raise IndexError(index)
    rng = np.random.default_rng([2026, level, index])
    if index < n_code128:
        truth, kind = tracking_number(level, index), "code128"
        print_ = label_print(truth)
    else:
        truth, kind = lookup_url(level, index), "qr"
        print_ = qr_print(truth)
    return Sample(photograph(print_, level, rng, kind), truth, kind, level, index)


def generate(levels: tuple[int, ...] = LEVELS, per_level: int | None = None) -> Iterator[Sample]:
    """All samples of ``levels`` (``per_level`` caps each level, taken across both kinds)."""
    total = sum(PER_LEVEL)
    for level in levels:
        if per_level is None:
            indices = list(range(total))
        else:  # spread over both kinds
            indices = sorted({round(i * (total - 1) / max(per_level - 1, 1))
                              for i in range(per_level)})  # fmt: skip
        for index in indices:
            yield sample(level, index)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="folder for the PNGs")
    parser.add_argument("--per-level", type=int, default=None)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for s in generate(per_level=args.per_level):
        cv2.imwrite(str(args.out / f"L{s.level}-{s.index:03d}-{s.kind}.png"), s.image)
    print(f"wrote to {args.out}")


if __name__ == "__main__":
    main()
