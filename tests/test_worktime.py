"""Tests for working-time deadlines (app.worktime)."""

from __future__ import annotations

import time as _clock
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.worktime import (
    HOURS_PER_WORKING_DAY,
    DurationUnit,
    LegalDuration,
    OfficeHours,
    WorkCalendar,
    format_duration,
    parse_duration,
    shipped_calendar,
    working_duration,
)

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
CAL = WorkCalendar()
DAYS = DurationUnit.WORKING_DAYS
HOURS = DurationUnit.WORKING_HOURS


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An instant on the office's wall clock."""
    return datetime(year, month, day, hour, minute, tzinfo=HCM)


# --- holidays and government swaps ----------------------------------------------------------


def test_tet_2026_weekdays_are_not_working_days() -> None:
    assert [CAL.is_working_day(date(2026, 2, d)) for d in range(13, 24)] == [
        True,  # Fri 13
        False,  # Sat
        False,  # Sun
        False,  # Mon 16: lunar new year's eve
        False,
        False,
        False,
        False,  # Fri 20
        False,  # Sat
        False,  # Sun
        True,  # Mon 23
    ]


def test_one_working_day_received_friday_before_tet_2026_is_due_the_monday_after() -> None:
    assert CAL.due_at(at(2026, 2, 13, 10), 1, DAYS) == at(2026, 2, 23, 10)


def test_three_working_days_straddling_tet_2026_skip_the_whole_holiday_week() -> None:
    assert CAL.due_at(at(2026, 2, 12, 9), 3, DAYS) == at(2026, 2, 24, 9)


def test_deadline_across_hung_kings_and_30_4_1_5_2026_skips_all_three_days_off() -> None:
    # Mon 27 Apr (Hung Kings observed), Thu 30 Apr and Fri 1 May are all off.
    assert CAL.due_at(at(2026, 4, 24, 14), 3, DAYS) == at(2026, 5, 4, 14)


def test_deadline_across_national_day_2026_skips_31_8_1_9_and_2_9() -> None:
    assert not CAL.is_working_day(date(2026, 8, 31))
    assert not CAL.is_working_day(date(2026, 9, 1))
    assert not CAL.is_working_day(date(2026, 9, 2))
    assert CAL.due_at(at(2026, 8, 28, 10), 1, DAYS) == at(2026, 9, 3, 10)


def test_make_up_saturday_22_august_2026_counts_as_working_day() -> None:
    assert CAL.is_working_day(date(2026, 8, 22))
    assert CAL.due_at(at(2026, 8, 21, 10), 1, DAYS) == at(2026, 8, 22, 10)


def test_2025_swap_saturday_26_april_worked_and_friday_2_may_off() -> None:
    assert CAL.due_at(at(2025, 4, 25, 10), 1, DAYS) == at(2025, 4, 26, 10)
    # Wed 30 Apr, Thu 1 May holidays, Fri 2 May swapped off.
    assert CAL.due_at(at(2025, 4, 29, 10), 1, DAYS) == at(2025, 5, 5, 10)


def test_2024_swap_saturday_4_may_worked_and_monday_29_april_off() -> None:
    assert CAL.due_at(at(2024, 5, 3, 10), 1, DAYS) == at(2024, 5, 4, 10)
    # Mon 29 Apr swapped off, Tue 30 Apr and Wed 1 May holidays.
    assert CAL.due_at(at(2024, 4, 26, 10), 1, DAYS) == at(2024, 5, 2, 10)


def test_shipped_swaps_pair_each_day_off_with_a_saturday_worked() -> None:
    shipped = shipped_calendar()
    assert sorted(shipped.working_days) == [
        date(2024, 5, 4), date(2025, 4, 26), date(2026, 1, 10), date(2026, 8, 22)]
    assert all(d.weekday() == 5 for d in shipped.working_days)
    assert sorted(shipped.days_off) == [
        date(2024, 4, 29), date(2025, 5, 2), date(2026, 1, 2), date(2026, 8, 31)]


def test_without_shipped_swaps_the_make_up_saturday_is_a_plain_weekend() -> None:
    cal = WorkCalendar(shipped_swaps=False)
    assert not cal.is_working_day(date(2026, 8, 22))
    assert cal.due_at(at(2026, 8, 21, 10), 1, DAYS) == at(2026, 8, 24, 10)


