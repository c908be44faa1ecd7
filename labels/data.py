"""Plain, frozen input records of the label library.

Every record validates and normalises itself on construction (NFC, single spaces, length
limits, printable characters, timezone-aware datetimes), so a bad value fails early with
an :class:`~labels.errors.InvalidLabelData` whose message a clerk can read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from .dates import DEFAULT_TZ, check_aware, resolve_tz
from .errors import InvalidLabelData
from .text import clean_text

Verdict = Literal["early", "on_time", "late"]
VERDICT_TEXT: dict[str, str] = {"early": "Trước hạn", "on_time": "Đúng hạn", "late": "Quá hạn"}
OverallVerdict = Literal["early", "on_time", "late", "within", "approaching"]
"""A dossier's verdict: finished (early, on time, late) or in progress (within, approaching)."""
OVERALL_VERDICT_TEXT: dict[str, str] = VERDICT_TEXT | {
    "within": "Trong hạn",
    "approaching": "Sắp đến hạn",
}
PaperKind = Literal["original", "certified", "photo"]
"""Which copy of a paper a supplement request asks for (Mẫu 02's three columns)."""
PAPER_KIND_TEXT: dict[str, str] = {
    "original": "Bản chính",
    "certified": "Bản chứng thực",
    "photo": "Bản photo",
}

MAX_TRACKING_LEN = 32
MAX_CODE_LEN = 40


def _set(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)


# A text field: its attribute, its Vietnamese label, whether it is required, its maximum length.
TextField = tuple[str, str, bool, int]


def _clean_texts(obj: object, texts: tuple[TextField, ...]) -> None:
    """Validate and normalize each text field of ``obj`` in place (:func:`clean_text`)."""
    for name, label, required, max_len in texts:
        _set(obj, name, clean_text(getattr(obj, name), label, field=name, required=required,
                                   max_len=max_len))


def check_tracking_number(value: object) -> str:
    """Validate the Code 128 payload: printable ASCII without spaces.

    Code 128 only carries ASCII; letters with diacritics (Đ, ă …) or spaces typed by mistake
    must be refused rather than silently dropped from the barcode.

    :raises InvalidLabelData: with a clerk-readable message.
    """
    label = "Mã vạch theo dõi"
    if not isinstance(value, str) or not value.strip():
        msg = f"Chưa có {label[0].lower()}{label[1:]} (số in thành mã vạch)."
        raise InvalidLabelData(msg, field="tracking_number")
    text = value.strip()
    bad = sorted({ch for ch in text if not "!" <= ch <= "~"})
    if bad:
        shown = ", ".join(repr(ch) for ch in bad[:5])
        msg = (
            f"{label} {text!r} có ký tự không in được thành mã vạch Code 128: {shown}. "
            "Chỉ dùng chữ số, chữ cái không dấu và các dấu . - /, không có khoảng trắng."
        )
        raise InvalidLabelData(msg, field="tracking_number")
    if len(text) > MAX_TRACKING_LEN:
        msg = f"{label} quá dài ({len(text)} ký tự, tối đa {MAX_TRACKING_LEN})."
        raise InvalidLabelData(msg, field="tracking_number")
    return text


def check_official_code(value: object) -> str:
    """Validate the official dossier code (printable ASCII, no spaces, ≤ 40 characters).

    :raises InvalidLabelData: with a clerk-readable message.
    """
    text = clean_text(value, "Mã hồ sơ", field="official_code", max_len=MAX_CODE_LEN)
    bad = sorted({ch for ch in text if not "!" <= ch <= "~"})
    if bad:
        shown = ", ".join(repr(ch) for ch in bad[:5])
        msg = (
            f"Mã hồ sơ {text!r} có ký tự không hợp lệ: {shown}. "
            "Mã hồ sơ chỉ gồm chữ số, chữ cái không dấu và các dấu . -"
        )
        raise InvalidLabelData(msg, field="official_code")
    return text


