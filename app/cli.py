"""The ``tracker`` command: the Flask CLI plus admin commands (thin wrappers over operations)."""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from app.codes import DEFAULT_CODE_PATTERN
from app.db import db
from app.errors import DomainError


def _create_app() -> Flask:
    from app import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app)
def main() -> None:
    """Dossier tracker server: run it, migrate its database, manage offices and devices."""


def register_cli(app: Flask) -> None:
    from app.tracking.audit import audit_group

    for group in (db_group, demo, office_group, station_group, device_group, user_group,
                  procedure_group, calendar_group, print_labels_cmd, forms_cmd, badges_cmd,
                  cards_cmd, audit_group):
        app.cli.add_command(group)


def _fail_on_domain_error(func: Any) -> Any:
    """Turn a domain refusal into a clean CLI error (exit 2) instead of a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except DomainError as exc:
            db.session.rollback()
            raise click.UsageError(exc.message) from exc
        except ValueError as exc:
            db.session.rollback()
            raise click.UsageError(str(exc)) from exc

    return wrapper


def _record(action: str, target: str, office: Any = None, **details: Any) -> None:
    """Record an admin command in the admin log (actor ``cli``), committed with its change."""
    from app.admin.operations import CLI_ACTOR, record_admin_action

    record_admin_action(CLI_ACTOR, action, target, office=office, **details)


# --- db ---------------------------------------------------------------------------------------

def migrations_dir() -> Path:
    return Path(os.environ.get("TRACKER_MIGRATIONS_DIR",
                               Path(__file__).resolve().parent.parent / "migrations"))


def alembic_config() -> Any:
    from alembic.config import Config

    directory = migrations_dir()
    config = Config(str(directory / "alembic.ini"))
    config.set_main_option("script_location", str(directory))
    config.attributes["sqlalchemy_url"] = current_app.config["SQLALCHEMY_DATABASE_URI"]
    return config


@click.group("db")
def db_group() -> None:
    """Database schema migrations (Alembic)."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Upgrade the database schema (creates it on an empty database)."""
    from alembic import command

    command.upgrade(alembic_config(), revision)
    click.echo(f"database at {revision}")


@db_group.command("downgrade")
@click.argument("revision")
@with_appcontext
def db_downgrade(revision: str) -> None:
    """Downgrade the schema to REVISION (``base`` empties it)."""
    from alembic import command

    command.downgrade(alembic_config(), revision)


@db_group.command("current")
@with_appcontext
def db_current() -> None:
    """Show the schema revision of the database."""
    from alembic import command

    command.current(alembic_config())


# --- demo -------------------------------------------------------------------------------------

@click.command("demo")
@click.option("--json", "as_json", is_flag=True, help="Print the logins and tokens as JSON.")
@with_appcontext
@_fail_on_domain_error
def demo(as_json: bool) -> None:
    """Seed a demo office with stations, procedures, staff of every role and a scanner."""
    from app.demo import seed_demo

    result = seed_demo()
    db.session.commit()
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    click.echo(f"Demo office {result['office']['code']} — {result['office']['name']}")
    click.echo("Stations: " + ", ".join(s["code"] for s in result["stations"]))
    click.echo("\nScanner device token (shown once; give it to scanner-agent):")
    for device in result["devices"]:
        click.echo(f"  {device['name']} @ {device['station']}: {device['token']}")
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    click.echo(f"\nStaff (username / password / API token); log in at {base}/login:")
    for user in result["users"]:
        click.echo(f"  {user['role']:<11} {user['username']:<10} {user['password']:<14} "
                   f"{user['token']}")
    click.echo(f"\nSample dossiers (the citizen kiosk: {base}/kiosk):")
    for dossier in result["dossiers"]:
        click.echo(f"  {dossier['code']}  tracking {dossier['tracking_number']}  "
                   f"{dossier['lookup_url']}")


# --- offices and stations ---------------------------------------------------------------------

@click.group("office")
def office_group() -> None:
    """One-stop centres and agencies."""


@office_group.command("add")
@click.option("--code", required=True, help="Agency code (QCVN 102), e.g. 000.00.19.H12")
@click.option("--name", required=True)
@click.option("--province", required=True, help="Province key shared by its offices, e.g. H12")
@click.option("--place", default="", help="Place name printed on forms")
@click.option("--hours", default="07:00-11:30,13:30-17:00", show_default=True)
@click.option("--timezone", default="Asia/Ho_Chi_Minh", show_default=True)
@click.option("--code-pattern", default=DEFAULT_CODE_PATTERN, show_default=True,
              help="Official codes: {agency}, {yymmdd} or {yyyymmdd}, {serial:0Nd} and "
                   "literal A-Z 0-9 . - _")
