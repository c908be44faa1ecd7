"""The /admin pages without a browser: each form's validation, scope, and the admin log."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pypdfium2 as pdfium
import pytest
import sqlalchemy as sa
import zxingcpp
from conftest import Office
from flask import Flask
from flask.testing import FlaskClient
from pages_support import PASSWORD, set_passwords

from app.admin.models import AdminAction
from app.admin.operations import record_admin_action
from app.auth.models import ApiToken, Device, User
from app.db import db
from app.offices.models import CalendarOverride, StationKind
from app.offices.operations import add_station, get_office
from app.procedures.models import Procedure

HOME = "000.00.19.H12"
NEIGHBOUR = "000.00.20.H12"


def _csrf(client: FlaskClient, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="(?:[a-z]+-)?csrf_token" (?:type="hidden" )?value="([^"]+)"', html)
    assert match is not None, html[:500]
    return match[1]


def _log_in(client: FlaskClient, username: str) -> None:
    response = client.post("/login", data={"username": username, "password": PASSWORD,
                                           "csrf_token": _csrf(client, "/login")})
    assert response.status_code == 302, response.get_data(as_text=True)


def _post(client: FlaskClient, path: str, data: dict[str, Any], *, page: str | None = None):
    return client.post(path, data={"csrf_token": _csrf(client, page or path)} | data)


def _province_wide(app: Flask, username: str = "admin") -> None:
    with app.app_context():
        db.session.execute(sa.update(User).where(User.username == username)
                           .values(province_scope=True))
        db.session.commit()


def _log(app: Flask) -> list[AdminAction]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(AdminAction).order_by(AdminAction.id)))
        db.session.expunge_all()
        return rows


@pytest.fixture
def admin(app: Flask, office: Office) -> FlaskClient:
    """A client logged in as the office's admin (office scope)."""
    set_passwords(app)
    client = app.test_client()
    _log_in(client, "admin")
    return client


def _text(response: Any) -> str:
    return response.get_data(as_text=True)


# --- who may open the pages -------------------------------------------------------------------

ADMIN_PAGES = ["/admin/", "/admin/offices", f"/admin/offices/{HOME}", "/admin/stations/DESK",
               "/admin/procedures", "/admin/calendar", "/admin/users", "/admin/users/reception",
               "/admin/devices", "/admin/log"]


@pytest.mark.parametrize("username", ["reception", "specialist", "leader", "supervisor"])
def test_every_admin_page_refuses_the_other_roles(app: Flask, office: Office, username: str):
    set_passwords(app)
    client = app.test_client()
    _log_in(client, username)
    for path in ADMIN_PAGES:
        assert client.get(path).status_code == 403, path
    assert client.post("/admin/devices/1/revoke").status_code in (400, 403)


def test_a_visitor_is_sent_to_the_login_page(client: FlaskClient, office: Office):
    for path in ADMIN_PAGES:
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_an_admin_starts_on_the_admin_page_and_sees_only_their_offices(admin: FlaskClient):
    assert admin.get("/").headers["Location"].endswith("/admin/")
    page = _text(admin.get("/admin/offices"))
    assert HOME in page and NEIGHBOUR not in page
    # Another office's things are not found, as in the API.
    assert admin.get(f"/admin/offices/{NEIGHBOUR}").status_code == 404
    assert admin.get("/admin/stations/BA-DESK").status_code == 404
    assert admin.get("/admin/users/outsider").status_code == 404


# --- offices and stations ---------------------------------------------------------------------

def test_only_a_province_wide_admin_adds_offices_and_codes_are_checked(app: Flask,
                                                                       admin: FlaskClient):
    form = {"code": "000.00.21.H12", "name": "UBND xã Mới", "place": "",
            "office_hours": "07:00-11:30,13:30-17:00",
            "code_pattern": "{agency}-{yymmdd}-{serial:04d}"}
    assert _post(admin, "/admin/offices", form).status_code == 403
    _province_wide(app)
    refused = _post(admin, "/admin/offices", form | {"code": "xã 21"})
    assert refused.status_code == 422
    assert "Mã cơ quan gồm 1 đến 32 ký tự" in _text(refused)
    refused = _post(admin, "/admin/offices", form | {"code_pattern": "{agency}-{serial:04d}"})
    assert refused.status_code == 422 and "Máy quét không đọc lại được" in _text(refused)
    refused = _post(admin, "/admin/offices", form | {"office_hours": "sáng"})
    assert refused.status_code == 422 and "Ghi giờ làm việc" in _text(refused)
    refused = _post(admin, "/admin/offices", form | {"name": ""})
    assert refused.status_code == 422 and "Vui lòng nhập." in _text(refused)
    assert _post(admin, "/admin/offices", form | {"code": HOME}).status_code == 422

    added = _post(admin, "/admin/offices", form)
    assert added.status_code == 302
    assert "UBND xã Mới" in _text(admin.get(added.headers["Location"]))
    [row] = [r for r in _log(app) if r.action == "office.create"]
    assert (row.actor, row.target, row.details["province"]) == ("admin", "office 000.00.21.H12",
                                                                 "H12")


