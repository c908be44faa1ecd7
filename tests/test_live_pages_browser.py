"""The scan station, the dashboard and the kiosk follow scans posted through the API without a
reload (issue 11 point 9), in Chromium on a live server; the kiosk's polls spend no lookup
while nothing changed.

Each test runs on SQLite and again on PostgreSQL (``db`` mark). ``keep_marker`` sets a mark on
the page that a reload would wipe out.
"""

from __future__ import annotations

import datetime as dt

import pytest
import requests
from conftest import scan
from pages_support import later
from playwright.sync_api import Browser, expect
from test_counter_browser import at_station, scan_in
from test_pages_browser import Start, log_in
from test_work_pages import registered
from test_work_pages_browser import keep_marker, not_reloaded, post

pytestmark = [pytest.mark.db, pytest.mark.filterwarnings("ignore::ResourceWarning"),
              pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")]


def test_station_lists_a_colleagues_scan_and_keeps_the_input_and_the_result(
        browser: Browser, live: Start):
    server, office = live(LIVE_POLL_SECONDS=1)
    client = server.app.test_client()
    mine = registered(client, office, dt.timedelta(hours=1), 6101)
    theirs = registered(client, office, dt.timedelta(hours=1), 6102)
    page = browser.new_page()
    errors: list[str] = []  # a CSP refusal of live.js would show here
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    at_station(page, server, "specialist", "TUPHAP")
    here = page.locator(".station-here")
    expect(here).to_contain_text("Không có hồ sơ đang xử lý nào ở trạm này.")
    scan_in(page, mine["tracking_number"])
    result = page.locator("#result .scan-result")
    expect(result).to_contain_text(mine["code"])
    expect(here.locator(".worklist li")).to_have_count(1)
    keep_marker(page)

    post(client, office, scan(theirs["tracking_number"], later(theirs["received_at"]),
                              station="TUPHAP", actor="B-LEADER"))  # the agent's scan
    expect(here.locator(".worklist li")).to_have_count(2)
    expect(here.locator(f"a[href='/dossiers/{theirs['code']}']")).to_be_visible()
    expect(here.locator("h2")).to_contain_text("(2)")
    expect(result).to_contain_text(mine["code"])  # the big answer is still the last scan's
    expect(page.locator("#scan")).to_be_focused()  # the scanner still types into the input
    scan_in(page, theirs["code"])  # and the next scan works as before
    expect(result).to_contain_text(theirs["code"])
    assert "Nguyễn" not in page.inner_text("main")  # nothing personal on the station
    assert not_reloaded(page)
    assert errors == []
    page.close()


def _status_total(page: object) -> int:
    return int(page.evaluate(  # type: ignore[attr-defined]
        "Chart.getChart(document.querySelector('#chart-status canvas'))"
        ".data.datasets[0].data.reduce((a, b) => a + b, 0)"))


def test_dashboard_redraws_its_charts_when_a_dossier_arrives(
        browser: Browser, live: Start):
    server, office = live(LIVE_POLL_SECONDS=1)
    client = server.app.test_client()
    first = office.intake(client)
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    log_in(page, server, "supervisor")
    expect(page.locator("h1")).to_have_text("Bảng điều khiển")
    page.wait_for_function("() => Chart.getChart(document.querySelector('#chart-status canvas'))")
    assert _status_total(page) == 1
    page.click("#chart-status summary")  # the reader opened the figures
    keep_marker(page)

    second = office.intake(client)
    post(client, office, scan(second["tracking_number"], later(second["received_at"]),
                              station="TUPHAP"),
         scan(first["tracking_number"], later(first["received_at"]), station="TUPHAP"))
    page.wait_for_function(
        "() => { const c = Chart.getChart(document.querySelector('#chart-status canvas'));"
        " return c && c.data.datasets[0].data.reduce((a, b) => a + b, 0) === 2; }")
    # Every chart drawn again on its new canvas, the replaced ones let go.
    page.wait_for_function("() => [...document.querySelectorAll('canvas[data-chart]')]"
                           ".every(c => Chart.getChart(c))")
    assert page.evaluate("Object.keys(Chart.instances).length") \
        == page.locator("canvas[data-chart]").count()
    expect(page.locator("#chart-status details")).to_have_attribute("open", "")
    expect(page.locator("#chart-status table")).to_contain_text("2")
    assert not_reloaded(page)
    assert errors == []
    page.close()


def test_kiosk_shows_the_new_status_and_unchanged_polls_cost_no_lookup(
        browser: Browser, live: Start):
    limit = 5
    server, office = live(LIVE_POLL_SECONDS=1, RATELIMIT_ENABLED=True,
                          LOOKUP_RATE_LIMIT=f"{limit} per minute")
    client = server.app.test_client()
    d = office.intake(client)
    page = browser.new_page()
    polls: list[int] = []
    page.on("response", lambda r: polls.append(r.status)
            if r.request.headers.get("x-live") == "1" else None)
    page.goto(server.at("/kiosk"))
    page.keyboard.type(d["lookup_url"], delay=8)
    page.keyboard.press("Enter")
    headline = page.locator("h1")
    expect(headline).to_have_text("Hồ sơ của bạn đã được tiếp nhận")
    keep_marker(page)
    while len(polls) <= limit:  # more polls than the whole budget
        page.wait_for_timeout(200)
    assert 429 not in polls  # none spent the budget: none was refused

    post(client, office, scan(d["tracking_number"], later(d["received_at"]), station="TUPHAP"))
    expect(headline).to_have_text("Hồ sơ của bạn đang được giải quyết")
    expect(page.locator(".progress li.current")).to_have_count(1)
    assert "N*** T*** H***" in page.inner_text("main")  # the secret of the scanned URL still
    assert not_reloaded(page)
    # The page, the change and maybe a turn of the minute: the budget is not spent.
    assert requests.get(server.at(f"/lookup/{d['tracking_number']}"), timeout=10).status_code \
        == 200
    page.close()
