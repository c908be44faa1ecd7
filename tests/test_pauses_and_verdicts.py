"""Waiting for the citizen pauses the clock; processing ends at the result; the desk refuses;
an upstream appointment is kept (issue 8, points 5–9).

Every vector is computed by hand on the default office hours (07:00–11:30, 13:30–17:00,
Monday to Friday, 8 working hours a day) in November 2026, whose weekdays are all working
days. Procedure 1.001193 takes 1 working day (steps: desk 1 h, Thụ lý 5 h, Ký 1.5 h, Trả
0.5 h); 1.009972 takes 15 working days (desk 4 h, Thẩm định 92 h, Ký 24 h, Trả 0 h).
"""

from __future__ import annotations

import datetime as dt
import decimal
import itertools
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import Office, scan
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.offices.models import Station, StationKind
from app.procedures.operations import PlanStep
from app.tracking import state as fold
from app.tracking.models import DossierStatus, ScanAction
from app.worktime import WorkCalendar

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
CAL = WorkCalendar()


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """An instant of November 2026 on the office's wall clock."""
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=HCM)


def pdf_text(pdf: bytes) -> str:
    """The PDF's text with line breaks folded, as a reader would take it in."""
    import pypdfium2 as pdfium

    text = " ".join(page.get_textpage().get_text_range() for page in pdfium.PdfDocument(pdf))
    return " ".join(text.split())


def iso(day: int, hour: int, minute: int = 0) -> str:
    return at(day, hour, minute).isoformat()


# --- the fold, directly ------------------------------------------------------------------------

DESK = Station(id=1, office_id=1, code="DESK", name="Một cửa", kind=StationKind.RECEPTION)
TUPHAP = Station(id=2, office_id=1, code="TUPHAP", name="Tư pháp", kind=StationKind.DEPARTMENT)
LEADER = Station(id=3, office_id=1, code="LEADER", name="Lãnh đạo", kind=StationKind.LEADER)
RETURN = Station(id=4, office_id=1, code="RETURN", name="Trả", kind=StationKind.RETURN)
PLAN = (PlanStep(1, "Tiếp nhận", 1, None, decimal.Decimal(1)),
        PlanStep(2, "Thụ lý", 2, None, decimal.Decimal(5)),
        PlanStep(3, "Ký", 3, None, decimal.Decimal("1.5")),
        PlanStep(4, "Trả", 4, None, decimal.Decimal("0.5")))
_uuids = (uuid.UUID(int=n) for n in itertools.count(1))


def hours(a: dt.datetime, b: dt.datetime) -> decimal.Decimal:
    return decimal.Decimal(CAL.working_time_between(a, b).total_seconds()) / 3600


def event(when: dt.datetime, action: ScanAction, station: Station = DESK) -> fold.EventFacts:
    return fold.EventFacts(uuid=next(_uuids), at=when, action=action, station=station,
                           actor_id=None)


def folded(*events: fold.EventFacts) -> tuple[fold.DossierState, list[str | None]]:
    state = fold.DossierState(status=DossierStatus.NEW, station_id=None, holder_id=None)
    flags = []
    for e in sorted(events, key=lambda e: e.order_key):
        state, flag = fold.apply_event(state, e, PLAN, hours)
        flags.append(flag)
    return state, flags


def test_a_supplement_wait_over_a_weekend_counts_only_working_hours():
    # Thu 5 Nov 10:00 → Mon 9 Nov 09:00: Thu 1.5 + 3.5, Fri 8, Mon 2 = 15 working hours.
    state, _ = folded(event(at(5, 8), ScanAction.RECEIVE),
                      event(at(5, 10), ScanAction.REQUEST_SUPPLEMENT, TUPHAP),
                      event(at(9, 9), ScanAction.SUPPLEMENT_RECEIVED, TUPHAP))
    assert state.paused_hours == 15 and state.paused_since is None
    assert state.status is DossierStatus.IN_PROGRESS and state.supplement_count == 1


