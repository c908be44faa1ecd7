"""The /api/v1 JSON endpoints for scans, dossiers, stations and the public lookup (thin)."""

from __future__ import annotations

import io
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify, send_file, url_for
from flask.typing import ResponseReturnValue

from app.auth.permissions import INTAKE_ROLES, QUEUE_ROLES, RECEIPT_ROLES, action_table
from app.auth.tokens import Principal, current_principal
from app.boundary import PUBLIC, Binary, spec, staff
from app.db import commit_with_retry, db, utcnow
from app.errors import DomainError, ValidationError
from app.extensions import lookup_limit
from app.offices.operations import calendar_for, get_office
from app.procedures.models import Procedure
from app.procedures.operations import get_procedure_version
from app.tracking import notices, printing, queries, read_models, schemas, search, worklist
from app.tracking import operations as ops
from app.tracking.models import Dossier, DossierCorrection, DossierNotice, NoticeKind

bp = Blueprint("api", __name__, url_prefix="/api/v1")

DESK_NOTICE_ROLES = notices.ISSUERS[NoticeKind.REFUSAL]
APOLOGY_ROLES = notices.ISSUERS[NoticeKind.APOLOGY]
_ERRORS_404 = (404,)


@bp.post("/scans")
@spec(body=schemas.ScanBatchIn, responses={200: schemas.ScanBatchOut},
      security=staff(devices=True), invalid_code="malformed",
      extra_models=[schemas.ScanEventIn], cost=lambda body: len(body.events))
def post_scans(body: schemas.ScanBatchIn) -> ResponseReturnValue:
    """Record a batch of handoff scans; one result per event.

    Each event is checked alone (shape, code, time window): a bad one is rejected in its
    result, never the batch.
    """
    limit = current_app.config["MAX_SCAN_BATCH"]
    if len(body.events) > limit:
        raise DomainError(f"at most {limit} events per batch", code="batch_too_large",
                          status=413)
    return jsonify({"results": record_scans(current_principal(),
                                            schemas.scan_commands(body.events))})


def record_scans(principal: Principal,
                 commands: list[ops.ScanCommand | ops.RejectedScan]) -> list[dict[str, Any]]:
    """Ingest and commit scans (the agent's batches, the station page's scans); each
    result as the API answers it, the dossier in the device view (nothing personal)."""

    def answers(check_duplicates: bool) -> list[dict[str, Any]]:
        # Built before the commit, while the dossiers are still loaded, and as soon as the
        # results are final: before the events take their offices' chain lock if they can.
        out: list[dict[str, Any]] = []

        def present(results: list[ops.ScanResult]) -> None:
            out.extend(schemas.ScanResultOut.of(r).as_json() for r in results)

        ops.ingest_scans(principal, commands, check_duplicates=check_duplicates,
                         on_settled=present)
        return out

    try:  # Duplicates are rare (an agent's retry): the first try does not look for them.
        return commit_with_retry(lambda: answers(False))
    except ops.DuplicateEvents:
        db.session.rollback()
        return commit_with_retry(lambda: answers(True))


def intake_command(body: schemas.IntakeIn, principal: Principal) -> ops.IntakeCommand:
    """The intake command of a body, for ``principal`` (the API's caller or the counter page's
    user): the procedure, offices and station resolved within the caller's offices."""
    user = principal.user
    assert user is not None
    version = get_procedure_version(body.procedure, body.procedure_version)
    competent = user.office
    if body.competent_office is not None:
        competent = get_office(body.competent_office)
    station = None
    if body.station is not None:
        wanted = body.station.upper()
        station = next((s for s in principal.scan_stations() if s.code == wanted), None)
        if station is None:
            raise ValidationError(f"station {wanted} is not one of your office's stations",
                                  details=[{"field": "station", "type": "not_allowed",
                                            "message": "not one of your office's stations"}])
    applicant = body.applicant
    return ops.IntakeCommand(
        procedure_version=version,
        applicant=ops.Applicant(name=applicant.name, phone=applicant.phone or "",
                                id_number=applicant.id_number or "",
                                address=applicant.address or "", email=applicant.email or ""),
        receiving_office=user.office, competent_office=competent,
        documents=[d for d in body.documents if d], copies=body.copies,
        return_method=body.return_method or "", note=body.note or "", fee=body.fee,
        station=station, received_by=user, code=body.code.upper() if body.code else None,
        received_at=body.received_at, due_at=body.due_at)


