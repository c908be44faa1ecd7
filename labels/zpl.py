"""ZPL II output of the dossier label, for Zebra-compatible thermal printers.

The bars use the printer's own Code 128 (``^BC``), with the same code sets as the PDF so
the symbol is identical; the text (and the optional QR code) is sent as a 1-bit bitmap
(``^GFA``) drawn with the bundled font, because most printers have no font with
Vietnamese diacritics. ``text_mode="utf8"`` sends the text as UTF-8 (``^CI28``) in a
printer font instead (smaller jobs, but only right if the printer has a Unicode font,
e.g. one downloaded and mapped with ``^CW``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import tzinfo
from typing import TYPE_CHECKING, Literal

from reportlab.pdfbase import pdfmetrics

from .barcodes import code128_values
from .calibration import plan_calibration
from .data import LabelData
from .dates import DEFAULT_TZ, resolve_tz
from .errors import InvalidLabelData, LayoutError
from .layout import RollLayout, thermal_roll
from .plan import BarsOp, BoxOp, MatrixOp, Op, TextOp, plan_label
from .render import _check_labels
from .text import font_path

if TYPE_CHECKING:
    from PIL import Image, ImageFont

TextMode = Literal["bitmap", "utf8"]


def _dots(points: float, dpi: int) -> int:
    return round(points * dpi / 72)


def _escape(text: str) -> str:
    """Field data for use after ``^FH_``: the command prefixes become hex escapes."""
    return text.replace("_", "_5F").replace("^", "_5E").replace("~", "_7E")


def _bc_data(data: str) -> str:
    """Code 128 data with invocation codes reproducing :func:`code128_values` exactly.

    ``>;`` starts in set C, ``>:`` in set B, ``>5``/``>6`` switch to C/B, ``><`` is a ``>``.
    """
    values = code128_values(data)
    out: list[str] = [">;" if values[0] == 105 else ">:"]
    i = 0
    for value in values[1:-1]:  # skip the start and the check character
        # Inside set C, 99 is the digit pair "99" (only 100 leaves set C); elsewhere 99 is
        # the switch to set C.
        in_c = _in_set_c(out)
        if in_c and value != 100:
            out.append(data[i : i + 2])
            i += 2
        elif value == 99:
            out.append(">5")
        elif value == 100:
            out.append(">6")
        else:
            out.append("><" if data[i] == ">" else data[i])
            i += 1
    return "".join(out)


def _in_set_c(parts: list[str]) -> bool:
    for part in reversed(parts):
        if part in (">;", ">5"):
            return True
        if part in (">:", ">6"):
            return False
    return False


_HEX = "0123456789ABCDEF"
_COUNTS = "GHIJKLMNOPQRSTUVWXY"  # 1..19


def _repeat(count: int) -> str:
    """ZPL ASCII compression repeat prefix for ``count`` (g=20 … z=400)."""
    out = ""
    while count >= 400:
        out += "z"
        count -= 400
    if count >= 20:
        out += "ghijklmnopqrstuvwxyz"[count // 20 - 1]
        count %= 20
    if count:
        out += _COUNTS[count - 1]
    return out


def compress_row(row_hex: str) -> str:
    """One bitmap row in ZPL ASCII compression (run lengths; ``,`` = zeros to row end)."""
    stripped = row_hex.rstrip("0")
    if not stripped:
        return ","
    out: list[str] = []
    i = 0
    while i < len(stripped):
        j = i
        while j < len(stripped) and stripped[j] == stripped[i]:
            j += 1
        run = j - i
        out.append(stripped[i] if run == 1 else _repeat(run) + stripped[i])
        i = j
    if len(stripped) < len(row_hex):
        out.append(",")
    return "".join(out)


def graphic_field(image: Image.Image) -> str:
    """A ``^GFA`` command for a 1-bit image (black = printed), ASCII-compressed."""
    width, height = image.size
    per_row = (width + 7) // 8
    # Pillow stores mode "1" with 1 = white; the printer wants 1 = black.
    raw = bytes(b ^ 0xFF for b in image.tobytes())
    rows: list[str] = []
    previous = None
    for r in range(height):
        row = raw[r * per_row : (r + 1) * per_row].hex().upper()
        rows.append(":" if row == previous else compress_row(row))
        previous = row
    total = per_row * height
    return f"^GFA,{total},{total},{per_row},{''.join(rows)}"


@functools.cache
def _pil_font(font: str, pixels: int) -> ImageFont.FreeTypeFont:
    from PIL import ImageFont

    return ImageFont.truetype(str(font_path(font)), pixels)


def _bitmap_commands(
    ops: Sequence[Op],
    layout: RollLayout,
    width: int,
    height: int,
    label_h: float,
    x0: float,
    y0: float,
) -> list[str]:
    from PIL import Image, ImageDraw, ImageOps

    dpi = layout.dpi
    image = Image.new("1", (width, height), 1)
    draw = ImageDraw.Draw(image)
    draw.fontmode = "1"
    for op in ops:
        if isinstance(op, TextOp):
            # Glyph by glyph at the PDF's (unhinted) advances: FreeType's hinted advances
            # are rounded to whole dots and would make a line up to 1 mm wider.
            font = _pil_font(op.font, _dots(op.size, dpi))
            x = x0 + op.x
            if op.centered:
                x -= pdfmetrics.stringWidth(op.text, op.font, op.size) / 2
            baseline = _dots(label_h - (y0 + op.baseline), dpi)
            for char in op.text:
                draw.text((round(x * dpi / 72), baseline), char, font=font, fill=0, anchor="ls")
                x += pdfmetrics.stringWidth(char, op.font, op.size)
        elif isinstance(op, MatrixOp):
            left = _dots(x0 + op.x, dpi)
            size = len(op.matrix)
            top = _dots(label_h - (y0 + op.y + size * op.module), dpi)
            step = op.module_dots
            for r, row in enumerate(op.matrix):
                for c, dark in enumerate(row):
                    if dark:
                        x, y = left + c * step, top + r * step
                        draw.rectangle((x, y, x + step - 1, y + step - 1), fill=0)
    box = ImageOps.invert(image.convert("L")).getbbox()
    if box is None:
        return []
    # Align the crop to a byte boundary so the field starts on a whole byte.
    left = box[0] - box[0] % 8
    crop = image.crop((left, box[1], box[2], box[3]))
    # Whole bytes per row, padded with white, so no stray padding bits get printed.
    padded = Image.new("1", ((crop.width + 7) // 8 * 8, crop.height), 1)
    padded.paste(crop, (0, 0))
    crop = padded
    return [f"^FO{left},{box[1]}{graphic_field(crop)}^FS"]


def _utf8_commands(
    ops: Sequence[Op], dpi: int, label_h: float, x0: float, y0: float, printer_font: str
) -> list[str]:
    commands = []
    for op in ops:
        if not isinstance(op, TextOp):
            continue
        h = _dots(op.size * 1.1, dpi)
        font = (
            f"^A{printer_font}N,{h}" if len(printer_font) == 1 else f"^A@N,{h},{h},{printer_font}"
        )
        x = _dots(x0 + op.x, dpi)
        y = _dots(label_h - (y0 + op.baseline), dpi)
        if op.centered:
            # ^FB centres the line in a block spanning twice the distance to the left edge.
            commands.append(f"^FO0,{y - h}{font}^FB{2 * x},1,0,C^FH_^FD{_escape(op.text)}^FS")
        else:
            commands.append(f"^FT{x},{y}{font}^FH_^FD{_escape(op.text)}^FS")
    return commands


def render_zpl(
    labels: Sequence[LabelData],
    *,
    dpi: int = 203,
    width_mm: float = 50,
    height_mm: float = 30,
    copies: int = 1,
    with_2d: bool = False,
    layout: RollLayout | None = None,
    text_mode: TextMode = "bitmap",
    printer_font: str = "0",
    tz: str | tzinfo = DEFAULT_TZ,
) -> bytes:
    """Render dossier labels as a ZPL II job, one ``^XA…^XZ`` format per label.

    The layout is the same as the PDF of a :class:`RollLayout` of that size, so a label
    looks the same whichever way it is printed.

    :param labels: the labels to print.
    :param dpi: printer resolution (203 or 300; 600 works too).
    :param width_mm: label width.
    :param height_mm: label height.
    :param copies: copies of each label (``^PQ``).
    :param with_2d: add a QR code of the official code.
    :param layout: a :class:`RollLayout` to use instead of ``dpi``/``width_mm``/``height_mm``
        (e.g. one with calibration offsets).
    :param text_mode: ``"bitmap"`` (default, works on any ZPL printer) or ``"utf8"``.
    :param printer_font: for ``"utf8"``: a one-letter printer font or a font file path
        such as ``E:DEJAVU.TTF``.
    :param tz: zone in which dates are printed.
    :returns: the ZPL job as UTF-8 bytes.
    :raises InvalidLabelData: for no labels, a bad copy count or a bad mode.
    :raises LayoutError: for an impossible label size or resolution.
    :raises LabelFitError: when a label cannot fit.
    """
    if layout is None:
        layout = thermal_roll(width_mm, height_mm, dpi)
    elif not isinstance(layout, RollLayout):
        msg = "ZPL chỉ dùng cho nhãn cuộn (RollLayout)."
        raise LayoutError(msg, field="layout")
    if text_mode not in ("bitmap", "utf8"):
        msg = f"Chế độ chữ ZPL không hợp lệ: {text_mode!r} (bitmap hoặc utf8)."
        raise InvalidLabelData(msg, field="text_mode")
    if not printer_font or any(c in printer_font for c in "^~,"):
        msg = f"Tên phông máy in không hợp lệ: {printer_font!r}."
        raise InvalidLabelData(msg, field="printer_font")
    _check_labels(labels, copies)
    zone = resolve_tz(tz)
    plans = [plan_label(label, layout, zone, with_2d=with_2d) for label in labels]
    jobs = [_format(ops, layout, copies, text_mode, printer_font) for ops in plans]
    return ("\n".join(jobs) + "\n").encode("utf-8")


def render_calibration_zpl(layout: RollLayout) -> bytes:
    """The calibration label of :mod:`labels.calibration` as a ZPL II job: the same frame,
    rulers, symbols and text as the PDF of :func:`labels.render_calibration`.

    :raises LayoutError: for a layout that is not a :class:`RollLayout`.
    """
    if not isinstance(layout, RollLayout):
        msg = "ZPL chỉ dùng cho nhãn cuộn (RollLayout)."
        raise LayoutError(msg, field="layout")
    job = _format(plan_calibration(layout), layout, 1, "bitmap", "0")
    return (job + "\n").encode("utf-8")


def _format(
    ops: Sequence[Op], layout: RollLayout, copies: int, text_mode: TextMode, printer_font: str
) -> str:
    """One ``^XA…^XZ`` label format drawing ``ops``."""
    dpi = layout.dpi
    page_w, page_h = layout.page_size
    width, height = _dots(page_w, dpi), _dots(page_h, dpi)
    x0, y0 = layout.slot_origin(0)
    commands = ["^XA", "^CI28", f"^PW{width}", f"^LL{height}", "^LH0,0"]
    if text_mode == "bitmap":
        commands += _bitmap_commands(ops, layout, width, height, page_h, x0, y0)
    else:
        commands += _utf8_commands(ops, dpi, page_h, x0, y0, printer_font)
        matrix_ops = [op for op in ops if isinstance(op, MatrixOp)]
        commands += _bitmap_commands(matrix_ops, layout, width, height, page_h, x0, y0)
    for op in ops:
        if isinstance(op, BarsOp):
            x = _dots(x0 + op.x, dpi)
            top = _dots(page_h - (y0 + op.y + op.height), dpi)
            bar_h = _dots(op.height, dpi)
            commands.append(
                f"^FO{x},{top}^BY{op.module_dots}^BCN,{bar_h},N,N,N,N"
                f"^FH_^FD{_escape(_bc_data(op.data))}^FS"
            )
        elif isinstance(op, BoxOp):
            left, right = _dots(x0 + op.x, dpi), _dots(x0 + op.x + op.width, dpi)
            top = _dots(page_h - (y0 + op.y + op.height), dpi)
            bottom = _dots(page_h - (y0 + op.y), dpi)
            w, h = max(1, right - left), max(1, bottom - top)
            # A box as thick as its narrow side is a filled rectangle.
            commands.append(f"^FO{left},{top}^GB{w},{h},{min(w, h)}^FS")
    commands += [f"^PQ{copies}", "^XZ"]
    return "\n".join(commands)
