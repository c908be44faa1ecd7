"""Refused scan attempts for the owners' supervisors: ``GET /api/v1/refused-scans`` and
``tracker scans refused`` (thin: the rule and the query live in app.tracking.scope)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from urllib.parse import urlencode

import click
from flask import Blueprint, Flask, current_app, jsonify, request, url_for
from flask.cli import with_appcontext
from flask.typing import ResponseReturnValue

from app.auth.models import Role
from app.auth.permissions import action_table
from app.auth.tokens import current_principal, require
from app.db import utcnow
from app.errors import NotFound, ValidationError
from app.offices.operations import get_office
from app.tracking import scope

bp = Blueprint("supervision", __name__, url_prefix="/api/v1")

DEFAULT_DAYS = 30
MAX_LIMIT = 500


def register(app: Flask) -> None:
    """The refused-scans endpoint and CLI; checks ``ACTION_PERMISSIONS`` at start-up."""
    app.register_blueprint(bp)
    app.cli.add_command(scans_group)
    with app.app_context():
        action_table()  # a bad override fails the start, not the first scan


def _instant(name: str, default: dt.datetime, *, end: bool = False) -> dt.datetime:
    """A query bound: an ISO date (that day in the default time zone; ``to`` includes it) or
    a date-time with offset."""
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        if len(raw) == 10:
            tz = zoneinfo.ZoneInfo(current_app.config["DEFAULT_TIMEZONE"])
            day = dt.date.fromisoformat(raw) + dt.timedelta(days=1 if end else 0)
            return dt.datetime.combine(day, dt.time(), tz).astimezone(dt.UTC)
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        msg = f"{name} must be an ISO date or a date-time with offset"
        raise ValidationError(msg, details={"field": name}) from exc
    if value.tzinfo is None:
        msg = f"{name} needs a UTC offset, e.g. +07:00"
        raise ValidationError(msg, details={"field": name})
    return value.astimezone(dt.UTC)


def _whole(name: str, default: int | None, low: int, high: int) -> int | None:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        msg = f"{name} must be a whole number from {low} to {high}"
        raise ValidationError(msg, details={"field": name})
    return int(raw)


@bp.get("/refused-scans")
@require(roles=(Role.SUPERVISOR, Role.ADMIN))
def refused_scans() -> ResponseReturnValue:
    """Scans refused as out of scope on dossiers the caller's offices own, newest first."""
    now = utcnow()
    since = _instant("from", now - dt.timedelta(days=DEFAULT_DAYS))
    until = _instant("to", now + dt.timedelta(seconds=1), end=True)
    limit = _whole("limit", 100, 1, MAX_LIMIT) or 100
    before = _whole("before", None, 1, 2**62)
    rows = scope.refused_scans(current_principal().office_ids, since, until, limit=limit,
                               before=before)
    following = None
    if len(rows) == limit:
        query: dict[str, str] = {"from": since.isoformat(), "to": until.isoformat(),
                                 "limit": str(limit), "before": str(rows[-1].id)}
        following = f"{url_for('supervision.refused_scans')}?{urlencode(query)}"
    return jsonify({"refused": [scope.refused_json(r) for r in rows], "next": following})


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
        body = scope.refused_json(row)
        caller = body["caller"]
        who = (f"device {caller['id']} {caller['name']}" if caller["kind"] == "device"
               else f"user ({caller['role']})")
        click.echo(f"{body['received_at'][:19]}  {body['dossier']['code']}  "
                   f"{body['action']}  at {body['office']['code']}"
                   f"/{body['station'] or '-'}  by {who}")
