"""The work queue, the dossier page and search, the waiting-room board, and the live regions'
change token — without a browser (tests/test_work_pages_browser.py has the browser)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from conftest import Office, scan
from flask.testing import FlaskClient
from pages_support import later, set_passwords
from test_pages import csrf_token, log_in

PERSONAL = ("Nguyễn", "Hằng", "0912345678", "001190012345")
OTHER = "000.00.20.H12"


@pytest.fixture
def staff(app, office: Office) -> Office:
    set_passwords(app)
    return office


def scans(client: FlaskClient, office: Office, *events: dict, who: str = "device") -> None:
    response = client.post("/api/v1/scans", headers=office.headers(who),
                           json={"events": list(events)})
    assert [r["status"] for r in response.get_json()["results"]] == ["accepted"] * len(events)


def held_by_specialist(client: FlaskClient, office: Office) -> dict:
    """A birth registration handed to the justice desk, scanned with the specialist's badge."""
    d = office.intake(client)
    scans(client, office, scan(d["tracking_number"], later(d["received_at"]), station="TUPHAP",
                               actor="B-SPECIALIST"))
    return d


def registered(client: FlaskClient, office: Office, ago: dt.timedelta, serial: int,
               **body: object) -> dict:
    """A dossier registered upstream ``ago`` before now (its scans may then be in the past)."""
    received = dt.datetime.now(dt.UTC) - ago
    return office.intake(client, received_at=received.isoformat(),
                         code=f"{office.code}-{received:%y%m%d}-{serial:04d}", **body)


def late_dossier(client: FlaskClient, office: Office, days: int = 20) -> dict:
    """A dossier of a one-working-day procedure received ``days`` ago."""
    return registered(client, office, dt.timedelta(days=days), 9000 + days,
                      applicant={"name": "Trần Văn Bình", "phone": "0987654321"})


def text(client: FlaskClient, path: str, status: int = 200, **headers: str) -> str:
    response = client.get(path, headers=headers)
    assert response.status_code == status, (path, response.status_code)
    return response.get_data(as_text=True)


# --- the work queue ---------------------------------------------------------------------------

def test_queue_lists_what_i_hold_what_is_late_due_soon_and_coming(client, staff: Office):
    held = held_by_specialist(client, staff)
    late = late_dossier(client, staff)
    building = staff.intake(client, procedure="1.009972")  # 15 working days: not urgent
    sent = registered(client, staff, dt.timedelta(minutes=10), 8000, procedure="1.009972")
    scans(client, staff, scan(sent["tracking_number"], later(sent["received_at"]),
                              station="DESK", action="send", destination="LEADER"))

    api = client.get("/api/v1/queue", headers=staff.headers("specialist")).get_json()
    assert api["counts"] == {"held": 1, "late": 1, "due_soon": 1, "in_transit": 1}
    assert [r["code"] for r in api["held"]] == [held["code"]]
    assert api["held"][0]["holder"] == "Cán bộ specialist"
    assert [r["code"] for r in api["late"]] == [late["code"]]
    assert [r["code"] for r in api["due_soon"]] == [held["code"]]  # 1 working day, just begun
    assert [r["code"] for r in api["in_transit"]] == [sent["code"]]
    assert api["in_transit"][0]["in_transit"]["to_station"]["code"] == "LEADER"
    assert building["code"] not in str(api)

    log_in(client, "specialist")
    assert client.get("/").headers["Location"] == "/queue"  # the specialist's start page
    page = text(client, "/queue")
    assert "Hồ sơ đang giữ" in page and "Tôi đang giữ" in page
    assert page.index(held["code"].split("-")[0]) < page.index("Quá hạn")
    for d in (held, late, sent):
        assert f'href="/dossiers/{d["code"]}"' in page
    assert "Trần Văn Bình" in page and "Đang chuyển đến Lãnh đạo ký" in page
    assert "còn 8 giờ làm việc" in page


def test_queue_is_sorted_by_urgency_and_hides_other_offices(client, staff: Office):
    earlier = late_dossier(client, staff)
    less_late = late_dossier(client, staff, days=5)
    api = client.get("/api/v1/queue", headers=staff.headers("reception")).get_json()
    assert [r["code"] for r in api["late"]] == [earlier["code"], less_late["code"]]
    outsider = client.get("/api/v1/queue", headers=staff.headers("outsider")).get_json()
    assert outsider["counts"] == {"held": 0, "late": 0, "due_soon": 0, "in_transit": 0}


def test_queue_roles_are_the_apis(client, staff: Office):
    assert client.get("/queue").headers["Location"].startswith("/login")
    assert client.get("/api/v1/queue", headers=staff.headers("supervisor")).status_code == 403
    log_in(client, "supervisor")
    text(client, "/queue", 403)


# --- the dossier page and search --------------------------------------------------------------

