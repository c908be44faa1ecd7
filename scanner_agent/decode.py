"""Barcode decoding chain shared by the camera source and ``scanner-agent decode``.

Measured on this project's corpus (``../shared/bench/barcodes``): zxing-cpp reads the most codes
and is the fastest, and it is the only decoder here that reads DataMatrix; pyzbar rescues some
codes zxing-cpp misses. Both scan rows and columns only, so a Code 128 tilted by 12° or more is
missed by both. The chain, which stops at the first stage that reads anything:

1. ``direct``: zxing-cpp.
2. ``curved``: a QR code zxing-cpp located but could not decode (bent label) is handed, with
   zxing-cpp's corners, to OpenCV's curved-QR decoder.
3. ``region``: OpenCV's barcode *detector* boxes 1D codes (it is used only to locate: its
   decoder cannot read Code 128 and returns wrong EAN numbers); each box is turned upright,
   upscaled and decoded (zxing-cpp, then pyzbar), then sharpened and decoded again.
4. ``texture``: 1D codes the detector misses (faded, glared, blurred photos) are located as
   regions of strong, coherent gradient (a structure tensor on a half-size copy), turned
   upright and decoded by zxing-cpp, as is and contrast-equalised (CLAHE).
5. ``pyzbar`` on the whole image (a pyzbar 1D read must be confirmed on a 0.7× copy).
6. ``blur``: zxing-cpp, then pyzbar, after a light blur, for halftone or noisy prints.
7. ``rotate`` and 8. ``enhance`` (whole image at 15° steps; 2× upscale; unsharp mask) run only
   when an earlier stage saw evidence of a code, so an empty desk stays cheap.

With a deadline (live camera), a stage whose recent cost on frames of this size would overrun
it is skipped; the first stage always runs.

OpenCV, numpy, zxing-cpp and pyzbar are imported lazily (the ``camera`` extra), so the agent
runs with a keyboard or serial scanner without them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    Image = np.ndarray[Any, Any]
else:
    Image = Any

#: Angles (degrees) of the whole-image retry; zxing-cpp's own ``try_rotate`` covers 90° steps,
#: and a row scan tolerates roughly ±10°, so 15° steps over a quarter turn cover every tilt.
ROTATION_ANGLES: tuple[int, ...] = (15, 30, 45, 60, 75)
#: Region crops are upscaled until their longer side reaches this many pixels (at most 4×).
REGION_TARGET_PX = 900
#: Images smaller than this (longer side, pixels) get a 2× upscaled retry.
SMALL_IMAGE_PX = 1000
MAX_REGIONS = 4
#: Bar-texture regions tried by the ``texture`` stage (the largest first).
TEXTURE_REGIONS = 2
#: ... and their crops upscaled to this many pixels (longer side, at most 4×).
TEXTURE_TARGET_PX = 600
#: Small soft images are upscaled to this size (longer side) before the unsharp mask.
SHARPEN_PX = 800


@dataclass(frozen=True)
class Decoded:
    """One code read from an image.

    :param text: the decoded text, exactly as the decoder returned it (no normalization).
    :param format: the symbology, e.g. ``"Code128"`` or ``"QRCode"``.
    :param decoder: ``"zxing-cpp"``, ``"pyzbar"`` or ``"opencv-curved"``.
    :param stage: the chain stage that read it (``direct``, ``curved``, ``region``,
        ``texture``, ``blur``, ``rotate``, ``enhance``).
    """

    text: str
    format: str
    decoder: str
    stage: str


class DecoderUnavailable(RuntimeError):
    """The ``camera`` extra (opencv-python, zxing-cpp, pyzbar, numpy) is not installed."""


def _require() -> tuple[Any, Any, Any]:
    try:
        import cv2
        import numpy
        import zxingcpp
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        msg = (
            f"camera decoding needs the 'camera' extra (opencv-python, zxing-cpp, pyzbar, "
            f"numpy): {exc}"
        )
        raise DecoderUnavailable(msg) from exc
    return cv2, numpy, zxingcpp


def _pyzbar() -> Any | None:
    try:
        from pyzbar import pyzbar
    except (ImportError, OSError):  # OSError: libzbar0 missing on Linux
        return None
    return pyzbar


def load_image(path: str | Path) -> Image:
    """Read an image file as 8-bit grayscale.

    ``cv2.imread`` cannot open non-ASCII paths on Windows, so the bytes are read by Python.

    :raises ValueError: if the file is not an image OpenCV can read.
    """
    cv2, np, _ = _require()
    data = np.fromfile(str(path), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
    if image is None:
        msg = f"{path}: not an image OpenCV can read"
        raise ValueError(msg)
    return image


def to_gray(frame: Image) -> Image:
    """Return an 8-bit single-channel view of a BGR, BGRA or grayscale frame."""
    cv2, np, _ = _require()
    if frame.ndim == 3:
        code = cv2.COLOR_BGRA2GRAY if frame.shape[2] == 4 else cv2.COLOR_BGR2GRAY
        frame = cv2.cvtColor(frame, code)
    if frame.dtype != np.uint8:
        frame = cv2.normalize(frame, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    return frame


# -- single decoders ---------------------------------------------------------------------------


def read_zxing(gray: Image, stage: str = "direct", **options: Any) -> list[Decoded]:
    """Decode with zxing-cpp, returning raw text (``TextMode.Plain``: no ``<GS>`` escapes)."""
    _, _, zxingcpp = _require()
    found = zxingcpp.read_barcodes(gray, text_mode=zxingcpp.TextMode.Plain, **options)
    return [
        Decoded(b.text, str(b.format).replace(" ", ""), "zxing-cpp", stage)
        for b in found
        if b.valid and b.text
    ]


def _bytes_to_text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def read_pyzbar(gray: Image, stage: str = "direct") -> list[Decoded]:
    """Decode with pyzbar (ZBar); returns nothing when pyzbar or libzbar is missing."""
    global _PYZBAR_SYMBOLS
    pyzbar = _pyzbar()
    if pyzbar is None:
        return []
    if _PYZBAR_SYMBOLS is None:
        # DataBar is not used on dossiers, and ZBar's DataBar decoder prints assertion noise.
        skip = {"NONE", "PARTIAL", "DATABAR", "DATABAR_EXP", "COMPOSITE"}
        _PYZBAR_SYMBOLS = [s for s in pyzbar.ZBarSymbol if s.name not in skip]
    return [
        Decoded(_bytes_to_text(s.data), str(s.type), "pyzbar", stage)
        for s in pyzbar.decode(gray, symbols=_PYZBAR_SYMBOLS)
        if s.data
    ]


#: ZBar symbologies without error correction, whose reads the chain double-checks.
_PYZBAR_LINEAR = frozenset(
    {"CODE128", "CODE39", "CODE93", "EAN13", "EAN8", "UPCA", "UPCE", "I25", "CODABAR",
     "ISBN10", "ISBN13", "EAN2", "EAN5"}
)  # fmt: skip
_PYZBAR_SYMBOLS: list[Any] | None = None


def read_pyzbar_checked(gray: Image, stage: str = "direct") -> list[Decoded]:
    """pyzbar, keeping a 1D read only if a 0.7× copy of the image reads the same text.

    ZBar checks little on blurred, upscaled bars: on this project's tilted-label tests it
    returned a wrong Code 128 beside the right one from the same crop. QR codes carry
    Reed-Solomon correction and pass unchecked (ZBar's own video mode similarly wants
    several consistent 1D reads before reporting one).
    """
    cv2, _, _ = _require()
    found = read_pyzbar(gray, stage)
    if not any(d.format in _PYZBAR_LINEAR for d in found):
        return found
    small = cv2.resize(gray, None, fx=0.7, fy=0.7, interpolation=cv2.INTER_AREA)
    confirmed = {d.text for d in read_pyzbar(small, stage)}
    return [d for d in found if d.format not in _PYZBAR_LINEAR or d.text in confirmed]


def read_opencv_barcode(gray: Image) -> list[Decoded]:
    """OpenCV's ``cv2.barcode`` decoder: for the benchmark only, never part of the chain."""
    cv2, _, _ = _require()
    detector = cv2.barcode.BarcodeDetector()
    ok, texts, types, _ = detector.detectAndDecodeWithType(gray)
    if not ok:
        return []
    return [Decoded(t, str(k), "opencv", "direct") for t, k in zip(texts, types, strict=False) if t]