def test_a_payment_request_pauses_the_clock_until_the_payment_is_received():
    state, flags = folded(event(at(2, 8), ScanAction.RECEIVE),
                          event(at(2, 14), ScanAction.REQUEST_PAYMENT))
    assert state.status is DossierStatus.FINANCIAL_OBLIGATION
    assert state.paused_since == at(2, 14) and state.awaiting_payment
    # Mon 14:00 → Wed 4 Nov 15:00: Mon 3, Tue 8, Wed 4.5 + 1.5 = 17 working hours.
    state, flags = folded(event(at(2, 8), ScanAction.RECEIVE),
                          event(at(2, 14), ScanAction.REQUEST_PAYMENT),
                          event(at(3, 9), ScanAction.TRANSFER_IN, TUPHAP),  # the file moves
                          event(at(4, 15), ScanAction.PAYMENT_RECEIVED))
    assert flags == [None, None, None, None]
    assert state.paused_hours == 17 and not state.awaiting_payment
    assert state.status is DossierStatus.IN_PROGRESS


def test_both_waits_pause_until_both_are_answered():
    state, _ = folded(event(at(2, 8), ScanAction.RECEIVE),
                      event(at(2, 9), ScanAction.REQUEST_SUPPLEMENT),
                      event(at(2, 10), ScanAction.REQUEST_PAYMENT),
                      event(at(2, 11), ScanAction.SUPPLEMENT_RECEIVED))
    assert state.paused_since == at(2, 9) and state.awaiting_payment
    assert state.status is DossierStatus.FINANCIAL_OBLIGATION
    state, _ = folded(event(at(2, 8), ScanAction.RECEIVE),
                      event(at(2, 9), ScanAction.REQUEST_SUPPLEMENT),
                      event(at(2, 10), ScanAction.REQUEST_PAYMENT),
                      event(at(2, 11), ScanAction.SUPPLEMENT_RECEIVED),
                      event(at(2, 14), ScanAction.PAYMENT_RECEIVED))
    # 09:00–11:30 and 13:30–14:00: 3 working hours, waited once.
    assert state.paused_hours == 3 and state.paused_since is None
    assert state.status is DossierStatus.IN_PROGRESS


def test_an_answer_nothing_was_asked_for_is_flagged():
    _, flags = folded(event(at(2, 8), ScanAction.RECEIVE),
                      event(at(2, 9), ScanAction.REQUEST_SUPPLEMENT),
                      event(at(2, 10), ScanAction.PAYMENT_RECEIVED))
    assert flags[-1] == fold.NO_PENDING_PAYMENT


def test_a_repeated_unanswered_request_is_one_request_and_a_second_one_counts():
    state, _ = folded(event(at(2, 8), ScanAction.RECEIVE),
                      event(at(2, 9), ScanAction.REQUEST_SUPPLEMENT),
                      event(at(2, 9, 5), ScanAction.REQUEST_SUPPLEMENT))
    assert state.supplement_count == 1
    state, _ = folded(event(at(2, 8), ScanAction.RECEIVE),
                      event(at(2, 9), ScanAction.REQUEST_SUPPLEMENT),
                      event(at(2, 10), ScanAction.SUPPLEMENT_RECEIVED),
                      event(at(2, 11), ScanAction.REQUEST_SUPPLEMENT),
                      event(at(2, 13, 30), ScanAction.SUPPLEMENT_RECEIVED))
    assert state.supplement_count == 2 and state.paused_hours == decimal.Decimal("1.5")


