"""The desk's forms as the issue 8 asks: the receipt's fee line, secret and "Hẹn lại" (Mẫu 01),
the control sheet's date line, rows and blanks (Mẫu 05), and the notices Mẫu 02, 03 and 04."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import unicodedata
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image

from labels import (
    ApologyData,
    ControlSheetData,
    FormConfig,
    HandoffRow,
    InvalidLabelData,
    MissingPaper,
    ReceiptData,
    RefusalData,
    SupplementRequestData,
    render_apology,
    render_control_sheet,
    render_receipt,
    render_refusal,
    render_supplement_request,
)

ICT = timezone(timedelta(hours=7))
RECEIVED = datetime(2026, 11, 23, 9, 15, tzinfo=ICT)  # a Monday
DUE = datetime(2026, 11, 25, 16, 0, tzinfo=ICT)
SECRET = "K7Q2M9XW4PZT8R3H"
CODE = "000.00.19.H12-261123-0001"


def receipt(**changes: object) -> ReceiptData:
    values: dict[str, object] = {
        "official_code": CODE,
        "tracking_number": "261123000123",
        "applicant_name": "Nguyễn Thị Hằng",
        "request_name": "Đăng ký khai sinh",
        "received_at": RECEIVED,
        "due_at": DUE,
        "lookup_url": f"https://dvc.example.gov.vn/lookup/{CODE}?t={SECRET}",
        "lookup_secret": SECRET,
        "agency_name": "UBND xã Tân Phong",
        "place": "Tân Phong",
    }
    return ReceiptData(**(values | changes))  # type: ignore[arg-type]


def page_texts(pdf: bytes) -> list[str]:
    """Each page's text, whitespace folded, NFC."""
    document = pdfium.PdfDocument(pdf)
    try:
        return [
            " ".join(unicodedata.normalize("NFC", page.get_textpage().get_text_range()).split())
            for page in document
        ]
    finally:
        document.close()


def text(pdf: bytes) -> str:
    return " ".join(page_texts(pdf))


# --- Mẫu 01 ---------------------------------------------------------------------------


def test_receipt_prints_the_fee_line_with_the_amount_or_khong_or_a_blank() -> None:
    assert "Phí, lệ phí (nếu có): 50.000 đồng" in text(render_receipt(receipt(fee="50.000 đồng")))
    assert "Phí, lệ phí (nếu có): Không" in text(render_receipt(receipt(fee="Không")))
    # Unknown: a dotted blank for the clerk's pen, never a silent "no fee".
    assert "Phí, lệ phí (nếu có): ……" in text(render_receipt(receipt()))


def test_lookup_secret_is_on_the_citizens_copy_only() -> None:
    file_copy, citizen_copy = page_texts(render_receipt(receipt()))
    assert "Liên 1: Lưu" in file_copy and SECRET not in file_copy
    assert "Liên 2: Giao người nộp hồ sơ" in citizen_copy and f"Mã bí mật: {SECRET}" in citizen_copy
    for page in (file_copy, citizen_copy):
        assert "Số theo dõi" in page and "261123000123" in page


def test_the_citizens_copy_is_configuration() -> None:
    forms = FormConfig(
        receipt_copies=("Liên 1: Giao người nộp hồ sơ", "Liên 2: Lưu", "Liên 3: Lưu"),
        receipt_citizen_copy=1,
    )
    pages = page_texts(render_receipt(receipt(), forms))
    assert [SECRET in page for page in pages] == [True, False, False]
    with pytest.raises(InvalidLabelData):
        FormConfig(receipt_citizen_copy=3)


def test_moved_appointment_prints_the_first_and_the_new_one() -> None:
    moved = DUE + timedelta(days=2)
    body = text(render_receipt(receipt(due_at=moved, original_due_at=DUE)))
    assert (
        "5. Thời gian trả kết quả giải quyết hồ sơ: 16 giờ 00 phút, ngày 25 tháng 11 năm 2026 "
        "Hẹn lại: 16 giờ 00 phút, ngày 27 tháng 11 năm 2026"
    ) in body
    unchanged = text(render_receipt(receipt(original_due_at=DUE)))
    assert "Hẹn lại" not in unchanged and "ngày 25 tháng 11 năm 2026" in unchanged