def test_dossier_page_shows_the_control_sheet_timeline_with_people_and_verdicts(
        client, staff: Office):
    d = held_by_specialist(client, staff)
    log_in(client, "specialist")
    page = text(client, f"/dossiers/{d['code']}")
    assert "Nguyễn Thị Hằng" in page and "0912345678" in page
    assert "Các lần giao nhận" in page and "Bên giao" in page and "Bên nhận" in page
    assert "Tiếp nhận tại bộ phận một cửa" in page and "Bàn giao" in page
    assert page.count("Cán bộ specialist") >= 2  # holder, and receiver of the second row
    assert "Cán bộ reception" in page  # the giver: who received it at the desk
    assert 'class="verdict within"' in page or 'class="verdict approaching"' in page
    assert f'href="/dossiers/{d["code"]}/control-sheet.pdf"' in page
    assert "receipt.pdf" not in page  # a specialist may not reprint the receipt
    pdf = client.get(f"/dossiers/{d['code']}/control-sheet.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    text(client, f"/dossiers/{d['code']}/receipt.pdf", 403)


def test_reception_may_reprint_the_receipt_from_the_dossier_page(client, staff: Office):
    d = staff.intake(client)
    log_in(client, "reception")
    assert f'href="/dossiers/{d["code"]}/receipt.pdf"' in text(client, f"/dossiers/{d['code']}")
    pdf = client.get(f"/dossiers/{d['code']}/receipt.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_a_dossier_out_of_scope_is_the_same_404_as_an_unknown_one(client, staff: Office):
    d = staff.intake(client)
    log_in(client, "outsider")
    out_of_scope = text(client, f"/dossiers/{d['code']}", 404)
    unknown = text(client, "/dossiers/000.00.19.H12-261201-9999", 404)
    assert "Nguyễn" not in out_of_scope and "Không tìm thấy trang" in out_of_scope
    assert out_of_scope.replace(d["code"], "") == unknown.replace("000.00.19.H12-261201-9999", "")
    text(client, f"/dossiers/{d['code']}/control-sheet.pdf", 404)


def test_search_finds_by_folded_name_and_phone_and_pages(client, staff: Office):
    first = staff.intake(client)
    second = staff.intake(client)
    other = staff.intake(client, applicant={"name": "Lê Văn Cường", "phone": "0900000001"})
    log_in(client, "leader")
    page = text(client, "/dossiers?q=nguyen+thi+hang")
    assert "Có 2 hồ sơ khớp với “nguyen thi hang”." in page
    assert first["code"] in page and second["code"] in page and other["code"] not in page
    assert other["code"] in text(client, "/dossiers?q=0900.000.001")
    one = text(client, "/dossiers?q=nguyen&per_page=1&page=2")
    assert "Trang 2/2" in one and first["code"] in one and second["code"] not in one
    assert "Trang trước" in one and "Trang sau" not in one
    bad = text(client, "/dossiers?q=" + "x" * 101, 422)
    assert "Vui lòng nhập tối đa 100 ký tự" in bad


# --- the waiting-room board -------------------------------------------------------------------

def test_board_shows_ready_results_with_masked_names_and_todays_counts(client, staff: Office):
    ready = held_by_specialist(client, staff)
    scans(client, staff, scan(ready["tracking_number"], later(ready["received_at"], 60),
                              station="LEADER", action="result_ready"))
    returned = staff.intake(client)
    scans(client, staff,
          scan(returned["tracking_number"], later(returned["received_at"]), station="LEADER",
               action="result_ready"),
          scan(returned["tracking_number"], later(returned["received_at"], 60),
               station="RETURN", action="returned"))
    waiting = staff.intake(client)

    page = text(client, f"/board/{staff.code}")  # no login
    assert "Kết quả đã có, mời nhận" in page and "N*** T*** H***" in page
    assert ready["code"].split("-")[-1] in page
    for d in (returned, waiting):
        assert d["tracking_number"] not in page
    assert d["code"].split("-")[-1] not in page  # waiting: not ready
    assert not [word for word in PERSONAL if word in page]
    today = dt.datetime.now(zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")).date()
    received_today = sum(dt.datetime.fromisoformat(x["received_at"]).date() == today
                         for x in (ready, returned, waiting))
    assert f"<strong>{received_today}</strong> hồ sơ tiếp nhận hôm nay" in page
    assert "kết quả đã trả hôm nay" in page
    # Another office's board shows none of it; an unknown office is a 404.
    assert ready["code"].split("-")[-1] not in text(client, f"/board/{OTHER}")
    text(client, "/board/000.99.99.X00", 404)


# --- the live regions' change token -----------------------------------------------------------

def test_a_poll_is_answered_304_until_a_scan_arrives_then_the_fragment(client, staff: Office):
    d = staff.intake(client)
    log_in(client, "specialist")
    page = client.get("/queue")
    etag = page.headers["ETag"]
    assert f'data-live-etag="{etag.strip(chr(34))}"' in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store" and "X-Live" in page.headers["Vary"]
    poll = client.get("/queue", headers={"X-Live": "1", "If-None-Match": etag})
    if poll.status_code == 200:  # the minute turned between the two requests
        etag = poll.headers["ETag"]
        poll = client.get("/queue", headers={"X-Live": "1", "If-None-Match": etag})
    assert poll.status_code == 304 and poll.data == b""

    scans(client, staff, scan(d["tracking_number"], later(d["received_at"]), station="TUPHAP",
                              actor="B-SPECIALIST"))
    fresh = client.get("/queue", headers={"X-Live": "1", "If-None-Match": etag})
    assert fresh.status_code == 200 and fresh.headers["ETag"] != etag
    fragment = fresh.get_data(as_text=True)
    assert "<html" not in fragment and "Tôi đang giữ" in fragment and d["code"][-4:] in fragment
    # Without X-Live, the same URL is the whole page, whatever If-None-Match says.
    whole = client.get("/queue", headers={"If-None-Match": fresh.headers["ETag"]})
    assert whole.status_code == 200 and "<html" in whole.get_data(as_text=True)


def test_a_poll_after_logout_is_sent_to_login_not_given_data(client, staff: Office):
    log_in(client, "specialist")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/queue")})
    poll = client.get("/queue", headers={"X-Live": "1"})
    assert poll.status_code == 302 and poll.headers["Location"].startswith("/login")
