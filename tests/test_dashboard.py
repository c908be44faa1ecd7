"""The supervisors' dashboard (/dashboard): its figures are the report API's, on the fixed week
of tests/test_reports.py (A early, B late, C late under 766, D still at Thụ lý, 14 working
hours: the late one that needs an apology); filters, scope, downloads, and the page in a real
browser at the office and phone sizes.
"""

from __future__ import annotations

import csv
import io
import json
import re
from html import unescape
from typing import Any

import pytest
import test_reports
from conftest import Office
from flask.testing import FlaskClient
from openpyxl import load_workbook
from pages_support import screenshot, serious_violations
from playwright.sync_api import Browser, expect
from test_pages import log_in
from test_pages_browser import log_in as browser_log_in
from test_reports import PERIOD

# The fixed week of the report tests (the browser and the live server are conftest's).
week = test_reports.week

pytestmark = [pytest.mark.filterwarnings("ignore::ResourceWarning"),
              pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")]


def api(client: FlaskClient, office: Office, report: str, who: str = "supervisor",
        **params: str) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/reports/{report}", query_string=PERIOD | params,
                          headers=office.headers(who))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["rows"]  # type: ignore[no-any-return]


def charts(html: str) -> dict[str, dict[str, Any]]:
    """Each chart's data, as dashboard.js reads it, by the card it is in."""
    found = re.findall(r'id="chart-(\w+)".*?(?:data-chart=\'([^\']*)\'|</section>)', html,
                       re.S)
    return {name: json.loads(unescape(spec)) if spec else {} for name, spec in found}


def text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


@pytest.fixture
def supervisor(app, client: FlaskClient, office: Office) -> FlaskClient:
    from pages_support import set_passwords

    set_passwords(app)
    log_in(client, "supervisor")
    return client


def test_the_dashboards_figures_are_the_report_apis(supervisor, office, week):
    page = supervisor.get("/dashboard", query_string=PERIOD)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    drawn = charts(html)

    status = api(supervisor, office, "status")
    assert drawn["status"]["labels"] == [r["status_label"] for r in status]
    assert drawn["status"]["datasets"][0]["data"] == [r["count"] for r in status]
    # A was returned, B and C wait at the leader's for pickup, D is at Thụ lý.
    assert [(r["status"], r["status_code"], r["count"]) for r in status] == [
        ("in_progress", 4, 1), ("processed", 9, 2), ("returned", 10, 1)]

    triage = api(supervisor, office, "triage")
    assert drawn["triage"]["datasets"][0]["data"] == [
        sum(r["triage"] == k for r in triage) for k in ("within", "approaching", "late")]

    dwell = {r["step"]: r for r in api(supervisor, office, "dwell", by="step")}
    assert drawn["dwell"]["labels"] == ["Tiếp nhận", "Thụ lý", "Ký"]
    assert drawn["dwell"]["datasets"][0]["data"] == [
        dwell[s]["median_hours"] for s in ("Tiếp nhận", "Thụ lý", "Ký")]
    assert drawn["dwell"]["datasets"][1]["data"] == [
        dwell[s]["p90_hours"] for s in ("Tiếp nhận", "Thụ lý", "Ký")]

    by_month = [api(supervisor, office, "ontime", by="month", formula=f)
                for f in ("766", "resolved")]
    assert drawn["ontime"]["labels"] == ["11/2026"]
    assert [d["data"] for d in drawn["ontime"]["datasets"]] == [
        [r["rate"] for r in rows] for rows in by_month]
    assert [d["data"] for d in drawn["ontime"]["datasets"]] == [[25.0], [66.67]]

    queues = api(supervisor, office, "queues")
    assert drawn["queues"]["labels"] == [r["station_name"] for r in queues]
    assert [(r["station"], r["processing"], r["waiting"], r["oldest_code"], r["oldest_hours"])
            for r in queues] == [("TUPHAP", 1, 0, week["D"]["code"], 14.0),
                                 ("LEADER", 0, 2, None, None)]
    assert drawn["queues"]["datasets"][0]["data"] == [1, 0]

    missed = api(supervisor, office, "missed")
    assert drawn["missed"]["datasets"][0]["data"] == [
        sum(r["kind"] == k for r in missed)
        for k in ("off_plan", "skipped_step", "overdue_scan", "silent", "overdue_transit")]

    # The takeaways and tables say it in Vietnamese, with comma decimals.
    words = text(html)
    assert "Bước chậm nhất: Thụ lý, trung vị 8,5 giờ làm việc" in words
    assert "Tỷ lệ đúng hạn tháng 11/2026: 25% (Quyết định 766)" in words
    assert "66,67%" in words
    assert "Tư pháp – Hộ tịch giữ nhiều hồ sơ nhất: 1 hồ sơ đang xử lý" in words
    # The late dossier D needs an apology letter; no applicant's name on the page.
    apologies = html.split('id="apologies"')[1].split("</section>")[0]
    assert week["D"]["code"] in apologies and week["A"]["code"] not in apologies
    assert "Nguyễn" not in html


def test_filters_change_the_numbers(supervisor, office, week):
    def counts(**params: str) -> list[int]:
        html = supervisor.get("/dashboard", query_string=PERIOD | params).get_data(as_text=True)
        return charts(html)["status"].get("datasets", [{"data": []}])[0]["data"]

    assert sum(counts()) == 4
    assert sum(counts(**{"from": "2026-11-04"})) == 1  # D only, received on Thursday
    assert counts(procedure="1.009972") == []  # no building permit that week
    assert sum(counts(office=office.code)) == 4
    assert counts(office="000.00.20.H12") == []  # the other office of the province