def _check_dates(received_at: object, due_at: object) -> None:
    received = check_aware(received_at, "Thời gian nhận hồ sơ", field="received_at")
    due = check_aware(due_at, "Thời gian hẹn trả kết quả", field="due_at")
    if due < received:
        msg = "Thời gian hẹn trả kết quả sớm hơn thời gian nhận hồ sơ."
        raise InvalidLabelData(msg, field="due_at")


@dataclass(frozen=True)
class LabelData:
    """What a dossier label shows.

    :param tracking_number: the short code printed as Code 128 (e.g. 12 digits with a
        check digit); printable ASCII, no spaces.
    :param official_code: the official dossier code printed as text, e.g.
        ``000.00.19.H12-261122-0001``.
    :param procedure_name: the procedure's short name (cut with "…" if the label is small).
    :param received_at: when the dossier was received (timezone-aware).
    :param due_at: when the result is due (timezone-aware).
    :param office_name: optional office name printed small at the top.
    :raises InvalidLabelData: on construction, for any invalid field.
    """

    tracking_number: str
    official_code: str
    procedure_name: str
    received_at: datetime
    due_at: datetime
    office_name: str = ""

    def __post_init__(self) -> None:
        _set(self, "tracking_number", check_tracking_number(self.tracking_number))
        _set(self, "official_code", check_official_code(self.official_code))
        _set(
            self,
            "procedure_name",
            clean_text(self.procedure_name, "Tên thủ tục", field="procedure_name", max_len=300),
        )
        _set(
            self,
            "office_name",
            clean_text(
                self.office_name, "Tên cơ quan", field="office_name", required=False, max_len=150
            ),
        )
        _check_dates(self.received_at, self.due_at)


@dataclass(frozen=True)
class FormConfig:
    """Titles, form numbers and header wording of the printed forms.

    Defaults follow Circular 01/2018/TT-VPCP; Circular 03/2025 renumbers the forms, so the
    server should build this from its configuration.

    :param receipt_citizen_copy: which of ``receipt_copies`` (1-based) goes to the citizen
        and alone carries the lookup secret and its QR code; ``None``: the last one. The
        other copies travel with the file, where a secret would let any handler read the
        citizen's timeline as the citizen.
    :param tz: zone in which times are printed.
    """

    receipt_form_number: str = "Mẫu số 01"
    receipt_title: str = "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ"
    receipt_copies: tuple[str, ...] = ("Liên 1: Lưu", "Liên 2: Giao người nộp hồ sơ")
    receipt_citizen_copy: int | None = None
    control_form_number: str = "Mẫu số 05"
    control_title: str = "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ"
    supplement_form_number: str = "Mẫu số 02"
    supplement_title: str = "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ"
    refusal_form_number: str = "Mẫu số 03"
    refusal_title: str = "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ"
    apology_form_number: str = "Mẫu số 04"
    apology_title: str = "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ"
    register_form_number: str = "Mẫu số 06"
    register_title: str = "SỔ THEO DÕI HỒ SƠ"
    desk_name: str = "BỘ PHẬN TIẾP NHẬN VÀ TRẢ KẾT QUẢ"
    nation: str = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    motto: str = "Độc lập - Tự do - Hạnh phúc"
    tz: str = DEFAULT_TZ

    def __post_init__(self) -> None:
        for name in (
            "receipt_form_number",
            "receipt_title",
            "control_form_number",
            "control_title",
            "supplement_form_number",
            "supplement_title",
            "refusal_form_number",
            "refusal_title",
            "apology_form_number",
            "apology_title",
            "register_form_number",
            "register_title",
            "desk_name",
            "nation",
            "motto",
        ):
            _set(self, name, clean_text(getattr(self, name), name, field=name, max_len=120))
        copies = tuple(
            clean_text(c, "receipt_copies", field="receipt_copies", max_len=60)
            for c in self.receipt_copies
        )
        if not copies:
            msg = "receipt_copies: cần ít nhất một liên."
            raise InvalidLabelData(msg, field="receipt_copies")
        _set(self, "receipt_copies", copies)
        citizen = self.receipt_citizen_copy
        if citizen is not None and (
            isinstance(citizen, bool)
            or not isinstance(citizen, int)
            or not 1 <= citizen <= len(copies)
        ):
            msg = f"receipt_citizen_copy: chọn một liên từ 1 đến {len(copies)}."
            raise InvalidLabelData(msg, field="receipt_citizen_copy")
        resolve_tz(self.tz)

    @property
    def citizen_copy_index(self) -> int:
        """0-based index of the copy handed to the citizen."""
        if self.receipt_citizen_copy is None:
            return len(self.receipt_copies) - 1
        return self.receipt_citizen_copy - 1


