"""The calendar and procedure durations through the tracker command and at intake (database)."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask

from app.db import db


def _office(runner: Any, code: str = "H12.22") -> None:
    result = runner.invoke(args=["office", "add", "--code", code, "--name", "Xã A",
                                 "--province", "H12"])
    assert result.exit_code == 0, result.output


def _section(output: str, title: str) -> str:
    """The lines of one section of ``calendar show`` (up to the next blank line)."""
    return output.split(title, 1)[1].split("\n\n", 1)[0]


# --- calendar show ----------------------------------------------------------------------------


def test_calendar_show_says_a_year_without_shipped_swaps_is_unconfirmed(runner):
    result = runner.invoke(args=["calendar", "show", "2027"])
    assert result.exit_code == 0, result.output
    assert "UNCONFIRMED (chưa xác nhận)" in result.output
    assert "confirmed years: 2024-2026" in result.output
    assert "(none shipped)" in _section(result.output, "Government swaps")


def test_calendar_show_2026_is_confirmed_with_the_new_year_swap_and_its_source(runner):
    result = runner.invoke(args=["calendar", "show", "2026"])
    assert result.exit_code == 0, result.output
    assert "UNCONFIRMED" not in result.output
    assert "Government day swaps for 2026: confirmed" in result.output
    swaps = _section(result.output, "Government swaps")
    assert "2026-01-02 Fri  day off" in swaps
    assert "2026-01-10 Sat  working day" in swaps
    assert "12729/VPCP-KGVX" in swaps


def test_calendar_show_names_holidays_in_vietnamese(runner):
    holidays = _section(runner.invoke(args=["calendar", "show", "2026"]).output,
                        "Public holidays")
    for line in ["2026-01-01 Thu  holiday      Tết Dương lịch",
                 "2026-02-17 Tue  holiday      Tết Nguyên Đán",
                 "2026-04-26 Sun  holiday      Giỗ Tổ Hùng Vương",
                 "2026-04-30 Thu  holiday      Ngày Chiến thắng",
                 "2026-05-01 Fri  holiday      Ngày Quốc tế Lao động",
                 "2026-09-02 Wed  holiday      Quốc khánh",
                 "2026-11-24 Tue  holiday      Ngày Văn hóa Việt Nam"]:
        assert line in holidays
    assert "Lunar" not in holidays and "National Day" not in holidays


def test_calendar_show_prints_each_override_with_its_note_and_scope(runner):
    _office(runner)
    _office(runner, "H12.23")
    runner.invoke(args=["calendar", "set", "2026-03-10", "day-off", "--note", "Chuyển trụ sở"])
    runner.invoke(args=["calendar", "set", "2026-03-10", "working-day", "--office", "H12.22",
                        "--note", "Xã A vẫn làm việc"])
    runner.invoke(args=["calendar", "set", "2026-03-14", "working-day", "--office", "H12.23",
                        "--note", "Làm bù"])

    everything = _section(runner.invoke(args=["calendar", "show", "2026"]).output,
                          "Admin overrides")
    assert "2026-03-10 Tue  day off      [all offices] Chuyển trụ sở" in everything
    assert "2026-03-10 Tue  working day  [office H12.22] Xã A vẫn làm việc" in everything
    assert "2026-03-14 Sat  working day  [office H12.23] Làm bù" in everything

    one = runner.invoke(args=["calendar", "show", "2026", "--office", "H12.22"]).output
    overrides = _section(one, "Admin overrides")
    assert "[all offices, replaced by the office's own] Chuyển trụ sở" in overrides
    assert "H12.23" not in overrides
    # The office works on 10 March: nothing differs there from its usual week.
    assert "2026-03-10" not in _section(one, "Days that differ")


def test_calendar_show_without_a_year_shows_this_year(runner):
    result = runner.invoke(args=["calendar", "show"])
    assert result.exit_code == 0, result.output
    year = dt.datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).year
    assert result.output.startswith(f"Calendar {year}, all offices")


def test_calendar_show_of_an_unknown_office_is_a_clean_error(runner):
    result = runner.invoke(args=["calendar", "show", "2026", "--office", "NOPE"])
    assert result.exit_code == 2
    assert "no office with code NOPE" in result.output


# --- calendar unset ---------------------------------------------------------------------------


def _due(runner: Any, start: str, duration: str = "1 working day") -> str:
    result = runner.invoke(args=["calendar", "due", "--from", start, "--duration", duration,
                                 "--office", "H12.22"])
    assert result.exit_code == 0, result.output
    return str(result.output.strip())


def test_calendar_unset_removes_the_override_and_deadlines_follow_at_once(runner):
    _office(runner)
    runner.invoke(args=["calendar", "set", "2026-12-07", "day-off", "--note", "Bão"])
    # The calendar is cached in the process: the removal must reach it too.
    assert _due(runner, "2026-12-04T09:00:00+07:00") == "2026-12-08T09:00:00+07:00"
    result = runner.invoke(args=["calendar", "unset", "2026-12-07"])
    assert result.exit_code == 0, result.output
    assert "2026-12-07: day off override removed (all offices)" in result.output
    assert _due(runner, "2026-12-04T09:00:00+07:00") == "2026-12-07T09:00:00+07:00"
    assert "(none)" in _section(runner.invoke(args=["calendar", "show", "2026"]).output,
                                "Admin overrides")


def test_calendar_unset_of_an_office_override_keeps_the_all_offices_one(runner):
    _office(runner)
    runner.invoke(args=["calendar", "set", "2026-12-07", "day-off"])
    runner.invoke(args=["calendar", "set", "2026-12-07", "working-day", "--office", "H12.22"])
    assert _due(runner, "2026-12-04T09:00:00+07:00") == "2026-12-07T09:00:00+07:00"
    result = runner.invoke(args=["calendar", "unset", "2026-12-07", "--office", "H12.22"])
    assert result.exit_code == 0, result.output
    assert _due(runner, "2026-12-04T09:00:00+07:00") == "2026-12-08T09:00:00+07:00"


def test_calendar_unset_without_such_an_override_is_a_clear_error(runner):
    _office(runner)
    runner.invoke(args=["calendar", "set", "2026-12-07", "day-off", "--office", "H12.22"])
    result = runner.invoke(args=["calendar", "unset", "2026-12-07"])
    assert result.exit_code == 2
    assert "no calendar override on 2026-12-07 for all offices" in result.output
    assert "Traceback" not in result.output
    other = runner.invoke(args=["calendar", "unset", "2026-12-08", "--office", "H12.22"])
    assert "no calendar override on 2026-12-08 for office H12.22" in other.output


# --- calendar due with the new rules ----------------------------------------------------------


@pytest.mark.parametrize(("start", "duration", "due"), [
    ("2026-01-30T10:00:00+07:00", "3 calendar days", "2026-02-02T17:00:00+07:00"),
    ("2026-02-11T10:00:00+07:00", "3 calendar days", "2026-02-23T17:00:00+07:00"),
    ("2026-03-10T14:59:00+07:00", "same day", "2026-03-10T17:00:00+07:00"),
    ("2026-03-10T15:30:00+07:00", "same day, cutoff 15:00", "2026-03-11T17:00:00+07:00"),
    ("2026-03-10T15:30:00+07:00", "same day, cutoff 16:00", "2026-03-10T17:00:00+07:00"),
])
def test_calendar_due_reads_calendar_days_and_same_day(runner, start, duration, due):
    result = runner.invoke(args=["calendar", "due", "--from", start, "--duration", duration])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == due


# --- procedures: the same-day unit and step budgets for every unit ----------------------------


def _add(runner: Any, duration: str, *steps: str, code: str = "1.1") -> Any:
    args = ["procedure", "add", "--code", code, "--name", "Chứng thực bản sao",
            "--duration", duration]
    for step in steps:
        args += ["--step", step]
    return runner.invoke(args=args)


def test_procedure_add_keeps_the_same_day_cutoff_per_version(app: Flask, runner):
    from app.procedures.models import ProcedureVersion

    assert _add(runner, "same day, cutoff 15:00", "A=RECEPTION:0.5",
                "B=DEPARTMENT:1.5").exit_code == 0
    assert _add(runner, "same day, cutoff 10:00", "A=RECEPTION:1",
                "B=DEPARTMENT:4").exit_code == 0
    listing = runner.invoke(args=["procedure", "list"]).output
    assert "v2   same day, cutoff 10:00" in listing
    with app.app_context():
        versions = db.session.scalars(sa.select(ProcedureVersion)
                                      .order_by(ProcedureVersion.version)).all()
        assert [v.same_day_cutoff for v in versions] == [dt.time(15), dt.time(10)]
        assert [v.duration_text for v in versions] == [
            "same day, cutoff 15:00", "same day, cutoff 10:00"]


def test_same_day_plan_longer_than_cutoff_to_closing_is_refused(runner):
    result = _add(runner, "same day", "A=RECEPTION:1", "B=DEPARTMENT:1.5")
    assert result.exit_code == 2
    assert "2.5 working hours, more than the legal 2 working hours (same day, cutoff 15:00" \
        in result.output


@pytest.mark.parametrize(("duration", "fits", "too_long"), [
    ("3 calendar days", "8", "8.5"),  # Friday at closing: only Monday is left
    ("7 calendar days", "40", "41"),
    ("30 calendar days", "168", "170"),
    ("2 working days", "16", "16.25"),
])
def test_step_budgets_are_checked_against_calendar_and_working_durations(
        runner, duration, fits, too_long):
    assert _add(runner, duration, f"A=DEPARTMENT:{fits}", code="2.1").exit_code == 0
    refused = _add(runner, duration, f"A=DEPARTMENT:{too_long}", code="2.2")
    assert refused.exit_code == 2
    assert f"more than the legal {fits} working hours ({duration}" in refused.output


def test_a_bad_same_day_cutoff_is_refused_cleanly(runner):
    result = _add(runner, "same day, cutoff 25:00", "A=RECEPTION:1")
    assert result.exit_code == 2
    assert "cut-off must be a time" in result.output


# --- intake: due dates of the new units --------------------------------------------------------


@pytest.fixture
def desk_procedures(office) -> Any:
    """A same-day procedure (cut-off 15:00) and a 3-calendar-day one in the seeded office."""
    from app.offices.models import StationKind
    from app.procedures.operations import StepSpec, create_procedure

    with office.app.app_context():
        create_procedure("2.000908", "Chứng thực bản sao từ bản chính", "same day, cutoff 15:00",
                         [StepSpec("Tiếp nhận", decimal.Decimal("0.5"), kind=StationKind.RECEPTION),
                          StepSpec("Ký", decimal.Decimal("1.5"), kind=StationKind.LEADER)])
        create_procedure("1.000001", "Thủ tục ba ngày", "3 calendar days",
                         [StepSpec("Thụ lý", decimal.Decimal("8"), kind=StationKind.DEPARTMENT)])
        db.session.commit()
    return office


@pytest.mark.parametrize(("procedure", "received", "due"), [
    ("2.000908", "2026-03-10T14:00:00+07:00", "2026-03-10T17:00:00+07:00"),
    ("2.000908", "2026-03-13T15:10:00+07:00", "2026-03-16T17:00:00+07:00"),
    ("1.000001", "2026-01-30T10:00:00+07:00", "2026-02-02T17:00:00+07:00"),
    ("1.000001", "2026-02-11T10:00:00+07:00", "2026-02-23T17:00:00+07:00"),
])
def test_intake_due_date_of_same_day_and_calendar_day_procedures(
        client, desk_procedures, procedure, received, due):
    body = desk_procedures.intake(client, procedure=procedure, received_at=received,
                                  code=f"X-{received[:10].replace('-', '')}-0001")
    assert body["due_at"] == due
