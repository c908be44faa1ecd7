"""Staff badge cards and action (command) cards, CR80 size: one a page or ten on an A4 sheet.

A card carries a Code 128 of its code (a badge ``$B-...`` or an action ``$A-...``, see
``app.codes``; this library takes the code as given) with bars on whole printer dots, as the
dossier labels do, and its text in Vietnamese. Plain frozen dataclasses in, PDF bytes out;
identical input gives identical bytes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.lib.colors import Color
from reportlab.pdfgen.canvas import Canvas

from . import text as tx
from .barcodes import QUIET_MODULES, code128_modules, code128_widths
from .errors import InvalidLabelData, LabelFitError, LayoutError
from .layout import MAX_DPI, MIN_DPI, MM
from .pdf import draw_bars, draw_text, finish, new_canvas
from .plan import BarsOp, TextOp

CARD_WIDTH_MM = 85.60
CARD_HEIGHT_MM = 53.98
"""ISO/IEC 7810 ID-1 (CR80), the size of a bank card and of badge holders."""
A4_MM = (210.0, 297.0)
SHEET_COLUMNS = 2
SHEET_ROWS = 5
CARDS_PER_SHEET = SHEET_COLUMNS * SHEET_ROWS
PADDING_MM = 4.0
BAR_HEIGHT_MM = 16.0
MAX_MODULE_MM = 0.5
MAX_CARDS = 2_000
_CUT_MARK_MM = 5.0
_GREY = Color(0.6, 0.6, 0.6)


@dataclass(frozen=True)
class BadgeCard:
    """A staff badge.

    :param code: the scanned code (printable ASCII), e.g. ``$B-B-0001``.
    :param name: the person's full name.
    :param role: the role as printed, e.g. ``Chuyên viên``.
    :param office: the office name.
    """

    code: str
    name: str
    role: str = ""
    office: str = ""


@dataclass(frozen=True)
class CommandCard:
    """An action card scanned at a station before the files it applies to.

    :param code: the scanned code (printable ASCII), e.g. ``$A-RETURNED``.
    :param title: the action's Vietnamese name, e.g. ``Trả kết quả``.
    :param hint: one line under the title (how the card is used).
    """

    code: str
    title: str
    hint: str = ""


COMMAND_HINT = "Quét thẻ này trước khi quét hồ sơ"
_BADGE_HEADER = "THẺ NHÂN VIÊN"
_COMMAND_HEADER = "THẺ THAO TÁC"


def _check_code(code: object) -> str:
    if not isinstance(code, str) or not code or any(not "!" <= ch <= "~" for ch in code):
        msg = f"Mã thẻ {code!r} phải là ký tự ASCII in được, không có dấu cách."
        raise InvalidLabelData(msg, field="code")
    return code


def _check_common(cards: Sequence[object], kind: type, dpi: int) -> None:
    if isinstance(cards, kind) or not cards or not all(isinstance(c, kind) for c in cards):
        msg = f"Cần một danh sách {kind.__name__} không rỗng."
        raise InvalidLabelData(msg, field="cards")
    if len(cards) > MAX_CARDS:
        msg = f"Quá nhiều thẻ trong một lần in ({len(cards)}, tối đa {MAX_CARDS})."
        raise InvalidLabelData(msg, field="cards")
    if isinstance(dpi, bool) or not isinstance(dpi, int) or not MIN_DPI <= dpi <= MAX_DPI:
        msg = f"Độ phân giải máy in (dpi) không hợp lệ: {dpi!r} (từ {MIN_DPI} đến {MAX_DPI})."
        raise LayoutError(msg, field="dpi")


def _bars(code: str, dpi: int, y: float) -> tuple[BarsOp, TextOp]:
    """The card's Code 128, centred, widest module (in whole dots, at most 0.5 mm) that fits."""
    dot = 72 / dpi
    inner_w = (CARD_WIDTH_MM - 2 * PADDING_MM) * MM
    modules = code128_modules(code)
    dots = min(math.floor(MAX_MODULE_MM * MM / dot + 1e-9),
               math.floor((inner_w - dot) / ((modules + 2 * QUIET_MODULES) * dot)))
    if dots < 2:  # one-dot bars are too thin for handheld scanners
        msg = f"Mã thẻ {code!r} quá dài để in vừa thẻ ở {dpi} dpi."
        raise LabelFitError(msg, field="code")
    module = dots * dot
    width = modules * module
    caption_size = 7.0
    bars = BarsOp(x=(CARD_WIDTH_MM * MM - width) / 2, y=y + caption_size * 1.3,
                  height=BAR_HEIGHT_MM * MM, module=module, module_dots=dots,
                  widths=code128_widths(code), data=code)
    caption = TextOp(x=CARD_WIDTH_MM * MM / 2, baseline=y + 0.3 * caption_size, font=tx.REGULAR,
                     size=caption_size, text=code, centered=True)
    return bars, caption


