"""One read model per audience: what the public, a scanner device and staff may read."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from conftest import Office, scan

APPLICANT = {"name": "Nguyễn Thị Hằng", "phone": "0912345678", "id_number": "001190012345",
             "address": "12 Lê Lợi, Tân Phong", "email": "hang@example.vn"}
PERSONAL_KEYS = {"applicant", "phone", "id_number", "address", "email", "holder",
                 "giver", "receiver", "documents", "note", "timeline"}
PERSONAL_VALUES = (*APPLICANT.values(), "Nguyễn", "Hằng", "Cán bộ", "B-SPECIALIST")
DEVICE_KEYS = {"code", "tracking_number", "procedure", "station", "status", "status_label",
               "due_at", "working_hours_left", "on_time", "on_time_label", "in_transit"}


def keys(value: Any) -> set[str]:
    """Every key of a JSON document, at any depth."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys(v)}
    return set()


def moved(client, office: Office) -> dict[str, Any]:
    """A dossier with a full applicant, handed by the reception desk to a specialist."""
    d = office.intake(client, applicant=APPLICANT, code="R-20261116-0001",
                      received_at="2026-11-16T08:00:00+07:00", note="gọi 0912345678")
    response = client.post("/api/v1/scans", headers=office.headers(), json={"events": [
        scan(d["tracking_number"], "2026-11-16T09:00:00+07:00", station="TUPHAP",
             actor="B-SPECIALIST", note="Nguyễn Thị Hằng gọi")]})
    assert response.get_json()["results"][0]["status"] == "accepted"
    return d


def test_device_token_reads_the_device_view_without_personal_data(client, office: Office):
    d = moved(client, office)
    response = client.get(f"/api/v1/dossiers/{d['code']}", headers=office.headers("device"))
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == DEVICE_KEYS
    assert not keys(body) & PERSONAL_KEYS
    text = response.get_data(as_text=True)
    for value in PERSONAL_VALUES:
        assert value not in text
    assert body["station"]["code"] == "TUPHAP"
    assert body["procedure"] == {"code": "1.001193", "name": "Đăng ký khai sinh"}
    assert body["due_at"] == "2026-11-17T08:00:00+07:00"
    assert body["status"] == "in_progress" and body["on_time"] in ("within", "late")


def test_scan_feedback_carries_the_device_view(client, office: Office):
    d = office.intake(client, applicant=APPLICANT, code="R-20261116-0002",
                      received_at="2026-11-16T08:00:00+07:00")
    response = client.post("/api/v1/scans", headers=office.headers(), json={"events": [
        scan(d["tracking_number"], "2026-11-16T09:00:00+07:00", station="TUPHAP",
             actor="B-SPECIALIST")]})
    summary = response.get_json()["results"][0]["dossier"]
    assert set(summary) == DEVICE_KEYS
    assert summary["station"]["name"] == "Tư pháp – Hộ tịch"
    assert summary["working_hours_left"] is not None
    text = response.get_data(as_text=True)
    for value in PERSONAL_VALUES:
        assert value not in text


def test_staff_in_scope_read_the_applicant_and_who_handed_over(client, office: Office):
    d = moved(client, office)
    body = client.get(f"/api/v1/dossiers/{d['code']}",
                      headers=office.headers("specialist")).get_json()
    assert body["applicant"] == APPLICANT
    assert body["holder"] == "Cán bộ specialist"
    assert [(r["giver"] and (r["giver"]["name"], r["giver"]["station"]["code"]),
             (r["receiver"]["name"], r["receiver"]["station"]["code"]))
            for r in body["timeline"]] == [
        (None, ("Cán bộ reception", "DESK")),
        (("Cán bộ reception", "DESK"), ("Cán bộ specialist", "TUPHAP"))]
    assert body["timeline"][1]["note"] == "Nguyễn Thị Hằng gọi"
    assert body["received_at"] == "2026-11-16T08:00:00+07:00"


def test_public_lookup_with_the_secret_names_nobody(client, office: Office):
    d = moved(client, office)
    parts = urlsplit(d["lookup_url"])
    response = client.get(f"/api/v1{parts.path}?{parts.query}")
    body = response.get_json()
    assert body["applicant"] == "N*** T*** H***"
    assert [row["station"]["code"] for row in body["timeline"]] == ["DESK", "TUPHAP"]
    assert not keys(body) & (PERSONAL_KEYS - {"applicant", "timeline"})
    text = response.get_data(as_text=True)
    for value in PERSONAL_VALUES:
        assert value not in text
    page = client.get(f"{parts.path}?{parts.query}").get_data(as_text=True)
    assert "Tư pháp – Hộ tịch" in page and body["timeline"][0]["verdict_label"] in page
    for value in PERSONAL_VALUES:
        assert value not in page


