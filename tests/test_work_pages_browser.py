"""The work queue, the dossier page, search and the waiting-room board in Chromium, and their
live updates: in the test's server, and behind gunicorn with two workers.

Every test runs on SQLite and again on PostgreSQL (``db`` mark); screenshots go to
``tests/artifacts/work-*.png`` to be looked at.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import Office, database_url, scan, seed_office
from pages_support import describe, later, screenshot, serious_violations, set_passwords
from playwright.sync_api import Browser, Page, expect
from test_errors_and_leaks import free_port, wait_for
from test_pages_browser import Start, log_in
from test_work_pages import registered

pytestmark = [pytest.mark.filterwarnings("ignore::ResourceWarning"),
              pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")]

SIZES = {"office": (1366, 768), "phone": (390, 844), "tv": (1920, 1080)}
NAMES = ["Nguyễn Thị Hằng", "Trần Văn Bình", "Lê Thị Thu Trang", "Phạm Minh Đức",
         "Hoàng Gia Bảo", "Vũ Ngọc Ánh", "Đặng Quốc Huy", "Bùi Thị Mỹ Linh"]


def post(client: Any, office: Office, *events: dict[str, Any]) -> None:
    response = client.post("/api/v1/scans", headers=office.headers(),
                                     json={"events": list(events)})
    assert [r["status"] for r in response.get_json()["results"]] == ["accepted"] * len(events)


def busy_office(app: Any, office: Office) -> dict[str, dict[str, Any]]:
    """A morning's work: files held, late, coming, and results waiting at the desk."""
    client = app.test_client()
    ago = dt.timedelta(hours=2)
    held = registered(client, office, ago, 7001)
    late = registered(client, office, dt.timedelta(days=12), 7002,
                      applicant={"name": "Trần Văn Bình", "phone": "0987654321"})
    coming = registered(client, office, ago, 7003, procedure="1.009972",
                        applicant={"name": "Lê Thị Thu Trang"})
    post(client, office,
         scan(held["tracking_number"], later(held["received_at"], 600), station="TUPHAP",
              actor="B-SPECIALIST"),
         scan(late["tracking_number"], later(late["received_at"], 600), station="TUPHAP",
              actor="B-SPECIALIST"),
         scan(coming["tracking_number"], later(coming["received_at"], 600), station="DESK",
              action="send", destination="TUPHAP"))
    for n in range(22):
        d = registered(client, office, ago, 7100 + n,
                       applicant={"name": NAMES[n % len(NAMES)]})
        post(client, office, scan(d["tracking_number"], later(d["received_at"], 900 + n),
                                  station="LEADER", action="result_ready"))
    return {"held": held, "late": late, "coming": coming}


@pytest.mark.parametrize("size", SIZES)
def test_work_pages_at_their_sizes_have_no_serious_accessibility_violation(
        browser: Browser, live: Start, size: str):
    server, office = live()
    files = busy_office(server.app, office)
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height},
                                  bypass_csp=True)  # axe is injected as an inline script
    page = context.new_page()
    found: dict[str, Any] = {}

    def check(name: str, path: str) -> None:
        page.goto(server.at(path))
        screenshot(page, f"work-{name}-{size}")
        assert page.eval_on_selector_all(
            ".code span", "parts => parts.every(p => p.getClientRects().length === 1)"), name
        if violations := serious_violations(page):
            found[name] = violations

    check("board", f"/board/{office.code}")
    expect(page.locator(".ready-list li")).to_have_count(22)
    if size != "phone":  # longer than the TV's screen: it scrolls by itself
        page.wait_for_function("document.querySelector('.board-scroll').scrollTop > 20")
    if size != "tv":
        log_in(page, server, "specialist")
        check("queue", "/queue")
        expect(page.locator("#held + .worklist li")).to_have_count(2)
        check("dossier", f"/dossiers/{files['late']['code']}")
        expect(page.locator(".handoffs tbody tr")).to_have_count(2)
        check("search", "/dossiers?q=tran+van")
    context.close()
    assert not found, describe(found)  # type: ignore[arg-type]


def keep_marker(page: Page) -> None:
    """A mark a reload would wipe out."""
    page.evaluate("window.notReloaded = true")


def not_reloaded(page: Page) -> bool:
    return bool(page.evaluate("window.notReloaded === true"))


def test_queue_and_dossier_page_follow_a_scan_without_reload(
        browser: Browser, live: Start):
    server, office = live(LIVE_POLL_SECONDS=1)
    client = server.app.test_client()
    d = registered(client, office, dt.timedelta(hours=1), 6001)
    page = browser.new_page()
    errors: list[str] = []  # a CSP refusal of live.js would show here
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    log_in(page, server, "specialist")
    expect(page.locator("h1")).to_have_text("Hồ sơ đang giữ")
    expect(page.locator("#held + p")).to_have_text("Bạn không giữ hồ sơ nào đang xử lý.")
    keep_marker(page)
    post(client, office, scan(d["tracking_number"], later(d["received_at"]), station="TUPHAP",
                              actor="B-SPECIALIST"))
    expect(page.locator("#held + .worklist li")).to_have_count(1)
    expect(page.locator(".counts li").first).to_contain_text("1")
    assert not_reloaded(page)

    page.click(f"#held + .worklist a[href='/dossiers/{d['code']}']")
    expect(page.locator(".handoffs tbody tr")).to_have_count(2)
    keep_marker(page)
    post(client, office, scan(d["tracking_number"], later(d["received_at"], 60),
                              station="LEADER", actor="B-LEADER"))
    expect(page.locator(".handoffs tbody tr")).to_have_count(3)
    expect(page.locator(".facts")).to_contain_text("Cán bộ leader")
    assert not_reloaded(page)
    assert errors == []
    page.close()


def test_board_behind_two_gunicorn_workers_shows_a_result_without_reload(
        browser: Browser, make_app: Any, tmp_path: Path):
    gunicorn = Path(sys.executable).parent / "gunicorn"
    if not gunicorn.exists():
        pytest.skip("gunicorn is not installed")
    app = make_app()
    office = seed_office(app)
    set_passwords(app)
    d = registered(app.test_client(), office, dt.timedelta(hours=1), 6002)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, DATABASE_URL=database_url(tmp_path), FLASK_SECRET_KEY='"test-secret"',
               FLASK_LIVE_POLL_SECONDS="1", FLASK_SCAN_MAX_AGE_DAYS="3650",
               FLASK_RATELIMIT_ENABLED="false")
    process = subprocess.Popen(
        [str(gunicorn), "-w", "2", "-b", f"127.0.0.1:{port}", "app:create_app()"], env=env,
        cwd=Path(__file__).parents[1], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def served() -> bool:
            try:
                return requests.get(f"{base}/health", timeout=10).ok
            except requests.RequestException:  # not up yet, or slow on a busy machine
                return False

        wait_for(served, timeout=60, interval=0.2)
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        page.goto(f"{base}/board/{office.code}")
        expect(page.locator(".board-empty")).to_have_text("Hiện chưa có kết quả chờ trả.")
        keep_marker(page)
        response = requests.post(f"{base}/api/v1/scans", headers=office.headers(), timeout=30,
                                 json={"events": [scan(d["tracking_number"],
                                                       later(d["received_at"]),
                                                       station="LEADER", action="result_ready")]})
        assert response.json()["results"][0]["status"] == "accepted"
        expect(page.locator(".ready-list li")).to_have_count(1, timeout=20_000)
        expect(page.locator(".ready-list li")).to_contain_text("N*** T*** H***")
        assert not_reloaded(page)
        page.close()
    finally:
        process.terminate()
        process.wait(timeout=30)

