"""JSON in for the tracking API: validation of intake bodies (read models: read_models.py)."""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any

from app.errors import ValidationError


def iso(value: dt.datetime | None, tz: Any = None) -> str | None:
    if value is None:
        return None
    return (value.astimezone(tz) if tz is not None else value).isoformat()


def text(body: dict[str, Any], key: str, *, required: bool = False, max_len: int = 200,
         where: str = "") -> str:
    """A trimmed NFC string field, or a 422 naming the field."""
    name = f"{where}{key}"
    value = body.get(key)
    if value is None:
        if required:
            raise ValidationError(f"{name} is required", details={"field": name})
        return ""
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be a string", details={"field": name})
    value = unicodedata.normalize("NFC", value).strip()
    if required and not value:
        raise ValidationError(f"{name} must not be empty", details={"field": name})
    if len(value) > max_len:
        raise ValidationError(f"{name} is longer than {max_len} characters",
                              details={"field": name})
    return value
