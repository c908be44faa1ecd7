"""The supervisors' dashboard ``/dashboard`` (issue 11 point 7): the reports of
:mod:`app.analytics.reports` as charts, tables and CSV/XLSX downloads (thin).

Every figure comes from the report the API answers (``GET /api/v1/reports/<name>``), built by
the API's own parameter handling and scope check (:func:`app.analytics.api.build_query`), so
the page and the API can never disagree. The filters are a GET form: office (one of the
caller's), procedure, and the period (default: the last 30 days, today included).
"""

from __future__ import annotations

import datetime as dt
import io
import zoneinfo
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, g, render_template, request, send_file
from flask.typing import ResponseReturnValue
from flask_babel import LazyString, format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app import live
from app.analytics import reports
from app.analytics.api import DEFAULT_DAYS, ReportParams, build_query
from app.analytics.export import FILE_FORMATS, MEDIA_TYPES, write_table
from app.auth.permissions import SUPERVISION_ROLES
from app.boundary import validate
from app.db import db, utcnow
from app.errors import Forbidden, NotFound, ValidationError
from app.offices.models import Office, Station
from app.procedures.models import Procedure
from app.web import staff_page

pages = Blueprint("dashboard", __name__)

# The filters the form sends; anything else in the query string is ignored.
FILTERS = ("from", "to", "office", "procedure")
TOP_ROWS = 10


@dataclass(frozen=True)
class Source:
    """One chart's rows: a report asked with a grouping and a formula, one or more times."""

    title: LazyString
    asks: tuple[tuple[str, str | None, str], ...]  # (report, by, formula)


SOURCES: dict[str, Source] = {
    "status": Source(_l("Dossiers by status"), (("status", None, "766"),)),
    "triage": Source(_l("Dossiers in progress: deadline"), (("triage", None, "766"),)),
    "dwell": Source(_l("Time spent at each step"), (("dwell", "step", "766"),)),
    "ontime": Source(_l("On-time rate by month"), (("ontime", "month", "766"),
                                                   ("ontime", "month", "resolved"))),
    "queues": Source(_l("Files waiting at each station"), (("queues", None, "766"),)),
    "missed": Source(_l("Missed scans"), (("missed", None, "766"),)),
}

TRIAGE = {"within": _l("Within time"), "approaching": _l("Due soon"), "late": _l("Overdue")}
MISSED_KINDS = {
    reports.OFF_PLAN: _l("Scanned at a station off the plan"),
    reports.SKIPPED_STEP: _l("Step passed without a scan"),
    reports.OVERDUE_SCAN: _l("Step over its time, not handed on"),
    reports.SILENT: _l("No scan for several working days"),
    reports.OVERDUE_TRANSIT: _l("Sent, not received in time"),
}
FORMULAS = {"766": _l("On time (Decision 766)"), "resolved": _l("Resolved on time")}


def _number(value: float | int | None, digits: int = 1) -> str:
    """``6,5`` in Vietnamese, ``6.5`` in English; ``—`` for nothing."""
    if value is None:
        return "—"
    return str(format_decimal(value, format="#,##0." + "#" * digits if digits else "#,##0"))


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{_number(value, 2)}%"


@dataclass
class Chart:
    """What the page draws for a source: the takeaway line, the chart's data (read by
    ``dashboard.js``), and the rows for the table under it."""

    name: str
    title: LazyString
    takeaway: str
    spec: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)


def _rows(name: str, params: ReportParams, now: dt.datetime) -> tuple[list[dict[str, Any]],
                                                                         list[str]]:
    """The source's rows and columns, exactly as the report API answers them."""
    rows: list[dict[str, Any]] = []
    columns: list[str] = []
    for report, by, formula in SOURCES[name].asks:
        asked = params.model_copy(update={"by": by, "formula": formula})
        table = reports.REPORTS[report](build_query(report, asked, g.principal.office_ids, now))
        rows += table.rows
        columns = table.columns
    return rows, columns


def _params() -> ReportParams:
    """The form's filters; an empty field is no filter, no period is the last 30 days."""
    args = {k: request.args[k].strip() for k in FILTERS if request.args.get(k, "").strip()}
    today = dt.datetime.now(zoneinfo.ZoneInfo(current_app.config["DEFAULT_TIMEZONE"])).date()
    args.setdefault("to", today.isoformat())
    if "from" not in args:
        try:
            args["from"] = (dt.date.fromisoformat(args["to"])
                            - dt.timedelta(days=DEFAULT_DAYS)).isoformat()
        except ValueError:
            pass  # the wrong "to" is what validate reports
    return validate(ReportParams, args)


# --- the charts ---------------------------------------------------------------------------------

