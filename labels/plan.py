"""Planning one dossier label: what goes where, independent of the output format.

A plan is a list of drawing operations in label-local points (origin at the bottom-left of
the label, y up). The PDF backend draws it with reportlab; the ZPL backend turns it into
printer dots. Every size decision happens here, so both outputs agree.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from datetime import tzinfo

from . import text as tx
from .barcodes import QUIET_MODULES, code128_modules, code128_widths, qr_matrix
from .data import LabelData
from .dates import short
from .errors import LabelFitError
from .layout import MM, Layout

MAX_MODULE_MM = 0.5
"""Widest Code 128 module used; wider bars gain nothing for handheld scanners."""
QR_QUIET_MODULES = 4
GAP = 0.6 * MM
LINE = 1.2
"""Line height as a multiple of the font size (room for stacked Vietnamese capitals)."""


@dataclass(frozen=True)
class TextOp:
    """One line of text; ``x`` is the left edge, or the centre when ``centered``."""

    x: float
    baseline: float
    font: str
    size: float
    text: str
    centered: bool = False


@dataclass(frozen=True)
class BarsOp:
    """A Code 128 symbol: ``x`` is the left edge of the first bar (quiet zone excluded)."""

    x: float
    y: float
    height: float
    module: float
    module_dots: int
    widths: tuple[int, ...]
    data: str


@dataclass(frozen=True)
class MatrixOp:
    """A 2D symbol: ``x``, ``y`` is the bottom-left of the symbol (quiet zone excluded)."""

    x: float
    y: float
    module: float
    module_dots: int
    matrix: tuple[tuple[bool, ...], ...]
    data: str


@dataclass(frozen=True)
class BoxOp:
    """A filled black rectangle (a rule, a tick, one side of a frame); ``x``, ``y`` is its
    bottom-left corner."""

    x: float
    y: float
    width: float
    height: float


Op = TextOp | BarsOp | MatrixOp | BoxOp


@dataclass(frozen=True)
class _Style:  # hashable: used as a dict key
    office: float
    procedure: float
    procedure_lines: int
    code: float
    dates: float
    number: float


_STYLES = (
    _Style(office=5.5, procedure=7.0, procedure_lines=2, code=8.0, dates=6.5, number=7.0),
    _Style(office=0.0, procedure=7.0, procedure_lines=2, code=8.0, dates=6.5, number=7.0),
    _Style(office=0.0, procedure=6.5, procedure_lines=1, code=7.5, dates=6.0, number=6.5),
    _Style(office=0.0, procedure=6.0, procedure_lines=1, code=7.0, dates=5.5, number=6.0),
    _Style(office=0.0, procedure=5.5, procedure_lines=1, code=6.5, dates=5.0, number=5.5),
)
_MIN_CODE = 5.5
_MIN_DATES = 5.0


@functools.lru_cache(maxsize=256)
def _module_choices(layout: Layout, modules: int) -> tuple[tuple[int, float], ...]:
    """Module widths (dots, points) whose symbol and quiet zones fit the label's width."""
    dot = 72 / layout.dpi
    inner_w = (layout.label_width_mm - 2 * layout.padding_mm) * MM
    max_dots = max(layout.min_module_dots, math.floor(MAX_MODULE_MM * MM / dot + 1e-9))
    choices = []
    for dots in range(max_dots, layout.min_module_dots - 1, -1):
        module = dots * dot
        # One extra dot: the symbol is snapped to the printer's dot grid on the page.
        if (modules + 2 * QUIET_MODULES) * module + dot <= inner_w + 1e-9:
            choices.append((dots, module))
    return tuple(choices)


class _NoFit(Exception):
    """A text line cannot fit at its minimum size (internal)."""


class _Column:
    """Stacks text lines from the top; lines beside the 2D symbol get the narrower width."""

    def __init__(self, inner_w: float, narrow_w: float, narrow_depth: float) -> None:
        self.inner_w = inner_w
        self.narrow_w = narrow_w
        self.narrow_depth = narrow_depth
        self.depth = 0.0
        self.lines: list[tuple[str, float, str, float]] = []  # font, size, text, depth

    def width(self) -> float:
        return self.narrow_w if self.depth < self.narrow_depth - 1e-6 else self.inner_w

    def add(self, font: str, size: float, text: str) -> None:
        self.depth += size * LINE
        self.lines.append((font, size, text, self.depth))

    def fit(self, font: str, text: str, preferred: float, minimum: float) -> float:
        size = tx.fit_size(text, font, self.width(), preferred, minimum)
        if not size:
            raise _NoFit
        return size

    @property
    def height(self) -> float:
        return max(self.depth, self.narrow_depth)


def _text_column(
    label: LabelData,
    style: _Style,
    inner_w: float,
    qr_side: float,
    received: str,
    due: str,
) -> _Column:
    column = _Column(inner_w, inner_w - qr_side, qr_side)
    if style.office and label.office_name:
        column.add(
            tx.REGULAR,
            style.office,
            tx.ellipsize(label.office_name, tx.REGULAR, style.office, column.width()),
        )
    lines = tx.wrap(
        label.procedure_name, tx.BOLD, style.procedure, column.width(), style.procedure_lines
    )
    for line in lines:
        column.add(tx.BOLD, style.procedure, line)
    one_line = f"Nhận: {received} · Hẹn trả: {due}"
    if tx.fit_size(one_line, tx.REGULAR, column.width(), style.dates, style.dates):
        column.add(tx.REGULAR, style.dates, one_line)
    else:
        first, second = f"Nhận: {received}", f"Hẹn trả: {due}"
        size = column.fit(tx.REGULAR, first, style.dates, _MIN_DATES)
        column.add(tx.REGULAR, size, first)
        column.add(tx.REGULAR, column.fit(tx.REGULAR, second, size, _MIN_DATES), second)
    column.add(
        tx.BOLD,
        column.fit(tx.BOLD, label.official_code, style.code, _MIN_CODE),
        label.official_code,
    )
    return column


