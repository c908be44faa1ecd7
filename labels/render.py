"""Dossier labels as PDF: sheets of stickers or one label a page for thermal rolls."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo

from reportlab.lib.colors import Color, black, white
from reportlab.pdfgen.canvas import Canvas

from . import text as tx
from .calibration import plan_calibration
from .data import LabelData
from .dates import DEFAULT_TZ, resolve_tz
from .errors import InvalidLabelData, LayoutError
from .layout import MM, Layout, RollLayout, SheetLayout, iter_slots
from .pdf import draw_ops, finish, new_canvas
from .plan import plan_label

MAX_COPIES = 100
MAX_LABELS = 20_000


def _check_labels(labels: Sequence[LabelData], copies: int) -> None:
    if isinstance(labels, LabelData) or not all(isinstance(lb, LabelData) for lb in labels):
        msg = "Danh sách nhãn phải gồm các LabelData."
        raise InvalidLabelData(msg, field="labels")
    if not labels:
        msg = "Không có nhãn nào để in."
        raise InvalidLabelData(msg, field="labels")
    if isinstance(copies, bool) or not isinstance(copies, int) or not 1 <= copies <= MAX_COPIES:
        msg = f"Số bản in mỗi nhãn phải từ 1 đến {MAX_COPIES} (đang là {copies!r})."
        raise InvalidLabelData(msg, field="copies")
    if len(labels) * copies > MAX_LABELS:
        msg = f"Quá nhiều nhãn trong một lần in ({len(labels) * copies}, tối đa {MAX_LABELS})."
        raise InvalidLabelData(msg, field="labels")


def _check_start(layout: Layout, start_position: int) -> None:
    per_page = layout.labels_per_page
    if (
        isinstance(start_position, bool)
        or not isinstance(start_position, int)
        or not 1 <= start_position <= per_page
    ):
        msg = (
            f"Vị trí bắt đầu phải từ 1 đến {per_page} (số nhãn trên một tờ), "
            f"đang là {start_position!r}."
        )
        raise LayoutError(msg, field="start_position")


def _check_layout(layout: object) -> Layout:
    if not isinstance(layout, SheetLayout | RollLayout):
        msg = "Khổ nhãn phải là SheetLayout hoặc RollLayout (xem LAYOUTS, layout_from_spec)."
        raise LayoutError(msg, field="layout")
    return layout


def render_labels(
    labels: Sequence[LabelData],
    layout: Layout,
    *,
    copies: int = 1,
    start_position: int = 1,
    with_2d: bool = False,
    tz: str | tzinfo = DEFAULT_TZ,
) -> bytes:
    """Render dossier labels as a PDF.

    Each label is repeated ``copies`` times in a row. On a sheet, printing starts at slot
    ``start_position`` (1-based, left to right then top to bottom) so a partly used sheet
    can be fed again; a new page starts when a sheet is full.

    :param labels: the labels to print.
    :param layout: a :class:`SheetLayout` or :class:`RollLayout` (see :data:`LAYOUTS`).
    :param copies: copies of each label (1–100).
    :param start_position: first free slot on the first sheet.
    :param with_2d: add a QR code of the official code for 2D imagers.
    :param tz: zone in which dates are printed.
    :returns: the PDF bytes; identical input gives identical bytes.
    :raises InvalidLabelData: for no labels or a bad copy count.
    :raises LayoutError: for a bad layout or start position.
    :raises LabelFitError: when a label cannot fit its layout without clipping.
    """
    layout = _check_layout(layout)
    _check_labels(labels, copies)
    _check_start(layout, start_position)
    zone = resolve_tz(tz)
    # Plan everything first: a label that does not fit fails before any output.
    plans = [plan_label(label, layout, zone, with_2d=with_2d) for label in labels]
    page_w, page_h = layout.page_size
    canvas, buf = new_canvas(layout.page_size, "Nhãn hồ sơ")
    current_page = 0
    for index, (page, slot) in enumerate(iter_slots(layout, len(plans) * copies, start_position)):
        if page != current_page:
            canvas.showPage()
            current_page = page
        x0, y0 = layout.slot_origin(slot)
        draw_ops(canvas, plans[index // copies], x0, y0, layout.dpi, page_h)
    return finish(canvas, buf)


_GREY = Color(0.55, 0.55, 0.55)


def render_calibration(layout: Layout) -> bytes:
    """Render a calibration page for a layout.

    Sheets: every label outline (with the calibration offsets applied), its inner padding,
    a cross at its centre and its slot number, the layout's figures and the size the
    outer frame must measure (to check that the printer did not scale the page).
    Print it at 100 % on plain paper, lay it on a sticker sheet against the light, and
    adjust ``offset_x_mm``/``offset_y_mm`` until the outlines match. Rolls: the label of
    :mod:`labels.calibration` (frame, 1 mm rulers, a Code 128 and a QR code, the stock),
    the same as :func:`labels.zpl.render_calibration_zpl` prints.

    :param layout: a :class:`SheetLayout` or :class:`RollLayout`.
    :returns: the PDF bytes.
    :raises LayoutError: for a bad layout.
    """
    layout = _check_layout(layout)
    canvas, buf = new_canvas(layout.page_size, "Trang căn chỉnh nhãn")
    page_w, page_h = layout.page_size
    if isinstance(layout, RollLayout):
        x0, y0 = layout.slot_origin(0)
        draw_ops(canvas, plan_calibration(layout), x0, y0, layout.dpi, page_h)
        return finish(canvas, buf)
    label_w = layout.label_width_mm * MM
    label_h = layout.label_height_mm * MM
    pad = layout.padding_mm * MM
    for slot in range(layout.labels_per_page):
        x0, y0 = layout.slot_origin(slot)
        canvas.setStrokeColor(black)
        canvas.setLineWidth(0.25)
        canvas.rect(x0, y0, label_w, label_h)
        canvas.setStrokeColor(_GREY)
        canvas.setDash(1, 2)
        canvas.rect(x0 + pad, y0 + pad, label_w - 2 * pad, label_h - 2 * pad)
        canvas.setDash()
        cx, cy = x0 + label_w / 2, y0 + label_h / 2
        arm = min(label_w, label_h) / 6
        canvas.line(cx - arm, cy, cx + arm, cy)
        canvas.line(cx, cy - arm, cx, cy + arm)
        canvas.setFillColor(black)
        canvas.setFont(tx.BOLD, 7)
        canvas.drawString(x0 + pad + 1, y0 + label_h - pad - 8, str(slot + 1))
    canvas.setStrokeColor(black)
    canvas.setFillColor(black)
    _sheet_calibration_text(canvas, layout, page_w, page_h)
    return finish(canvas, buf)


def _sheet_calibration_text(
    canvas: Canvas, layout: SheetLayout, page_w: float, page_h: float
) -> None:
    gap_x = layout.pitch_x - layout.label_width_mm
    gap_y = layout.pitch_y - layout.label_height_mm
    grid_w = (layout.columns - 1) * layout.pitch_x + layout.label_width_mm
    grid_h = (layout.rows - 1) * layout.pitch_y + layout.label_height_mm
    top_lines = [
        (
            tx.BOLD,
            f"TRANG CĂN CHỈNH NHÃN — {layout.name}: {layout.columns} cột × "
            f"{layout.rows} hàng, nhãn {layout.label_width_mm:g}×{layout.label_height_mm:g} mm",
        ),
    ]
    bottom_lines = [
        (
            tx.REGULAR,
            f"Khe {gap_x:g}/{gap_y:g} mm, lề trái {layout.left_mm:g} mm, lề trên "
            f"{layout.top_mm:g} mm, độ lệch X {layout.offset_x_mm:+g} mm, "
            f"Y {layout.offset_y_mm:+g} mm, {layout.dpi} dpi.",
        ),
        (
            tx.REGULAR,
            "In tỉ lệ 100 % (Actual size, không Fit to page): khung ngoài phải đo "
            f"đúng {grid_w:g} × {grid_h:g} mm. Đặt lên tờ nhãn, soi trước đèn.",
        ),
        (
            tx.REGULAR,
            "Khung lệch phải so với nhãn → giảm độ lệch X; lệch xuống → giảm độ "
            "lệch Y (mm). In lại trang này đến khi khung trùng mép nhãn.",
        ),
    ]
    size, line_h = 6.5, 8.0
    grid_top = page_h - layout.top_mm * MM
    grid_bottom = grid_top - grid_h * MM
    x = max(layout.left_mm * MM, 6 * MM)
    max_w = page_w - 2 * x
    lines = top_lines + bottom_lines
    # Use the margins above and below the grid; what does not fit there goes in a white
    # box in the middle of the page.
    above = max(0, int((page_h - grid_top - 5 * MM) // line_h))
    below = max(0, int((grid_bottom - 5 * MM) // line_h))
    placed: list[tuple[float, tuple[str, str]]] = []
    for i, line in enumerate(lines[:above]):
        placed.append((grid_top + 1.5 * MM + (min(above, len(lines)) - 1 - i) * line_h, line))
    rest = lines[above:]
    for i, line in enumerate(rest[:below]):
        placed.append((grid_bottom - 1.5 * MM - size - i * line_h, line))
    rest = rest[below:]
    if rest:
        box_h = len(rest) * line_h + 4 * MM
        box_y = (page_h - box_h) / 2
        canvas.setFillColor(white)
        canvas.setStrokeColor(black)
        canvas.rect(x, box_y, max_w, box_h, fill=1)
        for i, entry in enumerate(rest):
            placed.append((box_y + box_h - 2 * MM - size - i * line_h, entry))
    canvas.setFillColor(black)
    for y, (font, text) in placed:
        canvas.setFont(font, size)
        canvas.drawString(x, y, tx.ellipsize(text, font, size, max_w))


def sample_label() -> LabelData:
    """A label with typical content, for previews and printer tests."""
    from datetime import timedelta, timezone

    received = datetime(2026, 11, 22, 9, 15, tzinfo=timezone(timedelta(hours=7)))
    return LabelData(
        tracking_number="261122000123",
        official_code="000.00.19.H12-261122-0001",
        procedure_name="Đăng ký khai sinh",
        received_at=received,
        due_at=received + timedelta(days=3, hours=6, minutes=45),
        office_name="UBND phường Ba Đình",
    )