def test_public_holidays_can_be_switched_off() -> None:
    cal = WorkCalendar(public_holidays=False)
    assert cal.is_working_day(date(2026, 2, 17))


def test_calendar_show_2026_lists_holidays_swaps_in_order_with_their_kind() -> None:
    rows = CAL.holidays_in(2026)
    assert [d for d, _, _ in rows] == sorted(d for d, _, _ in rows)
    kinds = {d: kind for d, _, kind in rows}
    assert kinds[date(2026, 2, 17)] == "holiday"
    assert kinds[date(2026, 4, 27)] == "holiday"
    assert kinds[date(2026, 8, 22)] == "working day"
    assert kinds[date(2026, 8, 31)] == "day off"
    assert kinds[date(2026, 9, 1)] == "holiday"
    # Hung Kings' Day itself falls on a Sunday: nothing changes, so it is not listed.
    assert date(2026, 4, 26) not in kinds
    assert {kind for _, _, kind in rows} == {"holiday", "day off", "working day"}


def test_calendar_show_includes_admin_overrides_with_their_reason() -> None:
    cal = WorkCalendar(
        extra_days_off={date(2026, 3, 10): "Office move"},
        extra_working_days={date(2026, 3, 14): "Land registration campaign"},
    )
    rows = cal.holidays_in(2026)
    assert (date(2026, 3, 10), "Office move", "day off") in rows
    assert (date(2026, 3, 14), "Land registration campaign", "working day") in rows


# --- admin overrides ------------------------------------------------------------------------


def test_extra_day_off_pushes_the_deadline_back_a_day() -> None:
    cal = WorkCalendar(extra_days_off=[date(2026, 3, 11)])
    assert CAL.due_at(at(2026, 3, 10, 9), 1, DAYS) == at(2026, 3, 11, 9)
    assert cal.due_at(at(2026, 3, 10, 9), 1, DAYS) == at(2026, 3, 12, 9)


def test_extra_working_saturday_brings_the_deadline_forward() -> None:
    cal = WorkCalendar(extra_working_days=[date(2026, 3, 14)])
    assert CAL.due_at(at(2026, 3, 13, 9), 1, DAYS) == at(2026, 3, 16, 9)
    assert cal.due_at(at(2026, 3, 13, 9), 1, DAYS) == at(2026, 3, 14, 9)


def test_extra_working_day_overrides_a_public_holiday() -> None:
    cal = WorkCalendar(extra_working_days=[date(2026, 9, 1)])
    assert cal.is_working_day(date(2026, 9, 1))


def test_extra_day_off_wins_over_an_extra_working_day_on_the_same_date() -> None:
    cal = WorkCalendar(extra_days_off=[date(2026, 8, 22)], extra_working_days=[date(2026, 8, 22)])
    assert not cal.is_working_day(date(2026, 8, 22))


def test_extra_days_must_be_dates_not_datetimes() -> None:
    with pytest.raises(TypeError, match="datetime.date"):
        WorkCalendar(extra_days_off=[datetime(2026, 3, 11, tzinfo=HCM)])


# --- when the clock starts ------------------------------------------------------------------


def test_received_at_1655_with_one_working_day_is_due_next_working_day_at_1655() -> None:
    assert CAL.due_at(at(2026, 3, 10, 16, 55), 1, DAYS) == at(2026, 3, 11, 16, 55)
    # On a Friday the next working day is Monday.
    assert CAL.due_at(at(2026, 3, 13, 16, 55), 1, DAYS) == at(2026, 3, 16, 16, 55)


def test_received_during_lunch_counts_from_1330_and_may_end_exactly_at_closing() -> None:
    assert CAL.due_at(at(2026, 3, 10, 12), Decimal("3.5"), HOURS) == at(2026, 3, 10, 17)


def test_received_at_2000_counts_from_next_morning_and_may_end_exactly_at_1130() -> None:
    assert CAL.due_at(at(2026, 3, 10, 20), Decimal("4.5"), HOURS) == at(2026, 3, 11, 11, 30)


