"""Every /api/v1 endpoint × every kind of caller, in one table.

Callers: nobody, a revoked token, the office's scanner device, each role of the office, a
specialist of another office of the same province, a reception officer of another province.
A cell is the HTTP status, or for scans the per-event result (accepted, out_of_scope,
action_not_allowed). The endpoints come from Flask's url_map: a new endpoint without a row
fails :func:`test_every_api_endpoint_has_a_row`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import Office

CALLERS = ("none", "revoked", "device", "reception", "specialist", "leader", "supervisor",
           "admin", "other_office", "other_province")

ACC, OUT, NOT = "accepted", "out_of_scope", "action_not_allowed"

# (method, url rule, variant) → one cell per caller, in CALLERS order.
MATRIX: dict[tuple[str, str, str], tuple[int | str, ...]] = {
    ("POST", "/api/v1/scans", "transfer_in"):
        (401, 401, ACC, ACC, ACC, ACC, ACC, ACC, OUT, OUT),
    ("POST", "/api/v1/scans", "withdrawn"):
        (401, 401, NOT, ACC, NOT, ACC, NOT, ACC, OUT, OUT),
    ("POST", "/api/v1/dossiers", "new"):
        (401, 401, 403, 201, 403, 403, 403, 201, 403, 201),
    ("POST", "/api/v1/dossiers", "existing code"):
        (401, 401, 403, 200, 403, 403, 403, 200, 403, 409),
    ("GET", "/api/v1/dossiers/<reference>", ""):
        (401, 401, 200, 200, 200, 200, 200, 200, 404, 404),
    # A label carries nothing personal: the counter's agent fetches it to print.
    ("GET", "/api/v1/dossiers/<reference>/label.pdf", ""):
        (401, 401, 200, 200, 200, 200, 200, 200, 404, 404),
    ("GET", "/api/v1/dossiers/<reference>/label.zpl", ""):
        (401, 401, 200, 200, 200, 200, 200, 200, 404, 404),
    # Sending a label to the counter's printer: whoever may register dossiers there.
    ("POST", "/api/v1/dossiers/<reference>/print-jobs", ""):
        (401, 401, 403, 201, 403, 403, 403, 201, 403, 404),
    ("GET", "/api/v1/dossiers/<reference>/print-jobs", ""):
        (401, 401, 403, 200, 403, 403, 403, 200, 403, 404),
    ("GET", "/api/v1/devices/me/print-jobs", ""):
        (401, 401, 200, 403, 403, 403, 403, 403, 403, 403),
    ("POST", "/api/v1/devices/me/print-jobs/<int:job_id>", ""):
        (401, 401, 200, 403, 403, 403, 403, 403, 403, 403),
    # The receipt carries the lookup secret: reprinted by reception (or admin) in scope only.
    ("GET", "/api/v1/dossiers/<reference>/receipt.pdf", ""):
        (401, 401, 403, 200, 403, 403, 403, 200, 403, 404),
    # Correcting the applicant or documents after intake: the receipt's people, in scope.
    ("PATCH", "/api/v1/dossiers/<reference>", ""):
        (401, 401, 403, 200, 403, 403, 403, 200, 403, 404),
    ("POST", "/api/v1/dossiers/<reference>/lookup-secret", ""):
        (401, 401, 403, 200, 403, 403, 403, 200, 403, 404),
    ("GET", "/api/v1/dossiers/<reference>/control-sheet.pdf", ""):
        (401, 401, 403, 200, 200, 200, 200, 200, 404, 404),
    # The desk's notices: Mẫu 02 and 03 by reception (or admin), Mẫu 04 by a leader too.
    ("POST", "/api/v1/dossiers/<reference>/supplement-request", ""):
        (401, 401, 403, 201, 403, 403, 403, 201, 403, 404),
    ("POST", "/api/v1/dossiers/<reference>/refusal", ""):
        (401, 401, 403, 201, 403, 403, 403, 201, 403, 404),
    ("POST", "/api/v1/dossiers/<reference>/apology", ""):
        (401, 401, 403, 201, 403, 201, 403, 201, 403, 404),
    ("GET", "/api/v1/dossiers/<reference>/forms/02.pdf", ""):
        (401, 401, 403, 200, 403, 403, 403, 200, 403, 404),
    ("GET", "/api/v1/dossiers/<reference>/forms/03.pdf", ""):
        (401, 401, 403, 200, 403, 403, 403, 200, 403, 404),
    ("GET", "/api/v1/dossiers/<reference>/forms/04.pdf", ""):
        (401, 401, 403, 200, 403, 200, 403, 200, 403, 404),
    ("GET", "/api/v1/dossiers/<reference>/barcode.svg", ""):
        (401, 401, 200, 200, 200, 200, 200, 200, 404, 404),
    ("POST", "/api/v1/labels", ""):
        (401, 401, 403, 200, 200, 200, 200, 200, 404, 404),
    ("GET", "/api/v1/stations", ""):
        (401, 401, 200, 200, 200, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/procedures", ""):
        (401, 401, 403, 200, 200, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/refused-scans", ""):
        (401, 401, 403, 403, 403, 403, 200, 200, 403, 403),
    # Files in transit: any staff, each seeing those of its own offices (others: an empty list).
    ("GET", "/api/v1/transits", ""):
        (401, 401, 403, 200, 200, 200, 200, 200, 200, 200),
    # Reports: supervisors and admins, each within its scope (tests/test_reports.py).
    **{("GET", f"/api/v1/reports/{name}", ""):
       (401, 401, 403, 403, 403, 403, 200, 200, 403, 403)
       for name in ("dwell", "ontime", "triage", "missed", "status", "queues")},
    # The list: staff only, each sees its scope (another office's staff an empty page).
    ("GET", "/api/v1/dossiers", ""):
        (401, 401, 403, 200, 200, 200, 200, 200, 200, 200),
    # The work queue: those who hold files (each sees its own; another office's an empty one).
    ("GET", "/api/v1/queue", ""):
        (401, 401, 403, 200, 200, 200, 403, 200, 200, 200),
    # The register names applicants; the logs name staff: supervisors and admins.
    ("GET", "/api/v1/reports/register.xlsx", ""):
        (401, 401, 403, 403, 403, 403, 200, 200, 403, 403),
    ("GET", "/api/v1/reports/register.csv", ""):
        (401, 401, 403, 403, 403, 403, 200, 200, 403, 403),
    ("GET", "/api/v1/exports/log.xes", ""):
        (401, 401, 403, 403, 403, 403, 200, 200, 403, 403),
    ("GET", "/api/v1/exports/log.ocel.json", ""):
        (401, 401, 403, 403, 403, 403, 200, 200, 403, 403),
    # Public: a token, even a revoked one, changes nothing.
    ("GET", "/api/v1/lookup/<code>", ""):
        (200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/openapi.json", ""):
        (200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
}


@dataclass
class World:
    office: Office
    tokens: dict[str, str]  # caller → bearer token ("none" has none)
    counter: Any

    def headers(self, caller: str) -> dict[str, str]:
        if caller == "none":
            return {}
        return {"Authorization": f"Bearer {self.tokens[caller]}"}

    def dossier(self, client) -> dict[str, Any]:
        """A fresh dossier of the office, received upstream so its code is known."""
        return self.office.intake(client, code=f"M-20261116-{next(self.counter):04d}",
                                  received_at="2026-11-16T08:00:00+07:00")


@pytest.fixture
def world(app, office: Office) -> World:
    from app.auth.models import Role
    from app.auth.operations import create_device, create_user, issue_token, revoke_device
    from app.db import db
    from app.offices.models import StationKind
    from app.offices.operations import add_station, get_office

    with app.app_context():
        far = get_office("000.00.01.K99")
        add_station(far, "K99-DESK", "Một cửa tỉnh khác", StationKind.RECEPTION)
        stranger = issue_token(create_user("k99-reception", "Cán bộ tỉnh khác",
                                           Role.RECEPTION, far))
        own = get_office(office.code)
        device, revoked = create_device("Máy cũ", [own.stations[0]])
        revoke_device(device.id)
        db.session.commit()
    tokens = {"revoked": revoked, "device": office.device_token,
              **{role.value: office.tokens[role.value] for role in Role},
              "other_office": office.tokens["outsider"], "other_province": stranger}
    return World(office, tokens, iter(range(1, 100_000)))


def _scan(action: str) -> Callable[[Any, World, str], int | str]:
    def call(client, world: World, caller: str) -> int | str:
        d = world.dossier(client)
        event = {"id": str(uuid.uuid4()), "code": d["tracking_number"],
                 "scanned_at": "2026-11-16T09:00:00+07:00", "action": action}
        response = client.post("/api/v1/scans", json={"events": [event]},
                               headers=world.headers(caller))
        if response.status_code != 200:
            return response.status_code
        result = response.get_json()["results"][0]
        return result.get("reason") or result["status"]  # type: ignore[no-any-return]

    return call


def _intake(existing: bool) -> Callable[[Any, World, str], int | str]:
    def call(client, world: World, caller: str) -> int | str:
        body: dict[str, Any] = {"procedure": "1.001193", "applicant": {"name": "Lê Thị C"}}
        if existing:
            d = world.dossier(client)
            body |= {"code": d["code"], "received_at": "2026-11-16T08:00:00+07:00"}
        response = client.post("/api/v1/dossiers", json=body, headers=world.headers(caller))
        if response.status_code in (200, 201):
            # Never the receipt secret of a dossier that already existed.
            assert ("lookup_url" in response.get_json()) == (response.status_code == 201)
        return response.status_code

    return call


def _get(path: str) -> Callable[[Any, World, str], int | str]:
    def call(client, world: World, caller: str) -> int | str:
        d = world.dossier(client)
        url = path.replace("<reference>", d["code"]).replace("<code>", d["code"])
        return client.get(url, headers=world.headers(caller)).status_code  # type: ignore[no-any-return]

    return call


def _post(path: str) -> Callable[[Any, World, str], int | str]:
    def call(client, world: World, caller: str) -> int | str:
        d = world.dossier(client)
        url = path.replace("<reference>", d["code"])
        return client.post(url, headers=world.headers(caller)).status_code  # type: ignore[no-any-return]

    return call


NOTICES: dict[str, dict[str, Any]] = {
    "supplement-request": {"items": [{"name": "Giấy chứng sinh"}], "reason": "Thiếu"},
    "refusal": {"reason": "Không thuộc thẩm quyền"},
    "apology": {"reason": "Chờ xác minh", "new_due_at": "2030-01-07T16:00:00+07:00"},
}
FORM_OF = {"02": "supplement-request", "03": "refusal", "04": "apology"}


def _notice(kind: str) -> Callable[[Any, World, str], int | str]:
    def call(client, world: World, caller: str) -> int | str:
        d = world.dossier(client)
        return client.post(f"/api/v1/dossiers/{d['code']}/{kind}",  # type: ignore[no-any-return]
                           json=NOTICES[kind], headers=world.headers(caller)).status_code

    return call


def _form(number: str) -> Callable[[Any, World, str], int | str]:
    """Reprint a notice that reception (a leader for Mẫu 04) issued."""
    def call(client, world: World, caller: str) -> int | str:
        d = world.dossier(client)
        kind = FORM_OF[number]
        issued = client.post(f"/api/v1/dossiers/{d['code']}/{kind}", json=NOTICES[kind],
                             headers=world.headers("leader" if number == "04" else "reception"))
        assert issued.status_code == 201, issued.get_json()
        return client.get(f"/api/v1/dossiers/{d['code']}/forms/{number}.pdf",  # type: ignore[no-any-return]
                          headers=world.headers(caller)).status_code

    return call


def _labels(client, world: World, caller: str) -> int | str:
    d = world.dossier(client)
    return client.post("/api/v1/labels", json={"dossiers": [d["code"]]},  # type: ignore[no-any-return]
                       headers=world.headers(caller)).status_code


def _print_job(client, world: World, caller: str) -> int | str:
    d = world.dossier(client)
    return client.post(f"/api/v1/dossiers/{d['code']}/print-jobs",  # type: ignore[no-any-return]
                       json={"device": world.office.device_id},
                       headers=world.headers(caller)).status_code


def _finish_print_job(client, world: World, caller: str) -> int | str:
    d = world.dossier(client)
    job = client.post(f"/api/v1/dossiers/{d['code']}/print-jobs",
                      json={"device": world.office.device_id}, headers=world.headers("reception"))
    assert job.status_code == 201, job.get_json()
    return client.post(f"/api/v1/devices/me/print-jobs/{job.get_json()['id']}",  # type: ignore[no-any-return]
                       json={"status": "printed"}, headers=world.headers(caller)).status_code


def _correct(client, world: World, caller: str) -> int | str:
    d = world.dossier(client)
    return client.patch(f"/api/v1/dossiers/{d['code']}",  # type: ignore[no-any-return]
                        json={"applicant": {"phone": "0987654321"}},
                        headers=world.headers(caller)).status_code


def _request(key: tuple[str, str, str]) -> Callable[[Any, World, str], int | str]:
    method, rule, variant = key
    if method == "PATCH":
        return _correct
    if rule == "/api/v1/dossiers/<reference>/print-jobs" and method == "POST":
        return _print_job
    if rule == "/api/v1/devices/me/print-jobs/<int:job_id>":
        return _finish_print_job
    if rule == "/api/v1/scans":
        return _scan(variant)
    if rule == "/api/v1/dossiers" and method == "POST":
        return _intake(variant == "existing code")
    if rule.startswith(("/api/v1/reports/", "/api/v1/exports/")):
        return _get(f"{rule}?from=2026-11-01&to=2026-11-30")
    if rule == "/api/v1/labels":
        return _labels
    if rule.rsplit("/", 1)[-1] in NOTICES:
        return _notice(rule.rsplit("/", 1)[-1])
    if "/forms/" in rule:
        return _form(rule.rsplit("/", 1)[-1].removesuffix(".pdf"))
    if method == "POST":
        return _post(rule)
    assert method == "GET", key
    return _get(rule)


def test_every_api_endpoint_has_a_row(app):
    routes = {(method, rule.rule) for rule in app.url_map.iter_rules()
              if rule.rule.startswith("/api/v1")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes == {(method, rule) for method, rule, _ in MATRIX}


def test_authorization_matrix(client, world: World):
    actual = {key: tuple(_request(key)(client, world, caller) for caller in CALLERS)
              for key in MATRIX}
    # Compare row by row, so a failure names the endpoint and shows both rows.
    for key, expected in MATRIX.items():
        assert dict(zip(CALLERS, actual[key], strict=True)) == \
            dict(zip(CALLERS, expected, strict=True)), key


def test_a_device_scanning_another_offices_dossier_changes_nothing_for_them(
        app, client, world: World):
    """Office A's scanner meets office B's file: refused, B's timeline unchanged, and B's
    supervisor sees the attempt."""
    from app.auth.models import Role
    from app.auth.operations import create_device, create_user, issue_token
    from app.db import db
    from app.offices.operations import get_office

    with app.app_context():
        b = get_office("000.00.20.H12")
        _, device_b = create_device("Bình An quầy", [b.stations[0]])
        b_reception = issue_token(create_user("ba-letan", "Cán bộ B", Role.RECEPTION, b))
        b_supervisor = issue_token(create_user("ba-giamsat", "Giám sát B", Role.SUPERVISOR, b))
        db.session.commit()
    as_b = {"Authorization": f"Bearer {b_reception}"}
    created = client.post("/api/v1/dossiers", json={
        "procedure": "1.001193", "applicant": {"name": "Phan Văn D"}}, headers=as_b)
    d = created.get_json()
    before = client.get(f"/api/v1/dossiers/{d['code']}", headers=as_b).get_json()
    event = {"id": str(uuid.uuid4()), "code": d["tracking_number"],
             "scanned_at": "2026-11-16T09:00:00+07:00"}
    result = client.post("/api/v1/scans", json={"events": [event]},
                         headers=world.headers("device")).get_json()["results"][0]
    assert result["reason"] == "out_of_scope"
    after = client.get(f"/api/v1/dossiers/{d['code']}", headers=as_b).get_json()
    assert after == before
    seen = client.get("/api/v1/refused-scans",
                      headers={"Authorization": f"Bearer {b_supervisor}"}).get_json()
    assert [(r["event_id"], r["office"]["code"]) for r in seen["refused"]] == [
        (event["id"], world.office.code)]
    assert "Phan" not in str(seen)
    # A sends one of its own dossiers to B: B can scan it until B sends it back.
    mine = world.dossier(client)["tracking_number"]
    minutes = iter(range(10, 60))

    def scan_as(headers: dict[str, str], **extra: Any) -> str:
        at = f"2026-11-16T10:{next(minutes):02d}:00+07:00"  # each scan after the last
        body = {"events": [{"id": str(uuid.uuid4()), "code": mine, "scanned_at": at} | extra]}
        r = client.post("/api/v1/scans", json=body, headers=headers).get_json()["results"][0]
        return r.get("reason") or r["status"]  # type: ignore[no-any-return]

    b_device = {"Authorization": f"Bearer {device_b}"}
    assert scan_as(b_device) == "out_of_scope"
    assert scan_as(world.headers("device"), action="send", destination="000.00.20.H12") == ACC
    assert scan_as(b_device) == ACC
    assert scan_as(b_device, action="send", destination=world.office.code) == ACC
    assert scan_as(b_device) == "out_of_scope"
