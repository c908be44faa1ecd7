"""The Vietnamese calendar rules of issue 8, by hand-computed vectors (pure, no database).

Shipped swaps and unconfirmed years, Vietnamese holiday names, calendar-day deadlines (Civil
Code 2015 Art. 147-148), the same-day unit with its cut-off, and the working hours each unit
guarantees a step plan.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from app.worktime import (
    DEFAULT_CUTOFF,
    DurationUnit,
    LegalDuration,
    OfficeHours,
    WorkCalendar,
    confirmed_years,
    format_duration,
    guaranteed_working_time,
    is_confirmed,
    load_shipped_calendar,
    parse_duration,
    public_holidays,
    shipped_calendar,
    vietnamese_duration,
    vietnamese_holiday_name,
)

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
CAL = WorkCalendar()
DAYS = DurationUnit.WORKING_DAYS
CALENDAR = DurationUnit.CALENDAR_DAYS
SAME_DAY = DurationUnit.SAME_DAY


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An instant on the office's wall clock."""
    return datetime(year, month, day, hour, minute, tzinfo=HCM)


# --- 1. the 2026 New Year swap, the data file, unconfirmed years ------------------------------


def test_new_year_2026_friday_2_january_is_off_and_saturday_10_january_is_worked() -> None:
    assert not CAL.is_working_day(date(2026, 1, 2))
    assert CAL.is_working_day(date(2026, 1, 10))
    # Wed 31 Dec 2025 + 1 working day: Thu 1 Jan holiday, Fri 2 Jan swapped off, weekend.
    assert CAL.due_at(at(2025, 12, 31, 10), 1, DAYS) == at(2026, 1, 5, 10)
    # Fri 9 Jan + 1 working day lands on the make-up Saturday.
    assert CAL.due_at(at(2026, 1, 9, 10), 1, DAYS) == at(2026, 1, 10, 10)


def test_new_year_2026_swap_cites_official_letter_12729() -> None:
    swaps = {s.day: s for s in shipped_calendar().in_year(2026)}
    assert swaps[date(2026, 1, 2)].kind == "day off"
    assert swaps[date(2026, 1, 10)].kind == "working day"
    assert "12729/VPCP-KGVX" in swaps[date(2026, 1, 2)].source
    assert "12729/VPCP-KGVX" in swaps[date(2026, 1, 10)].source


def test_every_shipped_swap_has_a_vietnamese_note_and_a_source() -> None:
    swaps = shipped_calendar().swaps
    assert len(swaps) == 8
    assert [s.day for s in swaps] == sorted(s.day for s in swaps)
    for swap in swaps:
        assert swap.kind in ("day off", "working day")
        assert swap.note and swap.source
        assert any(word in swap.note for word in ("Nghỉ", "Làm bù"))


def test_years_with_shipped_swaps_are_confirmed_and_the_next_one_is_not() -> None:
    assert confirmed_years() == [2024, 2025, 2026]
    assert is_confirmed(2026)
    assert not is_confirmed(2027)
    assert not is_confirmed(2023)


