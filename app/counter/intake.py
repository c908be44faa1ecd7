"""The counter: a new dossier (``/intake``), its receipt and label, corrections.

The form is the API's ``POST /api/v1/dossiers`` body, registered with the same
:func:`app.tracking.operations.register_dossier`; a correction is the API's ``PATCH``
(:func:`app.tracking.operations.correct_dossier`). On save, the label goes to the counter
station's printer when an agent serves it (:mod:`app.printjobs`), and the receipt and label
PDFs open from the dossier's page.
"""

from __future__ import annotations

import io
from typing import Any

import pydantic
import sqlalchemy as sa
from flask import abort, g, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from app.auth.permissions import INTAKE_ROLES, RECEIPT_ROLES
from app.counter import bp, forms
from app.db import commit_with_retry, db, utcnow
from app.errors import Conflict, DomainError, NotFound
from app.offices.operations import calendar_for
from app.printjobs import operations as jobs
from app.procedures.models import Procedure
from app.procedures.operations import search_procedures
from app.tracking import operations as ops
from app.tracking import printing, read_models
from app.tracking.api import intake_command
from app.tracking.models import Dossier
from app.web import staff_page

# What the receipt prints (Vietnamese, whatever the page's language), and the option's label.
RETURN_METHODS = (("Tại Bộ phận một cửa", _l("At the one-stop desk")),
                  ("Qua dịch vụ bưu chính", _l("By post")))
FIELD_NAMES = {
    "applicant_name": _l("Full name"), "applicant_phone": _l("Phone"),
    "applicant_id_number": _l("Identity number (CMND/CCCD)"),
    "applicant_address": _l("Address"), "applicant_email": _l("Email"),
    "documents": _l("Documents received"),
}
JOB_STATUS = {"pending": _l("waiting for the printer"), "printed": _l("printed"),
              "failed": _l("failed"), "expired": _l("expired: ask again")}


def _form(form: MultiDict[str, str] | None = None, **context: Any) -> str:
    form = form if form is not None else MultiDict()
    chosen = form.get("procedure", "")
    procedures = list(db.session.scalars(sa.select(Procedure).where(Procedure.code == chosen)))
    return render_template("counter/intake.html", form=form, procedures=procedures,
                           documents=forms.first_rows(forms.documents_of(form)),
                           return_methods=RETURN_METHODS, errors=context.pop("errors", {}),
                           **context)


@bp.get("/intake")
@staff_page(INTAKE_ROLES)
def intake_form() -> ResponseReturnValue:
    """The counter's form for a new dossier."""
    return _form()


@bp.get("/intake/procedures")
@staff_page(INTAKE_ROLES)
def procedure_search() -> ResponseReturnValue:
    """The procedures matching what is typed, diacritics ignored (an htmx partial)."""
    query = request.args.get("q", "")
    return render_template("counter/_procedures.html", query=query, chosen="",
                           procedures=search_procedures(query))


@bp.post("/intake")
@staff_page(INTAKE_ROLES)
def intake_save() -> ResponseReturnValue:
    """Register the dossier as the API does, queue its label, show its receipt."""
    principal = g.principal
    try:
        body = forms.CounterIntake.model_validate(forms.intake_body(request.form))
    except pydantic.ValidationError as exc:
        return _form(request.form, errors=forms.field_errors(exc)), 422

    def work() -> Dossier:
        dossier = ops.register_dossier(intake_command(body, principal), principal).dossier
        _print_label(dossier, quiet=True)
        return dossier

    try:
        dossier = commit_with_retry(work)
    except NotFound as exc:
        db.session.rollback()
        return _form(request.form, errors={"procedure": str(forms.MESSAGES[
            "unknown_procedure"]) if exc.code == "unknown_procedure" else exc.message}), 422
    except DomainError as exc:
        db.session.rollback()
        return _form(request.form, errors={"form": exc.message}), exc.status
    return redirect(url_for("counter.dossier_page", reference=dossier.code, saved=1))


def _print_label(dossier: Dossier, *, quiet: bool = False) -> str | None:
    """Queue the label at the dossier's counter station; why it cannot be, else None.

    ``quiet``: nothing to say when the counter has no printing agent (it prints from the PDF).
    """
    try:
        jobs.request_print(_at_counter(dossier), g.principal)
    except (Conflict, NotFound) as exc:
        return None if quiet else exc.message
    return None


def _at_counter(dossier: Dossier) -> jobs.PrintRequest:
    """The label, at the station that received the dossier."""
    station = dossier.reception_station
    return jobs.PrintRequest(dossier=dossier, station_code=station.code if station else "")