# -- chain stages ------------------------------------------------------------------------------


@dataclass
class Frame:
    """One image going through the chain, and what earlier stages learnt about it.

    :param evidence: something code-like was seen (zxing-cpp found a QR code it could not
        decode, or OpenCV's detector found a 1D region). The costly retries run only then, so
        an empty desk costs a few milliseconds per frame, not hundreds.
    """

    gray: Image
    evidence: bool = False
    boxes: list[Any] = field(default_factory=list)
    qr_quads: list[Any] = field(default_factory=list)


def _both(gray: Image, stage: str) -> list[Decoded]:
    found = read_zxing(gray, stage)
    return found or read_pyzbar_checked(gray, stage)


def _stage_direct(frame: Frame) -> list[Decoded]:
    _, _, zxingcpp = _require()
    found = zxingcpp.read_barcodes(
        frame.gray, text_mode=zxingcpp.TextMode.Plain, return_errors=True
    )
    good = [
        Decoded(b.text, str(b.format).replace(" ", ""), "zxing-cpp", "direct")
        for b in found
        if b.valid and b.text
    ]
    # A QR symbol found but not decoded is evidence worth the costly retries; undecodable
    # DataMatrix "symbols" turn up in plain sensor noise, so they are not.
    for b in found:
        if not b.valid and b.format == zxingcpp.BarcodeFormat.QRCode:
            p = b.position
            corners = (p.top_left, p.top_right, p.bottom_right, p.bottom_left)
            frame.qr_quads.append([[c.x, c.y] for c in corners])
    frame.evidence = frame.evidence or bool(frame.qr_quads)
    return good