@dataclass(frozen=True)
class ReceiptData:
    """Fields of the citizen receipt (Mẫu 01, "Giấy tiếp nhận hồ sơ và hẹn trả kết quả").

    :param official_code: "Mã hồ sơ", printed as text.
    :param tracking_number: printed as Code 128 (same value as on the dossier label).
    :param applicant_name: "Tiếp nhận hồ sơ của".
    :param request_name: "Nội dung yêu cầu giải quyết", usually the procedure's name.
    :param received_at: "Thời gian nhận hồ sơ" (timezone-aware).
    :param due_at: "Thời gian trả kết quả" (timezone-aware): the appointment in force.
    :param lookup_url: the full public lookup URL encoded in the QR code; it should carry
        the dossier's secret (e.g. ``https://host/tra-cuu/<code>?t=<secret>``).
    :param lookup_secret: the secret printed as text for manual entry at a kiosk.
    :param agency_name: the agency in the header's first line (e.g. "UBND PHƯỜNG BA ĐÌNH").
    :param place: the place of the date line ("Hà Nội, ngày … tháng … năm …").
    :param documents: "Thành phần hồ sơ", one entry per document.
    :param copies_count: "Số lượng hồ sơ" (sets).
    :param legal_duration: "Thời gian giải quyết hồ sơ theo quy định", e.g.
        "05 ngày làm việc".
    :param return_method: "Đăng ký nhận kết quả tại".
    :param book_number: "Quyển số" of the register.
    :param book_serial: "Số thứ tự" in the register.
    :param fee: "Phí, lệ phí (nếu có)" as text ("50.000 đồng", "Không"); empty prints a
        dotted blank to fill in by hand.
    :param receiver_name: the staff member who received the dossier.
    :param office_name: overrides :attr:`FormConfig.desk_name` in the header.
    :param original_due_at: the first appointment, when it was moved since (a supplement
        wait, a Mẫu 04 apology): the receipt then prints both, the new one as "Hẹn lại".
    :raises InvalidLabelData: on construction, for any invalid field.
    """

    official_code: str
    tracking_number: str
    applicant_name: str
    request_name: str
    received_at: datetime
    due_at: datetime
    lookup_url: str
    lookup_secret: str
    agency_name: str
    place: str
    address: str = ""
    phone: str = ""
    email: str = ""
    documents: Sequence[str] = ()
    copies_count: int = 1
    legal_duration: str = ""
    return_method: str = "Bộ phận tiếp nhận và trả kết quả"
    book_number: str = ""
    book_serial: str = ""
    fee: str = ""
    receiver_name: str = ""
    office_name: str = ""
    original_due_at: datetime | None = None

    @property
    def rescheduled(self) -> bool:
        """Whether the appointment was moved (both are printed)."""
        return self.original_due_at is not None and self.original_due_at != self.due_at

    def __post_init__(self) -> None:
        _set(self, "official_code", check_official_code(self.official_code))
        _set(self, "tracking_number", check_tracking_number(self.tracking_number))
        texts: tuple[TextField, ...] = (
            ("applicant_name", "Họ tên người nộp hồ sơ", True, 100),
            ("request_name", "Nội dung yêu cầu giải quyết", True, 500),
            ("agency_name", "Tên cơ quan", True, 150),
            ("place", "Địa danh", True, 60),
            ("address", "Địa chỉ", False, 250),
            ("phone", "Số điện thoại", False, 30),
            ("email", "Email", False, 254),
            ("legal_duration", "Thời gian giải quyết theo quy định", False, 100),
            ("return_method", "Nơi đăng ký nhận kết quả", False, 200),
            ("book_number", "Quyển số", False, 20),
            ("book_serial", "Số thứ tự", False, 20),
            ("fee", "Phí, lệ phí", False, 100),
            ("receiver_name", "Họ tên người tiếp nhận", False, 100),
            ("office_name", "Tên bộ phận tiếp nhận", False, 150),
        )
        _clean_texts(self, texts)
        _set(self, "lookup_url", _check_url(self.lookup_url))
        secret = clean_text(
            self.lookup_secret, "Mã bí mật tra cứu", field="lookup_secret", max_len=64
        )
        if " " in secret or not secret.isascii():
            msg = "Mã bí mật tra cứu chỉ gồm chữ và số không dấu, không có khoảng trắng."
            raise InvalidLabelData(msg, field="lookup_secret")
        _set(self, "lookup_secret", secret)
        if isinstance(self.documents, str):
            msg = "Thành phần hồ sơ phải là một danh sách, mỗi giấy tờ một dòng."
            raise InvalidLabelData(msg, field="documents")
        documents = tuple(
            clean_text(d, f"Thành phần hồ sơ thứ {i}", field="documents", max_len=300)
            for i, d in enumerate(self.documents, start=1)
        )
        if len(documents) > 60:
            msg = f"Thành phần hồ sơ quá nhiều ({len(documents)} giấy tờ, tối đa 60)."
            raise InvalidLabelData(msg, field="documents")
        _set(self, "documents", documents)
        if (
            isinstance(self.copies_count, bool)
            or not isinstance(self.copies_count, int)
            or not 1 <= self.copies_count <= 99
        ):
            msg = "Số lượng hồ sơ phải là số nguyên từ 1 đến 99 (bộ)."
            raise InvalidLabelData(msg, field="copies_count")
        _check_dates(self.received_at, self.due_at)
        if self.original_due_at is not None:
            _check_dates(self.received_at, self.original_due_at)