@with_appcontext
@_fail_on_domain_error
def office_add(code: str, name: str, province: str, place: str, hours: str, timezone: str,
               code_pattern: str) -> None:
    """Add an office."""
    from app.offices.operations import create_office

    office = create_office(code, name, province=province, place=place, timezone=timezone,
                           office_hours=hours, code_pattern=code_pattern)
    _record("office.create", f"office {office.code}", office, name=office.name,
            province=office.province, office_hours=office.office_hours,
            code_pattern=office.code_pattern)
    db.session.commit()
    click.echo(f"office {office.code} added")


@office_group.command("code-pattern")
@click.argument("code")
@click.argument("pattern", required=False)
@with_appcontext
@_fail_on_domain_error
def office_code_pattern(code: str, pattern: str | None) -> None:
    """Show or set an office's official-code pattern, e.g. {agency}-{yyyymmdd}-{serial:07d}."""
    from app.codes import code_pattern
    from app.offices.operations import get_office, set_code_pattern

    office = get_office(code)
    if pattern is not None:
        set_code_pattern(office, pattern)
        _record("office.update", f"office {office.code}", office, code_pattern=pattern)
        db.session.commit()
    compiled = code_pattern(office.code_pattern, office.code)
    click.echo(f"{office.code}: {office.code_pattern} ({compiled.shape}, at most "
               f"{compiled.max_serial} codes a day)")


@office_group.command("printing")
@click.argument("code")
@click.option("--layout", default=None,
              help="Default label layout: a preset (a4-65, a4-24, thermal-50x30, ...) or JSON grid")
@click.option("--printer", type=click.Choice(["pdf", "zpl"]), default=None)
@with_appcontext
@_fail_on_domain_error
def office_printing(code: str, layout: str | None, printer: str | None) -> None:
    """Show or set an office's default label layout and printer type."""
    from app.offices.models import PrinterType
    from app.offices.operations import get_office
    from app.tracking.printing import set_label_settings

    office = set_label_settings(get_office(code), layout,
                                PrinterType(printer) if printer is not None else None)
    if layout is not None or printer is not None:
        _record("office.printing", f"office {office.code}", office, layout=office.label_layout,
                printer=office.label_printer.value)
    db.session.commit()
    click.echo(f"{office.code}: layout {office.label_layout}, printer "
               f"{office.label_printer.value}")


@office_group.command("list")
@with_appcontext
def office_list() -> None:
    """List offices."""
    from app.offices.models import Office

    for office in db.session.scalars(sa.select(Office).order_by(Office.code)):
        click.echo(f"{office.code:<24} {office.province:<8} {office.office_hours:<26} "
                   f"{office.name}")


@click.group("station")
def station_group() -> None:
    """Scan points."""


@station_group.command("add")
@click.option("--office", "office_code", required=True, help="Agency code of the office")
@click.option("--code", required=True, help="Station code, unique, e.g. H12-DESK")
@click.option("--name", required=True)
@click.option("--kind", required=True, type=click.Choice(
    ["reception", "department", "leader", "return", "archive", "agency"], case_sensitive=False))
@with_appcontext
@_fail_on_domain_error
def station_add(office_code: str, code: str, name: str, kind: str) -> None:
    """Add a scan point to an office."""
    from app.offices.models import StationKind
    from app.offices.operations import add_station, get_office

    station = add_station(get_office(office_code), code, name, StationKind[kind.upper()])
    _record("station.create", f"station {station.code}", station.office, name=station.name,
            kind=station.kind.name.lower())
    db.session.commit()
    click.echo(f"station {station.code} added")


@station_group.command("list")
@click.option("--office", "office_code", default=None)
@with_appcontext
def station_list(office_code: str | None) -> None:
    """List scan points."""
    from app.offices.models import Office, Station

    stmt = sa.select(Station).join(Office).order_by(Office.code, Station.id)
    if office_code:
        stmt = stmt.where(Office.code == office_code)
    for s in db.session.scalars(stmt):
        state = "" if s.active else " (inactive)"
        click.echo(f"{s.code:<20} {s.kind.name.lower():<11} {s.office.code:<24} {s.name}{state}")


