"""Fonts, Vietnamese text normalisation, and measuring/wrapping text.

reportlab's standard fonts do not cover Vietnamese, so every document uses the bundled
DejaVu Sans subsets (see ``labels/fonts/README.md``). All text goes through
:func:`clean_text`, which normalises it to NFC: reportlab draws combining marks without
shaping, so decomposed (NFD) input would print with misplaced tone marks.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from .errors import InvalidLabelData

FONT_DIR = Path(__file__).with_name("fonts")
REGULAR = "DejaVuSans"
BOLD = "DejaVuSans-Bold"
ITALIC = "DejaVuSans-Oblique"
FONT_NAMES = (REGULAR, BOLD, ITALIC)

ELLIPSIS = "\u2026"
_SPACES = re.compile(r"\s+")


def font_path(name: str) -> Path:
    """Return the path of a bundled font file.

    :param name: one of :data:`FONT_NAMES`.
    """
    return FONT_DIR / f"{name}.ttf"


@functools.cache
def register_fonts() -> None:
    """Register the bundled fonts with reportlab (idempotent, cheap after the first call)."""
    for name in FONT_NAMES:
        pdfmetrics.registerFont(TTFont(name, str(font_path(name))))
    pdfmetrics.registerFontFamily(REGULAR, normal=REGULAR, bold=BOLD, italic=ITALIC)


@functools.cache
def supported_codepoints() -> frozenset[int]:
    """Code points that all bundled fonts can draw."""
    register_fonts()
    sets = [
        set(pdfmetrics.getFont(name).face.charToGlyph)  # type: ignore[attr-defined]
        for name in FONT_NAMES
    ]
    return frozenset(set.intersection(*sets))


def clean_text(
    value: object,
    label: str,
    *,
    field: str,
    required: bool = True,
    max_len: int = 200,
) -> str:
    """Normalise one text field and check that it can be printed.

    NFC-normalises, turns any run of whitespace (including new lines and tabs) into one
    space, strips both ends, then checks length and font coverage.

    :param value: the raw value (must be a ``str``).
    :param label: the Vietnamese name of the field, used in error messages.
    :param field: the attribute name, stored on the error.
    :param required: refuse an empty value.
    :param max_len: maximum length in characters after normalisation.
    :raises InvalidLabelData: when the value is not text, is empty while required, is too
        long, or contains characters the fonts cannot draw.
    """
    if not isinstance(value, str):
        msg = f"{label}: phải là chuỗi ký tự, không phải {type(value).__name__}."
        raise InvalidLabelData(msg, field=field)
    text = unicodedata.normalize("NFC", value)
    # Invisible format characters (zero-width space, BOM, soft hyphen) come with text
    # pasted from web pages or Word; they print as nothing, so drop them.
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    text = _SPACES.sub(" ", text).strip()
    if not text:
        if required:
            msg = f"Chưa nhập {label[0].lower()}{label[1:]}."
            raise InvalidLabelData(msg, field=field)
        return ""
    if len(text) > max_len:
        msg = f"{label} quá dài ({len(text)} ký tự, tối đa {max_len})."
        raise InvalidLabelData(msg, field=field)
    supported = supported_codepoints()
    bad = sorted({ch for ch in text if ord(ch) not in supported or not ch.isprintable()})
    if bad:
        shown = ", ".join(f"'{ch}' (U+{ord(ch):04X})" for ch in bad[:5])
        msg = f"{label} có ký tự không in được: {shown}. Hãy xoá hoặc gõ lại ký tự đó."
        raise InvalidLabelData(msg, field=field)
    return text


def width(text: str, font: str, size: float) -> float:
    """Width of ``text`` in points."""
    return pdfmetrics.stringWidth(text, font, size)


def fit_size(text: str, font: str, max_width: float, preferred: float, minimum: float) -> float:
    """Largest font size in ``[minimum, preferred]`` (0.25 pt steps) at which ``text`` fits.

    :returns: the size, or ``0.0`` when the text does not fit even at ``minimum``.
    """
    at_preferred = width(text, font, preferred)
    if at_preferred <= max_width:
        return preferred
    # Width is linear in size: compute, then round down to a quarter point.
    size = int(preferred * max_width / at_preferred * 4) / 4
    return size if size >= minimum else 0.0


def ellipsize(text: str, font: str, size: float, max_width: float) -> str:
    """Cut ``text`` (preferably at a space) and append "…" so that it fits ``max_width``."""
    if width(text, font, size) <= max_width:
        return text
    room = max_width - width(ELLIPSIS, font, size)
    cut = len(text)
    while cut > 0 and width(text[:cut], font, size) > room:
        cut -= 1
    head = text[:cut]
    space = head.rfind(" ")
    if space > cut // 2:
        head = head[:space]
    return head.rstrip(" ,.;:-") + ELLIPSIS


@functools.lru_cache(maxsize=8192)
def wrap(
    text: str,
    font: str,
    size: float,
    max_width: float,
    max_lines: int | None = None,
) -> tuple[str, ...]:
    """Greedy word wrap; words longer than a line are broken; the last line is ellipsized.

    Cached: receipts wrap the same lines once per copy, label batches repeat procedures.

    :param max_lines: keep at most this many lines (``None``: no limit).
    """
    if width(text, font, size) <= max_width:
        return (text,) if text else ()
    space = width(" ", font, size)
    lines: list[str] = []
    current: list[str] = []
    current_w = 0.0
    for word in text.split(" "):
        word_w = width(word, font, size)
        if current and current_w + space + word_w <= max_width:
            current.append(word)
            current_w += space + word_w
            continue
        if current:
            lines.append(" ".join(current))
        while word_w > max_width and len(word) > 1:
            cut = len(word) - 1
            while cut > 1 and width(word[:cut], font, size) > max_width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
            word_w = width(word, font, size)
        current, current_w = [word], word_w
    if current:
        lines.append(" ".join(current))
    if max_lines is not None and len(lines) > max_lines:
        rest = " ".join(lines[max_lines - 1 :])
        lines = lines[: max_lines - 1] + [ellipsize(rest, font, size, max_width)]
    return tuple(lines)
