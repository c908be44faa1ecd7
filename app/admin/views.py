"""The ``/admin`` pages (thin): offices and stations, procedures and their step plans, the
working calendar, users and their badges and tokens, scanner devices, and the admin log.

Admins only (:data:`app.auth.permissions.ADMIN_ROLES`), and only within their scope, as the
API's scope rule has it (:attr:`Principal.office_ids`): an admin manages their own office, a
province-scoped admin every office of the province; anything else answers 404, as the API
does for a dossier out of scope. What is shared by every office (the procedure catalogue;
calendar days for all offices; new offices) needs a province-scoped admin, and a step plan may
name only stations the admin manages (a plan step gives its station's office access to the
dossiers).

Every change goes through the same operations as the ``tracker`` command and is recorded in
the admin log (:func:`app.admin.operations.record_admin_action`) in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
import zoneinfo
from collections.abc import Iterable, Sequence
from io import BytesIO
from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    FieldList,
    Form,
    FormField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Length, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from app import worktime
from app.admin.operations import admin_log, record_admin_action
from app.auth import operations as users
from app.auth.cards import action_cards, badge_card, badge_users
from app.auth.models import Device, Role, User
from app.auth.permissions import ADMIN_ROLES
from app.auth.queries import user_overview
from app.db import db
from app.errors import DomainError
from app.offices import operations as offices
from app.offices.models import Office, OverrideKind, PrinterType, Station, StationKind
from app.procedures.models import Procedure
from app.procedures.operations import StepSpec, create_procedure
from app.tracking.printing import set_label_settings
from app.web import ROLE_NAMES, staff_page

bp = Blueprint("admin", __name__, url_prefix="/admin")

REQUIRED = _l("Fill this in.")
TOO_LONG = _l("This is too long.")

KIND_NAMES = {
    StationKind.RECEPTION: _l("Reception counter"),
    StationKind.DEPARTMENT: _l("Department desk"),
    StationKind.LEADER: _l("Leader's office"),
    StationKind.RETURN: _l("Result-return counter"),
    StationKind.ARCHIVE: _l("Archive"),
    StationKind.AGENCY: _l("Another agency"),
}
UNIT_NAMES = {
    worktime.DurationUnit.WORKING_DAYS: _l("working days"),
    worktime.DurationUnit.WORKING_HOURS: _l("working hours"),
    worktime.DurationUnit.CALENDAR_DAYS: _l("calendar days"),
    worktime.DurationUnit.SAME_DAY: _l("same day (cut-off time)"),
}
OVERRIDE_NAMES = {OverrideKind.DAY_OFF: _l("Extra day off"),
                  OverrideKind.WORKING_DAY: _l("Make-up working day")}
# What the operations refuse, in the admin's words (the operations' own messages are English,
# for logs and the CLI); an unlisted refusal shows the operation's message.
REFUSALS: dict[str, LazyString] = {
    "bad_office_code": _l("An agency code is 1 to 32 characters of A-Z, 0-9 and . - _, "
                          "e.g. 000.00.19.H12."),
    "office_exists": _l("An office with this agency code exists already."),
    "bad_office_hours": _l("Write the office hours as periods, e.g. 07:00-11:30,13:30-17:00."),
    "bad_code_pattern": _l("Scanners could not read codes of this pattern back. A pattern is "
                           "literal A-Z 0-9 . - _ and {agency}, {yymmdd} or {yyyymmdd} and "
                           "{serial:0Nd}, e.g. {agency}-{yymmdd}-{serial:04d}."),
    "bad_station_code": _l("A station code is 1 to 32 characters of A-Z, 0-9 and . - _."),
    "station_exists": _l("A station with this code exists already."),
    "username_taken": _l("This username is taken."),
    "badge_taken": _l("Another user has this badge."),
    "bad_badge": _l("A badge is 1 to 64 printable ASCII characters without spaces."),
    "short_password": _l("A password needs at least 8 characters."),
    "province_scope": _l("Only supervisors and administrators can see a whole province."),
    "empty_plan": _l("A step plan needs at least one step."),
    "negative_budget": _l("A budget cannot be negative."),
    "step_needs_station": _l("Choose a station or a kind of station."),
    "unknown_station": _l("There is no such station."),
    "bad_duration": _l("This duration cannot be read."),
    "no_override": _l("There is no such override."),
    "device_no_station": _l("Choose at least one station."),
    "device_offices": _l("Choose stations of one office."),
    "cannot_print": _l("Labels cannot be printed on this layout: give a preset such as a4-65 "
                       "or thermal-50x30, or a JSON grid that fits the page."),
}


def register(app: Flask) -> None:
    """The admin pages."""
    app.register_blueprint(bp)


# --- scope and bookkeeping ------------------------------------------------------------------

def _scope_offices() -> list[Office]:
    """The offices the admin manages."""
    return list(db.session.scalars(sa.select(Office).where(
        Office.id.in_(g.principal.office_ids)).order_by(Office.code)))


def _office(code: str) -> Office:
    office = offices.get_office(code)
    if office.id not in g.principal.office_ids:
        abort(404)
    return office


def _station(code: str) -> Station:
    station = offices.get_station(code)
    if station.office_id not in g.principal.office_ids:
        abort(404)
    return station


def _user(username: str) -> User:
    user = users.get_user(username)
    if user.office_id not in g.principal.office_ids:
        abort(404)
    return user


def _wide() -> bool:
    """Changes shared by every office need a province-scoped admin."""
    return bool(g.principal.province_wide)


def _record(action: str, target: str, office: Office | None = None, **details: Any) -> None:
    record_admin_action(g.principal.user.username, action, target, office=office, **details)


def _refusal(exc: DomainError, **args: Any) -> str:
    text = REFUSALS.get(exc.code)
    return str(text) % args if text is not None and args else str(text or exc.message)


def _attach(exc: DomainError, fields: dict[str, Field], default: Field) -> None:
    """Show a refusal under the field it is about (by its code), else under ``default``."""
    field = fields.get(exc.code, default)
    field.errors = [*field.errors, _refusal(exc)]


def _commit(message: LazyString, **args: Any) -> None:
    db.session.commit()
    flash(str(message) % args if args else str(message))


# --- forms ----------------------------------------------------------------------------------

def _options(pairs: Iterable[tuple[str, Any]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def _text(label: LazyString, *, required: bool = True, max: int = 200,  # noqa: A002
          pattern: str | None = None, pattern_message: LazyString | None = None,
          **kwargs: Any) -> StringField:
    """A text field whose refusals are translated (WTForms ships no Vietnamese)."""
    validators = [DataRequired(message=REQUIRED) if required else Optional(),
                  Length(max=max, message=TOO_LONG)]
    if pattern is not None:
        validators.append(Regexp(pattern, message=pattern_message))
    return StringField(label, validators=validators, **kwargs)


class OfficeForm(FlaskForm):  # type: ignore[misc]
    name = _text(_l("Name"))
    place = _text(_l("Place printed on forms"), required=False, max=100)
    office_hours = _text(_l("Office hours"), max=64,
                         description=_l("Periods of the working day, e.g. 07:00-11:30,13:30-17:00"))
    code_pattern = _text(_l("Dossier code pattern (Circular 01/2018)"), max=64,
                         description=_l("e.g. {agency}-{yymmdd}-{serial:04d}"))


class PrintingForm(OfficeForm):
    label_layout = _text(_l("Label layout"), max=400,
                         description=_l("A preset (a4-65, a4-24, thermal-50x30, ...) or a JSON "
                                        "grid"))
    label_printer = SelectField(_l("Label printer"), choices=_options(
        [("PDF", _l("PDF (sheets and thermal printers)")), ("ZPL", _l("ZPL (Zebra)"))]))


class NewOfficeForm(OfficeForm):
    code = _text(_l("Agency code (QCVN 102)"), max=32, description=_l("e.g. 000.00.19.H12"))


class StationForm(FlaskForm):  # type: ignore[misc]
    name = _text(_l("Name"))
    kind = SelectField(_l("Kind"), choices=_options((k.name, n) for k, n in KIND_NAMES.items()))
    active = BooleanField(_l("In service"), default=True)


class NewStationForm(StationForm):
    code = _text(_l("Station code"), max=32, description=_l("e.g. H12-DESK"))


class StepForm(Form):  # type: ignore[misc]
    name = _text(_l("Step"), required=False)
    target = SelectField(_l("Station or kind"), choices=[], validate_choice=False)
    budget = _text(_l("Budget"), required=False, max=12)
    unit = SelectField(_l("Unit"), choices=_options([("hours", _l("working hours")),
                                                     ("days", _l("working days"))]),
                       validate_choice=False)  # an unused row posts none: hours


STEP_ROWS = 8
_NUMBER = re.compile(r"\s*\d{1,6}([.,]\d{1,2})?\s*")
_TIME = re.compile(r"\s*([01]?\d|2[0-3]):[0-5]\d\s*")


class ProcedureForm(FlaskForm):  # type: ignore[misc]
    code = _text(_l("Catalogue code"), max=32, description=_l("e.g. 1.001193"))
    name = _text(_l("Name"), max=500)
    short_name = _text(_l("Short name (printed on labels)"), required=False, max=60)
    field = _text(_l("Field"), required=False)
    amount = _text(_l("Legal duration"), required=False, max=8)
    unit = SelectField(_l("Unit"), choices=_options((u.name, n) for u, n in UNIT_NAMES.items()))
    cutoff = _text(_l("Cut-off time (same day)"), required=False, max=5,
                   pattern=rf"^{_TIME.pattern}$", pattern_message=_l("Write a time like 15:00."))
    fee = _text(_l("Fees and charges (đồng)"), required=False, max=12,
                pattern=r"^\s*\d{1,12}\s*$",
                pattern_message=_l("Write a whole number of đồng."),
                description=_l("0: none; empty: not set, the receipt leaves a blank"))
    steps = FieldList(FormField(StepForm), min_entries=STEP_ROWS, max_entries=30)


class CalendarForm(FlaskForm):  # type: ignore[misc]
    day = _text(_l("Day"), max=10)
    kind = SelectField(_l("What the day becomes"),
                       choices=_options((k.name, n) for k, n in OVERRIDE_NAMES.items()))
    office = SelectField(_l("Where"), choices=[], validate_choice=False)
    note = _text(_l("Note"), required=False)


class UserForm(FlaskForm):  # type: ignore[misc]
    username = _text(_l("Username"), max=64)
    full_name = _text(_l("Full name"))
    role = SelectField(_l("Role"), choices=_options((r.name, n) for r, n in ROLE_NAMES.items()))
    office = SelectField(_l("Office"), choices=[], validate_choice=False)
    badge = _text(_l("Badge"), required=False, max=64)
    province_scope = BooleanField(_l("Sees every office of the province"))
    password = PasswordField(_l("Password"), validators=[DataRequired(message=REQUIRED),
                                                         Length(max=256, message=TOO_LONG)])


class PasswordForm(FlaskForm):  # type: ignore[misc]
    password = PasswordField(_l("New password"), validators=[
        DataRequired(message=REQUIRED), Length(max=256, message=TOO_LONG)])


class BadgeForm(FlaskForm):  # type: ignore[misc]
    badge = _text(_l("Badge"), required=False, max=64,
                  description=_l("Empty: the user has no badge"))


class MultiCheckbox(SelectMultipleField):  # type: ignore[misc]
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class DeviceForm(FlaskForm):  # type: ignore[misc]
    name = _text(_l("Name"), description=_l("A name people recognise, e.g. Quầy 1 PC"))
    stations = MultiCheckbox(_l("Stations it scans at"), choices=[], validate_choice=False,
                             description=_l("Scans that name no station go to the first"))


class CardsForm(FlaskForm):  # type: ignore[misc]
    send_to = _text(_l("Send cards to (agency or station codes, separated by spaces)"),
                    required=False, max=400)


class ActionForm(FlaskForm):  # type: ignore[misc]
    """A button that changes something: its CSRF token only."""


# --- index and log ---------------------------------------------------------------------------

def _this_year() -> int:
    return dt.datetime.now(_tz()).year


def _unconfirmed_years() -> list[int]:
    """This year and the next, when their government swaps are not shipped."""
    year = _this_year()
    return [y for y in (year, year + 1) if not worktime.is_confirmed(y)]


@bp.get("/")
@staff_page(ADMIN_ROLES)
def index() -> ResponseReturnValue:
    """The admin start page: the sections and what needs attention."""
    return render_template("admin/index.html", unconfirmed=_unconfirmed_years(),
                           offices=_scope_offices())


@bp.get("/log")
@staff_page(ADMIN_ROLES)
def log_page() -> ResponseReturnValue:
    """What admins did, newest first."""
    names = {o.id: o.code for o in db.session.scalars(sa.select(Office))}
    return render_template("admin/log.html", rows=admin_log(g.principal.office_ids),
                           office_codes=names, tz=_tz())


def _tz() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(g.principal.office.timezone)


# --- offices and stations --------------------------------------------------------------------

@bp.route("/offices", methods=["GET", "POST"])
@staff_page(ADMIN_ROLES)
def offices_page() -> ResponseReturnValue:
    """The admin's offices and their stations; a province-scoped admin adds offices."""
    form = NewOfficeForm(office_hours="07:00-11:30,13:30-17:00",
                         code_pattern="{agency}-{yymmdd}-{serial:04d}")
    status = 200
    if form.is_submitted():
        if not _wide():
            abort(403)
        if form.validate():
            try:
                office = offices.create_office(
                    form.code.data.strip(), form.name.data.strip(),
                    province=g.principal.office.province, place=form.place.data.strip(),
                    office_hours=form.office_hours.data.strip(),
                    code_pattern=form.code_pattern.data.strip())
            except DomainError as exc:
                db.session.rollback()
                _attach(exc, {"bad_code_pattern": form.code_pattern,
                              "bad_office_hours": form.office_hours}, form.code)
            else:
                _record("office.create", f"office {office.code}", office, name=office.name,
                        province=office.province, office_hours=office.office_hours,
                        code_pattern=office.code_pattern)
                _commit(_l("Office %(code)s added."), code=office.code)
                return redirect(url_for("admin.office_page", code=office.code))
        status = 422
    return render_template("admin/offices.html", offices=_scope_offices(), form=form,
                           wide=_wide(), kinds=KIND_NAMES), status