def _line(value: str, font: str, preferred: float, minimum: float, baseline: float,
          label: str, field: str) -> TextOp:
    inner_w = (CARD_WIDTH_MM - 2 * PADDING_MM) * MM
    size = tx.fit_size(value, font, inner_w, preferred, minimum)
    if not size:
        msg = f"{label} quá dài để in vừa thẻ: {value!r}."
        raise LabelFitError(msg, field=field)
    return TextOp(x=CARD_WIDTH_MM * MM / 2, baseline=baseline, font=font, size=size, text=value,
                  centered=True)


def _plan_badge(card: BadgeCard, dpi: int) -> list[BarsOp | TextOp]:
    code = _check_code(card.code)
    name = tx.clean_text(card.name, "Họ và tên", field="name", max_len=80)
    role = tx.clean_text(card.role, "Chức vụ", field="role", required=False, max_len=80)
    office = tx.clean_text(card.office, "Cơ quan", field="office", required=False, max_len=120)
    top = (CARD_HEIGHT_MM - PADDING_MM) * MM
    ops: list[BarsOp | TextOp] = []
    ops.append(_line(office or _BADGE_HEADER, tx.BOLD, 8.0, 5.0, top - 8.0, "Cơ quan", "office"))
    ops.append(_line(name, tx.BOLD, 15.0, 7.0, top - 27.0, "Họ và tên", "name"))
    if role:
        ops.append(_line(role, tx.REGULAR, 9.0, 6.0, top - 40.0, "Chức vụ", "role"))
    ops.extend(_bars(code, dpi, PADDING_MM * MM))
    return ops


def _plan_command(card: CommandCard, dpi: int) -> list[BarsOp | TextOp]:
    code = _check_code(card.code)
    title = tx.clean_text(card.title, "Tên thao tác", field="title", max_len=60)
    hint = tx.clean_text(card.hint, "Hướng dẫn", field="hint", required=False, max_len=120)
    top = (CARD_HEIGHT_MM - PADDING_MM) * MM
    ops: list[BarsOp | TextOp] = []
    ops.append(_line(_COMMAND_HEADER, tx.BOLD, 7.0, 7.0, top - 7.0, "Tiêu đề", "title"))
    ops.append(_line(title, tx.BOLD, 17.0, 8.0, top - 28.0, "Tên thao tác", "title"))
    if hint:
        ops.append(_line(hint, tx.ITALIC, 7.5, 5.5, top - 41.0, "Hướng dẫn", "hint"))
    ops.extend(_bars(code, dpi, PADDING_MM * MM))
    return ops


def _draw(canvas: Canvas, ops: Sequence[BarsOp | TextOp], x0: float, y0: float, dpi: int) -> None:
    for op in ops:
        if isinstance(op, BarsOp):
            draw_bars(canvas, op, x0, y0, 72 / dpi)
        else:
            draw_text(canvas, op, x0, y0)


def _sheet_origin(slot: int) -> tuple[float, float]:
    """Bottom-left of slot ``slot`` (0-based, left to right then top to bottom) on A4."""
    left = (A4_MM[0] - SHEET_COLUMNS * CARD_WIDTH_MM) / 2
    top = (A4_MM[1] - SHEET_ROWS * CARD_HEIGHT_MM) / 2
    col, row = slot % SHEET_COLUMNS, slot // SHEET_COLUMNS
    x = left + col * CARD_WIDTH_MM
    y = A4_MM[1] - top - (row + 1) * CARD_HEIGHT_MM
    return x * MM, y * MM