def test_processing_ends_at_the_first_result_and_a_later_fee_stops_no_clock():
    state, _ = folded(event(at(2, 8), ScanAction.RECEIVE),
                      event(at(2, 10), ScanAction.RESULT_READY, LEADER),
                      event(at(2, 11), ScanAction.RESULT_READY, RETURN),
                      event(at(2, 14), ScanAction.REQUEST_PAYMENT, RETURN))
    assert state.finished_at == at(2, 10)
    assert state.paused_since is None and state.status is DossierStatus.FINANCIAL_OBLIGATION
    state, _ = folded(event(at(2, 8), ScanAction.RECEIVE),
                      event(at(2, 10), ScanAction.RESULT_READY, LEADER),
                      event(at(2, 14), ScanAction.REQUEST_PAYMENT, RETURN),
                      event(at(3, 9), ScanAction.PAYMENT_RECEIVED, RETURN))
    assert state.status is DossierStatus.PROCESSED and state.paused_hours == 0


def test_a_refusal_closes_the_dossier_with_status_3():
    state, flags = folded(event(at(2, 8), ScanAction.RECEIVE),
                          event(at(2, 8, 20), ScanAction.REFUSED),
                          event(at(2, 9), ScanAction.TRANSFER_IN, TUPHAP))
    assert state.status is DossierStatus.NOT_ACCEPTED and state.status.value == 3
    assert state.status.label == "Không được tiếp nhận" and state.status.closed
    assert state.finished_at == at(2, 8, 20) and flags[-1] == fold.AFTER_CLOSE


_ACTIONS = [ScanAction.TRANSFER_IN, ScanAction.REQUEST_SUPPLEMENT,
            ScanAction.SUPPLEMENT_RECEIVED, ScanAction.REQUEST_PAYMENT,
            ScanAction.PAYMENT_RECEIVED, ScanAction.RESULT_READY, ScanAction.SEND]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 60 * 24 * 9), st.sampled_from(_ACTIONS)), max_size=12))
def test_the_clock_is_paused_exactly_while_the_citizen_is_awaited_before_the_result(
        steps: list[tuple[int, ScanAction]]) -> None:
    events = [event(at(2, 8), ScanAction.RECEIVE),
              *(event(at(2, 8) + dt.timedelta(minutes=m), a, TUPHAP) for m, a in steps)]
    state = fold.DossierState(status=DossierStatus.NEW, station_id=None, holder_id=None)
    waited = decimal.Decimal(0)
    for e in sorted(events, key=lambda e: e.order_key):
        before = state
        state, _ = fold.apply_event(state, e, PLAN, hours)
        awaited = state.awaiting_supplement or state.awaiting_payment
        # A send puts the file in transit until the next scan (none of these closes it).
        assert state.in_transit_since == (e.at if e.action is ScanAction.SEND else None)
        assert (state.paused_since is not None) == (awaited and state.finished_at is None)
        if before.paused_since is not None and state.paused_since is None:
            waited += hours(before.paused_since, e.at)
    # What was waited is exactly the working time of the ended waits: none after the result.
    assert state.paused_hours == waited
    assert state == fold.replay(folded_initial(), events, PLAN,
                                hours)[0]


def folded_initial() -> fold.DossierState:
    return fold.DossierState(status=DossierStatus.NEW, station_id=None, holder_id=None)


# --- through the API ---------------------------------------------------------------------------

_serial = itertools.count(1)


def upstream(client, office: Office, day: int, hour: int = 8, **body: Any) -> dict[str, Any]:
    return office.intake(client, code=f"P-202611{day:02d}-{next(_serial):04d}",
                         received_at=iso(day, hour), **body)


def post(client, office: Office, code: str, rows: list[tuple[str, str, str | None]],
         who: str = "device") -> list[dict[str, Any]]:
    events = [scan(code, t, station=s, **({"action": a} if a else {})) for t, s, a in rows]
    response = client.post("/api/v1/scans", json={"events": events}, headers=office.headers(who))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["results"]  # type: ignore[no-any-return]


def read(client, office: Office, code: str, who: str = "reception") -> dict[str, Any]:
    response = client.get(f"/api/v1/dossiers/{code}", headers=office.headers(who))
    assert response.status_code == 200, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def rows(d: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(r["station"]["code"], r["action"], r["interval"], r["step"] and r["step"]["name"],
             r["spent_hours"], r["charged_hours"], r["verdict"]) for r in d["timeline"]]


