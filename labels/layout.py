"""Where labels go: A4 sticker-sheet grids and one-label-a-page thermal rolls.

Both layouts answer the same questions (page size, labels per page, where slot *n* is,
the printer's resolution), so the renderers do not care which one they get. Sizes are in
millimetres; the renderers work in PDF points (1/72 inch).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from .errors import LayoutError

MM = 72 / 25.4
"""PDF points per millimetre."""

_EPS = 1e-6

MIN_DPI = 150
"""Lowest printer resolution a layout may name."""
MAX_DPI = 600
"""Highest printer resolution a layout may name (office laser and thermal printers: 203–600)."""
MAX_MODULE_DOTS = 20
"""Widest narrowest-bar a layout may ask for, in printer dots."""


def _positive(name: str, value: object, label: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        msg = f"{label} phải là số dương (đang là {value!r})."
        raise LayoutError(msg, field=name)
    if not math.isfinite(value):
        msg = f"{label} không hợp lệ: {value!r}."
        raise LayoutError(msg, field=name)
    return float(value)


def _check_common(layout: SheetLayout | RollLayout) -> None:
    if (
        isinstance(layout.dpi, bool)
        or not isinstance(layout.dpi, int)
        or not MIN_DPI <= layout.dpi <= MAX_DPI
    ):
        # The upper bound matters: barcode raster work grows with the square of the
        # resolution, so a 20,000 dpi layout would take seconds and gigabytes before failing.
        msg = (
            f"Độ phân giải máy in (dpi) không hợp lệ: {layout.dpi!r} "
            f"(từ {MIN_DPI} đến {MAX_DPI})."
        )
        raise LayoutError(msg, field="dpi")
    if (
        isinstance(layout.min_module_dots, bool)
        or not isinstance(layout.min_module_dots, int)
        or not 1 <= layout.min_module_dots <= MAX_MODULE_DOTS
    ):
        msg = f"Số điểm in tối thiểu của một vạch không hợp lệ: {layout.min_module_dots!r}."
        raise LayoutError(msg, field="min_module_dots")
    for name in ("offset_x_mm", "offset_y_mm"):
        value = getattr(layout, name)
        if isinstance(value, bool) or not isinstance(value, int | float) or abs(value) > 20:
            msg = f"Độ lệch căn chỉnh {name} phải trong khoảng −20 mm đến 20 mm ({value!r})."
            raise LayoutError(msg, field=name)
    padding = layout.padding_mm
    if isinstance(padding, bool) or not isinstance(padding, int | float) or padding < 0:
        msg = f"Lề trong của nhãn không hợp lệ: {padding!r}."
        raise LayoutError(msg, field="padding_mm")
    if 2 * padding >= min(layout.label_width_mm, layout.label_height_mm):
        msg = "Lề trong của nhãn lớn hơn chính nhãn."
        raise LayoutError(msg, field="padding_mm")


@dataclass(frozen=True)
class SheetLayout:
    """A grid of sticker labels on a sheet (A4 by default), for laser/inkjet printers.

    Slots are numbered from 1, left to right then top to bottom.

    :param columns: labels across.
    :param rows: labels down.
    :param label_width_mm: width of one label.
    :param label_height_mm: height of one label.
    :param pitch_x_mm: distance between the left edges of two neighbouring labels
        (label width + horizontal gap); ``None``: no gap.
    :param pitch_y_mm: distance between the top edges of two rows; ``None``: no gap.
    :param margin_left_mm: left edge of the first column; ``None``: centre the grid.
    :param margin_top_mm: top edge of the first row; ``None``: centre the grid.
    :param offset_x_mm: printer calibration, moves everything right (negative: left).
    :param offset_y_mm: printer calibration, moves everything down (negative: up).
    :param page_width_mm: sheet width (A4: 210).
    :param page_height_mm: sheet height (A4: 297).
    :param padding_mm: blank border kept inside each label against die-cut tolerance.
    :param dpi: printer resolution; bars are whole printer dots at this resolution.
    :param min_module_dots: narrowest Code 128 bar in printer dots (3 at 300 dpi ≈ 0.25 mm,
        what cheap 1D scanners need).
    :param name: a display name.
    :raises LayoutError: on construction, if the grid does not fit the page or a value is
        impossible.
    """

    columns: int
    rows: int
    label_width_mm: float
    label_height_mm: float
    pitch_x_mm: float | None = None
    pitch_y_mm: float | None = None
    margin_left_mm: float | None = None
    margin_top_mm: float | None = None
    offset_x_mm: float = 0.0
    offset_y_mm: float = 0.0
    page_width_mm: float = 210.0
    page_height_mm: float = 297.0
    padding_mm: float = 1.5
    dpi: int = 300
    min_module_dots: int = 3
    name: str = "custom"

    def __post_init__(self) -> None:
        for name, label in (("columns", "Số cột"), ("rows", "Số hàng")):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 50:
                msg = f"{label} phải là số nguyên từ 1 đến 50 (đang là {value!r})."
                raise LayoutError(msg, field=name)
        _positive("label_width_mm", self.label_width_mm, "Chiều rộng nhãn")
        _positive("label_height_mm", self.label_height_mm, "Chiều cao nhãn")
        _positive("page_width_mm", self.page_width_mm, "Chiều rộng trang")
        _positive("page_height_mm", self.page_height_mm, "Chiều cao trang")
        if self.pitch_x_mm is not None:
            _positive("pitch_x_mm", self.pitch_x_mm, "Bước ngang")
            if self.pitch_x_mm < self.label_width_mm - _EPS:
                msg = (
                    f"Bước ngang {self.pitch_x_mm:g} mm nhỏ hơn chiều rộng nhãn "
                    f"{self.label_width_mm:g} mm: các nhãn sẽ chồng lên nhau."
                )
                raise LayoutError(msg, field="pitch_x_mm")
        if self.pitch_y_mm is not None:
            _positive("pitch_y_mm", self.pitch_y_mm, "Bước dọc")
            if self.pitch_y_mm < self.label_height_mm - _EPS:
                msg = (
                    f"Bước dọc {self.pitch_y_mm:g} mm nhỏ hơn chiều cao nhãn "
                    f"{self.label_height_mm:g} mm: các nhãn sẽ chồng lên nhau."
                )
                raise LayoutError(msg, field="pitch_y_mm")
        for name in ("margin_left_mm", "margin_top_mm"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float) or value < 0
            ):
                msg = f"Lề {name} không hợp lệ: {value!r}."
                raise LayoutError(msg, field=name)
        _check_common(self)
        grid_w = (self.columns - 1) * self.pitch_x + self.label_width_mm
        grid_h = (self.rows - 1) * self.pitch_y + self.label_height_mm
        paper = f"khổ giấy {self.page_width_mm:g}×{self.page_height_mm:g} mm"
        grid = (
            f"{self.columns} cột × bước {self.pitch_x:g} mm (nhãn {self.label_width_mm:g} mm)"
            f" = {grid_w:g} mm"
        )
        if self.left_mm < -_EPS or self.left_mm + grid_w > self.page_width_mm + _EPS:
            where = (
                f"lưới {grid}"
                if self.margin_left_mm is None and not self.offset_x_mm
                else f"lề trái {self.left_mm:g} mm (kể cả độ lệch) + lưới {grid}"
            )
            msg = (
                f"Lưới nhãn không vừa {paper}: {where}, vượt chiều rộng "
                f"{self.page_width_mm:g} mm. Kiểm tra lại số cột, kích thước nhãn, bước nhảy, "
                "lề và độ lệch."
            )
            raise LayoutError(msg, field="columns")
        grid = (
            f"{self.rows} hàng × bước {self.pitch_y:g} mm (nhãn {self.label_height_mm:g} mm)"
            f" = {grid_h:g} mm"
        )
        if self.top_mm < -_EPS or self.top_mm + grid_h > self.page_height_mm + _EPS:
            where = (
                f"lưới {grid}"
                if self.margin_top_mm is None and not self.offset_y_mm
                else f"lề trên {self.top_mm:g} mm (kể cả độ lệch) + lưới {grid}"
            )
            msg = (
                f"Lưới nhãn không vừa {paper}: {where}, vượt chiều cao "
                f"{self.page_height_mm:g} mm. Kiểm tra lại số hàng, kích thước nhãn, bước nhảy, "
                "lề và độ lệch."
            )
            raise LayoutError(msg, field="rows")

    @property
    def pitch_x(self) -> float:
        """Horizontal pitch in mm."""
        return self.label_width_mm if self.pitch_x_mm is None else self.pitch_x_mm

    @property
    def pitch_y(self) -> float:
        """Vertical pitch in mm."""
        return self.label_height_mm if self.pitch_y_mm is None else self.pitch_y_mm

    @property
    def left_mm(self) -> float:
        """Left edge of the first column, calibration offset included."""
        grid_w = (self.columns - 1) * self.pitch_x + self.label_width_mm
        left = (
            (self.page_width_mm - grid_w) / 2
            if self.margin_left_mm is None
            else self.margin_left_mm
        )
        return left + self.offset_x_mm

    @property
    def top_mm(self) -> float:
        """Top edge of the first row, calibration offset included."""
        grid_h = (self.rows - 1) * self.pitch_y + self.label_height_mm
        top = (
            (self.page_height_mm - grid_h) / 2 if self.margin_top_mm is None else self.margin_top_mm
        )
        return top + self.offset_y_mm

    @property
    def labels_per_page(self) -> int:
        """Number of slots on one sheet."""
        return self.columns * self.rows

    @property
    def page_size(self) -> tuple[float, float]:
        """Page width and height in points."""
        return self.page_width_mm * MM, self.page_height_mm * MM

    def slot_origin(self, slot: int) -> tuple[float, float]:
        """Bottom-left corner of slot ``slot`` (0-based) in points from the page's bottom-left."""
        row, column = divmod(slot, self.columns)
        x_mm = self.left_mm + column * self.pitch_x
        y_mm = self.page_height_mm - (self.top_mm + row * self.pitch_y + self.label_height_mm)
        return x_mm * MM, y_mm * MM


