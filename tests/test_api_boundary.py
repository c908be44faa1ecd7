"""The typed boundary: every odd input answered with a clear 4xx, times kept sane, pages
readable whatever was posted, and an OpenAPI document that carries the limits."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from conftest import Office, scan

from app.db import utcnow


def post_scans(client, office: Office, events: list[Any]) -> list[dict[str, Any]]:
    response = client.post("/api/v1/scans", json={"events": events}, headers=office.headers())
    assert response.status_code == 200, response.get_json()
    return response.get_json()["results"]  # type: ignore[no-any-return]


def iso(moment: dt.datetime) -> str:
    return moment.isoformat()


def intake_payload(**extra: Any) -> dict[str, Any]:
    return {"procedure": "1.001193", "applicant": {"name": "Trần Văn Bình"}} | extra


# --- bodies -----------------------------------------------------------------------------------

@pytest.mark.parametrize("body", [
    b"[" * 100_000,
    b'{"events": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    b'{"events": [' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_000 + b"]}",
])
def test_deeply_nested_body_is_a_400_not_a_recursion_error(client, office: Office, body):
    response = client.post("/api/v1/scans", data=body, headers=office.headers(),
                           content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "malformed_json"


def test_brackets_inside_strings_do_not_count_as_nesting(client, office: Office):
    d = office.intake(client)
    event = scan(d["tracking_number"], iso(utcnow()), note="[" * 400 + "{" * 100)
    assert post_scans(client, office, [event])[0]["status"] == "accepted"


@pytest.mark.parametrize("body", [
    b'{"events": [NaN]}', b'{"events": [Infinity]}', b"\xff\xfe{}", b'{"a": 1' + b"0" * 5000 + b"}",
    b"", b"null", b'"events"',
])
def test_bodies_that_are_not_a_json_object_are_a_400(client, office: Office, body):
    response = client.post("/api/v1/scans", data=body, headers=office.headers(),
                           content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "malformed_json"


# --- text -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["Nguyễn\x00Văn A", "Nguyễn\u202eVăn A", "Nguyễn\ud800 A",
                                  "Nguyễn\nVăn A", "Nguyễn\x7fA", "Nguyễn\u0085A",
                                  "Nguyễn \U0001f600", "Nguyễn " + "A" * 100])
def test_control_characters_in_a_name_are_refused_naming_the_field(client, office: Office,
                                                                   name):
    response = client.post("/api/v1/dossiers", headers=office.headers("reception"),
                           json=intake_payload(applicant={"name": name, "phone": "0912"}))
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert [d["field"] for d in error["details"]] == ["applicant.name"]
    assert "Nguyễn" not in response.get_data(as_text=True)  # the input is never echoed


def test_names_are_stored_nfc_and_trimmed(client, office: Office):
    decomposed = "  Nguye\u0302\u0303n Thi\u0323 Ha\u0306\u0300ng  "
    d = office.intake(client, applicant={"name": decomposed})
    got = client.get(f"/api/v1/dossiers/{d['code']}", headers=office.headers("reception"))
    assert got.get_json()["applicant"]["name"] == "Nguyễn Thị Hằng"


@pytest.mark.parametrize(("payload", "field"), [
    (intake_payload(note="x" * 501), "note"),
    (intake_payload(applicant={"name": "A", "address": "x" * 251}), "applicant.address"),
    (intake_payload(documents=["x"] * 61), "documents"),
    (intake_payload(documents=["x\U0001f600"]), "documents.0"),
    (intake_payload(copies=101), "copies"),
    (intake_payload(copies=True), "copies"),
    (intake_payload(procedure_version=2**70), "procedure_version"),
    (intake_payload(code="X-20261116-0001", received_at="0001-01-01T00:00:00+07:00"),
     "received_at"),
    (intake_payload(code="X-20261116-0001", received_at="9999-12-31T23:59:59-07:00"),
     "received_at"),
])
def test_out_of_bounds_intake_fields_are_a_422_naming_the_field(client, office: Office,
                                                                 payload, field):
    response = client.post("/api/v1/dossiers", json=payload, headers=office.headers("reception"))
    assert response.status_code == 422
    assert field in [d["field"] for d in response.get_json()["error"]["details"]]


# --- times ------------------------------------------------------------------------------------

def test_absurd_scan_times_are_rejected_bad_time_while_the_neighbour_is_accepted(
        client, office: Office):
    d = office.intake(client)
    number = d["tracking_number"]
    now = utcnow()
    results = post_scans(client, office, [
        scan(number, "0001-01-01T00:00:00+07:00"),
        scan(number, "9999-12-31T23:59:59-12:00"),
        scan(number, iso(now), sent_at="0001-01-01T00:00:00+00:00"),
        scan(number, "1970-01-01T00:00:00+00:00", sent_at="2199-12-31T00:00:00+00:00"),
        scan(number, iso(now + dt.timedelta(days=2))),
        scan(number, iso(now), station="TUPHAP"),
    ])
    assert [(r["status"], r.get("reason")) for r in results] == [
        ("rejected", "bad_time")] * 5 + [("accepted", None)]
    assert all(r["message"] for r in results)


def test_scans_older_than_the_configured_window_are_rejected(client, office: Office):
    office.app.config["SCAN_MAX_AGE_DAYS"] = 30
    d = office.intake(client)
    now = utcnow()
    results = post_scans(client, office, [
        scan(d["tracking_number"], iso(now - dt.timedelta(days=31))),
        scan(d["tracking_number"], iso(now - dt.timedelta(days=29)), station="TUPHAP"),
    ])
    assert [(r["status"], r.get("reason")) for r in results] == [
        ("rejected", "bad_time"), ("accepted", None)]


def test_a_device_clock_an_hour_fast_is_corrected_not_refused(client, office: Office):
    d = office.intake(client)
    fast = utcnow() + dt.timedelta(hours=1)
    results = post_scans(client, office, [
        scan(d["tracking_number"], iso(fast - dt.timedelta(seconds=30)), sent_at=iso(fast),
             station="TUPHAP")])
    assert results[0]["status"] == "accepted"


def test_a_scan_dated_before_receipt_is_kept_and_flagged(client, office: Office):
    d = office.intake(client)
    before = dt.datetime.fromisoformat(d["received_at"]) - dt.timedelta(hours=2)
    results = post_scans(client, office, [scan(d["tracking_number"], iso(before),
                                               station="TUPHAP")])
    assert (results[0]["status"], results[0].get("flag")) == ("accepted", "before_receipt")


def test_intake_received_long_ago_is_a_422(client, office: Office):
    office.app.config["SCAN_MAX_AGE_DAYS"] = 180
    long_ago = utcnow() - dt.timedelta(days=400)
    response = client.post("/api/v1/dossiers", headers=office.headers("reception"),
                           json=intake_payload(code="X-20250101-0001", received_at=iso(long_ago)))
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["field"] == "received_at"


def test_pages_stay_readable_after_extreme_inputs(client, office: Office):
    d = office.intake(client, applicant={"name": "Lê " + "Thị " * 23 + "Hoa",
                                         "address": "Ấp " * 83, "phone": "9" * 30,
                                         "email": "e" * 200},
                      documents=["Giấy " * 60] * 60, note="x\n" * 250,
                      return_method="Trả " * 25)
    number = d["tracking_number"]
    now = utcnow()
    extremes = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00",
                "1970-01-01T00:00:00Z", "2199-12-31T23:59:59Z", iso(now)]
    events = [scan(number, t) for t in extremes]
    events += [scan(number, t, sent_at=s) for t in extremes for s in extremes]
    events += [scan(number, iso(now), seq=2**63 - 1, station="TUPHAP", actor="Z" * 64,
                    note="n" * 500)]
    post_scans(client, office, events)
    reception = office.headers("reception")
    for path in [f"/api/v1/dossiers/{d['code']}", f"/api/v1/dossiers/{d['code']}/receipt.pdf",
                 f"/api/v1/dossiers/{d['code']}/control-sheet.pdf",
                 f"/api/v1/dossiers/{d['code']}/label.pdf"]:
        response = client.get(path, headers=reception)
        assert response.status_code == 200, (path, response.get_json())
    secret = d["lookup_url"].split("?t=")[1]
    assert client.get(f"/api/v1/lookup/{d['code']}?t={secret}").status_code == 200
    assert client.get(f"/lookup/{d['code']}?t={secret}").status_code == 200


def test_seq_beyond_64_bits_is_malformed_while_the_neighbour_is_accepted(client, office: Office):
    d = office.intake(client)
    now = iso(utcnow())
    results = post_scans(client, office, [scan(d["tracking_number"], now, seq=2**63),
                                          scan(d["tracking_number"], now, seq=-1),
                                          scan(d["tracking_number"], now, station="TUPHAP",
                                               seq=2**63 - 1)])
    assert [(r["status"], r.get("reason")) for r in results] == [
        ("rejected", "malformed"), ("rejected", "malformed"), ("accepted", None)]


def test_a_send_event_carries_its_destination_into_the_command():
    from app.tracking.schemas import scan_command

    cmd = scan_command(scan("000.00.19.H12-261116-0001", "2026-11-16T08:00:00+07:00",
                            destination=" 000.00.20.h12 "))
    assert getattr(cmd, "destination", None) == "000.00.20.H12"


# --- labels -----------------------------------------------------------------------------------

def test_a_20000_dpi_layout_is_a_422(client, office: Office):
    d = office.intake(client)
    grid = json.dumps({"base": "a4-65", "dpi": 20_000})
    response = client.get(f"/api/v1/dossiers/{d['code']}/label.pdf", query_string={"layout": grid},
                          headers=office.headers("reception"))
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["field"] == "dpi"
    bulk = client.post("/api/v1/labels", headers=office.headers("reception"),
                       json={"dossiers": [d["code"]], "layout": {"base": "a4-65", "dpi": 20_000}})
    assert bulk.status_code == 422
    assert bulk.get_json()["error"]["details"][0]["field"].startswith("layout")


@pytest.mark.parametrize("body", [
    {"copies": 101}, {"start_position": 501}, {"copies": 2, "many": 501},
    {"dossiers": []}, {"printer": "inkjet"}, {"with_2d": "yes"},
])
def test_label_jobs_beyond_the_bounds_are_a_422(client, office: Office, body):
    d = office.intake(client)
    payload = {"dossiers": [d["code"]] * body.pop("many", 1)} | body
    response = client.post("/api/v1/labels", json=payload, headers=office.headers("reception"))
    assert response.status_code == 422


def test_label_layout_dpi_is_bounded_in_the_library():
    import labels

    for dpi in (149, 601, 20_000):
        with pytest.raises(labels.LayoutError) as caught:
            labels.layout_from_spec({"base": "thermal-50x30", "dpi": dpi})
        assert caught.value.field == "dpi"
    assert labels.layout_from_spec({"base": "a4-65", "dpi": 600}).dpi == 600


# --- the document -----------------------------------------------------------------------------

def test_openapi_document_carries_the_limits(make_app):
    app = make_app(MAX_SCAN_BATCH=77)
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    assert schemas["ScanBatchIn"]["properties"]["events"]["maxItems"] == 77
    event = schemas["ScanEventIn"]["properties"]
    assert {"id", "code", "scanned_at", "sent_at", "station", "action", "destination",
            "actor", "seq", "note"} <= set(event)
    assert set(schemas["ScanAction"]["enum"]) >= {"receive", "transfer_in", "returned"}
    assert event["seq"]["anyOf"][0]["maximum"] == 2**63 - 1
    reasons = schemas["ScanResultOut"]["properties"]["reason"]["anyOf"][0]["enum"]
    assert {"malformed", "bad_time", "bad_check_digit", "unrecognized_code"} <= set(reasons)
    assert schemas["ApplicantIn"]["properties"]["name"]["maxLength"] == 100
    bulk = schemas["BulkLabelsIn"]["properties"]
    assert bulk["dossiers"]["maxItems"] == 1000
    assert bulk["copies"]["maximum"] == 100 and bulk["start_position"]["maximum"] == 500
    assert schemas["LayoutIn"]["properties"]["dpi"]["anyOf"][0]["maximum"] == 600
    params = {p["name"]: p["schema"] for p in
              spec["paths"]["/dossiers/{reference}/label.pdf"]["get"]["parameters"]}
    assert params["copies"]["maximum"] == 100 and params["start"]["maximum"] == 500


def test_openapi_document_is_valid_openapi_3_1(client):
    from openapi_spec_validator import validate

    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"] == "3.1.0"
    validate(spec)


def test_every_api_route_carries_a_spec_declaration(app):
    from app.boundary import route_spec

    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            assert route_spec(app.view_functions[rule.endpoint]) is not None, rule.rule
