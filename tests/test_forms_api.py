"""The forms of real dossiers through the API and the CLI: the receipt's fee, secret and "Hẹn lại"
(Mẫu 01), the control sheet (Mẫu 05), and the notices Mẫu 02, 03 and 04."""

from __future__ import annotations

import pypdfium2 as pdfium
import pytest
from conftest import Office, scan

from app.db import db
from app.procedures.models import Procedure

# 1.001193 takes 1 working day (8 h); offices work 07:00–11:30 and 13:30–17:00.
RECEIVED = "2026-11-16T08:00:00+07:00"  # Monday
UPSTREAM = {"code": "X-20261116-0001", "received_at": RECEIVED}


def page_texts(pdf: bytes) -> list[str]:
    return [" ".join(page.get_textpage().get_text_range().split())
            for page in pdfium.PdfDocument(pdf)]


def text(pdf: bytes) -> str:
    return " ".join(page_texts(pdf))


def get(client, office: Office, path: str, who: str = "reception"):
    return client.get(path, headers=office.headers(who))


def post(client, office: Office, path: str, body: dict, who: str = "reception"):
    return client.post(path, json=body, headers=office.headers(who))


def receipt_text(client, office: Office, code: str) -> list[str]:
    response = get(client, office, f"/api/v1/dossiers/{code}/receipt.pdf")
    assert response.status_code == 200
    return page_texts(response.data)


SUPPLEMENT = {"items": [{"name": "Giấy chứng sinh", "kind": "original"},
                        {"name": "Giấy chứng nhận kết hôn của cha, mẹ", "kind": "certified"}],
              "reason": "Thiếu giấy chứng sinh theo Điều 16 Luật Hộ tịch"}


# --- Mẫu 01 ---------------------------------------------------------------------------

def test_receipt_fee_comes_from_the_intake_else_the_procedure_version(app, client, office):
    with_fee = office.intake(client, fee=50000)["code"]
    free = office.intake(client, fee=0)["code"]
    unknown = office.intake(client)["code"]
    assert "Phí, lệ phí (nếu có): 50.000 đồng" in receipt_text(client, office, with_fee)[1]
    assert "Phí, lệ phí (nếu có): Không" in receipt_text(client, office, free)[1]
    assert "Phí, lệ phí (nếu có): ……" in receipt_text(client, office, unknown)[1]
    with app.app_context():
        version = db.session.scalar(db.select(Procedure).where(
            Procedure.code == "1.001193")).current_version
        version.fee = 8000
        db.session.commit()
    assert "Phí, lệ phí (nếu có): 8.000 đồng" in receipt_text(client, office, unknown)[1]
    assert "Phí, lệ phí (nếu có): Không" in receipt_text(client, office, free)[1]


def test_negative_fee_is_refused_at_intake(client, office):
    response = post(client, office, "/api/v1/dossiers",
                    {"procedure": "1.001193", "applicant": {"name": "Lê Văn An"}, "fee": -1})
    assert response.status_code == 422


def test_receipt_secret_only_on_the_citizens_copy(client, office):
    d = office.intake(client)
    secret = d["lookup_url"].split("?t=")[1]
    file_copy, citizen_copy = receipt_text(client, office, d["code"])
    assert secret not in file_copy and secret in citizen_copy
    for page in (file_copy, citizen_copy):
        assert "Số theo dõi" in page and d["tracking_number"] in page


# --- Mẫu 04 and the receipt's "Hẹn lại" -----------------------------------------------

def test_apology_moves_the_appointment_and_the_receipt_shows_both(client, office):
    d = office.intake(client, **UPSTREAM)
    before = receipt_text(client, office, d["code"])[1]
    assert "Hẹn lại" not in before
    assert "08 giờ 00 phút, ngày 17 tháng 11 năm 2026" in before  # Mon 08:00 + 8 working h
    response = post(client, office, f"/api/v1/dossiers/{d['code']}/apology",
                    {"reason": "Cần xác minh với cơ quan công an",
                     "new_due_at": "2026-11-20T16:00:00+07:00"}, who="leader")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["form"] == "04" and body["due_at"] == "2026-11-20T16:00:00+07:00"
    after = receipt_text(client, office, d["code"])[1]
    assert ("5. Thời gian trả kết quả giải quyết hồ sơ: 08 giờ 00 phút, ngày 17 tháng 11 năm "
            "2026 Hẹn lại: 16 giờ 00 phút, ngày 20 tháng 11 năm 2026") in after
    form = text(get(client, office, body["links"]["pdf"], who="leader").data)
    assert "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ" in form
    assert "Cần xác minh với cơ quan công an" in form
    assert "Hẹn lại: 16 giờ 00 phút, ngày 20 tháng 11 năm 2026" in form
    assert "Cán bộ leader" in form  # signed by the leader who issued it
    assert dossier_due(client, office, d["code"]) == "2026-11-20T16:00:00+07:00"