@bp.route("/offices/<code>", methods=["GET", "POST"])
@staff_page(ADMIN_ROLES)
def office_page(code: str) -> ResponseReturnValue:
    """One office: edit it, add a station."""
    office = _office(code)
    form = PrintingForm(prefix="office", data={
        "name": office.name, "place": office.place, "office_hours": office.office_hours,
        "code_pattern": office.code_pattern, "label_layout": office.label_layout,
        "label_printer": office.label_printer.name})
    station_form = NewStationForm(prefix="station")
    status = 200
    if request.method == "POST" and request.form.get("what") == "office":
        if form.validate():
            fields = ("name", "place", "office_hours", "code_pattern", "label_layout",
                      "label_printer")
            before = {k: getattr(office, k) for k in fields}
            try:
                offices.update_office(office, name=form.name.data,
                                      place=form.place.data or "",
                                      office_hours=form.office_hours.data.strip(),
                                      code_pattern=form.code_pattern.data.strip())
                set_label_settings(office, form.label_layout.data.strip(),
                                   PrinterType[form.label_printer.data])
            except DomainError as exc:
                db.session.rollback()
                office = _office(code)
                _attach(exc, {"bad_code_pattern": form.code_pattern,
                              "bad_office_hours": form.office_hours,
                              "cannot_print": form.label_layout}, form.name)
            else:
                changed = {k: str(getattr(office, k).value if k == "label_printer"
                                  else getattr(office, k))
                           for k, v in before.items() if getattr(office, k) != v}
                _record("office.update", f"office {office.code}", office, **changed)
                _commit(_l("Office %(code)s saved."), code=office.code)
                return redirect(url_for("admin.office_page", code=office.code))
        status = 422
    elif request.method == "POST" and request.form.get("what") == "station":
        if station_form.validate():
            try:
                station = offices.add_station(office, station_form.code.data,
                                              station_form.name.data.strip(),
                                              StationKind[station_form.kind.data])
            except DomainError as exc:
                db.session.rollback()
                office = _office(code)
                _attach(exc, {}, station_form.code)
            else:
                _record("station.create", f"station {station.code}", office,
                        name=station.name, kind=station.kind.name.lower())
                _commit(_l("Station %(code)s added."), code=station.code)
                return redirect(url_for("admin.office_page", code=office.code))
        status = 422
    elif request.method == "POST":
        abort(400)
    return render_template("admin/office.html", office=office, form=form,
                           station_form=station_form, kinds=KIND_NAMES), status


