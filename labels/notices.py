"""The desk's notices to the citizen: Mẫu 02 (supplement request), Mẫu 03 (refusal) and
Mẫu 04 (apology and new appointment), in the style of the receipt."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Protocol

from . import text as tx
from .data import (
    PAPER_KIND_TEXT,
    ApologyData,
    FormConfig,
    RefusalData,
    SupplementRequestData,
)
from .dates import long_date, long_datetime, resolve_tz
from .errors import InvalidLabelData
from .forms import (
    BODY,
    LEFT,
    PAGE_H,
    RIGHT,
    Flow,
    draw_header,
    heading_height,
    heading_row,
    table_grid,
)
from .layout import MM
from .pdf import finish, new_canvas

SIZE = 9.5
LEAD = SIZE * 1.3
PAD = 1.5 * MM
COLUMNS = (0.08, 0.53, 0.13, 0.13, 0.13)
HEADINGS = ("TT", "Thành phần hồ sơ", *PAPER_KIND_TEXT.values())


class _Notice(Protocol):
    """What every notice has (read-only, as the frozen records are)."""

    @property
    def official_code(self) -> str: ...
    @property
    def agency_name(self) -> str: ...
    @property
    def office_name(self) -> str: ...
    @property
    def place(self) -> str: ...
    @property
    def signer_name(self) -> str: ...
    @property
    def issued_at(self) -> datetime: ...


def render_supplement_request(
    data: SupplementRequestData, forms: FormConfig | None = None
) -> bytes:
    """Render Mẫu 02: the papers to add or complete (TT | Thành phần hồ sơ | Bản chính /
    Bản chứng thực / Bản photo) and the reason, signed by the officer who guides the citizen.

    :param data: the form's content.
    :param forms: titles, numbers and header wording (default: Circular 01/2018).
    :returns: the PDF bytes; identical input gives identical bytes.
    :raises InvalidLabelData: if ``data`` is not a :class:`SupplementRequestData`.
    """
    if not isinstance(data, SupplementRequestData):
        msg = "Dữ liệu phiếu yêu cầu bổ sung phải là SupplementRequestData."
        raise InvalidLabelData(msg, field="data")
    forms = FormConfig() if forms is None else forms
    widths = [(RIGHT - LEFT) * share for share in COLUMNS]
    in_table = [False]

    def body(flow: Flow, tz: tzinfo) -> None:
        flow.field("Hồ sơ của:", data.applicant_name)
        flow.field("Nội dung yêu cầu giải quyết:", data.request_name)
        flow.field("Thời gian nhận hồ sơ:", long_datetime(data.received_at, tz))
        flow.space(1 * MM)
        flow.line(
            "Sau khi xem xét, đối chiếu với quy định, đề nghị ông/bà bổ sung, hoàn thiện hồ sơ "
            "gồm những nội dung sau:"
        )
        flow.line("1. Thành phần hồ sơ cần bổ sung, hoàn thiện:")
        flow.space(1 * MM)
        flow.need(heading_height(HEADINGS, widths, SIZE) + 12 * MM)
        heading_row(flow, HEADINGS, widths, SIZE)
        in_table[0] = True
        for number, item in enumerate(data.items, start=1):
            kinds = list(PAPER_KIND_TEXT)
            marks = ["x" if k == item.kind else "" for k in kinds]
            _table_row(flow, widths, [str(number), item.name, *marks])
        in_table[0] = False
        flow.space(2 * MM)
        flow.field("2. Lý do:", data.reason, value_font=tx.REGULAR)
        flow.space(1 * MM)
        contact = data.contact or "…………………………, số điện thoại ……………"
        flow.line(
            "Trong quá trình hoàn thiện hồ sơ, nếu có vướng mắc, ông/bà liên hệ với "
            f"{contact} để được hướng dẫn."
        )

    def table_heading(flow: Flow) -> None:
        if in_table[0]:
            heading_row(flow, HEADINGS, widths, SIZE)

    return _render(
        data,
        forms,
        forms.supplement_title,
        forms.supplement_form_number,
        body,
        ("NGƯỜI HƯỚNG DẪN", "(Ký và ghi rõ họ tên)"),
        table_heading,
    )


def render_refusal(data: RefusalData, forms: FormConfig | None = None) -> bytes:
    """Render Mẫu 03: the desk does not accept the dossier, and says why.

    :param data: the form's content.
    :param forms: titles, numbers and header wording (default: Circular 01/2018).
    :returns: the PDF bytes; identical input gives identical bytes.
    :raises InvalidLabelData: if ``data`` is not a :class:`RefusalData`.
    """
    if not isinstance(data, RefusalData):
        msg = "Dữ liệu phiếu từ chối phải là RefusalData."
        raise InvalidLabelData(msg, field="data")
    forms = FormConfig() if forms is None else forms
    desk = (data.office_name or forms.desk_name).capitalize()

    def body(flow: Flow, tz: tzinfo) -> None:
        flow.field(f"{desk} tiếp nhận hồ sơ của:", data.applicant_name)
        flow.field("Nội dung yêu cầu giải quyết:", data.request_name)
        flow.field("Thời gian nhận hồ sơ:", long_datetime(data.received_at, tz))
        flow.space(1 * MM)
        flow.line(
            f"Sau khi nghiên cứu, đối chiếu với các quy định hiện hành, {desk[0].lower()}"
            f"{desk[1:]} không tiếp nhận, giải quyết hồ sơ này với lý do cụ thể như sau:"
        )
        flow.space(1 * MM)
        flow.line(data.reason, tx.BOLD, x=LEFT + 6 * MM)
        flow.space(1 * MM)
        flow.line("Xin thông báo để ông/bà được biết và thực hiện./.")

    return _render(
        data,
        forms,
        forms.refusal_title,
        forms.refusal_form_number,
        body,
        ("NGƯỜI TIẾP NHẬN HỒ SƠ", "(Ký và ghi rõ họ tên)"),
    )


def render_apology(data: ApologyData, forms: FormConfig | None = None) -> bytes:
    """Render Mẫu 04: the apology for a result that will be late, with the reason and the new
    appointment, signed by the head of the agency.

    :param data: the form's content.
    :param forms: titles, numbers and header wording (default: Circular 01/2018).
    :returns: the PDF bytes; identical input gives identical bytes.
    :raises InvalidLabelData: if ``data`` is not an :class:`ApologyData`.
    """
    if not isinstance(data, ApologyData):
        msg = "Dữ liệu phiếu xin lỗi phải là ApologyData."
        raise InvalidLabelData(msg, field="data")
    forms = FormConfig() if forms is None else forms
    agency = data.agency_name

    def body(flow: Flow, tz: tzinfo) -> None:
        flow.field("Kính gửi: Ông/Bà", data.applicant_name)
        flow.space(1 * MM)
        flow.line(
            f"Ngày {long_date(data.received_at, tz)[5:]}, {agency} tiếp nhận giải quyết hồ sơ "
            f"của Ông/Bà, mã hồ sơ {data.official_code}."
        )
        flow.field("Nội dung yêu cầu giải quyết:", data.request_name)
        flow.field(
            "Thời hạn trả kết quả giải quyết hồ sơ:", long_datetime(data.previous_due_at, tz)
        )
        flow.space(1 * MM)
        flow.line(
            f"Tuy nhiên đến nay, {agency} chưa trả kết quả giải quyết hồ sơ của Ông/Bà đúng hạn,"
            " lý do:"
        )
        flow.line(data.reason, tx.BOLD, x=LEFT + 6 * MM)
        flow.space(1 * MM)
        flow.line(
            f"Sự chậm trễ này đã gây phiền hà cho Ông/Bà, {agency} xin lỗi Ông/Bà và sẽ trả kết "
            "quả giải quyết hồ sơ cho Ông/Bà vào:"
        )
        flow.field("Hẹn lại:", long_datetime(data.new_due_at, tz), indent=6 * MM)
        flow.space(1 * MM)
        flow.line("Mong nhận được sự thông cảm của Ông/Bà vì sự chậm trễ này./.")

    return _render(
        data,
        forms,
        forms.apology_title,
        forms.apology_form_number,
        body,
        ("THỦ TRƯỞNG CƠ QUAN", "(Ký, ghi rõ họ tên và đóng dấu)"),
    )


def _render(
    data: _Notice,
    forms: FormConfig,
    title: str,
    form_number: str,
    body: Callable[[Flow, tzinfo], None],
    signature: tuple[str, str],
    on_new_page: Callable[[Flow], None] | None = None,
) -> bytes:
    """The frame every notice shares: header, title, code, body, signature."""
    tz = resolve_tz(forms.tz)
    canvas, buf = new_canvas((210 * MM, 297 * MM), title.capitalize())
    canvas.setSubject(data.official_code)

    def continuation(flow: Flow) -> None:
        canvas.setFont(tx.ITALIC, 8.5)
        canvas.drawRightString(
            RIGHT, PAGE_H - 8 * MM, f"{form_number} — Mã hồ sơ {data.official_code} (tiếp theo)"
        )
        if on_new_page is not None:
            on_new_page(flow)

    flow = Flow(canvas, continuation)
    flow.y = draw_header(
        canvas,
        forms,
        agency_name=data.agency_name,
        office_name=data.office_name,
        form_number=form_number,
        copy_label="",
        place=data.place,
        dated=data.issued_at,
        tz=tz,
    )
    flow.line(title, tx.BOLD, 13, centered=True)
    flow.line(f"Mã hồ sơ: {data.official_code}", tx.BOLD, 11, centered=True)
    flow.space(3 * MM)
    body(flow, tz)
    flow.space(4 * MM)
    _signature(flow, signature, data.signer_name)
    return finish(canvas, buf)


def _signature(flow: Flow, signature: tuple[str, str], name: str) -> None:
    flow.need(40 * MM)
    canvas = flow.canvas
    half = (RIGHT - LEFT) / 2
    centre = LEFT + half + half / 2
    top = flow.y
    title, hint = signature
    canvas.setFont(tx.BOLD, BODY)
    canvas.drawCentredString(centre, top - BODY * 1.3, title)
    canvas.setFont(tx.ITALIC, 9)
    canvas.drawCentredString(centre, top - BODY * 1.3 - 12, hint)
    if name:
        canvas.setFont(tx.BOLD, BODY)
        for i, part in enumerate(tx.wrap(name, tx.BOLD, BODY, half - 6 * MM, 2)):
            canvas.drawCentredString(centre, top - 34 * MM - i * BODY * 1.3, part)
    flow.y = top - 40 * MM


def _table_row(flow: Flow, widths: list[float], cells: list[str]) -> None:
    wrapped = [
        tx.wrap(text, tx.REGULAR, SIZE, w - 2 * PAD) for text, w in zip(cells, widths, strict=True)
    ]
    height = max(1, *(len(lines) for lines in wrapped)) * LEAD + 2 * PAD
    flow.need(height)
    canvas = flow.canvas
    top = flow.y
    table_grid(canvas, widths, top, height)
    x = LEFT
    canvas.setFont(tx.REGULAR, SIZE)
    for column, (lines, w) in enumerate(zip(wrapped, widths, strict=True)):
        y = top - PAD
        for line in lines:
            y -= LEAD
            if column == 1:
                canvas.drawString(x + PAD, y + 0.3 * SIZE, line)
            else:
                canvas.drawCentredString(x + w / 2, y + 0.3 * SIZE, line)
        x += w
    flow.y = top - height