def plan_label(label: LabelData, layout: Layout, tz: tzinfo, *, with_2d: bool = False) -> list[Op]:
    """Lay out one dossier label.

    From top to bottom: office (optional), procedure name, dates, official code, bars,
    tracking number. The widest bars that fit win; for them text shrinks (down to a
    legible minimum) and optional lines are dropped; the bars take all remaining height.
    Nothing is ever clipped: if the mandatory content cannot fit, the label is refused.

    :raises LabelFitError: when the barcode (with quiet zones and bars at least a quarter
        as tall as the symbol is wide), the official code and the dates cannot fit.
    """
    inner_w = (layout.label_width_mm - 2 * layout.padding_mm) * MM
    inner_h = (layout.label_height_mm - 2 * layout.padding_mm) * MM
    modules = code128_modules(label.tracking_number)
    choices = _module_choices(layout, modules)
    size_text = f"{layout.label_width_mm:g}×{layout.label_height_mm:g} mm"
    if not choices:
        narrowest = layout.min_module_dots * 25.4 / layout.dpi
        need = (modules + 2 * QUIET_MODULES) * narrowest
        msg = (
            f"Mã vạch của số {label.tracking_number!r} cần {need:.1f} mm chiều ngang "
            f"(kể cả lề trắng hai bên, vạch hẹp nhất {narrowest:.2f} mm) nhưng nhãn "
            f"{size_text} chỉ còn {inner_w / MM:.1f} mm. Dùng số theo dõi ngắn hơn "
            "hoặc khổ nhãn rộng hơn."
        )
        raise LabelFitError(msg, field="tracking_number")

    qr: tuple[tuple[bool, ...], ...] | None = None
    qr_side = 0.0
    if with_2d:
        qr = qr_matrix(label.official_code)
        qr_side = (len(qr) + 2 * QR_QUIET_MODULES) * layout.min_module_dots * 72 / layout.dpi
    received = short(label.received_at, tz)
    due = short(label.due_at, tz)
    hint = "; bỏ tùy chọn mã 2D hoặc dùng khổ nhãn lớn hơn." if with_2d else "."
    failure = f"Mã hồ sơ hoặc ngày tháng không in vừa nhãn {size_text}{hint}"
    columns: dict[_Style, _Column] = {}
    for style in _STYLES:
        try:
            columns[style] = _text_column(label, style, inner_w, qr_side, received, due)
        except _NoFit:
            continue
    # Wider bars first: a cheap scanner reads 0.375 mm bars far more reliably than 0.25 mm
    # ones, so the optional office line and the second procedure line give way to them.
    for dots, module in choices:
        for style, column in columns.items():
            bars_room = inner_h - column.height - GAP - style.number * LINE
            if bars_room + 1e-9 >= modules * module / 4:
                return _assemble(label, layout, column, style, qr, dots, module, bars_room)
    if columns:
        failure = (
            f"Nhãn {size_text} không đủ chiều cao cho mã vạch (cao ít nhất "
            f"{modules * choices[-1][1] / 4 / MM:.1f} mm) cùng các dòng chữ{hint}"
        )
    raise LabelFitError(failure, field="layout")


def _assemble(
    label: LabelData,
    layout: Layout,
    column: _Column,
    style: _Style,
    qr: tuple[tuple[bool, ...], ...] | None,
    dots: int,
    module: float,
    bars_room: float,
) -> list[Op]:
    pad = layout.padding_mm * MM
    label_w = layout.label_width_mm * MM
    label_h = layout.label_height_mm * MM
    top = label_h - pad
    # Baselines sit 0.22 em above the bottom of each 1.2 em line: room below for
    # descenders, above for Vietnamese capitals with stacked marks (Ẩ, Ễ reach ~1.1 em).
    result: list[Op] = [
        TextOp(pad, top - depth + 0.22 * size, font, size, line)
        for font, size, line, depth in column.lines
    ]
    if qr is not None:
        qr_module = layout.min_module_dots * 72 / layout.dpi
        quiet = QR_QUIET_MODULES * qr_module
        side = len(qr) * qr_module
        result.append(
            MatrixOp(
                label_w - pad - quiet - side,
                top - quiet - side,
                qr_module,
                layout.min_module_dots,
                qr,
                label.official_code,
            )
        )
    widths = code128_widths(label.tracking_number)
    symbol_w = sum(widths) * module
    result.append(
        BarsOp(
            (label_w - symbol_w) / 2,
            pad + style.number * LINE,
            bars_room,
            module,
            dots,
            widths,
            label.tracking_number,
        )
    )
    result.append(
        TextOp(
            label_w / 2,
            pad + 0.25 * style.number,
            tx.REGULAR,
            style.number,
            label.tracking_number,
            centered=True,
        )
    )
    return result