def _check_url(value: object) -> str:
    text = clean_text(value, "Địa chỉ tra cứu", field="lookup_url", max_len=300)
    if not text.startswith(("https://", "http://")) or " " in text or not text.isascii():
        msg = f"Địa chỉ tra cứu không hợp lệ: {text!r} (cần dạng https://…, không dấu)."
        raise InvalidLabelData(msg, field="lookup_url")
    return text


@dataclass(frozen=True)
class HandoffRow:
    """One handoff recorded for the control sheet (Mẫu 05).

    :param giver: who handed the dossier over ("Giao"), e.g. "Bộ phận TN&TKQ - Nguyễn Văn A".
    :param receiver: who took it ("Nhận").
    :param handed_at: when it was handed over (timezone-aware).
    :param received_at: when the receiver confirmed, if different/recorded.
    :param verdict: the step's result: ``"early"`` (trước hạn), ``"on_time"`` (đúng hạn),
        ``"late"`` (quá hạn), or ``None`` while the step is open.
    :param note: "Ghi chú".
    :param label: what the row records when it is no plain handoff, printed above it
        ("Yêu cầu bổ sung", "Nhận bổ sung", "Trả kết quả").
    """

    giver: str
    receiver: str
    handed_at: datetime
    received_at: datetime | None = None
    verdict: Verdict | None = None
    note: str = ""
    label: str = ""

    def __post_init__(self) -> None:
        _set(
            self,
            "label",
            clean_text(self.label, "Loại bước", field="label", required=False, max_len=60),
        )
        _set(self, "giver", clean_text(self.giver, "Bên giao", field="giver", max_len=200))
        _set(self, "receiver", clean_text(self.receiver, "Bên nhận", field="receiver", max_len=200))
        _set(
            self,
            "note",
            clean_text(self.note, "Ghi chú", field="note", required=False, max_len=500),
        )
        handed = check_aware(self.handed_at, "Thời gian giao hồ sơ", field="handed_at")
        if self.received_at is not None:
            received = check_aware(self.received_at, "Thời gian nhận hồ sơ", field="received_at")
            if received < handed:
                msg = "Thời gian nhận hồ sơ sớm hơn thời gian giao hồ sơ."
                raise InvalidLabelData(msg, field="received_at")
        if self.verdict is not None and self.verdict not in VERDICT_TEXT:
            msg = (
                f"Kết quả bước xử lý không hợp lệ: {self.verdict!r} "
                "(chỉ nhận early, on_time, late hoặc để trống)."
            )
            raise InvalidLabelData(msg, field="verdict")


