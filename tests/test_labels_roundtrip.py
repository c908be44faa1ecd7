"""Round trips: render, rasterise at the printer's resolution, decode with two decoders.

Rasterising at the printer's dpi is what the printer driver does; pyzbar (ZBar) and
zxing-cpp stand in for the cheap laser scanner and the 2D imager. Each check is also run
on a degraded copy (blur, noise) so that a marginal symbol does not pass by luck.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import cv2
import numpy as np
import pypdfium2 as pdfium
import pytest
import zxingcpp
from pyzbar import pyzbar
from zpl_support import interpret_zpl

from labels import (
    LAYOUTS,
    LabelData,
    ReceiptData,
    RollLayout,
    SheetLayout,
    render_calibration,
    render_calibration_zpl,
    render_labels,
    render_receipt,
    render_zpl,
    thermal_roll,
)
from labels.barcodes import QUIET_MODULES, code128_modules, code128_widths
from labels.layout import MM, Layout
from labels.plan import BarsOp, plan_label

ICT = timezone(timedelta(hours=7))
RECEIVED = datetime(2026, 11, 22, 9, 15, tzinfo=ICT)
PROCEDURES = (
    "Đăng ký khai sinh",
    "Cấp bản sao trích lục hộ tịch",
    "Đăng ký kết hôn có yếu tố nước ngoài tại Ủy ban nhân dân cấp xã khu vực biên giới",
    "Chứng thực chữ ký",
)


def make_labels(count: int) -> list[LabelData]:
    return [
        LabelData(
            tracking_number=f"2611220{i:04d}{i % 10}",
            official_code=f"000.00.19.H12-261122-{i:04d}",
            procedure_name=PROCEDURES[i % len(PROCEDURES)],
            received_at=RECEIVED + timedelta(minutes=7 * i),
            due_at=RECEIVED + timedelta(days=3, hours=6),
            office_name="Trung tâm Phục vụ hành chính công" if i % 2 else "",
        )
        for i in range(1, count + 1)
    ]


def rasterise(pdf: bytes, dpi: int) -> list[np.ndarray]:
    """Grey pages at ``dpi``, as a printer driver would rasterise them."""
    document = pdfium.PdfDocument(pdf)
    try:
        return [page.render(scale=dpi / 72, grayscale=True).to_numpy().copy() for page in document]
    finally:
        document.close()


def rasterise_poppler(pdf: bytes, dpi: int, folder: Path) -> np.ndarray:
    """First page through pdftoppm, which keeps the exact scale (pdfium stretches the page
    to a whole number of pixels, drifting ~0.1 %, which blurs edges far from the origin).
    """
    path = folder / "page.pdf"
    path.write_bytes(pdf)
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            str(dpi),
            "-gray",
            "-png",
            "-f",
            "1",
            "-l",
            "1",
            str(path),
            str(folder / "raster"),
        ],
        check=True,
    )
    image = cv2.imread(str(next(folder.glob("raster*.png"))), cv2.IMREAD_GRAYSCALE)
    assert image is not None
    return image


def degrade(image: np.ndarray, seed: int = 7, noise: float = 12.0) -> np.ndarray:
    """Speckle then a little blur, like toner spread or a worn thermal head seen by optics.

    ZBar (pyzbar) reads single pixel rows: per-pixel noise without blur, or σ ≥ 20 grey
    levels on 5-dot bars, defeats it where zxing-cpp still reads; the strong variant
    (σ = 30) is therefore only checked with zxing-cpp, and only for Code 128.
    """
    rng = np.random.default_rng(seed)
    noisy = np.clip(image.astype(np.float32) + rng.normal(0, noise, image.shape), 0, 255)
    return np.clip(cv2.GaussianBlur(noisy, (0, 0), 0.7), 0, 255).astype(np.uint8)


def slot_box(layout: Layout, slot: int, dpi: int) -> tuple[int, int, int, int]:
    """Pixel box (left, top, right, bottom) of a slot on the rasterised page."""
    scale = dpi / 72
    x, y = layout.slot_origin(slot)
    page_h = layout.page_size[1]
    w, h = layout.label_width_mm * MM, layout.label_height_mm * MM
    return (
        max(0, round(x * scale)),
        max(0, round((page_h - y - h) * scale)),
        round((x + w) * scale),
        round((page_h - y) * scale),
    )


def with_margin(crop: np.ndarray, pixels: int = 12) -> np.ndarray:
    """White border around a crop, as the label's surroundings would be for a scanner."""
    return cv2.copyMakeBorder(crop, pixels, pixels, pixels, pixels, cv2.BORDER_CONSTANT, value=255)


