"""The label library without rasterising: data validation, layouts, text, determinism, ZPL."""

from __future__ import annotations

import dataclasses
import io
import unicodedata
from datetime import UTC, datetime, timedelta, timezone

import pypdfium2 as pdfium
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from reportlab.graphics.barcode.code128 import _patterns as reportlab_patterns

import labels
from labels import (
    LAYOUTS,
    ControlSheetData,
    FormConfig,
    HandoffRow,
    InvalidLabelData,
    LabelData,
    LabelError,
    LabelFitError,
    LayoutError,
    ReceiptData,
    RollLayout,
    SheetLayout,
    layout_from_spec,
    render_calibration,
    render_control_sheet,
    render_labels,
    render_receipt,
    render_zpl,
)
from labels.barcodes import code128_values, code128_widths
from labels.text import BOLD, ITALIC, REGULAR, supported_codepoints

ICT = timezone(timedelta(hours=7))
RECEIVED = datetime(2026, 11, 22, 9, 15, tzinfo=ICT)


def make_label(**changes: object) -> LabelData:
    values: dict[str, object] = {
        "tracking_number": "261122000123",
        "official_code": "000.00.19.H12-261122-0001",
        "procedure_name": "Đăng ký khai sinh",
        "received_at": RECEIVED,
        "due_at": RECEIVED + timedelta(days=3, hours=6, minutes=45),
        "office_name": "UBND phường Ba Đình",
    }
    values.update(changes)
    return LabelData(**values)  # type: ignore[arg-type]


def make_receipt(**changes: object) -> ReceiptData:
    values: dict[str, object] = {
        "official_code": "000.00.19.H12-261122-0001",
        "tracking_number": "261122000123",
        "applicant_name": "Nguyễn Thị Hằng",
        "request_name": "Đăng ký khai sinh",
        "received_at": RECEIVED,
        "due_at": RECEIVED + timedelta(days=3, hours=6, minutes=45),
        "lookup_url": "https://dichvucong.example.gov.vn/tra-cuu/000.00.19.H12-261122-0001?t=K7Q2M9XW4PZT8R3H",
        "lookup_secret": "K7Q2M9XW4PZT8R3H",
        "agency_name": "UBND phường Ba Đình",
        "place": "Hà Nội",
        "address": "Số 12 phố Đội Cấn, phường Ba Đình, Hà Nội",
        "phone": "0912 345 678",
        "documents": ["Tờ khai đăng ký khai sinh", "Giấy chứng sinh (bản chính)"],
        "legal_duration": "03 ngày làm việc",
        "receiver_name": "Trần Văn Bình",
        "book_number": "05",
        "book_serial": "123",
    }
    values.update(changes)
    return ReceiptData(**values)  # type: ignore[arg-type]


def make_control_sheet(steps: int = 3) -> ControlSheetData:
    rows = [
        HandoffRow(
            "Bộ phận TN&TKQ — Trần Văn Bình",
            "Phòng Tư pháp — Lê Thị Thu",
            RECEIVED + timedelta(minutes=20),
            RECEIVED + timedelta(minutes=45),
            "early",
            "Hồ sơ đầy đủ",
        ),
        HandoffRow(
            "Phòng Tư pháp — Lê Thị Thu",
            "Lãnh đạo UBND — Phạm Quốc Hùng",
            RECEIVED + timedelta(days=1),
            None,
            "on_time",
        ),
        HandoffRow(
            "Lãnh đạo UBND — Phạm Quốc Hùng",
            "Bộ phận TN&TKQ — Trần Văn Bình",
            RECEIVED + timedelta(days=3),
            verdict="late",
            note="Chờ ký",
        ),
    ]
    return ControlSheetData(
        official_code="000.00.19.H12-261122-0001",
        applicant_name="Nguyễn Thị Hằng",
        handling_agency="Phòng Tư pháp UBND phường Ba Đình",
        coordinating_agencies=["Chi cục Thuế khu vực Ba Đình"],
        steps=(rows * 10)[:steps],
        agency_name="UBND phường Ba Đình",
    )


def pdf_text(pdf: bytes) -> str:
    document = pdfium.PdfDocument(pdf)
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


