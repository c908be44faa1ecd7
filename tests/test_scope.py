"""Scope: a scan never crosses an office boundary by itself; sends and plan steps hand a
dossier to another office; refused attempts are the owners' supervisors' to see."""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import Office, scan

from app.auth.models import Role
from app.auth.permissions import ROLE_DEFAULTS, STATION_DEFAULTS, build_table
from app.offices.models import StationKind

OTHER = "000.00.20.H12"  # another office of the same province (conftest)
PERSONAL = ("Nguyễn", "0912345678", "001190012345")


@dataclass
class Neighbour:
    """The other office of the province: a scanner at its desk and department, and staff."""

    device: str
    tokens: dict[str, str]

    def headers(self, who: str = "device") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.device if who == 'device' else self.tokens[who]}"}


@pytest.fixture
def neighbour(app, office: Office) -> Neighbour:
    from app.auth.operations import create_device, create_user, issue_token
    from app.db import db
    from app.offices.operations import add_station, get_office
    from app.procedures.operations import StepSpec, create_procedure

    with app.app_context():
        other = get_office(OTHER)
        desk = other.stations[0]
        dept = add_station(other, "BA-THUE", "Thuế – liên thông", StationKind.AGENCY)
        _, device = create_device("Bình An quầy", [desk, dept])
        tokens = {role.value: issue_token(create_user(f"ba-{role.value}", "Cán bộ Bình An",
                                                      role, other))
                  for role in (Role.RECEPTION, Role.SUPERVISOR)}
        # A procedure whose plan sends the file to the neighbour's tax desk after the
        # department, then back to the leader.
        create_procedure("2.000001", "Chuyển nhượng đất", "15 working days", [
            StepSpec("Tiếp nhận", decimal.Decimal("4"), station="DESK"),
            StepSpec("Thụ lý", decimal.Decimal("40"), station="TUPHAP"),
            StepSpec("Thuế", decimal.Decimal("40"), station="BA-THUE"),
            StepSpec("Ký", decimal.Decimal("8"), station="LEADER"),
            StepSpec("Trả", decimal.Decimal("0"), station="RETURN")])
        db.session.commit()
    return Neighbour(device, tokens)


_serial = iter(range(1, 100_000))


def received(client, office: Office, **body: Any) -> dict[str, Any]:
    return office.intake(client, code=f"S-20261116-{next(_serial):04d}",
                         received_at="2026-11-16T08:00:00+07:00", **body)