@dataclass(frozen=True)
class RollLayout:
    """A thermal label roll: one label a page, the page exactly the label's size.

    Print at 100 % ("Actual size", no "fit to page") on a driver set to the same stock.

    :param label_width_mm: label width across the roll.
    :param label_height_mm: label height along the roll.
    :param dpi: printer resolution (203 for most desktop thermal printers, or 300).
    :param min_module_dots: narrowest Code 128 bar in printer dots (2 at 203 dpi = 0.25 mm).
    :param padding_mm: blank border kept inside the label against feed tolerance.
    :param offset_x_mm: printer calibration, moves the content right (negative: left).
    :param offset_y_mm: printer calibration, moves the content down (negative: up).
    :param name: a display name.
    :raises LayoutError: on construction, for impossible values.
    """

    label_width_mm: float
    label_height_mm: float
    dpi: int = 203
    min_module_dots: int = 2
    padding_mm: float = 1.5
    offset_x_mm: float = 0.0
    offset_y_mm: float = 0.0
    name: str = "custom-roll"

    def __post_init__(self) -> None:
        _positive("label_width_mm", self.label_width_mm, "Chiều rộng nhãn")
        _positive("label_height_mm", self.label_height_mm, "Chiều cao nhãn")
        if self.label_width_mm > 120 or self.label_height_mm > 200:
            msg = (
                f"Nhãn cuộn {self.label_width_mm:g}×{self.label_height_mm:g} mm quá lớn "
                "(tối đa 120×200 mm)."
            )
            raise LayoutError(msg, field="label_width_mm")
        _check_common(self)
        if abs(self.offset_x_mm) >= self.label_width_mm / 2 or (
            abs(self.offset_y_mm) >= self.label_height_mm / 2
        ):
            msg = "Độ lệch căn chỉnh lớn hơn nửa nhãn."
            raise LayoutError(msg, field="offset_x_mm")

    columns = 1
    rows = 1
    labels_per_page = 1

    @property
    def page_size(self) -> tuple[float, float]:
        """Page width and height in points: exactly the label."""
        return self.label_width_mm * MM, self.label_height_mm * MM

    def slot_origin(self, slot: int) -> tuple[float, float]:
        """Bottom-left corner of the label's content box (calibration offset applied)."""
        return self.offset_x_mm * MM, -self.offset_y_mm * MM