@pytest.mark.parametrize(("document", "who", "status"), [
    ("receipt.pdf", "device", 403),
    ("receipt.pdf", "specialist", 403),
    ("receipt.pdf", "leader", 403),
    ("receipt.pdf", "supervisor", 403),
    ("receipt.pdf", "reception", 200),
    ("receipt.pdf", "admin", 200),
    ("control-sheet.pdf", "device", 403),
    ("control-sheet.pdf", "specialist", 200),
    ("control-sheet.pdf", "reception", 200),
    ("control-sheet.pdf", "outsider", 404),
    ("barcode.svg", "device", 200),
])
def test_who_may_fetch_receipts_and_control_sheets(client, office: Office, document, who,
                                                   status):
    d = office.intake(client)
    response = client.get(f"/api/v1/dossiers/{d['code']}/{document}",
                          headers=office.headers(who))
    assert response.status_code == status
    if status != 200:
        assert response.get_json()["error"]["code"]


# Last-seen stamps are bookkeeping of the authentication, not of the request's reading.
STAMPS = {("device", "last_seen_at"), ("api_token", "last_used_at")}


def snapshot(app) -> dict[str, list[tuple[Any, ...]]]:
    from app.db import db

    with app.app_context():
        tables = {}
        for table in db.metadata.sorted_tables:
            columns = [c for c in table.columns if (table.name, c.name) not in STAMPS]
            rows = db.session.execute(sa.select(*columns).order_by(*table.primary_key.columns))
            tables[table.name] = [tuple(row) for row in rows]
        db.session.rollback()
        return tables


def test_get_requests_never_write(app, client, office: Office):
    d = moved(client, office)
    parts = urlsplit(d["lookup_url"])
    app.config["SECRET_KEY"] = "a new server key"  # a reprint can no longer derive the secret
    before = snapshot(app)
    gets = [(f"/api/v1/dossiers/{d['code']}", who) for who in ("device", "reception")] + [
        (f"/api/v1/dossiers/{d['code']}/{doc}", "reception")
        for doc in ("label.pdf", "label.zpl", "control-sheet.pdf", "barcode.svg")] + [
        ("/api/v1/stations", "device"), ("/api/v1/procedures", "reception"),
        (f"/api/v1{parts.path}?{parts.query}", None), (f"{parts.path}?{parts.query}", None)]
    for path, who in gets:
        response = client.get(path, headers=office.headers(who) if who else {})
        assert response.status_code == 200, (path, response.get_json())
    receipt = client.get(f"/api/v1/dossiers/{d['code']}/receipt.pdf",
                         headers=office.headers("reception"))
    assert receipt.status_code == 409
    assert snapshot(app) == before


def test_receipt_whose_secret_cannot_be_derived_is_reissued_by_an_explicit_post(
        app, client, office: Office):
    from test_printing_api import decoded

    d = office.intake(client)
    old = urlsplit(d["lookup_url"])
    app.config["SECRET_KEY"] = "a new server key"
    path = f"/api/v1/dossiers/{d['code']}/receipt.pdf"
    refused = client.get(path, headers=office.headers("reception"))
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    assert error["code"] == "secret_unavailable"
    assert f"/api/v1/dossiers/{d['code']}/lookup-secret" in error["message"]

    reissue = f"/api/v1/dossiers/{d['code']}/lookup-secret"
    assert client.post(reissue, headers=office.headers("specialist")).status_code == 403
    assert client.post(reissue, headers=office.headers("device")).status_code == 403
    assert client.post(reissue, headers=office.headers("outsider")).status_code == 403
    response = client.post(reissue, headers=office.headers("reception"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["lookup_url"] != d["lookup_url"]
    assert body["links"]["receipt"] == path

    reprint = client.get(path, headers=office.headers("reception"))
    assert reprint.status_code == 200
    assert body["lookup_url"] in decoded(reprint.data)
    new = urlsplit(body["lookup_url"])
    assert client.get(f"/api/v1{new.path}?{new.query}").status_code == 200
    assert client.get(f"/api/v1{old.path}?{old.query}").status_code == 404


def test_the_privacy_rule_picks_the_audience_from_the_caller(app, client, office: Office):
    from app.auth.models import Device, User
    from app.auth.tokens import Principal
    from app.db import db
    from app.tracking.operations import find_dossier_by_code
    from app.tracking.read_models import (
        DeviceDossier,
        PublicDossier,
        StaffDossier,
        read_dossier,
    )

    d = office.intake(client)
    with app.app_context():
        dossier = find_dossier_by_code(d["code"])
        device = db.session.get(Device, office.device_id)

        def user(name: str) -> User:
            return db.session.scalars(sa.select(User).where(User.username == name)).one()

        assert type(read_dossier(dossier, None)) is PublicDossier
        assert read_dossier(dossier, None).timeline is None
        assert read_dossier(dossier, None, secret="AAAAAAAAAAAAAAAA").timeline is None
        assert read_dossier(dossier, None, secret=d["lookup_url"].split("?t=")[1]).timeline
        assert type(read_dossier(dossier, Principal(device=device))) is DeviceDossier
        assert type(read_dossier(dossier, Principal(user=user("leader")))) is StaffDossier
        assert type(read_dossier(dossier, Principal(user=user("outsider")))) is PublicDossier