def post(client, headers: dict[str, str], *events: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.post("/api/v1/scans", json={"events": list(events)}, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["results"]  # type: ignore[no-any-return]


def outcome(results: list[dict[str, Any]]) -> list[str]:
    return [r.get("reason") or r["status"] for r in results]


def owners_view(client, office: Office, code: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/dossiers/{code}", headers=office.headers("reception"))
    assert response.status_code == 200
    return response.get_json()  # type: ignore[no-any-return]


def refused(client, headers: dict[str, str], query: str = "") -> Any:
    return client.get(f"/api/v1/refused-scans{query}", headers=headers)


# --- out of scope ---------------------------------------------------------------------------

def test_another_offices_device_is_refused_and_the_owners_see_nothing_change(
        client, office: Office, neighbour: Neighbour):
    d = received(client, office)
    before = owners_view(client, office, d["code"])
    event = scan(d["tracking_number"], "2026-11-20T09:00:00+07:00", station="BA-DESK")
    result = post(client, neighbour.headers(), event)[0]
    assert (result["status"], result["reason"]) == ("rejected", "out_of_scope")
    assert "dossier" not in result and d["code"] not in result["message"]
    after = owners_view(client, office, d["code"])
    assert after["timeline"] == before["timeline"]
    assert (after["status"], after["current_station"]) == (before["status"],
                                                           before["current_station"])


def test_refused_attempt_is_listed_once_for_the_owners_supervisors_without_personal_data(
        client, office: Office, neighbour: Neighbour):
    d = received(client, office)
    event = scan(d["tracking_number"], "2026-11-20T09:00:00+07:00", station="BA-DESK")
    for _ in range(3):  # the agent retries the same refused event
        assert outcome(post(client, neighbour.headers(), event)) == ["out_of_scope"]
    for who in ("supervisor", "admin"):
        response = refused(client, office.headers(who))
        assert response.status_code == 200
        rows = response.get_json()["refused"]
        assert [(r["event_id"], r["dossier"]["code"], r["office"]["code"], r["station"],
                 r["caller"]["kind"], r["reason"]) for r in rows] == [
            (event["id"], d["code"], OTHER, "BA-DESK", "device", "out_of_scope")]
        assert not any(p in response.get_data(as_text=True) for p in PERSONAL)
    # The neighbour's own supervisor does not own the dossier; reception is no supervisor.
    assert refused(client, neighbour.headers("supervisor")).get_json()["refused"] == []
    assert refused(client, office.headers("reception")).status_code == 403
    assert refused(client, office.headers()).status_code == 403


def test_refused_list_is_bounded_by_dates_and_paginated(client, office: Office,
                                                        neighbour: Neighbour):
    first, second = received(client, office), received(client, office)
    for d in (first, second):
        post(client, neighbour.headers(), scan(d["tracking_number"], "2026-11-20T09:00:00+07:00"))
    headers = office.headers("supervisor")
    page = refused(client, headers, "?limit=1").get_json()
    assert [r["dossier"]["code"] for r in page["refused"]] == [second["code"]]
    rest = client.get(page["next"], headers=headers).get_json()
    assert [r["dossier"]["code"] for r in rest["refused"]] == [first["code"]]
    assert refused(client, headers, "?from=2000-01-01&to=2000-01-31").get_json()[
        "refused"] == []
    bad = refused(client, headers, "?from=yesterday")
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "invalid"


def test_cli_lists_refused_scans_per_owning_office(app, client, office: Office,
                                                   neighbour: Neighbour):
    d = received(client, office)
    post(client, neighbour.headers(), scan(d["tracking_number"], "2026-11-20T09:00:00+07:00"))
    runner = app.test_cli_runner()
    mine = runner.invoke(args=["scans", "refused", "--office", office.code])
    assert mine.exit_code == 0 and d["code"] in mine.output and OTHER in mine.output
    assert not any(p in mine.output for p in PERSONAL)
    theirs = runner.invoke(args=["scans", "refused", "--office", OTHER])
    assert "no refused scans" in theirs.output
    assert runner.invoke(args=["scans", "refused", "--office", "NOPE"]).exit_code == 2


def test_device_reads_only_its_own_offices_dossiers(client, office: Office,
                                                    neighbour: Neighbour):
    d = received(client, office)
    assert client.get(f"/api/v1/dossiers/{d['code']}", headers=office.headers()).status_code \
        == 200
    theirs = client.get(f"/api/v1/dossiers/{d['code']}", headers=neighbour.headers())
    assert theirs.status_code == 404


# --- send: a handoff to another office ------------------------------------------------------

def test_a_sent_dossier_is_the_receivers_to_scan_until_they_send_it_back(
        client, office: Office, neighbour: Neighbour):
    d = received(client, office)
    code = d["tracking_number"]
    assert outcome(post(client, office.headers(), scan(
        code, "2026-11-16T09:00:00+07:00", station="TUPHAP", action="send",
        destination=OTHER))) == ["accepted"]
    arrived = post(client, neighbour.headers(), scan(code, "2026-11-16T10:00:00+07:00",
                                                     station="BA-THUE"))[0]
    assert arrived["status"] == "accepted" and "flag" not in arrived  # sent there: on plan
    read = client.get(f"/api/v1/dossiers/{d['code']}", headers=neighbour.headers("reception"))
    assert read.status_code == 200
    assert outcome(post(client, neighbour.headers(), scan(
        code, "2026-11-16T11:00:00+07:00", station="BA-THUE", action="send",
        destination="DESK"))) == ["accepted"]
    # Handed back: the neighbour can neither scan nor read it any more.
    assert outcome(post(client, neighbour.headers(), scan(
        code, "2026-11-16T12:00:00+07:00", station="BA-DESK"))) == ["out_of_scope"]
    assert client.get(f"/api/v1/dossiers/{d['code']}",
                      headers=neighbour.headers("reception")).status_code == 404
    timeline = owners_view(client, office, d["code"])["timeline"]
    assert [(r["station"]["code"], r["action"]) for r in timeline] == [
        ("DESK", "receive"), ("TUPHAP", "send"), ("BA-THUE", "transfer_in"),
        ("BA-THUE", "send")]


def test_the_owners_scanning_the_file_again_ends_the_handoff(client, office: Office,
                                                             neighbour: Neighbour):
    code = received(client, office)["tracking_number"]
    post(client, office.headers(), scan(code, "2026-11-16T09:00:00+07:00", station="TUPHAP",
                                        action="send", destination="BA-DESK"))
    post(client, office.headers(), scan(code, "2026-11-16T10:00:00+07:00", station="TUPHAP"))
    assert outcome(post(client, neighbour.headers(), scan(
        code, "2026-11-16T11:00:00+07:00", station="BA-DESK"))) == ["out_of_scope"]


def test_a_late_event_replays_to_the_same_handoff(client, office: Office,
                                                  neighbour: Neighbour):
    code = received(client, office)["tracking_number"]
    post(client, office.headers(), scan(code, "2026-11-16T10:00:00+07:00", station="TUPHAP",
                                        action="send", destination=OTHER))
    post(client, neighbour.headers(), scan(code, "2026-11-16T11:00:00+07:00"))
    # A scan made before the send reaches the server last: the dossier is replayed whole.
    late = post(client, office.headers(), scan(code, "2026-11-16T09:00:00+07:00",
                                               station="TUPHAP"))
    assert outcome(late) == ["accepted"]
    assert outcome(post(client, neighbour.headers(), scan(
        code, "2026-11-16T12:00:00+07:00"))) == ["accepted"]


@pytest.mark.parametrize(("extra", "reason"), [
    ({"action": "send"}, "malformed"),
    ({"action": "send", "destination": "NOWHERE"}, "unknown_destination"),
    ({"destination": OTHER}, "malformed"),
])
def test_send_needs_a_known_destination(client, office: Office, neighbour: Neighbour, extra,
                                        reason):
    code = received(client, office)["tracking_number"]
    event = scan(code, "2026-11-16T09:00:00+07:00", station="TUPHAP", **extra)
    assert outcome(post(client, office.headers(), event)) == [reason]


# --- a plan step at another office's station ------------------------------------------------

def test_a_plan_step_at_another_offices_station_opens_scope_for_that_step_only(
        client, office: Office, neighbour: Neighbour):
    d = received(client, office, procedure="2.000001")
    code = d["tracking_number"]

    def neighbour_scan(at: str) -> list[str]:
        return outcome(post(client, neighbour.headers(), scan(code, at, station="BA-THUE")))

    assert neighbour_scan("2026-11-16T09:00:00+07:00") == ["out_of_scope"]  # still at the desk
    post(client, office.headers(), scan(code, "2026-11-16T10:00:00+07:00", station="TUPHAP"))
    assert neighbour_scan("2026-11-17T09:00:00+07:00") == ["accepted"]  # due there next
    assert client.get(f"/api/v1/dossiers/{d['code']}",
                      headers=neighbour.headers("reception")).status_code == 200
    post(client, office.headers(), scan(code, "2026-11-18T09:00:00+07:00", station="LEADER"))
    assert neighbour_scan("2026-11-18T10:00:00+07:00") == ["out_of_scope"]  # past its step
    assert client.get(f"/api/v1/dossiers/{d['code']}",
                      headers=neighbour.headers("reception")).status_code == 404


# --- which actions a caller may post ----------------------------------------------------------

@pytest.mark.parametrize(("who", "station", "action", "expected"), [
    ("device", "DESK", "receive", "accepted"),
    ("device", "TUPHAP", "receive", "action_not_allowed"),
    ("device", "DESK", "withdrawn", "action_not_allowed"),
    ("device", "RETURN", "stopped", "action_not_allowed"),
    ("device", "RETURN", "returned", "accepted"),
    ("device", "TUPHAP", "returned", "action_not_allowed"),
    ("device", "LEADER", "result_ready", "accepted"),
    ("device", "ARCHIVE", "send", "accepted"),
    ("reception", "DESK", "withdrawn", "accepted"),
    ("leader", "LEADER", "stopped", "accepted"),
    ("specialist", "TUPHAP", "returned", "action_not_allowed"),
    ("specialist", "TUPHAP", "request_supplement", "accepted"),
    ("supervisor", "DESK", "result_ready", "action_not_allowed"),
    ("admin", "DESK", "stopped", "accepted"),
])
def test_the_action_table_decides_who_may_post_what(client, office: Office, who, station,
                                                    action, expected):
    code = received(client, office)["tracking_number"]
    extra = {"destination": OTHER} if action == "send" else {}
    event = scan(code, "2026-11-16T09:00:00+07:00", station=station, action=action, **extra)
    assert outcome(post(client, office.headers(who), event)) == [expected]
    if expected != "accepted":
        assert len(owners_view(client, office, code)["timeline"]) == 1


def test_no_device_may_post_a_withdrawal_or_a_stop_by_default():
    for actions in STATION_DEFAULTS.values():
        assert not {"withdrawn", "stopped"} & actions
    assert {"withdrawn", "stopped"} <= ROLE_DEFAULTS[Role.LEADER]


def test_action_table_rows_are_overridden_from_config():
    table = build_table({"stations": {"department": ["transfer_in", "request_supplement"]},
                         "roles": {"supervisor": []}})
    assert table.device_may(StationKind.DEPARTMENT, "request_supplement")
    assert not table.device_may(StationKind.DEPARTMENT, "result_ready")
    assert table.device_may(StationKind.RECEPTION, "receive")  # rows not given keep defaults
    assert not table.user_may(Role.SUPERVISOR, "transfer_in")


@pytest.mark.parametrize("overrides", [
    {"stations": {"kitchen": ["receive"]}},
    {"roles": {"leader": ["teleport"]}},
    {"roles": {"leader": "stopped"}},
    {"roles": ["leader"]},
])
def test_a_bad_action_table_override_stops_the_app_at_start(tmp_path, overrides):
    from app import create_app

    with pytest.raises(ValueError, match="ACTION_PERMISSIONS"):
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db",
                    "ACTION_PERMISSIONS": overrides})


# --- registering an existing code ------------------------------------------------------------

def test_an_existing_code_answers_in_scope_without_the_receipt_secret(client, office: Office):
    body = {"code": "000.00.19.H12-261120-0042", "received_at": "2026-11-20T09:15:00+07:00"}
    first = office.intake(client, **body)
    again = office.intake(client, **body)
    assert first["created"] is True and "?t=" in first["lookup_url"]
    assert again["created"] is False and "lookup_url" not in again
    assert "?t=" not in str(again)


def test_an_existing_code_outside_scope_is_refused_revealing_nothing(client, office: Office,
                                                                     neighbour: Neighbour):
    body = {"procedure": "1.001193", "applicant": {"name": "Trần Văn B"},
            "code": "000.00.19.H12-261120-0043", "received_at": "2026-11-20T09:15:00+07:00"}
    first = office.intake(client, **{k: v for k, v in body.items() if k != "applicant"})
    response = client.post("/api/v1/dossiers", json=body,
                           headers=neighbour.headers("reception"))
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "code_taken"
    text = response.get_data(as_text=True)
    assert first["tracking_number"] not in text and "Nguyễn" not in text
    # Once sent to the neighbour, the same intake answers with the dossier (no secret).
    post(client, office.headers(), scan(first["tracking_number"], "2026-11-20T10:00:00+07:00",
                                        station="TUPHAP", action="send", destination=OTHER))
    followed = client.post("/api/v1/dossiers", json=body,
                           headers=neighbour.headers("reception"))
    assert followed.status_code == 200 and "lookup_url" not in followed.get_json()
