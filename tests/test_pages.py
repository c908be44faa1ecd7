"""The pages without a browser: login rules, cookies, CSRF, roles, languages, citizen input."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from conftest import Office, scan, seed_office
from flask.testing import FlaskClient
from pages_support import PASSWORD, later, set_passwords

from app.auth.models import Role
from app.auth.operations import LoginRefused, check_login
from app.codes import secret_candidates
from app.db import db, utcnow

ROOT = Path(__file__).parent.parent
CATALOG = ROOT / "app" / "translations" / "vi" / "LC_MESSAGES" / "messages.po"


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                      r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    assert match is not None
    return match[1] or match[2]


def log_in(client: FlaskClient, username: str, password: str = PASSWORD, **query: str):
    path = "/login" + (f"?next={quote(query['next'])}" if "next" in query else "")
    return client.post(path, data={"username": username, "password": password,
                                   "csrf_token": csrf_token(client)})


# --- receipt secrets and what citizens type -------------------------------------------------

def test_a_secret_typed_with_look_alikes_and_dashes_is_still_read():
    assert "VU32J4XL6RMQWABA" in secret_candidates("vu32-j4x16 rmqwaba")  # 1 for L, dashes
    assert "ILO" in secret_candidates("110") and "LIO" in secret_candidates("110")
    assert "BOB" in secret_candidates("808")
    assert secret_candidates("11111") == []  # too ambiguous: 32 readings
    assert secret_candidates("ä€;") == [] and secret_candidates("") == []


def test_kiosk_reads_a_code_in_any_case_and_spacing_and_a_mistyped_secret(client, office: Office):
    d = office.intake(client)
    secret = urlsplit(d["lookup_url"]).query.removeprefix("t=")
    mangled = "-".join([secret[:4], secret[4:8], secret[8:]]).lower().replace("o", "0")
    spaced = " " + d["code"].lower().replace("-", " - ") + " "
    page = client.get("/kiosk/lookup", query_string={"q": spaced, "t": mangled})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Quá trình giải quyết" in html and "N*** T*** H***" in html


def test_a_scanned_receipt_url_in_the_phone_form_opens_the_dossier(client, office: Office):
    d = office.intake(client)
    redirect = client.get("/lookup", query_string={"q": d["lookup_url"]})
    assert redirect.status_code == 302
    page = client.get(redirect.headers["Location"])
    assert page.status_code == 200 and "Quá trình giải quyết" in page.get_data(as_text=True)
    # A URL pasted where the code goes (the old form's way) is read too, not an English 404.
    pasted = client.get("/lookup/" + d["lookup_url"].split("?")[0])
    assert pasted.status_code == 200


def test_garbage_gets_a_friendly_vietnamese_message(client, office: Office):
    page = client.get("/kiosk/lookup", query_string={"q": "ưqwe;;'[]\\ asdf"})
    assert page.status_code == 422
    assert "Chưa đọc được mã này" in page.get_data(as_text=True)


def test_public_model_tells_progress_and_what_the_citizen_must_do(client, office: Office):
    d = office.intake(client)
    scanned = client.post("/api/v1/scans", headers=office.headers(), json={"events": [
        scan(d["tracking_number"], later(d["received_at"]), station="DESK",
             action="request_supplement")]})
    assert scanned.get_json()["results"][0]["status"] == "accepted", scanned.get_json()
    body = client.get(f"/api/v1/lookup/{d['code']}").get_json()
    assert body["citizen_action"] == "bring_papers", body
    assert [(s["name"], s["state"]) for s in body["progress"]] == [
        ("Tiếp nhận", "current"), ("Thụ lý", "todo"), ("Ký", "todo"), ("Trả", "todo")]
    page = client.get(f"/lookup/{d['code']}").get_data(as_text=True)
    assert "Mang giấy tờ còn thiếu" in page and "N***" not in page


# --- login ----------------------------------------------------------------------------------

def test_lockout_ends_after_its_time_and_a_success_clears_the_count(app, office: Office):
    set_passwords(app)
    lockout = dt.timedelta(minutes=15)
    now = utcnow()
    with app.app_context():
        for _ in range(3):
            with pytest.raises(LoginRefused):
                check_login("reception", "wrong", max_failures=3, lockout=lockout, now=now)
        with pytest.raises(LoginRefused) as locked:
            check_login("reception", PASSWORD, max_failures=3, lockout=lockout, now=now)
        assert locked.value.code == "locked"
        later = now + lockout + dt.timedelta(seconds=1)
        user = check_login("reception", PASSWORD, max_failures=3, lockout=lockout, now=later)
        assert (user.failed_logins, user.locked_until) == (0, None)
        db.session.rollback()


def test_unknown_user_and_wrong_password_answer_alike(app, client, office: Office):
    set_passwords(app)
    unknown = log_in(client, "nobody", "x")
    wrong = log_in(client, "reception", "x")
    assert unknown.status_code == wrong.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu." in unknown.get_data(as_text=True)
    assert "Sai tên đăng nhập hoặc mật khẩu." in wrong.get_data(as_text=True)


def test_failed_logins_from_one_client_are_rate_limited(make_app):
    app = make_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="2 per minute")
    client = app.test_client()
    assert [log_in(client, "nobody", "x").status_code for _ in range(3)] == [401, 401, 429]
    page = client.get("/login")
    assert page.status_code == 200  # only failed POSTs count


def test_session_cookie_is_httponly_lax_and_secure_outside_tests(make_app):
    app = make_app(TESTING=False)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    seed_office(app)
    set_passwords(app)
    client = app.test_client()
    response = log_in(client, "reception")
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert response.status_code == 302
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_forms_without_the_csrf_token_are_refused(app, client, office: Office):
    set_passwords(app)
    response = client.post("/login", data={"username": "reception", "password": PASSWORD})
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "Biểu mẫu có thể đã hết hạn" in response.get_data(as_text=True)
    log_in(client, "reception")
    assert client.post("/logout").status_code == 400  # a forged logout does nothing
    assert client.get("/home").status_code == 200


def test_login_never_redirects_off_site(app, client, office: Office):
    set_passwords(app)
    response = log_in(client, "reception", next="https://evil.example/steal")
    assert response.headers["Location"] == "/intake"  # the desk's start page
    client.post("/logout", data={"csrf_token": csrf_token(client, "/home")})
    assert log_in(client, "reception", next="/refused-scans").headers["Location"] == \
        "/refused-scans"


def test_a_new_password_ends_the_sessions_opened_with_the_old_one(app, client, office: Office):
    set_passwords(app)
    log_in(client, "reception")
    assert client.get("/home").status_code == 200
    set_passwords(app, "another password entirely")
    assert client.get("/home").status_code == 302


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_pages_refuse_exactly_the_roles_the_api_refuses(app, client, office: Office, role: str):
    set_passwords(app)
    api = client.get("/api/v1/refused-scans", headers=office.headers(role)).status_code
    log_in(client, role)
    page = client.get("/refused-scans")
    assert (api == 403) == (page.status_code == 403)
    assert page.mimetype == "text/html"
    home = client.get("/home").get_data(as_text=True)  # lists the page only where it opens
    assert ('href="/refused-scans"' in home) == (page.status_code == 200)


# --- languages and error pages --------------------------------------------------------------

def test_error_pages_are_html_in_the_chosen_language_and_the_api_keeps_json(client):
    page = client.get("/khong-co")
    assert page.status_code == 404 and "Không tìm thấy trang" in page.get_data(as_text=True)
    client.post("/language", data={"lang": "en", "next": "/lookup",
                                   "csrf_token": csrf_token(client, "/lookup")})
    assert "Page not found" in client.get("/khong-co").get_data(as_text=True)
    api = client.get("/api/v1/khong-co")
    assert api.status_code == 404 and api.get_json()["error"]["code"] == "not_found"


def test_a_failing_page_gets_the_translated_500_page(make_app):
    app = make_app()

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("the page broke")

    client = app.test_client()
    page = client.get("/boom")
    assert page.status_code == 500 and page.mimetype == "text/html"
    assert "Máy chủ gặp sự cố; chưa có gì được lưu." in page.get_data(as_text=True)


def test_the_429_and_500_pages_in_english_too(make_app):
    app = make_app(RATELIMIT_ENABLED=True, LOOKUP_RATE_LIMIT="1 per minute")

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("the page broke")

    client = app.test_client()
    client.post("/language", data={"lang": "en", "next": "/lookup",
                                   "csrf_token": csrf_token(client, "/lookup")})
    crash = client.get("/boom")
    assert crash.status_code == 500
    assert "The server failed; nothing was saved." in crash.get_data(as_text=True)
    client.get("/lookup/KHONG-CO")
    limited = client.get("/lookup/KHONG-CO")
    assert limited.status_code == 429 and limited.mimetype == "text/html"
    html = limited.get_data(as_text=True)
    assert "Too many requests" in html and "You can try again in" in html


def test_root_sends_citizens_to_the_lookup_and_staff_to_their_start(app, client, office):
    assert client.get("/").headers["Location"] == "/lookup"
    set_passwords(app)
    starts = {"reception": "/intake", "specialist": "/queue", "leader": "/queue",
              "supervisor": "/dashboard", "admin": "/admin/"}
    for username, start in starts.items():
        log_in(client, username)
        assert client.get("/").headers["Location"] == start, username
        client.post("/logout", data={"csrf_token": csrf_token(client, "/home")})


def test_every_string_of_the_pages_has_a_vietnamese_translation():
    with CATALOG.open("rb") as f:
        catalog = read_po(f)
    method_map = [("app/**.py", "python"), ("app/templates/**.html", "jinja2")]
    wanted = {msg[2] if isinstance(msg[2], str) else msg[2][0]
              for msg in extract_from_dir(str(ROOT), method_map,
                                          keywords={"_": None, "_l": None, "gettext": None,
                                                    "ngettext": (1, 2)})}
    missing = {m for m in wanted if not (catalog.get(m) and catalog.get(m).string)}
    assert not missing
    for message in catalog:
        texts = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(unicodedata.is_normalized("NFC", t) for t in texts)
        assert not message.fuzzy or not message.id