@dataclass(frozen=True)
class ControlSheetData:
    """Content of the control sheet (Mẫu 05, "Phiếu kiểm soát quá trình giải quyết hồ sơ").

    :param official_code: "Mã hồ sơ".
    :param applicant_name: "(Kèm theo hồ sơ của: …)".
    :param handling_agency: "Cơ quan (bộ phận) giải quyết hồ sơ".
    :param coordinating_agencies: "Cơ quan phối hợp giải quyết hồ sơ".
    :param steps: the recorded handoffs, in order.
    :param agency_name: the agency in the header's first line.
    :param office_name: overrides :attr:`FormConfig.desk_name` in the header.
    :param place: the place of the "<place>, ngày … tháng … năm …" line.
    :param dated: the date of that line (the day the dossier was received); without it the
        line is printed blank, to fill in by hand.
    :param due_at: the dossier's appointment in force ("Thời hạn trả kết quả").
    :param original_due_at: the first appointment when it was moved (printed with "Hẹn lại").
    :param verdict: the dossier's overall verdict (early, on_time, late; within, approaching
        while in progress).
    :param blank_rows: empty rows for the handoffs still to come; ``None``: four when no
        handoff is recorded yet, else none.
    :raises InvalidLabelData: on construction, for any invalid field.
    """

    official_code: str
    applicant_name: str
    handling_agency: str
    coordinating_agencies: Sequence[str] = ()
    steps: Sequence[HandoffRow] = field(default_factory=tuple)
    agency_name: str = ""
    office_name: str = ""
    place: str = ""
    dated: datetime | None = None
    due_at: datetime | None = None
    original_due_at: datetime | None = None
    verdict: OverallVerdict | None = None
    blank_rows: int | None = None

    @property
    def rescheduled(self) -> bool:
        """Whether the appointment was moved (both are printed)."""
        return self.original_due_at is not None and self.original_due_at != self.due_at

    def __post_init__(self) -> None:
        _set(self, "official_code", check_official_code(self.official_code))
        _set(
            self,
            "applicant_name",
            clean_text(
                self.applicant_name, "Họ tên người nộp hồ sơ", field="applicant_name", max_len=100
            ),
        )
        _set(
            self,
            "handling_agency",
            clean_text(
                self.handling_agency,
                "Cơ quan giải quyết hồ sơ",
                field="handling_agency",
                max_len=200,
            ),
        )
        if isinstance(self.coordinating_agencies, str):
            msg = "Cơ quan phối hợp phải là một danh sách."
            raise InvalidLabelData(msg, field="coordinating_agencies")
        _set(
            self,
            "coordinating_agencies",
            tuple(
                clean_text(a, "Cơ quan phối hợp", field="coordinating_agencies", max_len=200)
                for a in self.coordinating_agencies
            ),
        )
        for name, label in (
            ("agency_name", "Tên cơ quan"),
            ("office_name", "Tên bộ phận"),
            ("place", "Địa danh"),
        ):
            value = clean_text(getattr(self, name), label, field=name, required=False, max_len=150)
            _set(self, name, value)
        for name, label in (
            ("dated", "Ngày lập phiếu"),
            ("due_at", "Thời hạn trả kết quả"),
            ("original_due_at", "Thời hạn trả kết quả ban đầu"),
        ):
            if getattr(self, name) is not None:
                check_aware(getattr(self, name), label, field=name)
        if self.verdict is not None and self.verdict not in OVERALL_VERDICT_TEXT:
            msg = f"Kết quả giải quyết hồ sơ không hợp lệ: {self.verdict!r}."
            raise InvalidLabelData(msg, field="verdict")
        if self.blank_rows is not None and (
            isinstance(self.blank_rows, bool)
            or not isinstance(self.blank_rows, int)
            or not 0 <= self.blank_rows <= 20
        ):
            msg = "Số dòng trống phải là số nguyên từ 0 đến 20."
            raise InvalidLabelData(msg, field="blank_rows")
        steps = tuple(self.steps)
        if not all(isinstance(s, HandoffRow) for s in steps):
            msg = "Các bước giao nhận phải là HandoffRow."
            raise InvalidLabelData(msg, field="steps")
        if len(steps) > 200:
            msg = f"Quá nhiều bước giao nhận ({len(steps)}, tối đa 200)."
            raise InvalidLabelData(msg, field="steps")
        _set(self, "steps", steps)


