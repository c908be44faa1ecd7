"""The dossier code rules, shared by the server and the scanner agent (standard library only).

The scanner agent imports this one module of ``app`` (``app/__init__.py`` imports nothing but the
standard library at module level), so it must never import Flask, SQLAlchemy or another ``app``
module. What it holds:

- **Tracking numbers**: 12 ASCII digits, an 11-digit body and a Damm check digit.
- **Official codes**: what an office's code pattern generates, or what an upstream one-door
  system registered. After normalization a code is 4 to 64 characters of ``A-Z``, ``0-9`` and the
  separators ``.``, ``-`` and ``_``, begins and ends with a letter or digit, holds at least one
  digit and is not all digits (so it is never taken for a tracking number). Nothing outside
  this grammar is ever issued or followed, so whatever the server registers, the agent sends
  and the server's scan parser resolves.
- **Code patterns**: ``str.format`` templates of literal text and the fields ``{agency}``,
  ``{yymmdd}`` / ``{yyyymmdd}`` and ``{serial:0Nd}``. Serials restart every day, so a pattern
  needs the serial and a date, and the serial a fixed width (its capacity per day).
- **Receipt URLs**: ``http(s)://host[/prefix]/lookup/<reference>[?t=secret]``.
- **Cards**: staff badges (``$B-<badge>``) and action cards (``$A-<ACTION>``; a send card
  names where the file goes: ``$A-SEND-<office or station code>``). The reserved prefix ``$``
  is outside the official-code alphabet and never a digit, so a card is never a dossier code;
  :func:`read_scan` recognizes it before any dossier rule, as kind ``badge`` (value: the
  badge, uppercased) or ``action`` (value: the scan action, or ``logout`` / ``default``; a
  send card's ``destination``). What a station does with them is :mod:`app.station`.
- **Scan normalization**: NFC, whitespace and control or format characters removed,
  uppercased (a receipt URL keeps its case: its secret is in it).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import string
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

# --- tracking numbers: 11 digits + Damm ------------------------------------------------------

TRACKING_LENGTH = 12

#: The standard Damm quasigroup (weakly totally anti-symmetric, order 10). Damm's digit catches
#: every single-digit error and every adjacent transposition, which Luhn and GS1 mod 10 do not.
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


def damm_checksum(digits: str) -> int:
    """The Damm interim digit of ``digits``: 0 for a complete, valid number.

    :raises ValueError: if ``digits`` holds anything but ASCII digits.
    """
    interim = 0
    for ch in digits:
        if not ("0" <= ch <= "9"):
            msg = f"not a digit: {ch!r}"
            raise ValueError(msg)
        interim = DAMM_TABLE[interim][ord(ch) - 48]
    return interim


def damm_check_digit(digits: str) -> str:
    """The check digit to append to ``digits``."""
    return str(damm_checksum(digits))


def make_tracking_number(body: str) -> str:
    """Append the Damm check digit to an 11-digit body.

    :raises ValueError: if ``body`` is not 11 ASCII digits.
    """
    if len(body) != TRACKING_LENGTH - 1 or not body.isascii() or not body.isdigit():
        msg = f"a tracking number body is {TRACKING_LENGTH - 1} digits, got {body!r}"
        raise ValueError(msg)
    return body + damm_check_digit(body)


def is_tracking_number(text: str) -> bool:
    """True for 12 ASCII digits whose last one is the Damm check digit."""
    return (len(text) == TRACKING_LENGTH and text.isascii() and text.isdigit()
            and damm_checksum(text) == 0)


# --- official codes ----------------------------------------------------------------------------

OFFICIAL_CODE_MIN = 4
OFFICIAL_CODE_MAX = 64  # the width of dossier.code
OFFICIAL_CODE_SHAPE = ("4 to 64 characters of A-Z, 0-9 and . - _, beginning and ending with a "
                       "letter or digit, with at least one digit and not all digits")
_OFFICIAL_CODE_RE = re.compile(
    rf"(?=[A-Z0-9._-]{{{OFFICIAL_CODE_MIN},{OFFICIAL_CODE_MAX}}}\Z)"  # length and alphabet
    r"(?=.*[0-9])(?![0-9]*\Z)"  # a digit somewhere, and not digits only
    r"[A-Z0-9](?:[A-Z0-9._-]*[A-Z0-9])?"
)


def is_official_code(code: str) -> bool:
    """True if the normalized ``code`` is in the official-code grammar."""
    return _OFFICIAL_CODE_RE.fullmatch(code) is not None


# --- code patterns -----------------------------------------------------------------------------

DEFAULT_CODE_PATTERN = "{agency}-{yymmdd}-{serial:04d}"
_DATE_FIELDS = {"yymmdd": (6, "YYMMDD", "%y%m%d"), "yyyymmdd": (8, "YYYYMMDD", "%Y%m%d")}
_SERIAL_SPEC = re.compile(r"0([1-9])d")
_SAMPLE_DAY = dt.date(2026, 12, 31)


class CodePatternError(ValueError):
    """An office code pattern that could issue codes nobody could scan or tell apart."""


class SerialExhausted(ValueError):
    """The day's serial no longer fits the pattern's serial width."""


@dataclass(frozen=True)
class CodePattern:
    """An office's code pattern, checked against the official-code grammar.

    :param pattern: the template, e.g. ``{agency}-{yymmdd}-{serial:04d}``.
    :param agency: the office's agency code filled into ``{agency}``.
    :param serial_width: the serial's digits; at most ``10**serial_width - 1`` codes a day.
    """

    pattern: str
    agency: str
    serial_width: int
    parts: tuple[tuple[str, str | None], ...]  # (literal text, field name or None)

    @property
    def max_serial(self) -> int:
        return int(10**self.serial_width - 1)

    def format(self, day: dt.date, serial: int) -> str:
        """The official code of the ``serial``-th dossier of ``day``.

        :raises SerialExhausted: when ``serial`` does not fit the pattern's serial width.
        """
        if not 1 <= serial <= self.max_serial:
            msg = (f"the daily serial {serial} does not fit {self.pattern!r}: at most "
                   f"{self.max_serial} codes a day; widen the serial (e.g. "
                   f"{{serial:0{self.serial_width + 1}d}}) with `tracker office code-pattern`")
            raise SerialExhausted(msg)
        return self._fill(f"{serial:0{self.serial_width}d}",
                          lambda name: day.strftime(_DATE_FIELDS[name][2]))

    @functools.cached_property
    def regex(self) -> re.Pattern[str]:
        """What this pattern generates on any day, for recognizing upstream codes in its shape."""
        return re.compile(self._fill(rf"[0-9]{{{self.serial_width}}}",
                                     lambda name: rf"[0-9]{{{_DATE_FIELDS[name][0]}}}",
                                     literal=re.escape))

    @property
    def shape(self) -> str:
        """The pattern for people: ``000.00.19.H12-YYMMDD-NNNN``."""
        return self._fill("N" * self.serial_width, lambda name: _DATE_FIELDS[name][1])

    def _fill(self, serial: str, date: Callable[[str], str], *,
              literal: Callable[[str], str] = str) -> str:
        """The pattern with its serial and date fields replaced (literal text and the agency
        code passed through ``literal``)."""
        out = []
        for text, name in self.parts:
            out.append(literal(text))
            if name == "agency":
                out.append(literal(self.agency))
            elif name == "serial":
                out.append(serial)
            elif name is not None:
                out.append(date(name))
        return "".join(out)

    def matches(self, code: str) -> bool:
        return self.regex.fullmatch(code) is not None


@functools.lru_cache(maxsize=256)
def code_pattern(pattern: str, agency: str) -> CodePattern:
    """Parse and check an office's code pattern.

    The codes of serial 1 and of the last serial the width allows must both be official codes,
    so no day of the office ever issues a code the agent or the scan parser would refuse.

    :raises CodePatternError: unknown or malformed fields, no serial or date, a serial without
        a fixed width, or codes outside the official-code grammar (spaces, lowercase, other
        characters, all digits, too long).
    """
    parts: list[tuple[str, str | None]] = []
    widths: list[int] = []
    dated = False
    try:
        parsed = list(string.Formatter().parse(pattern))
    except ValueError as exc:
        msg = f"code pattern {pattern!r} is malformed: {exc}"
        raise CodePatternError(msg) from exc
    for literal, name, spec, conversion in parsed:
        if name is None:
            parts.append((literal, None))
            continue
        if conversion:
            msg = f"code pattern {pattern!r}: no conversions (!{conversion}) allowed"
            raise CodePatternError(msg)
        if name == "serial":
            width = _SERIAL_SPEC.fullmatch(spec or "")
            if width is None:
                msg = (f"code pattern {pattern!r}: the serial needs a fixed, zero-padded width "
                       f"of 1 to 9 digits such as {{serial:04d}}, got {{serial:{spec}}}")
                raise CodePatternError(msg)
            widths.append(int(width.group(1)))
        elif name in _DATE_FIELDS or name == "agency":
            if spec:
                msg = f"code pattern {pattern!r}: {{{name}}} takes no format ({spec!r})"
                raise CodePatternError(msg)
            dated = dated or name in _DATE_FIELDS
        else:
            msg = (f"code pattern {pattern!r}: unknown field {{{name}}} (use {{agency}}, "
                   "{yymmdd} or {yyyymmdd}, and {serial:0Nd})")
            raise CodePatternError(msg)
        parts.append((literal, name))
    if len(widths) != 1 or not dated:
        msg = (f"code pattern {pattern!r} needs one {{serial:0Nd}} and a date ({{yymmdd}} or "
               "{yyyymmdd}): serials restart every day")
        raise CodePatternError(msg)
    compiled = CodePattern(pattern, agency, widths[0], tuple(parts))
    for serial in (1, compiled.max_serial):
        sample = compiled.format(_SAMPLE_DAY, serial)
        if not is_official_code(sample):
            msg = (f"code pattern {pattern!r} would issue {sample!r} for office {agency}, which "
                   f"scanners cannot read back as a dossier code (an official code is "
                   f"{OFFICIAL_CODE_SHAPE})")
            raise CodePatternError(msg)
    return compiled


def format_official_code(pattern: str, agency: str, day: dt.date, serial: int) -> str:
    """Fill a code pattern such as ``{agency}-{yymmdd}-{serial:04d}``.

    :raises CodePatternError: the pattern is not a valid code pattern for ``agency``.
    :raises SerialExhausted: ``serial`` overflows the pattern's serial width; never a longer code.
    """
    return code_pattern(pattern, agency).format(day, serial)


# --- scans: normalization and recognition ------------------------------------------------------

MAX_SCAN_LENGTH = 512

TRACKING_NUMBER = "tracking_number"
OFFICIAL_CODE = "official_code"
BADGE = "badge"
ACTION = "action"
CARD_KINDS = frozenset({BADGE, ACTION})
"""Reference kinds that are station commands, not dossiers."""

_URL_PREFIXES = ("http://", "https://")


def receipt_url_reference(text: str) -> str | None:
    """The reference a receipt URL (``http(s)://host[/prefix]/lookup/<reference>``) points to.

    :returns: the last path segment, decoded and uppercased, or ``None`` if ``text`` is not a
        link to a lookup page.
    """
    if not text.lower().startswith(_URL_PREFIXES):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    segments = [s for s in parts.path.split("/") if s]
    if not parts.netloc or len(segments) < 2 or segments[-2].lower() != "lookup":
        return None
    return unquote(segments[-1]).upper()


def receipt_url_secret(text: str) -> str | None:
    """The receipt secret (``t=``) a receipt URL carries, or ``None``."""
    if receipt_url_reference(text) is None:
        return None
    values = parse_qs(urlsplit(text).query).get("t")
    return values[0] if values else None


def normalize_scan(raw: str) -> str:
    """A scan as both sides compare it: NFC, with whitespace and control or format characters
    (NUL, CR/LF, tabs, zero-width spaces) removed, uppercased unless it is a receipt URL.

    No code contains spaces and scanners or people add them (``"h12.22 - 261122-0001 "``);
    a receipt URL keeps its case because its secret may be case-sensitive.
    """
    text = unicodedata.normalize("NFC", raw)
    text = "".join(ch for ch in text
                   if not ch.isspace() and unicodedata.category(ch)[0] != "C")
    if receipt_url_reference(text) is not None:
        return text
    return text.upper()


# --- receipt secrets -----------------------------------------------------------------------------

SECRET_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
"""The receipt secret is base32 (RFC 4648): letters and the digits 2 to 7 only."""
# Digits outside the alphabet that people type for the letter they look like; "1" could be
# an I or an L, so both are tried.
_SECRET_LOOKALIKES = str.maketrans({"0": "O", "8": "B"})
_SECRET_SEPARATORS = frozenset(" -._/")
_MAX_AMBIGUOUS = 4  # at most 2**4 secrets tried for one typed text


def secret_candidates(typed: str) -> list[str]:
    """The receipt secrets a hand-typed one may be: case, spaces and dashes ignored, ``0`` read
    as ``O``, ``8`` as ``B``, and ``1`` as ``I`` or ``L``.

    :returns: every reading (none when the text cannot be a secret, e.g. more than four 1s).
    """
    text = unicodedata.normalize("NFKC", typed).upper().translate(_SECRET_LOOKALIKES)
    text = "".join(ch for ch in text if not ch.isspace() and ch not in _SECRET_SEPARATORS)
    if not text or text.count("1") > _MAX_AMBIGUOUS or not set(text) <= SECRET_ALPHABET | {"1"}:
        return []
    readings = [""]
    for ch in text:
        readings = [r + c for r in readings for c in ("IL" if ch == "1" else ch)]
    return readings


# --- cards: staff badges and action cards ------------------------------------------------------

CARD_PREFIX = "$"
"""Every card code starts with it; ``$`` is outside the official-code alphabet (and not a
digit), so no office pattern, upstream code or tracking number can ever be a card."""
BADGE_PREFIX = CARD_PREFIX + "B-"
ACTION_PREFIX = CARD_PREFIX + "A-"
BADGE_MAX = 64  # the width of user.badge
BADGE_SHAPE = "1 to 64 printable ASCII characters without spaces"
_BADGE_RE = re.compile(rf"[!-~]{{1,{BADGE_MAX}}}")

#: The scan actions the server knows (``app.tracking.models.ScanAction`` values; a test keeps
#: them in step), for checking an agent's ``default_action`` without asking the server.
SCAN_ACTIONS: tuple[str, ...] = (
    "receive", "transfer_in", "request_supplement", "supplement_received", "request_payment",
    "payment_received", "result_ready", "returned", "withdrawn", "stopped", "refused", "send")
SEND = "send"
"""The action that needs a destination: its card names it (:func:`send_card_code`)."""
DESTINATION_MAX = 32  # the width of office.code and station.code
DESTINATION_SHAPE = "1 to 32 characters of A-Z, 0-9 and . - _ (an agency or station code)"
_DESTINATION_RE = re.compile(rf"[A-Z0-9._-]{{1,{DESTINATION_MAX}}}")

LOGOUT = "logout"
"""The action card that ends the badge session at the station."""
DEFAULT_ACTION = "default"
"""The action card that goes back to the station's default action."""

#: The action cards, in print order: the value ``read_scan`` gives and the Vietnamese name
#: printed on the card. Values other than ``logout`` and ``default`` are scan actions
#: (``app.tracking.models.ScanAction`` values).
CARD_ACTIONS: dict[str, str] = {
    "returned": "Trả kết quả",
    "request_supplement": "Yêu cầu bổ sung",
    "supplement_received": "Nhận bổ sung",
    "result_ready": "Có kết quả",
    "send": "Gửi liên thông",
    "withdrawn": "Rút hồ sơ",
    "refused": "Từ chối tiếp nhận",
    "request_payment": "Yêu cầu nộp phí, lệ phí",
    "payment_received": "Nhận thanh toán",
    DEFAULT_ACTION: "Thao tác mặc định của quầy",
    LOGOUT: "Đăng xuất",
}


def badge_card_code(badge: str) -> str:
    """The code printed on ``badge``'s card: ``$B-`` and the badge, uppercased.

    :raises ValueError: a badge a scanner could not give back whole (empty, spaces,
        non-ASCII, longer than 64 characters).
    """
    value = badge.upper()
    if _BADGE_RE.fullmatch(value) is None:
        msg = f"badge {badge!r} cannot be printed as a card: a badge is {BADGE_SHAPE}"
        raise ValueError(msg)
    return BADGE_PREFIX + value


def action_card_code(action: str) -> str:
    """The code printed on an action card: ``$A-`` and the action, uppercased.

    :raises ValueError: ``action`` has no card (see :data:`CARD_ACTIONS`).
    """
    if action not in CARD_ACTIONS:
        msg = f"no action card for {action!r} (one of {', '.join(CARD_ACTIONS)})"
        raise ValueError(msg)
    return ACTION_PREFIX + action.upper()


def send_card_code(destination: str) -> str:
    """The code printed on a send card for ``destination``: ``$A-SEND-`` and the agency or
    station code, uppercased (``$A-SEND-000.00.01.H12``).

    :raises ValueError: ``destination`` is not in the code shape of offices and stations.
    """
    value = destination.strip().upper()
    if _DESTINATION_RE.fullmatch(value) is None:
        msg = f"no send card for {destination!r}: a destination is {DESTINATION_SHAPE}"
        raise ValueError(msg)
    return f"{action_card_code(SEND)}-{value}"


def is_place_code(code: str) -> bool:
    """True if ``code`` can name an office (its QCVN 102 agency code, ``000.00.19.H12``) or a
    station: what a send card and a ``send`` scan carry (:data:`DESTINATION_SHAPE`)."""
    return _DESTINATION_RE.fullmatch(code) is not None


def is_card_code(text: str) -> bool:
    """True if the normalized ``text`` carries the reserved card prefix."""
    return text.startswith(CARD_PREFIX)


@dataclass(frozen=True)
class Reference:
    """A scan understood.

    :param text: the normalized scan (what the agent sends).
    :param kind: ``tracking_number``, ``official_code``, ``badge`` or ``action``: what
        ``value`` is.
    :param value: the tracking number or official code it designates; for a card, the badge
        (uppercased) or the action (a :data:`CARD_ACTIONS` key).
    :param via_url: it was a receipt URL pointing to ``value``.
    :param destination: a send card's agency or station code (``""``: none on the card).
    """

    text: str
    kind: str
    value: str
    via_url: bool = False
    destination: str = ""


class UnreadableScan(ValueError):
    """A scan that designates no dossier nor card; ``reason`` is ``empty``, ``too_long``,
    ``bad_url``, ``bad_check_digit``, ``unknown_card`` or ``unknown_format``."""

    def __init__(self, text: str, reason: str, message: str) -> None:
        super().__init__(message)
        self.text = text
        self.reason = reason
        self.message = message


def read_scan(raw: str) -> Reference:
    """Normalize a scanned or typed text and say which dossier reference or card it is.

    Callers that want a dossier must refuse the :data:`CARD_KINDS`.

    :raises UnreadableScan: with the reason it designates no dossier nor card.
    """
    text = normalize_scan(raw)
    if not text:
        raise UnreadableScan(text, "empty", "empty scan")
    if len(text) > MAX_SCAN_LENGTH:
        msg = f"scan longer than {MAX_SCAN_LENGTH} characters"
        raise UnreadableScan(text[:64], "too_long", msg)
    if is_card_code(text):
        return _read_card(text)
    url_ref = receipt_url_reference(text)
    if url_ref is not None:
        if is_tracking_number(url_ref):
            return Reference(text, TRACKING_NUMBER, url_ref, via_url=True)
        if is_official_code(url_ref):
            return Reference(text, OFFICIAL_CODE, url_ref, via_url=True)
        raise UnreadableScan(text, "bad_url", "a link, but not to a dossier receipt")
    if text.isascii() and text.isdigit():
        if is_tracking_number(text):
            return Reference(text, TRACKING_NUMBER, text)
        if len(text) == TRACKING_LENGTH:
            msg = f"tracking number {text} has a wrong check digit (misread?)"
            raise UnreadableScan(text, "bad_check_digit", msg)
    elif is_official_code(text):
        return Reference(text, OFFICIAL_CODE, text)
    msg = f"{text[:40]!r} is not a dossier code, tracking number or receipt link"
    raise UnreadableScan(text, "unknown_format", msg)


def _read_card(text: str) -> Reference:
    """A scan with the card prefix: a badge or a known action card."""
    if text.startswith(BADGE_PREFIX) and _BADGE_RE.fullmatch(badge := text[len(BADGE_PREFIX):]):
        return Reference(text, BADGE, badge)
    action = text[len(ACTION_PREFIX):].lower() if text.startswith(ACTION_PREFIX) else ""
    if action in CARD_ACTIONS:
        return Reference(text, ACTION, action)
    destination = text[len(ACTION_PREFIX) + len(SEND) + 1:]
    if action.startswith(SEND + "-") and _DESTINATION_RE.fullmatch(destination):
        return Reference(text, ACTION, SEND, destination=destination)
    msg = f"{text[:40]!r} is not a staff badge or a known action card"
    raise UnreadableScan(text, "unknown_card", msg)