def _stage_pyzbar(frame: Frame) -> list[Decoded]:
    # After the region stage because ZBar is the slowest decoder on a full frame (~80 ms at
    # 1280×720 here), so a live camera may have to skip it.
    return read_pyzbar_checked(frame.gray, "direct")


_qr_detector: Any = None


def _stage_curved(frame: Frame) -> list[Decoded]:
    """QR codes zxing-cpp located but could not decode (a label on a curved or creased
    surface): OpenCV's curved-QR decoder, given zxing-cpp's corners, samples the bent grid.
    Its output is Reed-Solomon checked like any QR read."""
    global _qr_detector
    cv2, np, _ = _require()
    if not frame.qr_quads:
        return []
    if _qr_detector is None:
        _qr_detector = cv2.QRCodeDetector()
    found = []
    for quad in frame.qr_quads[:MAX_REGIONS]:
        points = np.array(quad, dtype=np.float32).reshape(1, 4, 2)
        try:
            text, _ = _qr_detector.decodeCurved(frame.gray, points)
        except (cv2.error, UnicodeDecodeError):  # it raises on non-UTF-8 payloads
            continue
        if text:
            found.append(Decoded(text, "QRCode", "opencv-curved", "curved"))
    return found


_detector: Any = None


def _locate_regions(gray: Image) -> list[Any]:
    """Boxes (4×2 float arrays) of likely 1D codes, from OpenCV's detector (location only)."""
    global _detector
    cv2, np, _ = _require()
    if not hasattr(cv2, "barcode"):
        return []
    if _detector is None:
        _detector = cv2.barcode.BarcodeDetector()
    ok, points = _detector.detect(gray)
    if not ok or points is None:
        return []
    boxes = [np.asarray(p, dtype=np.float32).reshape(4, 2) for p in points]
    boxes.sort(key=lambda b: -cv2.contourArea(b))
    return boxes[:MAX_REGIONS]


