"""Turning timezone-aware datetimes into the local wording of Vietnamese forms."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import InvalidLabelData

DEFAULT_TZ = "Asia/Ho_Chi_Minh"
# Vietnam has kept UTC+7 without daylight saving since 1975; used when the platform has
# no tz database (Windows without the tzdata package).
_VIETNAM = timezone(timedelta(hours=7), "ICT")


def resolve_tz(tz: str | tzinfo) -> tzinfo:
    """Return a :class:`tzinfo` for an IANA name or pass a tzinfo through.

    :raises InvalidLabelData: for an unknown zone name.
    """
    if not isinstance(tz, str):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        if tz == DEFAULT_TZ:
            return _VIETNAM
        msg = f"Múi giờ không hợp lệ: {tz!r}."
        raise InvalidLabelData(msg, field="tz") from exc


def check_aware(value: object, label: str, *, field: str) -> datetime:
    """Check that ``value`` is a timezone-aware datetime.

    :raises InvalidLabelData: otherwise.
    """
    if not isinstance(value, datetime):
        msg = f"{label}: thiếu hoặc không phải ngày giờ."
        raise InvalidLabelData(msg, field=field)
    if value.tzinfo is None or value.utcoffset() is None:
        msg = f"{label}: ngày giờ thiếu múi giờ (cần datetime có tzinfo)."
        raise InvalidLabelData(msg, field=field)
    return value


def short(value: datetime, tz: tzinfo) -> str:
    """``22/11/2026 09:15`` in the given zone."""
    return value.astimezone(tz).strftime("%d/%m/%Y %H:%M")


def day_month(value: datetime, tz: tzinfo) -> tuple[str, str, str]:
    """Day, month and year as written on administrative documents.

    Nghị định 30/2020/NĐ-CP: days below 10 and the months 1 and 2 take a leading zero
    ("ngày 05 tháng 01", but "tháng 3").
    """
    local = value.astimezone(tz)
    month = f"{local.month:02d}" if local.month <= 2 else str(local.month)
    return f"{local.day:02d}", month, str(local.year)


def long_date(value: datetime, tz: tzinfo) -> str:
    """``ngày 05 tháng 01 năm 2026``."""
    day, month, year = day_month(value, tz)
    return f"ngày {day} tháng {month} năm {year}"


def long_datetime(value: datetime, tz: tzinfo) -> str:
    """``09 giờ 15 phút, ngày 22 tháng 11 năm 2026``."""
    local = value.astimezone(tz)
    return f"{local.hour:02d} giờ {local.minute:02d} phút, {long_date(value, tz)}"