@bp.route("/stations/<code>", methods=["GET", "POST"])
@staff_page(ADMIN_ROLES)
def station_page(code: str) -> ResponseReturnValue:
    """One station: rename it, change its kind, take it out of service."""
    station = _station(code)
    form = StationForm(data={"name": station.name, "kind": station.kind.name,
                             "active": station.active})
    if request.method == "POST":
        if form.validate():
            before = (station.name, station.kind, station.active)
            offices.update_station(station, name=form.name.data,
                                   kind=StationKind[form.kind.data], active=form.active.data)
            _record("station.update", f"station {station.code}", station.office,
                    name=station.name, kind=station.kind.name.lower(), active=station.active,
                    changed=before != (station.name, station.kind, station.active))
            _commit(_l("Station %(code)s saved."), code=station.code)
            return redirect(url_for("admin.office_page", code=station.office.code))
        return render_template("admin/station.html", station=station, form=form), 422
    return render_template("admin/station.html", station=station, form=form)


# --- procedures ------------------------------------------------------------------------------

def _step_choices() -> list[tuple[str, str]]:
    kinds = [(f"kind:{k.name}", str(_l("Any %(kind)s", kind=str(n).lower())))
             for k, n in KIND_NAMES.items()]
    stations = [(f"station:{s.code}", f"{s.code} — {s.name}")
                for s in db.session.scalars(sa.select(Station).where(
                    Station.office_id.in_(g.principal.office_ids), Station.active)
                    .order_by(Station.office_id, Station.id))]
    return [("", "—"), *stations, *kinds]


