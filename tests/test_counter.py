"""The counter without a browser: the form's checks, the diacritics-blind procedure search,
corrections through the API and the page (recorded, in scope, closed dossiers refused)."""

from __future__ import annotations

import pytest
from conftest import Office, scan
from flask.testing import FlaskClient
from pages_support import later, set_passwords
from test_pages import csrf_token, log_in

from app.auth.models import Role
from app.counter import forms
from app.procedures.operations import fold_text
from app.tracking.models import DossierCorrection


@pytest.fixture
def desk(client: FlaskClient, office: Office) -> FlaskClient:
    set_passwords(office.app)
    log_in(client, "reception")
    return client


def intake_form(client: FlaskClient, **fields: str | list[str]) -> dict[str, str | list[str]]:
    return {"csrf_token": csrf_token(client, "/intake"), "procedure": "1.001193",
            "name": "Nguyễn Thị Hằng", "phone": "0912 345 678", "id_number": "001190012345",
            "documents": ["Tờ khai đăng ký khai sinh", "", "Giấy chứng sinh"]} | fields


@pytest.mark.parametrize(("typed", "stored"), [
    ("0912 345 678", "0912345678"), ("+84 912.345.678", "0912345678"),
    ("84912345678", "0912345678"), ("(024) 3825 1234", "02438251234"), ("", "")])
def test_vietnamese_phone_numbers_are_accepted_in_their_usual_spellings(typed, stored):
    assert forms.check_phone(typed) == stored


@pytest.mark.parametrize("typed", ["0912", "091234567890", "0112345678", "abc", "+1 555 1234"])
def test_other_phone_numbers_are_refused(typed):
    with pytest.raises(ValueError, match="Vietnamese phone"):
        forms.check_phone(typed)


def test_identity_numbers_have_9_or_12_digits():
    assert forms.check_id_number("001 190 012 345") == "001190012345"
    assert forms.check_id_number("123456789") == "123456789"
    for bad in ("12345678", "1234567890", "00119001234x", "１２３４５６７８９"):
        with pytest.raises(ValueError, match="CMND"):
            forms.check_id_number(bad)


def test_folding_ignores_case_diacritics_and_d_bar():
    assert fold_text("  Đăng ký   KHAI SINH ") == "dang ky khai sinh"
    assert fold_text("Cấp giấy phép xây dựng") == "cap giay phep xay dung"


def test_procedure_search_without_diacritics(desk: FlaskClient):
    html = desk.get("/intake/procedures?q=dang ky khai sinh").get_data(as_text=True)
    assert "Đăng ký khai sinh" in html and "xây dựng" not in html
    html = desk.get("/intake/procedures?q=XAY DUNG").get_data(as_text=True)
    assert "Cấp giấy phép xây dựng" in html and "khai sinh" not in html
    html = desk.get("/intake/procedures?q=ho chieu").get_data(as_text=True)
    assert "Không có thủ tục nào khớp" in html


def test_intake_from_the_counter_registers_the_dossier_as_the_api_does(desk: FlaskClient,
                                                                        office: Office):
    response = desk.post("/intake", data=intake_form(desk))
    assert response.status_code == 302
    code = response.headers["Location"].split("/intake/")[1].split("?")[0]
    d = desk.get(f"/api/v1/dossiers/{code}", headers=office.headers("reception")).get_json()
    assert d["applicant"]["phone"] == "0912345678"  # stored as digits
    assert d["documents"] == ["Tờ khai đăng ký khai sinh", "Giấy chứng sinh"]
    assert d["timeline"][0]["receiver"]["name"] == "Cán bộ reception"
    page = desk.get(response.headers["Location"]).get_data(as_text=True)
    assert "Đã tiếp nhận hồ sơ." in page and "Lệnh in nhãn" in page  # queued at DESK
    assert desk.get(f"/intake/{code}/receipt.pdf").data.startswith(b"%PDF")
    assert desk.get(f"/intake/{code}/label.pdf").data.startswith(b"%PDF")


