"""Dossier codes: the official code, the numeric tracking number and what a scan may carry."""

from __future__ import annotations

import datetime as dt
import secrets
import unicodedata
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from scanner_agent.codes import damm_checksum

TRACKING_BODY_DIGITS = 11


def damm_digit(digits: str) -> int:
    """The Damm check digit of a string of decimal digits (0 for a complete, valid number).

    Damm's quasigroup catches every single-digit error and every adjacent transposition, which
    Luhn and the GS1 mod-10 digit do not. The scanner agent checks numbers before sending them,
    so both sides share its one implementation (a stdlib-only module of the agent).
    """
    return damm_checksum(digits)


def is_valid_tracking_number(text: str) -> bool:
    return (len(text) == TRACKING_BODY_DIGITS + 1 and text.isascii() and text.isdigit()
            and damm_digit(text) == 0)


def new_tracking_number() -> str:
    """A random 11-digit body (not guessable from a neighbour's) plus its Damm digit."""
    body = f"{secrets.randbelow(10**TRACKING_BODY_DIGITS):0{TRACKING_BODY_DIGITS}d}"
    return body + str(damm_digit(body))


def format_official_code(pattern: str, agency: str, day: dt.date, serial: int) -> str:
    """Fill a code pattern such as ``{agency}-{yymmdd}-{serial:04d}``.

    :raises ValueError: when the pattern names an unknown field or the serial overflows it.
    """
    try:
        code = pattern.format(agency=agency, yymmdd=day.strftime("%y%m%d"),
                              yyyymmdd=day.strftime("%Y%m%d"), serial=serial)
    except (KeyError, IndexError, ValueError) as exc:
        msg = f"code pattern {pattern!r} is invalid: {exc}"
        raise ValueError(msg) from exc
    return code


def normalize_scan(text: str) -> str:
    """What a scanner sent, as the server compares it: NFC, trimmed, control characters gone."""
    text = unicodedata.normalize("NFC", text)
    return "".join(ch for ch in text if unicodedata.category(ch)[0] != "C").strip()


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

    :raises BadReference: with ``reason`` ``bad_check_digit`` or ``unrecognized_code``.
    """
    text = normalize_scan(text)
    if text.lower().startswith(("http://", "https://")):
        parts = urlsplit(text)
        segments = [unquote(s) for s in parts.path.split("/") if s]
        if len(segments) >= 2 and segments[-2] == "lookup":
            return parse_reference(segments[-1])
        msg = "the scanned link is not a dossier receipt link"
        raise BadReference("unrecognized_code", msg)
    compact = text.replace(" ", "")
    if compact.isascii() and compact.isdigit():
        if len(compact) == TRACKING_BODY_DIGITS + 1:
            if is_valid_tracking_number(compact):
                return ScannedRef("tracking_number", compact)
            msg = f"tracking number {compact} has a wrong check digit (misread?)"
            raise BadReference("bad_check_digit", msg)
    # Official codes come from a configurable pattern and from upstream systems: accept any
    # printable token of sane length and let the database say whether it exists.
    if 4 <= len(compact) <= 64 and compact.isprintable():
        return ScannedRef("official_code", compact.upper())
    msg = f"{text[:40]!r} is not a dossier code, tracking number or receipt link"
    raise BadReference("unrecognized_code", msg)