def page_count(pdf: bytes) -> int:
    document = pdfium.PdfDocument(pdf)
    try:
        return len(document)
    finally:
        document.close()


VIETNAMESE_LETTERS = sorted(
    {
        unicodedata.normalize("NFC", vowel + tone)
        for vowel in "aăâeêioôơuưy"
        for tone in "\u0300\u0301\u0303\u0309\u0323"
    }
    | set("ăâđêôơư")
)


# --- fonts and text -----------------------------------------------------------------


def test_bundled_fonts_cover_all_134_vietnamese_letters() -> None:
    letters = {c for c in VIETNAMESE_LETTERS} | {c.upper() for c in VIETNAMESE_LETTERS}
    assert len(letters) == 134
    missing = [c for c in letters if ord(c) not in supported_codepoints()]
    assert missing == []
    assert {REGULAR, BOLD, ITALIC} <= set(labels.text.FONT_NAMES)


def test_decomposed_input_is_stored_and_printed_as_nfc() -> None:
    nfd = unicodedata.normalize("NFD", "Đăng ký khai sinh")
    label = make_label(procedure_name=f"  {nfd}\u200b \n ")
    assert label.procedure_name == "Đăng ký khai sinh"
    text = pdf_text(render_labels([label], LAYOUTS["thermal-50x30"]))
    assert "Đăng ký khai sinh" in unicodedata.normalize("NFC", text)


def test_vietnamese_strings_survive_text_extraction_of_every_document() -> None:
    pdfs = [
        render_labels([make_label()], LAYOUTS["a4-24"]),
        render_receipt(make_receipt()),
        render_control_sheet(make_control_sheet()),
    ]
    texts = [pdf_text(pdf) for pdf in pdfs]
    assert "Đăng ký khai sinh" in texts[0]
    assert "000.00.19.H12-261122-0001" in texts[0]
    for expected in (
        "Nguyễn Thị Hằng",
        "Đăng ký khai sinh",
        "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
        "Liên 1: Lưu",
        "Liên 2: Giao người nộp hồ sơ",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Hà Nội, ngày 22 tháng 11 năm 2026",
        "09 giờ 15 phút, ngày 22 tháng 11 năm 2026",
        "16 giờ 00 phút, ngày 25 tháng 11 năm 2026",
        "Mã bí mật: K7Q2M9XW4PZT8R3H",
    ):
        assert expected in texts[1], expected
    for expected in (
        "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ",
        "(Kèm theo hồ sơ của: Nguyễn Thị Hằng)",
        "Trước hạn",
        "Đúng hạn",
        "Quá hạn",
        "1. Giao: Bộ phận TN&TKQ",
        "Chi cục Thuế khu vực Ba Đình",
    ):
        assert expected in texts[2], expected


def test_all_vietnamese_letters_extract_intact_from_a_receipt() -> None:
    alphabet = "".join(VIETNAMESE_LETTERS)
    receipt = make_receipt(address=alphabet + " " + alphabet.upper())
    text = pdf_text(render_receipt(receipt)).replace("\r", "").replace("\n", "")
    assert alphabet in text
    assert alphabet.upper() in text


def test_times_print_in_vietnam_local_time_whatever_the_input_zone() -> None:
    received_utc = RECEIVED.astimezone(UTC)
    label = make_label(received_at=received_utc, due_at=received_utc + timedelta(hours=1))
    text = pdf_text(render_labels([label], LAYOUTS["a4-24"]))
    assert "22/11/2026 09:15" in text
    assert "22/11/2026 10:15" in text


def test_dates_on_forms_follow_the_leading_zero_rule() -> None:
    january = datetime(2027, 1, 5, 8, 0, tzinfo=ICT)
    march = datetime(2027, 3, 5, 8, 0, tzinfo=ICT)
    text = pdf_text(render_receipt(make_receipt(received_at=january, due_at=march)))
    assert "ngày 05 tháng 01 năm 2027" in text
    assert "ngày 05 tháng 3 năm 2027" in text


# --- bad input ------------------------------------------------------------------------


def test_errors_are_value_errors() -> None:
    for error in (InvalidLabelData, LayoutError, LabelFitError):
        assert issubclass(error, LabelError)
        assert issubclass(error, ValueError)


