"""Domain verbs for offices, stations and calendars; they flush, never commit."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from dataclasses import dataclass

import sqlalchemy as sa

from app.codes import (
    DEFAULT_CODE_PATTERN,
    DESTINATION_SHAPE,
    CodePatternError,
    code_pattern,
    is_place_code,
)
from app.db import cached_for, db, forget
from app.errors import Conflict, NotFound, ValidationError
from app.offices.models import CalendarOverride, Office, OverrideKind, Station, StationKind
from app.worktime import DEFAULT_TIMEZONE, OfficeHours, WorkCalendar

log = logging.getLogger(__name__)


def create_office(code: str, name: str, *, province: str, place: str = "",
                  timezone: str = "Asia/Ho_Chi_Minh",
                  office_hours: str = "07:00-11:30,13:30-17:00",
                  code_pattern: str = DEFAULT_CODE_PATTERN) -> Office:
    """Register a one-stop centre or agency.

    :raises ValidationError: an agency code cards and scans cannot carry (``bad_office_code``),
        bad office hours or time zone (``bad_office_hours``), code pattern (see
        :func:`app.codes.code_pattern`).
    :raises Conflict: the agency code exists (``office_exists``).
    """
    if not is_place_code(code):
        msg = f"office code {code!r}: an agency code is {DESTINATION_SHAPE}"
        raise ValidationError(msg, code="bad_office_code")
    _check_hours(office_hours, timezone)
    _check_code_pattern(code_pattern, code)
    if db.session.scalar(sa.select(Office.id).where(Office.code == code)) is not None:
        raise Conflict(f"office {code} exists already", code="office_exists")
    office = Office(code=code, name=name, province=province, place=place, timezone=timezone,
                    office_hours=office_hours, code_pattern=code_pattern)
    db.session.add(office)
    db.session.flush()
    log.info("office %s created", code)
    return office


def _check_hours(office_hours: str, timezone: str) -> None:
    try:
        OfficeHours.parse(office_hours)
        WorkCalendar(tz=timezone)
    except (ValueError, KeyError) as exc:
        raise ValidationError(f"office settings are invalid: {exc}",
                              code="bad_office_hours") from exc


def update_office(office: Office, *, name: str, place: str, office_hours: str,
                  code_pattern: str) -> Office:
    """Change an office's name, place, hours and code pattern (its agency code stays: dossier
    codes, cards and scans carry it).

    :raises ValidationError: bad office hours or code pattern.
    """
    if not name.strip():
        raise ValidationError("an office needs a name")
    _check_hours(office_hours, office.timezone)
    if code_pattern != office.code_pattern:
        set_code_pattern(office, code_pattern)
    if office_hours != office.office_hours:
        forget("calendar")
    office.name, office.place, office.office_hours = name.strip(), place.strip(), office_hours
    db.session.flush()
    log.info("office %s updated", office.code)
    return office


def _check_code_pattern(pattern: str, agency: str) -> None:
    try:
        code_pattern(pattern, agency)
    except CodePatternError as exc:
        raise ValidationError(str(exc), code="bad_code_pattern") from exc


def set_code_pattern(office: Office, pattern: str) -> None:
    """Change the pattern of the office's new codes (existing dossiers keep theirs).

    Widening the serial (``{serial:04d}`` → ``{serial:05d}``) is how an office that receives
    more dossiers a day than its serial allows keeps receiving them.

    :raises ValidationError: a pattern that could issue codes scanners cannot read back.
    """
    _check_code_pattern(pattern, office.code)
    office.code_pattern = pattern
    db.session.flush()
    log.info("office %s code pattern set to %s", office.code, pattern)


def get_office(code: str) -> Office:
    """:raises NotFound: no office has that agency code."""
    office = db.session.scalar(sa.select(Office).where(Office.code == code))
    if office is None:
        raise NotFound(f"no office with code {code}")
    return office


def add_station(office: Office, code: str, name: str, kind: StationKind) -> Station:
    """Add a scan point to an office.

    :raises ValidationError: a code cards and scans cannot carry (``bad_station_code``).
    :raises Conflict: the station code is taken (``station_exists``).
    """
    code = code.strip().upper()
    if not is_place_code(code):
        msg = f"station code {code!r}: a station code is {DESTINATION_SHAPE}"
        raise ValidationError(msg, code="bad_station_code")
    if db.session.scalar(sa.select(Station.id).where(Station.code == code)) is not None:
        raise Conflict(f"station {code} exists already", code="station_exists")
    station = Station(office=office, code=code, name=name, kind=kind)
    db.session.add(station)
    db.session.flush()
    log.info("station %s added to %s", code, office.code)
    return station


def update_station(station: Station, *, name: str, kind: StationKind, active: bool) -> Station:
    """Rename a station, change its kind, or take it out of (or back into) service; an
    inactive station keeps its history but no scan is placed there."""
    if not name.strip():
        raise ValidationError("a station needs a name")
    station.name, station.kind, station.active = name.strip(), kind, active
    db.session.flush()
    log.info("station %s updated", station.code)
    return station


def get_station(code: str) -> Station:
    station = db.session.scalar(sa.select(Station).where(Station.code == code.strip().upper()))
    if station is None:
        raise NotFound(f"no station with code {code}")
    return station


def _override_row(office_id: int | None, day: dt.date) -> CalendarOverride | None:
    return db.session.scalar(sa.select(CalendarOverride).where(
        CalendarOverride.office_id.is_(None) if office_id is None
        else CalendarOverride.office_id == office_id,
        CalendarOverride.day == day))


def set_calendar_override(office: Office | None, day: dt.date, kind: OverrideKind,
                          note: str = "") -> CalendarOverride:
    """Declare an extra day off or a make-up working day (for one office or everywhere)."""
    office_id = office.id if office else None
    forget("calendar")  # every office's: a province-wide change touches all of them
    row = _override_row(office_id, day)
    if row is None:
        row = CalendarOverride(office_id=office_id, day=day, kind=kind, note=note)
        db.session.add(row)
    else:
        row.kind, row.note = kind, note
    db.session.flush()
    return row


def remove_calendar_override(office: Office | None, day: dt.date) -> CalendarOverride:
    """Remove the override of ``day`` for one office, or the one for all offices.

    The day is then whatever the public holidays, the shipped swaps and (for one office) the
    all-offices overrides make it.

    :param office: the office whose own override goes; ``None`` for the all-offices one.
    :param day: the overridden day.
    :returns: the removed row (detached once flushed), for the caller's message.
    :raises NotFound: no such override (``no_override``).
    """
    row = _override_row(office.id if office else None, day)
    if row is None:
        scope = f"office {office.code}" if office else "all offices"
        msg = f"no calendar override on {day.isoformat()} for {scope}"
        raise NotFound(msg, code="no_override")
    forget("calendar")
    db.session.delete(row)
    db.session.flush()
    log.info("calendar override of %s removed (%s)", day, office.code if office else "all")
    return row


@dataclass(frozen=True)
class OverrideView:
    """An admin override as the calendar screens show it."""

    day: dt.date
    kind: OverrideKind
    note: str
    office_code: str | None  # None: all offices
    # Set on an all-offices row that the listed office replaces with its own.
    superseded: bool = False


def calendar_overrides(year: int, office: Office | None = None) -> list[OverrideView]:
    """The admin overrides of ``year``, with their note and scope, by day.

    :param year: the calendar year.
    :param office: only the overrides that apply to this office (the all-offices ones and its
        own; an all-offices one it overrides is marked ``superseded``); ``None``: every
        override of every office.
    """
    stmt = (sa.select(CalendarOverride, Office.code)
            .outerjoin(Office, Office.id == CalendarOverride.office_id)
            .where(CalendarOverride.day >= dt.date(year, 1, 1),
                   CalendarOverride.day <= dt.date(year, 12, 31)))
    if office is not None:
        stmt = stmt.where(sa.or_(CalendarOverride.office_id.is_(None),
                                 CalendarOverride.office_id == office.id))
    rows = db.session.execute(stmt).all()
    own_days = {row.day for row, code in rows if office is not None and code is not None}
    views = [OverrideView(row.day, row.kind, row.note, code,
                          superseded=code is None and row.day in own_days)
             for row, code in rows]
    return sorted(views, key=lambda v: (v.day, v.office_code is not None, v.office_code or ""))


@functools.lru_cache(maxsize=256)
def _calendar(hours: str, tz: str, days_off: tuple[dt.date, ...],
              working: tuple[dt.date, ...]) -> WorkCalendar:
    return WorkCalendar(OfficeHours.parse(hours), tz, extra_days_off=days_off,
                        extra_working_days=working)


_Overrides = tuple[tuple[dt.date, ...], tuple[dt.date, ...]]  # (days off, working days)


def calendar_for(office: Office) -> WorkCalendar:
    """The office's working calendar: public holidays, shipped swaps and admin overrides."""
    return calendar_of(office.id)