def test_supplement_wait_over_a_weekend_moves_the_due_date_and_is_charged_to_no_step(
        client, office: Office):
    d = upstream(client, office, 5)
    assert d["due_at"] == iso(6, 8)
    code = d["tracking_number"]
    post(client, office, code, [(iso(5, 9), "TUPHAP", None)])
    # The specialist asks for the missing paper at the department's desk.
    post(client, office, code, [(iso(5, 10), "TUPHAP", "request_supplement")], who="specialist")
    waiting = read(client, office, d["code"])
    assert waiting["status_code"] == 5 and waiting["awaiting"] == ["supplement"]
    # Judged when the wait began: 6 working hours left of the day, never late meanwhile
    # (today is weeks after the first due date).
    assert waiting["on_time"] == "approaching" and waiting["working_hours_left"] == 6.0
    assert waiting["verdict_766"] == "on_time"
    post(client, office, code, [(iso(9, 9), "TUPHAP", "supplement_received")], who="specialist")
    post(client, office, code, [
        (iso(9, 10), "LEADER", None), (iso(9, 11), "LEADER", "result_ready"),
        (iso(9, 14), "RETURN", None), (iso(11, 10), "RETURN", "returned")])
    got = read(client, office, d["code"])
    # Thu 10:00 → Mon 09:00 is 15 working hours; Fri 6 Nov 08:00 + 15 h = Mon 9 Nov 17:00.
    assert got["paused_hours"] == 15.0 and got["supplement_count"] == 1
    assert got["due_at"] == iso(9, 17) and got["base_due_at"] == iso(6, 8)
    assert got["finished_at"] == iso(9, 11) and got["on_time"] == "on_time"
    assert got["verdict_766"] == "on_time"
    assert rows(got) == [
        ("DESK", "receive", "processing", "Tiếp nhận", 1.0, 1.0, "on_time"),
        ("TUPHAP", "transfer_in", "processing", "Thụ lý", 1.0, 1.0, "early"),
        ("TUPHAP", "request_supplement", "supplement", "Thụ lý", 15.0, 0.0, None),
        # Thụ lý's time is 1 h before the wait and 1 h after: 2 h of 5.
        ("TUPHAP", "supplement_received", "processing", "Thụ lý", 1.0, 1.0, "early"),
        ("LEADER", "transfer_in", "processing", "Ký", 1.0, 1.0, "early"),
        ("LEADER", "result_ready", "pickup", "Ký", 1.0, 0.0, None),
        ("RETURN", "transfer_in", "pickup", "Trả", 14.0, 0.0, None),
        ("RETURN", "returned", "closed", "Trả", 0.0, 0.0, None)]
    assert got["timeline"][2]["interval_label"] == "Chờ bổ sung hồ sơ"


def test_payment_wait_pauses_the_clock_and_the_desk_time_after_it_goes_to_the_step(
        client, office: Office):
    d = upstream(client, office, 2)
    code = d["tracking_number"]
    post(client, office, code, [(iso(2, 9), "TUPHAP", None), (iso(2, 13, 30), "LEADER", None),
                                (iso(2, 14), "DESK", "request_payment")])
    waiting = read(client, office, d["code"])
    assert (waiting["status_code"], waiting["status_label"]) == (
        6, "Yêu cầu thực hiện nghĩa vụ tài chính")
    # Judged when the wait began: Mon 14:00, 4 working hours before Tue 08:00.
    assert waiting["paused_since"] == iso(2, 14) and waiting["on_time"] == "approaching"
    assert waiting["timeline"][-1]["interval"] == "payment"
    post(client, office, code, [(iso(4, 15), "DESK", "payment_received"),
                                (iso(4, 15, 30), "LEADER", "result_ready")])
    got = read(client, office, d["code"])
    # Mon 14:00 → Wed 15:00 = 17 working hours; Tue 3 Nov 08:00 + 17 h = Thu 5 Nov 09:00.
    assert got["paused_hours"] == 17.0 and got["due_at"] == iso(5, 9)
    assert got["status"] == "processed" and got["on_time"] == "early"
    assert rows(got)[2:] == [
        ("LEADER", "transfer_in", "processing", "Ký", 0.5, 0.5, "early"),
        ("DESK", "request_payment", "payment", None, 17.0, 0.0, None),
        ("DESK", "payment_received", "processing", "Ký", 0.5, 0.5, "early"),
        ("LEADER", "result_ready", "pickup", "Ký", rows(got)[-1][4], 0.0, None)]