Layout = SheetLayout | RollLayout


def thermal_roll(width_mm: float = 50, height_mm: float = 30, dpi: int = 203, *,
                 offset_x_mm: float = 0.0, offset_y_mm: float = 0.0) -> RollLayout:
    """A thermal roll of the given stock, with bars of at least 0.25 mm (2 dots at 203 dpi,
    3 at 300).

    :raises LayoutError: for an impossible size, resolution or offset.
    """
    return RollLayout(width_mm, height_mm, dpi=dpi, min_module_dots=max(2, round(dpi / 100)),
                      offset_x_mm=offset_x_mm, offset_y_mm=offset_y_mm,
                      name=f"thermal-{width_mm:g}x{height_mm:g}")

LAYOUTS: dict[str, Layout] = {
    "thermal-50x30": RollLayout(50, 30, name="thermal-50x30"),
    "thermal-40x30": RollLayout(40, 30, name="thermal-40x30"),
    # Tomy 145 decal: 5 × 13 labels of 38 × 21.2 mm, no gaps (sizes from an open-source
    # Vietnamese project's presets, not a manufacturer sheet: calibrate before use).
    "a4-65": SheetLayout(5, 13, 38, 21.2, padding_mm=1.2, name="a4-65"),
    # Generic 24-up 64 × 33.8 mm, 3 × 8, 2 mm column gap (as the common 63.5 × 33.9 mm
    # L7159-style sheets); calibrate before use.
    "a4-24": SheetLayout(3, 8, 64, 33.8, pitch_x_mm=66, name="a4-24"),
    # Tomy 135 (66 × 38 mm, 3 × 7) and Tomy 138 (99 × 38 mm, 2 × 7).
    "a4-21": SheetLayout(3, 7, 66, 38, name="a4-21"),
    "a4-14": SheetLayout(2, 7, 99, 38, name="a4-14"),
}
"""Predefined layouts by key."""


