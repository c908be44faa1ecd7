"""The citizen receipt: Mẫu 01 "Giấy tiếp nhận hồ sơ và hẹn trả kết quả"."""

from __future__ import annotations

from urllib.parse import urlsplit

from reportlab.pdfgen.canvas import Canvas

from . import text as tx
from .barcodes import QUIET_MODULES, code128_widths, qr_matrix
from .data import FormConfig, ReceiptData
from .dates import long_datetime, resolve_tz
from .errors import InvalidLabelData
from .forms import BODY, LEFT, PAGE_H, RIGHT, Flow, draw_header
from .layout import MM
from .pdf import draw_bars, draw_matrix, finish, new_canvas
from .plan import QR_QUIET_MODULES, BarsOp, MatrixOp

LASER_DPI = 300
"""Office laser printers: bars are whole dots at 300 dpi (and therefore at 600)."""
CODE_MODULE_DOTS = 3  # 0.254 mm, what cheap 1D scanners read
QR_MODULE_DOTS = 6  # 0.51 mm, comfortable for phone cameras


def render_receipt(data: ReceiptData, forms: FormConfig | None = None) -> bytes:
    """Render the receipt, one full copy per entry of ``forms.receipt_copies``.

    Each copy ("Liên 1: Lưu", "Liên 2: Giao người nộp hồ sơ") starts on a new A4 page and
    flows onto further pages if the list of documents is long. Every copy carries a Code 128
    of the tracking number, captioned "Số theo dõi"; only the citizen's copy
    (:attr:`FormConfig.citizen_copy_index`) carries the lookup secret and its QR code: the
    others travel with the file, through many hands. When the appointment was moved, both
    the first one and the new one ("Hẹn lại") are printed.

    :param data: the receipt's content.
    :param forms: titles, numbers and header wording (default: Circular 01/2018).
    :returns: the PDF bytes; identical input gives identical bytes.
    :raises InvalidLabelData: if ``data`` is not a :class:`ReceiptData`.
    """
    if not isinstance(data, ReceiptData):
        msg = "Dữ liệu giấy tiếp nhận phải là ReceiptData."
        raise InvalidLabelData(msg, field="data")
    forms = FormConfig() if forms is None else forms
    canvas, buf = new_canvas((210 * MM, 297 * MM), forms.receipt_title.capitalize())
    canvas.setSubject(data.official_code)
    # The file copies are identical but for their "Liên" line: each variant (citizen's,
    # file's) is drawn once, as one PDF form per page, and placed on every copy's pages.
    citizen = forms.citizen_copy_index
    variants = {
        with_secret: _draw_content(canvas, data, forms, with_secret=with_secret)
        for with_secret in sorted({i == citizen for i in range(len(forms.receipt_copies))})
    }
    for index, copy_label in enumerate(forms.receipt_copies):
        with_secret = index == citizen
        for page in range(variants[with_secret]):
            if index or page:
                canvas.showPage()
            canvas.doForm(_form_name(with_secret, page))
            canvas.setFont(tx.ITALIC, 8.5)
            corner = f"{forms.receipt_form_number} — {copy_label}"
            if page:
                corner += f" — Mã hồ sơ {data.official_code} (tiếp theo)"
            canvas.drawRightString(RIGHT, PAGE_H - 8 * MM, corner)
    return finish(canvas, buf)


def _form_name(with_secret: bool, page: int) -> str:
    return f"receipt-{'citizen' if with_secret else 'file'}-page-{page}"


def _draw_content(
    canvas: Canvas, data: ReceiptData, forms: FormConfig, *, with_secret: bool
) -> int:
    """Draw one variant of the receipt into PDF forms; return its number of pages."""
    tz = resolve_tz(forms.tz)

    def next_form() -> None:
        canvas.endForm()
        canvas.beginForm(_form_name(with_secret, flow.pages))

    canvas.beginForm(_form_name(with_secret, 0))
    flow = Flow(canvas, lambda flow: None, break_page=next_form)
    flow.y = draw_header(
        canvas,
        forms,
        agency_name=data.agency_name,
        office_name=data.office_name,
        form_number="",
        copy_label="",
        place=data.place,
        dated=data.received_at,
        tz=tz,
    )
    flow.line(forms.receipt_title, tx.BOLD, 13, centered=True)
    flow.line(f"Mã hồ sơ: {data.official_code}", tx.BOLD, 11, centered=True)
    flow.space(3 * MM)
    flow.field("Tiếp nhận hồ sơ của:", data.applicant_name)
    flow.field("Địa chỉ:", data.address)
    flow.field("Số điện thoại:", data.phone)
    flow.field("Email:", data.email)
    flow.field("Nội dung yêu cầu giải quyết:", data.request_name)
    flow.space(1 * MM)
    flow.line("1. Thành phần hồ sơ nộp gồm:")
    if data.documents:
        for number, document in enumerate(data.documents, start=1):
            flow.field(f"({number})", document, indent=6 * MM, value_font=tx.REGULAR, hanging=True)
    else:
        flow.field("(1)", "", indent=6 * MM)
    flow.field("2. Số lượng hồ sơ:", f"{data.copies_count:02d} (bộ)")
    flow.field("3. Thời gian giải quyết hồ sơ theo quy định:", data.legal_duration)
    flow.field("4. Thời gian nhận hồ sơ:", long_datetime(data.received_at, tz))
    flow.appointment("5. Thời gian trả kết quả giải quyết hồ sơ:", data.due_at,
                     data.original_due_at if data.rescheduled else None, tz)
    flow.field("6. Đăng ký nhận kết quả tại:", data.return_method)
    book = (
        f"Vào Sổ theo dõi hồ sơ, Quyển số: {data.book_number or '……'}, "
        f"Số thứ tự: {data.book_serial or '……'}"
    )
    flow.line(book)
    flow.field("Phí, lệ phí (nếu có):", data.fee)
    flow.space(3 * MM)
    _draw_codes(flow, data, with_secret=with_secret)
    _draw_signatures(flow, data)
    canvas.endForm()
    return flow.pages