def decode_both(image: np.ndarray) -> tuple[set[str], set[str], set[str]]:
    """Code 128 texts from zxing-cpp and pyzbar, and QR texts from zxing-cpp."""
    results = zxingcpp.read_barcodes(image)
    zx_1d = {r.text for r in results if r.format == zxingcpp.BarcodeFormat.Code128}
    zx_qr = {r.text for r in results if r.format == zxingcpp.BarcodeFormat.QRCode}
    zbar = {
        s.data.decode("ascii") for s in pyzbar.decode(image, symbols=[pyzbar.ZBarSymbol.CODE128])
    }
    return zx_1d, zbar, zx_qr


CASES = [
    ("thermal-50x30", False),
    ("thermal-40x30", False),
    ("thermal-50x30", True),
    ("thermal-40x30", True),
    ("a4-65", False),
    ("a4-24", False),
    ("a4-24", True),
]


@pytest.mark.parametrize(("key", "with_2d"), CASES)
def test_each_layout_decodes_back_to_the_same_codes(key: str, with_2d: bool) -> None:
    layout = LAYOUTS[key]
    start = 1 if isinstance(layout, RollLayout) else 4
    batch = make_labels(3 if isinstance(layout, RollLayout) else 8)
    pdf = render_labels(batch, layout, start_position=start, with_2d=with_2d)
    pages = rasterise(pdf, layout.dpi)
    for index, label in enumerate(batch):
        if isinstance(layout, RollLayout):
            image, box = pages[index], slot_box(layout, 0, layout.dpi)
        else:
            image, box = pages[0], slot_box(layout, start - 1 + index, layout.dpi)
        crop = with_margin(image[box[1] : box[3], box[0] : box[2]])
        zx_1d, zbar, zx_qr = decode_both(crop)
        assert zx_1d == zbar == {label.tracking_number}, (key, index)
        assert zx_qr == ({label.official_code} if with_2d else set())
        # On noisy images zxing-cpp's downscaled pass can add a second, wrong reading of
        # the same bars that still passes Code 128's mod-103 check (seen on 5-dot bars at
        # 300 dpi); the tracking number's own check digit is what rejects those, so for
        # degraded images zxing-cpp only has to find the right value.
        zx_1d, zbar, zx_qr = decode_both(degrade(crop, seed=index))
        assert label.tracking_number in zx_1d, (key, index)
        assert zbar == {label.tracking_number}, (key, index)
        assert zx_qr == ({label.official_code} if with_2d else set())
        zx_1d, _, _ = decode_both(degrade(crop, seed=index, noise=30))
        assert label.tracking_number in zx_1d, (key, index)


def _dark_runs(row: np.ndarray) -> list[tuple[int, int]]:
    dark = np.concatenate(([False], row < 128, [False]))
    edges = np.flatnonzero(np.diff(dark.astype(np.int8)))
    return list(zip(edges[::2], edges[1::2], strict=True))


