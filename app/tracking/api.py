"""The /api/v1 JSON endpoints for scans, dossiers, stations and the public lookup (thin)."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify, request, send_file, url_for
from flask.typing import ResponseReturnValue

from app.auth.models import Role
from app.auth.tokens import current_principal, require
from app.db import commit_with_retry, db
from app.errors import DomainError, ValidationError
from app.extensions import lookup_limit
from app.offices.operations import calendar_for, get_office
from app.procedures.models import Procedure
from app.procedures.operations import get_procedure_version
from app.tracking import operations as ops
from app.tracking import printing, read_models, schemas
from app.tracking.models import Dossier

bp = Blueprint("api", __name__, url_prefix="/api/v1")

INTAKE_ROLES = (Role.RECEPTION, Role.ADMIN)
# The receipt carries the applicant's data and the lookup secret: reprinted by reception only.
RECEIPT_ROLES = (Role.RECEPTION, Role.ADMIN)


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a 400 saying what is wrong with it."""
    body = request.get_json(force=True, silent=True)
    if body is None:
        raise DomainError("The body must be valid JSON.", code="malformed_json")
    if not isinstance(body, dict):
        raise DomainError("The body must be a JSON object.", code="malformed_json")
    return body


@bp.post("/scans")
@require(devices=True)
def post_scans() -> ResponseReturnValue:
    """Record a batch of handoff scans; one result per event."""
    events = json_body().get("events")
    limit = current_app.config["MAX_SCAN_BATCH"]
    if not isinstance(events, list) or not events:
        raise ValidationError("events must be a non-empty list", code="malformed")
    if len(events) > limit:
        raise DomainError(f"at most {limit} events per batch", code="batch_too_large",
                          status=413)
    principal = current_principal()
    # Answers are built before the commit, while the dossiers are still loaded.
    results = commit_with_retry(
        lambda: [r.as_json() for r in ops.ingest_scans(principal, events)])
    return jsonify({"results": results})


def _int_field(body: dict[str, Any], key: str, default: int | None, low: int,
               high: int) -> int | None:
    value = body.get(key, default)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValidationError(f"{key} must be a whole number from {low} to {high}",
                              details={"field": key})
    return value


def _intake_request(body: dict[str, Any]) -> ops.IntakeRequest:
    principal = current_principal()
    user = principal.user
    assert user is not None
    version = get_procedure_version(schemas.text(body, "procedure", required=True, max_len=32),
                                    _int_field(body, "procedure_version", None, 1, 10_000))
    applicant = body.get("applicant")
    if not isinstance(applicant, dict):
        raise ValidationError("applicant must be an object with at least a name",
                              details={"field": "applicant"})
    docs = body.get("documents", [])
    if not isinstance(docs, list) or not all(isinstance(d, str) for d in docs) or len(docs) > 100:
        raise ValidationError("documents must be a list of at most 100 strings",
                              details={"field": "documents"})
    competent = user.office
    if body.get("competent_office") is not None:
        competent = get_office(schemas.text(body, "competent_office", max_len=32))
    station = None
    if body.get("station") is not None:
        wanted = schemas.text(body, "station", max_len=32).upper()
        station = next((s for s in principal.scan_stations() if s.code == wanted), None)
        if station is None:
            raise ValidationError(f"station {wanted} is not one of your office's stations")
    code = schemas.text(body, "code", max_len=64).upper() or None
    received_at = None
    if body.get("received_at") is not None:
        raw = schemas.text(body, "received_at", max_len=40)
        try:
            received_at = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValidationError("received_at must be ISO 8601") from exc
        if received_at.tzinfo is None:
            raise ValidationError("received_at needs a UTC offset, e.g. +07:00")
    if (code is None) != (received_at is None):
        raise ValidationError("a dossier registered upstream needs both code and received_at")
    return ops.IntakeRequest(
        procedure_version=version,
        applicant=ops.Applicant(
            name=schemas.text(applicant, "name", required=True, where="applicant."),
            phone=schemas.text(applicant, "phone", max_len=32, where="applicant."),
            id_number=schemas.text(applicant, "id_number", max_len=32, where="applicant."),
            address=schemas.text(applicant, "address", max_len=300, where="applicant."),
            email=schemas.text(applicant, "email", where="applicant."),
        ),
        receiving_office=user.office, competent_office=competent,
        documents=[d.strip()[:300] for d in docs if d.strip()],
        copies=_int_field(body, "copies", 1, 1, 100) or 1,
        return_method=schemas.text(body, "return_method", max_len=100),
        note=schemas.text(body, "note", max_len=500),
        station=station, received_by=user, code=code,
        received_at=received_at.astimezone(dt.UTC) if received_at else None)


