"""Pure rendering library for dossier labels, citizen receipts and control sheets.

Plain frozen dataclasses in, PDF (or ZPL) bytes out. No Flask or database imports.
"""

from __future__ import annotations

from .control_sheet import render_control_sheet
from .data import ControlSheetData, FormConfig, HandoffRow, LabelData, ReceiptData
from .errors import InvalidLabelData, LabelError, LabelFitError, LayoutError
from .layout import LAYOUTS, Layout, RollLayout, SheetLayout, layout_from_spec
from .receipt import render_receipt
from .render import render_calibration, render_labels
from .zpl import render_zpl

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
    "render_control_sheet",
    "render_labels",
    "render_receipt",
    "render_zpl",
]
