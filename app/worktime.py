"""Working-time arithmetic for dossier deadlines.

Deadlines in a one-stop office are counted in *working time*: only the office's opening periods
on working days count, public holidays and government day swaps included.  This module is pure
(stdlib + ``holidays``) so the server, the CLI and the reports all share one definition.

Conventions:

* Every datetime going in must be timezone-aware (:class:`ValueError` otherwise); computations
  happen on the office's local wall clock and every datetime coming out is in the office's zone.
* Office periods are half-open, ``[start, end)``: an instant exactly at 11:30 is *not* inside the
  morning period, so work received then starts at 13:30.  A due instant, on the other hand, may
  fall exactly at a period end and stays there (11:30, 17:00).
* One working day is always :data:`HOURS_PER_WORKING_DAY` hours, whatever the office's actual
  daily opening time, because durations are defined by law in hours.
"""

from __future__ import annotations

import datetime
import enum
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

__all__ = [
    "DEFAULT_OFFICE_HOURS",
    "DEFAULT_TIMEZONE",
    "HOURS_PER_WORKING_DAY",
    "SHIPPED_DAYS_OFF",
    "SHIPPED_WORKING_DAYS",
    "DurationUnit",
    "OfficeHours",
    "WorkCalendar",
    "format_duration",
    "parse_duration",
    "working_duration",
]

date = datetime.date
time = datetime.time
timedelta = datetime.timedelta

HOURS_PER_WORKING_DAY = 8
DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"

_ONE_DAY = timedelta(days=1)
# A calendar with no working day in ten years is misconfigured; stop instead of looping forever.
_MAX_SEARCH_DAYS = 3660


class DurationUnit(enum.Enum):
    """Unit of a procedure's legal duration.

    The member *names* are what the database stores, the values are the human spelling used by
    :func:`parse_duration` and :func:`format_duration`.
    """

    WORKING_HOURS = "working hours"
    WORKING_DAYS = "working days"
    CALENDAR_DAYS = "calendar days"


_DURATION_RE = re.compile(
    r"^\s*(?P<amount>\d+(?:\.\d+)?)\s+(?P<kind>working|calendar)\s+(?P<what>hours?|days?)\s*$",
    re.IGNORECASE,
)


def parse_duration(text: str) -> tuple[Decimal, DurationUnit]:
    """Parse a procedure duration such as ``"15 working days"`` or ``"0.5 working days"``.

    Accepted units are ``working hours``, ``working days`` and ``calendar days`` (singular forms
    are accepted too, case does not matter).  Calendar days must be whole days.

    :param text: the duration as written in the procedure catalogue.
    :returns: the amount and its unit.
    :raises ValueError: if the text is not a non-negative amount followed by a known unit.
    """
    match = _DURATION_RE.match(text)
    if match is None:
        raise ValueError(
            f"cannot read duration {text!r}: expected e.g. '15 working days', "
            "'4 working hours', '0.5 working days' or '30 calendar days'"
        )
    amount = Decimal(match["amount"])
    kind = match["kind"].lower()
    what = match["what"].lower().rstrip("s")
    if kind == "calendar" and what == "hour":
        raise ValueError(
            f"cannot read duration {text!r}: 'calendar hours' is not a unit; "
            "use working hours, working days or calendar days"
        )
    unit = {
        ("working", "hour"): DurationUnit.WORKING_HOURS,
        ("working", "day"): DurationUnit.WORKING_DAYS,
        ("calendar", "day"): DurationUnit.CALENDAR_DAYS,
    }[(kind, what)]
    if unit is DurationUnit.CALENDAR_DAYS and amount != amount.to_integral_value():
        raise ValueError(f"cannot read duration {text!r}: calendar days must be a whole number")
    return amount, unit


def format_duration(amount: Decimal | int | float, unit: DurationUnit) -> str:
    """Spell a duration the way :func:`parse_duration` reads it (``"1 working day"``).

    :param amount: the amount of ``unit``.
    :param unit: the unit.
    :returns: e.g. ``"15 working days"``, ``"1 working day"``, ``"0.5 working days"``.
    :raises ValueError: if the amount is negative or not finite.
    """
    value = _to_decimal(amount)
    # normalize() drops trailing zeros stored by Numeric columns; 'f' avoids '1E+1'.
    text = format(value.normalize(), "f")
    words = unit.value
    if value == 1:
        words = words[:-1]
    return f"{text} {words}"