def _upright_crop(gray: Image, box: Any, target: float = REGION_TARGET_PX) -> tuple[Image, float]:
    """Rotate ``box`` to horizontal, crop it with a quiet-zone margin and upscale it.

    :returns: the crop and the upscale factor.
    """
    cv2, np, _ = _require()
    (cx, cy), (w, h), angle = cv2.minAreaRect(box)
    if w < h:
        w, h, angle = h, w, angle + 90.0
    # Margins: the detector's box hugs the bars; Code 128 needs ≥10 modules of quiet zone.
    w, h = w * 1.3 + 20, h * 1.5 + 20
    scale = min(4.0, max(1.0, target / max(w, 1.0)))
    matrix = cv2.getRotationMatrix2D((cx, cy), angle, scale)
    out_w, out_h = int(w * scale), int(h * scale)
    matrix[0, 2] += out_w / 2 - cx
    matrix[1, 2] += out_h / 2 - cy
    crop = cv2.warpAffine(
        gray, matrix, (out_w, out_h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )
    return crop, scale


def _stage_region(frame: Frame) -> list[Decoded]:
    cv2, _, _ = _require()
    frame.boxes = _locate_regions(frame.gray)
    frame.evidence = frame.evidence or bool(frame.boxes)
    found: list[Decoded] = []
    for box in frame.boxes:
        crop, scale = _upright_crop(frame.gray, box)
        here = _both(crop, "region")
        if not here:
            # Out-of-focus thin bars wash out to grey: an unsharp mask (radius ~1.5 source
            # pixels) restores them. zxing-cpp only, whose Code 128 check is stricter.
            soft = cv2.GaussianBlur(crop, (0, 0), 1.5 * scale)
            here = read_zxing(cv2.addWeighted(crop, 3.0, soft, -2.0, 0), "region")
        found.extend(here)
    return found


def _bar_regions(gray: Image) -> list[Any]:
    """Boxes of bar-like texture, for codes OpenCV's detector misses (low contrast, glare,
    blur): where the gradient is strong and points one way (a coherent structure tensor over
    a window of a few bars), on a half-size copy. Location only; the crops go to zxing-cpp.
    """
    cv2, np, _ = _require()
    small = cv2.resize(gray, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    f = small.astype(np.float32)
    gx = cv2.Sobel(f, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(f, cv2.CV_32F, 0, 1, ksize=3)
    window = (9, 9)
    jxx = cv2.boxFilter(gx * gx, -1, window)
    jyy = cv2.boxFilter(gy * gy, -1, window)
    jxy = cv2.boxFilter(gx * gy, -1, window)
    trace = jxx + jyy
    coherence = np.sqrt((jxx - jyy) ** 2 + 4 * jxy**2) / (trace + 1e-3)
    energy_floor = np.percentile(trace[::4, ::4], 90)
    mask = ((coherence > 0.6) & (trace > energy_floor)).astype(np.uint8) * 255
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((4, 4), np.uint8))
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    contours = sorted(contours, key=cv2.contourArea, reverse=True)[:MAX_REGIONS]
    return [
        cv2.boxPoints(cv2.minAreaRect(c)).astype(np.float32) * 2
        for c in contours
        if cv2.contourArea(c) > 200
    ]


def _stage_texture(frame: Frame) -> list[Decoded]:
    """1D codes OpenCV's detector did not box: the two largest bar-texture regions, turned
    upright, then zxing-cpp on the crop, its contrast-equalised copy (glare, faded print) and
    that copy's unsharp mask (blur), stopping at the first read. zxing-cpp only (its Code 128
    check is stricter than ZBar's); the crop is upright, so its own rotations are skipped."""
    cv2, _, _ = _require()
    clahe = cv2.createCLAHE(2.0, (4, 4))
    for box in _bar_regions(frame.gray)[:TEXTURE_REGIONS]:
        crop, scale = _upright_crop(frame.gray, box, TEXTURE_TARGET_PX)
        found = read_zxing(crop, "texture", try_rotate=False)
        if found:
            return found
        equalised = clahe.apply(crop)
        found = read_zxing(equalised, "texture", try_rotate=False)
        if found:
            return found
        soft = cv2.GaussianBlur(equalised, (0, 0), 1.5 * scale)
        found = read_zxing(cv2.addWeighted(equalised, 3.0, soft, -2.0, 0), "texture",
                           try_rotate=False)  # fmt: skip
        if found:
            return found
    return []


def _stage_blur(frame: Frame) -> list[Decoded]:
    cv2, _, _ = _require()
    # Halftone or noisy prints: a light blur merges the dots into modules.
    return _both(cv2.GaussianBlur(frame.gray, (5, 5), 0), "blur")


def rotate_image(gray: Image, angle: float) -> Image:
    """Rotate the whole image by ``angle`` degrees, growing the canvas so nothing is cut."""
    cv2, np, _ = _require()
    h, w = gray.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_w, new_h = int(h * sin + w * cos), int(h * cos + w * sin)
    matrix[0, 2] += new_w / 2 - w / 2
    matrix[1, 2] += new_h / 2 - h / 2
    # A white border (paper) rather than a replicated edge: smeared edge pixels form fake bars.
    return cv2.warpAffine(
        gray, matrix, (new_w, new_h), borderMode=cv2.BORDER_CONSTANT, borderValue=255
    )


def _stage_rotate(frame: Frame) -> list[Decoded]:
    if not frame.evidence:
        return []
    for angle in ROTATION_ANGLES:
        found = _both(rotate_image(frame.gray, angle), "rotate")
        if found:
            return found
    return []


def _stage_enhance(frame: Frame) -> list[Decoded]:
    cv2, _, zxingcpp = _require()
    gray = frame.gray
    longest = max(gray.shape[:2])
    if not frame.evidence or longest >= SMALL_IMAGE_PX:
        return []
    found = _both(cv2.resize(gray, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC), "enhance")
    if found:
        return found
    # Soft, unevenly lit photos (a code on cloth): upscale to SHARPEN_PX, unsharp mask, then a
    # global threshold instead of the local one.
    scale = SHARPEN_PX / longest
    big = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    sharp = cv2.addWeighted(big, 3.0, cv2.GaussianBlur(big, (0, 0), 5), -2.0, 0)
    return read_zxing(sharp, "enhance", binarizer=zxingcpp.Binarizer.GlobalHistogram)


Stage = Callable[[Frame], list[Decoded]]

#: The chain, in order; the first stage that reads anything ends it.
CHAIN: tuple[tuple[str, Stage], ...] = (
    ("direct", _stage_direct),
    ("curved", _stage_curved),
    ("region", _stage_region),
    ("texture", _stage_texture),
    ("pyzbar", _stage_pyzbar),
    ("blur", _stage_blur),
    ("rotate", _stage_rotate),
    ("enhance", _stage_enhance),
)


def _unique(found: Iterable[Decoded]) -> list[Decoded]:
    seen: set[str] = set()
    out: list[Decoded] = []
    for d in found:
        if d.text not in seen:
            seen.add(d.text)
            out.append(d)
    return out


#: Recent cost (seconds) of each stage per image size, to skip stages that would overrun.
_stage_costs: dict[tuple[str, tuple[int, ...]], float] = {}


def decode_frame(
    frame: Image,
    *,
    deadline: float | None = None,
    stages: Sequence[tuple[str, Stage]] = CHAIN,
) -> list[Decoded]:
    """Run the decoder chain on one image or video frame.

    :param frame: a BGR, BGRA or grayscale image (numpy array).
    :param deadline: a ``time.monotonic()`` value; a stage (other than the first) is started
        only if its recent cost on images of this size fits before it, so a live camera keeps
        its frame rate. ``None`` runs the whole chain.
    :param stages: the chain to run (the default is :data:`CHAIN`).
    :returns: distinct codes, in the order found, from the first stage that read any.
    :raises DecoderUnavailable: without the ``camera`` extra.
    """
    state = Frame(to_gray(frame))
    shape = tuple(state.gray.shape)
    for index, (name, stage) in enumerate(stages):
        started = time.monotonic()
        expected = _stage_costs.get((name, shape), 0.0)
        if deadline is not None and index > 0 and started + expected > deadline:
            continue  # a later, cheaper stage may still fit
        found = stage(state)
        cost = time.monotonic() - started
        previous = _stage_costs.get((name, shape))
        _stage_costs[(name, shape)] = cost if previous is None else 0.8 * previous + 0.2 * cost
        if found:
            return _unique(found)
    return []


def decode_path(path: str | Path) -> list[Decoded]:
    """Load an image file and run the whole chain on it."""
    return decode_frame(load_image(path))