def test_a_bad_form_is_refused_field_by_field_and_keeps_what_was_typed(desk: FlaskClient):
    response = desk.post("/intake", data=intake_form(
        desk, procedure="", name="", phone="0912", id_number="12345", email="không@"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Nhập số điện thoại Việt Nam" in html
    assert "Số định danh gồm 9 chữ số (CMND) hoặc 12 chữ số (CCCD)." in html
    assert "Nhập địa chỉ email" in html
    assert "Chọn một thủ tục trong danh sách." in html or "Trường này là bắt buộc." in html
    assert 'value="Giấy chứng sinh"' in html  # nothing typed is lost


def test_an_unknown_procedure_is_named_on_its_field(desk: FlaskClient):
    response = desk.post("/intake", data=intake_form(desk, procedure="9.999999"))
    assert response.status_code == 422
    assert "Chọn một thủ tục trong danh sách." in response.get_data(as_text=True)


def test_other_roles_cannot_open_the_counter(client: FlaskClient, office: Office):
    set_passwords(office.app)
    log_in(client, "specialist")
    assert client.get("/intake").status_code == 403
    d = office.intake(client)
    assert client.get(f"/intake/{d['code']}/receipt.pdf").status_code == 403


# --- corrections ------------------------------------------------------------------------------

def test_a_correction_through_the_api_is_recorded_and_reprinted(client: FlaskClient,
                                                                office: Office):
    d = office.intake(client)
    headers = office.headers("reception")
    body = {"applicant": {"phone": "0987654321", "name": "Nguyễn Thị Hằng"},
            "documents": ["Tờ khai đăng ký khai sinh", "Giấy chứng sinh"],
            "reason": "Công dân đọc nhầm số"}
    response = client.patch(f"/api/v1/dossiers/{d['code']}", json=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    out = response.get_json()
    assert out["changed"] == ["applicant_phone", "documents"]
    assert out["corrected_by"] == "Cán bộ reception"
    got = client.get(f"/api/v1/dossiers/{d['code']}", headers=headers).get_json()
    assert got["applicant"]["phone"] == "0987654321"
    assert client.get(out["links"]["receipt"], headers=headers).status_code == 200
    again = client.patch(f"/api/v1/dossiers/{d['code']}", json=body, headers=headers)
    assert again.get_json()["changed"] == []  # nothing changed: nothing recorded
    with office.app.app_context():
        from app.db import db
        rows = db.session.query(DossierCorrection).all()
        assert len(rows) == 1
        assert rows[0].changes["applicant_phone"] == ["0912345678", "0987654321"]


def test_corrections_are_for_reception_in_scope_and_open_dossiers(client: FlaskClient,
                                                                  office: Office):
    d = office.intake(client)
    body = {"applicant": {"phone": "0987654321"}}
    path = f"/api/v1/dossiers/{d['code']}"
    assert client.patch(path, json=body, headers=office.headers("specialist")).status_code == 403
    assert client.patch(path, json=body, headers=office.headers("outsider")).status_code == 403
    assert client.patch(path, json={"applicant": {"name": ""}},
                        headers=office.headers("reception")).status_code == 422
    steps = [("TUPHAP", "transfer_in"), ("RETURN", "result_ready"), ("RETURN", "returned")]
    for minutes, (station, action) in enumerate(steps, start=1):
        answer = client.post("/api/v1/scans", headers=office.headers("admin"), json={"events": [
            scan(d["tracking_number"], later(d["received_at"], 10 * minutes),
                 station=station, action=action)]})
        assert answer.get_json()["results"][0]["status"] == "accepted"
    response = client.patch(path, json=body, headers=office.headers("reception"))
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "dossier_closed"


def test_a_correction_on_the_page_is_checked_recorded_and_listed(desk: FlaskClient,
                                                                 office: Office):
    d = office.intake(desk)
    path = f"/intake/{d['code']}/correct"
    form = {"csrf_token": csrf_token(desk, path), "name": "Nguyễn Thị Hằng",
            "phone": "0912", "documents": ["Tờ khai"]}
    refused = desk.post(path, data=form)
    assert refused.status_code == 422
    assert "Nhập số điện thoại Việt Nam" in refused.get_data(as_text=True)
    response = desk.post(path, data=form | {"phone": "0987 654 321", "reason": "Sai số"})
    assert response.status_code == 302
    page = desk.get(response.headers["Location"]).get_data(as_text=True)
    assert "Đã ghi nhận việc sửa" in page
    assert "Cán bộ reception" in page and "Số điện thoại" in page and "Sai số" in page


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_the_counter_refuses_exactly_the_roles_the_api_refuses(client: FlaskClient,
                                                               office: Office, role: str):
    set_passwords(office.app)
    api = client.post("/api/v1/dossiers", json={}, headers=office.headers(role)).status_code
    log_in(client, role)
    assert (api == 403) == (client.get("/intake").status_code == 403)
    assert client.get("/station").status_code == 200  # every staff member scans
    home = client.get("/home").get_data(as_text=True)
    assert ('href="/intake"' in home) == (api != 403)


def test_a_station_of_another_office_in_the_cookie_is_never_used(client: FlaskClient,
                                                                 office: Office):
    set_passwords(office.app)
    d = office.intake(client)
    log_in(client, "specialist")
    client.set_cookie("station", "BA-DESK")  # Bình An's desk: not one of this user's
    assert "Chọn vị trí quét" in client.get("/station").get_data(as_text=True)
    token = csrf_token(client, "/station")
    response = client.post("/station/scan", data={"csrf_token": token,
                                                  "code": d["tracking_number"]})
    assert response.status_code == 302  # back to choosing; nothing recorded
    got = client.get(f"/api/v1/dossiers/{d['code']}", headers=office.headers("admin"))
    assert len(got.get_json()["timeline"]) == 1


def test_a_badge_session_ends_after_the_idle_time_and_the_scan_is_the_users(
        client: FlaskClient, office: Office, monkeypatch: pytest.MonkeyPatch):
    import datetime as dt

    from app.counter import station
    from app.db import utcnow

    set_passwords(office.app)
    d = office.intake(client)
    log_in(client, "specialist")
    token = csrf_token(client, "/station")
    client.post("/station/choose", data={"csrf_token": token, "station": "TUPHAP"})
    badge = client.post("/station/scan", data={"csrf_token": token, "code": "$B-B-LEADER"},
                        headers={"X-Station": "1"}).get_data(as_text=True)
    assert 'data-kind="session"' in badge and "Cán bộ leader" in badge
    later_on = utcnow() + dt.timedelta(minutes=31)
    monkeypatch.setattr(station, "utcnow", lambda: later_on)
    monkeypatch.setattr("app.tracking.operations.utcnow", lambda: later_on)
    answer = client.post("/station/scan", data={"csrf_token": token,
                                                "code": d["tracking_number"]},
                         headers={"X-Station": "1"}).get_data(as_text=True)
    assert 'data-kind="flagged"' in answer and "đã hết hạn do lâu không quét" in answer
    got = client.get(f"/api/v1/dossiers/{d['code']}", headers=office.headers("admin"))
    assert got.get_json()["timeline"][-1]["receiver"]["name"] == "Cán bộ specialist"