def layout_from_spec(spec: str | Mapping[str, Any]) -> Layout:
    """Build a layout from a preset name or a configuration mapping.

    A mapping may name a preset in ``"base"`` and override any field of it (e.g. the
    calibration offsets saved per office), or describe a new grid from scratch; a mapping
    with ``"kind": "roll"`` (or based on a roll preset) gives a :class:`RollLayout`::

        layout_from_spec("a4-65")
        layout_from_spec({"base": "a4-65", "offset_x_mm": 0.5, "offset_y_mm": -1})
        layout_from_spec({"columns": 4, "rows": 10, "label_width_mm": 48.5,
                          "label_height_mm": 25.4, "margin_left_mm": 8})

    :param spec: preset key or mapping.
    :raises LayoutError: for an unknown preset, an unknown key, or an impossible grid.
    """
    if isinstance(spec, str):
        try:
            return LAYOUTS[spec]
        except KeyError:
            msg = f"Không có khổ nhãn {spec!r}. Có sẵn: {', '.join(sorted(LAYOUTS))}."
            raise LayoutError(msg, field="layout") from None
    values = dict(spec)
    base_name = values.pop("base", None)
    kind = values.pop("kind", None)
    base: Layout | None = None
    if base_name is not None:
        base = layout_from_spec(str(base_name))
        kind = "roll" if isinstance(base, RollLayout) else "sheet"
    cls: type[SheetLayout] | type[RollLayout] = RollLayout if kind == "roll" else SheetLayout
    if kind not in (None, "roll", "sheet"):
        msg = f"Loại khổ nhãn không hợp lệ: {kind!r} (sheet hoặc roll)."
        raise LayoutError(msg, field="kind")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        msg = f"Thông số khổ nhãn không hợp lệ: {', '.join(unknown)}."
        raise LayoutError(msg, field=unknown[0])
    try:
        if base is not None:
            return replace(base, **values)
        return cls(**values)
    except TypeError as exc:
        msg = f"Thiếu thông số khổ nhãn: {exc}."
        raise LayoutError(msg, field="layout") from exc


def iter_slots(layout: Layout, count: int, start_position: int = 1) -> Iterator[tuple[int, int]]:
    """Yield ``(page_index, slot)`` for ``count`` labels, starting at a given slot.

    ``start_position`` (1-based) skips the already used slots of a partly used first sheet.
    """
    index = start_position - 1
    per_page = layout.labels_per_page
    for _ in range(count):
        yield divmod(index, per_page)
        index += 1