def test_received_on_sunday_counts_from_monday_morning() -> None:
    assert CAL.due_at(at(2026, 3, 8, 10), 1, HOURS) == at(2026, 3, 9, 8)


def test_half_a_working_day_is_four_hours() -> None:
    received = at(2026, 3, 10, 7)
    assert CAL.due_at(received, Decimal("0.5"), DAYS) == at(2026, 3, 10, 11)
    assert CAL.due_at(received, 0.5, DAYS) == CAL.due_at(received, 4, HOURS)


def test_one_working_day_is_eight_hours_even_for_a_half_day_office() -> None:
    mornings = WorkCalendar(OfficeHours.parse("08:00-12:00"))
    assert HOURS_PER_WORKING_DAY == 8
    assert mornings.due_at(at(2026, 3, 9, 8), 1, DAYS) == at(2026, 3, 10, 12)


def test_zero_duration_is_due_when_the_office_can_first_act() -> None:
    assert CAL.due_at(at(2026, 3, 10, 12), 0, DAYS) == at(2026, 3, 10, 13, 30)
    assert CAL.due_at(at(2026, 3, 10, 9), 0, HOURS) == at(2026, 3, 10, 9)


def test_calendar_days_landing_on_tet_end_at_the_close_of_the_first_working_day_after() -> None:
    # 20 Jan + 28 days is Tue 17 Feb 2026, Tết: Civil Code Art. 148(5) moves the end to the
    # close of Mon 23 Feb, the first working day after the holiday.
    assert CAL.due_at(at(2026, 1, 20, 10), 28, DurationUnit.CALENDAR_DAYS) == at(2026, 2, 23, 17)


def test_fractional_calendar_days_are_rejected() -> None:
    with pytest.raises(ValueError, match="whole number"):
        CAL.due_at(at(2026, 1, 20, 10), Decimal("1.5"), DurationUnit.CALENDAR_DAYS)


@pytest.mark.parametrize(
    ("received", "expected"),
    [
        (at(2026, 3, 10, 9, 15), at(2026, 3, 10, 9, 15)),
        (at(2026, 3, 10, 7), at(2026, 3, 10, 7)),
        (at(2026, 3, 10, 6, 30), at(2026, 3, 10, 7)),
        (at(2026, 3, 10, 11, 30), at(2026, 3, 10, 13, 30)),
        (at(2026, 3, 10, 12, 45), at(2026, 3, 10, 13, 30)),
        (at(2026, 3, 10, 17), at(2026, 3, 11, 7)),
        (at(2026, 3, 13, 17, 30), at(2026, 3, 16, 7)),
        (at(2026, 2, 13, 18), at(2026, 2, 23, 7)),
    ],
)
def test_next_working_instant(received: datetime, expected: datetime) -> None:
    assert CAL.next_working_instant(received) == expected


def test_instants_in_other_zones_are_read_and_returned_in_office_time() -> None:
    # 02:00 UTC is 09:00 in Hanoi.
    due = CAL.due_at(datetime(2026, 3, 10, 2, tzinfo=UTC), 1, HOURS)
    assert due == at(2026, 3, 10, 10)
    assert due.tzinfo == HCM


# --- measuring elapsed working time ---------------------------------------------------------


def test_working_time_between_skips_the_weekend_and_lunch() -> None:
    # Fri 16:00-17:00, then Mon 07:00-11:30 and 13:30-14:00.
    assert CAL.working_time_between(at(2026, 3, 6, 16), at(2026, 3, 9, 14)) == timedelta(hours=6)


def test_working_time_between_counts_only_office_hours_within_a_day() -> None:
    assert CAL.working_time_between(at(2026, 3, 10, 11), at(2026, 3, 10, 14)) == timedelta(hours=1)
    assert CAL.working_time_between(at(2026, 3, 10, 18), at(2026, 3, 10, 23)) == timedelta()


def test_working_time_between_is_negative_when_the_end_is_earlier() -> None:
    assert CAL.working_time_between(at(2026, 3, 9, 14), at(2026, 3, 6, 16)) == -timedelta(hours=6)