def _status(rows: list[dict[str, Any]], _names: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
    total = sum(r["count"] for r in rows)
    if not total:
        return _("No dossier was received in this period."), {}
    top = max(rows, key=lambda r: r["count"])
    line = _("%(total)s dossiers received in the period; most are \"%(status)s\" (%(count)s).",
             total=_number(total, 0), status=top["status_label"], count=_number(top["count"], 0))
    return line, {"type": "bar", "horizontal": True, "labels": [r["status_label"] for r in rows],
                  "datasets": [{"label": _("Dossiers"), "data": [r["count"] for r in rows]}],
                  "value_axis": _("Number of dossiers"), "integer": True}


def _triage(rows: list[dict[str, Any]], _names: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
    counts = Counter(r["triage"] for r in rows)
    apologies = sum(1 for r in rows if r["needs_apology"])
    if not rows:
        return _("No dossier is in progress."), {}
    line = _("%(late)s overdue and %(soon)s due soon, of %(total)s in progress; "
             "%(apologies)s need an apology letter.", late=_number(counts["late"], 0),
             soon=_number(counts["approaching"], 0), total=_number(len(rows), 0),
             apologies=_number(apologies, 0))
    return line, {"type": "bar", "labels": [str(v) for v in TRIAGE.values()],
                  "datasets": [{"label": _("Dossiers"), "data": [counts[k] for k in TRIAGE],
                                "colors": ["ok", "warn", "late"]}],
                  "value_axis": _("Number of dossiers"), "integer": True}


def _step_label(row: Mapping[str, Any], names: Mapping[str, str], several: bool) -> str:
    return f"{row['step']} · {names.get(row['procedure'], row['procedure'])}" if several \
        else str(row["step"])


def _dwell(rows: list[dict[str, Any]], names: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
    if not rows:
        return _("No file was processed in this period."), {}
    several = len({r["procedure"] for r in rows}) > 1
    ordered = sorted(rows, key=lambda r: (r["procedure"], r["step_position"]))
    slowest = max(rows, key=lambda r: r["median_hours"] or 0)
    line = _("Slowest step: %(step)s, median %(median)s working hours (slowest 10%%: over "
             "%(p90)s).", step=_step_label(slowest, names, several),
             median=_number(slowest["median_hours"]), p90=_number(slowest["p90_hours"]))
    return line, {"type": "bar", "horizontal": True,
                  "labels": [_step_label(r, names, several) for r in ordered],
                  "datasets": [{"label": _("Median"),
                                "data": [r["median_hours"] for r in ordered]},
                               {"label": _("Slowest 10% (p90)"),
                                "data": [r["p90_hours"] for r in ordered]}],
                  "value_axis": _("Working hours")}


def _month(key: str) -> str:
    year, month = key.split("-")
    return f"{int(month)}/{year}"


def _ontime(rows: list[dict[str, Any]], _names: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
    months = sorted({r["month"] for r in rows})
    rates = {(r["formula"], r["month"]): r["rate"] for r in rows}
    judged = [m for m in months if rates.get(("766", m)) is not None]
    if not judged:
        return _("No dossier to judge in this period."), {}
    last = judged[-1]
    line = _("On-time rate in %(month)s: %(rate)s (Decision 766), %(resolved)s of the dossiers "
             "resolved.", month=_month(last), rate=_percent(rates[("766", last)]),
             resolved=_percent(rates.get(("resolved", last))))
    return line, {"type": "line", "labels": [_month(m) for m in months],
                  "datasets": [{"label": str(FORMULAS[f]),
                                "data": [rates.get((f, m)) for m in months]}
                               for f in FORMULAS],
                  "value_axis": _("Dossiers on time (%)"), "percent": True}


def _queues(rows: list[dict[str, Any]], _names: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
    if not rows:
        return _("No file is waiting at a station."), {}
    top = rows[0]
    line = _("%(station)s holds the most files: %(count)s in processing, the oldest for "
             "%(hours)s working hours.", station=top["station_name"],
             count=_number(top["processing"], 0), hours=_number(top["oldest_hours"]))
    return line, {"type": "bar", "horizontal": True, "stacked": True,
                  "labels": [r["station_name"] for r in rows],
                  "datasets": [{"label": _("In processing"),
                                "data": [r["processing"] for r in rows]},
                               {"label": _("Waiting for the citizen"),
                                "data": [r["waiting"] for r in rows]}],
                  "value_axis": _("Number of files"), "integer": True}


def _longest(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The probable missed scans that have lasted longest (off-plan scans last nothing)."""
    found = [r for r in rows if r["kind"] in MISSED_KINDS]
    return sorted(found, key=lambda r: -(r.get("hours") or 0))[:TOP_ROWS]


def missed_counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    """How many probable missed scans of each kind (the compliance rows are not counted)."""
    counts = Counter(r["kind"] for r in rows if r["kind"] in MISSED_KINDS)
    return {kind: counts[kind] for kind in MISSED_KINDS}


def _missed(rows: list[dict[str, Any]], _names: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
    counts = missed_counts(rows)
    total = sum(counts.values())
    if not total:
        return _("No missed scan found in this period."), {}
    kind = max(counts, key=lambda k: counts[k])
    line = _("%(total)s probable missed scans; most often: %(kind)s (%(count)s).",
             total=_number(total, 0), kind=MISSED_KINDS[kind], count=_number(counts[kind], 0))
    return line, {"type": "bar", "horizontal": True,
                  "labels": [str(v) for v in MISSED_KINDS.values()],
                  "datasets": [{"label": _("Cases"), "data": list(counts.values())}],
                  "value_axis": _("Number of cases"), "integer": True}


DRAW: dict[str, Callable[[list[dict[str, Any]], Mapping[str, str]],
                         tuple[str, dict[str, Any]]]] = {
    "status": _status, "triage": _triage, "dwell": _dwell, "ontime": _ontime,
    "queues": _queues, "missed": _missed}


# --- the views ----------------------------------------------------------------------------------

def _station_names() -> dict[str, str]:
    """The caller's offices' stations: code → name (the reports name stations by code)."""
    stmt = sa.select(Station.code, Station.name).where(
        Station.office_id.in_(g.principal.office_ids))
    return {code: name for code, name in db.session.execute(stmt)}


def _choices() -> tuple[list[Office], list[Procedure]]:
    offices = list(db.session.scalars(sa.select(Office).where(
        Office.id.in_(g.principal.office_ids)).order_by(Office.name)))
    procedures = list(db.session.scalars(sa.select(Procedure).order_by(Procedure.name)))
    return offices, procedures


@pages.get("/dashboard")
@staff_page(SUPERVISION_ROLES)
def dashboard() -> ResponseReturnValue:
    """The dashboard of the caller's offices: every chart with its takeaway and table; live
    (:mod:`app.live`): the figures are asked again when a scan or a dossier is recorded."""
    offices, procedures = _choices()
    form = {k: request.args.get(k, "").strip() for k in FILTERS}
    try:
        params = _params()
        shown = form | {"from": _day(params.since), "to": _day(params.until, end=True)}
        return live.respond("analytics/dashboard.html", "analytics/_dashboard.html",
                            lambda: _figures(params, procedures) | {
                                "offices": offices, "procedures": procedures, "form": shown,
                                "problem": None, "query": {k: v for k, v in shown.items() if v}},
                            request.query_string)
    except Forbidden:
        abort(403)
    except (ValidationError, NotFound) as exc:
        return render_template("analytics/dashboard.html", offices=offices,
                               procedures=procedures, form=form, charts=[],
                               problem=_problem(exc)), 422


def _figures(params: ReportParams, procedures: list[Procedure]) -> dict[str, Any]:
    """The charts and lists of the dashboard, as the report API computes them now."""
    names = {p.code: p.short_name or p.name for p in procedures}
    now = utcnow()
    charts = {}
    for name, source in SOURCES.items():
        rows, _columns = _rows(name, params, now)
        takeaway, spec = DRAW[name](rows, names)
        charts[name] = Chart(name, source.title, takeaway, spec, rows)
    return {"charts": charts, "names": names, "triage": TRIAGE, "missed_kinds": MISSED_KINDS,
            "formulas": FORMULAS, "number": _number, "percent": _percent, "month": _month,
            "missed_counts": missed_counts, "stations": _station_names(),
            "apologies": [r for r in charts["triage"].rows if r["needs_apology"]],
            "missed_top": _longest(charts["missed"].rows),
            "tz": zoneinfo.ZoneInfo(g.principal.office.timezone), "formats": FILE_FORMATS}


def _day(instant: dt.datetime | None, *, end: bool = False) -> str:
    """The form's date for a bound (``to`` includes its day: the day before the end)."""
    if instant is None:
        return ""
    local = instant.astimezone(zoneinfo.ZoneInfo(current_app.config["DEFAULT_TIMEZONE"]))
    return (local - dt.timedelta(microseconds=1) if end else local).date().isoformat()


def _problem(exc: ValidationError | NotFound) -> str:
    if isinstance(exc, NotFound):
        return _("There is no such office or procedure.")
    if any(d.get("type") == "bad_period" for d in exc.details or ()):
        return _("The period must end on or after the day it starts.")
    return _("Enter the dates as day/month/year, e.g. 30/11/2026.")


@pages.get("/dashboard/<name>.<fmt>")
@staff_page(SUPERVISION_ROLES)
def download(name: str, fmt: str) -> ResponseReturnValue:
    """A chart's rows as CSV or XLSX: the report API's rows, written by the one table
    writer."""
    if name not in SOURCES or fmt not in FILE_FORMATS:
        abort(404)
    try:
        rows, columns = _rows(name, _params(), utcnow())
    except Forbidden:
        abort(403)
    except (ValidationError, NotFound):
        abort(422)
    body = write_table(rows, columns, fmt, title=str(SOURCES[name].title))
    return send_file(io.BytesIO(body), mimetype=MEDIA_TYPES[fmt], as_attachment=True,
                     download_name=f"bao-cao-{name}.{fmt}")
