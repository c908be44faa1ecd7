"""Reports on small fixed histories, every figure computed by hand (issue 10, points 2–7).

Office hours 07:00–11:30, 13:30–17:00, Monday to Friday (8 working hours a day); November
2026's weekdays are working days until the 24th. Procedure 1.001193 takes 1 working day;
its steps: Tiếp nhận (DESK) 1 h, Thụ lý (TUPHAP) 5 h, Ký (a leader) 1.5 h, Trả 0.5 h.

The week of Mon 2 – Fri 6 Nov (the period: ``from=2026-11-02&to=2026-11-06``, measured at
Sat 7 Nov 00:00):

- A: received Mon 08:00 (due Tue 08:00); Thụ lý 09:00; Ký 14:00; result 15:00; returned Tue
  09:00. Stays: desk 1 h, Thụ lý 3 h (5 calendar), Ký 1 h. Early.
- B: received Mon 08:00 (due Tue 08:00); Thụ lý 09:00; Ký Wed 09:00; result Wed 10:00.
  Stays: desk 1 h, Thụ lý Mon 6 + Tue 8 + Wed 2 = 16 h (48 calendar), Ký 1 h. Late.
- C: received Tue 08:00 (due Wed 08:00); supplement asked 09:00, brought 10:00, asked again
  11:00, brought 13:30 (waits 1 + 0.5 h: due Wed 09:30); Thụ lý 14:00; result at the
  leader's 15:00. Desk time 1 + 1 + 0.5 = 2.5 h (over its 1 h by 1.5), Thụ lý 1 h. Early by
  the clock, late under 766 (two supplement requests).
- D: received Thu 08:00 (due Fri 08:00); Thụ lý Thu 09:00, still there: open at the period
  end with Thu 6 + Fri 8 = 14 h (39 calendar hours), 9 over budget. Late under 766.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from conftest import Office
from dossier_support import intake, nov, post

PERIOD = {"from": "2026-11-02", "to": "2026-11-06"}


@pytest.fixture
def week(client, office: Office) -> dict[str, dict[str, Any]]:
    a = intake(client, office, nov(2, 8))
    post(client, office, a["tracking_number"], [
        (nov(2, 9), "TUPHAP", None), (nov(2, 14), "LEADER", None),
        (nov(2, 15), "LEADER", "result_ready"), (nov(3, 9), "RETURN", "returned")])
    b = intake(client, office, nov(2, 8))
    post(client, office, b["tracking_number"], [
        (nov(2, 9), "TUPHAP", None), (nov(4, 9), "LEADER", None),
        (nov(4, 10), "LEADER", "result_ready")])
    c = intake(client, office, nov(3, 8))
    post(client, office, c["tracking_number"], [
        (nov(3, 9), "DESK", "request_supplement"), (nov(3, 10), "DESK", "supplement_received"),
        (nov(3, 11), "DESK", "request_supplement"),
        (nov(3, 13, 30), "DESK", "supplement_received"), (nov(3, 14), "TUPHAP", None),
        (nov(3, 15), "LEADER", "result_ready")], who="admin")
    d = intake(client, office, nov(5, 8))
    post(client, office, d["tracking_number"], [(nov(5, 9), "TUPHAP", None)])
    return {"A": a, "B": b, "C": c, "D": d}


def get(client, office: Office, report: str, who: str = "supervisor",
        **params: str) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/reports/{report}", query_string=PERIOD | params,
                          headers=office.headers(who))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["rows"]  # type: ignore[no-any-return]


def test_dwell_by_step_counts_open_stays_and_ranks_the_bottleneck_first(client, office, week):
    rows = get(client, office, "dwell", by="step")
    assert [(r["step"], r["count"], r["open"]) for r in rows] == [
        ("Thụ lý", 4, 1), ("Tiếp nhận", 6, 0), ("Ký", 2, 0)]
    thu_ly, desk, sign = rows
    # Thụ lý: 1, 3, 14 (D, open), 16 working hours; over budget: B 11 + D 9.
    assert thu_ly == {
        "procedure": "1.001193", "step_position": 2, "step": "Thụ lý", "count": 4, "open": 1,
        "mean_hours": 8.5, "median_hours": 8.5, "p90_hours": 15.4, "max_hours": 16.0,
        # 1, 5, 39, 48 calendar hours.
        "mean_calendar_hours": 23.25, "median_calendar_hours": 22.0,
        "p90_calendar_hours": 45.3, "max_calendar_hours": 48.0, "over_budget_hours": 20.0}
    # The desk: 1 h for A, B and D; C's 1, 1 and 0.5 (2.5 of 1: 1.5 over).
    assert (desk["mean_hours"], desk["median_hours"], desk["p90_hours"], desk["max_hours"],
            desk["over_budget_hours"]) == (0.92, 1.0, 1.0, 1.0, 1.5)
    assert (sign["mean_hours"], sign["over_budget_hours"]) == (1.0, 0.0)


def test_dwell_by_station_and_staff(client, office, week):
    by_station = {r["station"]: r for r in get(client, office, "dwell", by="station")}
    assert by_station["TUPHAP"]["count"] == 4 and by_station["DESK"]["count"] == 6
    # Desk stays were the intakes (the reception user) and C's supplement scans (admin).
    by_staff = {r["staff"]: r["count"] for r in get(client, office, "dwell", by="staff")}
    assert by_staff == {"reception": 4, "admin": 3, None: 5}


def test_ontime_766_counts_in_progress_dossiers_and_two_supplements_as_late(
        client, office, week):
    assert get(client, office, "ontime") == [{
        "formula": "766", "total": 4, "early": 0, "on_time": 1, "late": 3, "rate": 25.0,
        # Indicator 2.2 over A, B, C: 5, 18 and 5 − 1.5 working hours.
        "mean_resolution_hours": 8.83}]


def test_ontime_766_judges_at_the_period_end_and_ignores_an_apologys_new_date(
        client, office, week):
    # E: received Fri 6 Nov 08:00 (due Mon 9 Nov 08:00), result Mon 10:00, after the period:
    # at its end (Sat 00:00) E was in progress and within its time: on time.
    e = intake(client, office, nov(6, 8))
    post(client, office, e["tracking_number"], [
        (nov(6, 9), "TUPHAP", None), (nov(9, 10), "LEADER", "result_ready")])
    # An apology moves D's appointment to 2030; indicator 2.1 keeps the first one: still late.
    response = client.post(f"/api/v1/dossiers/{week['D']['code']}/apology",
                           json={"reason": "Chờ xác minh",
                                 "new_due_at": "2030-01-07T16:00:00+07:00"},
                           headers=office.headers("leader"))
    assert response.status_code == 201, response.get_json()
    assert get(client, office, "ontime") == [{
        "formula": "766", "total": 5, "early": 0, "on_time": 2, "late": 3, "rate": 40.0,
        "mean_resolution_hours": 8.83}]


def test_ontime_resolved_counts_only_what_was_resolved(client, office, week):
    rows = get(client, office, "ontime", formula="resolved", by="office")
    assert rows == [{"office": office.code, "formula": "resolved", "total": 3, "early": 2,
                     "on_time": 2, "late": 1, "rate": 66.67, "mean_resolution_hours": 8.83}]


def test_ontime_by_month_judges_each_month_at_its_end(client, office, week):
    rows = get(client, office, "ontime", by="month", **{"from": "2026-10-01"})
    assert [(r["month"], r["total"], r["on_time"]) for r in rows] == [("2026-11", 4, 1)]


def test_per_step_verdicts_against_budgets(client, office, week):
    rows = {(r["step_position"], r["step"]): r for r in get(client, office, "ontime", by="step")}
    # Desk: A, B on time (1 of 1), C late (2.5); D's desk 1 h on time.
    assert (rows[(1, "Tiếp nhận")]["total"], rows[(1, "Tiếp nhận")]["late"]) == (4, 1)
    # Thụ lý ended in the period: A 3 early, B 16 late, C 1 early (D's is still open).
    assert (rows[(2, "Thụ lý")]["total"], rows[(2, "Thụ lý")]["early"],
            rows[(2, "Thụ lý")]["rate"]) == (3, 2, 66.67)


def test_triage_lists_the_late_dossier_that_needs_an_apology(client, office, week):
    rows = get(client, office, "triage")
    assert [(r["code"], r["triage"], r["triage_label"], r["needs_apology"],
             r["remaining_budget_hours"]) for r in rows] == [
        (week["D"]["code"], "late", "Quá hạn", True, 2.0)]
    assert "applicant" not in json.dumps(rows) and "Nguyễn" not in json.dumps(rows)


def test_missed_overdue_scan_and_full_compliance(client, office, week):
    rows = get(client, office, "missed")
    assert [(r["kind"], r["code"], r["hours"]) for r in rows
            if r["kind"] == "overdue_scan"] == [("overdue_scan", week["D"]["code"], 14.0)]
    compliance = {(r["kind"], r["key"]): (r["expected"], r["scanned"], r["rate"])
                  for r in rows if r["kind"].endswith("compliance")}
    assert compliance[("station_compliance", "DESK")] == (4, 4, 100.0)
    assert compliance[("station_compliance", "TUPHAP")] == (3, 3, 100.0)


def test_missed_scans_off_plan_skipped_and_silent(client, office: Office):
    # Mon 16 – Fri 20 Nov; measured at Sat 21 Nov 00:00.
    e = intake(client, office, nov(16, 8))
    post(client, office, e["tracking_number"], [
        (nov(16, 10), "ARCHIVE", None), (nov(16, 11), "LEADER", None),
        (nov(16, 14), "LEADER", "result_ready")], who="admin")
    f = intake(client, office, nov(16, 8))
    post(client, office, f["tracking_number"], [(nov(16, 9), "TUPHAP", None)], who="admin")
    rows = get(client, office, "missed", **{"from": "2026-11-16", "to": "2026-11-20"})
    found = [(r["kind"], r["code"], r["station"], r["step"], r["hours"], r["staff"])
             for r in rows if not r["kind"].endswith("compliance")]
    assert found == [
        ("off_plan", e["code"], "ARCHIVE", None, None, "admin"),
        ("skipped_step", e["code"], "LEADER", "Thụ lý", None, "admin"),
        # F at Thụ lý since Mon 09:00: 6 + 8 × 4 = 38 working hours, over 5.
        ("overdue_scan", f["code"], "TUPHAP", "Thụ lý", 38.0, "admin"),
        # … and no scan for 3 working days (24 h) or more.
        ("silent", f["code"], "TUPHAP", None, 38.0, None)]
    compliance = {(r["kind"], r["key"]): (r["expected"], r["scanned"], r["rate"])
                  for r in rows if r["kind"].endswith("compliance")}
    assert compliance == {
        ("station_compliance", "DESK"): (2, 2, 100.0),
        ("station_compliance", "TUPHAP"): (1, 0, 0.0),
        # E's desk step was the reception's; the next plan step never recorded the file.
        ("staff_compliance", "reception"): (1, 0, 0.0)}


def test_another_offices_supervisor_gets_nothing_and_403_for_ours(app, client, office, week):
    from app.auth.models import Role
    from app.auth.operations import create_user, issue_token
    from app.db import db
    from app.offices.operations import get_office

    with app.app_context():
        other = create_user("sup-ba", "Giám sát Bình An", Role.SUPERVISOR,
                            get_office("000.00.20.H12"))
        token = issue_token(other)
        db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    for report in ("dwell", "ontime", "triage", "missed"):
        response = client.get(f"/api/v1/reports/{report}", query_string=PERIOD,
                              headers=headers)
        assert response.status_code == 200 and response.get_json()["rows"] == []
    response = client.get("/api/v1/reports/dwell", headers=headers,
                          query_string=PERIOD | {"office": office.code})
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"
    response = client.get("/api/v1/reports/dwell", query_string=PERIOD,
                          headers=office.headers("specialist"))
    assert response.status_code == 403


@pytest.mark.parametrize(("params", "field"), [
    ({"by": "month"}, "by"), ({"from": "2026-11-06", "to": "2026-11-01"}, "to"),
    ({"from": "yesterday"}, "from"), ({"formula": "press"}, "formula")])
def test_bad_report_parameters_are_422_not_500(client, office: Office, params, field):
    response = client.get("/api/v1/reports/dwell", query_string=PERIOD | params,
                          headers=office.headers("supervisor"))
    assert response.status_code == 422, response.get_json()
    assert field in json.dumps(response.get_json()["error"])


def test_cli_writes_json_csv_with_bom_and_xlsx_with_a_frozen_header(app, client, office, week,
                                                                    tmp_path):
    runner = app.test_cli_runner()
    args = ["report", "dwell", "--from", "2026-11-02", "--to", "2026-11-06", "--by", "step"]
    result = runner.invoke(args=[*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["rows"][0]["p90_hours"] == 15.4
    out = tmp_path / "dwell.csv"
    result = runner.invoke(args=[*args, "--format", "csv", "--out", str(out)])
    assert result.exit_code == 0, result.output
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    table = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert (table[0]["step"], table[0]["count"], table[0]["over_budget_hours"]) == (
        "Thụ lý", "4", "20.0")
    out = tmp_path / "ontime.xlsx"
    result = runner.invoke(args=["report", "ontime", "--from", "2026-11-02", "--to",
                                 "2026-11-06", "--formula", "resolved", "--format", "xlsx",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    from openpyxl import load_workbook

    sheet = load_workbook(out).active
    assert sheet is not None and sheet.freeze_panes == "A2"
    assert [c.value for c in sheet[1]][:3] == ["formula", "total", "early"]
    assert [c.value for c in sheet[2]][:6] == ["resolved", 3, 2, 2, 1, 66.67]
    result = runner.invoke(args=["report", "triage", "--by", "office"])
    assert result.exit_code == 2 and "cannot be grouped" in result.output