@bp.get("/procedures")
@staff_page(ADMIN_ROLES)
def procedures_page() -> ResponseReturnValue:
    """The procedure catalogue with each one's current version and step plan."""
    procedures = db.session.scalars(sa.select(Procedure).order_by(Procedure.code)).all()
    return render_template("admin/procedures.html", procedures=procedures, kinds=KIND_NAMES,
                           wide=_wide())


def _prefill(code: str | None) -> dict[str, Any]:
    """The form of a new version: the current version's values."""
    if not code:
        return {}
    procedure = db.session.scalar(sa.select(Procedure).where(Procedure.code == code))
    if procedure is None or not procedure.versions:
        abort(404)
    v = procedure.current_version
    steps = [{"name": s.name, "budget": f"{s.budget_hours.normalize():f}", "unit": "hours",
              "target": f"station:{s.station.code}" if s.station else
              f"kind:{s.station_kind.name}" if s.station_kind else ""} for s in v.steps]
    return {"code": procedure.code, "name": procedure.name, "short_name": procedure.short_name,
            "field": procedure.field, "amount": f"{v.duration_amount.normalize():f}",
            "unit": v.duration_unit.name,
            "cutoff": v.same_day_cutoff.strftime("%H:%M") if v.same_day_cutoff else "",
            "fee": "" if v.fee is None else str(v.fee),
            "steps": steps + [{}] * max(0, STEP_ROWS - len(steps))}