def test_another_offices_supervisor_sees_nothing_of_ours(app, client, office, week):
    from pages_support import set_passwords

    from app.auth.models import Role
    from app.auth.operations import create_user
    from app.db import db
    from app.offices.operations import get_office

    with app.app_context():
        create_user("sup-ba", "Giám sát Bình An", Role.SUPERVISOR, get_office("000.00.20.H12"))
        db.session.commit()
    set_passwords(app)
    log_in(client, "sup-ba")
    html = client.get("/dashboard", query_string=PERIOD).get_data(as_text=True)
    assert all(not spec for spec in charts(html).values())
    assert all(week[k]["code"] not in html for k in "ABCD")
    assert "UBND xã Tân Phong" not in html  # our office is not even offered
    assert client.get("/dashboard", query_string=PERIOD | {"office": office.code}) \
        .status_code == 403
    assert client.get("/dashboard/triage.csv", query_string={"office": office.code}) \
        .status_code == 403

    client.post("/logout", data={"csrf_token": re.search(
        r'name="csrf_token" value="([^"]+)"', html)[1]})  # type: ignore[index]
    log_in(client, "specialist")
    assert client.get("/dashboard").status_code == 403
    assert client.get("/dashboard/dwell.xlsx").status_code == 403


def test_downloads_open_with_the_same_figures(supervisor, office, week):
    response = supervisor.get("/dashboard/dwell.csv", query_string=PERIOD)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.data.startswith(b"\xef\xbb\xbf")  # Excel reads the diacritics
    table = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    dwell = api(supervisor, office, "dwell", by="step")
    assert [(r["step"], float(r["median_hours"]), float(r["p90_hours"])) for r in table] == [
        (r["step"], r["median_hours"], r["p90_hours"]) for r in dwell]

    response = supervisor.get("/dashboard/ontime.xlsx", query_string=PERIOD)
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, [c.value for c in row], strict=True))
            for row in sheet.iter_rows(min_row=2)]
    assert [(r["month"], r["formula"], r["total"], r["rate"]) for r in rows] == [
        ("2026-11", "766", 4, 25.0), ("2026-11", "resolved", 3, 66.67)]

    response = supervisor.get("/dashboard/triage.xlsx", query_string=PERIOD)
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert sheet is not None
    assert [c.value for c in sheet[2]][0] == week["D"]["code"]
    assert supervisor.get("/dashboard/nothing.csv").status_code == 404
    assert supervisor.get("/dashboard/dwell.pdf").status_code == 404


@pytest.mark.parametrize(("params", "message"), [
    ({"from": "hôm qua"}, "Hãy nhập ngày"),
    ({"to": "2026-13-45"}, "Hãy nhập ngày"),
    ({"from": "2026-11-06", "to": "2026-11-01"}, "Khoảng thời gian phải kết thúc"),
    ({"procedure": "9.999999"}, "Không có đơn vị hoặc thủ tục này"),
])
def test_a_wrong_filter_gets_a_vietnamese_message_not_a_500(supervisor, params, message):
    response = supervisor.get("/dashboard", query_string=PERIOD | params)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_supervisors_start_on_the_dashboard(supervisor):
    assert supervisor.get("/").headers["Location"] == "/dashboard"
    assert 'href="/dashboard"' in supervisor.get("/home").get_data(as_text=True)


@pytest.mark.parametrize("size", ["office", "kiosk", "phone"])
def test_the_dashboard_in_a_browser_draws_every_chart(browser: Browser, live, size: str):
    from dossier_support import intake, nov, post
    from pages_support import SIZES

    server, office = live()
    client = server.app.test_client()
    for day in (2, 3, 4, 5):  # one late at Thụ lý, the others resolved on time
        d = intake(client, office, nov(day, 8))
        rows = [(nov(day, 9), "TUPHAP", None)]
        if day != 5:
            rows += [(nov(day, 11), "LEADER", None), (nov(day, 14), "LEADER", "result_ready")]
        post(client, office, d["tracking_number"], rows)
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True,
                                  locale="vi-VN")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    browser_log_in(page, server, "supervisor")
    expect(page.locator("h1")).to_have_text("Bảng điều khiển")
    page.select_option("#procedure", "1.001193")
    page.fill("#from", "2026-10-01")
    page.fill("#to", "2026-11-30")
    page.click("text=Xem")
    expect(page.locator("#chart-dwell .takeaway")).to_contain_text("Bước chậm nhất")
    canvases = page.locator("canvas[data-chart]")
    assert canvases.count() == 6
    # Chart.js drew on every canvas: some pixels are not blank. Waited for, not sampled once:
    # the charts animate in, and a busy machine may still be drawing when they first exist.
    painted = """() => [...document.querySelectorAll('canvas[data-chart]')].map(c => {
        if (!Chart.getChart(c)) { return 0; }
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) { if (d[i]) { n++; } } return n; })"""
    page.wait_for_function(f"() => ({painted})().every(n => n > 500)", timeout=30_000)
    page.click("#chart-dwell summary")
    expect(page.locator("#chart-dwell table")).to_contain_text("Thụ lý")
    screenshot(page, f"dashboard-{size}")
    violations = serious_violations(page)
    assert not violations, violations
    assert errors == []
    context.close()


def test_an_off_plan_scan_is_listed_not_a_500(supervisor, app, office):
    """An off-plan scan lasts nothing (its row has no hours): the longest list still sorts."""
    import datetime as dt

    from conftest import scan
    from pages_support import later
    from test_work_pages import registered
    from test_work_pages_browser import post

    client = app.test_client()
    d = registered(client, office, dt.timedelta(hours=2), 6201)
    post(client, office, scan(d["tracking_number"], later(d["received_at"]), station="LEADER",
                              action="result_ready"))  # off the plan: Thụ lý skipped
    response = supervisor.get("/dashboard")
    assert response.status_code == 200
    assert d["code"] in text(response.get_data(as_text=True))
