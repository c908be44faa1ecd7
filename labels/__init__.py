"""Pure rendering library for dossier labels, citizen receipts, control sheets, the
desk's notices (Mẫu 02, 03, 04), and staff badge and action cards.

Plain frozen dataclasses in, PDF (or ZPL) bytes out. No Flask or database imports.
"""

from __future__ import annotations

from .cards import BadgeCard, CommandCard, render_badge_cards, render_command_cards
from .control_sheet import render_control_sheet
from .data import (
    ApologyData,
    ControlSheetData,
    FormConfig,
    HandoffRow,
    LabelData,
    MissingPaper,
    ReceiptData,
    RefusalData,
    SupplementRequestData,
)
from .errors import InvalidLabelData, LabelError, LabelFitError, LayoutError
from .layout import LAYOUTS, Layout, RollLayout, SheetLayout, layout_from_spec, thermal_roll
from .notices import render_apology, render_refusal, render_supplement_request
from .receipt import render_receipt
from .render import render_calibration, render_labels
from .zpl import render_calibration_zpl, render_zpl

__all__ = [
    "LAYOUTS",
    "ApologyData",
    "BadgeCard",
    "CommandCard",
    "ControlSheetData",
    "FormConfig",
    "HandoffRow",
    "InvalidLabelData",
    "LabelData",
    "LabelError",
    "LabelFitError",
    "Layout",
    "LayoutError",
    "MissingPaper",
    "ReceiptData",
    "RefusalData",
    "RollLayout",
    "SheetLayout",
    "SupplementRequestData",
    "layout_from_spec",
    "render_apology",
    "render_badge_cards",
    "render_calibration",
    "render_calibration_zpl",
    "render_command_cards",
    "render_control_sheet",
    "render_labels",
    "render_receipt",
    "render_refusal",
    "render_supplement_request",
    "render_zpl",
    "thermal_roll",
]