def dossier_due(client, office: Office, code: str) -> str:
    return get(client, office, f"/api/v1/dossiers/{code}").get_json()["due_at"]


def test_a_supplement_wait_after_the_apology_moves_the_new_appointment(client, office):
    d = office.intake(client, **UPSTREAM)
    assert post(client, office, f"/api/v1/dossiers/{d['code']}/apology",
                {"reason": "Chờ ý kiến cơ quan thuế",
                 "new_due_at": "2026-11-20T16:00:00+07:00"}).status_code == 201
    client.post("/api/v1/scans", headers=office.headers(), json={"events": [
        scan(d["tracking_number"], "2026-11-18T08:00:00+07:00", station="DESK",
             action="request_supplement"),
        scan(d["tracking_number"], "2026-11-18T10:00:00+07:00", station="DESK",
             action="supplement_received")]})
    # 2 working hours of waiting: Fri 16:00 → 17:00, then Mon 07:00 → 08:00.
    assert dossier_due(client, office, d["code"]) == "2026-11-23T08:00:00+07:00"
    assert "Hẹn lại: 08 giờ 00 phút, ngày 23 tháng 11 năm 2026" in \
        receipt_text(client, office, d["code"])[1]


def test_apology_must_move_the_appointment_later(client, office):
    d = office.intake(client, **UPSTREAM)
    response = post(client, office, f"/api/v1/dossiers/{d['code']}/apology",
                    {"reason": "Chậm", "new_due_at": "2026-11-17T08:00:00+07:00"})
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["field"] == "new_due_at"


# --- Mẫu 02 ---------------------------------------------------------------------------

def test_supplement_request_pauses_the_dossier_and_prints_the_papers(client, office):
    d = office.intake(client)
    response = post(client, office, f"/api/v1/dossiers/{d['code']}/supplement-request",
                    SUPPLEMENT)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["form"] == "02" and body["status"] == "supplement_requested"
    assert response.headers["Location"] == body["links"]["pdf"]
    form = get(client, office, body["links"]["pdf"])
    assert form.mimetype == "application/pdf"
    printed = text(form.data)
    for expected in ("PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ", f"Mã hồ sơ: {d['code']}",
                     "Hồ sơ của: Nguyễn Thị Hằng", "1 Giấy chứng sinh x",
                     "2 Giấy chứng nhận kết hôn của cha, mẹ x",
                     "Lý do: Thiếu giấy chứng sinh theo Điều 16 Luật Hộ tịch",
                     "NGƯỜI HƯỚNG DẪN", "Cán bộ reception"):
        assert expected in printed, expected
    assert get(client, office, body["links"]["pdf"]).data == form.data  # a reprint is the same
    # A second request while the first still waits adds no second pause.
    again = post(client, office, f"/api/v1/dossiers/{d['code']}/supplement-request", SUPPLEMENT)
    assert again.status_code == 201
    staff = get(client, office, f"/api/v1/dossiers/{d['code']}").get_json()
    assert staff["supplement_count"] == 1


