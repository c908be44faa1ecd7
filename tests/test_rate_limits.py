"""Rate limits: per token (scan events counted one by one), and one public lookup budget."""

from __future__ import annotations

import pytest
from conftest import scan
from flask import Flask

LIMITS = {"RATELIMIT_ENABLED": True, "TOKEN_RATE_LIMIT": "10 per hour",
          "TOKEN_READ_RATE_LIMIT": "3 per hour", "LOOKUP_RATE_LIMIT": "2 per hour"}


@pytest.fixture
def app(make_app) -> Flask:
    return make_app(**LIMITS)


def _events(code: str, count: int) -> list[dict]:
    return [scan(code, "2026-11-23T08:00:00+07:00") for _ in range(count)]


def _is_json_429(answer) -> bool:
    return (answer.status_code == 429 and answer.is_json
            and answer.get_json()["error"]["code"] == "too_many_requests"
            and int(answer.headers["Retry-After"]) > 0)


def test_scan_events_count_against_the_token_not_the_address(app, office):
    client = app.test_client()
    code = office.intake(client)["tracking_number"]  # one call of the reception token
    first = client.post("/api/v1/scans", json={"events": _events(code, 6)},
                        headers=office.headers())
    assert first.status_code == 200 and "Retry-After" not in first.headers
    # 6 of 10 spent: a batch of 6 more is over the limit, though it is one request.
    second = client.post("/api/v1/scans", json={"events": _events(code, 6)},
                         headers=office.headers())
    assert _is_json_429(second)
    assert client.post("/api/v1/scans", json={"events": _events(code, 4)},
                       headers=office.headers()).status_code == 200
    # Same address, another token: its own budget.
    other = client.post("/api/v1/scans", json={"events": _events(code, 6)},
                        headers=office.headers("specialist"))
    assert other.status_code == 200


def test_reads_by_a_token_are_slower_than_its_writes(app, office):
    client = app.test_client()
    for _ in range(3):
        assert client.get("/api/v1/stations", headers=office.headers()).status_code == 200
    assert _is_json_429(client.get("/api/v1/dossiers/000000000000", headers=office.headers()))
    code = office.intake(client)["tracking_number"]
    posted = client.post("/api/v1/scans", json={"events": _events(code, 1)},
                         headers=office.headers())
    assert posted.status_code == 200


def test_api_and_html_lookup_share_one_budget_per_client(app, office):
    client = app.test_client()
    code = office.intake(client)["code"]
    assert client.get(f"/api/v1/lookup/{code}").status_code == 200
    assert client.get(f"/lookup/{code}").status_code == 200
    assert _is_json_429(client.get(f"/api/v1/lookup/{code}"))
    page = client.get(f"/lookup/{code}")
    assert page.status_code == 429 and int(page.headers["Retry-After"]) > 0
    other = app.test_client()
    answer = other.get(f"/lookup/{code}", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert answer.status_code == 200



def _redis_reachable() -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _redis_reachable(), reason="no Redis on 127.0.0.1:6379")
def test_a_shared_redis_store_holds_one_budget_for_every_worker(make_app):
    """Two app instances (two gunicorn workers) on one Redis store spend one budget."""
    from conftest import seed_office

    from app import create_app

    redis_limits = LIMITS | {"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379"}
    first_worker = make_app(**redis_limits)
    office = seed_office(first_worker)
    second_worker = create_app({key: first_worker.config[key] for key in (
        "TESTING", "SQLALCHEMY_DATABASE_URI", "SECRET_KEY", "PUBLIC_BASE_URL")} | redis_limits)
    one, two = first_worker.test_client(), second_worker.test_client()
    code = office.intake(one)["tracking_number"]
    assert one.post("/api/v1/scans", json={"events": _events(code, 6)},
                    headers=office.headers()).status_code == 200
    assert _is_json_429(two.post("/api/v1/scans", json={"events": _events(code, 6)},
                                 headers=office.headers()))
    assert two.post("/api/v1/scans", json={"events": _events(code, 4)},
                    headers=office.headers()).status_code == 200
    with second_worker.app_context():
        from app.db import db

        db.engine.dispose()
