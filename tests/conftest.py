"""Fixtures: a fresh app per test on SQLite (a temp file) or on TEST_DATABASE_URL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings

from app import create_app
from app.db import db

DB_FIXTURES = {"app", "client", "runner", "office", "make_app"}

# CI runs every property test on the same examples (derandomize) and never replays an example
# saved by an earlier run (database=None), so a pass or a failure is a fact about the code, not
# about the seed; print_blob lets a failure be reproduced exactly with @reproduce_failure.
# Select it with HYPOTHESIS_PROFILE=ci (as .ci/test does) or --hypothesis-profile=ci.
settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Tests that touch the database carry the "db" mark, so CI can rerun just those on
    # PostgreSQL (pytest -m db with TEST_DATABASE_URL set).
    for item in items:
        if DB_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)


def database_url(tmp_path: Path) -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path}/test.db"


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Build a test app with extra config; its tables are created now and dropped after."""
    made: list[Flask] = []

    def factory(**config: Any) -> Flask:
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url(tmp_path),
                          "SECRET_KEY": "test-secret", "PUBLIC_BASE_URL": "https://dvc.example.vn",
                          "RATELIMIT_ENABLED": False,
                          # Tests that enable limits count hits exactly: the production
                          # sliding window counter weighs the previous window's hits a little
                          # under one each right after a window starts, so "2 per minute"
                          # let a third failed login through when a minute began between the
                          # first and the third (a flake). The moving window keeps each hit's
                          # time; both refuse before they count.
                          "RATELIMIT_STRATEGY": "moving-window",
                          # Tests pin calendar dates (the 2026 holidays), so the default
                          # window of 180 days would make them fail as time passes; tests
                          # of the window set it themselves.
                          "SCAN_MAX_AGE_DAYS": 3650} | config)
        with app.app_context():
            db.drop_all()
            db.create_all()
        made.append(app)
        return app

    yield factory
    for app in made:
        with app.app_context():
            db.session.remove()
            db.drop_all()
            db.engine.dispose()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


@dataclass
class Office:
    """A seeded office: its codes, a device token and a token per role."""

    app: Flask
    code: str
    device_token: str
    device_id: int
    tokens: dict[str, str]

    def headers(self, who: str = "device") -> dict[str, str]:
        token = self.device_token if who == "device" else self.tokens[who]
        return {"Authorization": f"Bearer {token}"}

    def intake(self, client: FlaskClient, **body: Any) -> dict[str, Any]:
        payload = {"procedure": "1.001193",
                   "applicant": {"name": "Nguyễn Thị Hằng", "phone": "0912345678",
                                 "id_number": "001190012345"},
                   "documents": ["Tờ khai đăng ký khai sinh"]} | body
        response = client.post("/api/v1/dossiers", json=payload, headers=self.headers("reception"))
        assert response.status_code in (200, 201), response.get_json()
        return response.get_json()  # type: ignore[no-any-return]


def scan(code: str, scanned_at: str, **extra: Any) -> dict[str, Any]:
    """One scan event as the agent sends it (add ``sent_at`` to exercise clock correction)."""
    return {"id": str(uuid.uuid4()), "code": code, "scanned_at": scanned_at} | extra


@pytest.fixture
def office(app: Flask) -> Office:
    """An office with a full set of stations, two procedures, a user per role and a device."""
    return seed_office(app)


def seed_office(app: Flask) -> Office:
    """Seed :func:`office`'s world into ``app``'s database."""
    import decimal

    from app.auth.models import Role
    from app.auth.operations import create_device, create_user, issue_token
    from app.offices.models import StationKind
    from app.offices.operations import add_station, create_office
    from app.procedures.operations import StepSpec, create_procedure

    with app.app_context():
        office = create_office("000.00.19.H12", "UBND xã Tân Phong", province="H12",
                               place="Tân Phong")
        other = create_office("000.00.20.H12", "UBND xã Bình An", province="H12")
        create_office("000.00.01.K99", "Tỉnh khác", province="K99")
        stations = {code: add_station(office, code, name, kind) for code, name, kind in [
            ("DESK", "Bộ phận một cửa", StationKind.RECEPTION),
            ("TUPHAP", "Tư pháp – Hộ tịch", StationKind.DEPARTMENT),
            ("LEADER", "Lãnh đạo ký", StationKind.LEADER),
            ("RETURN", "Trả kết quả", StationKind.RETURN),
            ("ARCHIVE", "Lưu trữ", StationKind.ARCHIVE),
        ]}
        add_station(other, "BA-DESK", "Một cửa Bình An", StationKind.RECEPTION)
        create_procedure("1.001193", "Đăng ký khai sinh", "1 working day", [
            StepSpec("Tiếp nhận", decimal.Decimal("1"), station="DESK"),
            StepSpec("Thụ lý", decimal.Decimal("5"), station="TUPHAP"),
            StepSpec("Ký", decimal.Decimal("1.5"), kind=StationKind.LEADER),
            StepSpec("Trả", decimal.Decimal("0.5"), kind=StationKind.RETURN)],
            short_name="Khai sinh")
        create_procedure("1.009972", "Cấp giấy phép xây dựng", "15 working days", [
            StepSpec("Tiếp nhận", decimal.Decimal("4"), station="DESK"),
            StepSpec("Thẩm định", decimal.Decimal("92"), station="TUPHAP"),
            StepSpec("Ký", decimal.Decimal("24"), station="LEADER"),
            StepSpec("Trả", decimal.Decimal("0"), station="RETURN")])
        tokens = {}
        for role in Role:
            user = create_user(role.value, f"Cán bộ {role.value}", role, office,
                               badge=f"B-{role.value.upper()}",
                               province_scope=role is Role.SUPERVISOR)
            tokens[role.value] = issue_token(user)
        outsider = create_user("outsider", "Cán bộ xã khác", Role.SPECIALIST, other)
        tokens["outsider"] = issue_token(outsider)
        device, device_token = create_device("Quầy 1", list(stations.values()))
        db.session.commit()
        return Office(app, office.code, device_token, device.id, tokens)


# --- real browser against a live server (the page tests) ----------------------------------------

@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium through Playwright (its own browser download cannot work here)."""
    from pages_support import CHROMIUM
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # As root (CI), Chromium runs only without its sandbox.
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def live(make_app: Callable[..., Flask]) -> Iterator[Callable[..., tuple[Any, Office]]]:
    """Start the app with extra config, seeded (every user's password: PASSWORD), served."""
    from contextlib import ExitStack

    from pages_support import serve, set_passwords

    with ExitStack() as stack:
        def start(**config: Any) -> tuple[Any, Office]:
            app = make_app(**config)
            office = seed_office(app)
            set_passwords(app)
            return stack.enter_context(serve(app)), office

        yield start
