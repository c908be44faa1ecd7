"""Pure rendering library for dossier labels, citizen receipts and control sheets.

Plain frozen dataclasses in, PDF (or ZPL) bytes out. No Flask or database imports.
"""

from __future__ import annotations

from .data import ControlSheetData, FormConfig, HandoffRow, LabelData, ReceiptData
from .errors import InvalidLabelData, LabelError, LabelFitError, LayoutError
from .layout import LAYOUTS, Layout, RollLayout, SheetLayout, layout_from_spec
from .render import render_calibration, render_labels

__all__ = [
    "LAYOUTS",
    "ControlSheetData",
    "FormConfig",
    "HandoffRow",
    "InvalidLabelData",
    "LabelData",
    "LabelError",
    "LabelFitError",
    "Layout",
    "LayoutError",
    "ReceiptData",
    "RollLayout",
    "SheetLayout",
    "layout_from_spec",
    "render_calibration",
    "render_labels",
]