def _draw_codes(flow: Flow, data: ReceiptData, *, with_secret: bool) -> None:
    """A framed block: Code 128 of the tracking number ("Số theo dõi"), lookup text and, on
    the citizen's copy only, the secret and the QR of the lookup URL.

    The block has the same height on every copy, so the copies' pages break alike.
    """
    dot = 72 / LASER_DPI
    qr = qr_matrix(data.lookup_url)
    qr_module = QR_MODULE_DOTS * dot
    qr_side = len(qr) * qr_module
    qr_quiet = QR_QUIET_MODULES * qr_module
    widths = code128_widths(data.tracking_number)
    module = CODE_MODULE_DOTS * dot
    symbol_w = sum(widths) * module
    bars_h = max(symbol_w / 4, 10 * MM)
    bars_x = LEFT + 3 * MM + QUIET_MODULES * module
    text_x = max(bars_x + symbol_w + QUIET_MODULES * module + 3 * MM, LEFT + 62 * MM)
    qr_x = RIGHT - qr_quiet - qr_side
    text_w = qr_x - qr_quiet - text_x
    parts = urlsplit(data.lookup_url)
    site = f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")
    citizen: list[tuple[str, str, float]] = [
        (tx.BOLD, "TRA CỨU TÌNH TRẠNG HỒ SƠ", 9.5),
        (tx.REGULAR, "Quét mã QR bằng điện thoại, hoặc vào trang", 8.5),
        (tx.REGULAR, site, 8.5),
        (tx.REGULAR, "rồi nhập:", 8.5),
        (tx.BOLD, f"Mã hồ sơ: {data.official_code}", 9.5),
        (tx.BOLD, f"Mã bí mật: {data.lookup_secret}", 9.5),
        (tx.ITALIC, "Giữ kín mã bí mật: ai có mã này xem được hồ sơ.", 7.5),
    ]
    on_file: list[tuple[str, str, float]] = [
        (tx.BOLD, "LIÊN LƯU THEO HỒ SƠ", 9.5),
        (tx.BOLD, f"Mã hồ sơ: {data.official_code}", 9.5),
        (tx.BOLD, f"Số theo dõi: {data.tracking_number}", 9.5),
        (tx.ITALIC, "Mã bí mật tra cứu chỉ in trên liên giao người nộp hồ sơ.", 7.5),
    ]

    def wrapped(
        paragraphs: list[tuple[str, str, float]], width: float
    ) -> list[tuple[str, float, str]]:
        return [
            (font, size, part)
            for font, line, size in paragraphs
            for part in tx.wrap(line, font, size, width)
        ]

    citizen_lines = wrapped(citizen, text_w)
    text_h = sum(size * 1.3 for _, size, _ in citizen_lines)
    caption = 8.0
    block_h = max(qr_side + 2 * qr_quiet, text_h + 6 * MM, bars_h + 14 * MM)
    flow.need(block_h)
    canvas = flow.canvas
    top = flow.y
    bottom = top - block_h
    canvas.setLineWidth(0.4)
    canvas.roundRect(LEFT, bottom, RIGHT - LEFT, block_h, 2 * MM)
    if with_secret:
        lines = citizen_lines
        draw_matrix(
            canvas,
            MatrixOp(
                qr_x, top - qr_quiet - qr_side, qr_module, QR_MODULE_DOTS, qr, data.lookup_url
            ),
            0,
            0,
            dot,
            PAGE_H,
        )
    else:
        lines = wrapped(on_file, RIGHT - 3 * MM - text_x)
    canvas.setFont(tx.REGULAR, caption)
    canvas.drawCentredString(bars_x + symbol_w / 2, top - 4 * MM - caption, "Số theo dõi")
    bars_y = top - 5.5 * MM - caption - bars_h
    draw_bars(
        canvas,
        BarsOp(bars_x, bars_y, bars_h, module, CODE_MODULE_DOTS, widths, data.tracking_number),
        0,
        0,
        dot,
    )
    canvas.setFont(tx.REGULAR, 9)
    canvas.drawCentredString(bars_x + symbol_w / 2, bars_y - 10, data.tracking_number)
    y = top - 3 * MM
    for font, size, part in lines:
        y -= size * 1.3
        canvas.setFont(font, size)
        canvas.drawString(text_x, y, part)
    flow.y = bottom - 5 * MM


def _draw_signatures(flow: Flow, data: ReceiptData) -> None:
    flow.need(42 * MM)
    canvas = flow.canvas
    half = (RIGHT - LEFT) / 2
    top = flow.y
    for column, (title, name) in enumerate(
        (("NGƯỜI NỘP HỒ SƠ", data.applicant_name), ("NGƯỜI TIẾP NHẬN HỒ SƠ", data.receiver_name))
    ):
        centre = LEFT + half * column + half / 2
        canvas.setFont(tx.BOLD, BODY)
        canvas.drawCentredString(centre, top - BODY * 1.3, title)
        canvas.setFont(tx.ITALIC, 9)
        canvas.drawCentredString(centre, top - BODY * 1.3 - 12, "(Ký và ghi rõ họ tên)")
        if name:
            canvas.setFont(tx.BOLD, BODY)
            for i, part in enumerate(tx.wrap(name, tx.BOLD, BODY, half - 6 * MM, 2)):
                canvas.drawCentredString(centre, top - 36 * MM - i * BODY * 1.3, part)
    flow.y = top - 42 * MM