def test_receipt_stays_deterministic_with_both_variants() -> None:
    data = receipt(fee="Không", original_due_at=DUE - timedelta(hours=1))
    assert render_receipt(data) == render_receipt(data)


# --- Mẫu 05 ---------------------------------------------------------------------------


def sheet(**changes: object) -> ControlSheetData:
    rows = (
        HandoffRow("Bộ phận một cửa – Trần Văn Bình", "Tư pháp – Lê Thu", RECEIVED, None, "early"),
        HandoffRow(
            "Tư pháp – Lê Thu",
            "Công dân: Nguyễn Thị Hằng",
            RECEIVED + timedelta(hours=3),
            label="Yêu cầu bổ sung",
            note="Thiếu giấy chứng sinh",
        ),
        HandoffRow(
            "Công dân: Nguyễn Thị Hằng",
            "Bộ phận một cửa – Trần Văn Bình",
            RECEIVED + timedelta(days=1),
            label="Nhận bổ sung",
            note="Đã nộp giấy chứng sinh",
        ),
        HandoffRow(
            "Trả kết quả – Trần Văn Bình",
            "Công dân nhận kết quả: Nguyễn Thị Hằng",
            RECEIVED + timedelta(days=2),
            label="Trả kết quả",
        ),
    )
    values: dict[str, object] = {
        "official_code": CODE,
        "applicant_name": "Nguyễn Thị Hằng",
        "handling_agency": "UBND xã Tân Phong",
        "steps": rows,
        "agency_name": "UBND xã Tân Phong",
        "place": "Tân Phong",
        "dated": RECEIVED,
        "due_at": DUE,
        "verdict": "early",
    }
    return ControlSheetData(**(values | changes))  # type: ignore[arg-type]


def test_control_sheet_has_the_date_line_due_date_and_verdict() -> None:
    body = text(render_control_sheet(sheet()))
    assert "Tân Phong, ngày 23 tháng 11 năm 2026" in body
    assert "Thời hạn trả kết quả: 16 giờ 00 phút, ngày 25 tháng 11 năm 2026" in body
    assert "Kết quả giải quyết hồ sơ: Trước hạn" in body
    moved = text(render_control_sheet(sheet(due_at=DUE + timedelta(days=1), original_due_at=DUE,
                                            verdict="approaching")))
    assert "Hẹn lại: 16 giờ 00 phút, ngày 26 tháng 11 năm 2026" in moved
    assert "Kết quả giải quyết hồ sơ: Sắp đến hạn" in moved


def test_supplement_rows_are_labelled_and_the_citizen_receives_the_result() -> None:
    body = text(render_control_sheet(sheet()))
    assert "Yêu cầu bổ sung 1. Giao: Tư pháp – Lê Thu 2. Nhận: Công dân: Nguyễn Thị Hằng" in body
    assert "Thiếu giấy chứng sinh" in body
    assert "Nhận bổ sung 1. Giao: Công dân: Nguyễn Thị Hằng" in body
    assert "Đã nộp giấy chứng sinh" in body
    assert "2. Nhận: Công dân nhận kết quả: Nguyễn Thị Hằng" in body


def test_blank_rows_for_handoffs_to_come_read_gio_phut_ngay_thang_nam() -> None:
    body = text(render_control_sheet(sheet(blank_rows=3)))
    assert body.count("… giờ … phút, ngày … tháng … năm ……") == 3
    assert "… giờ … phút" not in text(render_control_sheet(sheet()))
    # A sheet printed before any handoff, without a date: everything to fill in by hand.
    empty = text(render_control_sheet(sheet(steps=(), dated=None, due_at=None, verdict=None)))
    assert empty.count("… giờ … phút, ngày … tháng … năm ……") == 4
    assert "Tân Phong, ngày …… tháng …… năm ……" in empty


