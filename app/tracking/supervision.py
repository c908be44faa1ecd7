"""What supervisors watch of the scans: refused attempts (``GET /api/v1/refused-scans``,
the page ``/refused-scans``, ``tracker scans refused``; the rule and the query live in
app.tracking.scope) and files in transit (``GET /api/v1/transits``, ``tracker scans
in-transit``; the query is :func:`app.tracking.queries.in_transit`). Thin: parse, call the
query, shape the answer."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from functools import partial
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import click
from flask import Blueprint, Flask, current_app, g, jsonify, render_template, url_for
from flask.cli import with_appcontext
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from app.auth.permissions import SUPERVISION_ROLES, action_table
from app.auth.tokens import current_principal
from app.boundary import spec, staff
from app.db import utcnow
from app.errors import NotFound
from app.offices.operations import calendar_of, get_office
from app.tracking import queries, scope
from app.tracking.models import RefusedScan
from app.tracking.read_models import OfficeRef, StationView
from app.web import staff_page

bp = Blueprint("supervision", __name__, url_prefix="/api/v1")
pages = Blueprint("supervision_pages", __name__)

DEFAULT_DAYS = 30
MAX_LIMIT = 500


def register(app: Flask) -> None:
    """The refused-scans endpoint and CLI; checks ``ACTION_PERMISSIONS`` at start-up."""
    app.register_blueprint(bp)
    app.register_blueprint(pages)
    app.cli.add_command(scans_group)
    with app.app_context():
        action_table()  # a bad override fails the start, not the first scan


def _bound(value: Any, *, end: bool) -> Any:
    """An ISO date (that day in the default time zone; ``to`` includes it) or a date-time
    with offset, as a UTC instant."""
    if not isinstance(value, str):
        return value
    try:
        if len(value) == 10:
            tz = zoneinfo.ZoneInfo(current_app.config["DEFAULT_TIMEZONE"])
            day = dt.date.fromisoformat(value) + dt.timedelta(days=1 if end else 0)
            return dt.datetime.combine(day, dt.time(), tz).astimezone(dt.UTC)
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        msg = "must be an ISO date or a date-time with offset"
        raise PydanticCustomError("bad_time", msg) from exc
    if parsed.tzinfo is None:
        raise PydanticCustomError("bad_time", "needs a UTC offset, e.g. +07:00")
    return parsed.astimezone(dt.UTC)


_BOUND_DOC = "An ISO date (YYYY-MM-DD) or a date-time with offset"


class RefusedScansQuery(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    since: Annotated[dt.datetime | None, BeforeValidator(partial(_bound, end=False)),
                     WithJsonSchema({"type": "string"})] = Field(
        None, alias="from", description=f"{_BOUND_DOC}; default {DEFAULT_DAYS} days ago")
    until: Annotated[dt.datetime | None, BeforeValidator(partial(_bound, end=True)),
                     WithJsonSchema({"type": "string"})] = Field(
        None, alias="to", description=f"{_BOUND_DOC} (a date includes that day); default now")
    limit: int = Field(100, ge=1, le=MAX_LIMIT)
    before: int | None = Field(None, ge=1, le=2**62, description="The page after this row id")


class Caller(BaseModel):
    kind: Literal["device", "user"]
    id: int | None = None
    name: str | None = Field(default=None, description="The device's name (never a person's)")
    role: str | None = None


class RefusedScanView(BaseModel):
    """One refused attempt without personal data: the dossier's codes, never its applicant;
    who tried as an office, a station and a device or a role, never a name."""

    id: int
    event_id: str
    reason: str
    dossier: dict[str, str] = Field(description="code and tracking_number")
    action: str
    office: dict[str, str] = Field(description="The office that scanned: code and name")
    station: str | None
    caller: Caller
    scanned_at: dt.datetime
    received_at: dt.datetime

    @classmethod
    def of(cls, row: RefusedScan) -> RefusedScanView:
        caller = (Caller(kind="device", id=row.device.id, name=row.device.name)
                  if row.device is not None else Caller(kind="user", role=row.role))
        return cls(id=row.id, event_id=str(row.uuid), reason=row.reason,
                   dossier={"code": row.dossier.code,
                            "tracking_number": row.dossier.tracking_number},
                   action=row.action.value,
                   office={"code": row.office.code, "name": row.office.name},
                   station=row.station.code if row.station is not None else None,
                   caller=caller, scanned_at=row.scanned_at, received_at=row.received_at)


class RefusedScansOut(BaseModel):
    refused: list[RefusedScanView]
    next: str | None = Field(description="The next page, when this one is full")


@bp.get("/refused-scans")
@spec(query=RefusedScansQuery, responses={200: RefusedScansOut},
      security=staff(SUPERVISION_ROLES))
def refused_scans(query: RefusedScansQuery) -> ResponseReturnValue:
    """Scans refused as out of scope on dossiers the caller's offices own, newest first."""
    now = utcnow()
    since = query.since or now - dt.timedelta(days=DEFAULT_DAYS)
    until = query.until or now + dt.timedelta(seconds=1)
    rows = scope.refused_scans(current_principal().office_ids, since, until,
                               limit=query.limit, before=query.before)
    following = None
    if len(rows) == query.limit:
        page = {"from": since.isoformat(), "to": until.isoformat(), "limit": str(query.limit),
                "before": str(rows[-1].id)}
        following = f"{url_for('supervision.refused_scans')}?{urlencode(page)}"
    body = RefusedScansOut(refused=[RefusedScanView.of(r) for r in rows], next=following)
    return jsonify(body.model_dump(mode="json"))


