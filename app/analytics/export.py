"""One tabular writer for reports and registers: JSON, CSV (UTF-8 with BOM, so Excel reads
the Vietnamese right) and XLSX (bold frozen header row, typed cells).

One read model, then a renderer per format: reports build their rows once and hand them to
:func:`write_table` with their columns.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Format = Literal["json", "csv", "xlsx"]
# The formats a person opens (the register has no JSON: it is a paper form's twin).
FILE_FORMATS: tuple[Format, ...] = ("csv", "xlsx")
FORMATS: tuple[Format, ...] = ("json", *FILE_FORMATS)
MEDIA_TYPES = {"json": "application/json", "csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}

DATETIME_FORMAT = "dd/mm/yyyy hh:mm"
DATE_FORMAT = "dd/mm/yyyy"
# A spreadsheet reads a cell starting with one of these as a formula: a name like
# "=HYPERLINK(…)" typed at the desk must stay text (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_MAX_WIDTH = 60


@dataclass(frozen=True)
class Column:
    """A column: the row key it shows, its header, and its width in characters (None:
    fitted to the content)."""

    key: str
    header: str
    width: float | None = None


def _columns(columns: Sequence[Column | str]) -> list[Column]:
    return [c if isinstance(c, Column) else Column(c, c) for c in columns]


def write_table(rows: Iterable[Mapping[str, Any]], columns: Sequence[Column | str],
                fmt: str, *, title: str = "Báo cáo") -> bytes:
    """The rows as JSON (``{"rows": [{key: value, ...}, ...]}``, numbers and ISO times as
    JSON has them), or a CSV or XLSX file.

    Datetimes are written as they are given, without their zone: pass them in the office's
    time, as its paper forms show them. XLSX cells are typed (numbers, dates with a
    ``dd/mm/yyyy hh:mm`` format), the header row is bold and frozen, with a filter.

    :param rows: mappings from column keys to values (missing keys: empty cells).
    :param columns: :class:`Column` or plain keys (the key is then the header).
    :param fmt: ``json``, ``csv`` or ``xlsx``.
    :param title: the XLSX sheet's name (cut to 31 characters, without the ones Excel
        refuses).
    :raises ValueError: an unknown format.
    """
    cols = _columns(columns)
    if fmt == "json":
        body = {"rows": [{c.key: _plain(row.get(c.key)) for c in cols} for row in rows]}
        return json.dumps(body, ensure_ascii=False).encode()
    if fmt == "csv":
        return _csv(rows, cols)
    if fmt == "xlsx":
        return _xlsx(rows, cols, title)
    msg = f"unknown table format {fmt!r}; use one of {', '.join(FORMATS)}"
    raise ValueError(msg)


def _plain(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    text = str(value)
    if isinstance(value, str) and text.startswith(_FORMULA_START):
        return "'" + text
    return text


def _csv(rows: Iterable[Mapping[str, Any]], columns: list[Column]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.header for c in columns])
    for row in rows:
        writer.writerow([_text(row.get(c.key)) for c in columns])
    return out.getvalue().encode("utf-8-sig")


def _cell_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value


def _sheet_title(title: str) -> str:
    """``title`` as Excel takes a sheet's name: at most 31 characters, none of ``\\/*?:[]``."""
    return "".join(" " if c in "\\/*?:[]" else c for c in title).strip()[:31] or "Sheet"


def _xlsx(rows: Iterable[Mapping[str, Any]], columns: list[Column], title: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = _sheet_title(title)
    sheet.append([c.header for c in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    widths = [len(c.header) for c in columns]
    for r, row in enumerate(rows, start=2):
        for i, column in enumerate(columns):
            value = _cell_value(row.get(column.key))
            cell = sheet.cell(row=r, column=i + 1, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever the text starts with
                widths[i] = max(widths[i], len(value))
            elif isinstance(value, dt.datetime):
                cell.number_format = DATETIME_FORMAT
                widths[i] = max(widths[i], len(DATETIME_FORMAT))
            elif isinstance(value, dt.date):
                cell.number_format = DATE_FORMAT
                widths[i] = max(widths[i], len(DATE_FORMAT))
            elif value is not None:
                widths[i] = max(widths[i], len(str(value)))
    for i, column in enumerate(columns):
        width = column.width or min(widths[i] + 2, _MAX_WIDTH)
        sheet.column_dimensions[get_column_letter(i + 1)].width = width
    sheet.freeze_panes = "A2"
    if columns:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{sheet.max_row}"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
