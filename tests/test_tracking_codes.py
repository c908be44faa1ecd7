"""Office code patterns, upstream codes and serial overflow, through the API and the CLI."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Office, scan

from app.tracking.codes import ScannedRef, parse_reference
from scanner_agent.codes import OFFICIAL, RECEIPT_URL, CodeRules, Recognized

APPLICANT = {"name": "Nguyễn Thị Hằng"}


def set_pattern(office: Office, pattern: str) -> Any:
    return office.app.test_cli_runner().invoke(args=["office", "code-pattern", office.code,
                                                     pattern])


def post_intake(client, office: Office, **body: Any) -> Any:
    return client.post("/api/v1/dossiers", headers=office.headers("reception"),
                       json={"procedure": "1.001193", "applicant": APPLICANT} | body)


@pytest.mark.parametrize(("pattern", "shape"), [
    ("{agency}-{yymmdd}-{serial:04d}", r"000\.00\.19\.H12-\d{6}-0001"),
    ("G09.20-{yyyymmdd}-{serial:07d}", r"G09\.20-\d{8}-0000001"),
    ("{agency}-{yyyymmdd}-{serial:07d}", r"000\.00\.19\.H12-\d{8}-0000001"),
    ("H12.22-{yymmdd}-{serial:04d}", r"H12\.22-\d{6}-0001"),
])  # fmt: skip
def test_codes_the_office_issues_are_recognized_by_the_agent_and_the_server(
    client, office: Office, pattern: str, shape: str
):
    import re

    result = set_pattern(office, pattern)
    assert result.exit_code == 0, result.output
    body = office.intake(client)
    code = body["code"]
    assert re.fullmatch(shape, code)
    agent = CodeRules()  # the agent's default: no site narrowing
    assert agent.recognize(code.lower()) == Recognized(code, OFFICIAL)
    assert agent.recognize(body["lookup_url"]) == Recognized(body["lookup_url"], RECEIPT_URL)
    assert parse_reference(code) == ScannedRef("official_code", code)
    # What the agent sends is accepted by the server's scan endpoint.
    events = [scan(agent.recognize(code).code, body["received_at"], station="TUPHAP")]  # type: ignore[union-attr]
    response = client.post("/api/v1/scans", json={"events": events}, headers=office.headers())
    assert response.get_json()["results"][0]["status"] == "accepted"


@pytest.mark.parametrize(("pattern", "message"), [
    ("{agency} {yymmdd} {serial:04d}", "scanners cannot read back"),
    ("hs-{yymmdd}-{serial:04d}", "scanners cannot read back"),
    ("{yymmdd}{serial:06d}", "scanners cannot read back"),  # would look like a tracking number
    ("{agency}-{serial:04d}", "serials restart every day"),
    ("{agency}-{yymmdd}-{serial}", "fixed, zero-padded width"),
])  # fmt: skip
def test_office_cli_refuses_a_pattern_whose_codes_could_not_be_scanned(
    runner, office: Office, pattern: str, message: str
):
    result = set_pattern(office, pattern)
    assert result.exit_code == 2 and message in result.output
    added = runner.invoke(args=["office", "add", "--code", "H12.22", "--name", "Xã A",
                                "--province", "H12", "--code-pattern", pattern])
    assert added.exit_code == 2 and message in added.output
    shown = runner.invoke(args=["office", "code-pattern", office.code])
    assert "{agency}-{yymmdd}-{serial:04d} (000.00.19.H12-YYMMDD-NNNN, at most 9999" in (
        shown.output)
    assert "H12.22" not in runner.invoke(args=["office", "list"]).output


def test_a_day_whose_serials_are_used_up_is_a_clear_error_never_a_longer_code(
    client, office: Office
):
    assert set_pattern(office, "{agency}-{yymmdd}-{serial:01d}").exit_code == 0
    codes = [office.intake(client)["code"] for _ in range(9)]
    assert [c[-2:] for c in codes] == [f"-{n}" for n in range(1, 10)]
    refused = post_intake(client, office)
    assert refused.status_code == 422
    error = refused.get_json()["error"]
    assert error["code"] == "serial_exhausted"
    assert "at most 9 codes a day" in error["message"]
    # Widening the serial lets the office go on where it stopped.
    assert set_pattern(office, "{agency}-{yymmdd}-{serial:02d}").exit_code == 0
    assert office.intake(client)["code"].endswith("-10")


@pytest.mark.parametrize("code", [
    "000.00.19.H12-261120-0042",  # the office's own shape
    "000.00.19.h12-261120-0042 ",  # the same, as typed
    "G09.20-20260609-0092637",  # the national one-door shape (default upstream pattern)
    "H12.22-261120-0001",
])  # fmt: skip
def test_upstream_codes_in_a_known_shape_are_followed(client, office: Office, code: str):
    body = office.intake(client, code=code, received_at="2026-11-20T09:15:00+07:00")
    assert body["created"] is True
    assert body["code"] == code.strip().upper()
    assert client.get(f"/api/v1/dossiers/{body['code']}",
                      headers=office.headers("reception")).status_code == 200


@pytest.mark.parametrize(("code", "expected"), [
    ("HS0001", "000.00.19.H12-YYMMDD-NNNN"),  # no known shape
    ("000.00.19.H12-2611-0042", "000.00.19.H12-YYMMDD-NNNN"),  # a 4-digit date
    ("HS 2026/0001", "not an official dossier code"),  # a slash: no URL could carry it
    ("12345678", "not an official dossier code"),  # digits only
    ("Hồ sơ 1", "not an official dossier code"),
])  # fmt: skip
def test_upstream_codes_that_could_not_be_resolved_later_are_refused(
    client, office: Office, code: str, expected: str
):
    response = post_intake(client, office, code=code, received_at="2026-11-20T09:15:00+07:00")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "bad_upstream_code"
    assert expected in error["message"]
    assert office.intake(client)["code"].endswith("-0001")  # nothing was written


def test_upstream_code_patterns_are_configurable_globally_and_per_province(
    client, office: Office
):
    when = "2026-11-20T09:15:00+07:00"
    office.app.config["UPSTREAM_CODE_PATTERNS"] = []  # only the office's own shape
    refused = post_intake(client, office, code="G09.20-20260609-0092637", received_at=when)
    assert refused.status_code == 422
    assert "expected 000.00.19.H12-YYMMDD-NNNN" in refused.get_json()["error"]["message"]
    assert office.intake(client, code="000.00.19.H12-261120-0007",
                         received_at=when)["created"] is True

    office.app.config["UPSTREAM_CODE_PATTERNS"] = {"K99": [r"HS-\d{6}"]}  # another province
    assert post_intake(client, office, code="HS-000123", received_at=when).status_code == 422
    office.app.config["UPSTREAM_CODE_PATTERNS"] = {"H12": [r"HS-\d{6}"], "*": [r"Q\d{4}"]}
    assert office.intake(client, code="hs-000123", received_at=when)["code"] == "HS-000123"
    assert office.intake(client, code="Q2026", received_at=when)["code"] == "Q2026"
    message = post_intake(client, office, code="HS-12", received_at=when).get_json()["error"][
        "message"]
    assert "000.00.19.H12-YYMMDD-NNNN or Q\\d{4} or HS-\\d{6}" in message