def _read_steps(form: ProcedureForm) -> list[tuple[Any, StepSpec]] | None:
    """The filled step rows as specs (each with its row), or None after marking bad rows."""
    specs: list[tuple[Any, StepSpec]] = []
    ok = True
    allowed = {value for value, _ in _step_choices() if value}
    for row in form.steps:
        step = row.form
        if not (step.name.data or "").strip() and not (step.budget.data or "").strip() \
                and not step.target.data:
            continue
        if not (step.name.data or "").strip():
            step.name.errors = [*step.name.errors, str(REQUIRED)]
            ok = False
        if step.target.data not in allowed:
            step.target.errors = [*step.target.errors, str(REFUSALS["step_needs_station"])]
            ok = False
        text = (step.budget.data or "").strip()
        if _NUMBER.fullmatch(text) is None:
            step.budget.errors = [*step.budget.errors,
                                  str(_l("Write a number of hours or days, e.g. 4 or 0.5."))]
            ok = False
        if not ok:
            continue
        hours = decimal.Decimal(text.replace(",", "."))
        if step.unit.data == "days":
            hours *= worktime.HOURS_PER_WORKING_DAY
        what, _, value = step.target.data.partition(":")
        specs.append((row, StepSpec(name=step.name.data.strip(), budget_hours=hours,
                                    station=value if what == "station" else None,
                                    kind=StationKind[value] if what == "kind" else None)))
    if ok and not specs:
        form.steps.entries[0].form.name.errors = [str(REFUSALS["empty_plan"])]
        ok = False
    return specs if ok else None


def _duration_text(form: ProcedureForm) -> str | None:
    unit = worktime.DurationUnit[form.unit.data]
    if unit is worktime.DurationUnit.SAME_DAY:
        cutoff = (form.cutoff.data or "").strip() or "15:00"
        return f"same day, cutoff {cutoff}"
    text = (form.amount.data or "").strip().replace(",", ".")
    if _NUMBER.fullmatch(text) is None:
        form.amount.errors = [*form.amount.errors,
                              str(_l("Write the number of days or hours, e.g. 15."))]
        return None
    return worktime.format_duration(decimal.Decimal(text), unit)


@bp.route("/procedures/new", methods=["GET", "POST"])
@staff_page(ADMIN_ROLES)
def procedure_new() -> ResponseReturnValue:
    """A new procedure, or a new version of one (``?from=CODE`` starts from its current plan):
    the legal duration and the steps with their budgets, which must fit in it."""
    if not _wide():
        abort(403)
    form = ProcedureForm(data=_prefill(request.args.get("from")) if request.method == "GET"
                         else None)
    choices = _options(_step_choices())
    for row in form.steps:
        row.form.target.choices = choices
    if request.method == "POST":
        valid = form.validate()
        duration = _duration_text(form)
        specs = _read_steps(form)
        if valid and duration is not None and specs is not None:
            try:
                version = create_procedure(
                    form.code.data.strip(), form.name.data.strip(), duration,
                    [spec for _, spec in specs], short_name=(form.short_name.data or "").strip(),
                    field=(form.field.data or "").strip(),
                    fee=int(form.fee.data) if (form.fee.data or "").strip() else None)
            except DomainError as exc:
                db.session.rollback()
                _show_plan_error(form, exc, specs)
            else:
                _record("procedure.version", f"procedure {form.code.data.strip()}",
                        version=version.version, duration=duration,
                        steps=[f"{s.name}: {s.station or s.kind.name.lower() if s.kind else ''}"
                               f" {s.budget_hours.normalize():f} h" for _, s in specs])
                _commit(_l("Procedure %(code)s version %(version)d saved."),
                        code=form.code.data.strip(), version=version.version)
                return redirect(url_for("admin.procedures_page"))
        return render_template("admin/procedure_form.html", form=form), 422
    return render_template("admin/procedure_form.html", form=form)


