"""Reports for supervisors: ``GET /api/v1/reports/<report>`` (thin: the queries live in
:mod:`app.analytics.reports`; the register and the handoff log are files, in
:mod:`app.analytics.downloads`; ``tracker report …`` in :mod:`app.analytics.cli`).

Scope: a supervisor or admin sees the dossiers and stays of its own office, a province-scoped
one those of every office of the province (:attr:`app.auth.tokens.Principal.office_ids`);
asking for an office outside that answers 403.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Annotated, Literal

from flask import Blueprint, Flask, Response
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from app.analytics import downloads, reports
from app.analytics.export import write_table
from app.auth.models import Role
from app.auth.tokens import current_principal
from app.boundary import spec, staff
from app.db import db, utcnow
from app.errors import Forbidden, ValidationError
from app.offices.operations import get_office
from app.procedures.operations import get_procedure_version
from app.tracking.supervision import _BOUND_DOC, _bound

bp = Blueprint("reports", __name__, url_prefix="/api/v1/reports")

DEFAULT_DAYS = 30
ReportName = Literal["dwell", "ontime", "triage", "missed", "status", "queues"]
GroupBy = Literal["step", "station", "procedure", "staff", "office", "month"]
ALLOWED_BY: dict[str, tuple[str, ...]] = {
    "dwell": reports.DWELL_BY, "ontime": reports.ONTIME_BY, "triage": (), "missed": (),
    "status": (), "queues": ()}


def register(app: Flask) -> None:
    """The reports' and downloads' endpoints, and the ``tracker report`` commands."""
    app.register_blueprint(bp)
    app.register_blueprint(downloads.bp)
    from app.analytics.dashboard import pages

    app.register_blueprint(pages)
    from app.analytics.cli import report_group

    app.cli.add_command(report_group)


_Bound = Annotated[dt.datetime | None, WithJsonSchema({"type": "string"})]


class ReportParams(BaseModel):
    """The period and filters every report takes."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    since: Annotated[_Bound, BeforeValidator(partial(_bound, end=False))] = Field(
        None, alias="from", description=f"{_BOUND_DOC}; default {DEFAULT_DAYS} days ago")
    until: Annotated[_Bound, BeforeValidator(partial(_bound, end=True))] = Field(
        None, alias="to", description=f"{_BOUND_DOC} (a date includes that day); default now")
    office: str | None = Field(None, max_length=32, description="An office's agency code")
    procedure: str | None = Field(None, max_length=32, description="A procedure's code")
    by: GroupBy | None = Field(None, description="dwell: step, station, procedure, staff, "
                               "office; ontime: office, procedure, month, step")
    formula: Literal["766", "resolved"] = "766"


class DwellRow(BaseModel):
    """Group keys (per ``by``) and the working-hour figures; open stays are counted with
    their age at the period end."""

    model_config = ConfigDict(extra="allow")
    count: int
    open: int
    mean_hours: float | None
    median_hours: float | None
    p90_hours: float | None
    max_hours: float | None
    mean_calendar_hours: float | None
    median_calendar_hours: float | None
    p90_calendar_hours: float | None
    max_calendar_hours: float | None
    over_budget_hours: float


class OntimeRow(BaseModel):
    """Group keys (per ``by``), the formula's counts and rate (percent, 2 decimals)."""

    model_config = ConfigDict(extra="allow")
    formula: str
    total: int
    early: int
    on_time: int = Field(description="early and on time")
    late: int
    rate: float | None
    mean_resolution_hours: float | None = Field(description="Indicator 2.2")


class TriageRow(BaseModel):
    """A dossier in progress, without personal data."""

    code: str
    tracking_number: str
    procedure: str
    office: str
    station: str | None
    status: str
    due_at: str
    hours_left: float | None
    remaining_budget_hours: float
    triage: Literal["within", "approaching", "late"]
    triage_label: str
    needs_apology: bool
    apologies: int


class MissedRow(BaseModel):
    """A probable missed scan (``kind``: off_plan, skipped_step, overdue_scan, silent,
    overdue_transit) or a compliance figure (station_compliance, staff_compliance)."""

    kind: str
    code: str | None = None
    station: str | None = None
    at: str | None = None
    step: str | None = None
    hours: float | None = None
    budget_hours: float | None = None
    staff: str | None = None
    key: str | None = None
    expected: int | None = None
    scanned: int | None = None
    rate: float | None = None


class StatusRow(BaseModel):
    """How many dossiers received in the period have this status now."""

    status: str
    status_code: int = Field(description="The national portal's status code")
    status_label: str
    count: int