@bp.post("/dossiers")
@spec(body=schemas.IntakeIn, responses={201: schemas.IntakeOut, 200: schemas.IntakeOut},
      security=staff(INTAKE_ROLES), errors=_ERRORS_404)
def create_dossier(body: schemas.IntakeIn) -> ResponseReturnValue:
    """Receive a dossier at the desk, or follow one registered in the one-door system.

    201 for a new dossier; 200 with the existing one when its code was registered before.
    """

    def work() -> tuple[Dossier, bool, str | None]:
        dossier, created = ops.register_dossier(intake_command(body, current_principal()),
                                                current_principal())
        # The receipt secret is shown at creation only, never for a code registered before.
        return dossier, created, ops.lookup_url(dossier) if created else None

    dossier, created, link = commit_with_retry(work)
    tz = calendar_for(dossier.receiving_office).tz
    self_link = url_for("api.get_dossier", reference=dossier.code)
    payload = schemas.IntakeOut(
        created=created, code=dossier.code, tracking_number=dossier.tracking_number,
        received_at=schemas.iso(dossier.received_at, tz) or "",
        due_at=schemas.iso(dossier.due_at, tz) or "", status=dossier.status.name.lower(),
        lookup_url=link,
        links=schemas.IntakeLinksOut(
            self=self_link, receipt=url_for("api.dossier_receipt", reference=dossier.code),
            label=url_for("api.dossier_label_pdf", reference=dossier.code),
            label_zpl=url_for("api.dossier_label_zpl", reference=dossier.code),
            control_sheet=url_for("api.dossier_control_sheet", reference=dossier.code),
            print_jobs=url_for("print_jobs.create_print_job", reference=dossier.code)))
    response = jsonify(payload.model_dump(mode="json", exclude_none=True))
    response.status_code = 201 if created else 200
    response.headers["Location"] = self_link
    return response


@bp.get("/dossiers")
@spec(query=schemas.DossierListQuery, responses={200: read_models.DossierPage},
      security=staff())
def list_dossiers(query: schemas.DossierListQuery) -> ResponseReturnValue:
    """Search and filter the dossiers in the caller's scope, a page at a time (staff only).

    ``q`` matches part of the code or of the applicant's name, with or without diacritics,
    and, when it is digits, the tracking number or the phone. Newest received first.
    """
    criteria = search.DossierSearch(q=query.q or None, statuses=query.status or frozenset(),
                                    station=query.station or None, overdue=query.overdue,
                                    page=query.page, per_page=query.per_page)
    found = search.search_dossiers(current_principal(), criteria, utcnow())
    page = read_models.DossierPage(
        dossiers=[read_models.staff_row(d, queries.standing(d)) for d in found.dossiers],
        page=query.page, per_page=query.per_page, total=found.total)
    return jsonify(page.to_json())


@bp.get("/queue")
@spec(responses={200: read_models.WorkQueue}, security=staff(QUEUE_ROLES))
def work_queue() -> ResponseReturnValue:
    """The caller's work queue: the open dossiers they hold, those of their lists that are
    late or due within APPROACHING_DUE_HOURS, and files sent to their offices; each list most
    urgent first (late, then due soon, then by due time). The page ``/queue`` shows it."""
    return jsonify(worklist.work_queue(current_principal(), utcnow()).to_json())


@bp.get("/dossiers/<reference>")
@spec(responses={200: read_models.DossierRead}, security=staff(devices=True))
def get_dossier(reference: str) -> ResponseReturnValue:
    """A dossier as the caller may read it: the staff view (applicant, control-sheet
    timeline) for staff in scope, the device view (nothing personal) for a scanner."""
    principal = current_principal()
    dossier = ops.resolve_dossier(reference, principal)
    return jsonify(read_models.read_dossier(dossier, principal).to_json())


def _send(printed: printing.Printed, *, inline: bool = True) -> ResponseReturnValue:
    return send_file(io.BytesIO(printed.body), mimetype=printed.mimetype,
                     download_name=printed.filename, as_attachment=not inline)


_PDF = Binary("application/pdf")


