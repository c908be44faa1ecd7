"""Recognizing scanned codes before they are queued.

The rules are the server's own (:mod:`app.codes`, a standard-library-only module and the only
part of ``app`` the agent imports): a tracking number is 12 digits whose last digit is a Damm
check digit; an official dossier code is anything in the official-code grammar, which every
office's code pattern is checked against, so the agent accepts whatever codes the server's
offices issue; a receipt QR is an ``http(s)://host/lookup/<code>?t=<secret>`` URL, sent whole
(the server parses it). Staff badges (``$B-...``) and action cards (``$A-...``) carry the
reserved card prefix and are recognized as kinds ``badge`` and ``action``: station commands,
never sent as dossier scans. A site may narrow the official codes it accepts with a regex of its own
(``official_code_pattern``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app.codes import (
    ACTION,
    BADGE,
    CARD_KINDS,
    OFFICIAL_CODE,
    TRACKING_NUMBER,
    UnreadableScan,
    read_scan,
)

TRACKING = TRACKING_NUMBER
OFFICIAL = OFFICIAL_CODE
RECEIPT_URL = "receipt_url"
__all__ = ["ACTION", "BADGE", "CARD_KINDS", "OFFICIAL", "RECEIPT_URL", "TRACKING", "CodeRules",
           "Recognized", "Unrecognized"]


@dataclass(frozen=True)
class Recognized:
    """A scan that is worth sending.

    :param code: the normalized code, sent to the server as is.
    :param kind: ``tracking_number``, ``official_code`` or ``receipt_url``; ``badge`` or
        ``action`` for a card (see :data:`CARD_KINDS`), which is a station command.
    :param value: for a card, the badge (uppercased) or the action it stands for.
    :param destination: a send card's agency or station code.
    """

    code: str
    kind: str
    value: str = field(default="", compare=False)
    destination: str = field(default="", compare=False)

    @property
    def is_card(self) -> bool:
        return self.kind in CARD_KINDS


@dataclass(frozen=True)
class Unrecognized:
    """A scan rejected locally, with the reason shown to the operator."""

    code: str
    reason: str
    message: str


class CodeRules:
    """Recognizes scans: the shared rules, optionally narrowed to a site's official codes.

    :param official_pattern: a regex official codes (uppercased) must also match, or ``""``
        for every official code.
    :raises ValueError: if ``official_pattern`` is not a valid regex.
    """

    def __init__(self, official_pattern: str = "") -> None:
        try:
            self.narrowing = re.compile(official_pattern) if official_pattern else None
        except re.error as exc:
            msg = f"official_code_pattern {official_pattern!r} is not a valid regex: {exc}"
            raise ValueError(msg) from exc

    def is_official(self, code: str) -> bool:
        """True if the official code ``code`` passes the site's narrowing, if any."""
        return self.narrowing is None or self.narrowing.fullmatch(code) is not None

    def recognize(self, raw: str) -> Recognized | Unrecognized:
        """Normalize ``raw`` and say what it is, or why it is not sent."""
        try:
            ref = read_scan(raw)
        except UnreadableScan as exc:
            return Unrecognized(exc.text, exc.reason, _MESSAGES.get(exc.reason, exc.message))
        if ref.kind in CARD_KINDS:
            return Recognized(ref.text, ref.kind, ref.value, ref.destination)
        if ref.kind == OFFICIAL and not self.is_official(ref.value):
            if ref.via_url:
                return Unrecognized(ref.text, "bad_url", _MESSAGES["bad_url"])
            return Unrecognized(ref.text, "unknown_format", _MESSAGES["other_site"])
        return Recognized(ref.text, RECEIPT_URL if ref.via_url else ref.kind)


#: Why a scan is refused on the spot, in plain Vietnamese (the reasons of ``app.codes``).
_MESSAGES = {
    "empty": "Quét rỗng",
    "too_long": "Mã quá dài, không phải mã hồ sơ",
    "bad_url": "Đường dẫn không phải phiếu hẹn của hồ sơ",
    "bad_check_digit": "Sai số kiểm tra, có thể đọc nhầm mã",
    "unknown_format": "Không phải mã hồ sơ",
    "other_site": "Không phải mã hồ sơ của đơn vị này",
    "unknown_card": "Thẻ không dùng được với phiên bản này",
}