# --- devices ----------------------------------------------------------------------------------

@click.group("device")
def device_group() -> None:
    """Scanner agents and their tokens."""


@device_group.command("add")
@click.option("--station", "stations", required=True, multiple=True,
              help="Station code the device scans at (repeat for several; scans that name "
                   "no station go to the one created first)")
@click.option("--name", default=None, help="A name people recognise, e.g. 'Quầy 1 PC'")
@with_appcontext
@_fail_on_domain_error
def device_add(stations: tuple[str, ...], name: str | None) -> None:
    """Register a scanner device and print its token (shown only this once)."""
    from app.auth.operations import create_device
    from app.offices.operations import get_station

    bound = [get_station(code) for code in stations]
    device, token = create_device(name or f"scanner at {bound[0].code}", bound)
    _record("device.create", f"device {device.id}", device.office, name=device.name,
            stations=list(stations))
    db.session.commit()
    click.echo(f"device {device.id} ({device.name}) bound to {', '.join(stations)}")
    click.echo(f"token: {token}")


@device_group.command("revoke")
@click.argument("device_id", type=int)
@with_appcontext
@_fail_on_domain_error
def device_revoke(device_id: int) -> None:
    """Revoke a device's token: its scans are refused from now on."""
    from app.auth.operations import revoke_device

    device = revoke_device(device_id)
    _record("device.revoke", f"device {device.id}", device.office, name=device.name)
    db.session.commit()
    click.echo(f"device {device_id} revoked")


@device_group.command("list")
@with_appcontext
def device_list() -> None:
    """List devices with their stations and last contact."""
    from app.auth.models import Device

    for d in db.session.scalars(sa.select(Device).order_by(Device.id)):
        seen = d.last_seen_at.isoformat(timespec="seconds") if d.last_seen_at else "never"
        state = "revoked" if d.revoked_at else "active"
        click.echo(f"{d.id:>4} {state:<8} {seen:<26} {','.join(s.code for s in d.stations):<30}"
                   f" {d.name}")


# --- users ------------------------------------------------------------------------------------

@click.group("user")
def user_group() -> None:
    """Staff accounts and personal API tokens."""


@user_group.command("add")
@click.argument("username")
@click.option("--name", "full_name", required=True)
@click.option("--role", required=True, type=click.Choice(
    ["reception", "specialist", "leader", "supervisor", "admin"], case_sensitive=False))
@click.option("--office", "office_code", required=True)
@click.option("--badge", default=None, help="Badge code scanned as the actor")
@click.option("--province-scope", is_flag=True, help="Supervisor/admin sees the whole province")
@click.option("--password", default=None, help="Login password (prompted if omitted)")
@with_appcontext
@_fail_on_domain_error
def user_add(username: str, full_name: str, role: str, office_code: str, badge: str | None,
             province_scope: bool, password: str | None) -> None:
    """Add a staff user."""
    from app.auth.models import Role
    from app.auth.operations import create_user
    from app.offices.operations import get_office

    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    user = create_user(username, full_name, Role[role.upper()], get_office(office_code),
                       password=password, badge=badge, province_scope=province_scope)
    _record("user.create", f"user {user.username}", user.office, role=user.role.value,
            badge=user.badge, province_scope=user.province_scope)
    db.session.commit()
    click.echo(f"user {user.username} added")


@user_group.command("token")
@click.argument("username")
@click.option("--name", default="cli", help="What the token is for")
@click.option("--expires-in", default=None,
              help="Lifetime in days or hours, e.g. 90d or 12h "
                   "[default: API_TOKEN_LIFETIME, 90d]")
@with_appcontext
@_fail_on_domain_error
def user_token(username: str, name: str, expires_in: str | None) -> None:
    """Issue a personal API token (shown only this once; its expiry goes to stderr)."""
    from app.auth.operations import get_user, issue_token, parse_lifetime

    lifetime = parse_lifetime(expires_in or str(current_app.config["API_TOKEN_LIFETIME"]))
    user = get_user(username)
    token = issue_token(user, name, expires_in=lifetime)
    _record("user.issue_token", f"user {user.username}", user.office, name=name,
            lifetime=str(lifetime))
    db.session.commit()
    click.echo(token)
    expires = dt.datetime.now(dt.UTC) + lifetime
    click.echo(f"expires about {expires.isoformat(timespec='minutes')}", err=True)