@dataclass(frozen=True)
class MissingPaper:
    """One paper a supplement request (Mẫu 02) asks for.

    :param name: "Thành phần hồ sơ", e.g. "Bản sao Căn cước công dân của người đi đăng ký".
    :param kind: the copy asked for: ``"original"`` (bản chính), ``"certified"`` (bản chứng
        thực) or ``"photo"`` (bản photo).
    :raises InvalidLabelData: on construction, for any invalid field.
    """

    name: str
    kind: PaperKind = "original"

    def __post_init__(self) -> None:
        _set(self, "name", clean_text(self.name, "Thành phần hồ sơ", field="items", max_len=300))
        if self.kind not in PAPER_KIND_TEXT:
            msg = (
                f"Loại bản giấy tờ không hợp lệ: {self.kind!r} "
                "(chỉ nhận original, certified hoặc photo)."
            )
            raise InvalidLabelData(msg, field="items")


def _notice_texts(
    obj: SupplementRequestData | RefusalData | ApologyData,
    extra: tuple[TextField, ...],
) -> None:
    """Validate the fields every notice (Mẫu 02, 03, 04) shares, and ``extra`` ones."""
    _set(obj, "official_code", check_official_code(obj.official_code))
    _clean_texts(obj, (
        ("applicant_name", "Họ tên người nộp hồ sơ", True, 100),
        ("request_name", "Nội dung yêu cầu giải quyết", True, 500),
        ("agency_name", "Tên cơ quan", True, 150),
        ("place", "Địa danh", True, 60),
        ("office_name", "Tên bộ phận tiếp nhận", False, 150),
        ("signer_name", "Họ tên người ký", False, 100),
        *extra,
    ))
    received = check_aware(obj.received_at, "Thời gian nhận hồ sơ", field="received_at")
    issued = check_aware(obj.issued_at, "Ngày lập phiếu", field="issued_at")
    if issued < received:
        msg = "Ngày lập phiếu sớm hơn thời gian nhận hồ sơ."
        raise InvalidLabelData(msg, field="issued_at")