def test_a_new_year_is_added_by_editing_the_data_file_only() -> None:
    text = """
confirmed_years = [2027]

[[swap]]
date = 2027-05-03
kind = "day off"
note = "Nghỉ thứ Hai"
source = "Công văn X"
"""
    loaded = load_shipped_calendar(text)
    assert loaded.confirmed_years == {2027}
    assert loaded.days_off == {date(2027, 5, 3): "Nghỉ thứ Hai"}
    # A year with no swap at all can be confirmed too.
    assert load_shipped_calendar("confirmed_years = [2028]").swaps == ()


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('date = 2027-05-03\nkind = "holiday"\nnote = "n"\nsource = "s"', "kind must be"),
        ('date = 2027-05-03\nkind = "day off"\nnote = "n"', "note and its source"),
        ('date = "3/5/2027"\nkind = "day off"\nnote = "n"\nsource = "s"', "date must be"),
        ('date = 2031-05-03\nkind = "day off"\nnote = "n"\nsource = "s"', "not a confirmed"),
    ],
)
def test_a_malformed_swap_is_refused_with_its_reason(entry: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_shipped_calendar(f"confirmed_years = [2027]\n[[swap]]\n{entry}\n")


def test_a_day_listed_twice_is_refused() -> None:
    swap = '[[swap]]\ndate = 2027-05-03\nkind = "day off"\nnote = "n"\nsource = "s"\n'
    with pytest.raises(ValueError, match="listed twice"):
        load_shipped_calendar("confirmed_years = [2027]\n" + swap + swap)


# --- 2. holiday names in Vietnamese -------------------------------------------------------------


def test_public_holidays_2026_carry_their_vietnamese_names() -> None:
    names = dict(public_holidays(2026))
    assert names[date(2026, 1, 1)] == "Tết Dương lịch"
    assert names[date(2026, 2, 17)].startswith("Tết Nguyên Đán")
    assert names[date(2026, 4, 26)] == "Giỗ Tổ Hùng Vương"
    assert names[date(2026, 4, 27)] == "Giỗ Tổ Hùng Vương (nghỉ bù)"
    assert names[date(2026, 4, 30)] == "Ngày Chiến thắng"
    assert names[date(2026, 5, 1)] == "Ngày Quốc tế Lao động"
    assert names[date(2026, 9, 2)] == "Quốc khánh"
    assert names[date(2026, 11, 24)] == "Ngày Văn hóa Việt Nam"
    # The swapped Monday is a swap, listed with the shipped swaps, not a holiday.
    assert date(2026, 8, 31) not in names


def test_a_package_swap_day_reads_as_a_vietnamese_day_off() -> None:
    assert vietnamese_holiday_name("Day off (substituted from 08/22/2026)") == (
        "Ngày nghỉ (hoán đổi, làm bù ngày 22/08/2026)")
    assert vietnamese_holiday_name("Unknown Day") == "Unknown Day"


def test_the_effective_calendar_names_days_in_vietnamese() -> None:
    rows = {d: (name, kind) for d, name, kind in CAL.holidays_in(2026)}
    assert rows[date(2026, 9, 1)] == ("Quốc khánh", "holiday")
    assert rows[date(2026, 1, 2)][1] == "day off"
    assert "Tết Dương lịch" in rows[date(2026, 1, 2)][0]


# --- 3. calendar days: Civil Code 2015 Art. 148(5) ------------------------------------------


@pytest.mark.parametrize(
    ("received", "days", "due"),
    [
        # Fri 30 Jan 2026 + 3: Sat 31, Sun 1, Mon 2 Feb, a working day: ends at its close.
        (at(2026, 1, 30, 10), 3, at(2026, 2, 2, 17)),
        # Thu 29 Jan + 3 ends on Sun 1 Feb: the close of Monday.
        (at(2026, 1, 29, 10), 3, at(2026, 2, 2, 17)),
        # Wed 11 Feb + 3 ends on Sat 14 Feb, the start of Tết (16-20 Feb off): Mon 23 Feb.
        (at(2026, 2, 11, 10), 3, at(2026, 2, 23, 17)),
        # Fri 13 Feb + 4 ends on Tue 17 Feb, Tết itself: Mon 23 Feb.
        (at(2026, 2, 13, 9), 4, at(2026, 2, 23, 17)),
        # Wed 7 Jan + 3 ends on the make-up Saturday 10 Jan, a working day: no extension.
        (at(2026, 1, 7, 10), 3, at(2026, 1, 10, 17)),
        # Tue 30 Dec 2025 + 3 ends on Fri 2 Jan 2026, swapped off: Mon 5 Jan.
        (at(2025, 12, 30, 10), 3, at(2026, 1, 5, 17)),
        # Received after closing on Friday: counting starts from Monday, the day the desk
        # takes it in, so the third day is Thursday 5 Feb.
        (at(2026, 1, 30, 18), 3, at(2026, 2, 5, 17)),
        # Ten days from Tue 21 Apr 2026 end on Fri 1 May (holiday): Mon 4 May.
        (at(2026, 4, 21, 8), 10, at(2026, 5, 4, 17)),
    ],
)
def test_calendar_days_end_at_close_moved_to_next_working_day_off_a_holiday(
    received: datetime, days: int, due: datetime
) -> None:
    assert CAL.due_at(received, days, CALENDAR) == due


def test_an_admin_day_off_on_the_last_day_moves_a_calendar_day_deadline() -> None:
    cal = WorkCalendar(extra_days_off={date(2026, 2, 2): "Bão"})
    assert cal.due_at(at(2026, 1, 30, 10), 3, CALENDAR) == at(2026, 2, 3, 17)


def test_calendar_day_deadline_closes_with_the_office_hours() -> None:
    late_office = WorkCalendar(OfficeHours.parse("08:00-12:00,13:00-17:30"))
    assert late_office.due_at(at(2026, 1, 30, 10), 3, CALENDAR) == at(2026, 2, 2, 17, 30)


# --- 4. same day, next working day after the cut-off ----------------------------------------


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (at(2026, 3, 10, 9), at(2026, 3, 10, 17)),  # Tue morning: Tue close
        (at(2026, 3, 10, 6, 30), at(2026, 3, 10, 17)),  # before opening
        (at(2026, 3, 10, 12), at(2026, 3, 10, 17)),  # lunch, before the cut-off
        (at(2026, 3, 10, 15), at(2026, 3, 10, 17)),  # exactly 15:00 is not "after"
        (at(2026, 3, 10, 15, 1), at(2026, 3, 11, 17)),  # after the cut-off: Wed close
        (at(2026, 3, 10, 20), at(2026, 3, 11, 17)),  # evening
        (at(2026, 3, 13, 16), at(2026, 3, 16, 17)),  # Fri after cut-off: Mon close
        (at(2026, 3, 14, 9), at(2026, 3, 16, 17)),  # Saturday: Monday
        (at(2026, 2, 13, 15, 30), at(2026, 2, 23, 17)),  # Fri before Tết: after Tết
        (at(2026, 1, 10, 9), at(2026, 1, 10, 17)),  # the make-up Saturday works
        (at(2026, 1, 2, 9), at(2026, 1, 5, 17)),  # the swapped Friday is off
    ],
)
def test_same_day_is_the_close_of_the_day_or_of_the_next_working_day_after_cutoff(
    received: datetime, due: datetime
) -> None:
    assert CAL.due_at(received, 0, SAME_DAY) == due
    assert CAL.due_at(received, 0, SAME_DAY, cutoff=DEFAULT_CUTOFF) == due