@user_group.command("revoke-tokens")
@click.argument("username")
@with_appcontext
@_fail_on_domain_error
def user_revoke_tokens(username: str) -> None:
    """Revoke every personal token of USERNAME (the next request with one answers 401)."""
    from app.auth.operations import get_user, revoke_tokens

    user = get_user(username)
    count = revoke_tokens(user)
    _record("user.revoke_tokens", f"user {user.username}", user.office, count=count)
    db.session.commit()
    click.echo(f"{count} token(s) of {username} revoked")


@user_group.command("deactivate")
@click.argument("username")
@with_appcontext
@_fail_on_domain_error
def user_deactivate(username: str) -> None:
    """Lock USERNAME out at once: every token answers 401 until ``activate``."""
    from app.auth.operations import get_user, set_user_active

    user = set_user_active(get_user(username), False)
    _record("user.deactivate", f"user {user.username}", user.office)
    db.session.commit()
    click.echo(f"user {username} deactivated")


@user_group.command("activate")
@click.argument("username")
@with_appcontext
@_fail_on_domain_error
def user_activate(username: str) -> None:
    """Let a deactivated user in again (unexpired, unrevoked tokens work again)."""
    from app.auth.operations import get_user, set_user_active

    user = set_user_active(get_user(username), True)
    _record("user.activate", f"user {user.username}", user.office)
    db.session.commit()
    click.echo(f"user {username} activated")


@user_group.command("list")
@with_appcontext
def user_list() -> None:
    """List staff users: role, office, scope, state, live tokens and last token use."""
    from app.auth.queries import user_overview

    click.echo(f"{'username':<16} {'role':<11} {'office':<24} {'scope':<8} {'state':<8} "
               f"{'tokens':>6} {'last used':<20} name")
    for row in user_overview():
        u = row.user
        scope = "province" if u.province_scope else "office"
        state = "active" if u.active else "inactive"
        last = row.last_used_at.isoformat(timespec="minutes") if row.last_used_at else "never"
        click.echo(f"{u.username:<16} {u.role.value:<11} {u.office.code:<24} {scope:<8} "
                   f"{state:<8} {row.live_tokens:>6} {last:<20} {u.full_name}")


# --- procedures -------------------------------------------------------------------------------

@click.group("procedure")
def procedure_group() -> None:
    """Procedures (TTHC) and their internal step plans."""


@procedure_group.command("add")
@click.option("--code", required=True, help="Catalogue code, e.g. 1.001193")
@click.option("--name", required=True)
@click.option("--short-name", default="")
@click.option("--field", "field_name", default="")
@click.option("--duration", required=True, help='Legal duration, e.g. "15 working days"')
@click.option("--step", "steps", multiple=True, required=True,
              help="NAME=STATION_OR_KIND:HOURS, in order, e.g. 'Thụ lý=DEPARTMENT:84'")
@click.option("--fee", type=click.IntRange(min=0), default=None,
              help="Fees and charges in đồng printed on the receipt (0: none); unset leaves "
                   "a blank on the receipt")
@with_appcontext
@_fail_on_domain_error
def procedure_add(code: str, name: str, short_name: str, field_name: str, duration: str,
                  steps: tuple[str, ...], fee: int | None) -> None:
    """Add a procedure, or a new version of an existing one."""
    from app.procedures.operations import create_procedure, parse_step

    version = create_procedure(code, name, duration, [parse_step(s) for s in steps],
                               short_name=short_name, field=field_name, fee=fee)
    _record("procedure.version", f"procedure {code}", version=version.version,
            duration=duration, steps=list(steps))
    db.session.commit()
    click.echo(f"procedure {code} version {version.version} saved")


@procedure_group.command("list")
@with_appcontext
def procedure_list() -> None:
    """List procedures with their current version."""
    from app.procedures.models import Procedure

    for p in db.session.scalars(sa.select(Procedure).order_by(Procedure.code)):
        v = p.current_version
        click.echo(f"{p.code:<12} v{v.version:<3} {v.duration_text:<22} {p.name}")


# --- calendar ---------------------------------------------------------------------------------

@click.group("calendar")
def calendar_group() -> None:
    """Working calendar: holidays, days off and make-up working days."""


