"""The public lookup: status for anybody, the timeline only with the receipt secret."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from conftest import Office, scan

PERSONAL = ("Nguyễn", "Hằng", "0912345678", "001190012345")


def later(iso: str, minutes: int = 1) -> str:
    return (dt.datetime.fromisoformat(iso) + dt.timedelta(minutes=minutes)).isoformat()


def lookup_path(url: str) -> str:
    parts = urlsplit(url)
    return f"/api/v1{parts.path}?{parts.query}"


def test_lookup_without_secret_shows_no_personal_data(client, office: Office):
    d = office.intake(client)
    response = client.get(f"/api/v1/lookup/{d['code']}")
    assert response.status_code == 200
    body = response.get_json()
    text = response.get_data(as_text=True)
    for item in PERSONAL:
        assert item not in text
    assert body["applicant"] == "N*** T*** H***"
    assert body["procedure"]["name"] == "Đăng ký khai sinh"
    assert body["current_step"] == "Bộ phận một cửa"
    assert body["status_label"] == "Được tiếp nhận"
    assert "timeline" not in body and "tracking_number" not in body


def test_lookup_with_receipt_secret_shows_the_steps_but_no_staff_names(client, office: Office):
    d = office.intake(client)
    client.post("/api/v1/scans", headers=office.headers("device"), json={"events": [
        scan(d["tracking_number"], later(d["received_at"]), station="TUPHAP",
             actor="B-SPECIALIST")]})
    response = client.get(lookup_path(d["lookup_url"]))
    assert response.status_code == 200
    body = response.get_json()
    assert [row["station"]["name"] for row in body["timeline"]] == [
        "Bộ phận một cửa", "Tư pháp – Hộ tịch"]
    text = response.get_data(as_text=True)
    for item in (*PERSONAL, "Cán bộ specialist", "B-SPECIALIST"):
        assert item not in text


def test_unknown_code_and_wrong_secret_answer_alike(client, office: Office):
    d = office.intake(client)
    wrong = client.get(f"/api/v1/lookup/{d['code']}?t=AAAAAAAAAAAAAAAA")
    unknown = client.get("/api/v1/lookup/000.00.19.H12-200101-0001?t=AAAAAAAAAAAAAAAA")
    bare_unknown = client.get("/api/v1/lookup/000.00.19.H12-200101-0001")
    assert wrong.status_code == unknown.status_code == bare_unknown.status_code == 404
    assert wrong.get_json() == unknown.get_json() == bare_unknown.get_json()


def test_lookup_is_rate_limited_per_client(make_app):
    app = make_app(RATELIMIT_ENABLED=True, LOOKUP_RATE_LIMIT="3 per minute")
    client = app.test_client()
    codes = [client.get("/api/v1/lookup/000.00.19.H12-200101-0001").status_code
             for _ in range(4)]
    assert codes == [404, 404, 404, 429]
    limited = client.get("/api/v1/lookup/000.00.19.H12-200101-0001")
    assert limited.get_json()["error"]["code"] == "too_many_requests"
    other = client.get("/api/v1/lookup/000.00.19.H12-200101-0001",
                       environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 404


def test_reprinted_receipt_link_still_opens_the_timeline(app, client, office: Office):
    from app.db import db
    from app.tracking.operations import find_dossier_by_code, lookup_url

    d = office.intake(client)
    with app.app_context():
        again = lookup_url(find_dossier_by_code(d["code"]))
        db.session.commit()
    assert again == d["lookup_url"]
    assert client.get(lookup_path(again)).status_code == 200


def test_receipt_qr_link_opens_a_page_with_the_steps(client, office: Office):
    d = office.intake(client)
    response = client.get(urlsplit(d["lookup_url"]).path + "?" + urlsplit(d["lookup_url"]).query)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Đăng ký khai sinh" in page and "Được tiếp nhận" in page
    assert "Quá trình giải quyết" in page and "Bộ phận một cửa" in page
    for item in PERSONAL:
        assert item not in page


def test_kiosk_form_redirects_to_the_dossier_and_unknown_codes_say_so(client, office: Office):
    d = office.intake(client)
    redirect = client.get(f"/lookup?code={d['tracking_number']}")
    assert redirect.status_code == 302
    assert client.get(redirect.headers["Location"]).status_code == 200
    missing = client.get("/lookup/000.00.19.H12-200101-0001")
    assert missing.status_code == 404
    assert "Không tìm thấy hồ sơ" in missing.get_data(as_text=True)
