"""The /admin pages in a real browser (Debian's Chromium) on a live server, SQLite and PostgreSQL.

Admin is a desk task: every page is checked at the office PC's size and must not break on a
phone; screenshots go to ``tests/artifacts/admin-*.png``.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from pages_support import SIZES, LiveServer, describe, screenshot, serious_violations
from playwright.sync_api import Browser, Page, expect
from test_pages_browser import Start, log_in

from app.auth.models import User
from app.db import db

pytestmark = [pytest.mark.filterwarnings("ignore::ResourceWarning"),
              pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")]


def _admin_page(browser: Browser, server: LiveServer, size: str = "office") -> Page:
    width, height = SIZES[size]
    # axe is injected as an inline script, which the pages' CSP refuses.
    context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True)
    page = context.new_page()
    log_in(page, server, "admin")
    return page


def _province_wide(server: LiveServer) -> None:
    with server.app.app_context():
        db.session.execute(sa.update(User).where(User.username == "admin")
                           .values(province_scope=True))
        db.session.commit()


def _accessible(page: Page) -> None:
    violations = serious_violations(page)
    assert not violations, describe(violations)


def test_a_new_device_token_is_shown_once_and_gone_on_reload(browser: Browser,
                                                             live: Start):
    server, _ = live()
    page = _admin_page(browser, server)
    assert page.url == server.at("/admin/")
    page.click("nav.admin-nav >> text=Máy quét")
    page.fill("#name", "Quầy 2 PC")
    page.check("input[value=DESK]")
    page.check("input[value=RETURN]")
    page.get_by_role("button", name="Đăng ký máy").click()
    expect(page.locator("#new-token")).to_contain_text("trk_dev_")
    expect(page.locator(".token-once")).to_contain_text("chỉ hiện một lần")
    expect(page.locator("table")).to_contain_text("DESK, RETURN")
    screenshot(page, "admin-device-token-office")
    _accessible(page)
    page.reload()
    expect(page.locator("#new-token")).to_have_count(0)
    expect(page.locator("table")).to_contain_text("Quầy 2 PC")
    page.context.close()


def test_a_step_plan_over_its_legal_duration_shows_the_error_on_its_fields(
        browser: Browser, live: Start):
    server, _ = live()
    _province_wide(server)
    page = _admin_page(browser, server)
    page.goto(server.at("/admin/procedures"))
    page.click("text=Thủ tục mới")
    page.fill("#code", "2.000001")
    page.fill("#name", "Chứng thực bản sao từ bản chính")
    page.fill("#amount", "1")
    page.select_option("#unit", "WORKING_DAYS")
    for row, (name, target, budget, unit) in enumerate([
            ("Tiếp nhận", "station:DESK", "2", "hours"),
            ("Thụ lý", "kind:DEPARTMENT", "1", "days"),
            ("Trả kết quả", "kind:RETURN", "0.5", "hours")]):
        page.fill(f"#steps-{row}-name", name)
        page.select_option(f"#steps-{row}-target", target)
        page.fill(f"#steps-{row}-budget", budget)
        page.select_option(f"#steps-{row}-unit", unit)
    page.click("text=Lưu phiên bản")
    expect(page.locator("#amount-error")).to_have_text(
        "Các bước cộng lại 10.5 giờ làm việc, vượt quá 8 giờ làm việc mà thời hạn luật định "
        "để lại.")
    expect(page.locator("#steps-1-budget")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#steps-1-budget")).to_have_value("1")  # what was typed stays
    screenshot(page, "admin-plan-error-office")
    _accessible(page)

    page.fill("#steps-1-budget", "5")
    page.select_option("#steps-1-unit", "hours")
    page.click("text=Lưu phiên bản")
    expect(page.locator(".notice")).to_have_text("Đã lưu thủ tục 2.000001, phiên bản 1.")
    expect(page.locator("main")).to_contain_text("Chứng thực bản sao từ bản chính")
    screenshot(page, "admin-procedures-office")
    page.context.close()


@pytest.mark.parametrize("size", ["office", "phone"])
def test_an_unconfirmed_year_is_flagged(browser: Browser, live: Start, size: str):
    server, _ = live()
    page = _admin_page(browser, server, size)
    page.goto(server.at("/admin/calendar?year=2027"))
    flag = page.locator(".flag.unconfirmed")
    expect(flag).to_be_visible()
    expect(flag.locator("strong")).to_have_text("2027: chưa xác nhận")
    page.fill("#day", "2027-02-13")
    page.select_option("#kind", "WORKING_DAY")
    page.fill("#note", "Làm bù dịp Tết Nguyên đán")
    page.click("text=Lưu ngày")
    expect(page.locator(".notice")).to_have_text("Đã lưu ngày 13/02/2027.")
    expect(page.locator("table")).to_contain_text("Làm bù dịp Tết Nguyên đán")
    screenshot(page, f"admin-calendar-2027-{size}")
    _accessible(page)
    page.goto(server.at("/admin/calendar?year=2026"))
    expect(page.locator(".flag.confirmed")).to_contain_text("đã được xác nhận")
    expect(page.locator("main")).to_contain_text("Công văn 12729/VPCP-KGVX")
    page.context.close()


def test_a_non_admin_gets_the_403_page(browser: Browser, live: Start):
    server, _ = live()
    page = browser.new_page()
    log_in(page, server, "supervisor")
    response = page.goto(server.at("/admin/devices"))
    assert response is not None and response.status == 403
    expect(page.locator("h1")).to_have_text("Bạn không có quyền mở trang này")
    page.close()


@pytest.mark.parametrize("size", ["office", "phone"])
def test_every_admin_page_reads_well_at_the_desk_and_on_a_phone(
        browser: Browser, live: Start, size: str):
    """axe-core on each admin page, and nothing wider than the screen; screenshots."""
    server, _ = live()
    _province_wide(server)
    cli = server.app.test_cli_runner()
    for args in (["station", "add", "--office", "000.00.19.H12", "--code", "QUAY-2", "--name",
                  "Quầy 2", "--kind", "reception"], ["device", "add", "--station", "QUAY-2"]):
        assert cli.invoke(args=args).exit_code == 0  # something in the log
    page = _admin_page(browser, server, size)
    found: dict[str, Any] = {}
    for name, path in [("index", "/admin/"), ("offices", "/admin/offices"),
                       ("office", "/admin/offices/000.00.19.H12"),
                       ("station", "/admin/stations/DESK"), ("procedures", "/admin/procedures"),
                       ("procedure-new", "/admin/procedures/new?from=1.001193"),
                       ("calendar", "/admin/calendar?year=2026"), ("users", "/admin/users"),
                       ("user", "/admin/users/reception"), ("devices", "/admin/devices"),
                       ("log", "/admin/log")]:
        response = page.goto(server.at(path))
        assert response is not None and response.status == 200, path
        screenshot(page, f"admin-{name}-{size}")
        # The page never scrolls sideways; wide tables scroll inside their own box.
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), name
        violations = serious_violations(page)
        if violations:
            found[name] = violations
    page.context.close()
    assert not found, describe(found)  # type: ignore[arg-type]