def test_empty_applicant_name_is_refused() -> None:
    with pytest.raises(InvalidLabelData, match="Chưa nhập họ tên người nộp hồ sơ") as info:
        make_receipt(applicant_name="   ")
    assert info.value.field == "applicant_name"


def test_300_character_name_is_refused() -> None:
    with pytest.raises(InvalidLabelData, match=r"quá dài \(300 ký tự, tối đa 100\)"):
        make_receipt(applicant_name="Nguyễn " + "a" * 293)


def test_code_128_cannot_carry_vietnamese_letters_or_spaces() -> None:
    with pytest.raises(InvalidLabelData, match="Code 128: 'Đ'") as info:
        make_label(tracking_number="26112200012Đ")
    assert info.value.field == "tracking_number"
    with pytest.raises(InvalidLabelData, match="Code 128"):
        make_label(tracking_number="2611 2200 0123")
    with pytest.raises(InvalidLabelData, match="Chưa có mã vạch"):
        make_label(tracking_number="")


def test_unprintable_characters_are_refused_with_their_code_point() -> None:
    with pytest.raises(InvalidLabelData, match=r"U\+1F600"):
        make_label(procedure_name="Khai sinh 😀")


def test_naive_and_inverted_datetimes_are_refused() -> None:
    with pytest.raises(InvalidLabelData, match="thiếu múi giờ"):
        make_label(received_at=datetime(2026, 11, 22, 9, 15))
    with pytest.raises(InvalidLabelData, match="sớm hơn"):
        make_label(due_at=RECEIVED - timedelta(days=1))


def test_bad_receipt_and_control_sheet_fields_are_refused() -> None:
    with pytest.raises(InvalidLabelData, match="Địa chỉ tra cứu"):
        make_receipt(lookup_url="javascript:alert(1)")
    with pytest.raises(InvalidLabelData, match="Số lượng hồ sơ"):
        make_receipt(copies_count=0)
    with pytest.raises(InvalidLabelData, match="danh sách"):
        make_receipt(documents="Tờ khai")
    with pytest.raises(InvalidLabelData, match="early, on_time, late"):
        HandoffRow("A", "B", RECEIVED, verdict="sớm")  # type: ignore[arg-type]
    with pytest.raises(InvalidLabelData, match="Chưa nhập bên giao"):
        HandoffRow("", "B", RECEIVED)


def test_grid_that_does_not_fit_a4_is_refused() -> None:
    with pytest.raises(LayoutError, match="không vừa khổ giấy 210×297 mm") as info:
        SheetLayout(4, 10, 55, 25)
    assert "220 mm" in str(info.value)
    with pytest.raises(LayoutError, match="vượt chiều cao"):
        SheetLayout(5, 15, 38, 21.2)
    with pytest.raises(LayoutError, match="chồng lên nhau"):
        SheetLayout(3, 8, 64, 33.8, pitch_x_mm=60)
    with pytest.raises(LayoutError, match="không vừa"):
        dataclasses.replace(LAYOUTS["a4-65"], offset_x_mm=12)


def test_label_too_small_for_its_barcode_is_refused_never_clipped() -> None:
    with pytest.raises(LabelFitError, match="cần .* mm chiều ngang"):
        render_labels([make_label()], RollLayout(25, 15))
    with pytest.raises(LabelFitError, match="chiều ngang"):
        render_labels(
            [make_label(tracking_number="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123")], LAYOUTS["thermal-40x30"]
        )
    with pytest.raises(LabelFitError, match="mã 2D"):
        render_labels([make_label()], LAYOUTS["a4-65"], with_2d=True)
    with pytest.raises(LabelFitError, match="chiều cao"):
        render_labels([make_label()], RollLayout(50, 12))


def test_bad_print_options_are_refused() -> None:
    layout = LAYOUTS["a4-65"]
    with pytest.raises(LayoutError, match="Vị trí bắt đầu phải từ 1 đến 65"):
        render_labels([make_label()], layout, start_position=66)
    with pytest.raises(LayoutError, match="từ 1 đến 1"):
        render_labels([make_label()], LAYOUTS["thermal-50x30"], start_position=2)
    with pytest.raises(InvalidLabelData, match="Số bản in"):
        render_labels([make_label()], layout, copies=0)
    with pytest.raises(InvalidLabelData, match="Không có nhãn"):
        render_labels([], layout)