def _calendar(office_code: str | None) -> Any:
    from app.offices.models import Office
    from app.offices.operations import calendar_for, get_office

    if office_code:
        return calendar_for(get_office(office_code))
    office = db.session.scalar(sa.select(Office).order_by(Office.id).limit(1))
    if office is not None:
        return calendar_for(office)
    from app.worktime import WorkCalendar

    return WorkCalendar()


@calendar_group.command("show")
@click.argument("year", type=click.IntRange(1970, 2199), required=False)
@click.option("--office", "office_code", default=None,
              help="Only the overrides that apply to this office, and its working days")
@with_appcontext
@_fail_on_domain_error
def calendar_show(year: int | None, office_code: str | None) -> None:
    """Holidays, government swaps and admin overrides of YEAR (default: this year)."""
    from app import worktime
    from app.offices.operations import calendar_for, calendar_overrides, get_office, shared_calendar

    office = get_office(office_code) if office_code else None
    calendar = calendar_for(office) if office else shared_calendar()
    if year is None:
        year = dt.datetime.now(calendar.tz).year
    where = f"office {office.code} ({office.office_hours})" if office else "all offices"
    click.echo(f"Calendar {year}, {where}")
    if worktime.is_confirmed(year):
        click.echo(f"Government day swaps for {year}: confirmed (shipped with the tracker).")
    else:
        shipped = worktime.confirmed_years()
        known = f"{shipped[0]}-{shipped[-1]}" if shipped else "none"
        click.echo(f"UNCONFIRMED (chưa xác nhận): the government's day swaps for {year} are not "
                   f"shipped (confirmed years: {known}). Make-up Saturdays and swapped days off "
                   "of that year are missing until they are; enter published ones with "
                   "`tracker calendar set`.")

    def line(day: dt.date, kind: str, text: str) -> str:
        return f"  {day.isoformat()} {day.strftime('%a')}  {kind:<12} {text}"

    click.echo("\nPublic holidays (ngày lễ, Labour Code 2019 Art. 112):")
    for day, name in worktime.public_holidays(year):
        click.echo(line(day, "holiday", name))
    click.echo("\nGovernment swaps (hoán đổi ngày làm việc):")
    swaps = worktime.shipped_calendar().in_year(year)
    for swap in swaps:
        click.echo(line(swap.day, swap.kind, f"{swap.note} [{swap.source}]"))
    if not swaps:
        click.echo("  (none shipped)")
    click.echo("\nAdmin overrides (tracker calendar set):")
    overrides = calendar_overrides(year, office)
    for o in overrides:
        scope = f"office {o.office_code}" if o.office_code else "all offices"
        if o.superseded:
            scope += ", replaced by the office's own"
        click.echo(line(o.day, o.kind.value, f"[{scope}] {o.note or '(no note)'}"))
    if not overrides:
        click.echo("  (none)")
    click.echo("\nDays that differ from the usual week, as deadlines count them:")
    for day, name, kind in calendar.holidays_in(year):
        click.echo(line(day, kind, name))


@calendar_group.command("due")
@click.option("--from", "start", required=True, help="Received instant, ISO 8601 with offset")
@click.option("--duration", required=True,
              help='e.g. "15 working days", "4 working hours", "30 calendar days", '
                   '"same day, cutoff 15:00"')
@click.option("--office", "office_code", default=None)
@with_appcontext
@_fail_on_domain_error
def calendar_due(start: str, duration: str, office_code: str | None) -> None:
    """Print the due instant for a dossier received at --from."""
    from app.worktime import parse_duration

    received = dt.datetime.fromisoformat(start)
    legal = parse_duration(duration)
    calendar = _calendar(office_code)
    click.echo(calendar.due_at(received, legal.amount, legal.unit, cutoff=legal.cutoff)
               .isoformat())


@calendar_group.command("set")
@click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.argument("kind", type=click.Choice(["day-off", "working-day"]))
@click.option("--office", "office_code", default=None, help="Only this office (default: all)")
@click.option("--note", default="")
@with_appcontext
@_fail_on_domain_error
def calendar_set(day: dt.datetime, kind: str, office_code: str | None, note: str) -> None:
    """Declare DAY an extra day off or a make-up working day."""
    from app.offices.models import OverrideKind
    from app.offices.operations import get_office, set_calendar_override

    office = get_office(office_code) if office_code else None
    override_kind = OverrideKind.DAY_OFF if kind == "day-off" else OverrideKind.WORKING_DAY
    set_calendar_override(office, day.date(), override_kind, note)
    _record("calendar.set", f"day {day.date().isoformat()}", office,
            kind=override_kind.name.lower(), note=note, scope=office.code if office else "all")
    db.session.commit()
    click.echo(f"{day.date().isoformat()} is now a {override_kind.value}")