def _show_plan_error(form: ProcedureForm, exc: DomainError,
                     specs: Sequence[tuple[Any, StepSpec]]) -> None:
    details = exc.details if isinstance(exc.details, dict) else {}
    if exc.code == "plan_exceeds_duration":
        message = _l("The steps add up to %(total)s working hours, more than the %(limit)s "
                     "working hours the legal duration leaves.", total=details.get("total"),
                     limit=details.get("limit"))
        form.amount.errors = [*form.amount.errors, str(message)]
        for row, _ in specs:
            row.form.budget.errors = [*row.form.budget.errors,
                                      str(_l("The budgets are too large in total."))]
        return
    if "step" in details:
        row = specs[int(details["step"]) - 1][0]
        field = row.form.budget if exc.code == "negative_budget" else row.form.target
        field.errors = [*field.errors, _refusal(exc)]
        return
    _attach(exc, {"bad_duration": form.amount}, form.code)


# --- calendar --------------------------------------------------------------------------------

@bp.route("/calendar", methods=["GET", "POST"])
@staff_page(ADMIN_ROLES)
def calendar_page() -> ResponseReturnValue:
    """A year's public holidays, the government's swaps (with their source), the admin
    overrides; set or remove an override. A year without shipped swaps is flagged."""
    year = request.args.get("year", type=int) or _this_year()
    if not 1970 <= year <= 2199:
        abort(404)
    scope = _scope_offices()
    form = CalendarForm()
    form.office.choices = _options(([("", str(_l("All offices")))] if _wide() else [])
                                   + [(o.code, f"{o.code} — {o.name}") for o in scope])
    status = 200
    if request.method == "POST":
        if form.validate():
            day = _parse_day(form)
            office = _office(form.office.data) if form.office.data else None
            if office is None and not _wide():
                abort(403)
            if day is not None:
                kind = OverrideKind[form.kind.data]
                offices.set_calendar_override(office, day, kind, (form.note.data or "").strip())
                _record("calendar.set", f"day {day.isoformat()}", office,
                        kind=kind.name.lower(), note=form.note.data or "",
                        scope=office.code if office else "all")
                _commit(_l("%(day)s saved."), day=day.strftime("%d/%m/%Y"))
                return redirect(url_for("admin.calendar_page", year=day.year))
        status = 422
    overrides = [o for o in offices.calendar_overrides(year)
                 if o.office_code is None or o.office_code in {s.code for s in scope}]
    return render_template(
        "admin/calendar.html", year=year, form=form, confirmed=worktime.is_confirmed(year),
        confirmed_years=worktime.confirmed_years(), holidays=worktime.public_holidays(year),
        swaps=worktime.shipped_calendar().in_year(year), overrides=overrides,
        kinds=OVERRIDE_NAMES, wide=_wide(), remove=ActionForm()), status


def _parse_day(form: CalendarForm) -> dt.date | None:
    try:
        return dt.date.fromisoformat(form.day.data.strip())
    except ValueError:
        form.day.errors = [*form.day.errors, str(_l("Choose a day."))]
        return None


@bp.post("/calendar/remove")
@staff_page(ADMIN_ROLES)
def calendar_remove() -> ResponseReturnValue:
    """Remove an override: the day is again what holidays and swaps make it."""
    try:
        day = dt.date.fromisoformat(request.form.get("day", ""))
    except ValueError:
        abort(400)
    code = request.form.get("office", "")
    office = _office(code) if code else None
    if office is None and not _wide():
        abort(403)
    offices.remove_calendar_override(office, day)
    _record("calendar.unset", f"day {day.isoformat()}", office,
            scope=office.code if office else "all")
    _commit(_l("The override of %(day)s is removed."), day=day.strftime("%d/%m/%Y"))
    return redirect(url_for("admin.calendar_page", year=day.year))


# --- users -----------------------------------------------------------------------------------