# --- layouts --------------------------------------------------------------------------


def test_predefined_layouts() -> None:
    assert {"thermal-50x30", "thermal-40x30", "a4-65", "a4-24"} <= set(LAYOUTS)
    assert LAYOUTS["a4-65"].labels_per_page == 65
    assert LAYOUTS["a4-24"].labels_per_page == 24
    assert LAYOUTS["thermal-50x30"].labels_per_page == 1


def test_layout_from_spec_presets_overrides_and_custom_grids() -> None:
    assert layout_from_spec("a4-24") is LAYOUTS["a4-24"]
    shifted = layout_from_spec({"base": "a4-65", "offset_x_mm": 0.5, "offset_y_mm": -1})
    assert isinstance(shifted, SheetLayout)
    assert shifted.left_mm == pytest.approx(LAYOUTS["a4-65"].left_mm + 0.5)
    roll = layout_from_spec({"kind": "roll", "label_width_mm": 60, "label_height_mm": 40})
    assert isinstance(roll, RollLayout)
    custom = layout_from_spec(
        {
            "columns": 4,
            "rows": 10,
            "label_width_mm": 48.5,
            "label_height_mm": 25.4,
            "margin_left_mm": 8,
            "margin_top_mm": 21.5,
        }
    )
    assert custom.labels_per_page == 40
    with pytest.raises(LayoutError, match="Không có khổ nhãn"):
        layout_from_spec("a4-99")
    with pytest.raises(LayoutError, match="colums"):
        layout_from_spec({"base": "a4-65", "colums": 4})


def test_thermal_pages_are_exactly_the_label_size() -> None:
    for key, size in (("thermal-50x30", (50, 30)), ("thermal-40x30", (40, 30))):
        document = pdfium.PdfDocument(render_labels([make_label()] * 2, LAYOUTS[key]))
        try:
            assert len(document) == 2
            width, height = document[0].get_size()
        finally:
            document.close()
        assert (width * 25.4 / 72, height * 25.4 / 72) == pytest.approx(size, abs=0.01)


def test_copies_and_start_position_fill_the_sheet_in_order() -> None:
    pdf = render_labels([make_label()] * 35, LAYOUTS["a4-65"], copies=2, start_position=10)
    assert page_count(pdf) == 2  # 9 used + 70 labels = 79 slots
    assert page_count(render_labels([make_label()] * 56, LAYOUTS["a4-65"], start_position=10)) == 1


def test_calibration_pages_render_for_every_layout() -> None:
    for layout in LAYOUTS.values():
        pdf = render_calibration(layout)
        assert page_count(pdf) == 1
        assert "CĂN CHỈNH" in pdf_text(pdf)


# --- determinism ----------------------------------------------------------------------


def test_same_input_gives_byte_identical_pdfs() -> None:
    batch = [make_label(), make_label(tracking_number="261122000124")]
    for render in (
        lambda: render_labels(batch, LAYOUTS["a4-65"], copies=2, start_position=3),
        lambda: render_labels(batch, LAYOUTS["thermal-50x30"], with_2d=True),
        lambda: render_calibration(LAYOUTS["a4-24"]),
        lambda: render_receipt(make_receipt()),
        lambda: render_control_sheet(make_control_sheet()),
        lambda: render_zpl(batch, with_2d=True),
    ):
        assert render() == render()
    assert render_receipt(make_receipt()) != render_receipt(make_receipt(phone="0987 654 321"))


def test_form_titles_and_numbers_are_configuration() -> None:
    forms = FormConfig(
        receipt_form_number="Mẫu số 01/TT03",
        receipt_title="PHIẾU TIẾP NHẬN",
        receipt_copies=("Bản lưu",),
    )
    pdf = render_receipt(make_receipt(), forms)
    text = pdf_text(pdf)
    assert "Mẫu số 01/TT03" in text and "PHIẾU TIẾP NHẬN" in text and "Bản lưu" in text
    assert page_count(pdf) == 1
    assert page_count(render_receipt(make_receipt())) == 2