@pytest.mark.parametrize("key", ["thermal-50x30", "thermal-40x30", "a4-65", "a4-24"])
@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_bars_are_whole_printer_dots_with_quiet_zones_and_enough_height(
    key: str, tmp_path: Path
) -> None:
    layout = LAYOUTS[key]
    label = make_labels(1)[0]
    slot = 0 if isinstance(layout, RollLayout) else 6
    pdf = render_labels([label], layout, start_position=slot + 1)
    page = rasterise_poppler(pdf, layout.dpi, tmp_path)
    left, top, right, bottom = slot_box(layout, slot, layout.dpi)
    crop = page[top:bottom, left:right]
    (bars,) = [op for op in plan_label(label, layout, ICT) if isinstance(op, BarsOp)]
    middle = round((layout.label_height_mm * MM - bars.y - bars.height / 2) * layout.dpi / 72)
    row = crop[middle]
    runs = _dark_runs(row)
    modules = code128_modules(label.tracking_number)
    assert len(runs) == len(code128_widths(label.tracking_number)) // 2 + 1
    first, last = runs[0][0], runs[-1][1]
    assert last - first == modules * bars.module_dots
    assert bars.module_dots >= layout.min_module_dots
    # Every bar and space is a whole number of modules, and edges sit on the dot grid:
    # an edge pixel is at most 10-15 % grey (the deliberate tenth-of-a-dot inset).
    expected = [w * bars.module_dots for w in code128_widths(label.tracking_number)]
    edges = [int(edge) for run in runs for edge in run]
    assert [b - a for a, b in zip(edges, edges[1:], strict=False)] == expected
    symbol = row[first:last]
    assert np.all((symbol <= 60) | (symbol >= 195))
    # Quiet zones: 10 modules of white on each side, inside the label.
    quiet = QUIET_MODULES * bars.module_dots
    assert first - quiet >= 0 and last + quiet <= row.size
    assert np.all(row[first - quiet : first] == 255)
    assert np.all(row[last : last + quiet] == 255)
    # Bars at least a quarter of the symbol's width tall.
    column = crop[:, first + 1]
    height = max(end - start for start, end in _dark_runs(column))
    assert height >= (last - first) / 4


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_thermal_label_through_pdftoppm_at_203_dpi(tmp_path: Path) -> None:
    label = make_labels(2)[1]
    pdf_path = tmp_path / "label.pdf"
    pdf_path.write_bytes(render_labels([label], LAYOUTS["thermal-40x30"], with_2d=True))
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "203",
            "-gray",
            "-aa",
            "no",
            "-aaVector",
            "no",
            "-png",
            str(pdf_path),
            str(tmp_path / "page"),
        ],
        check=True,
    )
    image = cv2.imread(str(next(tmp_path.glob("page*.png"))), cv2.IMREAD_GRAYSCALE)
    assert image.shape == (240, 320)
    zx_1d, zbar, zx_qr = decode_both(with_margin(image))
    assert zx_1d == zbar == {label.tracking_number}
    assert zx_qr == {label.official_code}


@pytest.mark.parametrize(("width", "height", "dpi"), [(50, 30, 203), (40, 30, 203),
                                                     (50, 30, 300)])
def test_calibration_label_prints_the_same_in_pdf_and_zpl_and_both_symbols_scan(
        width: float, height: float, dpi: int) -> None:
    """Frame, rulers, the test Code 128 and the stock's QR: as a PDF rasterised at the
    printer's resolution and as the printer's own rendering of the ZPL job."""
    layout = thermal_roll(width, height, dpi)
    ((zpl_page, _bars),) = interpret_zpl(render_calibration_zpl(layout).decode("utf-8"))
    pdf_page = rasterise(render_calibration(layout), dpi)[0]
    # 30 mm is 354.3 dots at 300 dpi: the PDF rasteriser rounds up, the printer down.
    assert np.abs(np.subtract(zpl_page.shape, pdf_page.shape)).max() <= 1
    expected_qr = {f"{width}X{height}MM {dpi}DPI"}
    for page in (pdf_page, zpl_page):
        zx_1d, zbar, zx_qr = decode_both(with_margin(degrade(page)))
        assert zx_1d == zbar == {"123456789012"}
        assert zx_qr == expected_qr
    # The frame sits 0.5 mm inside each edge, and every millimetre has its ruler tick.
    inset = round(0.5 * dpi / 25.4)
    for page in (pdf_page, zpl_page):
        dark = page < 128
        assert dark[inset + 1, inset:-inset].all() and dark[-inset - 2, inset:-inset].all()
        assert dark[inset:-inset, inset + 1].all() and dark[inset:-inset, -inset - 2].all()
        ticks_row = page[-inset - round(0.6 * dpi / 25.4)]  # 0.6 mm above the bottom frame
        assert len(_dark_runs(ticks_row)) >= width - 2


def test_custom_grid_with_offsets_round_trips() -> None:
    layout = SheetLayout(
        4,
        10,
        48.5,
        25.4,
        margin_left_mm=8,
        margin_top_mm=21.5,
        offset_x_mm=0.7,
        offset_y_mm=-0.4,
        name="custom-40",
    )
    batch = make_labels(5)
    page = rasterise(render_labels(batch, layout, start_position=37), 300)
    assert len(page) == 2
    for index, label in enumerate(batch):
        image = page[0] if index < 4 else page[1]
        slot = 36 + index if index < 4 else 0
        box = slot_box(layout, slot, 300)
        zx_1d, zbar, _ = decode_both(with_margin(image[box[1] : box[3], box[0] : box[2]]))
        assert zx_1d == zbar == {label.tracking_number}