@bp.route("/users", methods=["GET", "POST"])
@staff_page(ADMIN_ROLES)
def users_page() -> ResponseReturnValue:
    """Staff of the admin's offices (role, office, state, live tokens, last use); add one."""
    scope = _scope_offices()
    form = UserForm(office=g.principal.office.code)
    form.office.choices = _options((o.code, f"{o.code} — {o.name}") for o in scope)
    status = 200
    if request.method == "POST":
        if form.validate():
            if form.province_scope.data and not _wide():
                abort(403)
            try:
                user = users.create_user(
                    form.username.data, form.full_name.data, Role[form.role.data],
                    _office(form.office.data), password=form.password.data,
                    badge=(form.badge.data or "").strip() or None,
                    province_scope=form.province_scope.data)
            except DomainError as exc:
                db.session.rollback()
                _attach(exc, {"badge_taken": form.badge, "bad_badge": form.badge,
                              "short_password": form.password,
                              "province_scope": form.province_scope}, form.username)
            else:
                _record("user.create", f"user {user.username}", user.office,
                        role=user.role.value, badge=user.badge,
                        province_scope=user.province_scope)
                _commit(_l("User %(name)s added."), name=user.username)
                return redirect(url_for("admin.user_page", username=user.username))
        status = 422
    ids = {o.id for o in scope}
    rows = [r for r in user_overview() if r.user.office_id in ids]
    return render_template("admin/users.html", rows=rows, form=form, roles=ROLE_NAMES,
                           tz=_tz(), cards=CardsForm(), print_form=ActionForm()), status


def _user_view(user: User, status: int = 200, **forms: Any) -> ResponseReturnValue:
    row = next(r for r in user_overview() if r.user.id == user.id)
    context = {"password_form": PasswordForm(prefix="pw"),
               "badge_form": BadgeForm(prefix="badge", badge=user.badge),
               "action": ActionForm()} | forms
    return render_template("admin/user.html", row=row, u=user, roles=ROLE_NAMES, tz=_tz(),
                           **context), status


@bp.get("/users/<username>")
@staff_page(ADMIN_ROLES)
def user_page(username: str) -> ResponseReturnValue:
    """One user: state, tokens, badge; activate, reset the password, revoke tokens."""
    return _user_view(_user(username))


@bp.post("/users/<username>/active")
@staff_page(ADMIN_ROLES)
def user_active(username: str) -> ResponseReturnValue:
    """Deactivate (every token and session refused at once) or reactivate an account."""
    user = _user(username)
    active = request.form.get("active") == "1"
    if user.id == g.principal.user.id and not active:
        flash(str(_l("You cannot deactivate your own account.")))
        return redirect(url_for("admin.user_page", username=username))
    users.set_user_active(user, active)
    _record("user.activate" if active else "user.deactivate", f"user {user.username}",
            user.office)
    _commit(_l("User %(name)s activated.") if active else _l("User %(name)s deactivated."),
            name=user.username)
    return redirect(url_for("admin.user_page", username=username))


@bp.post("/users/<username>/password")
@staff_page(ADMIN_ROLES)
def user_password(username: str) -> ResponseReturnValue:
    """Set a new password (it ends the user's sessions and lifts a lockout)."""
    user = _user(username)
    form = PasswordForm(prefix="pw")
    if form.validate():
        try:
            users.set_password(user, form.password.data)
        except DomainError as exc:
            db.session.rollback()
            _attach(exc, {}, form.password)
        else:
            _record("user.password", f"user {user.username}", user.office)
            _commit(_l("The password of %(name)s is reset."), name=user.username)
            return redirect(url_for("admin.user_page", username=username))
    return _user_view(_user(username), 422, password_form=form)


@bp.post("/users/<username>/badge")
@staff_page(ADMIN_ROLES)
def user_badge(username: str) -> ResponseReturnValue:
    """Give the user a badge, change it, or take it away."""
    user = _user(username)
    form = BadgeForm(prefix="badge")
    if form.validate():
        try:
            users.set_badge(user, form.badge.data)
        except DomainError as exc:
            db.session.rollback()
            _attach(exc, {}, form.badge)
        else:
            _record("user.badge", f"user {user.username}", user.office, badge=user.badge)
            _commit(_l("The badge of %(name)s is saved."), name=user.username)
            return redirect(url_for("admin.user_page", username=username))
    return _user_view(_user(username), 422, badge_form=form)


@bp.post("/users/<username>/revoke-tokens")
@staff_page(ADMIN_ROLES)
def user_revoke_tokens(username: str) -> ResponseReturnValue:
    """Revoke every personal API token of the user."""
    user = _user(username)
    count = users.revoke_tokens(user)
    _record("user.revoke_tokens", f"user {user.username}", user.office, count=count)
    _commit(_l("%(count)d token(s) of %(name)s revoked."), count=count, name=user.username)
    return redirect(url_for("admin.user_page", username=username))


