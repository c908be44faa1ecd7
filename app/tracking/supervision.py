"""Refused scan attempts for the owners' supervisors: ``GET /api/v1/refused-scans``, the page
``/refused-scans`` and ``tracker scans refused`` (thin: the rule and the query live in
app.tracking.scope)."""

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
from app.offices.operations import get_office
from app.tracking import scope
from app.tracking.models import RefusedScan
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


@click.group("scans")
def scans_group() -> None:
    """Scan records: refused attempts."""


@scans_group.command("refused")
@click.option("--office", "office_code", help="Only dossiers this office owns (agency code).")
@click.option("--days", default=DEFAULT_DAYS, show_default=True, type=click.IntRange(1, 3660),
              help="How far back.")
@click.option("--limit", default=200, show_default=True, type=click.IntRange(1, 10_000))
@with_appcontext
def refused_cmd(office_code: str | None, days: int, limit: int) -> None:
    """List scans refused because the dossier was outside the scanner's scope."""
    offices = None
    if office_code:
        try:
            offices = [get_office(office_code).id]
        except NotFound as exc:
            raise click.UsageError(exc.message) from exc
    now = utcnow()
    rows = scope.refused_scans(offices, now - dt.timedelta(days=days), now, limit=limit)
    if not rows:
        click.echo("no refused scans")
    for row in rows:
        view = RefusedScanView.of(row)
        who = (f"device {view.caller.id} {view.caller.name}" if view.caller.kind == "device"
               else f"user ({view.caller.role})")
        click.echo(f"{view.received_at.isoformat()[:19]}  {view.dossier['code']}  "
                   f"{view.action}  at {view.office['code']}/{view.station or '-'}  by {who}")