def _cut_marks(canvas: Canvas) -> None:
    """Thin frames around every slot and cut marks in the margins along the grid lines."""
    left = (A4_MM[0] - SHEET_COLUMNS * CARD_WIDTH_MM) / 2 * MM
    bottom = (A4_MM[1] - SHEET_ROWS * CARD_HEIGHT_MM) / 2 * MM
    right = left + SHEET_COLUMNS * CARD_WIDTH_MM * MM
    top = bottom + SHEET_ROWS * CARD_HEIGHT_MM * MM
    gap, mark = 1.5 * MM, _CUT_MARK_MM * MM
    canvas.saveState()
    canvas.setStrokeColor(_GREY)
    canvas.setLineWidth(0.25)
    for slot in range(CARDS_PER_SHEET):
        x, y = _sheet_origin(slot)
        canvas.rect(x, y, CARD_WIDTH_MM * MM, CARD_HEIGHT_MM * MM, stroke=1, fill=0)
    canvas.setStrokeColor(Color(0, 0, 0))
    for col in range(SHEET_COLUMNS + 1):
        x = left + col * CARD_WIDTH_MM * MM
        canvas.line(x, top + gap, x, top + gap + mark)
        canvas.line(x, bottom - gap, x, bottom - gap - mark)
    for row in range(SHEET_ROWS + 1):
        y = bottom + row * CARD_HEIGHT_MM * MM
        canvas.line(left - gap, y, left - gap - mark, y)
        canvas.line(right + gap, y, right + gap + mark, y)
    canvas.restoreState()


def _render(plans: list[list[BarsOp | TextOp]], sheet: bool, dpi: int, title: str) -> bytes:
    if not sheet:
        canvas, buf = new_canvas((CARD_WIDTH_MM * MM, CARD_HEIGHT_MM * MM), title)
        for index, ops in enumerate(plans):
            if index:
                canvas.showPage()
            _draw(canvas, ops, 0.0, 0.0, dpi)
        return finish(canvas, buf)
    canvas, buf = new_canvas((A4_MM[0] * MM, A4_MM[1] * MM), title)
    for index, ops in enumerate(plans):
        slot = index % CARDS_PER_SHEET
        if slot == 0:
            if index:
                canvas.showPage()
            _cut_marks(canvas)
        _draw(canvas, ops, *_sheet_origin(slot), dpi)
    return finish(canvas, buf)


def render_badge_cards(cards: Sequence[BadgeCard], *, sheet: bool = False, dpi: int = 300) -> bytes:
    """Render staff badge cards as a PDF.

    :param cards: the badges, in print order.
    :param sheet: ten cards on each A4 page, framed, with cut marks (for office printers);
        otherwise one CR80 card a page (for card printers).
    :param dpi: the printer's resolution; bars are whole dots of it.
    :returns: the PDF bytes; identical input gives identical bytes.
    :raises InvalidLabelData: no cards, a code outside printable ASCII, text that cannot print.
    :raises LabelFitError: a name or code too long for the card.
    :raises LayoutError: a resolution outside 150–600 dpi.
    """
    _check_common(cards, BadgeCard, dpi)
    plans = [_plan_badge(card, dpi) for card in cards]
    return _render(plans, sheet, dpi, "Thẻ nhân viên")


def render_command_cards(cards: Sequence[CommandCard], *, sheet: bool = False,
                         dpi: int = 300) -> bytes:
    """Render action (command) cards as a PDF; same sizes and options as
    :func:`render_badge_cards`.

    :raises InvalidLabelData: no cards, a code outside printable ASCII, text that cannot print.
    :raises LabelFitError: a title or code too long for the card.
    :raises LayoutError: a resolution outside 150–600 dpi.
    """
    _check_common(cards, CommandCard, dpi)
    plans = [_plan_command(card, dpi) for card in cards]
    return _render(plans, sheet, dpi, "Thẻ thao tác")
