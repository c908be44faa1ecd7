"""The counter and the scan station in a real browser (Debian's Chromium) on a live server.

Every test runs on SQLite and again on PostgreSQL (``db`` mark). What the desk does is checked
where a user would notice it: the receipt and label PDFs rasterized and their barcode decoded,
the dossier moved as the API reads it, the station's answer in its colour class.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import cv2
import pytest
from conftest import Office
from pages_support import (
    SIZES,
    LiveServer,
    describe,
    screenshot,
    serious_violations,
)
from playwright.sync_api import Browser, Page, expect
from pyzbar import pyzbar
from test_pages_browser import Start, log_in

pytestmark = [pytest.mark.filterwarnings("ignore::ResourceWarning"),
              pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")]

def read_pdf(pdf: bytes, folder: Path) -> tuple[str, set[str]]:
    """The PDF's text (pdftotext) and the Code 128 barcodes on its first page (pdftoppm at
    300 dpi, then ZBar)."""
    path = folder / "doc.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout
    subprocess.run(["pdftoppm", "-r", "300", "-gray", "-png", "-f", "1", "-l", "1", str(path),
                    str(folder / "raster")], check=True)
    image = cv2.imread(str(next(folder.glob("raster*.png"))), cv2.IMREAD_GRAYSCALE)
    codes = {s.data.decode("ascii")
             for s in pyzbar.decode(image, symbols=[pyzbar.ZBarSymbol.CODE128])}
    for png in folder.glob("raster*.png"):
        png.unlink()
    return text, codes


def fill_intake(page: Page, **fields: str) -> None:
    """Choose the birth registration by typing it without diacritics, fill the applicant."""
    page.wait_for_url("**/intake")  # loaded, htmx too
    page.fill("#procedure-q", "dang ky khai sinh")
    expect(page.locator("#procedure-results label")).to_have_count(1)
    expect(page.locator("#procedure-results")).to_contain_text("Đăng ký khai sinh")
    values = {"name": "Trần Văn Đức", "phone": "0912 345 678", "id_number": "001190012345",
              "address": "Thôn Đông, xã Tân Phong"} | fields
    for name, value in values.items():
        page.fill(f"#f-{name}", value)
    page.fill("#doc-1", "Tờ khai đăng ký khai sinh")
    page.fill("#doc-2", "Giấy chứng sinh")
    page.click("#add-document")
    page.keyboard.type("Giấy đăng ký kết hôn của cha mẹ")


def test_intake_prints_a_receipt_and_label_that_scan_back(browser: Browser, live: Start,
                                                          tmp_path: Path):
    server, office = live()
    page = browser.new_page()
    errors: list[str] = []  # a CSP refusal of a script would show here
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    log_in(page, server, "reception")
    assert page.url == server.at("/intake")  # the desk's start page
    fill_intake(page)
    page.click("text=Lưu và in phiếu tiếp nhận")
    expect(page.locator(".ok-note")).to_contain_text("Đã tiếp nhận hồ sơ")
    code = page.url.split("/intake/")[1].split("?")[0]
    d = server.app.test_client().get(f"/api/v1/dossiers/{code}",
                                     headers=office.headers("reception")).get_json()
    assert d["documents"] == ["Tờ khai đăng ký khai sinh", "Giấy chứng sinh",
                              "Giấy đăng ký kết hôn của cha mẹ"]
    assert d["applicant"]["phone"] == "0912345678"
    # The counter's station has an agent: the label went to its printer, waiting there.
    expect(page.locator(".job.pending")).to_contain_text("đang chờ máy in")

    receipt = page.request.get(server.at(page.get_attribute("#receipt-link", "href") or ""))
    assert receipt.headers["content-type"] == "application/pdf"
    text, codes = read_pdf(receipt.body(), tmp_path)
    assert codes == {d["tracking_number"]}
    assert "Trần Văn Đức" in text and "0912345678" in text
    label = page.request.get(server.at(page.get_attribute("#label-link", "href") or ""))
    _, codes = read_pdf(label.body(), tmp_path)
    assert codes == {d["tracking_number"]}
    assert errors == []
    page.close()


def test_a_bad_phone_is_refused_with_a_message_and_nothing_typed_is_lost(browser: Browser,
                                                                         live: Start):
    server, _ = live()
    page = browser.new_page()
    log_in(page, server, "reception")
    fill_intake(page, phone="0912 34", id_number="12345")
    page.click("text=Lưu và in phiếu tiếp nhận")
    expect(page.locator("#e-phone")).to_have_text(
        "Nhập số điện thoại Việt Nam, ví dụ 0912 345 678 hoặc 024 3825 1234.")
    expect(page.locator("#e-id_number")).to_have_text(
        "Số định danh gồm 9 chữ số (CMND) hoặc 12 chữ số (CCCD).")
    expect(page.locator("#f-phone")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-name")).to_have_value("Trần Văn Đức")
    expect(page.locator("#procedure-results input:checked")).to_have_value("1.001193")
    expect(page.locator("input[name=documents]").nth(2)).to_have_value(
        "Giấy đăng ký kết hôn của cha mẹ")
    page.close()


def test_a_correction_is_recorded_and_the_receipt_reprinted(browser: Browser, live: Start,
                                                            tmp_path: Path):
    server, office = live()
    d = office.intake(server.app.test_client())
    page = browser.new_page()
    log_in(page, server, "reception")
    page.goto(server.at(f"/intake/{d['code']}"))
    page.click("text=Sửa phiếu tiếp nhận")
    page.fill("#f-phone", "0987 654 321")
    page.click("#add-document")
    page.keyboard.type("Bản sao CCCD của mẹ")
    page.fill("#f-reason", "Công dân đọc nhầm số điện thoại")
    page.click("text=Lưu nội dung sửa")
    expect(page.locator(".ok-note")).to_contain_text("Đã ghi nhận việc sửa")
    history = page.locator(".corrections li")
    expect(history).to_have_count(1)
    expect(history).to_contain_text("Cán bộ reception")
    expect(history).to_contain_text("Số điện thoại, Thành phần hồ sơ đã nhận")
    expect(history).to_contain_text("Công dân đọc nhầm số điện thoại")
    receipt = page.request.get(server.at(page.get_attribute("#receipt-link", "href") or ""))
    text, codes = read_pdf(receipt.body(), tmp_path)
    assert "0987654321" in text and "0912345678" not in text
    assert codes == {d["tracking_number"]}
    page.close()


# --- the scan station -------------------------------------------------------------------------

def at_station(page: Page, server: LiveServer, user: str, station: str) -> None:
    log_in(page, server, user)
    page.goto(server.at("/station"))
    page.check(f"#s-{station}")
    page.click("text=Quét tại vị trí này")
    expect(page.locator("#scan")).to_be_focused()


def scan_in(page: Page, text: str, end: str = "Enter") -> None:
    """A keyboard-wedge scanner: the code at ~8 ms per key, then Enter (or Tab); returns
    once the page has shown the answer (every answer also goes to the stack list)."""
    rows = page.locator("#stack-list li").count()
    page.keyboard.type(text, delay=8)
    page.keyboard.press(end)
    expect(page.locator("#scan")).to_have_value("")
    expect(page.locator("#stack-list li")).to_have_count(rows + 1)


def dossier(server: LiveServer, office: Office, code: str) -> dict[str, Any]:
    return server.app.test_client().get(  # type: ignore[no-any-return]
        f"/api/v1/dossiers/{code}", headers=office.headers("admin")).get_json()


def test_a_scan_typed_at_8_ms_a_key_moves_the_dossier(browser: Browser, live: Start):
    server, office = live()
    d = office.intake(server.app.test_client())
    page = browser.new_page()
    at_station(page, server, "specialist", "TUPHAP")
    page.reload()  # the station is remembered
    expect(page.locator("h1")).to_have_text("Vị trí quét: Tư pháp – Hộ tịch")
    scan_in(page, d["tracking_number"])
    result = page.locator("#result .scan-result")
    expect(result).to_have_class("scan-result accepted")
    expect(result).to_contain_text(d["code"])
    expect(result).to_contain_text("Bộ phận một cửa")  # from
    expect(result).to_contain_text("Tư pháp – Hộ tịch")  # now here
    expect(result).to_contain_text("giờ làm việc")
    assert "Nguyễn" not in page.inner_text("main")  # nothing personal
    got = dossier(server, office, d["code"])
    assert got["current_station"]["code"] == "TUPHAP"
    assert got["timeline"][-1]["receiver"]["name"] == "Cán bộ specialist"
    expect(page.locator("#scan")).to_be_focused()
    page.close()


def test_a_badge_then_a_file_records_the_badge_holder(browser: Browser, live: Start):
    server, office = live()
    d = office.intake(server.app.test_client())
    page = browser.new_page()
    at_station(page, server, "specialist", "TUPHAP")
    scan_in(page, "$B-B-LEADER", end="Tab")
    expect(page.locator("#result .scan-result")).to_have_class("scan-result session")
    expect(page.locator("#person")).to_have_text("Cán bộ leader")
    scan_in(page, d["code"])
    expect(page.locator("#result .scan-result")).to_contain_text("Người quét: Cán bộ leader")
    assert dossier(server, office, d["code"])["timeline"][-1]["receiver"]["name"] == \
        "Cán bộ leader"
    scan_in(page, "$B-NOBODY")  # nobody's badge: refused, the session unchanged
    expect(page.locator("#result .scan-result")).to_have_class("scan-result refused")
    expect(page.locator("#person")).to_have_text("Cán bộ leader")
    page.close()


def test_an_action_card_then_a_file_gives_that_action(browser: Browser, live: Start):
    server, office = live()
    d = office.intake(server.app.test_client())
    page = browser.new_page()
    at_station(page, server, "specialist", "TUPHAP")
    scan_in(page, d["tracking_number"])
    scan_in(page, "$A-RESULT_READY")
    expect(page.locator("#next-action")).to_have_text("Có kết quả")
    scan_in(page, d["tracking_number"])
    expect(page.locator("#result .scan-result")).to_have_class("scan-result accepted")
    timeline = dossier(server, office, d["code"])["timeline"]
    assert [s["action"] for s in timeline] == ["receive", "transfer_in", "result_ready"]
    expect(page.locator("#next-action")).to_have_text("Nhận bàn giao hồ sơ")  # one shot
    page.close()


def test_a_file_of_another_office_is_refused_in_red_and_a_stack_is_listed(browser: Browser,
                                                                          live: Start):
    server, office = live()
    client = server.app.test_client()
    mine = [office.intake(client) for _ in range(2)]
    with server.app.app_context():
        from app.auth.models import Role
        from app.auth.operations import create_user, issue_token
        from app.db import db
        from app.offices.operations import get_office

        other = create_user("ba-desk", "Cán bộ Bình An", Role.RECEPTION,
                            get_office("000.00.20.H12"))
        token = issue_token(other)
        db.session.commit()
    theirs = client.post("/api/v1/dossiers", headers={"Authorization": f"Bearer {token}"},
                         json={"procedure": "1.001193", "applicant": {"name": "Lê Thị Mai"}})
    assert theirs.status_code == 201
    page = browser.new_page()
    at_station(page, server, "specialist", "TUPHAP")
    expect(page.locator("#stack-list")).to_be_hidden()
    page.click("#stack-toggle")
    expect(page.locator("#stack-toggle")).to_have_attribute("aria-pressed", "true")
    scan_in(page, mine[0]["tracking_number"])
    expect(page.locator("#stack-list")).to_be_visible()
    scan_in(page, theirs.get_json()["tracking_number"])
    result = page.locator("#result .scan-result")
    expect(result).to_have_class("scan-result refused")
    expect(result).to_contain_text("Hồ sơ không thuộc phạm vi của đơn vị")
    assert "Lê Thị Mai" not in page.content()
    scan_in(page, mine[1]["code"].lower())
    scan_in(page, "khong-phai-ma")
    rows = page.locator("#stack-list li")
    expect(rows).to_have_count(4)
    assert [c.split()[0] for c in rows.evaluate_all("rs => rs.map(r => r.className)")] == \
        ["refused", "accepted", "refused", "accepted"]  # newest first
    page.close()


def test_a_double_submit_is_recorded_once(browser: Browser, live: Start):
    server, office = live()
    d = office.intake(server.app.test_client())
    page = browser.new_page()
    at_station(page, server, "specialist", "TUPHAP")
    form = {"code": d["tracking_number"], "id": "3f2c1e9a-0b7d-4c5e-9a1f-2d3c4b5a6e7f"}
    answers = [page.evaluate("""async (form) => {
        const body = new FormData(document.getElementById('scan-form'));
        for (const [k, v] of Object.entries(form)) body.set(k, v);
        const r = await fetch('/station/scan', {method: 'POST', body, headers: {'X-Station': '1'}});
        return await r.text();
    }""", form) for _ in range(2)]
    assert 'data-kind="accepted"' in answers[0] and 'data-kind="duplicate"' in answers[1]
    assert len(dossier(server, office, d["code"])["timeline"]) == 2
    page.close()


@pytest.mark.parametrize("size", SIZES)
def test_counter_and_station_at_every_size_have_no_serious_accessibility_violation(
        browser: Browser, live: Start, size: str):
    server, office = live()
    d = office.intake(server.app.test_client())
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height},
                                  bypass_csp=True)
    page = context.new_page()
    found: dict[str, Any] = {}

    def check(name: str) -> None:
        screenshot(page, f"{name}-{size}")
        violations = serious_violations(page)
        if violations:
            found[name] = violations

    log_in(page, server, "reception")
    page.wait_for_url("**/intake")
    page.fill("#procedure-q", "khai sinh")
    expect(page.locator("#procedure-results label")).to_have_count(1)
    check("intake-form")
    page.fill("#f-phone", "12")
    page.click("text=Lưu và in phiếu tiếp nhận")
    check("intake-errors")
    page.goto(server.at(f"/intake/{d['code']}/correct"))
    check("intake-correct")
    page.fill("#f-phone", "0987654321")
    page.click("text=Lưu nội dung sửa")
    check("intake-dossier")
    page.goto(server.at("/station"))
    check("station-choose")
    page.check("#s-TUPHAP")
    page.click("text=Quét tại vị trí này")
    page.click("#stack-toggle")
    scan_in(page, d["tracking_number"])
    check("station-accepted")
    scan_in(page, "$A-RESULT_READY")
    scan_in(page, "123456789012")
    check("station-refused")
    context.close()
    assert not found, describe(found)  # type: ignore[arg-type]