def working_duration(amount: Decimal | int | float, unit: DurationUnit) -> timedelta:
    """Convert an amount of working hours or working days to a working-time length.

    :param amount: the amount of ``unit``; half days are fine (0.5 day = 4 hours).
    :param unit: :attr:`DurationUnit.WORKING_HOURS` or :attr:`DurationUnit.WORKING_DAYS`.
    :returns: the length of working time, exact to the microsecond.
    :raises ValueError: for calendar days (they are not working time) or a negative amount.
    """
    value = _to_decimal(amount)
    if unit is DurationUnit.WORKING_HOURS:
        hours = value
    elif unit is DurationUnit.WORKING_DAYS:
        hours = value * HOURS_PER_WORKING_DAY
    else:
        raise ValueError("calendar days are not working time; use WorkCalendar.due_at")
    micros = (hours * 3_600_000_000).to_integral_value(rounding=ROUND_HALF_EVEN)
    return timedelta(microseconds=int(micros))


def _to_decimal(amount: Decimal | int | float) -> Decimal:
    # bool is an int subclass; True as "1 day" is always a caller bug.
    if isinstance(amount, bool) or not isinstance(amount, Decimal | int | float):
        raise TypeError(f"duration amount must be a number, not {type(amount).__name__}")
    try:
        # str() of a float is its shortest repr: 0.1 stays 0.1, not 0.1000000000000000055...
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    except InvalidOperation as exc:  # pragma: no cover - str() of a number always parses
        raise ValueError(f"invalid duration amount {amount!r}") from exc
    if not value.is_finite():
        raise ValueError(f"duration amount must be finite, not {amount!r}")
    if value < 0:
        raise ValueError(f"duration amount must not be negative, got {amount!r}")
    return value


# --------------------------------------------------------------------------------------------
# Office hours
# --------------------------------------------------------------------------------------------

_WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_WEEKDAY_LOOKUP = {
    **{name.lower(): i for i, name in enumerate(_WEEKDAY_NAMES)},
    **{
        full: i
        for i, full in enumerate(
            ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        )
    },
}
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


def _parse_clock(text: str, spec: str) -> time:
    match = _TIME_RE.match(text.strip())
    if match is None:
        raise ValueError(f"office hours {spec!r}: {text.strip()!r} is not a time like 07:00")
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    try:
        return time(hour, minute, second)
    except ValueError as exc:
        raise ValueError(f"office hours {spec!r}: {text.strip()!r} is not a valid time") from exc


def _format_clock(t: time) -> str:
    return t.strftime("%H:%M:%S" if t.second else "%H:%M")


def _parse_weekdays(spec: str) -> frozenset[int]:
    days: set[int] = set()
    for item in spec.split(","):
        item = item.strip()
        if not item:
            raise ValueError(f"weekdays {spec!r}: empty item; expected e.g. 'Mon-Fri'")
        first, sep, last = item.partition("-")
        try:
            lo = _WEEKDAY_LOOKUP[first.strip().lower()]
            hi = _WEEKDAY_LOOKUP[last.strip().lower()] if sep else lo
        except KeyError as exc:
            raise ValueError(
                f"weekdays {spec!r}: unknown day {exc.args[0]!r}; use Mon, Tue, ... Sun"
            ) from None
        # Ranges may wrap around the week ('Sun-Thu') for offices with another weekend.
        days.update((lo + i) % 7 for i in range((hi - lo) % 7 + 1))
    return frozenset(days)