def test_same_day_cutoff_is_per_procedure() -> None:
    assert CAL.due_at(at(2026, 3, 10, 10, 30), 0, SAME_DAY, cutoff=time(10)) == at(2026, 3, 11, 17)
    assert CAL.due_at(at(2026, 3, 10, 16), 0, SAME_DAY, cutoff=time(16, 30)) == at(2026, 3, 10, 17)


def test_same_day_never_falls_before_the_receipt_when_the_cutoff_is_after_closing() -> None:
    assert CAL.due_at(at(2026, 3, 10, 17, 30), 0, SAME_DAY, cutoff=time(18)) == at(2026, 3, 11, 17)


@pytest.mark.parametrize(
    ("text", "cutoff"),
    [
        ("same day", DEFAULT_CUTOFF),
        ("same day, cutoff 15:00", time(15)),
        ("Same-day cutoff 10:30", time(10, 30)),
        ("same day, cut-off 9:00", time(9)),
    ],
)
def test_parse_same_day_with_its_cutoff(text: str, cutoff: time) -> None:
    assert parse_duration(text) == LegalDuration(Decimal(0), SAME_DAY, cutoff)


@pytest.mark.parametrize("text", ["same day, cutoff 25:00", "same day cutoff noon", "same week"])
def test_parse_same_day_rejects_a_bad_cutoff(text: str) -> None:
    with pytest.raises(ValueError, match="cannot read duration"):
        parse_duration(text)


def test_same_day_is_spelled_back_the_way_it_is_read() -> None:
    assert format_duration(0, SAME_DAY, time(10, 30)) == "same day, cutoff 10:30"
    assert str(parse_duration("same day")) == "same day, cutoff 15:00"
    assert parse_duration(str(parse_duration("same day, cutoff 9:15"))).cutoff == time(9, 15)


@pytest.mark.parametrize(
    ("text", "vietnamese"),
    [
        ("15 working days", "15 ngày làm việc"),
        ("0.5 working days", "0,5 ngày làm việc"),
        ("4 working hours", "4 giờ làm việc"),
        ("30 calendar days", "30 ngày"),
        ("same day", "Trong ngày (nhận sau 15 giờ 00 trả vào ngày làm việc tiếp theo)"),
        ("same day, cutoff 10:30",
         "Trong ngày (nhận sau 10 giờ 30 trả vào ngày làm việc tiếp theo)"),
    ],
)
def test_durations_read_in_vietnamese_as_the_receipt_prints_them(
    text: str, vietnamese: str
) -> None:
    assert vietnamese_duration(parse_duration(text)) == vietnamese


def test_only_same_day_durations_have_a_cutoff() -> None:
    with pytest.raises(ValueError, match="only same-day"):
        LegalDuration(Decimal(1), DAYS, time(15))
    with pytest.raises(ValueError, match="no amount"):
        LegalDuration(Decimal(1), SAME_DAY)


# --- 10. the working time each unit guarantees a step plan ----------------------------------


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        ("15 working days", 120),
        ("4 working hours", 4),
        ("0.5 working days", 4),
        # Received Friday at 17:00: Sat, Sun, Mon, due at Monday's close.
        ("3 calendar days", 8),
        ("1 calendar day", 8),
        # Any seven days hold a whole Monday-Friday week.
        ("7 calendar days", 40),
        # Received Friday at closing: four weeks and a weekend, moved to Monday: 21 days.
        ("30 calendar days", 168),
        ("0 calendar days", 0),
        # From the cut-off to closing.
        ("same day", 2),
        ("same day, cutoff 10:00", 5),
        ("same day, cutoff 18:00", 0),
    ],
)
def test_guaranteed_working_time_of_each_unit(text: str, hours: int) -> None:
    assert guaranteed_working_time(parse_duration(text)) == timedelta(hours=hours)