def test_control_sheet_labels_the_supplement_rows_and_ends_with_the_citizen(client, office):
    d = office.intake(client, **UPSTREAM)
    n = d["tracking_number"]
    result = client.post("/api/v1/scans", headers=office.headers(), json={"events": [
        scan(n, "2026-11-16T08:30:00+07:00", station="TUPHAP", actor="B-SPECIALIST"),
        scan(n, "2026-11-16T09:00:00+07:00", station="DESK", action="request_supplement",
             note="Thiếu giấy chứng sinh"),
        scan(n, "2026-11-17T09:00:00+07:00", station="DESK", action="supplement_received",
             note="Đã nộp bổ sung"),
        scan(n, "2026-11-17T09:30:00+07:00", station="TUPHAP"),
        scan(n, "2026-11-17T10:00:00+07:00", station="LEADER"),
        scan(n, "2026-11-17T10:30:00+07:00", station="RETURN", action="result_ready"),
        scan(n, "2026-11-17T14:00:00+07:00", station="RETURN", action="returned")]})
    assert all(r["status"] == "accepted" for r in result.get_json()["results"])
    sheet = text(get(client, office, f"/api/v1/dossiers/{d['code']}/control-sheet.pdf").data)
    assert "Tân Phong, ngày 16 tháng 11 năm 2026" in sheet
    assert "2. Nhận: Bộ phận một cửa" in sheet  # the file came back to the desk first
    assert "Yêu cầu bổ sung 1. Giao: Bộ phận một cửa" in sheet
    assert "2. Nhận: Công dân: Nguyễn Thị Hằng" in sheet and "Thiếu giấy chứng sinh" in sheet
    assert "Nhận bổ sung 1. Giao: Công dân: Nguyễn Thị Hằng" in sheet
    assert "Đã nộp bổ sung" in sheet
    assert "Trả kết quả 1. Giao: Trả kết quả" in sheet
    assert "2. Nhận: Công dân nhận kết quả: Nguyễn Thị Hằng" in sheet
    assert "Thời hạn trả kết quả:" in sheet and "Kết quả giải quyết hồ sơ:" in sheet
    assert "… giờ … phút" not in sheet  # returned: no handoff left to come


def test_control_sheet_of_an_open_dossier_has_due_date_verdict_and_blank_rows(client, office):
    d = office.intake(client, **UPSTREAM)
    sheet = text(get(client, office, f"/api/v1/dossiers/{d['code']}/control-sheet.pdf").data)
    assert "Thời hạn trả kết quả: 08 giờ 00 phút, ngày 17 tháng 11 năm 2026" in sheet
    assert "Kết quả giải quyết hồ sơ: Quá hạn" in sheet  # still open, long after its due date
    # Three plan steps after reception (Thụ lý, Ký, Trả): a row for each, to fill in by hand.
    assert sheet.count("… giờ … phút, ngày … tháng … năm ……") == 3


# --- Mẫu 03 ---------------------------------------------------------------------------

def test_refusal_is_printed_with_its_reason(client, office):
    d = office.intake(client)
    response = post(client, office, f"/api/v1/dossiers/{d['code']}/refusal",
                    {"reason": "Thủ tục không thuộc thẩm quyền của UBND xã"})
    assert response.status_code == 201, response.get_json()
    form = text(get(client, office, f"/api/v1/dossiers/{d['code']}/forms/03.pdf").data)
    assert "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ" in form
    assert "Thủ tục không thuộc thẩm quyền của UBND xã" in form
    # The refusal closes the dossier: national status 3, "Không được tiếp nhận".
    dossier = get(client, office, f"/api/v1/dossiers/{d['code']}").get_json()
    assert (dossier["status_code"], dossier["status_label"]) == (3, "Không được tiếp nhận")
    assert dossier["timeline"][-1]["action"] == "refused"


def test_no_refusal_once_the_dossier_is_being_processed(client, office):
    d = office.intake(client, **UPSTREAM)
    client.post("/api/v1/scans", headers=office.headers(), json={"events": [
        scan(d["tracking_number"], "2026-11-16T08:30:00+07:00", station="TUPHAP")]})
    response = post(client, office, f"/api/v1/dossiers/{d['code']}/refusal", {"reason": "Sai"})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "dossier_closed"


# --- who may --------------------------------------------------------------------------

@pytest.mark.parametrize(("who", "path", "status"), [
    ("specialist", "supplement-request", 403),
    ("leader", "supplement-request", 403),
    ("leader", "refusal", 403),
    ("specialist", "apology", 403),
    ("supervisor", "apology", 403),
    ("device", "supplement-request", 403),
    ("outsider", "supplement-request", 403),
    ("admin", "refusal", 201),
])
def test_notices_are_issued_by_reception_or_leader_in_scope(client, office, who, path, status):
    d = office.intake(client)
    body = {"supplement-request": SUPPLEMENT, "refusal": {"reason": "Sai thẩm quyền"},
            "apology": {"reason": "Chậm", "new_due_at": "2030-01-07T16:00:00+07:00"}}[path]
    response = post(client, office, f"/api/v1/dossiers/{d['code']}/{path}", body, who=who)
    assert response.status_code == status