def _format_weekdays(days: frozenset[int]) -> str:
    if len(days) == 7:
        return "Mon-Sun"
    # Start each run at a day whose predecessor is closed, so a week like Sun-Thu stays one run.
    run_starts = sorted(d for d in days if (d - 1) % 7 not in days)
    if len(run_starts) == 1 and run_starts[0] != 0:
        first = run_starts[0]
        last = next(d for d in ((first + i) % 7 for i in range(7)) if (d + 1) % 7 not in days)
        if len(days) >= 3:
            return f"{_WEEKDAY_NAMES[first]}-{_WEEKDAY_NAMES[last]}"
    parts: list[str] = []
    ordered = sorted(days)
    start = prev = ordered[0]
    for day in [*ordered[1:], None]:
        if day is not None and day == prev + 1:
            prev = day
            continue
        if prev - start >= 2:
            parts.append(f"{_WEEKDAY_NAMES[start]}-{_WEEKDAY_NAMES[prev]}")
        else:
            parts.extend(_WEEKDAY_NAMES[d] for d in range(start, prev + 1))
        if day is not None:
            start = prev = day
    return ",".join(parts)


@dataclass(frozen=True)
class OfficeHours:
    """When an office is open: the same periods on each of its weekdays.

    :param periods: ordered, non-overlapping ``(start, end)`` local wall-clock times.
    :param weekdays: the open weekdays, Monday = 0.
    :raises ValueError: if the periods are empty, reversed, unordered or overlapping, or the
        weekdays are empty or out of range.
    """

    periods: tuple[tuple[time, time], ...] = (
        (time(7, 0), time(11, 30)),
        (time(13, 30), time(17, 0)),
    )
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})

    def __post_init__(self) -> None:
        # Normalise lists coming from JSON/config so the instance stays hashable.
        object.__setattr__(self, "periods", tuple(tuple(p) for p in self.periods))
        object.__setattr__(self, "weekdays", frozenset(self.weekdays))
        if not self.periods:
            raise ValueError("office hours need at least one opening period")
        previous_end: time | None = None
        for period in self.periods:
            if len(period) != 2:
                raise ValueError(f"opening period {period!r} must be a (start, end) pair")
            start, end = period
            if not isinstance(start, time) or not isinstance(end, time):
                raise ValueError(f"opening period {period!r} must be made of datetime.time")
            if start.tzinfo is not None or end.tzinfo is not None:
                raise ValueError("opening periods are local wall-clock times; drop the tzinfo")
            if start >= end:
                raise ValueError(
                    f"opening period {_format_clock(start)}-{_format_clock(end)} "
                    "must end after it starts"
                )
            if previous_end is not None and start < previous_end:
                raise ValueError(
                    f"opening period starting {_format_clock(start)} overlaps or precedes the "
                    f"one ending {_format_clock(previous_end)}; list periods in order"
                )
            previous_end = end
        if not self.weekdays:
            raise ValueError("office hours need at least one open weekday")
        if not all(isinstance(d, int) and 0 <= d <= 6 for d in self.weekdays):
            raise ValueError(f"weekdays must be integers 0 (Monday) to 6, got {set(self.weekdays)}")

    @classmethod
    def parse(cls, spec: str, weekdays: str = "Mon-Fri") -> OfficeHours:
        """Read office hours from configuration text.

        :param spec: comma-separated periods, e.g. ``"07:00-11:30,13:30-17:00"``.
        :param weekdays: comma-separated days or ranges, e.g. ``"Mon-Fri"``, ``"Mon-Fri,Sat"``.
        :returns: the parsed office hours.
        :raises ValueError: if a time is malformed, a period is reversed, the periods are not in
            order or overlap, or a weekday name is unknown.
        """
        periods: list[tuple[time, time]] = []
        if not spec.strip():
            raise ValueError("office hours spec is empty; expected e.g. '07:00-11:30,13:30-17:00'")
        for item in spec.split(","):
            start, sep, end = item.partition("-")
            if not sep:
                raise ValueError(
                    f"office hours {spec!r}: {item.strip()!r} is not a period like 07:00-11:30"
                )
            periods.append((_parse_clock(start, spec), _parse_clock(end, spec)))
        return cls(periods=tuple(periods), weekdays=_parse_weekdays(weekdays))

    def __str__(self) -> str:
        return ",".join(f"{_format_clock(s)}-{_format_clock(e)}" for s, e in self.periods)

    @property
    def weekdays_spec(self) -> str:
        """The weekdays as :meth:`parse` reads them, e.g. ``"Mon-Fri"``."""
        return _format_weekdays(self.weekdays)

    @property
    def daily_length(self) -> timedelta:
        """Total opening time of one working day (7:00-11:30 + 13:30-17:00 is 8 hours)."""
        return sum((_offset(e) - _offset(s) for s, e in self.periods), timedelta())