def test_control_sheet_refuses_a_bad_overall_verdict_or_blank_count() -> None:
    with pytest.raises(InvalidLabelData):
        sheet(verdict="soon")
    with pytest.raises(InvalidLabelData):
        sheet(blank_rows=-1)


# --- Mẫu 02, 03, 04 -------------------------------------------------------------------

COMMON: dict[str, object] = {
    "official_code": CODE,
    "applicant_name": "Nguyễn Thị Hằng",
    "request_name": "Đăng ký khai sinh",
    "received_at": RECEIVED,
    "issued_at": RECEIVED + timedelta(days=1),
    "agency_name": "UBND xã Tân Phong",
    "place": "Tân Phong",
    "signer_name": "Trần Văn Bình",
}


def supplement(**changes: object) -> SupplementRequestData:
    values = COMMON | {
        "items": [
            MissingPaper("Giấy chứng sinh", "original"),
            MissingPaper("Bản sao Giấy chứng nhận kết hôn của cha, mẹ", "certified"),
            MissingPaper("Căn cước của người đi đăng ký", "photo"),
        ],
        "reason": "Hồ sơ thiếu giấy chứng sinh (Điều 16 Luật Hộ tịch).",
        "contact": "ông Trần Văn Bình, số điện thoại 0243 823 4567",
    }
    return SupplementRequestData(**(values | changes))  # type: ignore[arg-type]


def refusal(**changes: object) -> RefusalData:
    values = COMMON | {"reason": "Thủ tục không thuộc thẩm quyền giải quyết của UBND xã."}
    return RefusalData(**(values | changes))  # type: ignore[arg-type]


def apology(**changes: object) -> ApologyData:
    values = COMMON | {
        "previous_due_at": DUE,
        "new_due_at": DUE + timedelta(days=3),
        "reason": "Cần xác minh thông tin với cơ quan công an.",
        "signer_name": "Phạm Quốc Hùng",
    }
    return ApologyData(**(values | changes))  # type: ignore[arg-type]


def test_supplement_request_lists_the_papers_in_the_three_columns_and_the_reason() -> None:
    body = text(render_supplement_request(supplement()))
    for expected in (
        "Mẫu số 02",
        "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ",
        f"Mã hồ sơ: {CODE}",
        "Tân Phong, ngày 24 tháng 11 năm 2026",
        "Hồ sơ của: Nguyễn Thị Hằng",
        "TT Thành phần hồ sơ Bản chính Bản chứng thực Bản photo",
        "1 Giấy chứng sinh x",
        "2 Bản sao Giấy chứng nhận kết hôn của cha, mẹ x",
        "3 Căn cước của người đi đăng ký x",
        "Lý do: Hồ sơ thiếu giấy chứng sinh (Điều 16 Luật Hộ tịch).",
        "ông Trần Văn Bình, số điện thoại 0243 823 4567",
        "NGƯỜI HƯỚNG DẪN",
    ):
        assert expected in body, expected


def test_refusal_states_the_reason() -> None:
    body = text(render_refusal(refusal()))
    for expected in (
        "Mẫu số 03",
        "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ",
        "tiếp nhận hồ sơ của: Nguyễn Thị Hằng",
        "Thủ tục không thuộc thẩm quyền giải quyết của UBND xã.",
        "NGƯỜI TIẾP NHẬN HỒ SƠ",
    ):
        assert expected in body, expected


def test_apology_gives_the_reason_and_the_new_appointment() -> None:
    body = text(render_apology(apology()))
    for expected in (
        "Mẫu số 04",
        "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ",
        "Kính gửi: Ông/Bà Nguyễn Thị Hằng",
        "Thời hạn trả kết quả giải quyết hồ sơ: 16 giờ 00 phút, ngày 25 tháng 11 năm 2026",
        "Cần xác minh thông tin với cơ quan công an.",
        "Hẹn lại: 16 giờ 00 phút, ngày 28 tháng 11 năm 2026",
        "THỦ TRƯỞNG CƠ QUAN",
        "Phạm Quốc Hùng",
    ):
        assert expected in body, expected