def test_editing_an_office_and_adding_a_station_are_recorded(app: Flask, admin: FlaskClient):
    path = f"/admin/offices/{HOME}"
    office = {"what": "office", "office-name": "UBND xã Tân Phong (mới)",
              "office-place": "Tân Phong",
              "office-office_hours": "07:30-11:30,13:30-17:00",
              "office-code_pattern": "{agency}-{yyyymmdd}-{serial:05d}",
              "office-label_layout": "thermal-50x30", "office-label_printer": "ZPL"}
    bad = _post(admin, path, office | {"office-code_pattern": "{serial:04d}"})
    assert bad.status_code == 422 and "Máy quét không đọc lại được" in _text(bad)
    bad = _post(admin, path, office | {"office-label_layout": "a4-999"})
    assert bad.status_code == 422 and "Không in được nhãn theo khổ này" in _text(bad)
    assert _post(admin, path, office).status_code == 302
    station = {"what": "station", "station-code": "DESK", "station-name": "Quầy 2",
               "station-kind": "RECEPTION"}
    taken = _post(admin, path, station)
    assert taken.status_code == 422 and "Đã có điểm quét mang mã này." in _text(taken)
    assert _post(admin, path, station | {"station-code": "quay-2"}).status_code == 302
    renamed = _post(admin, "/admin/stations/QUAY-2",
                    {"name": "Quầy hai", "kind": "RETURN"})  # "active" unticked: out of service
    assert renamed.status_code == 302
    page = _text(admin.get(path))
    assert "UBND xã Tân Phong (mới)" in page and "Quầy hai" in page and "Ngừng sử dụng" in page
    actions = [(r.action, r.target) for r in _log(app)]
    assert actions == [("office.update", f"office {HOME}"), ("station.create", "station QUAY-2"),
                       ("station.update", "station QUAY-2")]
    update = _log(app)[0]
    assert update.details == {"name": "UBND xã Tân Phong (mới)",
                              "office_hours": "07:30-11:30,13:30-17:00",
                              "code_pattern": "{agency}-{yyyymmdd}-{serial:05d}",
                              "label_layout": "thermal-50x30", "label_printer": "zpl"}


# --- procedures --------------------------------------------------------------------------------

def _plan(**rows: Any) -> dict[str, str]:
    form = {"code": "2.000001", "name": "Chứng thực bản sao", "short_name": "", "field": "",
            "amount": "1", "unit": "WORKING_DAYS", "cutoff": "", "fee": "0"}
    steps = [("Tiếp nhận", "station:DESK", "1", "hours"),
             ("Thụ lý", "kind:DEPARTMENT", "6", "hours"), ("Trả", "kind:RETURN", "1", "hours")]
    for i, (name, target, budget, unit) in enumerate(steps):
        form |= {f"steps-{i}-name": name, f"steps-{i}-target": target,
                 f"steps-{i}-budget": budget, f"steps-{i}-unit": unit}
    return form | rows


