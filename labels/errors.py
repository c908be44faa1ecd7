"""Errors raised by the label library.

All of them are :class:`ValueError` subclasses whose message is written for the clerk at
the desk (in Vietnamese), so the server can show ``str(error)`` as it is.
"""

from __future__ import annotations


class LabelError(ValueError):
    """Base class of every error raised by :mod:`labels`.

    :param message: the clerk-readable message.
    :param field: name of the offending input field, when there is one.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidLabelData(LabelError):
    """The data to print is missing, too long or contains characters that cannot be printed."""


class LayoutError(LabelError):
    """A sheet or roll layout is impossible (e.g. the grid does not fit the page)."""


class LabelFitError(LabelError):
    """The content of a label cannot fit its layout without clipping the barcode or the code."""