DEFAULT_OFFICE_HOURS = OfficeHours()


def _offset(t: time) -> timedelta:
    """Time of day as a distance from midnight, so periods can be compared and subtracted."""
    return timedelta(hours=t.hour, minutes=t.minute, seconds=t.second, microseconds=t.microsecond)


# --------------------------------------------------------------------------------------------
# Holidays and government day swaps
# --------------------------------------------------------------------------------------------

# The government moves days off by Official Dispatch each year.  holidays.VN (0.109) already
# lists these days off; we ship them anyway so older package versions (setup.cfg allows
# >= 0.60) still get them right.
SHIPPED_DAYS_OFF: dict[date, str] = {
    date(2024, 4, 29): "Day off (swapped with Saturday 4 May 2024)",
    date(2025, 5, 2): "Day off (swapped with Saturday 26 April 2025)",
    date(2026, 8, 31): "Day off (swapped with Saturday 22 August 2026)",
}

# The package never lists the Saturdays worked in exchange; without these a deadline spanning
# the swap would be one working day late.
SHIPPED_WORKING_DAYS: dict[date, str] = {
    date(2024, 5, 4): "Make-up working day (for Monday 29 April 2024)",
    date(2025, 4, 26): "Make-up working day (for Friday 2 May 2025)",
    date(2026, 8, 22): "Make-up working day (for Monday 31 August 2026)",
}

# The package labels swap days "Day off (substituted from ...)" in en_US; we use the prefix to
# report them as days off rather than holidays when shipped swaps are disabled.
_PACKAGE_DAY_OFF_PREFIX = "Day off"


@functools.cache
def _public_holidays(year: int) -> Mapping[date, str]:
    # Building holidays.VN costs ~0.1 s the first time; every calendar shares this cache.
    # The language is fixed so names and the day-off prefix do not depend on the host locale.
    return dict(holidays.country_holidays("VN", years=year, language="en_US"))


def _normalise_days(
    days: Mapping[date, str] | Iterable[date], default_name: str, what: str
) -> dict[date, str]:
    items = days.items() if isinstance(days, Mapping) else ((d, default_name) for d in days)
    result: dict[date, str] = {}
    for day, name in items:
        # A datetime is a date subclass but never equals a date, so it would silently not match.
        if isinstance(day, datetime.datetime) or not isinstance(day, date):
            raise TypeError(f"{what} must be datetime.date values, got {day!r}")
        result[day] = name or default_name
    return result


@dataclass(frozen=True)
class _YearTable:
    first_ordinal: int
    working: tuple[bool, ...]
    # cumulative[i] = number of working days before day index i of the year.
    cumulative: tuple[int, ...]


# --------------------------------------------------------------------------------------------
# The calendar
# --------------------------------------------------------------------------------------------