def test_notices_of_another_office_are_not_found(make_app):
    from conftest import seed_office

    app = make_app()
    office = seed_office(app)
    client = app.test_client()
    d = office.intake(client)
    from app.auth.models import Role
    from app.auth.operations import create_user, issue_token
    from app.offices.operations import get_office

    with app.app_context():
        stranger = create_user("ba-reception", "Một cửa Bình An", Role.RECEPTION,
                               get_office("000.00.20.H12"))
        token = issue_token(stranger)
        db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post(f"/api/v1/dossiers/{d['code']}/refusal", json={"reason": "x"},
                       headers=headers).status_code == 404
    assert client.get(f"/api/v1/dossiers/{d['code']}/forms/03.pdf",
                      headers=headers).status_code == 404


def test_reprinting_a_form_never_issued_is_not_found(client, office):
    d = office.intake(client)
    for form in ("02", "03", "04"):
        response = get(client, office, f"/api/v1/dossiers/{d['code']}/forms/{form}.pdf")
        assert response.status_code == 404
        assert f"Mẫu {form}" in response.get_json()["error"]["message"]


def test_empty_supplement_request_is_refused(client, office):
    d = office.intake(client)
    for body in ({"items": [], "reason": "x"}, {"items": [{"name": "A", "kind": "scan"}],
                                                 "reason": "x"},
                 {"items": [{"name": "A"}], "reason": ""}):
        response = post(client, office, f"/api/v1/dossiers/{d['code']}/supplement-request",
                        body)
        assert response.status_code == 422


# --- the CLI --------------------------------------------------------------------------

def test_tracker_forms_records_and_reprints(app, client, office, tmp_path):
    d = office.intake(client, **UPSTREAM)
    runner = app.test_cli_runner()
    out = tmp_path / "02.pdf"
    result = runner.invoke(args=["forms", "02", d["code"], "--out", str(out), "--user",
                                 "reception", "--reason", "Thiếu giấy tờ",
                                 "--item", "Giấy chứng sinh=original", "--item", "Tờ khai"])
    assert result.exit_code == 0, result.output
    printed = text(out.read_bytes())
    assert "1 Giấy chứng sinh x" in printed and "2 Tờ khai x" in printed
    again = tmp_path / "02-again.pdf"
    assert runner.invoke(args=["forms", "02", d["tracking_number"], "--out",
                               str(again)]).exit_code == 0
    assert again.read_bytes() == out.read_bytes()
    apology = runner.invoke(args=["forms", "04", d["code"], "--out", str(tmp_path / "04.pdf"),
                                  "--user", "leader", "--reason", "Chờ xác minh",
                                  "--new-due", "2026-11-20T16:00+07:00"])
    assert apology.exit_code == 0, apology.output
    assert dossier_due(client, office, d["code"]) == "2026-11-20T16:00:00+07:00"
    for args in (["forms", "03", d["code"], "--out", str(tmp_path / "x.pdf")],  # none yet
                 ["forms", "02", d["code"], "--out", str(tmp_path / "x.pdf"), "--user",
                  "specialist", "--reason", "x", "--item", "A"],  # not the desk
                 ["forms", "02", d["code"], "--out", str(tmp_path / "x.pdf"), "--user",
                  "reception", "--reason", "x", "--item", "A=scan"]):
        bad = runner.invoke(args=args)
        assert bad.exit_code == 2 and "Traceback" not in bad.output, bad.output


def test_procedure_fee_from_the_cli(app, client, office):
    result = app.test_cli_runner().invoke(args=[
        "procedure", "add", "--code", "1.001193", "--name", "Đăng ký khai sinh",
        "--duration", "1 working day", "--step", "Tiếp nhận=DESK:8", "--fee", "8000"])
    assert result.exit_code == 0, result.output
    d = office.intake(client)
    assert "Phí, lệ phí (nếu có): 8.000 đồng" in receipt_text(client, office, d["code"])[1]
