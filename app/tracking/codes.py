"""Dossier codes on the server: new tracking numbers and codes, upstream codes, scan references.

The rules themselves (Damm digit, official-code grammar, code patterns, scan normalization)
live in the stdlib-only :mod:`app.codes`, which the scanner agent imports too.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import current_app

from app.codes import (
    BADGE,
    CARD_KINDS,
    OFFICIAL_CODE_SHAPE,
    TRACKING_LENGTH,
    CodePatternError,
    SerialExhausted,
    UnreadableScan,
    code_pattern,
    damm_checksum,
    is_official_code,
    is_tracking_number,
    normalize_scan,
    read_scan,
)
from app.errors import ValidationError

if TYPE_CHECKING:
    from app.offices.models import Office

TRACKING_BODY_DIGITS = TRACKING_LENGTH - 1


def damm_digit(digits: str) -> int:
    """The Damm check digit of a string of decimal digits (0 for a complete, valid number)."""
    return damm_checksum(digits)


def is_valid_tracking_number(text: str) -> bool:
    return is_tracking_number(text)


def new_tracking_number() -> str:
    """A random 11-digit body (not guessable from a neighbour's) plus its Damm digit."""
    body = f"{secrets.randbelow(10**TRACKING_BODY_DIGITS):0{TRACKING_BODY_DIGITS}d}"
    return body + str(damm_digit(body))


def new_official_code(office: Office, day: dt.date, serial: int) -> str:
    """The office's code for the ``serial``-th dossier received on ``day``.

    :raises ValidationError: ``serial_exhausted`` when the serial overflows the pattern's width
        (never a silently longer code), ``bad_code_pattern`` when the office's stored pattern
        is not a valid code pattern.
    """
    try:
        return code_pattern(office.code_pattern, office.code).format(day, serial)
    except SerialExhausted as exc:
        raise ValidationError(f"office {office.code}: {exc}", code="serial_exhausted") from exc
    except CodePatternError as exc:
        msg = f"office {office.code}: {exc}; set a valid one with `tracker office code-pattern`"
        raise ValidationError(msg, code="bad_code_pattern") from exc


def _configured_upstream_patterns(province: str) -> list[str]:
    """``UPSTREAM_CODE_PATTERNS``: a list of regexes for every office, or a mapping of province
    key (``"*"`` for every province) to such lists."""
    setting: Any = current_app.config.get("UPSTREAM_CODE_PATTERNS") or []
    if isinstance(setting, Mapping):
        return [*setting.get("*", []), *setting.get(province, [])]
    if isinstance(setting, str):
        return [setting]
    return list(setting)


def _matches_any(code: str, patterns: Iterable[str]) -> bool:
    for pattern in patterns:
        try:
            if re.fullmatch(pattern, code):
                return True
        except re.error:
            current_app.logger.error("UPSTREAM_CODE_PATTERNS: invalid regex %r", pattern)
    return False


def upstream_code(office: Office, raw: str) -> str:
    """The normalized code of a dossier registered upstream, if it can be resolved later.

    It must be an official code (so scanners and the scan parser recognize it) in the
    receiving office's own code shape or a configured upstream shape.

    :raises ValidationError: ``bad_upstream_code``, naming the expected shapes.
    """
    code = normalize_scan(raw)
    if is_official_code(code):
        try:
            own = code_pattern(office.code_pattern, office.code)
        except CodePatternError:
            own = None
        patterns = _configured_upstream_patterns(office.province)
        if (own is not None and own.matches(code)) or _matches_any(code, patterns):
            return code
        shapes = ([own.shape] if own is not None else []) + patterns
        msg = (f"code {code[:64]!r} cannot be followed at office {office.code}: it matches "
               f"neither the office's code shape nor a configured upstream pattern "
               f"(expected {' or '.join(shapes) or 'nothing: none is configured'})")
    else:
        msg = f"code {code[:64]!r} is not an official dossier code ({OFFICIAL_CODE_SHAPE})"
    raise ValidationError(msg, code="bad_upstream_code")


@dataclass(frozen=True)
class ScannedRef:
    """A scanned text understood: which kind of reference it is, and its value."""

    kind: str  # "tracking_number" | "official_code"
    value: str


class BadReference(ValueError):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def parse_reference(text: str) -> ScannedRef:
    """Understand a scanned or typed reference: tracking number, official code or receipt URL.

    The same rule as the scanner agent's (:func:`app.codes.read_scan`).

    :raises BadReference: with ``reason`` ``bad_check_digit`` or ``unrecognized_code``.
    """
    try:
        ref = read_scan(text)
    except UnreadableScan as exc:
        reason = "bad_check_digit" if exc.reason == "bad_check_digit" else "unrecognized_code"
        raise BadReference(reason, exc.message) from exc
    if ref.kind in CARD_KINDS:
        what = "a staff badge" if ref.kind == BADGE else "an action card"
        msg = (f"{ref.text[:40]!r} is {what}, not a dossier code: scan it at a station "
               "before the files it applies to")
        raise BadReference("unrecognized_code", msg)
    return ScannedRef(ref.kind, ref.value)
