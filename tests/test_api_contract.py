"""API-wide promises: one error shape, never a 500 from user input, an OpenAPI document."""

from __future__ import annotations

import re

import pytest
from conftest import Office


def test_create_app_testing_flag():
    from app import create_app

    assert create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"}).testing
    assert not create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).testing


def test_openapi_documents_every_api_route(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        # <reference>, <path:code>, <int:job_id> → {reference}, {code}, {job_id}
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in documented, (path, method)


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/api/v1/nowhere"),
    ("delete", "/api/v1/scans"),
    ("get", "/api/v1/dossiers/%00%01"),
    ("get", "/api/v1/lookup/" + "9" * 600),
    ("get", "/api/v1/lookup/%E2%80%8B"),
])
def test_odd_requests_get_json_errors_not_500(client, office: Office, method, path):
    response = getattr(client, method)(path, headers=office.headers("reception"))
    assert 400 <= response.status_code < 500
    error = response.get_json()["error"]
    assert error["code"] and error["message"] is not None


def test_oversize_body_is_refused_with_json(client, office: Office):
    response = client.post("/api/v1/scans", data=b"{" + b" " * (3 * 1024 * 1024) + b"}",
                           headers=office.headers(), content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "request_entity_too_large"


@pytest.mark.parametrize(("path", "who", "status"), [
    ("/api/v1/procedures", None, 401),
    ("/api/v1/procedures", "device", 403),
    ("/api/v1/procedures", "specialist", 200),
    ("/api/v1/stations", None, 401),
    ("/api/v1/dossiers/000.00.19.H12-200101-0001", None, 401),
    ("/api/v1/dossiers/000.00.19.H12-200101-0001", "device", 404),
])
def test_authorization_table(client, office: Office, path, who, status):
    headers = office.headers(who) if who else {}
    assert client.get(path, headers=headers).status_code == status


def test_procedures_list_shows_duration_and_plan(client, office: Office):
    body = client.get("/api/v1/procedures", headers=office.headers("reception")).get_json()
    birth = next(p for p in body["procedures"] if p["code"] == "1.001193")
    assert birth["legal_duration"] == "1 working day"
    assert [s["name"] for s in birth["steps"]] == ["Tiếp nhận", "Thụ lý", "Ký", "Trả"]