def test_long_documents_and_many_handoffs_flow_onto_more_pages() -> None:
    documents = [f"Giấy tờ số {i}: bản sao có chứng thực giấy tờ tuỳ thân" for i in range(1, 41)]
    receipt = render_receipt(make_receipt(documents=documents))
    assert page_count(receipt) >= 4
    assert "(40) Giấy tờ số 40" in pdf_text(receipt)
    sheet = render_control_sheet(make_control_sheet(steps=25))
    assert page_count(sheet) >= 2
    assert pdf_text(sheet).count("THỜI GIAN GIAO, NHẬN HỒ SƠ") == page_count(sheet)


# --- Code 128 encoding ----------------------------------------------------------------


def _widths_from_reportlab_table(values: list[int]) -> list[int]:
    table = {"A": 1, "B": 2, "C": 3, "D": 4}
    return [table[c.upper()] for v in values + [106] for c in reportlab_patterns[v]]


def _decode_values(values: list[int]) -> str:
    """Inverse of Code 128 sets B/C, enough to check the encoder.

    A switch symbol means something only in the set that defines it: 99 is CODE C in set B but
    the digits "99" in set C; 100 is CODE B in set C (and FNC4 in set B, which the encoder
    never emits).
    """
    current = "C" if values[0] == 105 else "B"
    out = ""
    for value in values[1:-1]:
        if current == "B" and value == 99:
            current = "C"
        elif current == "C" and value == 100:
            current = "B"
        else:
            out += f"{value:02d}" if current == "C" else chr(value + 32)
    return out


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=30)
)
@example("9999")  # "99" inside set C is data, not a switch to set C
@example("A999999B")
@example("12345699")
def test_code128_encoding_round_trips_and_matches_the_standard_table(data: str) -> None:
    values = code128_values(data)
    assert _decode_values(values) == data
    weighted = values[0] + sum(i * v for i, v in enumerate(values[1:-1], start=1))
    assert weighted % 103 == values[-1]
    assert list(code128_widths(data)) == _widths_from_reportlab_table(values)


def test_twelve_digits_use_code_set_c_and_fit_101_modules() -> None:
    values = code128_values("261122000123")
    assert values[0] == 105 and len(values) == 8
    assert sum(code128_widths("261122000123")) == 101  # 30.3 mm with quiet zones at X = 0.25


# --- ZPL --------------------------------------------------------------------------------


def test_zpl_job_structure() -> None:
    job = render_zpl([make_label(), make_label(tracking_number="HS-0001")], copies=3).decode()
    assert job.count("^XA") == job.count("^XZ") == 2
    assert "^PW400" in job and "^LL240" in job and "^CI28" in job and "^PQ3" in job
    assert "^FD>;261122000123^FS" in job
    assert "^FD>:HS->50001^FS" in job
    assert "^GFA," in job
    job300 = render_zpl([make_label()], dpi=300).decode()
    assert "^PW591" in job300 and "^BY3" in job300 or "^BY4" in job300 or "^BY5" in job300


def test_zpl_utf8_mode_sends_vietnamese_text_as_utf8() -> None:
    job = render_zpl([make_label()], text_mode="utf8").decode("utf-8")
    assert "^CI28" in job
    assert "^FDĐăng ký khai sinh^FS" in job
    assert "^GFA" not in job
    with pytest.raises(InvalidLabelData):
        render_zpl([make_label()], text_mode="png")  # type: ignore[arg-type]
    with pytest.raises(LayoutError):
        render_zpl([make_label()], layout=LAYOUTS["a4-65"])  # type: ignore[arg-type]


def test_library_does_not_import_the_server() -> None:
    import subprocess
    import sys

    code = (
        "import sys, labels; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy', 'app')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_pdf_is_a_valid_pdf() -> None:
    pdf = render_labels([make_label()], LAYOUTS["a4-24"])
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert io.BytesIO(pdf).getbuffer().nbytes < 100_000


# --- QR ---------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=200)
)
def test_qr_codewords_match_reportlabs_encoder(data: str) -> None:
    from reportlab.graphics.barcode import qrencoder

    from labels.barcodes import _codewords

    qr = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    qr.addData(data)
    qr.version = qr.calculate_version()
    expected = qrencoder.QRCode.createData(qr.version, qr.errorCorrectLevel, qr.dataList)
    assert _codewords(qr) == list(expected)