def test_a_plan_over_its_legal_duration_is_refused_on_the_fields(app: Flask, admin: FlaskClient):
    assert _post(admin, "/admin/procedures/new", _plan()).status_code == 403
    _province_wide(app)
    over = _post(admin, "/admin/procedures/new", _plan(**{"steps-1-budget": "1",
                                                           "steps-1-unit": "days"}))
    html = _text(over)
    assert over.status_code == 422
    assert ("Các bước cộng lại 10 giờ làm việc, vượt quá 8 giờ làm việc mà thời hạn luật định "
            "để lại.") in html
    assert html.count("Tổng các định mức quá lớn.") == 3
    bad = _post(admin, "/admin/procedures/new", _plan(**{"steps-2-budget": "nhiều",
                                                          "steps-1-target": ""}))
    assert bad.status_code == 422
    assert "Ghi số giờ hoặc số ngày" in _text(bad) and "Chọn điểm quét hoặc loại điểm quét." in \
        _text(bad)
    # A plan may not hand dossiers to the station of an office the admin does not manage.
    with app.app_context():
        add_station(get_office("000.00.01.K99"), "K99-DESK", "Một cửa tỉnh khác",
                    StationKind.RECEPTION)
        db.session.commit()
    foreign = _post(admin, "/admin/procedures/new",
                    _plan(**{"steps-1-target": "station:K99-DESK"}))
    assert foreign.status_code == 422 and "Chọn điểm quét hoặc loại điểm quét." in _text(foreign)
    with app.app_context():
        assert db.session.scalar(sa.select(Procedure).where(Procedure.code == "2.000001")) is None

    saved = _post(admin, "/admin/procedures/new", _plan(**{"steps-1-budget": "0.75",
                                                            "steps-1-unit": "days"}))
    assert saved.status_code == 302
    again = _post(admin, "/admin/procedures/new?from=2.000001",
                  _plan(**{"amount": "2"}), page="/admin/procedures/new?from=2.000001")
    assert again.status_code == 302
    with app.app_context():
        procedure = db.session.scalar(sa.select(Procedure).where(Procedure.code == "2.000001"))
        assert procedure is not None and [v.version for v in procedure.versions] == [1, 2]
        assert [s.budget_hours for s in procedure.versions[0].steps] == [1, 6, 1]
    versions = [r.details["version"] for r in _log(app) if r.action == "procedure.version"]
    assert versions == [1, 2]
    prefilled = _text(admin.get("/admin/procedures/new?from=1.001193"))
    assert 'value="Thụ lý"' in prefilled and 'value="5"' in prefilled


# --- calendar ----------------------------------------------------------------------------------

def test_the_calendar_flags_an_unconfirmed_year_and_records_overrides(app: Flask,
                                                                     admin: FlaskClient):
    page = _text(admin.get("/admin/calendar?year=2027"))
    assert "2027: chưa xác nhận" in page
    confirmed = _text(admin.get("/admin/calendar?year=2026"))
    assert "chưa xác nhận" not in confirmed and "đã được xác nhận" in confirmed
    assert "Nghị quyết" in confirmed or "Công văn" in confirmed or "Thông báo" in confirmed

    # All offices is a province-wide admin's choice; their own office is theirs.
    assert _post(admin, "/admin/calendar?year=2027",
                 {"day": "2027-02-13", "kind": "WORKING_DAY", "office": "", "note": ""},
                 ).status_code == 403
    bad = _post(admin, "/admin/calendar?year=2027",
                {"day": "13/02", "kind": "WORKING_DAY", "office": HOME, "note": ""})
    assert bad.status_code == 422 and "Chọn một ngày." in _text(bad)
    assert _post(admin, "/admin/calendar?year=2027",
                 {"day": "2027-02-13", "kind": "WORKING_DAY", "office": NEIGHBOUR, "note": ""},
                 ).status_code == 404
    saved = _post(admin, "/admin/calendar?year=2027",
                  {"day": "2027-02-13", "kind": "WORKING_DAY", "office": HOME,
                   "note": "Làm bù Tết"})
    assert saved.status_code == 302
    assert "Làm bù Tết" in _text(admin.get("/admin/calendar?year=2027"))
    removed = _post(admin, "/admin/calendar/remove", {"day": "2027-02-13", "office": HOME},
                    page="/admin/calendar")
    assert removed.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarOverride)) == 0
    assert [(r.action, r.details["scope"]) for r in _log(app)] == [("calendar.set", HOME),
                                                                   ("calendar.unset", HOME)]


# --- users -------------------------------------------------------------------------------------