class WorkCalendar:
    """An office's working calendar: opening hours, time zone, holidays and overrides.

    Precedence for a given day, strongest first: an extra day off, an extra working day, a
    shipped make-up working day, a shipped day off or a public holiday, then the weekday.

    :param hours: the office's opening periods and weekdays.
    :param tz: the office's time zone, as a name or a :class:`~zoneinfo.ZoneInfo`.
    :param extra_days_off: admin-entered days off, as dates or a date-to-reason mapping.
    :param extra_working_days: admin-entered working days (e.g. a make-up Saturday).
    :param public_holidays: whether to take Vietnamese public holidays from ``holidays``.
    :param shipped_swaps: whether to apply :data:`SHIPPED_DAYS_OFF` and
        :data:`SHIPPED_WORKING_DAYS`.
    :raises ValueError: if the time zone is unknown.
    :raises TypeError: if an extra day is not a :class:`datetime.date`.
    """

    def __init__(
        self,
        hours: OfficeHours = DEFAULT_OFFICE_HOURS,
        tz: str | ZoneInfo = DEFAULT_TIMEZONE,
        *,
        extra_days_off: Mapping[date, str] | Iterable[date] = (),
        extra_working_days: Mapping[date, str] | Iterable[date] = (),
        public_holidays: bool = True,
        shipped_swaps: bool = True,
    ) -> None:
        if isinstance(tz, str):
            try:
                tz = ZoneInfo(tz)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"unknown time zone {tz!r}") from exc
        self._hours = hours
        self._tz = tz
        self._extra_off = _normalise_days(extra_days_off, "Day off (office)", "extra_days_off")
        self._extra_work = _normalise_days(
            extra_working_days, "Working day (office)", "extra_working_days"
        )
        self._public = public_holidays
        self._shipped = shipped_swaps
        self._periods = tuple((_offset(s), _offset(e)) for s, e in hours.periods)
        self._day_length = hours.daily_length
        self._day_start = self._periods[0][0]
        self._day_end = self._periods[-1][1]
        self._years: dict[int, _YearTable] = {}

    def __repr__(self) -> str:
        return (
            f"WorkCalendar(hours={str(self._hours)!r}, weekdays={self._hours.weekdays_spec!r}, "
            f"tz={self._tz.key!r}, extra_days_off={len(self._extra_off)}, "
            f"extra_working_days={len(self._extra_work)})"
        )

    @property
    def hours(self) -> OfficeHours:
        """The office's opening hours."""
        return self._hours

    @property
    def tz(self) -> ZoneInfo:
        """The office's time zone; every returned datetime is in it."""
        return self._tz

    # -- days -------------------------------------------------------------------------------

    def _classify(self, d: date) -> bool:
        if d in self._extra_off:
            return False
        if d in self._extra_work:
            return True
        if self._shipped:
            if d in SHIPPED_WORKING_DAYS:
                return True
            if d in SHIPPED_DAYS_OFF:
                return False
        if self._public and d in _public_holidays(d.year):
            return False
        return d.weekday() in self._hours.weekdays

    def _table(self, year: int) -> _YearTable:
        table = self._years.get(year)
        if table is None:
            first = date(year, 1, 1).toordinal()
            length = date(year + 1, 1, 1).toordinal() - first if year < date.max.year else 365
            working = tuple(self._classify(date.fromordinal(first + i)) for i in range(length))
            cumulative = [0]
            for flag in working:
                cumulative.append(cumulative[-1] + flag)
            table = _YearTable(first, working, tuple(cumulative))
            # A plain dict store is atomic under the GIL; a race only computes a year twice.
            self._years[year] = table
        return table

    def is_working_day(self, d: date) -> bool:
        """Whether the office works on day ``d``.

        :param d: a calendar day (not a datetime: convert instants with ``astimezone(cal.tz)``).
        :returns: ``True`` on a working day.
        :raises TypeError: if ``d`` is a datetime, whose day would depend on the time zone.
        """
        if isinstance(d, datetime.datetime):
            raise TypeError("is_working_day takes a date; use t.astimezone(calendar.tz).date()")
        table = self._table(d.year)
        return table.working[d.toordinal() - table.first_ordinal]

    def _working_days_in(self, first: date, stop: date) -> int:
        """Number of working days ``d`` with ``first <= d < stop``, without looping by day."""
        if stop <= first:
            return 0
        total = 0
        day = first
        while day.year < stop.year:
            table = self._table(day.year)
            total += table.cumulative[-1] - table.cumulative[day.toordinal() - table.first_ordinal]
            day = date(day.year + 1, 1, 1)
        table = self._table(day.year)
        return total + (
            table.cumulative[stop.toordinal() - table.first_ordinal]
            - table.cumulative[day.toordinal() - table.first_ordinal]
        )

    def _next_working_day(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        for _ in range(_MAX_SEARCH_DAYS):
            d += _ONE_DAY
            if self.is_working_day(d):
                return d
        raise ValueError(f"no working day within {_MAX_SEARCH_DAYS} days after {d}")

    def holidays_in(self, year: int) -> list[tuple[date, str, str]]:
        """Everything that makes ``year`` differ from the office's plain weekly pattern.

        Days whose status is unchanged are left out, e.g. a holiday falling on a Sunday (its
        weekday replacement is listed) or an extra working day on an ordinary Tuesday.

        :param year: the calendar year.
        :returns: sorted ``(day, name, kind)`` tuples; ``kind`` is ``"holiday"`` (public holiday),
            ``"day off"`` (government swap or admin day off) or ``"working day"`` (a day
            worked outside the usual weekdays, such as a make-up Saturday).
        """
        public = _public_holidays(year) if self._public else {}
        shipped_off = SHIPPED_DAYS_OFF if self._shipped else {}
        shipped_work = SHIPPED_WORKING_DAYS if self._shipped else {}
        candidates = {
            d
            for source in (public, shipped_off, shipped_work, self._extra_off, self._extra_work)
            for d in source
            if d.year == year
        }
        result: list[tuple[date, str, str]] = []
        for d in sorted(candidates):
            working = self.is_working_day(d)
            if working == (d.weekday() in self._hours.weekdays):
                continue
            if working:
                name = self._extra_work.get(d) or shipped_work[d]
                result.append((d, name, "working day"))
            elif d in public and not public[d].startswith(_PACKAGE_DAY_OFF_PREFIX):
                result.append((d, public[d], "holiday"))
            else:
                name = self._extra_off.get(d) or shipped_off.get(d) or public[d]
                result.append((d, name, "day off"))
        return result

    # -- instants ---------------------------------------------------------------------------

    def _local(self, t: datetime.datetime, what: str) -> datetime.datetime:
        """``t`` as a naive local wall-clock time in the office zone."""
        if not isinstance(t, datetime.datetime):
            raise TypeError(f"{what} must be a datetime, got {type(t).__name__}")
        if t.tzinfo is None or t.utcoffset() is None:
            raise ValueError(f"{what} must be timezone-aware, got naive {t.isoformat()}")
        return t.astimezone(self._tz).replace(tzinfo=None)

    def _aware(self, day: date, offset: timedelta) -> datetime.datetime:
        return (datetime.datetime.combine(day, time()) + offset).replace(tzinfo=self._tz)

    def _next_working_local(self, local: datetime.datetime) -> datetime.datetime | None:
        """Naive local start of working time at or after ``local``; ``None`` if ``local`` is
        already inside a period (then the caller keeps ``local`` itself)."""
        day = local.date()
        if self.is_working_day(day):
            offset = local - datetime.datetime.combine(day, time())
            for start, end in self._periods:
                if offset < end:
                    if offset >= start:
                        return None
                    return datetime.datetime.combine(day, time()) + start
        day = self._next_working_day(day)
        return datetime.datetime.combine(day, time()) + self._day_start

    def next_working_instant(self, t: datetime.datetime) -> datetime.datetime:
        """When the office can first act on something arriving at ``t``.

        :param t: an aware instant.
        :returns: ``t`` itself (in the office zone) if it is inside opening hours, otherwise the
            start of the next opening period: 13:30 during lunch or exactly at 11:30, the next
            working morning after closing (17:00 included) or on a day off.
        :raises ValueError: if ``t`` is naive.
        """
        local = self._local(t, "t")
        start = self._next_working_local(local)
        if start is None:
            return t.astimezone(self._tz)
        return start.replace(tzinfo=self._tz)

    def add_working_time(self, start: datetime.datetime, duration: timedelta) -> datetime.datetime:
        """The instant when ``duration`` of working time has elapsed since ``start``.

        Counting starts at :meth:`next_working_instant` of ``start``.  A result falling exactly
        at the end of a period stays there (11:30, 17:00) instead of moving to the next opening.
        Works day by day, never minute by minute.

        :param start: an aware instant.
        :param duration: working time to add, not negative.
        :returns: the aware instant in the office zone.
        :raises ValueError: if ``start`` is naive or ``duration`` is negative.
        """
        local = self._local(start, "start")
        if duration < timedelta():
            raise ValueError(f"duration must not be negative, got {duration}")
        begin = self._next_working_local(local) or local
        if not duration:
            return self.next_working_instant(start)
        day = begin.date()
        position = begin - datetime.datetime.combine(day, time())
        remaining = duration
        while True:
            for period_start, period_end in self._periods:
                if period_end <= position:
                    continue
                segment_start = max(period_start, position)
                available = period_end - segment_start
                if remaining <= available:
                    return self._aware(day, segment_start + remaining)
                remaining -= available
            # Whole days are consumed without looking at their periods.
            day = self._next_working_day(day)
            while remaining > self._day_length:
                remaining -= self._day_length
                day = self._next_working_day(day)
            position = timedelta()

    def _working_time_on(self, day: date, lo: timedelta, hi: timedelta) -> timedelta:
        """Opening time of ``day`` overlapping ``[lo, hi)`` (offsets from midnight)."""
        if not self.is_working_day(day):
            return timedelta()
        total = timedelta()
        for start, end in self._periods:
            overlap = min(end, hi) - max(start, lo)
            if overlap > timedelta():
                total += overlap
        return total

    def working_time_between(self, a: datetime.datetime, b: datetime.datetime) -> timedelta:
        """Working time elapsed from ``a`` to ``b``: only opening-hours overlap counts.

        This is the single definition reports use (time taken, time left, lateness).  It costs
        a constant number of operations per calendar year spanned, thanks to cached per-year
        working-day counts.

        :param a: an aware instant.
        :param b: an aware instant.
        :returns: the working time, negative when ``b`` is before ``a``.
        :raises ValueError: if either instant is naive.
        """
        local_a = self._local(a, "a")
        local_b = self._local(b, "b")
        if local_b < local_a:
            return -self._between(local_b, local_a)
        return self._between(local_a, local_b)

    def _between(self, a: datetime.datetime, b: datetime.datetime) -> timedelta:
        day_a, day_b = a.date(), b.date()
        offset_a = a - datetime.datetime.combine(day_a, time())
        offset_b = b - datetime.datetime.combine(day_b, time())
        if day_a == day_b:
            return self._working_time_on(day_a, offset_a, offset_b)
        full_days = self._working_days_in(day_a + _ONE_DAY, day_b)
        return (
            self._working_time_on(day_a, offset_a, _ONE_DAY)
            + full_days * self._day_length
            + self._working_time_on(day_b, timedelta(), offset_b)
        )

    def due_at(
        self,
        received_at: datetime.datetime,
        amount: Decimal | int | float,
        unit: DurationUnit,
    ) -> datetime.datetime:
        """The deadline of a dossier received at ``received_at``.

        * Working hours / working days: ``amount`` of working time (1 day = 8 hours, so half a
          day is 4 hours) added with :meth:`add_working_time`.  Received at 16:55 with one
          working day, it is due at 16:55 on the next working day.
        * Calendar days: the same local wall-clock time ``amount`` days later, *even if that
          lands on a weekend or holiday*.  The law for those procedures counts calendar days
          and does not extend them, and moving the deadline would make the tracker report
          dossiers as on time that the national index counts as late.
        * A zero amount, whatever the unit, means "as soon as the office can act": the result
          is :meth:`next_working_instant` of ``received_at``.

        :param received_at: the aware instant the dossier was received.
        :param amount: the procedure's duration; calendar days must be whole.
        :param unit: the duration's unit.
        :returns: the aware due instant in the office zone.
        :raises ValueError: if ``received_at`` is naive, the amount negative, or calendar days
            fractional.
        """
        value = _to_decimal(amount)
        local = self._local(received_at, "received_at")
        if not value:
            return self.next_working_instant(received_at)
        if unit is DurationUnit.CALENDAR_DAYS:
            if value != value.to_integral_value():
                raise ValueError(f"calendar days must be a whole number, got {amount!r}")
            return (local + timedelta(days=int(value))).replace(tzinfo=self._tz)
        return self.add_working_time(received_at, working_duration(value, unit))
