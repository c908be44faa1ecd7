"""The calibration label of a thermal roll, planned once and drawn as PDF or ZPL.

What the operator checks on the printed label:

- the frame, 0.5 mm inside the label's edge: equal white margins all round mean the
  calibration offsets are right; a missing or thicker side shows which way to move;
- the 1 mm rulers along the bottom and the left edge (long ticks every 5 and 10 mm): the
  label is printed at full size, not scaled, and how far off the print is;
- a Code 128 at the stock's narrowest bar and a QR code: darkness (bars neither bleeding
  nor broken) and that the counter's scanner reads both;
- the stock size, resolution and offsets as text, to compare with the roll in the printer.
"""

from __future__ import annotations

from . import text as tx
from .barcodes import QUIET_MODULES, code128_widths, qr_matrix
from .layout import MM, RollLayout
from .plan import QR_QUIET_MODULES, BarsOp, BoxOp, MatrixOp, Op, TextOp

TEST_CODE = "123456789012"
"""The Code 128 test symbol: as long as a tracking number, so its bars are as narrow."""
FRAME_INSET_MM = 0.5


def calibration_qr_data(layout: RollLayout) -> str:
    """What the calibration QR code holds: the stock and resolution (QR alphanumeric)."""
    return f"{layout.label_width_mm:g}X{layout.label_height_mm:g}MM {layout.dpi}DPI"


def _ruler(length_mm: float, along_x: bool, start: float, dot: float) -> list[Op]:
    """1 mm ticks from the frame inwards: 1 mm long, 1.5 mm every 5, 2.5 mm every 10."""
    ops: list[Op] = []
    for mm in range(1, int(length_mm - FRAME_INSET_MM)):
        tick = (2.5 if mm % 10 == 0 else 1.5 if mm % 5 == 0 else 1.0) * MM
        at = mm * MM - dot / 2
        ops.append(BoxOp(at, start, dot, tick) if along_x else BoxOp(start, at, tick, dot))
    return ops


def plan_calibration(layout: RollLayout) -> list[Op]:
    """The calibration label's drawing operations, in label-local points.

    Parts that do not fit a small stock are left out (first the QR code, then the bars);
    the frame, rulers and text always print.
    """
    tx.register_fonts()  # text widths are measured with the bundled fonts
    dot = 72 / layout.dpi
    width, height = layout.label_width_mm * MM, layout.label_height_mm * MM
    inset = FRAME_INSET_MM * MM
    line = 2 * dot
    inner = inset + line  # the frame's inner edge
    ops: list[Op] = [
        BoxOp(inset, inset, width - 2 * inset, line),
        BoxOp(inset, height - inset - line, width - 2 * inset, line),
        BoxOp(inset, inset, line, height - 2 * inset),
        BoxOp(width - inset - line, inset, line, height - 2 * inset),
    ]
    ops += _ruler(layout.label_width_mm, True, inner, dot)
    ops += _ruler(layout.label_height_mm, False, inner, dot)
    ruler_top = inner + 2.5 * MM
    for mm in range(10, int(layout.label_width_mm - FRAME_INSET_MM), 10):
        ops.append(TextOp(mm * MM, ruler_top + 0.4 * MM, tx.REGULAR, 4.5, str(mm), True))
    left = inner + 2.5 * MM + 0.4 * MM  # clear of the left ruler
    lines = [(tx.BOLD, 6.5, "CĂN CHỈNH NHÃN"),
             (tx.REGULAR, 5.5, f"{layout.label_width_mm:g}×{layout.label_height_mm:g} mm · "
                               f"{layout.dpi} dpi"),
             (tx.REGULAR, 5.5, f"X {layout.offset_x_mm:+g} mm · Y {layout.offset_y_mm:+g} mm")]
    baseline = height - inner - 0.4 * MM
    for font, size, text in lines:
        baseline -= size * 1.1
        ops.append(TextOp(left, baseline, font, size, text))
    text_right = left + max(tx.width(text, font, size) for font, size, text in lines)
    module = layout.min_module_dots * dot
    bars_top = baseline - 0.8 * MM
    qr = qr_matrix(calibration_qr_data(layout))
    qr_side = len(qr) * module
    qr_quiet = QR_QUIET_MODULES * module
    qr_x = width - inner - qr_quiet - qr_side
    qr_y = height - inner - qr_quiet - qr_side
    if qr_x - qr_quiet >= text_right:
        ops.append(MatrixOp(qr_x, qr_y, module, layout.min_module_dots, qr,
                            calibration_qr_data(layout)))
        bars_top = min(bars_top, qr_y - qr_quiet)
    widths = code128_widths(TEST_CODE)
    symbol_w = sum(widths) * module
    quiet = QUIET_MODULES * module
    room_left, room_right = inner + 2.5 * MM + quiet, width - inner - quiet
    bars_bottom = ruler_top + 0.4 * MM + 4.5 + 0.6 * MM  # above the ruler's numbers
    if symbol_w <= room_right - room_left and bars_top - bars_bottom >= symbol_w / 5:
        x = (room_left + room_right - symbol_w) / 2
        ops.append(BarsOp(x, bars_bottom, bars_top - bars_bottom, module,
                          layout.min_module_dots, widths, TEST_CODE))
    return ops