def test_creating_a_user_is_validated_and_recorded_without_the_password(app: Flask,
                                                                        admin: FlaskClient):
    form = {"username": "mai", "full_name": "Trần Thị Mai", "role": "SPECIALIST",
            "office": HOME, "badge": "B-MAI", "password": "mật-khẩu-của-mai"}
    short = _post(admin, "/admin/users", form | {"password": "ngắn"})
    assert short.status_code == 422 and "Mật khẩu cần ít nhất 8 ký tự." in _text(short)
    spaced = _post(admin, "/admin/users", form | {"badge": "B MAI"})
    assert spaced.status_code == 422 and "Mã thẻ gồm 1 đến 64 ký tự" in _text(spaced)
    taken = _post(admin, "/admin/users", form | {"badge": "B-LEADER"})
    assert taken.status_code == 422 and "Người dùng khác đã có thẻ này." in _text(taken)
    assert _post(admin, "/admin/users", form | {"username": "leader"}).status_code == 422
    assert _post(admin, "/admin/users", form | {"office": NEIGHBOUR}).status_code == 404
    assert _post(admin, "/admin/users", form | {"role": "SUPERVISOR", "province_scope": "y"}
                 ).status_code == 403
    created = _post(admin, "/admin/users", form)
    assert created.status_code == 302 and created.headers["Location"].endswith("/admin/users/mai")
    listing = _text(admin.get("/admin/users"))
    assert "Trần Thị Mai" in listing and "B-MAI" in listing
    [row] = _log(app)
    assert row.details == {"role": "specialist", "badge": "B-MAI", "province_scope": False}
    assert "mật-khẩu" not in str(row.details)


def test_deactivating_resetting_badges_and_revoking_tokens(app: Flask, admin: FlaskClient,
                                                         office: Office):
    api = app.test_client()
    me = office.headers("reception")
    assert api.get("/api/v1/stations", headers=me).status_code == 200
    page = "/admin/users/reception"
    assert _post(admin, page + "/active", {"active": "0"}, page=page).status_code == 302
    assert api.get("/api/v1/stations", headers=me).status_code == 401
    assert "Đã khóa" in _text(admin.get(page))
    assert _post(admin, page + "/active", {"active": "1"}, page=page).status_code == 302
    assert api.get("/api/v1/stations", headers=me).status_code == 200

    short = _post(admin, page + "/password", {"pw-password": "ngắn"}, page=page)
    assert short.status_code == 422 and "Mật khẩu cần ít nhất 8 ký tự." in _text(short)
    assert _post(admin, page + "/password", {"pw-password": "một-mật-khẩu-mới"},
                 page=page).status_code == 302
    fresh = app.test_client()
    assert fresh.post("/login", data={"username": "reception", "password": "một-mật-khẩu-mới",
                                      "csrf_token": _csrf(fresh, "/login")}).status_code == 302

    taken = _post(admin, page + "/badge", {"badge-badge": "B-LEADER"}, page=page)
    assert taken.status_code == 422 and "Người dùng khác đã có thẻ này." in _text(taken)
    assert _post(admin, page + "/badge", {"badge-badge": "B-QUAY-1"}, page=page).status_code == 302
    assert "B-QUAY-1" in _text(admin.get(page))

    assert _post(admin, page + "/revoke-tokens", {}, page=page).status_code == 302
    assert api.get("/api/v1/stations", headers=me).status_code == 401
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken).where(
            ApiToken.revoked_at.is_(None), ApiToken.user.has(username="reception"))) == 0
    assert [r.action for r in _log(app)] == [
        "user.deactivate", "user.activate", "user.password", "user.badge", "user.revoke_tokens"]
    assert "một-mật-khẩu-mới" not in str([r.details for r in _log(app)])
    # An admin cannot lock themselves out.
    assert _post(admin, "/admin/users/admin/active", {"active": "0"},
                 page="/admin/users/admin").status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(User.active).where(User.username == "admin"))


def test_badge_and_action_cards_print_as_pdfs_that_scan_back(app: Flask, admin: FlaskClient):
    response = _post(admin, "/admin/badges.pdf", {"username": "reception"},
                     page="/admin/users/reception")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    document = pdfium.PdfDocument(response.data)
    image = np.asarray(document[0].render(scale=300 / 72, grayscale=True).to_numpy())
    document.close()
    assert [r.text for r in zxingcpp.read_barcodes(image)] == ["$B-B-RECEPTION"]
    everyone = _post(admin, "/admin/badges.pdf", {"sheet": "1"}, page="/admin/users")
    assert everyone.status_code == 200
    assert len(pdfium.PdfDocument(everyone.data)) == 1  # five badges on one A4 sheet
    cards = _post(admin, "/admin/cards.pdf", {"send_to": "000.00.20.H12"}, page="/admin/users")
    assert cards.status_code == 200 and cards.data.startswith(b"%PDF")
    assert [(r.action, r.details.get("send_to")) for r in _log(app)] == [
        ("badges.print", None), ("badges.print", None), ("cards.print", ["000.00.20.H12"])]
    assert _log(app)[1].details["users"] == ["admin", "leader", "reception", "specialist",
                                             "supervisor"]


