"""The control sheet: Mẫu 05 "Phiếu kiểm soát quá trình giải quyết hồ sơ"."""

from __future__ import annotations

from datetime import tzinfo

from . import text as tx
from .data import OVERALL_VERDICT_TEXT, VERDICT_TEXT, ControlSheetData, FormConfig, HandoffRow
from .dates import long_datetime, resolve_tz
from .errors import InvalidLabelData
from .forms import LEFT, PAGE_H, RIGHT, Flow, draw_header, heading_height, heading_row, table_grid
from .layout import MM
from .pdf import finish, new_canvas

SIZE = 9.0
LEAD = SIZE * 1.3
PAD = 1.5 * MM
SIGN_SPACE = 11 * MM
BLANK_ROWS = 4
BLANK_TIME = ("… giờ … phút,", "ngày … tháng … năm ……")
COLUMNS = (0.29, 0.32, 0.19, 0.20)
HEADINGS = (
    "TÊN CƠ QUAN",
    "THỜI GIAN GIAO, NHẬN HỒ SƠ",
    "KẾT QUẢ GIẢI QUYẾT HỒ SƠ (Trước hạn/ Đúng hạn/ Quá hạn)",
    "GHI CHÚ",
)


def render_control_sheet(data: ControlSheetData, forms: FormConfig | None = None) -> bytes:
    """Render the control sheet from the dossier's recorded handoffs.

    Under the header's "<place>, ngày … tháng … năm …" line: the dossier's due date (the
    first and the new one when it was moved) and its overall verdict. One table row per
    handoff: "1. Giao: <giver>" / "2. Nhận: <receiver>", a label above rows that are no plain
    handoff ("Yêu cầu bổ sung", "Nhận bổ sung"), the hand-over (and confirmation) times, the
    step's verdict and the note, with room for the two signatures. The table continues on
    new pages with its heading repeated; blank rows ("… giờ … phút, ngày … tháng … năm …")
    follow for the handoffs still to come, to fill in by hand.

    :param data: the sheet's content.
    :param forms: titles, numbers and header wording (default: Circular 01/2018).
    :returns: the PDF bytes; identical input gives identical bytes.
    :raises InvalidLabelData: if ``data`` is not a :class:`ControlSheetData`.
    """
    if not isinstance(data, ControlSheetData):
        msg = "Dữ liệu phiếu kiểm soát phải là ControlSheetData."
        raise InvalidLabelData(msg, field="data")
    forms = FormConfig() if forms is None else forms
    tz = resolve_tz(forms.tz)
    canvas, buf = new_canvas((210 * MM, 297 * MM), forms.control_title.capitalize())
    canvas.setSubject(data.official_code)
    widths = [(RIGHT - LEFT) * share for share in COLUMNS]

    def continuation(flow: Flow) -> None:
        canvas.setFont(tx.ITALIC, 8.5)
        canvas.drawRightString(
            RIGHT,
            PAGE_H - 8 * MM,
            f"{forms.control_form_number} — Mã hồ sơ {data.official_code} (tiếp theo)",
        )
        heading_row(flow, HEADINGS, widths, SIZE)

    flow = Flow(canvas, continuation)
    flow.y = draw_header(
        canvas,
        forms,
        agency_name=data.agency_name,
        office_name=data.office_name,
        form_number=forms.control_form_number,
        copy_label="",
        place=data.place,
        dated=data.dated,
        tz=tz,
        blank_date=True,
    )
    flow.line(forms.control_title, tx.BOLD, 13, centered=True)
    flow.line(f"Mã hồ sơ: {data.official_code}", tx.BOLD, 11, centered=True)
    flow.line(f"(Kèm theo hồ sơ của: {data.applicant_name})", tx.ITALIC, 10, centered=True)
    flow.space(2 * MM)
    flow.field("Cơ quan (bộ phận) giải quyết hồ sơ:", data.handling_agency)
    flow.field("Cơ quan phối hợp giải quyết hồ sơ:", "; ".join(data.coordinating_agencies))
    if data.due_at is not None:
        flow.appointment("Thời hạn trả kết quả:", data.due_at,
                         data.original_due_at if data.rescheduled else None, tz)
    if data.verdict is not None:
        flow.field("Kết quả giải quyết hồ sơ:", OVERALL_VERDICT_TEXT[data.verdict])
    flow.space(3 * MM)
    flow.need(heading_height(HEADINGS, widths, SIZE) + 30 * MM)
    heading_row(flow, HEADINGS, widths, SIZE)
    for step in data.steps:
        _step_row(flow, widths, step, tz)
    blanks = data.blank_rows
    if blanks is None:
        blanks = 0 if data.steps else BLANK_ROWS
    for _ in range(blanks):
        _blank_row(flow, widths)
    return finish(canvas, buf)


