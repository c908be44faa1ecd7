"""One tabular writer for reports and registers: JSON, CSV (UTF-8 with BOM, so Excel reads
the Vietnamese right) and XLSX (bold frozen header row, typed cells)."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

Format = Literal["json", "csv", "xlsx"]
FORMATS: tuple[Format, ...] = ("json", "csv", "xlsx")
MEDIA_TYPES = {"json": "application/json", "csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _plain(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def write_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], fmt: Format,
                *, headers: Sequence[str] | None = None, sheet: str = "Báo cáo") -> bytes:
    """Write ``rows`` (their ``columns``, in that order) as ``fmt``.

    :param headers: the header row shown in CSV and XLSX (default: the column names); JSON
        always keys by column name: ``{"rows": [{column: value, ...}, ...]}``.
    :param sheet: the XLSX sheet's title.
    """
    if fmt == "json":
        body = {"rows": [{c: _plain(row.get(c)) for c in columns} for row in rows]}
        return json.dumps(body, ensure_ascii=False).encode()
    titles = list(headers or columns)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(titles)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else _plain(row.get(c))
                             for c in columns])
        return out.getvalue().encode("utf-8-sig")
    if fmt == "xlsx":
        return _xlsx(rows, columns, titles, sheet)
    raise ValueError(f"unknown format {fmt!r}")


def _xlsx(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], titles: list[str],
          sheet: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = sheet[:31]
    ws.append(titles)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    for row in rows:
        values = []
        for c in columns:
            value = row.get(c)
            if isinstance(value, decimal.Decimal):
                value = float(value)
            elif isinstance(value, dt.datetime) and value.tzinfo is not None:
                value = value.replace(tzinfo=None)  # Excel has no zones: the wall clock
            values.append(value)
        ws.append(values)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
