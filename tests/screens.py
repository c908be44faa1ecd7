"""The README's three screenshots (docs/screens/*.png): the scan station and the dashboard on
the office PC, the citizen's page on a phone, over a busy morning's seeded data.

Run from the repository root (Chromium at /usr/bin/chromium, as the browser tests):

    PYTHONPATH=$PWD:tests python tests/screens.py

The app runs on a throwaway SQLite file; each PNG is reduced to 256 colours (≤ 200 KB).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from conftest import scan, seed_office
from pages_support import CHROMIUM, PASSWORD, SIZES, later, serve, set_passwords
from PIL import Image
from playwright.sync_api import Page, sync_playwright
from test_work_pages_browser import busy_office, post

from app import create_app
from app.db import db

OUT = Path(__file__).resolve().parents[1] / "docs" / "screens"
MAX_BYTES = 200_000


def save(page: Page, name: str) -> Path:
    """The visible screen as an optimised palette PNG."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.png"
    page.screenshot(path=str(path))
    Image.open(path).convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT).save(
        path, optimize=True)
    assert path.stat().st_size <= MAX_BYTES, (path, path.stat().st_size)
    return path


def log_in(page: Page, url: str, username: str) -> None:
    page.goto(url + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/screens.db",
                          "SECRET_KEY": "screens", "PUBLIC_BASE_URL": "https://dvc.example.vn",
                          "RATELIMIT_ENABLED": False, "SCAN_MAX_AGE_DAYS": 3650})
        with app.app_context():
            db.create_all()
        office = seed_office(app)
        set_passwords(app)
        files = busy_office(app, office)
        client = app.test_client()
        d = office.intake(client)
        with serve(app) as server, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            width, height = SIZES["office"]
            page = browser.new_page(viewport={"width": width, "height": height}, locale="vi-VN")
            log_in(page, server.url, "specialist")
            page.goto(server.at("/station"))
            page.check("#s-TUPHAP")
            page.click("text=Quét tại vị trí này")
            page.wait_for_function("document.activeElement.id === 'scan'")
            page.keyboard.type(files["coming"]["tracking_number"], delay=8)
            page.keyboard.press("Enter")
            page.wait_for_selector("#result .scan-result:not(.idle)")
            print(save(page, "station"))
            page.context.clear_cookies()

            log_in(page, server.url, "supervisor")
            page.wait_for_function("() => [...document.querySelectorAll('canvas[data-chart]')]"
                                   ".every(c => Chart.getChart(c))")
            page.set_viewport_size({"width": width, "height": 1100})
            print(save(page, "dashboard"))

            post(client, office, scan(d["tracking_number"], later(d["received_at"]),
                                      station="TUPHAP"))
            width, height = SIZES["phone"]
            phone = browser.new_page(viewport={"width": width, "height": height},
                                     device_scale_factor=2, locale="vi-VN")
            phone.goto(d["lookup_url"].replace("https://dvc.example.vn", server.url))
            phone.wait_for_selector("h1")
            print(save(phone, "phone"))
            browser.close()


if __name__ == "__main__":
    main()