def _printer(dossier: Dossier) -> str | None:
    """The name of the agent that prints at the dossier's counter station, if one does."""
    try:
        device, _ = jobs.target_device(_at_counter(dossier), g.principal)
    except (Conflict, NotFound):
        return None
    return device.name


def _dossier(reference: str) -> Dossier:
    try:
        return ops.resolve_dossier(reference, g.principal)
    except NotFound:
        abort(404)


@bp.get("/intake/<reference>")
@staff_page(RECEIPT_ROLES)
def dossier_page(reference: str) -> ResponseReturnValue:
    """The dossier just received (or corrected): its receipt and label to print, the label's
    print jobs at the counter, the corrections made."""
    dossier = _dossier(reference)
    return render_template(
        "counter/dossier.html", d=read_models.read_dossier(dossier, g.principal),
        printer=_printer(dossier), jobs=_jobs(dossier), job_status=JOB_STATUS,
        corrections=ops.corrections_of(dossier), field_names=FIELD_NAMES,
        tz=calendar_for(dossier.receiving_office).tz, saved="saved" in request.args,
        corrected="corrected" in request.args, problem=request.args.get("problem"))


def _jobs(dossier: Dossier) -> list[dict[str, Any]]:
    now = utcnow()
    return [{"job": job, "status": jobs.status(job, now)} for job in jobs.jobs_of(dossier, 5)]


@bp.get("/intake/<reference>/print-jobs")
@staff_page(RECEIPT_ROLES)
def print_jobs(reference: str) -> ResponseReturnValue:
    """The label's print jobs (an htmx partial, refreshed while one is pending)."""
    dossier = _dossier(reference)
    return render_template("counter/_jobs.html", d=dossier, jobs=_jobs(dossier),
                           job_status=JOB_STATUS, tz=calendar_for(dossier.receiving_office).tz)


@bp.post("/intake/<reference>/print")
@staff_page(RECEIPT_ROLES)
def print_label(reference: str) -> ResponseReturnValue:
    """Send the label to the counter's printer again."""
    dossier = _dossier(reference)
    problem = commit_with_retry(lambda: _print_label(dossier))
    return redirect(url_for("counter.dossier_page", reference=dossier.code, problem=problem))


def _send(printed: printing.Printed) -> ResponseReturnValue:
    return send_file(io.BytesIO(printed.body), mimetype=printed.mimetype,
                     download_name=printed.filename)


@bp.get("/intake/<reference>/receipt.pdf")
@staff_page(RECEIPT_ROLES)
def receipt_pdf(reference: str) -> ResponseReturnValue:
    """The citizen receipt (Mẫu 01) as the API prints it."""
    return _send(printing.print_receipt(_dossier(reference)))


@bp.get("/intake/<reference>/label.pdf")
@staff_page(RECEIPT_ROLES)
def label_pdf(reference: str) -> ResponseReturnValue:
    """The dossier's label on the office's layout, as the API prints it."""
    return _send(printing.print_labels([_dossier(reference)], printer="pdf"))


@bp.route("/intake/<reference>/correct", methods=["GET", "POST"])
@staff_page(RECEIPT_ROLES)
def correct(reference: str) -> ResponseReturnValue:
    """Correct the applicant's details or the documents after intake; the change is recorded
    and the receipt is printed again."""
    dossier = _dossier(reference)
    d = read_models.read_dossier(dossier, g.principal)
    assert isinstance(d, read_models.StaffDossier)
    if request.method == "GET":
        form = MultiDict(d.applicant.model_dump())
        form.setlist("documents", d.documents)
        return _correction_form(d, form, {})
    try:
        body = forms.CounterCorrection.model_validate(forms.correction_body(request.form))
    except pydantic.ValidationError as exc:
        return _correction_form(d, request.form, forms.field_errors(exc)), 422
    try:
        commit_with_retry(lambda: ops.correct_dossier(dossier, body.command(),
                                                      g.principal.user))
    except DomainError as exc:
        db.session.rollback()
        return _correction_form(d, request.form, {"form": exc.message}), exc.status
    return redirect(url_for("counter.dossier_page", reference=dossier.code, corrected=1))


def _correction_form(d: read_models.StaffDossier, form: MultiDict[str, str],
                     errors: dict[str, str]) -> str:
    return render_template("counter/correct.html", d=d, form=form, errors=errors,
                           documents=forms.first_rows(forms.documents_of(form), 1))