def test_a_year_of_working_time_is_measured_fast_enough_for_reports() -> None:
    start, end = at(2025, 1, 3, 9), at(2026, 1, 5, 15)
    CAL.working_time_between(start, end)  # warm the per-year caches
    began = _clock.perf_counter()
    for _ in range(1000):
        CAL.working_time_between(start, end)
    assert _clock.perf_counter() - began < 1.0


ZONES = st.sampled_from([HCM, UTC, ZoneInfo("Europe/Paris"), ZoneInfo("America/New_York")])
INSTANTS_2024_2026 = st.datetimes(
    min_value=datetime(2024, 1, 1),
    max_value=datetime(2026, 12, 31, 23, 59, 59),
    timezones=ZONES,
    allow_imaginary=False,
)


@settings(max_examples=300, deadline=None)
@given(start=INSTANTS_2024_2026, duration=st.timedeltas(timedelta(0), timedelta(hours=200)))
def test_measuring_back_an_added_duration_gives_the_same_duration(
    start: datetime, duration: timedelta
) -> None:
    due = CAL.add_working_time(start, duration)
    assert CAL.working_time_between(CAL.next_working_instant(start), due) == duration


@settings(max_examples=150, deadline=None)
@given(
    start=INSTANTS_2024_2026,
    first=st.timedeltas(timedelta(0), timedelta(hours=100)),
    second=st.timedeltas(timedelta(microseconds=1), timedelta(hours=100)),
)
def test_adding_in_two_steps_equals_adding_the_total(
    start: datetime, first: timedelta, second: timedelta
) -> None:
    in_two = CAL.add_working_time(CAL.add_working_time(start, first), second)
    assert in_two == CAL.add_working_time(start, first + second)


def _minute_by_minute(cal: WorkCalendar, a: datetime, b: datetime) -> timedelta:
    minutes = 0
    t = a
    while t < b:
        local = t.astimezone(cal.tz)
        if cal.is_working_day(local.date()) and any(
            s <= local.time() < e for s, e in cal.hours.periods
        ):
            minutes += 1
        t += timedelta(minutes=1)
    return timedelta(minutes=minutes)


@settings(max_examples=60, deadline=None)
@given(
    # Around the 2026 national-day swap, so weekends, a make-up Saturday and holidays all occur.
    start_minute=st.integers(0, 30 * 24 * 60),
    length=st.integers(0, 5 * 24 * 60),
)
def test_working_time_between_matches_a_minute_by_minute_count(
    start_minute: int, length: int
) -> None:
    a = at(2026, 8, 15) + timedelta(minutes=start_minute)
    b = a + timedelta(minutes=length)
    assert CAL.working_time_between(a, b) == _minute_by_minute(CAL, a, b)


# --- durations ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount", "unit"),
    [
        ("15 working days", Decimal(15), DAYS),
        ("1 working day", Decimal(1), DAYS),
        ("4 working hours", Decimal(4), HOURS),
        ("1 working hour", Decimal(1), HOURS),
        ("0.5 working days", Decimal("0.5"), DAYS),
        ("30 calendar days", Decimal(30), DurationUnit.CALENDAR_DAYS),
        ("  2 Working  Days ", Decimal(2), DAYS),
    ],
)
def test_parse_duration(text: str, amount: Decimal, unit: DurationUnit) -> None:
    assert parse_duration(text) == LegalDuration(amount, unit)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "15",
        "15 days",
        "working days",
        "-1 working days",
        "3 calendar hours",
        "1,5 working days",
        "2.5 calendar days",
        "15 business days",
        "15 working days late",
    ],
)
def test_parse_duration_rejects_unreadable_text(text: str) -> None:
    with pytest.raises(ValueError, match="cannot read duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("amount", "unit", "text"),
    [
        (Decimal("15.00"), DAYS, "15 working days"),
        (1, DAYS, "1 working day"),
        (Decimal("0.5"), DAYS, "0.5 working days"),
        (10, DurationUnit.CALENDAR_DAYS, "10 calendar days"),
    ],
)
def test_format_duration_is_read_back_by_parse_duration(
    amount: Decimal, unit: DurationUnit, text: str
) -> None:
    assert format_duration(amount, unit) == text
    assert parse_duration(text) == LegalDuration(Decimal(amount), unit)


