"""The pages in a real browser (Debian's Chromium through Playwright) on a live server.

Every test here runs on SQLite and again on PostgreSQL (``db`` mark). Screenshots of every
page at the three screen sizes go to ``tests/artifacts/`` (gitignored) for people to look at.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import Office, scan
from pages_support import (
    PASSWORD,
    SIZES,
    LiveServer,
    describe,
    later,
    screenshot,
    serious_violations,
)
from playwright.sync_api import Browser, Page, expect

# The browser drops connections it no longer needs (a font of a page it already left) while
# werkzeug's development server streams a static file; that file is then closed by the garbage
# collector, in the server's thread: a ResourceWarning of the test server, not of the app.
pytestmark = [pytest.mark.filterwarnings("ignore::ResourceWarning"),
              pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")]

Start = Callable[..., tuple[LiveServer, Office]]
PERSONAL = ("Nguyễn", "Hằng", "0912345678", "001190012345", "N***")


def log_in(page: Page, server: LiveServer, username: str, password: str = PASSWORD) -> None:
    page.goto(server.at("/login"))
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("main button[type=submit]")


def moved_dossier(server: LiveServer, office: Office) -> dict[str, Any]:
    """A dossier received at the desk and handed on to the justice department."""
    client = server.app.test_client()
    d = office.intake(client)
    response = client.post("/api/v1/scans", headers=office.headers(), json={"events": [
        scan(d["tracking_number"], later(d["received_at"]), station="TUPHAP")]})
    assert response.get_json()["results"][0]["status"] == "accepted"
    return d


def test_login_locks_the_account_after_repeated_failures(browser: Browser, live: Start):
    server, _ = live(LOGIN_MAX_FAILURES=3, LOGIN_LOCKOUT_MINUTES=15)
    page = browser.new_page()
    page.goto(server.at("/"))
    assert page.url == server.at("/lookup")  # not logged in: the citizen lookup
    for _ in range(2):
        log_in(page, server, "reception", "wrong password")
        expect(page.locator(".alert")).to_have_text("Sai tên đăng nhập hoặc mật khẩu.")
    log_in(page, server, "reception", "wrong password")
    locked = "Nhập sai mật khẩu quá nhiều lần: tài khoản tạm khóa trong 15 phút."
    expect(page.locator(".alert")).to_have_text(locked)
    log_in(page, server, "reception")  # the right password, while locked
    expect(page.locator(".alert")).to_have_text(locked)
    assert page.url.endswith("/login")

    log_in(page, server, "supervisor")  # another account is not locked: its start page
    page.wait_for_url(server.at("/dashboard"))
    page.goto(server.at("/home"))
    expect(page.locator("h1")).to_have_text("Xin chào, Cán bộ supervisor")
    page.goto(server.at("/"))
    assert page.url == server.at("/dashboard")
    page.click("text=Đăng xuất")
    expect(page.locator("h1")).to_have_text("Đăng nhập cán bộ")
    page.goto(server.at("/home"))
    assert page.url.startswith(server.at("/login"))
    page.close()


def test_a_wrong_role_gets_the_translated_403_page(browser: Browser, live: Start):
    server, _ = live()
    page = browser.new_page()
    log_in(page, server, "specialist")
    response = page.goto(server.at("/refused-scans"))
    assert response is not None and response.status == 403
    expect(page.locator("h1")).to_have_text("Bạn không có quyền mở trang này")
    page.click("button[lang=en]")
    expect(page.locator("h1")).to_have_text("You may not open this page")

    page.click("text=Log out")  # the language outlives the login
    log_in(page, server, "supervisor")
    response = page.goto(server.at("/refused-scans"))
    assert response is not None and response.status == 200
    expect(page.locator("h1")).to_have_text("Refused scans")
    page.close()


def test_kiosk_with_a_scanned_qr_url_then_without_secret_then_reset(browser: Browser,
                                                                     live: Start):
    server, office = live(KIOSK_RESET_SECONDS=2)
    d = office.intake(server.app.test_client())
    page = browser.new_page()
    errors: list[str] = []  # a CSP refusal of a script would show here
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(server.at("/kiosk"))
    expect(page.locator("#q")).to_be_focused()  # the scanner types into the page at once
    page.keyboard.type(d["lookup_url"], delay=8)  # a scanner types at ~8 ms per key
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Hồ sơ của bạn đã được tiếp nhận")
    main = page.inner_text("main")
    assert d["code"] in main.replace("\n", "")
    assert "N*** T*** H***" in main and "Quá trình giải quyết" in main

    page.click("text=Tra cứu hồ sơ khác")
    expect(page.locator("#q")).to_be_focused()
    page.keyboard.type(d["tracking_number"], delay=8)
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Hồ sơ của bạn đã được tiếp nhận")
    html = page.content()
    assert "Tiếp nhận" in html and "Quá trình giải quyết" not in html
    assert not [word for word in PERSONAL if word in html]

    page.wait_for_url(server.at("/kiosk"), timeout=10_000)  # back to the empty form
    expect(page.locator("#q")).to_have_value("")
    expect(page.locator("#q")).to_be_focused()
    assert errors == []
    page.close()


def test_kiosk_answers_a_fist_on_the_keyboard_kindly(browser: Browser, live: Start):
    server, _ = live()
    page = browser.new_page()
    page.goto(server.at("/kiosk"))
    page.keyboard.type("asdf jklö;'ưđ[]", delay=8)
    page.keyboard.press("Enter")
    expect(page.locator(".alert")).to_contain_text("Chưa đọc được mã này")
    expect(page.locator("#again")).to_have_text("Tra cứu hồ sơ khác")
    page.close()


def test_language_switch_is_remembered_across_pages(browser: Browser, live: Start):
    server, _ = live()
    page = browser.new_page()
    page.goto(server.at("/lookup"))
    expect(page.locator("h1")).to_have_text("Tra cứu hồ sơ")
    page.click("button[lang=en]")
    expect(page.locator("h1")).to_have_text("Look up a dossier")
    assert page.url == server.at("/lookup")  # back on the page it was chosen on
    page.goto(server.at("/kiosk"))
    expect(page.locator("h1")).to_have_text("Look up your dossier")
    assert page.get_attribute("html", "lang") == "en"
    page.click("button[lang=vi]")
    expect(page.locator("h1")).to_have_text("Tra cứu hồ sơ của bạn")
    page.close()


def test_404_page_in_vietnamese_and_english(browser: Browser, live: Start):
    server, _ = live()
    page = browser.new_page()
    response = page.goto(server.at("/khong-co-trang-nay"))
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_have_text("Không tìm thấy trang")
    page.click("button[lang=en]")
    expect(page.locator("h1")).to_have_text("Page not found")
    page.close()


def test_rate_limited_lookup_gets_a_vietnamese_page(browser: Browser, live: Start):
    server, office = live(RATELIMIT_ENABLED=True, LOOKUP_RATE_LIMIT="2 per minute")
    d = office.intake(server.app.test_client())
    page = browser.new_page()
    for _ in range(2):
        assert page.goto(server.at(f"/kiosk/lookup?q={d['tracking_number']}")).status == 200
    response = page.goto(server.at(f"/kiosk/lookup?q={d['tracking_number']}"))
    assert response is not None and response.status == 429
    expect(page.locator("h1")).to_have_text("Bạn đã thao tác quá nhiều lần")
    expect(page.locator("main")).to_contain_text("Bạn có thể thử lại sau")
    page.close()


@pytest.mark.parametrize("size", SIZES)
def test_every_page_at_its_sizes_has_no_serious_accessibility_violation(
        browser: Browser, live: Start, size: str):
    """axe-core (WCAG A/AA, contrast included) on each page; screenshots to tests/artifacts."""
    server, office = live()
    d = moved_dossier(server, office)
    width, height = SIZES[size]
    # axe is injected as an inline script, which the pages' CSP refuses.
    context = browser.new_context(viewport={"width": width, "height": height},
                                  bypass_csp=True)
    page = context.new_page()
    found: dict[str, Any] = {}

    def check(name: str, path: str | None = None) -> None:
        if path is not None:
            page.goto(server.at(path))
        screenshot(page, f"{name}-{size}")
        # A dossier code may wrap after a dash, never inside one of its parts.
        assert page.eval_on_selector_all(
            ".code span", "parts => parts.every(p => p.getClientRects().length === 1)"), name
        violations = serious_violations(page)
        if violations:
            found[name] = violations

    check("lookup-form", "/lookup")
    check("lookup-dossier-with-secret", d["lookup_url"].removeprefix("https://dvc.example.vn"))
    check("lookup-dossier-without-secret", f"/lookup/{d['code']}")
    check("kiosk-form", "/kiosk")
    check("kiosk-dossier", f"/kiosk/lookup?q={d['tracking_number']}")
    check("kiosk-unreadable", "/kiosk/lookup?q=%3B%3Basdf")
    check("not-found", "/khong-co")
    check("login", "/login")
    log_in(page, server, "specialist")
    check("home", "/home")
    check("forbidden", "/refused-scans")
    page.click("text=Đăng xuất")
    log_in(page, server, "supervisor")
    check("refused-scans", "/refused-scans")
    context.close()
    assert not found, describe(found)  # type: ignore[arg-type]