@bp.get("/dossiers/<reference>/label.pdf")
@spec(query=schemas.LabelQuery, responses={200: _PDF}, security=staff(devices=True))
def dossier_label_pdf(reference: str, query: schemas.LabelQuery) -> ResponseReturnValue:
    """The dossier's barcode label on the office's layout (or ``?layout=``).

    Scanner devices may fetch it to print at the counter: a label carries the codes, the
    procedure, the dates and the office, nothing personal.
    """
    dossier = ops.resolve_dossier(reference, current_principal())
    return _send(printing.print_labels(
        [dossier], layout=query.layout, printer="pdf", copies=query.copies,
        start_position=query.start, with_2d=query.with_2d))


@bp.get("/dossiers/<reference>/label.zpl")
@spec(query=schemas.ZplLabelQuery, responses={200: Binary("application/vnd.zebra.zpl")},
      security=staff(devices=True))
def dossier_label_zpl(reference: str, query: schemas.ZplLabelQuery) -> ResponseReturnValue:
    """The dossier's label as ZPL II for a Zebra-compatible thermal printer."""
    dossier = ops.resolve_dossier(reference, current_principal())
    return _send(printing.print_labels(
        [dossier], layout=query.layout, printer="zpl", copies=query.copies,
        with_2d=query.with_2d))


@bp.get("/dossiers/<reference>/receipt.pdf")
@spec(responses={200: _PDF}, security=staff(RECEIPT_ROLES), errors=(409,))
def dossier_receipt(reference: str) -> ResponseReturnValue:
    """The citizen receipt (Mẫu 01), two copies, with the lookup QR: a reprint by reception.

    It carries the applicant's data and the lookup secret, so only reception (or an admin)
    whose scope covers the dossier may reprint it; a 409 when the secret must be reissued.
    """
    return _send(printing.print_receipt(ops.resolve_dossier(reference, current_principal())))


@bp.post("/dossiers/<reference>/lookup-secret")
@spec(responses={200: read_models.ReissuedSecret}, security=staff(RECEIPT_ROLES))
def reissue_lookup_secret(reference: str) -> ResponseReturnValue:
    """Issue a new receipt secret when the old one can no longer be derived.

    The old receipt's QR stops opening the timeline; reprint the receipt after.
    """
    principal = current_principal()

    def work() -> tuple[Dossier, str]:
        dossier = ops.resolve_dossier(reference, principal)
        ops.reissue_lookup_secret(dossier)
        return dossier, ops.lookup_url(dossier)

    dossier, link = commit_with_retry(work)
    return jsonify(read_models.ReissuedSecret(
        code=dossier.code, lookup_url=link,
        links={"receipt": url_for("api.dossier_receipt", reference=dossier.code)}).to_json())


@bp.patch("/dossiers/<reference>")
@spec(body=schemas.CorrectionIn, responses={200: schemas.CorrectionOut},
      security=staff(RECEIPT_ROLES), errors=(409,))
def correct_dossier(reference: str, body: schemas.CorrectionIn) -> ResponseReturnValue:
    """Correct the applicant's details or the documents received after intake.

    The change is recorded (who, when, each field before and after; append-only) and the
    receipt at ``links.receipt`` prints the corrected data. Reception (or an admin) in scope
    only; 409 once the dossier is closed.
    """
    principal = current_principal()

    def work() -> tuple[Dossier, DossierCorrection | None]:
        dossier = ops.resolve_dossier(reference, principal)
        return dossier, ops.correct_dossier(dossier, body.command(), principal.user)

    dossier, correction = commit_with_retry(work)
    return jsonify(correction_out(dossier, correction).model_dump(mode="json"))


def correction_out(dossier: Dossier,
                   correction: DossierCorrection | None) -> schemas.CorrectionOut:
    tz = calendar_for(dossier.receiving_office).tz
    return schemas.CorrectionOut(
        code=dossier.code, changed=sorted(correction.changes) if correction else [],
        corrected_at=schemas.iso(correction.corrected_at, tz) if correction else None,
        corrected_by=correction.corrected_by.full_name
        if correction and correction.corrected_by else None,
        links=schemas.CorrectionLinksOut(
            receipt=url_for("api.dossier_receipt", reference=dossier.code)))