# --- devices ----------------------------------------------------------------------------------

def test_a_new_device_token_is_shown_once_works_and_is_never_logged(app: Flask,
                                                                    admin: FlaskClient,
                                                                    caplog: Any):
    none = _post(admin, "/admin/devices", {"name": "Quầy 2 PC"})
    assert none.status_code == 422 and "Chọn ít nhất một điểm quét." in _text(none)
    foreign = _post(admin, "/admin/devices", {"name": "Quầy 2 PC", "stations": ["BA-DESK"]})
    assert foreign.status_code == 404
    created = _post(admin, "/admin/devices", {"name": "Quầy 2 PC",
                                              "stations": ["DESK", "RETURN"]})
    assert created.status_code == 302
    shown = _text(admin.get("/admin/devices"))
    token = re.search(r'id="new-token">(trk_dev_[^<]+)<', shown)
    assert token is not None
    assert token[1] not in _text(admin.get("/admin/devices"))  # never again
    api = app.test_client()
    headers = {"Authorization": f"Bearer {token[1]}"}
    assert api.get("/api/v1/stations", headers=headers).status_code == 200
    with app.app_context():
        device_id = db.session.scalar(sa.select(Device.id).where(Device.name == "Quầy 2 PC"))
    page = "/admin/devices"
    assert _post(admin, f"/admin/devices/{device_id}/revoke", {}, page=page).status_code == 302
    assert api.get("/api/v1/stations", headers=headers).status_code == 401
    rows = _log(app)
    assert [(r.action, r.target) for r in rows] == [("device.create", f"device {device_id}"),
                                                    ("device.revoke", f"device {device_id}")]
    assert rows[0].details == {"name": "Quầy 2 PC", "stations": ["DESK", "RETURN"]}
    assert token[1] not in str([r.details for r in rows]) + caplog.text
    assert token[1] not in _text(admin.get("/admin/log"))


# --- the log ------------------------------------------------------------------------------------

def test_the_cli_records_its_admin_commands_as_cli(app: Flask, runner: Any, admin: FlaskClient):
    for args in (["station", "add", "--office", HOME, "--code", "Q3", "--name", "Quầy 3",
                  "--kind", "reception"],
                 ["device", "add", "--station", "Q3"],
                 ["user", "token", "leader"],
                 ["user", "deactivate", "leader"],
                 ["calendar", "set", "2027-02-13", "working-day", "--note", "Làm bù"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
    rows = _log(app)
    assert [(r.actor, r.action) for r in rows] == [
        ("cli", "station.create"), ("cli", "device.create"), ("cli", "user.issue_token"),
        ("cli", "user.deactivate"), ("cli", "calendar.set")]
    assert "trk_" not in str([r.details for r in rows])
    page = _text(admin.get("/admin/log"))
    assert "station Q3" in page and "cli" in page and "user.issue_token" in page


def test_an_admin_reads_the_log_of_their_offices_only(app: Flask, admin: FlaskClient,
                                                     runner: Any):
    runner.invoke(args=["station", "add", "--office", NEIGHBOUR, "--code", "BA-2", "--name",
                        "Quầy 2 Bình An", "--kind", "reception"])
    runner.invoke(args=["station", "add", "--office", HOME, "--code", "TP-2", "--name",
                        "Quầy 2 Tân Phong", "--kind", "reception"])
    page = _text(admin.get("/admin/log"))
    assert "station TP-2" in page and "station BA-2" not in page


def test_a_secret_never_enters_the_log(app: Flask):
    with app.app_context(), pytest.raises(ValueError, match="secrets"):
        record_admin_action("cli", "device.create", "device 1", token="trk_dev_x")
    with app.app_context(), pytest.raises(ValueError, match="secrets"):
        record_admin_action("cli", "user.create", "user x", new_password="x")
