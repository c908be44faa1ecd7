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
import importlib.resources
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

__all__ = [
    "DEFAULT_CUTOFF",
    "DEFAULT_OFFICE_HOURS",
    "DEFAULT_TIMEZONE",
    "HOURS_PER_WORKING_DAY",
    "DurationUnit",
    "LegalDuration",
    "OfficeHours",
    "ShippedCalendar",
    "ShippedSwap",
    "WorkCalendar",
    "confirmed_years",
    "format_duration",
    "guaranteed_working_time",
    "is_confirmed",
    "load_shipped_calendar",
    "parse_duration",
    "public_holidays",
    "shipped_calendar",
    "vietnamese_duration",
    "vietnamese_holiday_name",
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
    # "Trả trong ngày": the close of the receiving day, or of the next working day when the
    # dossier comes in after the procedure's cut-off time (15:00 at most desks).
    SAME_DAY = "same day"


# The cut-off most desks use for same-day procedures ("nhận trước 15 giờ, trả trong ngày").
DEFAULT_CUTOFF = time(15, 0)


@dataclass(frozen=True)
class LegalDuration:
    """A procedure's legal duration as :func:`parse_duration` reads it.

    :param amount: the number of ``unit``; always 0 for :attr:`DurationUnit.SAME_DAY`.
    :param unit: the unit.
    :param cutoff: for :attr:`DurationUnit.SAME_DAY` only, the local time after which a
        dossier is due at the close of the next working day instead of the same day.
    :raises ValueError: a cut-off on another unit, or a same-day duration with an amount.
    """

    amount: Decimal
    unit: DurationUnit
    cutoff: time | None = None

    def __post_init__(self) -> None:
        if self.unit is DurationUnit.SAME_DAY:
            if self.amount != 0:
                raise ValueError("a same-day duration has no amount")
            if self.cutoff is None:
                object.__setattr__(self, "cutoff", DEFAULT_CUTOFF)
        elif self.cutoff is not None:
            raise ValueError(f"only same-day durations have a cut-off, not {self.unit.value}")

    def __str__(self) -> str:
        return format_duration(self.amount, self.unit, self.cutoff)


_DURATION_RE = re.compile(
    r"^\s*(?P<amount>\d+(?:\.\d+)?)\s+(?P<kind>working|calendar)\s+(?P<what>hours?|days?)\s*$",
    re.IGNORECASE,
)
_SAME_DAY_RE = re.compile(
    r"^\s*same[\s-]+day\s*(?:,?\s*cut-?off\s+(?P<cutoff>\S+))?\s*$", re.IGNORECASE
)


def parse_duration(text: str) -> LegalDuration:
    """Parse a procedure duration such as ``"15 working days"`` or ``"same day, cutoff 15:00"``.

    Accepted units are ``working hours``, ``working days``, ``calendar days`` (singular forms
    are accepted too, case does not matter) and ``same day`` with an optional cut-off
    (:data:`DEFAULT_CUTOFF`, 15:00, when omitted).  Calendar days must be whole days.

    :param text: the duration as written in the procedure catalogue.
    :returns: the amount, unit and (same day only) cut-off.
    :raises ValueError: if the text is not a non-negative amount followed by a known unit, or
        ``same day`` with a cut-off that is not a time like ``15:00``.
    """
    same_day = _SAME_DAY_RE.match(text)
    if same_day is not None:
        cutoff = DEFAULT_CUTOFF
        if same_day["cutoff"] is not None:
            match = _TIME_RE.match(same_day["cutoff"])
            try:
                if match is None:
                    raise ValueError
                cutoff = time(int(match[1]), int(match[2]), int(match[3] or 0))
            except ValueError:
                raise ValueError(
                    f"cannot read duration {text!r}: the cut-off must be a time like 15:00"
                ) from None
        return LegalDuration(Decimal(0), DurationUnit.SAME_DAY, cutoff)
    match = _DURATION_RE.match(text)
    if match is None:
        raise ValueError(
            f"cannot read duration {text!r}: expected e.g. '15 working days', "
            "'4 working hours', '0.5 working days', '30 calendar days' or "
            "'same day, cutoff 15:00'"
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
    return LegalDuration(amount, unit)


def format_duration(
    amount: Decimal | int | float, unit: DurationUnit, cutoff: time | None = None
) -> str:
    """Spell a duration the way :func:`parse_duration` reads it (``"1 working day"``).

    :param amount: the amount of ``unit`` (ignored for the same-day unit).
    :param unit: the unit.
    :param cutoff: the same-day cut-off; :data:`DEFAULT_CUTOFF` when ``None``.
    :returns: e.g. ``"15 working days"``, ``"1 working day"``, ``"0.5 working days"``,
        ``"same day, cutoff 15:00"``.
    :raises ValueError: if the amount is negative or not finite.
    """
    if unit is DurationUnit.SAME_DAY:
        return f"same day, cutoff {_format_clock(cutoff or DEFAULT_CUTOFF)}"
    value = _to_decimal(amount)
    # normalize() drops trailing zeros stored by Numeric columns; 'f' avoids '1E+1'.
    text = format(value.normalize(), "f")
    words = unit.value
    if value == 1:
        words = words[:-1]
    return f"{text} {words}"


_UNIT_VI = {
    DurationUnit.WORKING_HOURS: "giờ làm việc",
    DurationUnit.WORKING_DAYS: "ngày làm việc",
    DurationUnit.CALENDAR_DAYS: "ngày",
}


def vietnamese_duration(duration: LegalDuration) -> str:
    """The duration as a receipt says it: ``15 ngày làm việc``, ``0,5 ngày làm việc``,
    ``30 ngày``, ``Trong ngày (nhận sau 15 giờ 00 trả vào ngày làm việc tiếp theo)``."""
    if duration.unit is DurationUnit.SAME_DAY:
        cutoff = duration.cutoff or DEFAULT_CUTOFF
        return (f"Trong ngày (nhận sau {cutoff.hour} giờ {cutoff.minute:02d} trả vào ngày làm "
                "việc tiếp theo)")
    number = f"{duration.amount.normalize():f}".replace(".", ",")
    return f"{number} {_UNIT_VI[duration.unit]}"


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
        raise ValueError(
            f"{unit.value} are not a length of working time; use WorkCalendar.due_at, or "
            "guaranteed_working_time to compare them with working hours"
        )
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

# The government swaps days by official letter each year; both halves of every published swap
# are shipped in one data file (app/data/vn_calendar.toml), easy to extend each year.
_SHIPPED_FILE = "vn_calendar.toml"
_SWAP_KINDS = ("day off", "working day")


@dataclass(frozen=True)
class ShippedSwap:
    """One day of a government swap: a weekday given off or a Saturday worked in exchange.

    :param day: the calendar day.
    :param kind: ``"day off"`` or ``"working day"``.
    :param note: what the day is, in Vietnamese.
    :param source: the document that decided it.
    """

    day: date
    kind: str
    note: str
    source: str


@dataclass(frozen=True)
class ShippedCalendar:
    """The swaps shipped with the tracker, and the years whose swaps are all published."""

    confirmed_years: frozenset[int]
    swaps: tuple[ShippedSwap, ...]

    @property
    def days_off(self) -> dict[date, str]:
        return {s.day: s.note for s in self.swaps if s.kind == "day off"}

    @property
    def working_days(self) -> dict[date, str]:
        return {s.day: s.note for s in self.swaps if s.kind == "working day"}

    def in_year(self, year: int) -> list[ShippedSwap]:
        return [s for s in self.swaps if s.day.year == year]


def load_shipped_calendar(text: str) -> ShippedCalendar:
    """Read the swaps file (TOML: ``confirmed_years`` and one ``[[swap]]`` table per day).

    :param text: the file's content.
    :returns: the swaps, sorted by day.
    :raises ValueError: a malformed file: a swap without date, kind, note or source, an
        unknown kind, a day listed twice, or a swap in a year not listed as confirmed.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"calendar swaps file: {exc}") from exc
    years = data.get("confirmed_years", [])
    if not isinstance(years, list) or not all(
        isinstance(y, int) and not isinstance(y, bool) for y in years
    ):
        raise ValueError("calendar swaps file: confirmed_years must be a list of years")
    swaps: dict[date, ShippedSwap] = {}
    for i, entry in enumerate(data.get("swap", []), start=1):
        where = f"calendar swaps file, swap {i}"
        day = entry.get("date")
        if isinstance(day, datetime.datetime) or not isinstance(day, date):
            raise ValueError(f"{where}: date must be a day like 2026-01-02")
        kind = entry.get("kind")
        if kind not in _SWAP_KINDS:
            raise ValueError(f"{where} ({day}): kind must be 'day off' or 'working day'")
        note, source = entry.get("note"), entry.get("source")
        if not isinstance(note, str) or not note or not isinstance(source, str) or not source:
            raise ValueError(f"{where} ({day}): a swap needs a note and its source")
        if day in swaps:
            raise ValueError(f"{where}: {day} is listed twice")
        if day.year not in years:
            raise ValueError(f"{where}: {day} is in {day.year}, not a confirmed year")
        swaps[day] = ShippedSwap(day, kind, note, source)
    return ShippedCalendar(frozenset(years), tuple(swaps[d] for d in sorted(swaps)))


@functools.cache
def shipped_calendar() -> ShippedCalendar:
    """The swaps shipped in ``app/data/vn_calendar.toml`` (read once per process)."""
    resource = importlib.resources.files("app").joinpath("data", _SHIPPED_FILE)
    return load_shipped_calendar(resource.read_text(encoding="utf-8"))


def is_confirmed(year: int) -> bool:
    """Whether the government's day swaps for ``year`` are published and shipped.

    Swaps are announced late in the year before; until they are in the shipped file, deadlines
    of that year may be a day off around the holidays and every admin screen should say so.
    """
    return year in shipped_calendar().confirmed_years


def confirmed_years() -> list[int]:
    """The years whose swaps are shipped, in order."""
    return sorted(shipped_calendar().confirmed_years)


# The package labels swap days "Day off (substituted from ...)" in en_US; we use the prefix to
# report them as days off rather than holidays when shipped swaps are disabled.
_PACKAGE_DAY_OFF_PREFIX = "Day off"

# The package's en_US names (fixed, unlike its translations across versions) in Vietnamese.
_VIETNAMESE_NAMES = {
    "New Year's Day": "Tết Dương lịch",
    "29 of Lunar New Year": "Tết Nguyên Đán (29 Tết)",
    "Lunar New Year's Eve": "Tết Nguyên Đán (Giao thừa)",
    "Lunar New Year": "Tết Nguyên Đán (Mùng một)",
    "Second Day of Lunar New Year": "Tết Nguyên Đán (Mùng hai)",
    "Third Day of Lunar New Year": "Tết Nguyên Đán (Mùng ba)",
    "Fourth Day of Lunar New Year": "Tết Nguyên Đán (Mùng bốn)",
    "Fifth Day of Lunar New Year": "Tết Nguyên Đán (Mùng năm)",
    "Hung Kings' Commemoration Day": "Giỗ Tổ Hùng Vương",
    "Liberation Day/Reunification Day": "Ngày Chiến thắng",
    "International Labor Day": "Ngày Quốc tế Lao động",
    "National Day": "Quốc khánh",
    "Vietnam Cultural Day": "Ngày Văn hóa Việt Nam",
}
_OBSERVED_RE = re.compile(r"^(?P<name>.+) \(observed\)$")
_SUBSTITUTED_RE = re.compile(r"^Day off \(substituted from (\d{2})/(\d{2})/(\d{4})\)$")


def vietnamese_holiday_name(name: str) -> str:
    """The Vietnamese name of a holiday as the ``holidays`` package spells it in en_US.

    :param name: e.g. ``"Hung Kings' Commemoration Day (observed)"``.
    :returns: e.g. ``"Giỗ Tổ Hùng Vương (nghỉ bù)"``; an unknown name is returned unchanged.
    """
    observed = _OBSERVED_RE.match(name)
    if observed is not None:
        return f"{vietnamese_holiday_name(observed['name'])} (nghỉ bù)"
    substituted = _SUBSTITUTED_RE.match(name)
    if substituted is not None:
        month, day, year = substituted.groups()
        return f"Ngày nghỉ (hoán đổi, làm bù ngày {day}/{month}/{year})"
    return _VIETNAMESE_NAMES.get(name, name)


@functools.cache
def _public_holidays(year: int) -> Mapping[date, str]:
    # Building holidays.VN costs ~0.1 s the first time; every calendar shares this cache.
    # The language is fixed so names and the day-off prefix do not depend on the host locale.
    return dict(holidays.country_holidays("VN", years=year, language="en_US"))


def public_holidays(year: int) -> list[tuple[date, str]]:
    """The public holidays of ``year`` (Labour Code 2019 Art. 112) with Vietnamese names.

    Days the package lists only because of a government swap are left out: the shipped swaps
    list those (see :func:`shipped_calendar`).

    :param year: the calendar year.
    :returns: sorted ``(day, Vietnamese name)`` pairs, weekend holidays and the weekdays
        observed in their place included.
    """
    return [
        (d, vietnamese_holiday_name(name))
        for d, name in sorted(_public_holidays(year).items())
        if not name.startswith(_PACKAGE_DAY_OFF_PREFIX)
    ]


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
    :param shipped_swaps: whether to apply the government swaps of :func:`shipped_calendar`.
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
        shipped = shipped_calendar()
        self._shipped_off = shipped.days_off if shipped_swaps else {}
        self._shipped_work = shipped.working_days if shipped_swaps else {}
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
        if d in self._shipped_work:
            return True
        if d in self._shipped_off:
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
        shipped_off, shipped_work = self._shipped_off, self._shipped_work
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
                result.append((d, vietnamese_holiday_name(public[d]), "holiday"))
            else:
                name = (self._extra_off.get(d) or shipped_off.get(d)
                        or vietnamese_holiday_name(public[d]))
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

    def close_of(self, d: date) -> datetime.datetime:
        """The office's closing instant on day ``d`` (the end of its last opening period).

        :param d: a calendar day.
        :returns: e.g. 17:00 that day, aware, in the office zone.
        """
        return self._aware(d, self._day_end)

    def due_at(
        self,
        received_at: datetime.datetime,
        amount: Decimal | int | float,
        unit: DurationUnit,
        *,
        cutoff: time | None = None,
    ) -> datetime.datetime:
        """The deadline of a dossier received at ``received_at``.

        * Working hours / working days: ``amount`` of working time (1 day = 8 hours, so half a
          day is 4 hours) added with :meth:`add_working_time`.  Received at 16:55 with one
          working day, it is due at 16:55 on the next working day.
        * Calendar days (Civil Code 2015 Art. 147-148): counting starts the day after the
          dossier is received (the day of :meth:`next_working_instant`, so one received after
          closing or on a day off counts from the next working day), and the period ends at
          the close of its last day; when that last day is a weekend, holiday or day off, it
          ends at the close of the next working day (Art. 148(5)).  "Close" is the end of the
          office's last opening period, when the result can still be handed back.
        * Same day: the close of the receiving day when the dossier comes in on a working day
          no later than ``cutoff`` (and before closing); otherwise the close of the next working
          day.  ``amount`` is ignored.
        * A zero amount of any other unit means "as soon as the office can act": the result
          is :meth:`next_working_instant` of ``received_at``.

        :param received_at: the aware instant the dossier was received.
        :param amount: the procedure's duration; calendar days must be whole.
        :param unit: the duration's unit.
        :param cutoff: the same-day cut-off, local wall-clock time; :data:`DEFAULT_CUTOFF`
            (15:00) when ``None``.  Ignored by the other units.
        :returns: the aware due instant in the office zone.
        :raises ValueError: if ``received_at`` is naive, the amount negative, or calendar days
            fractional.
        """
        local = self._local(received_at, "received_at")
        if unit is DurationUnit.SAME_DAY:
            return self._same_day_due(local, cutoff or DEFAULT_CUTOFF)
        value = _to_decimal(amount)
        if not value:
            return self.next_working_instant(received_at)
        if unit is DurationUnit.CALENDAR_DAYS:
            if value != value.to_integral_value():
                raise ValueError(f"calendar days must be a whole number, got {amount!r}")
            start = self._next_working_local(local) or local
            return self._calendar_days_due(start.date(), int(value))
        return self.add_working_time(received_at, working_duration(value, unit))

    def _calendar_days_due(self, event_day: date, days: int) -> datetime.datetime:
        last = event_day + timedelta(days=days)
        if not self.is_working_day(last):
            last = self._next_working_day(last)
        return self.close_of(last)

    def _same_day_due(self, local: datetime.datetime, cutoff: time) -> datetime.datetime:
        day = local.date()
        offset = local - datetime.datetime.combine(day, time())
        if self.is_working_day(day) and local.time() <= cutoff and offset < self._day_end:
            return self.close_of(day)
        return self.close_of(self._next_working_day(day))


# A Monday: the reference week of guaranteed_working_time (holidays are switched off there).
_REFERENCE_MONDAY = date(2024, 1, 1)


@functools.lru_cache(maxsize=64)
def guaranteed_working_time(
    duration: LegalDuration, hours: OfficeHours = DEFAULT_OFFICE_HOURS
) -> timedelta:
    """The working time a legal duration always leaves the office, whenever a dossier arrives.

    This is what a procedure's step budgets (in working hours) are checked against:

    * working hours and working days: the duration itself (1 day = 8 hours);
    * calendar days: the fewest working hours between the receipt and the deadline over an
      ordinary Monday-Friday week without holidays, for a dossier received at closing time
      on any working day.  E.g. 3 calendar days received on a Friday at 17:00 end at the close
      of Monday: 8 hours; 7 calendar days always hold 5 working days: 40 hours.  Holidays
      (Tết) shorten a calendar-day period further; the check asks for a plan that fits an
      ordinary week, each dossier is still measured against its real deadline;
    * same day: the working time from the cut-off to closing (15:00 to 17:00: 2 hours), the
      least a dossier received just before the cut-off has, unless after-cut-off receipts
      (whose next working day is a whole working day) leave less.

    :param duration: the legal duration.
    :param hours: the office hours the week is built from; the standard ones by default, since
        a procedure is shared by offices.
    :returns: the guaranteed working time (zero for a zero duration).
    """
    if duration.unit in (DurationUnit.WORKING_HOURS, DurationUnit.WORKING_DAYS):
        return working_duration(duration.amount, duration.unit)
    if duration.unit is DurationUnit.CALENDAR_DAYS and not duration.amount:
        return timedelta()
    week = WorkCalendar(hours, public_holidays=False, shipped_swaps=False)
    days = [_REFERENCE_MONDAY + timedelta(days=i) for i in range(7)]
    spans: list[timedelta] = []
    for day in filter(week.is_working_day, days):
        if duration.unit is DurationUnit.CALENDAR_DAYS:
            received = week.close_of(day)
            due = week._calendar_days_due(day, int(duration.amount))
            spans.append(week.working_time_between(received, due))
        else:
            assert duration.cutoff is not None  # LegalDuration sets the default
            close = week.close_of(day)
            # The last instant still due today, and the first one due the next working day.
            last_same_day = week._aware(day, min(_offset(duration.cutoff), week._day_end))
            spans.append(week.working_time_between(last_same_day, close))
            next_close = week.close_of(week._next_working_day(day))
            spans.append(week.working_time_between(close, next_close))
    return min(spans)