@bp.get("/dossiers/<reference>/control-sheet.pdf")
@spec(responses={200: _PDF}, security=staff())
def dossier_control_sheet(reference: str) -> ResponseReturnValue:
    """The control sheet (Mẫu 05) rendered from the recorded handoffs: staff in scope only
    (it names the applicant and every handler)."""
    return _send(printing.print_control_sheet(
        ops.resolve_dossier(reference, current_principal())))


_FORM_ENDPOINTS = {NoticeKind.SUPPLEMENT_REQUEST: "api.dossier_form_02",
                   NoticeKind.REFUSAL: "api.dossier_form_03",
                   NoticeKind.APOLOGY: "api.dossier_form_04"}


def _notice_answer(notice: DossierNotice) -> ResponseReturnValue:
    dossier = notice.dossier
    tz = calendar_for(dossier.receiving_office).tz
    pdf = url_for(_FORM_ENDPOINTS[notice.kind], reference=dossier.code)
    receipt = url_for("api.dossier_receipt", reference=dossier.code) \
        if notice.kind is NoticeKind.APOLOGY else None
    payload = schemas.NoticeOut(
        code=dossier.code, form=notice.kind.value,  # type: ignore[arg-type]
        issued_at=schemas.iso(notice.issued_at, tz) or "", status=dossier.status.name.lower(),
        due_at=schemas.iso(dossier.due_at, tz) or "",
        links=schemas.NoticeLinksOut(pdf=pdf, receipt=receipt))
    response = jsonify(payload.model_dump(mode="json", exclude_none=True))
    response.status_code = 201
    response.headers["Location"] = pdf
    return response


@bp.post("/dossiers/<reference>/supplement-request")
@spec(body=schemas.SupplementRequestIn, responses={201: schemas.NoticeOut},
      security=staff(DESK_NOTICE_ROLES), errors=(409,))
def request_supplement(reference: str, body: schemas.SupplementRequestIn) -> ResponseReturnValue:
    """Ask the citizen for missing papers (Mẫu 02); the clock pauses.

    Records the request with its papers and reason, and a ``request_supplement`` scan at the
    caller's reception station unless the dossier already waits for a supplement. The form
    is at ``links.pdf``. 409 once the dossier is finished.
    """
    principal = current_principal()

    def work() -> DossierNotice:
        dossier = ops.resolve_dossier(reference, principal)
        return notices.request_supplement(
            dossier, principal, [notices.MissingPaper(i.name, i.kind) for i in body.items],
            body.reason)

    return _notice_answer(commit_with_retry(work))


@bp.post("/dossiers/<reference>/refusal")
@spec(body=schemas.RefusalIn, responses={201: schemas.NoticeOut},
      security=staff(DESK_NOTICE_ROLES), errors=(409,))
def refuse_dossier(reference: str, body: schemas.RefusalIn) -> ResponseReturnValue:
    """Record why the desk does not accept the dossier (Mẫu 03); the form is at ``links.pdf``.

    409 once the dossier is being processed or finished.
    """
    principal = current_principal()

    def work() -> DossierNotice:
        return notices.record_refusal(ops.resolve_dossier(reference, principal), principal,
                                      body.reason)

    return _notice_answer(commit_with_retry(work))


@bp.post("/dossiers/<reference>/apology")
@spec(body=schemas.ApologyIn, responses={201: schemas.NoticeOut},
      security=staff(APOLOGY_ROLES), errors=(409,))
def apologize(reference: str, body: schemas.ApologyIn) -> ResponseReturnValue:
    """Apologise for a late result and give a new appointment (Mẫu 04).

    The dossier's ``due_at`` moves to ``new_due_at`` (later than the current one, else 422);
    the receipt reprint then shows the first appointment and the new one ("Hẹn lại").
    """
    principal = current_principal()

    def work() -> DossierNotice:
        return notices.apologize(ops.resolve_dossier(reference, principal), principal,
                                 body.reason, body.new_due_at)

    return _notice_answer(commit_with_retry(work))


def _print_latest(reference: str, kind: NoticeKind) -> ResponseReturnValue:
    dossier = ops.resolve_dossier(reference, current_principal())
    return _send(printing.print_notice(notices.latest_notice(dossier, kind)))