class QueueRow(BaseModel):
    """The files at a station at the period end (now, unless it has ended)."""

    office: str
    station: str
    station_name: str
    processing: int = Field(description="Open processing stays")
    waiting: int = Field(description="Open waits for the citizen or for pickup")
    oldest_code: str | None = Field(description="The dossier in processing there longest")
    oldest_since: str | None
    oldest_hours: float | None = Field(description="Its working hours there")
    oldest_calendar_hours: float | None


class StatusOut(BaseModel):
    rows: list[StatusRow]


class QueuesOut(BaseModel):
    rows: list[QueueRow]


class DwellOut(BaseModel):
    rows: list[DwellRow]


class OntimeOut(BaseModel):
    rows: list[OntimeRow]


class TriageOut(BaseModel):
    rows: list[TriageRow]


class MissedOut(BaseModel):
    rows: list[MissedRow]


def build_query(name: str, params: ReportParams, offices: frozenset[int] | None,
                now: dt.datetime) -> reports.ReportQuery:
    """The report's query from its parameters, within ``offices`` (``None``: all).

    :raises ValidationError: a grouping the report has not, or a period ending before it
        starts.
    :raises NotFound: an unknown office or procedure.
    :raises Forbidden: an office outside ``offices``.
    """
    if params.by is not None and params.by not in ALLOWED_BY[name]:
        allowed = ", ".join(ALLOWED_BY[name]) or "none"
        msg = f"the {name} report cannot be grouped by {params.by} (allowed: {allowed})"
        raise ValidationError(msg, details=[{"field": "by", "type": "bad_group",
                                             "message": msg}])
    start = params.since or now - dt.timedelta(days=DEFAULT_DAYS)
    end = params.until or now
    if end <= start:
        msg = "the period must end after it starts"
        raise ValidationError(msg, details=[{"field": "to", "type": "bad_period",
                                             "message": msg}])
    if params.office is not None:
        office = get_office(params.office.strip().upper())
        if offices is not None and office.id not in offices:
            raise Forbidden(f"office {office.code} is outside your scope")
        offices = frozenset({office.id})
    procedure_id = None
    if params.procedure is not None:
        procedure_id = get_procedure_version(params.procedure.strip()).procedure_id
    return reports.ReportQuery(start=start, end=end, now=now, offices=offices,
                               procedure_id=procedure_id, by=params.by,
                               formula=params.formula)


def _answer(name: str, params: ReportParams) -> ResponseReturnValue:
    query = build_query(name, params, current_principal().office_ids, utcnow())
    table = reports.REPORTS[name](query)
    db.session.commit()  # keeps the months of stay rollup the dwell report built, if any
    return Response(write_table(table.rows, table.columns, "json"),
                    mimetype="application/json")


_SUPERVISORS = staff((Role.SUPERVISOR, Role.ADMIN))


@bp.get("/dwell")
@spec(query=ReportParams, responses={200: DwellOut}, security=_SUPERVISORS, errors=(403, 404))
def dwell(query: ReportParams) -> ResponseReturnValue:
    """Dwell time per step, station, procedure, staff member or office, with the bottleneck
    ranking (rows sorted by hours over budget)."""
    return _answer("dwell", query)


@bp.get("/ontime")
@spec(query=ReportParams, responses={200: OntimeOut}, security=_SUPERVISORS, errors=(403, 404))
def ontime(query: ReportParams) -> ResponseReturnValue:
    """On-time rates under formula 766 or resolved, per office, procedure or month; per-step
    verdicts with by=step."""
    return _answer("ontime", query)


@bp.get("/triage")
@spec(query=ReportParams, responses={200: TriageOut}, security=_SUPERVISORS, errors=(403, 404))
def triage(query: ReportParams) -> ResponseReturnValue:
    """Dossiers in progress: within, approaching or past their appointment, and those that
    need an apology letter (Mẫu 04).

    Judged now: the period (from, to) does not apply."""
    return _answer("triage", query)


@bp.get("/missed")
@spec(query=ReportParams, responses={200: MissedOut}, security=_SUPERVISORS, errors=(403, 404))
def missed(query: ReportParams) -> ResponseReturnValue:
    """Probable missed scans and the scan compliance per station and staff member."""
    return _answer("missed", query)


@bp.get("/status")
@spec(query=ReportParams, responses={200: StatusOut}, security=_SUPERVISORS, errors=(403, 404))
def status(query: ReportParams) -> ResponseReturnValue:
    """The dossiers received in the period, counted by their status now."""
    return _answer("status", query)


@bp.get("/queues")
@spec(query=ReportParams, responses={200: QueuesOut}, security=_SUPERVISORS, errors=(403, 404))
def queues(query: ReportParams) -> ResponseReturnValue:
    """The files at each station at the period end (now unless it has ended): in processing,
    waiting for the citizen or for pickup, and the oldest in processing."""
    return _answer("queues", query)