def test_receipt_barcode_on_both_copies_and_secret_qr_on_the_citizens_only() -> None:
    receipt = ReceiptData(
        official_code="000.00.19.H12-261122-0001",
        tracking_number="261122000123",
        applicant_name="Nguyễn Thị Hằng",
        request_name="Đăng ký khai sinh",
        received_at=RECEIVED,
        due_at=RECEIVED + timedelta(days=3),
        lookup_url="https://dichvucong.example.gov.vn/tra-cuu/000.00.19.H12-261122-0001?t=K7Q2M9XW4PZT8R3H",
        lookup_secret="K7Q2M9XW4PZT8R3H",
        agency_name="UBND phường Ba Đình",
        place="Hà Nội",
    )
    pages = rasterise(render_receipt(receipt), 300)
    assert len(pages) == 2
    # Liên 1 travels with the file: the lookup secret (the QR) is on Liên 2 only.
    for page, qr in zip(pages, (set(), {receipt.lookup_url}), strict=True):
        for variant in (page, degrade(page)):
            zx_1d, zbar, zx_qr = decode_both(variant)
            assert zx_1d == zbar == {receipt.tracking_number}
            assert zx_qr == qr


# --- ZPL, through a small interpreter of the commands the renderer emits -------------------

@pytest.mark.parametrize(("dpi", "with_2d"), [(203, False), (203, True), (300, False)])
def test_zpl_labels_decode_back_to_the_same_codes(dpi: int, with_2d: bool) -> None:
    batch = make_labels(3)
    job = render_zpl(batch, dpi=dpi, with_2d=with_2d).decode("utf-8")
    formats = interpret_zpl(job)
    assert len(formats) == 3
    for (image, bars), label in zip(formats, batch, strict=True):
        assert image.shape == (round(30 / 25.4 * dpi), round(50 / 25.4 * dpi))
        ((x0, y0, x1, y1),) = bars
        # Text bitmap present above the bars, nothing printed in the quiet zones.
        assert (image[:y0] == 0).sum() > 500
        module = (x1 - x0) // code128_modules(label.tracking_number)
        assert np.all(image[y0:y1, x0 - QUIET_MODULES * module : x0] == 255)
        assert np.all(image[y0:y1, x1 : x1 + QUIET_MODULES * module] == 255)
        for variant in (with_margin(image), with_margin(degrade(image))):
            zx_1d, zbar, zx_qr = decode_both(variant)
            assert zx_1d == zbar == {label.tracking_number}
            assert zx_qr == ({label.official_code} if with_2d else set())


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_zpl_and_pdf_labels_look_the_same(tmp_path: Path) -> None:
    """Same bars, dot for dot, and the text in the same place, in ZPL and in the PDF."""
    label = make_labels(1)[0]
    zpl_image, ((x0, y0, x1, y1),) = interpret_zpl(render_zpl([label]).decode("utf-8"))[0]
    pdf_image = rasterise_poppler(render_labels([label], LAYOUTS["thermal-50x30"]), 203, tmp_path)
    assert zpl_image.shape == pdf_image.shape
    middle = (y0 + y1) // 2
    assert _dark_runs(zpl_image[middle]) == _dark_runs(pdf_image[middle])
    zpl_text = np.argwhere(zpl_image[: y0 - 2] < 128)
    pdf_text = np.argwhere(pdf_image[: y0 - 2] < 128)
    assert np.abs(zpl_text.min(axis=0) - pdf_text.min(axis=0)).max() <= 3
    assert np.abs(zpl_text.max(axis=0) - pdf_text.max(axis=0)).max() <= 3


@pytest.mark.parametrize("body", ["14995478526", "99999999999", "01234567899"])
def test_zpl_barcode_keeps_the_digit_pair_99_inside_set_c(body: str) -> None:
    """In set C the value 99 is the digits "99", not a switch: the ZPL job must print them."""
    from app.codes import make_tracking_number

    label = dataclasses.replace(make_labels(1)[0], tracking_number=make_tracking_number(body))
    job = render_zpl([label]).decode("utf-8")
    assert f"^FD>;{label.tracking_number}" in job
    ((image, _bars),) = interpret_zpl(job)
    zx_1d, zbar, _ = decode_both(with_margin(image))
    assert zx_1d == zbar == {label.tracking_number}
