"""The server's printing endpoints: labels, receipts and control sheets of real dossiers."""

from __future__ import annotations

import numpy as np
import pypdfium2 as pdfium
import pytest
import zxingcpp
from conftest import Office, scan


def pages(pdf: bytes, dpi: int = 300) -> list[np.ndarray]:
    document = pdfium.PdfDocument(pdf)
    return [np.asarray(page.render(scale=dpi / 72, grayscale=True).to_pil())
            for page in document]


def decoded(pdf: bytes, dpi: int = 300) -> list[str]:
    return [r.text for image in pages(pdf, dpi) for r in zxingcpp.read_barcodes(image)]


def pdf_text(pdf: bytes) -> str:
    """The PDF's text with line breaks folded, as a reader would take it in."""
    text = " ".join(page.get_textpage().get_text_range() for page in pdfium.PdfDocument(pdf))
    return " ".join(text.split())


def get(client, office: Office, path: str, who: str = "reception"):
    return client.get(path, headers=office.headers(who))


def test_intake_links_to_receipt_and_label(client, office: Office):
    links = office.intake(client)["links"]
    assert set(links) >= {"receipt", "label", "label_zpl", "control_sheet"}
    assert get(client, office, links["label"]).mimetype == "application/pdf"


def test_label_pdf_scans_back_to_the_tracking_number(client, office: Office):
    d = office.intake(client)
    response = get(client, office, f"/api/v1/dossiers/{d['code']}/label.pdf?layout=thermal-50x30")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert decoded(response.data, 203) == [d["tracking_number"]]
    assert d["code"] in pdf_text(response.data)


def test_receipt_qr_opens_the_lookup_with_the_secret(client, office: Office):
    d = office.intake(client, applicant={"name": "Nguyễn Thị Hằng", "phone": "0912345678"})
    response = get(client, office, f"/api/v1/dossiers/{d['code']}/receipt.pdf")
    assert response.status_code == 200
    codes = decoded(response.data)
    assert d["lookup_url"] in codes and d["tracking_number"] in codes
    text = pdf_text(response.data)
    assert "Nguyễn Thị Hằng" in text and "Đăng ký khai sinh" in text
    assert "1 ngày làm việc" in text
    secret = d["lookup_url"].split("?t=")[1]
    assert secret in text


def test_control_sheet_lists_handoffs_with_verdicts(client, office: Office):
    d = office.intake(client, code="X-20261116-0001", received_at="2026-11-16T08:00:00+07:00")
    client.post("/api/v1/scans", headers=office.headers(), json={"events": [
        scan(d["tracking_number"], "2026-11-16T08:30:00+07:00", station="TUPHAP",
             actor="B-SPECIALIST"),
        scan(d["tracking_number"], "2026-11-17T10:00:00+07:00", station="LEADER")]})
    response = get(client, office, f"/api/v1/dossiers/{d['code']}/control-sheet.pdf")
    text = pdf_text(response.data)
    assert "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ" in text
    assert "Tư pháp – Hộ tịch – Cán bộ specialist" in text
    assert "Trước hạn" in text and "Quá hạn" in text  # desk 0.5 h of 1; specialist 9.5 h of 5


def test_zpl_label_for_thermal_printers(client, office: Office):
    d = office.intake(client)
    response = get(client, office, f"/api/v1/dossiers/{d['tracking_number']}/label.zpl")
    job = response.data.decode()
    assert response.status_code == 200 and job.startswith("^XA") and job.rstrip().endswith("^XZ")
    assert d["tracking_number"] in job


def test_bulk_labels_on_a_sheet(client, office: Office):
    numbers = [office.intake(client)["tracking_number"] for _ in range(3)]
    response = client.post("/api/v1/labels", headers=office.headers("reception"),
                           json={"dossiers": numbers, "layout": "a4-24", "start_position": 4})
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    assert sorted(decoded(response.data)) == sorted(numbers)


def test_barcode_svg_for_screens(client, office: Office):
    d = office.intake(client)
    response = get(client, office, f"/api/v1/dossiers/{d['code']}/barcode.svg", who="device")
    assert response.mimetype == "image/svg+xml" and b"<svg" in response.data


@pytest.mark.parametrize(("query", "field"), [
    ("layout=nope", "layout"),
    ("copies=0", "copies"),
    ("layout=a4-65&start=66", "start_position"),
    ("layout={\"columns\": 9, \"rows\": 40, \"label_width_mm\": 60, \"label_height_mm\": 30}",
     None),
])
def test_impossible_print_requests_get_clear_errors(client, office: Office, query, field):
    d = office.intake(client)
    response = get(client, office, f"/api/v1/dossiers/{d['code']}/label.pdf?{query}")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["message"]
    if field:
        assert error["details"][0]["field"] == field


def test_printing_needs_staff_in_scope(client, office: Office):
    d = office.intake(client)
    path = f"/api/v1/dossiers/{d['code']}/control-sheet.pdf"
    assert client.get(path).status_code == 401
    assert get(client, office, path, who="device").status_code == 403
    assert get(client, office, path, who="outsider").status_code == 404


def test_tracker_labels_cli_writes_a_sheet(app, client, office: Office, tmp_path):
    numbers = [office.intake(client)["tracking_number"] for _ in range(2)]
    out = tmp_path / "labels.pdf"
    result = app.test_cli_runner().invoke(args=["labels", *numbers, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(decoded(out.read_bytes())) == sorted(numbers)
    bad = app.test_cli_runner().invoke(args=["labels", numbers[0], "--out", str(out),
                                             "--layout", "nope"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output


def test_office_default_printer_switches_labels_to_zpl(app, client, office: Office):
    d = office.intake(client)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["office", "printing", office.code, "--layout", "nope"]).exit_code \
        == 2
    result = runner.invoke(args=["office", "printing", office.code, "--layout",
                                 "thermal-40x30", "--printer", "zpl"])
    assert result.exit_code == 0, result.output
    bulk = client.post("/api/v1/labels", headers=office.headers("reception"),
                       json={"dossiers": [d["code"]]})
    assert bulk.data.startswith(b"^XA")


def test_receipt_of_a_same_day_procedure_states_its_cut_off(app, client, office: Office):
    import decimal

    from app.db import db
    from app.procedures.operations import StepSpec, create_procedure

    with app.app_context():
        create_procedure("1.000894", "Chứng thực bản sao", "same day, cutoff 15:00",
                         [StepSpec("Chứng thực", decimal.Decimal("1"), station="DESK")])
        db.session.commit()
    d = office.intake(client, procedure="1.000894")
    response = get(client, office, f"/api/v1/dossiers/{d['code']}/receipt.pdf")
    assert response.status_code == 200
    assert "Trong ngày (nhận sau 15 giờ 00 trả vào ngày làm việc tiếp theo)" in \
        pdf_text(response.data)