@calendar_group.command("unset")
@click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--office", "office_code", default=None,
              help="The office's own override (default: the all-offices one)")
@with_appcontext
@_fail_on_domain_error
def calendar_unset(day: dt.datetime, office_code: str | None) -> None:
    """Remove the override of DAY: it is again what holidays and swaps make it."""
    from app.offices.operations import get_office, remove_calendar_override

    office = get_office(office_code) if office_code else None
    removed = remove_calendar_override(office, day.date())
    _record("calendar.unset", f"day {day.date().isoformat()}", office,
            scope=office.code if office else "all")
    db.session.commit()
    scope = f"office {office.code}" if office else "all offices"
    click.echo(f"{day.date().isoformat()}: {removed.kind.value} override removed ({scope})")


# --- printing ---------------------------------------------------------------------------------

@click.command("labels")
@click.argument("references", nargs=-1, required=True)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True),
              help="File to write (PDF or ZPL)")
@click.option("--layout", default=None,
              help="Preset (thermal-50x30, thermal-40x30, a4-65, a4-24, ...) or JSON grid; "
                   "default: the office's")
@click.option("--printer", type=click.Choice(["pdf", "zpl"]), default=None,
              help="Default: the office's printer type")
@click.option("--copies", default=1, type=click.IntRange(1, 100), show_default=True)
@click.option("--start", "start_position", default=1, type=click.IntRange(1, 500),
              show_default=True, help="First free slot on a partly used sheet")
@click.option("--with-2d", is_flag=True, help="Add a QR of the official code")
@click.option("--calibration", is_flag=True, help="Print the layout's calibration page instead")
@with_appcontext
@_fail_on_domain_error
def print_labels_cmd(references: tuple[str, ...], out: str, layout: str | None,
                     printer: str | None, copies: int, start_position: int, with_2d: bool,
                     calibration: bool) -> None:
    """Print labels for dossiers (codes or tracking numbers) onto sheets, rolls or ZPL."""
    from app.tracking import printing
    from app.tracking.operations import resolve_dossier

    dossiers = [resolve_dossier(r) for r in references]
    if calibration:
        import labels

        body = labels.render_calibration(printing.layout_for(dossiers[0].receiving_office,
                                                             layout))
    else:
        body = printing.print_labels(dossiers, layout=layout, printer=printer, copies=copies,
                                     start_position=start_position, with_2d=with_2d).body
    db.session.commit()
    Path(out).write_bytes(body)
    click.echo(f"{len(dossiers)} dossier(s) → {out} ({len(body)} bytes)")


_PAPER_KINDS = ("original", "certified", "photo")


@click.command("forms")
@click.argument("form", type=click.Choice(["02", "03", "04"]))
@click.argument("reference")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True),
              help="PDF file to write")
@click.option("--user", "username", default=None,
              help="Record a new notice as this staff user (scope and roles as in the API); "
                   "without it, the latest recorded one is reprinted")
@click.option("--reason", default=None, help="Why (02, 03: the reason; 04: the delay)")
@click.option("--item", "items", multiple=True,
              help="02: a missing paper, NAME or NAME=original|certified|photo (repeatable)")
@click.option("--new-due", "new_due", default=None,
              help="04: the new appointment, ISO 8601 with offset, e.g. 2026-12-04T16:00+07:00")