def station_office(station_id: int) -> int:
    """The office of the station ``station_id`` (a station never moves to another office),
    kept per server process: the ingest needs it for the stay each scan ends."""
    return cached_for("station_office", station_id, lambda: db.session.execute(
        sa.select(Station.office_id).where(Station.id == station_id)).scalar_one())


def calendar_of(office_id: int) -> WorkCalendar:
    """The working calendar of the office ``office_id``, without loading the office.

    Office hours and overrides are kept per server process (:func:`app.db.cached_for`): every
    scan's feedback needs the calendar, and they change a few times a year.
    """
    hours, tz, days_off, working = cached_for("calendar", office_id,
                                              lambda: _calendar_parts(office_id))
    return _calendar(hours, tz, days_off, working)


def _calendar_parts(office_id: int) -> tuple[str, str, tuple[dt.date, ...], tuple[dt.date, ...]]:
    hours, tz = db.session.execute(sa.select(Office.office_hours, Office.timezone)
                                   .where(Office.id == office_id)).one()
    return (hours, tz, *_load_overrides(office_id))


def shared_calendar() -> WorkCalendar:
    """The calendar of no office in particular: standard hours, the all-offices overrides."""
    hours = OfficeHours()
    return _calendar(str(hours), DEFAULT_TIMEZONE, *_load_overrides(None))


def _load_overrides(office_id: int | None) -> _Overrides:
    """The office's extra days off and make-up working days (its own beat province-wide ones);
    only the all-offices ones when ``office_id`` is ``None``."""
    scope: sa.ColumnElement[bool] = CalendarOverride.office_id.is_(None)
    if office_id is not None:
        scope = sa.or_(scope, CalendarOverride.office_id == office_id)
    rows = db.session.execute(
        sa.select(CalendarOverride.day, CalendarOverride.kind, CalendarOverride.office_id)
        .where(scope).order_by(CalendarOverride.day)).all()
    by_day: dict[dt.date, OverrideKind] = {}
    for day, kind, _office in sorted(rows, key=lambda r: r.office_id is not None):
        by_day[day] = kind
    days_off = tuple(d for d, k in sorted(by_day.items()) if k is OverrideKind.DAY_OFF)
    working = tuple(d for d, k in sorted(by_day.items()) if k is OverrideKind.WORKING_DAY)
    return days_off, working
