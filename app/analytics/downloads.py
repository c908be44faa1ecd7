"""Supervisors' downloads over HTTP (thin): the register as XLSX/CSV, the handoff log as XES
and OCEL 2.0. Read-only; each covers the caller's offices only."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable

from flask import Blueprint, send_file
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, ConfigDict, Field

from app.analytics import eventlog, register
from app.analytics.export import MEDIA_TYPES
from app.analytics.selection import Selection, select_dossiers
from app.auth.models import Role
from app.auth.tokens import current_principal
from app.boundary import Binary, spec, staff
from app.tracking.schemas import Text32

bp = Blueprint("downloads", __name__, url_prefix="/api/v1")

SUPERVISORS = (Role.SUPERVISOR, Role.ADMIN)
_EARLIEST, _LATEST = dt.date(1970, 1, 1), dt.date(2200, 1, 1)


class PeriodQuery(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    since: dt.date = Field(alias="from", ge=_EARLIEST, le=_LATEST, description=(
        "First day of receipt (YYYY-MM-DD), in the office's time zone"))
    until: dt.date = Field(alias="to", ge=_EARLIEST, le=_LATEST,
                           description="Last day of receipt, included (at most a year on)")
    office: Text32 | None = Field(None, description="One of the caller's offices (agency code)")
    procedure: Text32 | None = Field(None, description="Only this procedure (its code)")


def _selection(query: PeriodQuery) -> Selection:
    return select_dossiers(current_principal().office_ids, query.since, query.until,
                           office=query.office or None, procedure=query.procedure or None)


def _file(body: bytes, media_type: str, name: str) -> ResponseReturnValue:
    return send_file(io.BytesIO(body), mimetype=media_type, download_name=name,
                     as_attachment=True)


def _register(query: PeriodQuery, fmt: str) -> ResponseReturnValue:
    rows = register.register_rows(_selection(query))
    return _file(register.render(rows, fmt), MEDIA_TYPES[fmt],
                 register.filename(query.since, query.until, fmt))


_ERRORS = (404,)


@bp.get("/reports/register.xlsx")
@spec(query=PeriodQuery, responses={200: Binary(MEDIA_TYPES["xlsx"])},
      security=staff(SUPERVISORS), errors=_ERRORS)
def register_xlsx(query: PeriodQuery) -> ResponseReturnValue:
    """The register (Mẫu 06, Sổ theo dõi hồ sơ) of the dossiers received in the period, as
    an Excel workbook: typed date cells, frozen header row. It names the applicants."""
    return _register(query, "xlsx")


@bp.get("/reports/register.csv")
@spec(query=PeriodQuery, responses={200: Binary(MEDIA_TYPES["csv"])},
      security=staff(SUPERVISORS), errors=_ERRORS)
def register_csv(query: PeriodQuery) -> ResponseReturnValue:
    """The register (Mẫu 06) as CSV, UTF-8 with a BOM so that Excel reads it right."""
    return _register(query, "csv")


def _log(query: PeriodQuery, render: Callable[[Selection], bytes], media_type: str,
         suffix: str) -> ResponseReturnValue:
    name = f"nhat-ky-chuyen-ho-so_{query.since.isoformat()}_{query.until.isoformat()}{suffix}"
    return _file(render(_selection(query)), media_type, name)


@bp.get("/exports/log.xes")
@spec(query=PeriodQuery, responses={200: Binary(eventlog.XES_MEDIA_TYPE)},
      security=staff(SUPERVISORS), errors=_ERRORS)
def log_xes(query: PeriodQuery) -> ResponseReturnValue:
    """The handoff log of the dossiers received in the period as IEEE XES, each dossier a
    trace; staff names, never the applicant's."""
    return _log(query, eventlog.to_xes, eventlog.XES_MEDIA_TYPE, ".xes")


@bp.get("/exports/log.ocel.json")
@spec(query=PeriodQuery, responses={200: Binary(eventlog.OCEL_MEDIA_TYPE)},
      security=staff(SUPERVISORS), errors=_ERRORS)
def log_ocel(query: PeriodQuery) -> ResponseReturnValue:
    """The handoff log as OCEL 2.0 JSON: dossiers and stations as objects, each scan an
    event related to both; staff names, never the applicant's."""
    return _log(query, eventlog.to_ocel, eventlog.OCEL_MEDIA_TYPE, ".ocel.json")
