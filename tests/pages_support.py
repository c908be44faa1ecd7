"""For the page tests: seeded passwords, and a live server on the test database with Debian's
Chromium for the browser tests.

The app runs in werkzeug's threaded server on a free port, in this process (same database as
the test: SQLite file or TEST_DATABASE_URL). Chromium is the system one (``/usr/bin/chromium``,
installed by ``.ci/setup``): Playwright's own browser download cannot work here.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
SIZES = {"office": (1366, 768), "kiosk": (1080, 1920), "phone": (390, 844)}
PASSWORD = "mật-khẩu-đủ-dài-2026"


@dataclass
class LiveServer:
    app: Flask
    url: str

    def at(self, path: str) -> str:
        return self.url + path


@contextmanager
def serve(app: Flask) -> Iterator[LiveServer]:
    """Serve ``app`` on 127.0.0.1 and a free port until the block ends."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(app, f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        thread.join()


def set_passwords(app: Flask, password: str = PASSWORD) -> None:
    """Give every seeded user a password, so they can log in on the pages."""
    import sqlalchemy as sa
    from werkzeug.security import generate_password_hash

    from app.auth.models import User
    from app.db import db

    with app.app_context():
        hashed = generate_password_hash(password)
        db.session.execute(sa.update(User).values(password_hash=hashed))
        db.session.commit()


def screenshot(page: Any, name: str) -> Path:
    """Save the full page as ``tests/artifacts/<name>.png`` (gitignored), to be looked at."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def serious_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical findings on the page (WCAG A/AA and best practices).

    The page's context must bypass the CSP: axe is injected as an inline script.
    """
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


def describe(violations: list[dict[str, Any]]) -> str:
    return json.dumps(violations, ensure_ascii=False, indent=1)


def later(iso: str, seconds: int = 30) -> str:
    """An instant just after ``iso``: a scan never ties with the intake it follows."""
    return (dt.datetime.fromisoformat(iso) + dt.timedelta(seconds=seconds)).isoformat()