def test_a_wait_begun_after_the_due_date_leaves_the_dossier_late(client, office: Office):
    still = upstream(client, office, 2)
    post(client, office, still["tracking_number"], [
        (iso(2, 9), "TUPHAP", None), (iso(3, 10), "DESK", "request_supplement")])
    got = read(client, office, still["code"])
    assert got["on_time"] == "late" and got["working_hours_left"] == -2.0
    assert got["verdict_766"] == "late"
    answered = upstream(client, office, 2)
    post(client, office, answered["tracking_number"], [
        (iso(2, 9), "TUPHAP", None), (iso(3, 10), "DESK", "request_supplement"),
        (iso(4, 10), "DESK", "supplement_received"), (iso(4, 11), "LEADER", "result_ready")])
    got = read(client, office, answered["code"])
    # Tue 10:00 → Wed 10:00 = 8 h: due Wed 08:00; it was 2 h late when the wait began, and
    # is 3 h late at the result.
    assert got["due_at"] == iso(4, 8) and got["finished_at"] == iso(4, 11)
    assert got["on_time"] == "late" and got["verdict_766"] == "late"


def test_two_supplement_requests_are_late_under_766_though_early_by_the_clock(
        client, office: Office):
    d = upstream(client, office, 2)
    post(client, office, d["tracking_number"], [
        (iso(2, 9), "DESK", "request_supplement"), (iso(2, 10), "DESK", "supplement_received"),
        (iso(2, 11), "DESK", "request_supplement"),
        (iso(2, 13, 30), "DESK", "supplement_received"),
        (iso(2, 14), "TUPHAP", None), (iso(2, 15), "LEADER", "result_ready")])
    got = read(client, office, d["code"])
    # Waits: 1 h and 0.5 h; Tue 3 Nov 08:00 + 1.5 h = 09:30.
    assert got["supplement_count"] == 2 and got["due_at"] == iso(3, 9, 30)
    assert got["on_time"] == "early" and got["verdict_766"] == "late"


def test_verdict_766_of_a_past_period_ignores_what_came_after_it(app, client, office: Office):
    from app.db import db
    from app.offices.operations import calendar_for
    from app.tracking.models import Dossier
    from app.tracking.queries import LATE, ON_TIME, verdict_766

    d = upstream(client, office, 2)
    post(client, office, d["tracking_number"], [
        (iso(2, 16), "DESK", "request_supplement"), (iso(4, 10), "DESK", "supplement_received"),
        (iso(4, 10, 30), "DESK", "request_supplement"),
        (iso(4, 10, 45), "DESK", "supplement_received"), (iso(4, 11), "LEADER", "result_ready")])
    with app.app_context():
        dossier = db.session.scalar(db.select(Dossier).where(Dossier.code == d["code"]))
        calendar = calendar_for(dossier.receiving_office)
        # Tue 17:00, after the first due date (Tue 08:00): waiting since Mon 16:00, on time.
        assert verdict_766(dossier, calendar, at(3, 17)) == ON_TIME
        # Wed 10:15: 12 h waited (Mon 1, Tue 8, Wed 3): due Wed 14:00; unfinished, on time.
        assert verdict_766(dossier, calendar, at(4, 10, 15)) == ON_TIME
        # Wed 10:40 and after: a second supplement request.
        assert verdict_766(dossier, calendar, at(4, 10, 40)) == LATE
        assert verdict_766(dossier, calendar, at(30, 17)) == LATE