@pages.get("/refused-scans")
@staff_page(SUPERVISION_ROLES)
def refused_scans_page() -> ResponseReturnValue:
    """The last days' refused scans on the caller's offices' dossiers, newest first."""
    now = utcnow()
    rows = scope.refused_scans(g.principal.office_ids, now - dt.timedelta(days=DEFAULT_DAYS),
                               now, limit=MAX_LIMIT)
    return render_template("tracking/refused_scans.html", days=DEFAULT_DAYS,
                           tz=zoneinfo.ZoneInfo(g.principal.office.timezone),
                           rows=[RefusedScanView.of(r) for r in rows])


class TransitsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    overdue: bool = Field(False, description=(
        "Only files in transit at least TRANSIT_ALERT_HOURS working hours"))
    page: int = Field(1, ge=1, le=10_000)
    limit: int = Field(100, ge=1, le=MAX_LIMIT)


class TransitView(BaseModel):
    """A file in transit, for staff: the dossier's codes (never its applicant), from where
    and whom, to where, since when and for how long."""

    code: str
    tracking_number: str
    from_office: OfficeRef
    from_station: StationView
    sender: str | None = Field(description="Who scanned the send (null: nobody known)")
    to_office: OfficeRef | None
    to_station: StationView | None
    since: dt.datetime = Field(description="When it was sent, in the sending office's time")
    age_hours: float = Field(description="Calendar hours since the send")
    age_working_hours: float = Field(description=(
        "Working hours since the send, on the sending office's calendar"))
    overdue: bool

    @classmethod
    def of(cls, row: queries.TransitRow) -> TransitView:
        station = row.send.station
        return cls(code=row.dossier.code, tracking_number=row.dossier.tracking_number,
                   from_office=OfficeRef.of(station.office), from_station=StationView.of(station),
                   sender=row.sender or None,
                   to_office=OfficeRef.of(row.to_office) if row.to_office else None,
                   to_station=StationView.of(row.to_station) if row.to_station else None,
                   since=row.since.astimezone(calendar_of(station.office_id).tz),
                   age_hours=row.age.hours,
                   age_working_hours=row.age.working_hours, overdue=row.age.overdue)


class TransitsOut(BaseModel):
    transits: list[TransitView] = Field(description="Oldest first")
    total: int = Field(description="Files in transit matching the query, on every page")
    alert_hours: float = Field(description="TRANSIT_ALERT_HOURS: working hours until overdue")
    next: str | None = Field(description="The next page, when there is one")


@bp.get("/transits")
@spec(query=TransitsQuery, responses={200: TransitsOut}, security=staff())
def transits(query: TransitsQuery) -> ResponseReturnValue:
    """Files in transit (sent, not scanned again since) that concern the caller's offices.

    The sending office, the destination office and the dossier's owners each see them.
    """
    rows = queries.in_transit(current_principal().office_ids, utcnow(),
                              queries.alert_after() if query.overdue else None)
    start = (query.page - 1) * query.limit
    following = None
    if start + query.limit < len(rows):
        page = {"overdue": str(query.overdue).lower(), "page": str(query.page + 1),
                "limit": str(query.limit)}
        following = f"{url_for('supervision.transits')}?{urlencode(page)}"
    body = TransitsOut(transits=[TransitView.of(r) for r in rows[start:start + query.limit]],
                       total=len(rows), alert_hours=queries.alert_after().total_seconds() / 3600,
                       next=following)
    return jsonify(body.model_dump(mode="json"))


@click.group("scans")
def scans_group() -> None:
    """Scan records: refused attempts, files in transit."""


def _office_ids(office_code: str | None) -> list[int] | None:
    if not office_code:
        return None
    try:
        return [get_office(office_code).id]
    except NotFound as exc:
        raise click.UsageError(exc.message) from exc


@scans_group.command("refused")
@click.option("--office", "office_code", help="Only dossiers this office owns (agency code).")
@click.option("--days", default=DEFAULT_DAYS, show_default=True, type=click.IntRange(1, 3660),
              help="How far back.")
@click.option("--limit", default=200, show_default=True, type=click.IntRange(1, 10_000))
@with_appcontext
def refused_cmd(office_code: str | None, days: int, limit: int) -> None:
    """List scans refused because the dossier was outside the scanner's scope."""
    now = utcnow()
    rows = scope.refused_scans(_office_ids(office_code), now - dt.timedelta(days=days), now,
                               limit=limit)
    if not rows:
        click.echo("no refused scans")
    for row in rows:
        view = RefusedScanView.of(row)
        who = (f"device {view.caller.id} {view.caller.name}" if view.caller.kind == "device"
               else f"user ({view.caller.role})")
        click.echo(f"{view.received_at.isoformat()[:19]}  {view.dossier['code']}  "
                   f"{view.action}  at {view.office['code']}/{view.station or '-'}  by {who}")


@scans_group.command("in-transit")
@click.option("--office", "office_code",
              help="Only files this office sent, is sent or owns (agency code).")
@click.option("--overdue", is_flag=True,
              help="Only those in transit at least TRANSIT_ALERT_HOURS working hours.")
@with_appcontext
def in_transit_cmd(office_code: str | None, overdue: bool) -> None:
    """List files in transit: sent, and not scanned anywhere since; oldest first."""
    offices = _office_ids(office_code)
    rows = queries.in_transit(offices, utcnow(), queries.alert_after() if overdue else None)
    if not rows:
        click.echo("no files in transit")
    for row in rows:
        view = TransitView.of(row)
        to = view.to_station.code if view.to_station else (
            view.to_office.code if view.to_office else "-")
        click.echo(f"{view.code}  {view.from_office.code}/{view.from_station.code} → {to}  "
                   f"by {view.sender or '-'}  since {view.since:%Y-%m-%d %H:%M}  "
                   f"{view.age_working_hours:g} working h ({view.age_hours:g} h)"
                   + ("  OVERDUE" if view.overdue else ""))
