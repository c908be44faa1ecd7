"""Normalizing and recognizing scanned codes before they are queued.

The agent's own small copy of the code rules (it never imports ``app``): a tracking number is
12 digits whose last digit is a Damm check digit; an official dossier code matches a
configurable pattern after uppercasing; a receipt QR is an ``http(s)://host/lookup/<official
code>?t=<secret>`` URL, sent whole (the server parses it).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

#: The standard Damm quasigroup (weakly totally anti-symmetric, order 10).
DAMM_TABLE: tuple[tuple[int, ...], ...] = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)

DEFAULT_OFFICIAL_PATTERN = r"^[A-Z0-9][A-Z0-9.]*-\d{6}(\d{2})?-\d{4,7}$"
TRACKING_LENGTH = 12

TRACKING = "tracking_number"
OFFICIAL = "official_code"
RECEIPT_URL = "receipt_url"

_URL_RE = re.compile(r"^https?://([^/?#\s]+)/lookup/([^/?#\s]+)/?(\?[^#\s]*)?$", re.IGNORECASE)
_CONTROL_OR_SPACE = re.compile(r"[\s\x00-\x1f\x7f]+")


def damm_checksum(digits: str) -> int:
    """Return the Damm interim digit of ``digits`` (0 means the check digit is right).

    :raises ValueError: if ``digits`` contains anything but ASCII digits.
    """
    interim = 0
    for ch in digits:
        if not ("0" <= ch <= "9"):
            msg = f"not a digit: {ch!r}"
            raise ValueError(msg)
        interim = DAMM_TABLE[interim][ord(ch) - 48]
    return interim


def damm_check_digit(digits: str) -> str:
    """Return the check digit to append to ``digits``."""
    return str(damm_checksum(digits))


def make_tracking_number(body: str) -> str:
    """Append the Damm check digit to an 11-digit body.

    :raises ValueError: if ``body`` is not 11 ASCII digits.
    """
    if len(body) != TRACKING_LENGTH - 1 or not body.isascii() or not body.isdigit():
        msg = f"a tracking number body is {TRACKING_LENGTH - 1} digits, got {body!r}"
        raise ValueError(msg)
    return body + damm_check_digit(body)


def is_tracking_number(code: str) -> bool:
    """True for 12 ASCII digits with a valid Damm check digit."""
    return (
        len(code) == TRACKING_LENGTH
        and code.isascii()
        and code.isdigit()
        and damm_checksum(code) == 0
    )


def normalize(raw: str) -> str:
    """Normalize a scan: NFC, surrounding whitespace and control characters removed.

    A receipt URL keeps its case (its secret may be case-sensitive) but loses inner
    whitespace; anything else is also uppercased and loses all whitespace, since no code
    contains spaces and scanners or people add them (``"h12.22 - 261122-0001 "``).
    """
    text = unicodedata.normalize("NFC", raw)
    text = _CONTROL_OR_SPACE.sub("", text)
    if _URL_RE.match(text):
        return text
    return text.upper()


@dataclass(frozen=True)
class Recognized:
    """A scan that is worth sending.

    :param code: the normalized code, sent to the server as is.
    :param kind: ``tracking_number``, ``official_code`` or ``receipt_url``.
    """

    code: str
    kind: str


@dataclass(frozen=True)
class Unrecognized:
    """A scan rejected locally, with the reason shown to the operator."""

    code: str
    reason: str
    message: str


class CodeRules:
    """Recognizes scans with a configurable official-code pattern."""

    def __init__(self, official_pattern: str = DEFAULT_OFFICIAL_PATTERN) -> None:
        self.official = re.compile(official_pattern)

    def is_official(self, code: str) -> bool:
        """True if ``code`` (already uppercased) matches the official-code pattern."""
        return bool(self.official.match(code))

    def recognize(self, raw: str) -> Recognized | Unrecognized:
        """Normalize ``raw`` and say what it is, or why it is not sent."""
        code = normalize(raw)
        if not code:
            return Unrecognized(code, "empty", "empty scan")
        if len(code) > 512:
            return Unrecognized(code[:64], "too_long", "scan longer than 512 characters")
        url = _URL_RE.match(code)
        if url:
            if self.is_official(url.group(2).upper()):
                return Recognized(code, RECEIPT_URL)
            return Unrecognized(code, "bad_url", "a link, but not to a dossier receipt")
        if code.isascii() and code.isdigit():
            if is_tracking_number(code):
                return Recognized(code, TRACKING)
            if len(code) == TRACKING_LENGTH:
                return Unrecognized(code, "bad_check_digit", "tracking number misread")
            return Unrecognized(code, "unknown_format", "not a dossier code")
        if self.is_official(code):
            return Recognized(code, OFFICIAL)
        return Unrecognized(code, "unknown_format", "not a dossier code")