@with_appcontext
@_fail_on_domain_error
def forms_cmd(form: str, reference: str, out: str, username: str | None, reason: str | None,
              items: tuple[str, ...], new_due: str | None) -> None:
    """Print Mẫu 02 (supplement request), 03 (refusal) or 04 (apology) of a dossier.

    With --user and --reason, records a new one first (02 also needs --item, 04 --new-due),
    exactly as the API does; otherwise reprints the latest recorded one.
    """
    from app.auth.operations import get_user
    from app.auth.tokens import Principal
    from app.tracking import notices, printing
    from app.tracking.models import NoticeKind
    from app.tracking.operations import resolve_dossier

    kind = NoticeKind(form)
    if username is None:
        if reason or items or new_due:
            raise click.UsageError("recording a notice needs --user")
        notice = notices.latest_notice(resolve_dossier(reference), kind)
    else:
        if not reason:
            raise click.UsageError("recording a notice needs --reason")
        user = get_user(username)
        if user.role not in notices.ISSUERS[kind]:
            allowed = " or ".join(sorted(r.value for r in notices.ISSUERS[kind]))
            raise click.UsageError(f"Mẫu {form} is issued by {allowed}, not {user.role.value}")
        principal = Principal(user=user)
        dossier = resolve_dossier(reference, principal)
        if kind is NoticeKind.SUPPLEMENT_REQUEST:
            papers = []
            for item in items:
                name, _, paper = item.rpartition("=") if "=" in item else (item, "", "original")
                if paper not in _PAPER_KINDS:
                    msg = f"--item {item!r}: the kind is one of {', '.join(_PAPER_KINDS)}"
                    raise click.UsageError(msg)
                papers.append(notices.MissingPaper(name.strip(), paper))  # type: ignore[arg-type]
            notice = notices.request_supplement(dossier, principal, papers, reason)
        elif kind is NoticeKind.REFUSAL:
            notice = notices.record_refusal(dossier, principal, reason)
        else:
            if new_due is None:
                raise click.UsageError("Mẫu 04 needs --new-due")
            when = dt.datetime.fromisoformat(new_due)
            if when.tzinfo is None:
                raise click.UsageError("--new-due needs a UTC offset, e.g. +07:00")
            notice = notices.apologize(dossier, principal, reason, when.astimezone(dt.UTC))
    body = printing.print_notice(notice).body
    db.session.commit()
    Path(out).write_bytes(body)
    click.echo(f"Mẫu {form} of {notice.dossier.code} → {out} ({len(body)} bytes)")


# --- station cards: badges and action cards ---------------------------------------------------

_CARD_DPI = click.option("--dpi", default=300, type=click.IntRange(150, 600), show_default=True,
                         help="Printer resolution: bars are whole dots of it")
_CARD_SHEET = click.option("--sheet", is_flag=True,
                           help="Ten cards on each A4 page with cut marks (default: one CR80 "
                                "card a page, for card printers)")
_CARD_OUT = click.option("--out", "out", required=True,
                         type=click.Path(dir_okay=False, writable=True), help="PDF file to write")


@click.command("badges")
@click.argument("usernames", nargs=-1)
@click.option("--office", "office_code", default=None,
              help="Only this office's users (all its active users with a badge if none named)")
@_CARD_SHEET
@_CARD_DPI
@_CARD_OUT
@with_appcontext
@_fail_on_domain_error
def badges_cmd(usernames: tuple[str, ...], office_code: str | None, sheet: bool, dpi: int,
               out: str) -> None:
    """Print staff badge cards (name, role, office, Code 128 of the badge) as a PDF.

    Names no user: every active user with a badge. A named user without a badge is refused.
    """
    from app.auth.cards import badge_card, badge_users
    from labels import render_badge_cards

    users = badge_users(usernames, office_code)
    # A name the card cannot hold is a LabelError, a ValueError: a clean usage error.
    body = render_badge_cards([badge_card(u) for u in users], sheet=sheet, dpi=dpi)
    _record("badges.print", ", ".join(u.username for u in users),
            users=[u.username for u in users])
    db.session.commit()
    Path(out).write_bytes(body)
    click.echo(f"{len(users)} badge card(s) → {out} ({len(body)} bytes)")


@click.command("cards")
@click.option("--send-to", "send_to", multiple=True, metavar="CODE",
              help="Print a 'Gửi liên thông' card sending files to this office or station "
                   "(agency or station code; repeatable). Without it: no send card")
@_CARD_SHEET
@_CARD_DPI
@_CARD_OUT
@with_appcontext
@_fail_on_domain_error
def cards_cmd(send_to: tuple[str, ...], sheet: bool, dpi: int, out: str) -> None:
    """Print the action cards (Trả kết quả, Yêu cầu bổ sung, ..., Đăng xuất) as a PDF."""
    from app.auth.cards import action_cards
    from labels import render_command_cards

    cards = action_cards(send_to)
    body = render_command_cards(cards, sheet=sheet, dpi=dpi)
    _record("cards.print", "action cards", send_to=list(send_to))
    db.session.commit()
    Path(out).write_bytes(body)
    click.echo(f"{len(cards)} action card(s) → {out} ({len(body)} bytes)")