def test_working_duration_converts_days_to_eight_hours_and_refuses_calendar_days() -> None:
    assert working_duration(Decimal("1.5"), DAYS) == timedelta(hours=12)
    with pytest.raises(ValueError, match="calendar days"):
        working_duration(3, DurationUnit.CALENDAR_DAYS)


def test_unit_names_are_stable_for_the_database() -> None:
    assert [u.name for u in DurationUnit] == [
        "WORKING_HOURS", "WORKING_DAYS", "CALENDAR_DAYS", "SAME_DAY"]


# --- office hours ---------------------------------------------------------------------------


def test_office_hours_default_is_the_vietnamese_civil_service_day() -> None:
    hours = OfficeHours()
    assert str(hours) == "07:00-11:30,13:30-17:00"
    assert hours.weekdays_spec == "Mon-Fri"
    assert hours.daily_length == timedelta(hours=8)
    assert OfficeHours.parse(str(hours)) == hours


def test_office_hours_parse_reads_periods_and_weekdays() -> None:
    hours = OfficeHours.parse(" 7:30-11:30 , 13:00-16:30 ", weekdays="Mon-Fri,Sat")
    assert hours.periods == ((time(7, 30), time(11, 30)), (time(13), time(16, 30)))
    assert hours.weekdays == frozenset(range(6))
    assert str(hours) == "07:30-11:30,13:00-16:30"
    assert hours.weekdays_spec == "Mon-Sat"


def test_saturday_office_counts_saturday_as_working_day() -> None:
    cal = WorkCalendar(OfficeHours.parse("07:00-11:30,13:30-17:00", "Mon-Sat"))
    assert cal.due_at(at(2026, 3, 13, 9), 1, DAYS) == at(2026, 3, 14, 9)


@pytest.mark.parametrize(
    ("spec", "weekdays", "message"),
    [
        ("", "Mon-Fri", "empty"),
        ("07:00", "Mon-Fri", "not a period"),
        ("7h-11h30", "Mon-Fri", "not a time"),
        ("25:00-26:00", "Mon-Fri", "not a valid time"),
        ("11:30-07:00", "Mon-Fri", "must end after it starts"),
        ("07:00-07:00", "Mon-Fri", "must end after it starts"),
        ("07:00-12:00,11:00-17:00", "Mon-Fri", "overlaps"),
        ("13:30-17:00,07:00-11:30", "Mon-Fri", "in order"),
        ("07:00-11:30", "Mon-Funday", "unknown day"),
        ("07:00-11:30", "", "empty item"),
    ],
)
def test_office_hours_parse_rejects_bad_specs(spec: str, weekdays: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        OfficeHours.parse(spec, weekdays)


# --- bad input ------------------------------------------------------------------------------


NAIVE = datetime(2026, 3, 10, 9)


@pytest.mark.parametrize(
    "call",
    [
        lambda: CAL.next_working_instant(NAIVE),
        lambda: CAL.add_working_time(NAIVE, timedelta(hours=1)),
        lambda: CAL.working_time_between(NAIVE, at(2026, 3, 10, 10)),
        lambda: CAL.working_time_between(at(2026, 3, 10, 10), NAIVE),
        lambda: CAL.due_at(NAIVE, 1, DAYS),
        lambda: CAL.due_at(NAIVE, 1, DurationUnit.CALENDAR_DAYS),
    ],
)
def test_naive_datetimes_are_rejected(call: object) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        call()  # type: ignore[operator]


def test_negative_durations_are_rejected() -> None:
    with pytest.raises(ValueError, match="negative"):
        CAL.add_working_time(at(2026, 3, 10, 9), timedelta(hours=-1))
    with pytest.raises(ValueError, match="negative"):
        CAL.due_at(at(2026, 3, 10, 9), -1, DAYS)


def test_unknown_time_zone_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        WorkCalendar(tz="Asia/Saigon_City")


def test_is_working_day_refuses_a_datetime_whose_day_depends_on_the_zone() -> None:
    with pytest.raises(TypeError):
        CAL.is_working_day(at(2026, 3, 10, 9))