def test_a_result_waiting_three_days_for_pickup_is_no_step_late(client, office: Office):
    d = upstream(client, office, 2, procedure="1.009972")
    post(client, office, d["tracking_number"], [
        (iso(2, 10), "TUPHAP", None), (iso(3, 9), "LEADER", None),
        (iso(3, 10), "RETURN", "result_ready"), (iso(6, 10), "RETURN", "returned")])
    got = read(client, office, d["code"])
    assert got["finished_at"] == iso(3, 10) and got["on_time"] == "early"
    assert rows(got) == [
        ("DESK", "receive", "processing", "Tiếp nhận", 2.0, 2.0, "early"),
        ("TUPHAP", "transfer_in", "processing", "Thẩm định", 7.0, 7.0, "early"),
        ("LEADER", "transfer_in", "processing", "Ký", 1.0, 1.0, "early"),
        # Tue 10:00 → Fri 10:00: three working days waiting for the citizen, budget 0, no verdict.
        ("RETURN", "result_ready", "pickup", "Trả", 24.0, 0.0, None),
        ("RETURN", "returned", "closed", "Trả", 0.0, 0.0, None)]
    assert got["timeline"][3]["interval_label"] == "Chờ trả kết quả"


def test_the_desk_refuses_a_dossier_and_only_the_desk_may(client, office: Office):
    d = upstream(client, office, 2)
    code = d["tracking_number"]
    assert [r["reason"] for r in post(client, office, code,
                                      [(iso(2, 8, 10), "TUPHAP", "refused")])] == [
        "action_not_allowed"]
    assert [r["reason"] for r in post(client, office, code, [(iso(2, 8, 10), "DESK", "refused")],
                                      who="specialist")] == ["action_not_allowed"]
    assert [r["status"] for r in post(client, office, code,
                                      [(iso(2, 8, 20), "DESK", "refused")])] == ["accepted"]
    after = post(client, office, code, [(iso(2, 9), "DESK", None)], who="reception")
    assert after[0]["flag"] == "after_close"
    got = read(client, office, d["code"])
    assert (got["status"], got["status_code"], got["status_label"]) == (
        "not_accepted", 3, "Không được tiếp nhận")
    assert got["finished_at"] == iso(2, 8, 20) and got["on_time"] == "early"
    by_hand = upstream(client, office, 2)
    result = post(client, office, by_hand["code"], [(iso(2, 8, 5), "DESK", "refused")],
                  who="reception")
    assert result[0]["status"] == "accepted"
    assert result[0]["dossier"]["status"] == "not_accepted"


