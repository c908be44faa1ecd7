"""Staff work pages and the waiting-room board (thin; issue 11 points 4, 5, 8, 9).

- ``/queue``: the work queue (:func:`app.tracking.worklist.work_queue`, also
  ``GET /api/v1/queue``).
- ``/dossiers?q=``: the search of ``GET /api/v1/dossiers`` (same query model, same operation).
- ``/dossiers/<code>``: the staff read model of ``GET /api/v1/dossiers/<code>``; out of scope
  is the same 404 as unknown. Its control sheet (staff) and receipt (reception) PDFs.
- ``/board/<office code>``: the public waiting-room board of one office (codes and masked
  names only).

Queue, dossier and board are live regions (:mod:`app.live`).
"""

from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, Flask, g, render_template, request, send_file
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from pydantic import ValidationError as PydanticError

from app import live
from app.auth.permissions import QUEUE_ROLES, RECEIPT_ROLES
from app.db import utcnow
from app.offices.operations import calendar_for, get_office
from app.tracking import operations as ops
from app.tracking import printing, queries, read_models, schemas, search, worklist
from app.tracking.views import INTERVALS, VERDICTS
from app.web import staff_page

bp = Blueprint("work_pages", __name__)

ACTIONS = {
    "receive": _l("Received at the desk"),
    "transfer_in": _l("Handed over"),
    "request_supplement": _l("Papers requested"),
    "supplement_received": _l("Papers received"),
    "request_payment": _l("Payment requested"),
    "payment_received": _l("Payment received"),
    "result_ready": _l("Result ready"),
    "returned": _l("Result handed over"),
    "withdrawn": _l("Withdrawn"),
    "stopped": _l("Stopped"),
    "refused": _l("Not accepted"),
    "send": _l("Sent"),
}
LABELS = {"verdicts": VERDICTS, "intervals": INTERVALS, "actions": ACTIONS}


def register(app: Flask) -> None:
    app.register_blueprint(bp)
    live.init_live(app)


@bp.get("/queue")
@staff_page(QUEUE_ROLES)
def queue() -> ResponseReturnValue:
    """The caller's work queue, live."""
    return live.respond("work/queue.html", "work/_queue.html", lambda: {
        "q": worklist.work_queue(g.principal, utcnow()), **LABELS})


@bp.get("/dossiers")
@staff_page()
def dossiers() -> ResponseReturnValue:
    """Search the dossiers of the caller's lists, as ``GET /api/v1/dossiers`` does."""
    try:
        query = schemas.DossierListQuery.model_validate(request.args.to_dict())
    except PydanticError:
        return render_template("work/dossiers.html", problem=True,
                               q=request.args.get("q", "")), 422
    found = search.search_dossiers(
        g.principal, search.DossierSearch(q=query.q or None, page=query.page,
                                          per_page=query.per_page), utcnow())
    rows = [read_models.staff_row(d, queries.standing(d)) for d in found.dossiers]
    pages = max(1, -(-found.total // query.per_page))
    return render_template("work/dossiers.html", rows=rows, total=found.total, page=query.page,
                           pages=pages, q=query.q or "", **LABELS)


@bp.get("/dossiers/<code>")
@staff_page()
def dossier(code: str) -> ResponseReturnValue:
    """The dossier as ``GET /api/v1/dossiers/<code>`` shows it to staff, live."""
    found = ops.resolve_dossier(code, g.principal)  # unknown or out of scope: the 404 page

    def build() -> dict[str, Any]:
        d = read_models.read_dossier(found, g.principal)
        assert isinstance(d, read_models.StaffDossier)
        return {"d": d, "may_reprint": g.principal.user.role in RECEIPT_ROLES, **LABELS}

    return live.respond("work/dossier.html", "work/_dossier.html", build, code)


def _pdf(printed: printing.Printed) -> ResponseReturnValue:
    return send_file(io.BytesIO(printed.body), mimetype=printed.mimetype,
                     download_name=printed.filename)


@bp.get("/dossiers/<code>/control-sheet.pdf")
@staff_page()
def control_sheet(code: str) -> ResponseReturnValue:
    """The control sheet (Mẫu 05), as ``GET /api/v1/dossiers/<code>/control-sheet.pdf``."""
    return _pdf(printing.print_control_sheet(ops.resolve_dossier(code, g.principal)))


@bp.get("/dossiers/<code>/receipt.pdf")
@staff_page(RECEIPT_ROLES)
def receipt(code: str) -> ResponseReturnValue:
    """The receipt reprint (Mẫu 01), as ``GET /api/v1/dossiers/<code>/receipt.pdf``."""
    return _pdf(printing.print_receipt(ops.resolve_dossier(code, g.principal)))


@bp.get("/board/<office_code>")
def board(office_code: str) -> ResponseReturnValue:
    """The waiting-room TV of one office: public, codes and masked names only, live."""
    office = get_office(office_code)
    return live.respond("work/board.html", "work/_board.html", lambda: {
        "b": worklist.board(office, utcnow()), "tz": calendar_for(office).tz})