@dataclass(frozen=True)
class SupplementRequestData:
    """Mẫu 02, "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ".

    :param official_code: "Mã hồ sơ".
    :param applicant_name: "Hồ sơ của".
    :param request_name: "Nội dung yêu cầu giải quyết".
    :param received_at: when the dossier was received (timezone-aware).
    :param issued_at: when the request is made: the form's date (timezone-aware).
    :param items: the papers to add or complete, at least one.
    :param reason: "Lý do".
    :param agency_name: the agency in the header's first line.
    :param place: the place of the date line.
    :param contact: whom to ask while completing the file (name, phone), printed in the
        closing sentence; empty prints dotted blanks.
    :param office_name: overrides :attr:`FormConfig.desk_name` in the header.
    :param signer_name: "Người hướng dẫn", printed under the signature.
    :raises InvalidLabelData: on construction, for any invalid field.
    """

    official_code: str
    applicant_name: str
    request_name: str
    received_at: datetime
    issued_at: datetime
    items: Sequence[MissingPaper]
    reason: str
    agency_name: str
    place: str
    contact: str = ""
    office_name: str = ""
    signer_name: str = ""

    def __post_init__(self) -> None:
        _notice_texts(
            self,
            (("reason", "Lý do", True, 1000), ("contact", "Người liên hệ", False, 200)),
        )
        if isinstance(self.items, str | MissingPaper):
            msg = "Thành phần hồ sơ cần bổ sung phải là một danh sách MissingPaper."
            raise InvalidLabelData(msg, field="items")
        items = tuple(self.items)
        if not items or not all(isinstance(i, MissingPaper) for i in items):
            msg = "Cần ít nhất một thành phần hồ sơ cần bổ sung (MissingPaper)."
            raise InvalidLabelData(msg, field="items")
        if len(items) > 60:
            msg = f"Quá nhiều thành phần hồ sơ cần bổ sung ({len(items)}, tối đa 60)."
            raise InvalidLabelData(msg, field="items")
        _set(self, "items", items)


@dataclass(frozen=True)
class RefusalData:
    """Mẫu 03, "Phiếu từ chối tiếp nhận giải quyết hồ sơ".

    :param reason: why the dossier is not accepted ("lý do cụ thể").
    :param signer_name: "Người tiếp nhận hồ sơ", printed under the signature.

    The other fields are those of :class:`SupplementRequestData`.
    :raises InvalidLabelData: on construction, for any invalid field.
    """

    official_code: str
    applicant_name: str
    request_name: str
    received_at: datetime
    issued_at: datetime
    reason: str
    agency_name: str
    place: str
    office_name: str = ""
    signer_name: str = ""

    def __post_init__(self) -> None:
        _notice_texts(self, (("reason", "Lý do", True, 1000),))


@dataclass(frozen=True)
class ApologyData:
    """Mẫu 04, "Phiếu xin lỗi và hẹn lại ngày trả kết quả".

    :param previous_due_at: the appointment that will be missed (timezone-aware).
    :param new_due_at: the new appointment, later than ``previous_due_at``.
    :param reason: why the result is late.
    :param signer_name: the head of the agency, printed under the signature.

    The other fields are those of :class:`SupplementRequestData`.
    :raises InvalidLabelData: on construction, for any invalid field.
    """

    official_code: str
    applicant_name: str
    request_name: str
    received_at: datetime
    issued_at: datetime
    previous_due_at: datetime
    new_due_at: datetime
    reason: str
    agency_name: str
    place: str
    office_name: str = ""
    signer_name: str = ""

    def __post_init__(self) -> None:
        _notice_texts(self, (("reason", "Lý do", True, 1000),))
        _check_dates(self.received_at, self.previous_due_at)
        new = check_aware(self.new_due_at, "Ngày hẹn lại", field="new_due_at")
        if new <= self.previous_due_at:
            msg = "Ngày hẹn lại phải muộn hơn ngày hẹn trả kết quả trước đó."
            raise InvalidLabelData(msg, field="new_due_at")