def test_openapi_lists_the_new_actions(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    actions = spec["components"]["schemas"]["ScanAction"]["enum"]
    assert {"refused", "payment_received"} <= set(actions)


def test_an_upstream_appointment_is_kept_and_moved_by_waits(client, office: Office):
    d = upstream(client, office, 2, due_at=iso(4, 16))
    assert d["due_at"] == iso(4, 16)
    receipt = client.get(d["links"]["receipt"], headers=office.headers("reception"))
    assert receipt.status_code == 200
    assert "16 giờ 00 phút, ngày 04 tháng 11 năm 2026" in pdf_text(receipt.data)
    post(client, office, d["tracking_number"], [
        (iso(2, 9), "DESK", "request_supplement"), (iso(2, 10), "DESK", "supplement_received")])
    got = read(client, office, d["code"])
    assert got["base_due_at"] == iso(4, 16) and got["due_at"] == iso(4, 17)


@pytest.mark.parametrize(("body", "message"), [
    ({"due_at": iso(2, 8)}, "after received_at"),
    ({"due_at": iso(1, 8)}, "after received_at"),
    ({"due_at": "2029-11-02T08:00:00+07:00"}, "days after received_at"),
    ({"due_at": "tomorrow"}, None),
])
def test_an_upstream_appointment_must_be_sane(client, office: Office, body, message):
    payload = {"procedure": "1.001193", "applicant": {"name": "Nguyễn Thị Hằng"},
               "code": f"P-20261102-{next(_serial):04d}", "received_at": iso(2, 8)} | body
    response = client.post("/api/v1/dossiers", json=payload, headers=office.headers("reception"))
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert [d["field"] for d in error["details"]] == ["due_at"]
    if message:
        assert message in error["details"][0]["message"]


def test_an_appointment_needs_an_upstream_code(client, office: Office):
    response = client.post("/api/v1/dossiers", headers=office.headers("reception"), json={
        "procedure": "1.001193", "applicant": {"name": "Nguyễn Thị Hằng"},
        "due_at": iso(30, 16)})
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["field"] == "due_at"


PAUSE_EVENTS = [
    (iso(16, 9), "TUPHAP", None),
    (iso(16, 10), "DESK", "request_supplement"),
    (iso(16, 11), "DESK", "request_payment"),
    (iso(16, 14), "DESK", "supplement_received"),
    (iso(17, 9), "DESK", "payment_received"),
    (iso(17, 10), "LEADER", "result_ready"),
    (iso(17, 11), "RETURN", None),
    (iso(18, 10), "RETURN", "returned"),
]


def test_any_arrival_order_of_waits_gives_the_same_dossier(app, office: Office):
    client = app.test_client()

    def final(code: str) -> tuple[Any, ...]:
        got = read(client, office, code)
        return (got["status"], got["due_at"], got["paused_hours"], got["finished_at"],
                got["on_time"], got["verdict_766"], tuple(rows(got)),
                tuple(r["flag"] for r in got["timeline"]))

    reference = upstream(client, office, 16)
    post(client, office, reference["tracking_number"], PAUSE_EVENTS)
    expected = final(reference["code"])
    # Mon 10:00 → Tue 09:00: 1.5 + 3.5 + 2 = 7 h; Tue 17 Nov 08:00 + 7 h = 17:00.
    assert expected[:5] == ("returned", iso(17, 17), 7.0, iso(17, 10), "on_time")

    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
    @given(order=st.permutations(range(len(PAUSE_EVENTS))),
           cuts=st.lists(st.integers(1, len(PAUSE_EVENTS) - 1), max_size=3))
    def arrive(order: list[int], cuts: list[int]) -> None:
        d = upstream(client, office, 16)
        shuffled = [PAUSE_EVENTS[i] for i in order]
        bounds = [0, *sorted(set(cuts)), len(shuffled)]
        for lo, hi in itertools.pairwise(bounds):
            if lo < hi:
                post(client, office, d["tracking_number"], shuffled[lo:hi])
        assert final(d["code"]) == expected

    arrive()


def test_the_intake_operation_refuses_an_appointment_before_the_receipt(app, office: Office):
    """The same rule for callers that do not come through the API (CLI, imports)."""
    from app.db import db
    from app.errors import ValidationError
    from app.offices.operations import get_office
    from app.procedures.operations import get_procedure_version
    from app.tracking import operations as ops

    with app.app_context():
        home = get_office(office.code)
        command = ops.IntakeCommand(
            procedure_version=get_procedure_version("1.001193", None),
            applicant=ops.Applicant(name="Nguyễn Thị Hằng"), receiving_office=home,
            competent_office=home, code="P-20261102-9999", received_at=at(2, 8),
            due_at=at(2, 7))
        with pytest.raises(ValidationError) as refused:
            ops.register_dossier(command)
        assert refused.value.details[0]["type"] == "bad_due_at"
        db.session.rollback()