@bp.post("/dossiers")
@require(roles=INTAKE_ROLES)
def create_dossier() -> ResponseReturnValue:
    """Receive a dossier at the desk, or follow one registered in the one-door system."""
    body = json_body()

    def work() -> tuple[Dossier, bool, str | None]:
        dossier, created = ops.register_dossier(_intake_request(body), current_principal())
        # The receipt secret is shown at creation only, never for a code registered before.
        return dossier, created, ops.lookup_url(dossier) if created else None

    dossier, created, link = commit_with_retry(work)
    tz = calendar_for(dossier.receiving_office).tz
    self_link = url_for("api.get_dossier", reference=dossier.code)
    payload = {
        "created": created,
        "code": dossier.code,
        "tracking_number": dossier.tracking_number,
        "received_at": schemas.iso(dossier.received_at, tz),
        "due_at": schemas.iso(dossier.due_at, tz),
        "status": dossier.status.name.lower(),
        **({"lookup_url": link} if link else {}),
        "links": {"self": self_link,
                  "receipt": url_for("api.dossier_receipt", reference=dossier.code),
                  "label": url_for("api.dossier_label_pdf", reference=dossier.code),
                  "label_zpl": url_for("api.dossier_label_zpl", reference=dossier.code),
                  "control_sheet": url_for("api.dossier_control_sheet",
                                           reference=dossier.code)},
    }
    response = jsonify(payload)
    response.status_code = 201 if created else 200
    response.headers["Location"] = self_link
    return response


@bp.get("/dossiers/<reference>")
@require(devices=True)
def get_dossier(reference: str) -> ResponseReturnValue:
    """A dossier as the caller may read it: ``StaffDossier`` for staff in scope (applicant,
    control-sheet timeline), ``DeviceDossier`` for a scanner device (nothing personal)."""
    principal = current_principal()
    dossier = ops.resolve_dossier(reference, principal)
    return jsonify(read_models.read_dossier(dossier, principal).to_json())