def test_notice_titles_and_numbers_are_configuration() -> None:
    forms = FormConfig(supplement_form_number="Mẫu số 02/TT03", apology_title="PHIẾU HẸN LẠI")
    assert "Mẫu số 02/TT03" in text(render_supplement_request(supplement(), forms))
    assert "PHIẾU HẸN LẠI" in text(render_apology(apology(), forms))


def test_notices_are_byte_identical_for_the_same_input() -> None:
    for render in (
        lambda: render_supplement_request(supplement()),
        lambda: render_refusal(refusal()),
        lambda: render_apology(apology()),
    ):
        assert render() == render()
    assert render_refusal(refusal()) != render_refusal(refusal(reason="Hồ sơ giả mạo."))


def test_many_missing_papers_continue_the_table_on_a_new_page() -> None:
    items = [MissingPaper(f"Giấy tờ số {i}: bản sao có chứng thực", "certified")
             for i in range(1, 41)]
    pages = page_texts(render_supplement_request(supplement(items=items)))
    assert len(pages) >= 2
    assert all("Thành phần hồ sơ" in page for page in pages)
    assert "40 Giấy tờ số 40" in " ".join(pages)


def test_every_vietnamese_letter_survives_on_the_notices() -> None:
    letters = "ăâđêôơư áàảãạ ắằẳẵặ ấầẩẫậ éèẻẽẹ ếềểễệ íìỉĩị óòỏõọ ốồổỗộ ớờởỡợ úùủũụ ứừửữự ýỳỷỹỵ"
    for pdf in (
        render_supplement_request(supplement(reason=letters)),
        render_refusal(refusal(reason=letters.upper())),
        render_apology(apology(reason=letters)),
    ):
        body = text(pdf)
        assert letters in body or letters.upper() in body


@pytest.mark.parametrize(
    ("make", "changes"),
    [
        (supplement, {"items": []}),
        (supplement, {"items": "Giấy chứng sinh"}),
        (supplement, {"reason": "  "}),
        (refusal, {"reason": ""}),
        (refusal, {"issued_at": RECEIVED - timedelta(days=1)}),
        (apology, {"new_due_at": DUE}),
        (apology, {"new_due_at": DUE.replace(tzinfo=None)}),
    ],
)
def test_bad_notice_fields_are_refused(make, changes) -> None:
    with pytest.raises(InvalidLabelData):
        make(**changes)


def test_a_paper_kind_outside_the_three_columns_is_refused() -> None:
    with pytest.raises(InvalidLabelData):
        MissingPaper("Giấy chứng sinh", "scan")  # type: ignore[arg-type]


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
@pytest.mark.parametrize("name", ["receipt", "control", "02", "03", "04"])
def test_forms_rasterise_with_poppler_inside_the_page_margins(name: str, tmp_path: Path) -> None:
    """pdftoppm renders every page; no ink closer than 4 mm to an edge (nothing clipped)."""
    pdf = {
        "receipt": lambda: render_receipt(receipt(fee="Không", due_at=DUE + timedelta(days=1),
                                                  original_due_at=DUE)),
        "control": lambda: render_control_sheet(dataclasses.replace(sheet(), blank_rows=2)),
        "02": lambda: render_supplement_request(supplement()),
        "03": lambda: render_refusal(refusal()),
        "04": lambda: render_apology(apology()),
    }[name]()
    (tmp_path / "form.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "100", "-gray", str(tmp_path / "form.pdf"),
                    str(tmp_path / "page")], check=True)
    images = sorted(tmp_path.glob("page*.png"))
    assert len(images) == len(page_texts(pdf))
    margin = round(4 / 25.4 * 100)
    for path in images:
        page = np.asarray(Image.open(path).convert("L"))
        assert abs(page.shape[0] - 1169) <= 1 and abs(page.shape[1] - 827) <= 1  # A4, 100 dpi
        ink = page < 128
        assert ink.sum() > 2000
        inner = ink[margin:-margin, margin:-margin].sum()
        assert inner == ink.sum()