def _cell_lines(parts: list[tuple[str, str]], width: float) -> list[tuple[str, str]]:
    """Wrap ``(font, text)`` paragraphs into ``(font, line)`` lines for a cell."""
    out: list[tuple[str, str]] = []
    for font, text in parts:
        out.extend((font, line) for line in tx.wrap(text, font, SIZE, width - 2 * PAD))
    return out


def _step_row(flow: Flow, widths: list[float], step: HandoffRow, tz: tzinfo) -> None:
    times = [(tx.REGULAR, f"Giao: {long_datetime(step.handed_at, tz)}")]
    if step.received_at is not None:
        times.append((tx.REGULAR, f"Nhận: {long_datetime(step.received_at, tz)}"))
    who = [(tx.REGULAR, f"1. Giao: {step.giver}"), (tx.REGULAR, f"2. Nhận: {step.receiver}")]
    if step.label:
        who.insert(0, (tx.BOLD, step.label))
    cells = [
        _cell_lines(who, widths[0]),
        _cell_lines(times, widths[1]),
        _cell_lines([(tx.BOLD, VERDICT_TEXT[step.verdict])] if step.verdict else [], widths[2]),
        _cell_lines([(tx.REGULAR, step.note)] if step.note else [], widths[3]),
    ]
    # The times cell also holds the two signatures under "Người giao" / "Người nhận".
    text_h = max(len(cells[0]), len(cells[1]) + 1, len(cells[2]), len(cells[3])) * LEAD
    height = text_h + SIGN_SPACE + 2 * PAD
    flow.need(height)
    canvas = flow.canvas
    top = flow.y
    table_grid(canvas, widths, top, height)
    x = LEFT
    for index, (lines, w) in enumerate(zip(cells, widths, strict=True)):
        y = top - PAD
        for font, line in lines:
            y -= LEAD
            canvas.setFont(font, SIZE)
            if index == 2:
                canvas.drawCentredString(x + w / 2, y + 0.3 * SIZE, line)
            else:
                canvas.drawString(x + PAD, y + 0.3 * SIZE, line)
        if index == 1:
            y -= LEAD
            canvas.setFont(tx.ITALIC, SIZE - 1)
            canvas.drawCentredString(x + w / 4, y + 0.3 * SIZE, "Người giao")
            canvas.drawCentredString(x + 3 * w / 4, y + 0.3 * SIZE, "Người nhận")
        x += w
    flow.y = top - height


def _blank_row(flow: Flow, widths: list[float]) -> None:
    height = 3 * LEAD + SIGN_SPACE + 2 * PAD
    flow.need(height)
    canvas = flow.canvas
    top = flow.y
    table_grid(canvas, widths, top, height)
    canvas.setFont(tx.REGULAR, SIZE)
    canvas.drawString(LEFT + PAD, top - PAD - LEAD + 0.3 * SIZE, "1. Giao:")
    canvas.drawString(LEFT + PAD, top - PAD - 2 * LEAD + 0.3 * SIZE, "2. Nhận:")
    x = LEFT + widths[0]
    for i, part in enumerate(BLANK_TIME, start=1):
        canvas.drawString(x + PAD, top - PAD - i * LEAD + 0.3 * SIZE, part)
    canvas.setFont(tx.ITALIC, SIZE - 1)
    y = top - PAD - 3 * LEAD + 0.3 * SIZE
    canvas.drawCentredString(x + widths[1] / 4, y, "Người giao")
    canvas.drawCentredString(x + 3 * widths[1] / 4, y, "Người nhận")
    flow.y = top - height