def _arg_int(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ValidationError(f"{name} must be a whole number from {low} to {high}",
                              details={"field": name})
    return int(raw)


def _send(printed: printing.Printed, *, inline: bool = True) -> ResponseReturnValue:
    return send_file(io.BytesIO(printed.body), mimetype=printed.mimetype,
                     download_name=printed.filename, as_attachment=not inline)


@bp.get("/dossiers/<reference>/label.pdf")
@require()
def dossier_label_pdf(reference: str) -> ResponseReturnValue:
    """The dossier's barcode label on the office's layout (or ``?layout=``)."""
    dossier = ops.resolve_dossier(reference, current_principal())
    return _send(printing.print_labels(
        [dossier], layout=request.args.get("layout"), printer="pdf",
        copies=_arg_int("copies", 1, 1, 100), start_position=_arg_int("start", 1, 1, 500),
        with_2d=request.args.get("with_2d") in ("1", "true")))


@bp.get("/dossiers/<reference>/label.zpl")
@require()
def dossier_label_zpl(reference: str) -> ResponseReturnValue:
    """The dossier's label as ZPL II for a Zebra-compatible thermal printer."""
    dossier = ops.resolve_dossier(reference, current_principal())
    return _send(printing.print_labels(
        [dossier], layout=request.args.get("layout"), printer="zpl",
        copies=_arg_int("copies", 1, 1, 100),
        with_2d=request.args.get("with_2d") in ("1", "true")))


@bp.get("/dossiers/<reference>/receipt.pdf")
@require(roles=RECEIPT_ROLES)
def dossier_receipt(reference: str) -> ResponseReturnValue:
    """The citizen receipt (Mẫu 01), two copies, with the lookup QR: a reprint by reception.

    It carries the applicant's data and the lookup secret, so only reception (or an admin)
    whose scope covers the dossier may reprint it; a 409 when the secret must be reissued.
    """
    return _send(printing.print_receipt(ops.resolve_dossier(reference, current_principal())))


@bp.post("/dossiers/<reference>/lookup-secret")
@require(roles=RECEIPT_ROLES)
def reissue_lookup_secret(reference: str) -> ResponseReturnValue:
    """Issue a new receipt secret (``ReissuedSecret``) when the old one can no longer be
    derived; the old receipt's QR stops opening the timeline. Reprint the receipt after."""
    principal = current_principal()

    def work() -> tuple[Dossier, str]:
        dossier = ops.resolve_dossier(reference, principal)
        ops.reissue_lookup_secret(dossier)
        return dossier, ops.lookup_url(dossier)

    dossier, link = commit_with_retry(work)
    return jsonify(read_models.ReissuedSecret(
        code=dossier.code, lookup_url=link,
        links={"receipt": url_for("api.dossier_receipt", reference=dossier.code)}).to_json())


@bp.get("/dossiers/<reference>/control-sheet.pdf")
@require()
def dossier_control_sheet(reference: str) -> ResponseReturnValue:
    """The control sheet (Mẫu 05) rendered from the recorded handoffs: staff in scope only
    (it names the applicant and every handler)."""
    return _send(printing.print_control_sheet(
        ops.resolve_dossier(reference, current_principal())))


@bp.get("/dossiers/<reference>/barcode.svg")
@require(devices=True)
def dossier_barcode(reference: str) -> ResponseReturnValue:
    """The tracking number as a Code 128 SVG, for screens."""
    return _send(printing.barcode_svg(ops.resolve_dossier(reference, current_principal())))


@bp.post("/labels")
@require()
def bulk_labels() -> ResponseReturnValue:
    """Labels for many dossiers at once, onto sheets (or one ZPL job)."""
    body = json_body()
    refs = body.get("dossiers")
    if not isinstance(refs, list) or not refs or len(refs) > 1000 or not all(
            isinstance(r, str) for r in refs):
        raise ValidationError("dossiers must be a list of 1 to 1000 codes or tracking numbers",
                              details={"field": "dossiers"})
    principal = current_principal()
    dossiers = [ops.resolve_dossier(r, principal) for r in refs]
    printer = body.get("printer")
    if printer not in (None, "pdf", "zpl"):
        raise ValidationError("printer must be pdf or zpl", details={"field": "printer"})
    layout = body.get("layout")
    if layout is not None and not isinstance(layout, str | dict):
        raise ValidationError("layout must be a preset name or a grid object",
                              details={"field": "layout"})
    return _send(printing.print_labels(
        dossiers, layout=json.dumps(layout) if isinstance(layout, dict) else layout,
        printer=printer, copies=_int_field(body, "copies", 1, 1, 100) or 1,
        start_position=_int_field(body, "start_position", 1, 1, 500) or 1,
        with_2d=bool(body.get("with_2d"))), inline=False)


@bp.get("/stations")
@require(devices=True)
def list_stations() -> ResponseReturnValue:
    """The stations the caller may scan at."""
    stations = current_principal().scan_stations()
    return jsonify({"stations": [read_models.StationView.of(s).to_json() for s in stations]})


@bp.get("/procedures")
@require()
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
def lookup(code: str) -> ResponseReturnValue:
    """Public status of a dossier (``PublicDossier``); with the receipt secret (``?t=``) its
    step timeline too."""
    secret = request.args.get("t")
    dossier = ops.find_for_lookup(code, secret)
    return jsonify(read_models.read_dossier(dossier, None, secret=secret).to_json())


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    """The OpenAPI 3 description of this API."""
    from app.openapi import build_spec

    return jsonify(build_spec(current_app.config["PUBLIC_BASE_URL"]))


# The response model of each read endpoint, for the OpenAPI registry (200 bodies).
RESPONSE_MODELS: dict[str, tuple[type[read_models.ReadModel], ...]] = {
    "api.get_dossier": (read_models.StaffDossier, read_models.DeviceDossier),
    "api.lookup": (read_models.PublicDossier,),
    "api.reissue_lookup_secret": (read_models.ReissuedSecret,),
    "api.list_stations": (read_models.StationView,),  # as {"stations": [StationView]}
}