def _pdf(body: bytes, name: str) -> ResponseReturnValue:
    response = send_file(BytesIO(body), mimetype="application/pdf", download_name=name)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/badges.pdf")
@staff_page(ADMIN_ROLES)
def badges_pdf() -> ResponseReturnValue:
    """Badge cards (one CR80 card a page, or ten on A4 with ``sheet``) of the users named, or
    of every active user with a badge in the admin's offices."""
    from labels import render_badge_cards

    names = [_user(n).username for n in request.form.getlist("username")]
    try:
        printed = [u for u in badge_users(names) if u.office_id in g.principal.office_ids]
        if not printed:
            flash(str(_l("Nobody to print: give users a badge first.")))
            return redirect(url_for("admin.users_page"))
        # A name the card cannot hold is a LabelError, a ValueError.
        body = render_badge_cards([badge_card(u) for u in printed],
                                  sheet=request.form.get("sheet") == "1")
    except (DomainError, ValueError) as exc:
        db.session.rollback()
        flash(exc.message if isinstance(exc, DomainError) else str(exc))
        return redirect(url_for("admin.user_page", username=names[0]) if len(names) == 1
                        else url_for("admin.users_page"))
    _record("badges.print", ", ".join(u.username for u in printed)[:200],
            g.principal.office, users=[u.username for u in printed])
    db.session.commit()
    return _pdf(body, "badges.pdf")


@bp.post("/cards.pdf")
@staff_page(ADMIN_ROLES)
def cards_pdf() -> ResponseReturnValue:
    """The action cards, with a send card per destination given."""
    from labels import render_command_cards

    form = CardsForm()
    if not form.validate():
        abort(400)
    send_to = (form.send_to.data or "").split()
    try:
        cards = action_cards(send_to)
        body = render_command_cards(cards, sheet=request.form.get("sheet") == "1")
    except (DomainError, ValueError) as exc:
        db.session.rollback()
        flash(exc.message if isinstance(exc, DomainError) else str(exc))
        return redirect(url_for("admin.users_page"))
    _record("cards.print", "action cards", g.principal.office, send_to=send_to)
    db.session.commit()
    return _pdf(body, "action-cards.pdf")


# --- devices ---------------------------------------------------------------------------------

_NEW_TOKEN = "admin.new_device_token"


@bp.route("/devices", methods=["GET", "POST"])
@staff_page(ADMIN_ROLES)
def devices_page() -> ResponseReturnValue:
    """Scanner devices of the admin's offices; register one (its token is shown once)."""
    form = DeviceForm()
    stations = list(db.session.scalars(sa.select(Station).where(
        Station.office_id.in_(g.principal.office_ids), Station.active)
        .order_by(Station.office_id, Station.id)))
    form.stations.choices = _options((s.code, f"{s.code} — {s.name} ({s.office.code})")
                                     for s in stations)
    status = 200
    if request.method == "POST":
        if form.validate():
            chosen = [_station(code) for code in form.stations.data]
            try:
                device, token = users.create_device(form.name.data.strip(), chosen)
            except DomainError as exc:
                db.session.rollback()
                _attach(exc, {}, form.stations)
            else:
                _record("device.create", f"device {device.id}", device.office,
                        name=device.name, stations=[s.code for s in chosen])
                db.session.commit()
                # Shown on the next page only: a reload (or the back button) finds it gone.
                session[_NEW_TOKEN] = {"id": device.id, "name": device.name, "token": token}
                return redirect(url_for("admin.devices_page"))
        status = 422
    devices = db.session.scalars(sa.select(Device).where(
        Device.office_id.in_(g.principal.office_ids)).order_by(Device.id)).all()
    response = render_template("admin/devices.html", devices=devices, form=form, tz=_tz(),
                               new=session.pop(_NEW_TOKEN, None), revoke=ActionForm())
    return response, status, {"Cache-Control": "no-store"}


@bp.post("/devices/<int:device_id>/revoke")
@staff_page(ADMIN_ROLES)
def device_revoke(device_id: int) -> ResponseReturnValue:
    """Revoke a device's token: its scans are refused from now on."""
    device = db.session.get(Device, device_id)
    if device is None or device.office_id not in g.principal.office_ids:
        abort(404)
    users.revoke_device(device_id)
    _record("device.revoke", f"device {device.id}", device.office, name=device.name)
    _commit(_l("Device %(name)s revoked."), name=device.name)
    return redirect(url_for("admin.devices_page"))

