"""Database outages answer 503, a 405 says what is allowed, and nothing personal leaks."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from agent_support import free_port, wait_for
from werkzeug.serving import make_server

from app import create_app
from app.db import db
from app.security import instance_secret, redact_secrets

APPLICANT = {"name": "Lê Văn Bí Mật", "phone": "0987654321", "id_number": "079123456789",
             "address": "12 Đường Kín, Phường Riêng"}


def _unreachable_app():
    """The tracker with its database down: nothing listens on the configured port."""
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/tracker?connect_timeout=2"
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url,
                       "SECRET_KEY": "test-secret", "RATELIMIT_ENABLED": False})


def test_database_outage_answers_503_with_retry_after_and_json(caplog):
    pytest.importorskip("psycopg")
    client = _unreachable_app().test_client()
    token = "trk_dev_" + "x" * 43
    with caplog.at_level(logging.WARNING):
        answers = [
            client.post("/api/v1/scans", headers={"Authorization": f"Bearer {token}"},
                        json={"events": [{"id": "1", "code": "x", "scanned_at": "x"}]}),
            client.get("/api/v1/stations", headers={"Authorization": f"Bearer {token}"}),
            client.get("/api/v1/lookup/000.00.19.H12-261122-0001?t=s3cret"),
        ]
    for answer in answers:
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "5"
        assert answer.get_json()["error"]["code"] == "database_unavailable"
    assert "database unavailable" in caplog.text
    assert token not in caplog.text and "s3cret" not in caplog.text
    assert "Traceback" not in caplog.text


def test_wrong_method_is_a_405_that_names_the_allowed_ones(client):
    answer = client.put("/api/v1/scans", json={})
    assert answer.status_code == 405
    assert answer.get_json()["error"]["code"] == "method_not_allowed"
    assert "POST" in answer.headers["Allow"]


def test_engine_never_echoes_parameters(app):
    with app.app_context():
        assert db.engine.hide_parameters


def test_a_failing_registration_logs_no_personal_data_token_or_secret(app, office, caplog):
    """A database error while a dossier is registered: the 500 log says where, not who."""
    client = app.test_client()
    office.intake(client, applicant=APPLICANT)
    with app.app_context(), db.engine.begin() as conn:
        # A constraint that the second registration breaks: PostgreSQL's error message then
        # quotes the phone number (DETAIL: Key (applicant_phone)=(...) already exists).
        conn.execute(sa.text(
            "CREATE UNIQUE INDEX uq_test_applicant_phone ON dossier (applicant_phone)"))
    with caplog.at_level(logging.DEBUG):
        answer = client.post("/api/v1/dossiers", headers=office.headers("reception"),
                             json={"procedure": "1.001193", "applicant": APPLICANT})
    assert answer.status_code == 500
    assert answer.get_json()["error"]["code"] == "internal_error"
    assert "IntegrityError" in caplog.text and "INSERT INTO dossier" in caplog.text
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):  # the constraint, by name
        assert "constraint uq_test_applicant_phone" in caplog.text
    for secret in [*APPLICANT.values(), office.tokens["reception"], "Bí Mật"]:
        assert secret not in caplog.text


def test_lookup_secret_is_redacted_from_the_development_server_access_log(app, office, caplog):
    code = office.intake(app.test_client())["code"]
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            url = f"http://127.0.0.1:{server.server_port}/lookup/{code}?t=s3cretvalue&x=1"
            assert requests.get(url, timeout=30).status_code in (200, 404)
    finally:
        server.shutdown()
        thread.join(10)
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert any(f"/lookup/{code}?t=[redacted]&x=1" in line for line in lines), lines
    assert "s3cretvalue" not in caplog.text


def test_lookup_secret_is_redacted_from_the_gunicorn_access_log(tmp_path: Path):
    gunicorn = Path(sys.executable).parent / "gunicorn"
    if not gunicorn.exists():
        pytest.skip("gunicorn is not installed")
    port = free_port()
    log = tmp_path / "access.log"
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path}/t.db",
               FLASK_SECRET_KEY='"test-secret"')
    process = subprocess.Popen(
        [str(gunicorn), "-w", "1", "-b", f"127.0.0.1:{port}", "--access-logfile", str(log),
         "app:create_app()"], env=env, cwd=Path(__file__).parents[1],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def served() -> bool:
            try:
                return requests.get(f"http://127.0.0.1:{port}/health?t=s3cretvalue",
                                    timeout=10).ok
            except requests.RequestException:  # not up yet, or slow on a busy machine
                return False

        wait_for(served, timeout=60, interval=0.2)
        wait_for(lambda: log.exists() and "/health" in log.read_text(), timeout=30)
    finally:
        process.terminate()
        process.wait(timeout=30)
    text = log.read_text()
    assert "t=[redacted]" in text and "s3cretvalue" not in text


def test_redaction_covers_encoded_and_repeated_secrets():
    assert redact_secrets("GET /lookup/A?t=abc HTTP/1.1") == "GET /lookup/A?t=[redacted] HTTP/1.1"
    assert redact_secrets("/lookup/A?x=1&t=abc&T=def") == \
        "/lookup/A?x=1&t=[redacted]&T=[redacted]"
    assert "abc" not in redact_secrets("ref https%3A%2F%2Fx%2Flookup%2FA%3Ft%3Dabc")
    assert redact_secrets("/lookup/A?at=1&tt=2") == "/lookup/A?at=1&tt=2"


def test_lookup_page_and_api_send_the_security_headers(app, office):
    client = app.test_client()
    code = office.intake(client)["code"]
    page = client.get(f"/lookup/{code}")
    api = client.get(f"/api/v1/lookup/{code}")
    for answer in (page, api, client.get("/lookup"), client.get("/health")):
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        csp = answer.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
    html = page.get_data(as_text=True)
    assert "<script>" not in html and " style=" not in html and "<style" not in html


def test_instance_secret_key_is_private_and_one_under_a_race(tmp_path: Path):
    keys: list[str] = []
    barrier = threading.Barrier(8)

    def start() -> None:
        barrier.wait()
        keys.append(instance_secret(tmp_path / "instance"))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    path = tmp_path / "instance" / "secret_key"
    assert len(keys) == 8 and len(set(keys)) == 1 and len(keys[0]) == 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["secret_key"]  # no temp left
    assert instance_secret(tmp_path / "instance") == keys[0]
