"""Scan ingest: handoffs, idempotency, late events, flags, bad input, devices."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from conftest import Office, scan
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.tracking.codes import damm_digit


def post(client, office: Office, events: list[dict[str, Any]], who: str = "device") -> Any:
    return client.post("/api/v1/scans", json={"events": events}, headers=office.headers(who))


_serial = iter(range(1, 100_000))


def received(client, office: Office, **body: Any) -> dict[str, Any]:
    """A dossier received on Monday 16 Nov 2026 at 08:00, so scan times can be fixed."""
    return office.intake(client, code=f"T-20261116-{next(_serial):04d}",
                         received_at="2026-11-16T08:00:00+07:00", **body)


def dossier(client, office: Office, ref: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/dossiers/{ref}", headers=office.headers("reception"))
    assert response.status_code == 200, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def test_scan_at_a_station_moves_the_dossier_there(client, office: Office):
    d = received(client, office)
    response = post(client, office, [scan(d["tracking_number"], "2026-11-20T09:00:00+07:00",
                                          station="TUPHAP", actor="B-SPECIALIST")])
    result = response.get_json()["results"][0]
    assert result["status"] == "accepted"
    assert result["dossier"]["code"] == d["code"]
    assert result["dossier"]["station"]["code"] == "TUPHAP"
    got = dossier(client, office, d["code"])
    assert got["current_station"]["code"] == "TUPHAP"
    assert got["holder"] == "Cán bộ specialist"
    assert got["status"] == "in_progress"


def test_code_may_be_tracking_number_official_code_or_receipt_url(client, office: Office):
    d = received(client, office)
    t = "2026-11-20T09:00:00+07:00"
    events = [scan(d["tracking_number"], t, station="TUPHAP"),
              scan(f"  {d['code'].lower()}\r\n", t, station="LEADER"),
              scan(d["lookup_url"], t, station="RETURN")]
    results = post(client, office, events).get_json()["results"]
    assert [r["status"] for r in results] == ["accepted"] * 3


def test_one_bad_event_never_sinks_its_neighbours(client, office: Office):
    d = received(client, office)
    body = d["tracking_number"]
    wrong_digit = body[:-1] + str((int(body[-1]) + 1) % 10)
    events = [
        scan(body, "2026-11-20T09:00:00+07:00", station="TUPHAP"),
        {"id": "not-a-uuid", "code": body, "scanned_at": "2026-11-20T09:00:00+07:00"},
        scan(wrong_digit, "2026-11-20T09:01:00+07:00"),
        scan("000.00.19.H12-200101-9999", "2026-11-20T09:02:00+07:00"),
        scan(body, "2026-11-20T09:03:00+07:00", station="BA-DESK"),
        scan(body, "not a time"),
        scan(body, "2026-11-20T09:04:00"),
        scan(body, "2026-11-20T09:05:00+07:00", action="teleport"),
        "just a string",
        scan(body, "2026-11-20T10:00:00+07:00", station="LEADER"),
    ]
    results = post(client, office, events).get_json()["results"]
    assert [(r["status"], r.get("reason")) for r in results] == [
        ("accepted", None), ("rejected", "malformed"), ("rejected", "bad_check_digit"),
        ("rejected", "unknown_code"), ("rejected", "station_not_allowed"),
        ("rejected", "malformed"), ("rejected", "malformed"), ("rejected", "malformed"),
        ("rejected", "malformed"), ("accepted", None)]
    assert all(r["message"] for r in results)
    assert dossier(client, office, d["code"])["current_station"]["code"] == "LEADER"


def test_idempotent_retry_after_a_lost_response(client, office: Office):
    d = received(client, office)
    event = scan(d["tracking_number"], "2026-11-20T09:00:00+07:00", station="TUPHAP")
    first = post(client, office, [event]).get_json()["results"][0]
    # The agent never saw that answer and sends the same event again, with a new sent_at.
    again = post(client, office, [event | {"sent_at": "2026-11-20T09:05:00+07:00"}])
    second = again.get_json()["results"][0]
    assert first["status"] == "accepted" and second["status"] == "duplicate"
    assert second["dossier"]["station"]["code"] == "TUPHAP"
    timeline = dossier(client, office, d["code"])["timeline"]
    assert [row["event_id"] for row in timeline].count(event["id"]) == 1


def test_same_id_twice_in_one_batch_is_written_once(client, office: Office):
    d = received(client, office)
    event = scan(d["tracking_number"], "2026-11-20T09:00:00+07:00", station="TUPHAP")
    results = post(client, office, [event, event]).get_json()["results"]
    assert [r["status"] for r in results] == ["accepted", "duplicate"]
    assert len(dossier(client, office, d["code"])["timeline"]) == 2  # intake + one scan


def test_eight_threads_posting_the_same_events_write_each_once(app, office: Office):
    client = app.test_client()
    codes = [received(client, office)["tracking_number"] for _ in range(3)]
    events = [scan(code, f"2026-11-20T09:{minute:02d}:00+07:00", station=station)
              for minute, (code, station) in enumerate(
                  (c, s) for c in codes for s in ("TUPHAP", "LEADER", "RETURN"))]
    statuses: list[list[str]] = []
    failures: list[Any] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        c = app.test_client()
        barrier.wait()
        response = post(c, office, events)
        if response.status_code != 200:
            failures.append(response.get_json())
        else:
            statuses.append([r["status"] for r in response.get_json()["results"]])

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    # Each event is accepted by exactly one request and answered "duplicate" to the others.
    for i in range(len(events)):
        column = [s[i] for s in statuses]
        assert column.count("accepted") == 1 and column.count("duplicate") == 7
    for code in codes:
        got = dossier(client, office, code)
        assert len(got["timeline"]) == 4
        assert got["current_station"]["code"] == "RETURN"


def test_late_event_is_placed_by_scan_time_not_arrival(client, office: Office):
    d = office.intake(client, code="X-20261116-0001", received_at="2026-11-16T08:00:00+07:00")
    code = d["tracking_number"]
    post(client, office, [scan(code, "2026-11-16T10:00:00+07:00", station="TUPHAP"),
                          scan(code, "2026-11-17T10:00:00+07:00", station="RETURN")])
    # A scan at the leader's office, queued offline for a day, arrives last.
    late = post(client, office, [scan(code, "2026-11-16T15:00:00+07:00", station="LEADER")])
    assert late.get_json()["results"][0]["status"] == "accepted"
    got = dossier(client, office, d["code"])
    assert got["current_station"]["code"] == "RETURN"
    assert [row["station"]["code"] for row in got["timeline"]] == [
        "DESK", "TUPHAP", "LEADER", "RETURN"]
    assert [row["from_station"] and row["from_station"]["code"] for row in got["timeline"]] == [
        None, "DESK", "TUPHAP", "LEADER"]


def test_device_clock_far_off_is_corrected_and_both_times_kept(client, office: Office):
    d = received(client, office)
    # The device's clock is a year behind; it scanned 30 s before sending.
    event = scan(d["tracking_number"], "2025-11-20T09:00:00+07:00", station="TUPHAP")
    event["sent_at"] = "2025-11-20T09:00:30+07:00"
    post(client, office, [event])
    row = dossier(client, office, d["code"])["timeline"][-1]
    assert row["scanned_at"].startswith("2025-11-20T09:00:00")
    assert row["at"][:4] == row["received_at"][:4] >= "2026"


def test_scan_after_return_is_recorded_and_flagged_not_dropped(client, office: Office):
    d = office.intake(client, code="X-20261116-0001", received_at="2026-11-16T08:00:00+07:00")
    code = d["tracking_number"]
    post(client, office, [scan(code, "2026-11-16T10:00:00+07:00", station="TUPHAP"),
                          scan(code, "2026-11-16T14:00:00+07:00", station="RETURN",
                               action="returned")])
    after = post(client, office, [scan(code, "2026-11-17T09:00:00+07:00", station="LEADER")])
    result = after.get_json()["results"][0]
    assert result["status"] == "accepted" and result["flag"] == "after_close"
    got = dossier(client, office, d["code"])
    assert got["status"] == "returned" and got["current_station"]["code"] == "RETURN"
    assert got["timeline"][-1]["flag"] == "after_close"


def test_scan_outside_the_plan_is_flagged_but_moves_the_file(client, office: Office):
    d = received(client, office)
    result = post(client, office, [scan(d["tracking_number"], "2026-11-20T09:00:00+07:00",
                                        station="ARCHIVE")]).get_json()["results"][0]
    assert result["flag"] == "off_plan"
    assert dossier(client, office, d["code"])["current_station"]["code"] == "ARCHIVE"


def test_supplement_request_pauses_the_clock_and_moves_the_due_date(client, office: Office):
    d = office.intake(client, code="X-20261116-0001", received_at="2026-11-16T08:00:00+07:00")
    assert d["due_at"] == "2026-11-17T08:00:00+07:00"
    code = d["tracking_number"]
    # The desk issues the supplement request (Mẫu 02) and takes the papers back.
    post(client, office, [
        scan(code, "2026-11-16T09:00:00+07:00", station="DESK", action="request_supplement"),
        scan(code, "2026-11-16T11:00:00+07:00", station="DESK",
             action="supplement_received")])
    got = dossier(client, office, d["code"])
    assert got["supplement_wait_hours"] == 2.0
    assert got["supplement_count"] == 1
    assert got["due_at"] == "2026-11-17T10:00:00+07:00"
    assert got["status"] == "in_progress"


def test_timeline_gives_each_step_its_budget_and_verdict(client, office: Office):
    d = office.intake(client, code="X-20261116-0001", received_at="2026-11-16T08:00:00+07:00")
    code = d["tracking_number"]
    post(client, office, [
        scan(code, "2026-11-16T08:30:00+07:00", station="TUPHAP"),   # desk: 0.5 h of 1 h
        scan(code, "2026-11-16T15:30:00+07:00", station="LEADER"),   # 5 h of 5 h
        scan(code, "2026-11-17T07:30:00+07:00", station="RETURN", action="result_ready"),
    ])
    rows = dossier(client, office, d["code"])["timeline"]
    assert [(r["step"]["name"], r["spent_hours"], r["verdict"]) for r in rows[:3]] == [
        ("Tiếp nhận", 0.5, "early"), ("Thụ lý", 5.0, "on_time"), ("Ký", 2.0, "late")]
    assert rows[0]["giver"] is None and rows[1]["giver"]["name"] == "Cán bộ reception"


ORDER_EVENTS = [
    ("2026-11-16T09:00:00+07:00", "TUPHAP", None),
    ("2026-11-16T10:00:00+07:00", "DESK", "request_supplement"),
    ("2026-11-16T14:00:00+07:00", "DESK", "supplement_received"),
    ("2026-11-16T15:00:00+07:00", "ARCHIVE", None),
    ("2026-11-17T08:00:00+07:00", "LEADER", None),
    ("2026-11-17T09:00:00+07:00", "RETURN", "result_ready"),
    ("2026-11-17T10:00:00+07:00", "RETURN", "returned"),
    ("2026-11-17T11:00:00+07:00", "TUPHAP", None),
]


def _final_state(client, office: Office, code: str) -> tuple[Any, ...]:
    got = dossier(client, office, code)
    rows = got["timeline"]
    return (got["status"], got["current_station"]["code"], got["due_at"],
            got["supplement_wait_hours"], got["finished_at"],
            tuple((r["station"]["code"], r["action"], r["flag"], r["verdict"]) for r in rows))


def test_any_arrival_order_gives_the_same_final_state(app, office: Office):
    client = app.test_client()
    reference = office.intake(client, code="X-20261116-0000",
                              received_at="2026-11-16T08:00:00+07:00")
    post(client, office, [scan(reference["tracking_number"], t, station=s,
                               **({"action": a} if a else {})) for t, s, a in ORDER_EVENTS])
    expected = _final_state(client, office, reference["code"])
    assert expected[0] == "returned" and expected[-1][-1][2] == "after_close"
    counter = iter(range(1, 10_000))

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(order=st.permutations(range(len(ORDER_EVENTS))),
           cuts=st.lists(st.integers(1, len(ORDER_EVENTS) - 1), max_size=4))
    def arrive(order: list[int], cuts: list[int]) -> None:
        d = office.intake(client, code=f"X-20261116-{next(counter):04d}",
                          received_at="2026-11-16T08:00:00+07:00")
        events = [scan(d["tracking_number"], t, station=s, **({"action": a} if a else {}))
                  for t, s, a in (ORDER_EVENTS[i] for i in order)]
        bounds = [0, *sorted(set(cuts)), len(events)]
        for lo, hi in zip(bounds, bounds[1:], strict=False):
            if lo < hi:
                post(client, office, events[lo:hi])
        assert _final_state(client, office, d["code"]) == expected

    arrive()


def test_revoked_device_is_rejected_and_nothing_is_written(app, client, office: Office):
    from app.auth.operations import revoke_device
    from app.db import db

    d = received(client, office)
    with app.app_context():
        revoke_device(office.device_id)
        db.session.commit()
    response = post(client, office, [scan(d["tracking_number"], "2026-11-20T09:00:00+07:00")])
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "revoked_token"
    assert len(dossier(client, office, d["code"])["timeline"]) == 1


@pytest.mark.parametrize(("headers", "body", "status", "code"), [
    ({}, {"events": []}, 401, "missing_token"),
    ({"Authorization": "Bearer trk_dev_nope"}, {"events": []}, 401, "invalid_token"),
    ({"Authorization": "Basic abc"}, {"events": []}, 401, "missing_token"),
    (None, "{not json", 400, "malformed_json"),
    (None, [1, 2], 400, "malformed_json"),
    (None, {"events": []}, 422, "malformed"),
    (None, {"events": "x"}, 422, "malformed"),
    (None, {}, 422, "malformed"),
    (None, {"events": [{}] * 501}, 413, "batch_too_large"),
])
def test_bad_batches_get_a_clear_4xx(client, office: Office, headers, body, status, code):
    headers = office.headers() if headers is None else headers
    if isinstance(body, str):
        response = client.post("/api/v1/scans", data=body, headers=headers,
                               content_type="application/json")
    else:
        response = client.post("/api/v1/scans", json=body, headers=headers)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code


def test_staff_can_scan_with_a_personal_token(client, office: Office):
    d = received(client, office)
    result = post(client, office, [scan(d["code"], "2026-11-20T09:00:00+07:00",
                                        station="LEADER")], who="leader")
    assert result.get_json()["results"][0]["status"] == "accepted"
    assert dossier(client, office, d["code"])["holder"] == "Cán bộ leader"


def test_stations_lists_what_the_caller_may_scan_at(client, office: Office):
    device = client.get("/api/v1/stations", headers=office.headers()).get_json()
    assert [s["code"] for s in device["stations"]] == [
        "DESK", "TUPHAP", "LEADER", "RETURN", "ARCHIVE"]
    outsider = client.get("/api/v1/stations", headers=office.headers("outsider")).get_json()
    assert [s["code"] for s in outsider["stations"]] == ["BA-DESK"]


def test_staff_of_another_office_cannot_read_a_dossier(client, office: Office):
    d = received(client, office)
    response = client.get(f"/api/v1/dossiers/{d['code']}", headers=office.headers("outsider"))
    assert response.status_code == 404
    assert "Nguyễn" not in response.get_data(as_text=True)


def test_province_supervisor_reads_every_office_of_the_province(client, office: Office):
    d = received(client, office)
    response = client.get(f"/api/v1/dossiers/{d['code']}", headers=office.headers("supervisor"))
    assert response.status_code == 200


def test_tracking_numbers_detect_every_single_digit_error(client, office: Office):
    number = received(client, office)["tracking_number"]
    for position in range(12):
        for digit in "0123456789":
            if digit != number[position]:
                typo = number[:position] + digit + number[position + 1:]
                assert damm_digit(typo) != 0
    assert uuid.UUID(scan(number, "x")["id"])
