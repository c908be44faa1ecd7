"""Who handed the file to whom, and files in transit (issue 9, point 3).

Times are on the default office hours (07:00–11:30, 13:30–17:00, Monday to Friday) in November
2026, whose weekdays are all working days. Procedure 1.001193: desk 1 h, Thụ lý (TUPHAP) 5 h,
Ký (a leader station) 1.5 h, Trả (a return station) 0.5 h.
"""

from __future__ import annotations

import datetime as dt
import decimal
import itertools
import uuid
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from conftest import Office, scan
from hypothesis import given, settings
from hypothesis import strategies as st

from app.offices.models import Station, StationKind
from app.procedures.operations import PlanStep
from app.tracking import state as fold
from app.tracking.models import DossierStatus, ScanAction

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
OTHER = "000.00.20.H12"  # another office of the province, with a BA-DESK station (conftest)
FAR = "000.00.01.K99"  # an office of another province
_serial = itertools.count(1)


def iso(day: int, hour: int, minute: int = 0) -> str:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=HCM).isoformat()


def received(client, office: Office, day: int = 16) -> dict[str, Any]:
    return office.intake(client, code=f"T-202611{day:02d}-{next(_serial):04d}",
                         received_at=iso(day, 8))


def post(client, headers: dict[str, str], *events: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.post("/api/v1/scans", json={"events": list(events)}, headers=headers)
    assert response.status_code == 200, response.get_json()
    results = response.get_json()["results"]
    assert [r["status"] for r in results] == ["accepted"] * len(events), results
    return results  # type: ignore[no-any-return]


def read(client, headers: dict[str, str], code: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/dossiers/{code}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def who(party: dict[str, Any] | None) -> tuple[str | None, str] | None:
    return party and (party["name"], party["station"]["code"])


@pytest.fixture
def staff_elsewhere(app, office: Office) -> dict[str, dict[str, str]]:
    """Headers of staff outside the office: the neighbour office's supervisor (its own office
    only), a supervisor of another province, and a reception clerk of the neighbour."""
    from app.auth.models import Role
    from app.auth.operations import create_user, issue_token
    from app.db import db
    from app.offices.operations import get_office

    with app.app_context():
        tokens = {name: issue_token(create_user(name, f"Cán bộ {name}", role, get_office(code)))
                  for name, role, code in [("ba-supervisor", Role.SUPERVISOR, OTHER),
                                           ("far-supervisor", Role.SUPERVISOR, FAR)]}
        db.session.commit()
    headers = {name: {"Authorization": f"Bearer {token}"} for name, token in tokens.items()}
    headers["ba-specialist"] = office.headers("outsider")
    return headers


# --- giver and receiver -------------------------------------------------------------------------

def three_handoffs(client, office: Office) -> dict[str, Any]:
    """Desk (reception) → Thụ lý (specialist) → Ký (leader) → Trả (reception), by badges."""
    d = received(client, office)
    post(client, office.headers(), *(
        scan(d["tracking_number"], at, station=station, actor=badge) for at, station, badge in [
            (iso(16, 8, 30), "TUPHAP", "B-SPECIALIST"),
            (iso(16, 10), "LEADER", "B-LEADER"),
            (iso(16, 14), "RETURN", "B-RECEPTION")]))
    return d


def test_each_handoff_names_the_previous_holder_as_giver_and_the_scanner_as_receiver(
        client, office: Office):
    d = three_handoffs(client, office)
    timeline = read(client, office.headers("supervisor"), d["code"])["timeline"]
    assert [(who(r["giver"]), who(r["receiver"])) for r in timeline] == [
        (None, ("Cán bộ reception", "DESK")),
        (("Cán bộ reception", "DESK"), ("Cán bộ specialist", "TUPHAP")),
        (("Cán bộ specialist", "TUPHAP"), ("Cán bộ leader", "LEADER")),
        (("Cán bộ leader", "LEADER"), ("Cán bộ reception", "RETURN"))]


def test_a_scan_without_a_badge_names_nobody_and_the_next_giver_is_its_station(
        client, office: Office):
    d = received(client, office)
    post(client, office.headers(), scan(d["tracking_number"], iso(16, 9), station="TUPHAP"),
         scan(d["tracking_number"], iso(16, 10), station="LEADER", actor="B-LEADER"))
    timeline = read(client, office.headers("reception"), d["code"])["timeline"]
    assert [(who(r["giver"]), who(r["receiver"])) for r in timeline[1:]] == [
        (("Cán bộ reception", "DESK"), (None, "TUPHAP")),
        ((None, "TUPHAP"), ("Cán bộ leader", "LEADER"))]


def test_the_first_giver_is_the_desk_clerk_who_received_the_dossier(app):
    """An intake scan that names nobody: the dossier's ``received_by`` gave the file on."""
    from app.auth.models import Role, User
    from app.tracking.models import Dossier, ScanEvent
    from app.tracking.queries import Party, handoff_parties

    desk = Station(id=1, office_id=1, code="DESK", name="Một cửa", kind=StationKind.RECEPTION)
    dept = Station(id=2, office_id=1, code="TUPHAP", name="Tư pháp",
                   kind=StationKind.DEPARTMENT)
    clerk = User(username="mai", full_name="Trần Thị Mai", role=Role.RECEPTION)
    intake = ScanEvent(station=desk, action=ScanAction.RECEIVE, actor=None, actor_raw="")
    arrival = ScanEvent(station=dept, action=ScanAction.TRANSFER_IN, actor=None, actor_raw="")
    dossier = Dossier(received_by=clerk)
    assert handoff_parties(dossier, None, intake) == (None, Party(desk, ""))
    assert handoff_parties(dossier, intake, arrival) == (Party(desk, "Trần Thị Mai"),
                                                         Party(dept, ""))


def test_the_control_sheet_prints_giver_and_receiver_in_each_handoff_row(
        client, office: Office):
    from test_labels import pdf_text

    d = three_handoffs(client, office)
    response = client.get(f"/api/v1/dossiers/{d['code']}/control-sheet.pdf",
                          headers=office.headers("reception"))
    assert response.status_code == 200
    text = " ".join(pdf_text(response.data).split())
    rows = [("Bộ phận một cửa – Cán bộ reception", "Tư pháp – Hộ tịch – Cán bộ specialist"),
            ("Tư pháp – Hộ tịch – Cán bộ specialist", "Lãnh đạo ký – Cán bộ leader"),
            ("Lãnh đạo ký – Cán bộ leader", "Trả kết quả – Cán bộ reception")]
    positions = []
    for giver, receiver in rows:
        # One row: its "Giao" line straight followed by its "Nhận" line.
        cell = f"1. Giao: {giver} 2. Nhận: {receiver}"
        assert cell in text
        positions.append(text.index(cell))
    assert positions == sorted(positions)


def test_the_control_sheet_shows_a_send_handed_over_then_received(client, office: Office):
    from test_labels import pdf_text

    d = received(client, office)
    code = d["tracking_number"]
    post(client, office.headers(), scan(code, iso(16, 9), station="TUPHAP", actor="B-SPECIALIST"),
         scan(code, iso(16, 11), station="TUPHAP", action="send", destination=OTHER,
              actor="B-SPECIALIST"))
    path = f"/api/v1/dossiers/{d['code']}/control-sheet.pdf"

    def sheet() -> str:
        return " ".join(pdf_text(client.get(path, headers=office.headers("reception")).data)
                        .split())

    # In transit: the row waits for the receiver's signature at the destination.
    assert ("1. Giao: Tư pháp – Hộ tịch – Cán bộ specialist 2. Nhận: UBND xã Bình An "
            "Giao: 11 giờ 00 phút, ngày 16 tháng 11 năm 2026 Người giao") in sheet()
    post(client, office.headers("outsider"), scan(code, iso(16, 14, 15), station="BA-DESK"))
    assert ("1. Giao: Tư pháp – Hộ tịch – Cán bộ specialist 2. Nhận: Một cửa Bình An – Cán bộ "
            "xã khác Giao: 11 giờ 00 phút, ngày 16 tháng 11 năm 2026 Nhận: 14 giờ 15 phút, "
            "ngày 16 tháng 11 năm 2026") in sheet()


# --- in transit ---------------------------------------------------------------------------------

def test_a_sent_file_is_in_transit_with_its_age_until_it_is_scanned_at_the_destination(
        client, office: Office, staff_elsewhere):
    d = received(client, office)
    code = d["tracking_number"]
    post(client, office.headers(), scan(code, iso(16, 9), station="TUPHAP", actor="B-SPECIALIST"),
         scan(code, iso(16, 10), station="TUPHAP", action="send", destination=OTHER,
              actor="B-SPECIALIST"))
    staff = read(client, office.headers("supervisor"), d["code"])
    transit = staff["in_transit"]
    assert transit["since"] == iso(16, 10)
    assert transit["to_office"] == {"code": OTHER, "name": "UBND xã Bình An"}
    assert transit["to_station"] is None
    # Weeks ago: far past half a working day, and more calendar hours than working ones.
    assert transit["overdue"] is True
    assert transit["age_hours"] > transit["age_working_hours"] >= 4
    assert staff["holder"] == "Cán bộ specialist"
    assert staff["timeline"][-1]["interval"] == "transit"
    assert staff["timeline"][-1]["charged_hours"] == 0 and staff["timeline"][-1]["verdict"] is None
    device = read(client, office.headers(), d["code"])
    assert device["in_transit"] == transit  # the device view names nobody
    # The citizen, with the receipt secret, sees the file on its way, and nobody's name.
    parts = urlsplit(d["lookup_url"])
    public = client.get(f"/api/v1{parts.path}?{parts.query}").get_json()
    assert public["timeline"][-1]["interval_label"] == "Đang chuyển"
    page = client.get(f"{parts.path}?{parts.query}").get_data(as_text=True)
    assert "Đang chuyển" in page and "Cán bộ" not in page

    listed = client.get("/api/v1/transits?overdue=true", headers=office.headers("supervisor"))
    assert listed.status_code == 200
    body = listed.get_json()
    assert body["total"] == 1 and body["alert_hours"] == 4
    row = body["transits"][0]
    assert (row["code"], row["from_office"]["code"], row["from_station"]["code"], row["sender"],
            row["to_office"]["code"], row["since"], row["overdue"]) == (
        d["code"], office.code, "TUPHAP", "Cán bộ specialist", OTHER, iso(16, 10), True)
    assert row["age_working_hours"] == transit["age_working_hours"]

    # The neighbour's clerk scans it in: received, no longer in transit.
    post(client, staff_elsewhere["ba-specialist"], scan(code, iso(16, 14), station="BA-DESK"))
    staff = read(client, office.headers("supervisor"), d["code"])
    assert staff["in_transit"] is None
    assert staff["timeline"][-2]["interval"] == "transit"
    assert staff["timeline"][-2]["left_at"] == iso(16, 14)
    assert who(staff["timeline"][-1]["giver"]) == ("Cán bộ specialist", "TUPHAP")
    assert who(staff["timeline"][-1]["receiver"]) == ("Cán bộ xã khác", "BA-DESK")
    assert client.get("/api/v1/transits", headers=office.headers("supervisor")).get_json()[
        "transits"] == []


def test_a_file_sent_a_moment_ago_is_in_transit_but_not_overdue(client, office: Office):
    now = dt.datetime.now(dt.UTC)
    d = office.intake(client, received_at=(now - dt.timedelta(minutes=2)).isoformat(),
                      code=f"T-{now:%Y%m%d}-{next(_serial):04d}")
    post(client, office.headers(), scan(d["tracking_number"],
                                        (now - dt.timedelta(minutes=1)).isoformat(),
                                        station="DESK", action="send", destination="ARCHIVE"))
    transit = read(client, office.headers("reception"), d["code"])["in_transit"]
    assert transit["to_station"]["code"] == "ARCHIVE" and transit["overdue"] is False
    assert transit["age_working_hours"] <= transit["age_hours"] < 1
    everything = client.get("/api/v1/transits", headers=office.headers("reception")).get_json()
    assert [r["code"] for r in everything["transits"]] == [d["code"]]
    overdue = client.get("/api/v1/transits?overdue=true",
                         headers=office.headers("reception")).get_json()
    assert overdue["transits"] == [] and overdue["total"] == 0


def test_the_query_measures_age_in_working_hours_on_the_senders_calendar(app, client,
                                                                        office: Office):
    from app.db import db
    from app.offices.operations import get_office
    from app.tracking.queries import alert_after, in_transit

    d = received(client, office, day=20)  # Friday 20 November 2026
    post(client, office.headers(), scan(d["tracking_number"], iso(20, 16), station="TUPHAP",
                                        action="send", destination="BA-DESK"))
    monday = dt.datetime(2026, 11, 23, 9, tzinfo=HCM)
    with app.app_context():
        mine = [get_office(office.code).id]
        far = [get_office(FAR).id]
        rows = in_transit(mine, monday)
        assert [(r.dossier.code, r.send.station.code, r.to_station and r.to_station.code,
                 r.age.hours, r.age.working_hours, r.age.overdue) for r in rows] == [
            (d["code"], "TUPHAP", "BA-DESK", 65.0, 3.0, False)]  # Fri 16–17 + Mon 07–09
        assert in_transit(mine, monday, alert_after()) == []
        later = monday + dt.timedelta(hours=2)  # 11:00: 5 working hours
        assert [r.age.working_hours for r in in_transit(mine, later, alert_after())] == [5.0]
        assert in_transit(far, later) == []
        assert in_transit(None, later)[0].sender == ""  # the device scan named nobody
        db.session.rollback()


def test_transits_are_listed_to_the_sending_and_the_receiving_office_only(
        client, office: Office, staff_elsewhere):
    internal = received(client, office)
    outward = received(client, office)
    post(client, office.headers(),
         scan(internal["tracking_number"], iso(16, 9), station="TUPHAP", action="send",
              destination="LEADER"),
         scan(outward["tracking_number"], iso(16, 9), station="TUPHAP", action="send",
              destination=OTHER))

    def listed(headers: dict[str, str]) -> list[str]:
        response = client.get("/api/v1/transits?overdue=true", headers=headers)
        assert response.status_code == 200, response.get_json()
        return [row["code"] for row in response.get_json()["transits"]]

    both = sorted([internal["code"], outward["code"]])
    assert sorted(listed(office.headers("supervisor"))) == both
    assert sorted(listed(office.headers("admin"))) == both
    assert sorted(listed(office.headers("specialist"))) == both
    assert listed(staff_elsewhere["ba-supervisor"]) == [outward["code"]]  # sent to them
    assert listed(staff_elsewhere["far-supervisor"]) == []
    assert client.get("/api/v1/transits", headers=office.headers()).status_code == 403
    assert client.get("/api/v1/transits").status_code == 401
    assert client.get("/api/v1/transits?limit=0", headers=office.headers("supervisor")) \
        .status_code == 422
    page = client.get("/api/v1/transits?overdue=true&limit=1",
                      headers=office.headers("supervisor")).get_json()
    assert page["total"] == 2 and len(page["transits"]) == 1 and "page=2" in page["next"]
    second = client.get(page["next"], headers=office.headers("supervisor")).get_json()
    assert len(second["transits"]) == 1 and second["next"] is None
    assert {page["transits"][0]["code"], second["transits"][0]["code"]} == set(both)


def test_cli_lists_files_in_transit(app, client, office: Office):
    d = received(client, office)
    post(client, office.headers(), scan(d["tracking_number"], iso(16, 9), station="TUPHAP",
                                        action="send", destination=OTHER, actor="B-SPECIALIST"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["scans", "in-transit", "--overdue"])
    assert result.exit_code == 0, result.output
    assert d["code"] in result.output and f"{office.code}/TUPHAP → {OTHER}" in result.output
    assert "by Cán bộ specialist" in result.output and "OVERDUE" in result.output
    assert d["code"] in runner.invoke(args=["scans", "in-transit", "--office", OTHER]).output
    assert runner.invoke(args=["scans", "in-transit", "--office", FAR]).output == \
        "no files in transit\n"
    assert runner.invoke(args=["scans", "in-transit", "--office", "NOPE"]).exit_code == 2


def test_the_send_and_the_receiving_scan_give_the_same_state_in_either_arrival_order(
        client, office: Office):
    def final(code: str) -> tuple[Any, ...]:
        got = read(client, office.headers("supervisor"), code)
        return (got["status"], got["current_station"]["code"], got["in_transit"],
                [(r["action"], r["interval"], r["flag"], who(r["giver"]), who(r["receiver"]))
                 for r in got["timeline"]])

    events = [(iso(16, 9), "TUPHAP", {"action": "send", "destination": "LEADER"}),
              (iso(16, 11), "LEADER", {"actor": "B-LEADER"})]
    in_order, late = received(client, office), received(client, office)
    for at, station, extra in events:
        post(client, office.headers(), scan(in_order["tracking_number"], at, station=station,
                                            **extra))
    for at, station, extra in reversed(events):
        post(client, office.headers(), scan(late["tracking_number"], at, station=station,
                                            **extra))
    assert final(late["code"]) == final(in_order["code"])
    assert final(in_order["code"])[2] is None
    assert final(in_order["code"])[3][1:] == [
        ("send", "transit", None, ("Cán bộ reception", "DESK"), (None, "TUPHAP")),
        ("transfer_in", "processing", None, (None, "TUPHAP"), ("Cán bộ leader", "LEADER"))]


def test_migration_0009_backfills_the_files_in_transit(app, client, office: Office):
    """Dossiers whose last counted scan is a send are in transit after the upgrade."""
    import sqlalchemy as sa
    from alembic import command

    from app.cli import alembic_config
    from app.db import db

    sent, received_after, closed = (received(client, office) for _ in range(3))
    post(client, office.headers(),
         scan(sent["tracking_number"], iso(16, 9), station="TUPHAP", action="send",
              destination="BA-DESK"),
         scan(received_after["tracking_number"], iso(16, 9), station="TUPHAP", action="send",
              destination="LEADER"),
         scan(received_after["tracking_number"], iso(16, 10), station="LEADER"),
         scan(closed["tracking_number"], iso(16, 9), station="DESK", action="returned"),
         scan(closed["tracking_number"], iso(16, 10), station="DESK", action="send",
              destination=OTHER))  # after the close: flagged, no transit

    def transits() -> dict[str, Any]:
        with app.app_context():
            rows = db.session.execute(sa.text(
                "SELECT code, in_transit_since, transit_to_office_id, transit_to_station_id "
                "FROM dossier ORDER BY code")).all()
            return {row.code: (row.in_transit_since is not None, row.transit_to_office_id,
                               row.transit_to_station_id) for row in rows}

    before = transits()
    assert [before[d["code"]][0] for d in (sent, received_after, closed)] == [
        True, False, False]
    with app.app_context():
        config = alembic_config()
        command.stamp(config, "head")
        command.downgrade(config, "0007")
        command.upgrade(config, "head")
        with db.engine.begin() as conn:  # leave the database as the fixture made it
            conn.execute(sa.text("DROP TABLE alembic_version"))
    assert transits() == before


# --- the fold, directly -------------------------------------------------------------------------

A = Station(id=1, office_id=1, code="DESK", name="Một cửa", kind=StationKind.RECEPTION)
B = Station(id=2, office_id=1, code="TUPHAP", name="Tư pháp", kind=StationKind.DEPARTMENT)
C = Station(id=3, office_id=2, code="BA-DESK", name="Bình An", kind=StationKind.RECEPTION)
PLAN = (PlanStep(1, "Tiếp nhận", 1, None, decimal.Decimal(1)),
        PlanStep(2, "Thụ lý", 2, None, decimal.Decimal(5)))
START = dt.datetime(2026, 11, 16, 8, tzinfo=HCM)
_ACTIONS = [ScanAction.TRANSFER_IN, ScanAction.SEND, ScanAction.REQUEST_SUPPLEMENT,
            ScanAction.SUPPLEMENT_RECEIVED, ScanAction.RESULT_READY, ScanAction.RETURNED]


def hours(a: dt.datetime, b: dt.datetime) -> decimal.Decimal:
    return decimal.Decimal((b - a).total_seconds()) / 3600


def facts(n: int, minute: int, action: ScanAction, station: Station) -> fold.EventFacts:
    destination = ({"destination_office_id": 2, "destination_station_id": 3}
                   if action is ScanAction.SEND else {})
    return fold.EventFacts(uuid=uuid.UUID(int=n), at=START + dt.timedelta(minutes=minute),
                           action=action, station=station, actor_id=None, **destination)


def initial() -> fold.DossierState:
    return fold.DossierState(status=DossierStatus.NEW, station_id=None, holder_id=None)


@settings(max_examples=200, deadline=None)
@given(steps=st.lists(st.tuples(st.integers(1, 600), st.sampled_from(_ACTIONS),
                                 st.sampled_from([A, B, C])), max_size=10),
       order=st.randoms(use_true_random=False))
def test_transit_is_open_exactly_after_a_counted_send_whatever_the_arrival_order(
        steps: list[tuple[int, ScanAction, Station]], order: Any) -> None:
    events = [facts(0, 0, ScanAction.RECEIVE, A),
              *(facts(n, m, a, s) for n, (m, a, s) in enumerate(steps, start=1))]
    state = initial()
    for e in sorted(events, key=lambda e: e.order_key):
        before = state
        state, flag = fold.apply_event(state, e, PLAN, hours)
        if flag == fold.AFTER_CLOSE:  # a scan after the close changes no transit
            expected = (before.in_transit_since, before.transit_to_station_id)
        elif e.action is ScanAction.SEND:
            expected = (e.at, 3)
        else:
            expected = (None, None)
        assert (state.in_transit_since, state.transit_to_station_id) == expected
    # Arrival in any order, as ingest takes it: one step for an event after the last one
    # known, a replay of everything known for a late one.
    arrived: list[fold.EventFacts] = []
    incremental = initial()
    rest = events[1:]
    order.shuffle(rest)
    for e in [events[0], *rest]:  # the intake is recorded with the dossier, first
        arrived.append(e)
        key = incremental.order_key
        if key is None or e.order_key > key:
            incremental, _ = fold.apply_event(incremental, e, PLAN, hours)
        else:
            incremental, _ = fold.replay(initial(), arrived, PLAN, hours)
    assert incremental == state


def test_an_overdue_transit_is_a_missed_scan_and_a_stay_of_its_own(app, client, office: Office,
                                                                    staff_elsewhere):
    from app.db import db
    from app.tracking.models import Dossier
    from app.tracking.queries import every_stay

    d = received(client, office)
    code = d["tracking_number"]
    post(client, office.headers(), scan(code, iso(16, 9), station="TUPHAP", actor="B-SPECIALIST"),
         scan(code, iso(16, 10), station="TUPHAP", action="send", destination=OTHER,
              actor="B-SPECIALIST"))

    def missed(headers: dict[str, str]) -> list[dict[str, Any]]:
        response = client.get("/api/v1/reports/missed?from=2026-11-16&to=2026-11-30",
                              headers=headers)
        assert response.status_code == 200, response.get_json()
        return [r for r in response.get_json()["rows"] if r["kind"] == "overdue_transit"]

    rows = missed(office.headers("supervisor"))
    assert [(r["code"], r["station"], dt.datetime.fromisoformat(r["at"]), r["staff"], r["key"])
            for r in rows] == [(d["code"], "TUPHAP", dt.datetime.fromisoformat(iso(16, 10)),
                                "specialist", OTHER)]
    assert rows[0]["hours"] >= 4
    assert missed(staff_elsewhere["ba-supervisor"]) == rows  # the destination sees it too
    assert missed(staff_elsewhere["far-supervisor"]) == []
    with app.app_context():
        stay = every_stay()
        intervals = db.session.scalars(
            sa.select(stay.interval).join(Dossier, Dossier.id == stay.dossier_id)
            .where(Dossier.code == d["code"]).order_by(stay.started_at)).all()
    assert intervals == ["processing", "processing", "transit"]

    post(client, staff_elsewhere["ba-specialist"], scan(code, iso(16, 14), station="BA-DESK"))
    assert missed(office.headers("supervisor")) == []
