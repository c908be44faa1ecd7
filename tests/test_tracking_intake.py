"""Receiving dossiers: codes, serials, due dates, upstream registration, bad input."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from conftest import Office

from app.tracking.codes import is_valid_tracking_number


def test_intake_returns_code_tracking_number_due_date_and_lookup_link(client, office: Office):
    body = office.intake(client)
    assert body["created"] is True
    local_day = dt.datetime.fromisoformat(body["received_at"]).strftime("%y%m%d")
    assert body["code"] == f"000.00.19.H12-{local_day}-0001"
    assert is_valid_tracking_number(body["tracking_number"])
    assert body["lookup_url"].startswith(f"https://dvc.example.vn/lookup/{body['code']}?t=")
    assert len(body["lookup_url"].split("?t=")[1]) >= 13  # ≥ 64 bits in base32
    assert dt.datetime.fromisoformat(body["due_at"]) > dt.datetime.fromisoformat(
        body["received_at"])
    assert body["status"] == "received"


def test_second_intake_gets_next_serial(client, office: Office):
    first = office.intake(client)["code"]
    second = office.intake(client)["code"]
    assert int(second[-4:]) == int(first[-4:]) + 1


def test_eight_threads_doing_intake_at_once_get_unique_consecutive_serials(app, office: Office):
    codes: list[str] = []
    errors: list[Any] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        client = app.test_client()
        barrier.wait()
        for _ in range(3):
            response = client.post("/api/v1/dossiers", headers=office.headers("reception"),
                                   json={"procedure": "1.001193",
                                         "applicant": {"name": "Lê Thị Thu"}})
            if response.status_code != 201:
                errors.append(response.get_json())
            else:
                codes.append(response.get_json()["code"])

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    serials = sorted(int(code.rsplit("-", 1)[1]) for code in codes)
    assert serials == list(range(1, 25))


def test_upstream_registered_code_is_followed_and_never_registered_twice(client, office: Office):
    body = {"code": "000.00.19.H12-261120-0042", "received_at": "2026-11-20T09:15:00+07:00"}
    first = office.intake(client, **body)
    again = office.intake(client, **body)
    assert first["created"] is True and again["created"] is False
    assert again["tracking_number"] == first["tracking_number"]
    assert first["code"] == "000.00.19.H12-261120-0042"
    # Friday 09:15 + 1 working day (8 h) → Monday 09:15.
    assert first["due_at"] == "2026-11-23T09:15:00+07:00"


@pytest.mark.parametrize(("received", "due"), [
    # 16:55 leaves 5 minutes that day; 7 h 55 more the next working day → 16:55.
    ("2026-11-18T16:55:00+07:00", "2026-11-19T16:55:00+07:00"),
    # During lunch the clock starts at 13:30: 3 h 30 that afternoon, 4 h 30 the next morning,
    # and a due time on the end of a period stays there.
    ("2026-11-18T12:00:00+07:00", "2026-11-19T11:30:00+07:00"),
    # Tết 2026: 16–20 Feb are holidays, so Friday 13 Feb 10:00 → Monday 23 Feb 10:00.
    ("2026-02-13T10:00:00+07:00", "2026-02-23T10:00:00+07:00"),
    # 30/4 and 1/5 2026 are off: Wednesday 29 Apr 15:00 → Monday 4 May 15:00.
    ("2026-04-29T15:00:00+07:00", "2026-05-04T15:00:00+07:00"),
    # 31/8 (swapped day off), 1/9 and 2/9: Friday 28 Aug 09:00 → Thursday 3 Sep 09:00.
    ("2026-08-28T09:00:00+07:00", "2026-09-03T09:00:00+07:00"),
    # Saturday 22 Aug 2026 is a make-up working day: Friday 21 Aug 10:00 → Saturday 10:00.
    ("2026-08-21T10:00:00+07:00", "2026-08-22T10:00:00+07:00"),
])
def test_due_date_counts_working_time_and_holidays(client, office: Office, received, due):
    body = office.intake(client, code=f"X-{received[:10].replace('-', '')}-0001",
                         received_at=received)
    assert body["due_at"] == due


def test_fifteen_working_days_across_national_day(client, office: Office):
    body = office.intake(client, procedure="1.009972", code="X-20260820-0001",
                         received_at="2026-08-20T08:00:00+07:00")
    # 20 Aug + 15 working days, counting Sat 22 Aug, skipping 31 Aug, 1 and 2 Sep.
    assert body["due_at"] == "2026-09-14T08:00:00+07:00"


@pytest.mark.parametrize(("payload", "status", "code"), [
    ({"applicant": {"name": "A"}}, 422, "invalid"),
    ({"procedure": "9.999999", "applicant": {"name": "A"}}, 404, "unknown_procedure"),
    ({"procedure": "1.001193"}, 422, "invalid"),
    ({"procedure": "1.001193", "applicant": {"name": "   "}}, 422, "invalid"),
    ({"procedure": "1.001193", "applicant": {"name": "A" * 201}}, 422, "invalid"),
    ({"procedure": "1.001193", "applicant": {"name": 5}}, 422, "invalid"),
    ({"procedure": "1.001193", "applicant": {"name": "A"}, "copies": 0}, 422, "invalid"),
    ({"procedure": "1.001193", "applicant": {"name": "A"}, "documents": "x"}, 422, "invalid"),
    ({"procedure": "1.001193", "applicant": {"name": "A"}, "code": "X-1"}, 422, "invalid"),
    ({"procedure": "1.001193", "applicant": {"name": "A"}, "code": "X-20260101-0001",
      "received_at": "yesterday"}, 422, "invalid"),
    ({"procedure": "1.001193", "applicant": {"name": "A"}, "code": "X-20260101-0001",
      "received_at": "2026-01-01T10:00:00"}, 422, "invalid"),
    ({"procedure": "1.001193", "applicant": {"name": "A"}, "competent_office": "NOPE"},
     404, "not_found"),
    ({"procedure": "1.001193", "applicant": {"name": "A"}, "station": "BA-DESK"},
     422, "invalid"),
])
def test_bad_intake_gets_a_clear_4xx_and_writes_nothing(client, office: Office, payload,
                                                        status, code):
    response = client.post("/api/v1/dossiers", json=payload, headers=office.headers("reception"))
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    assert response.get_json()["error"]["message"]
    assert office.intake(client)["code"].endswith("-0001")  # no serial was consumed


@pytest.mark.parametrize("who", ["specialist", "leader", "supervisor", "device"])
def test_only_reception_and_admin_may_receive(client, office: Office, who):
    response = client.post("/api/v1/dossiers", headers=office.headers(who),
                           json={"procedure": "1.001193", "applicant": {"name": "A"}})
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"


def test_competent_office_can_differ_from_receiving_office(client, office: Office):
    body = office.intake(client, competent_office="000.00.20.H12")
    got = client.get(f"/api/v1/dossiers/{body['code']}", headers=office.headers("reception"))
    assert got.get_json()["receiving_office"] == "000.00.19.H12"
    assert got.get_json()["competent_office"] == "000.00.20.H12"
    # Staff of the competent office see it too.
    seen = client.get(f"/api/v1/dossiers/{body['code']}", headers=office.headers("outsider"))
    assert seen.status_code == 200
