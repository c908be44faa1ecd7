"""Shared drawing for the A4 administrative forms (receipt, control sheet, notices)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from . import text as tx
from .data import FormConfig
from .dates import long_date, long_datetime
from .layout import MM

PAGE_W, PAGE_H = A4
LEFT = 20 * MM
RIGHT = PAGE_W - 15 * MM
TOP = PAGE_H - 12 * MM
BOTTOM = 14 * MM
BODY = 10.5
LEADING = 1.35


def wrap_after(text: str, font: str, size: float, first_w: float, rest_w: float) -> list[str]:
    """Wrap text whose first line is narrower (it follows a label on the same line)."""
    if first_w < rest_w / 4:
        return ["", *tx.wrap(text, font, size, rest_w)]
    first = tx.wrap(text, font, size, first_w)
    if len(first) <= 1:
        return list(first)
    head = first[0]
    rest = text[len(head) :].lstrip(" ")
    return [head, *tx.wrap(rest, font, size, rest_w)]


class Flow:
    """A top-down cursor over pages of a canvas, with page breaks.

    :param canvas: the canvas to draw on.
    :param on_new_page: called after each page break, to draw a continuation header.
    """

    def __init__(
        self,
        canvas: Canvas,
        on_new_page: Callable[[Flow], None],
        break_page: Callable[[], None] | None = None,
    ) -> None:
        self.canvas = canvas
        self.y = TOP
        self.on_new_page = on_new_page
        self.break_page = canvas.showPage if break_page is None else break_page
        self.pages = 1

    def need(self, height: float) -> None:
        """Start a new page unless ``height`` points fit above the bottom margin."""
        if self.y - height < BOTTOM:
            self.break_page()
            self.pages += 1
            self.y = TOP
            self.on_new_page(self)

    def line(
        self,
        text: str,
        font: str = tx.REGULAR,
        size: float = BODY,
        *,
        x: float = LEFT,
        centered: bool = False,
        width: float | None = None,
    ) -> None:
        """Draw one line (wrapped when it is too long) and move down."""
        width = (RIGHT - x) if width is None else width
        for part in tx.wrap(text, font, size, width) or [""]:
            self.need(size * LEADING)
            self.y -= size * LEADING
            self.canvas.setFont(font, size)
            if centered:
                self.canvas.drawCentredString(x + width / 2, self.y + 0.3 * size, part)
            else:
                self.canvas.drawString(x, self.y + 0.3 * size, part)

    def appointment(self, label: str, due_at: datetime, moved_from: datetime | None,
                    tz: tzinfo) -> None:
        """``label`` and the appointment; one moved from ``moved_from`` shows that first one,
        then "Hẹn lại: <new>" (never silently one of them)."""
        if moved_from is None:
            self.field(label, long_datetime(due_at, tz))
            return
        self.field(label, long_datetime(moved_from, tz), value_font=tx.REGULAR)
        self.field("Hẹn lại:", long_datetime(due_at, tz), indent=6 * MM)

    def field(
        self,
        label: str,
        value: str,
        *,
        size: float = BODY,
        indent: float = 0.0,
        value_font: str = tx.BOLD,
        blank: str = "…………………………………",
        hanging: bool = False,
    ) -> None:
        """Draw ``label`` then ``value`` (bold) on the same line, wrapping the value.

        An empty value prints a dotted blank to fill in by hand, as on the paper form.
        With ``hanging``, continuation lines align with the value instead of the label.
        """
        x = LEFT + indent
        label_w = tx.width(label + " ", tx.REGULAR, size)
        shown, font = (value, value_font) if value else (blank, tx.REGULAR)
        rest_x = x + label_w if hanging else x
        lines = wrap_after(shown, font, size, RIGHT - x - label_w, RIGHT - rest_x)
        for i, part in enumerate(lines):
            self.need(size * LEADING)
            self.y -= size * LEADING
            if i == 0:
                self.canvas.setFont(tx.REGULAR, size)
                self.canvas.drawString(x, self.y + 0.3 * size, label)
                self.canvas.setFont(font, size)
                self.canvas.drawString(x + label_w, self.y + 0.3 * size, part)
            else:
                self.canvas.setFont(font, size)
                self.canvas.drawString(rest_x, self.y + 0.3 * size, part)

    def space(self, height: float) -> None:
        """Move down, without a page break."""
        self.y -= height


def draw_header(
    canvas: Canvas,
    forms: FormConfig,
    *,
    agency_name: str,
    office_name: str,
    form_number: str,
    copy_label: str,
    place: str = "",
    dated: datetime | None = None,
    tz: tzinfo | None = None,
    blank_date: bool = False,
) -> float:
    """Draw the national header of an administrative form; return the y below it.

    Left: agency, then office (bold, underlined). Right: the national title and motto
    (underlined) and, when given, the "<place>, ngày … tháng … năm …" line (with
    ``blank_date`` and no date, the line is printed with dots to fill in by hand). The form
    number and the copy ("Liên 1: Lưu") go in the top-right corner.
    """
    size = 10.0
    corner_y = PAGE_H - 8 * MM
    canvas.setFont(tx.ITALIC, 8.5)
    corner = " — ".join(part for part in (form_number, copy_label) if part)
    if corner:
        canvas.drawRightString(RIGHT, corner_y, corner)

    left_w = 80 * MM
    right_x = LEFT + left_w
    right_w = RIGHT - right_x
    top = TOP - 2 * MM

    y = top
    left_centre = LEFT + left_w / 2
    for text, font in (
        (agency_name.upper(), tx.REGULAR),
        ((office_name or forms.desk_name).upper(), tx.BOLD),
    ):
        if not text:
            continue
        # One line if it fits at 8.5 pt or more, as on the printed forms; else wrap.
        fitted = tx.fit_size(text, font, left_w - 4 * MM, size, 8.5)
        parts = [text] if fitted else tx.wrap(text, font, size, left_w - 4 * MM, 3)
        for part in parts:
            y -= size * 1.3
            canvas.setFont(font, fitted or size)
            canvas.drawCentredString(left_centre, y, part)
    canvas.setLineWidth(0.6)
    # Below the dot of "dấu nặng" (Ậ, Ệ), which hangs ~0.25 em under the baseline.
    canvas.line(left_centre - 15 * MM, y - 5, left_centre + 15 * MM, y - 5)
    left_bottom = y - 5

    y = top
    right_centre = right_x + right_w / 2
    y -= size * 1.3
    canvas.setFont(tx.BOLD, size)
    canvas.drawCentredString(right_centre, y, tx.ellipsize(forms.nation, tx.BOLD, size, right_w))
    y -= (size + 1) * 1.3
    canvas.setFont(tx.BOLD, size + 1)
    canvas.drawCentredString(right_centre, y, forms.motto)
    half = tx.width(forms.motto, tx.BOLD, size + 1) / 2
    canvas.line(right_centre - half, y - 3, right_centre + half, y - 3)
    y -= 3
    when = long_date(dated, tz) if dated is not None and tz is not None else ""
    if not when and blank_date:
        when = "ngày …… tháng …… năm ……"
    if when:
        y -= size * 1.6
        canvas.setFont(tx.ITALIC, size)
        date_line = f"{place or '…………'}, {when}" if place or blank_date else when
        canvas.drawCentredString(right_centre, y, tx.ellipsize(date_line, tx.ITALIC, size, right_w))
    return min(y, left_bottom) - 6 * MM


# --- ruled tables (the control sheet's handoffs, Mẫu 02's missing papers) ----------------------

CELL_PAD = 1.5 * MM


def table_grid(canvas: Canvas, widths: list[float], top: float, height: float) -> None:
    """One ruled row of a table spanning the form's width: its frame and column lines."""
    canvas.setLineWidth(0.5)
    canvas.rect(LEFT, top - height, RIGHT - LEFT, height)
    x = LEFT
    for w in widths[:-1]:
        x += w
        canvas.line(x, top, x, top - height)


def heading_height(headings: tuple[str, ...], widths: list[float], size: float) -> float:
    """How tall the heading row of ``headings`` is, each wrapped in its column."""
    lines = max(len(tx.wrap(h, tx.BOLD, size - 0.5, w - 2 * CELL_PAD))
                for h, w in zip(headings, widths, strict=True))
    return lines * size * 1.3 + 2 * CELL_PAD


def heading_row(flow: Flow, headings: tuple[str, ...], widths: list[float],
                size: float) -> None:
    """The table's heading row, bold and centred in each column, at ``flow``'s position."""
    height = heading_height(headings, widths, size)
    lead = size * 1.3
    canvas = flow.canvas
    top = flow.y
    table_grid(canvas, widths, top, height)
    x = LEFT
    canvas.setFont(tx.BOLD, size - 0.5)
    for heading, w in zip(headings, widths, strict=True):
        lines = tx.wrap(heading, tx.BOLD, size - 0.5, w - 2 * CELL_PAD)
        y = top - CELL_PAD - (height - 2 * CELL_PAD - len(lines) * lead) / 2
        for line in lines:
            y -= lead
            canvas.drawCentredString(x + w / 2, y + 0.3 * size, line)
        x += w
    flow.y = top - height