@bp.get("/dossiers/<reference>/forms/02.pdf")
@spec(responses={200: _PDF}, security=staff(DESK_NOTICE_ROLES))
def dossier_form_02(reference: str) -> ResponseReturnValue:
    """The latest supplement request (Mẫu 02) of the dossier; 404 when none was made."""
    return _print_latest(reference, NoticeKind.SUPPLEMENT_REQUEST)


@bp.get("/dossiers/<reference>/forms/03.pdf")
@spec(responses={200: _PDF}, security=staff(DESK_NOTICE_ROLES))
def dossier_form_03(reference: str) -> ResponseReturnValue:
    """The refusal (Mẫu 03) of the dossier; 404 when none was recorded."""
    return _print_latest(reference, NoticeKind.REFUSAL)


@bp.get("/dossiers/<reference>/forms/04.pdf")
@spec(responses={200: _PDF}, security=staff(APOLOGY_ROLES))
def dossier_form_04(reference: str) -> ResponseReturnValue:
    """The latest apology and new appointment (Mẫu 04) of the dossier; 404 when none."""
    return _print_latest(reference, NoticeKind.APOLOGY)


@bp.get("/dossiers/<reference>/barcode.svg")
@spec(responses={200: Binary("image/svg+xml")}, security=staff(devices=True))
def dossier_barcode(reference: str) -> ResponseReturnValue:
    """The tracking number as a Code 128 SVG, for screens."""
    return _send(printing.barcode_svg(ops.resolve_dossier(reference, current_principal())))


@bp.post("/labels")
@spec(body=schemas.BulkLabelsIn,
      responses={200: Binary("application/pdf", "application/vnd.zebra.zpl")},
      security=staff(), errors=_ERRORS_404, cost=lambda body: len(body.dossiers))
def bulk_labels(body: schemas.BulkLabelsIn) -> ResponseReturnValue:
    """Labels for many dossiers at once, onto sheets (or one ZPL job)."""
    principal = current_principal()
    dossiers = [ops.resolve_dossier(r, principal) for r in body.dossiers]
    return _send(printing.print_labels(
        dossiers, layout=body.layout_spec(), printer=body.printer, copies=body.copies,
        start_position=body.start_position, with_2d=body.with_2d), inline=False)


@bp.get("/stations")
@spec(responses={200: schemas.StationsOut}, security=staff(devices=True))
def list_stations() -> ResponseReturnValue:
    """The stations the caller may scan at, with the actions it may scan at each."""
    principal = current_principal()
    table = action_table()
    role = principal.user.role if principal.user else None
    return jsonify({"stations": [
        read_models.ScanStationView.scanning(s, table.allowed(role, s.kind)).to_json()
        for s in principal.scan_stations()]})


@bp.get("/procedures")
@spec(responses={200: schemas.ProceduresOut}, security=staff())
def list_procedures() -> ResponseReturnValue:
    """The procedures a desk can receive, with their current legal duration and plan."""
    procedures = db.session.scalars(sa.select(Procedure).order_by(Procedure.code))
    body = []
    for p in procedures:
        v = p.current_version
        body.append({"code": p.code, "name": p.name, "short_name": p.short_name,
                     "field": p.field, "version": v.version,
                     "legal_duration": v.duration_text,
                     "steps": [{"position": s.position, "name": s.name,
                                "station": s.station.code if s.station else None,
                                "station_kind": s.station_kind.name.lower()
                                if s.station_kind else None,
                                "budget_hours": float(s.budget_hours)} for s in v.steps]})
    return jsonify({"procedures": body})


@bp.get("/lookup/<code>")
@lookup_limit
@spec(query=schemas.LookupQuery, responses={200: read_models.PublicDossier}, security=PUBLIC)
def lookup(code: str, query: schemas.LookupQuery) -> ResponseReturnValue:
    """Public status of a dossier; with the receipt secret (``?t=``) its step timeline too."""
    dossier = ops.find_for_lookup(code, query.t)
    return jsonify(read_models.read_dossier(dossier, None, secret=query.t).to_json())


@bp.get("/openapi.json")
@spec(responses={200: schemas.OpenAPIOut}, security=PUBLIC)
def openapi() -> ResponseReturnValue:
    """The OpenAPI 3.1 description of this API, generated from the routes' declarations."""
    from app.openapi import build_spec

    return jsonify(build_spec(current_app))
