"""Citizen pages (thin): the phone page a receipt's QR code opens, and the kiosk.

Both read the dossier through :func:`app.tracking.read_models.read_dossier` with no
principal, so they render the public API's model (:class:`PublicDossier`): the step timeline
and the masked name only with the receipt secret, never anything else personal. Both take
whatever a scanner or a person types (tracking number, official code in any case or
spacing, the whole receipt URL, a secret with look-alike characters) and share the lookup
rate limit with the API.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l

from app import live
from app.codes import receipt_url_secret
from app.errors import NotFound
from app.extensions import lookup_limit, lookup_limit_except
from app.tracking import operations as ops
from app.tracking import read_models
from app.tracking.codes import BadReference, parse_reference

bp = Blueprint("tracking", __name__)

# What the file's status means for the citizen, in plain words.
HEADLINES = {
    "new": _l("Your dossier is registered"),
    "received": _l("Your dossier has been received"),
    "in_progress": _l("Your dossier is being processed"),
    "supplement_requested": _l("Papers are missing from your dossier"),
    "financial_obligation": _l("A fee or charge must be paid"),
    "processed": _l("Your result is ready"),
    "returned": _l("The result has been handed over"),
    "not_accepted": _l("The dossier was not accepted"),
    "withdrawn": _l("The dossier was withdrawn at your request"),
    "stopped": _l("Processing of the dossier was stopped"),
}
ACTIONS = {
    "bring_papers": _l("Bring the missing papers to the reception desk. The office's clock is "
                       "paused until then."),
    "pay": _l("Pay the fee or charge at the reception desk. The office's clock is paused until "
              "then."),
    "collect": _l("Come to the reception desk with your receipt and an identity document to "
                  "collect the result."),
}
# The waits between two handoffs a citizen may want named (processing and closed are not).
INTERVALS = {
    "supplement": _l("Waiting for the missing papers"),
    "payment": _l("Waiting for the fee or charge"),
    "pickup": _l("Result waiting to be collected"),
    "transit": _l("In transit"),
}
VERDICTS = {
    "within": _l("On schedule"),
    "approaching": _l("Due soon"),
    "late": _l("Overdue"),
    "early": _l("Finished early"),
    "on_time": _l("Finished on time"),
}


@bp.app_template_filter("vntime")
def vn_time(value: str | dt.datetime | None, tz: Any = None) -> str:
    """``08:07 22/11/2026``, the way Vietnamese forms write an instant."""
    if value is None:
        return "—"
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return (value.astimezone(tz) if tz else value).strftime("%H:%M %d/%m/%Y")


def _read(text: str, secret: str | None) -> tuple[str, str | None]:
    """The reference and secret in what was typed or scanned (a receipt URL carries both).

    :raises BadReference: it designates no dossier.
    """
    reference = parse_reference(text).value
    return reference, (secret or "").strip() or receipt_url_secret(text.strip())


def _dossier_page(template: str, text: str, secret: str | None, fragment: str | None = None,
                  **context: Any) -> ResponseReturnValue:
    """The dossier ``text`` designates, or the form again with a friendly message; with
    ``fragment``, live (:mod:`app.live`): a poll gets the fragment, or 304 while nothing moved."""

    def build() -> dict[str, Any]:
        reference, found_secret = _read(text, secret)
        dossier = ops.find_for_lookup(reference, found_secret)
        return {"d": read_models.read_dossier(dossier, None, secret=found_secret),
                "headlines": HEADLINES, "actions": ACTIONS, "verdicts": VERDICTS,
                "intervals": INTERVALS, **context}

    try:
        if fragment is not None:
            return live.respond(template, fragment, build, text, secret or "")
        return render_template(template, **build())
    except BadReference:
        return render_template(template, query=text, problem="unreadable", **context), 422
    except NotFound:
        return render_template(template, query=text, problem="not_found", **context), 404


@bp.get("/lookup")
def lookup_form() -> ResponseReturnValue:
    """The phone's lookup form: type or scan the code (and the secret from the receipt)."""
    text = (request.args.get("q") or request.args.get("code") or "").strip()
    if not text:
        return render_template("citizen/lookup.html")
    try:
        reference, secret = _read(text, request.args.get("t"))
    except BadReference:
        return render_template("citizen/lookup.html", query=text, problem="unreadable"), 422
    return redirect(url_for("tracking.lookup_page", code=reference, t=secret or None))


@bp.get("/lookup/<path:code>")
@lookup_limit
def lookup_page(code: str) -> ResponseReturnValue:
    """The page a receipt's QR code opens: where the file is, the steps with the secret."""
    return _dossier_page("citizen/lookup.html", code, request.args.get("t"))


def _kiosk_context() -> dict[str, Any]:
    return {"reset_seconds": int(current_app.config["KIOSK_RESET_SECONDS"])}


@bp.get("/kiosk")
def kiosk() -> ResponseReturnValue:
    """The kiosk's full-screen form, for a scanner or a touch keyboard."""
    return render_template("citizen/kiosk.html", **_kiosk_context())


def _kiosk_query() -> tuple[str, str]:
    return request.args.get("q", "").strip(), request.args.get("t") or ""


@bp.get("/kiosk/lookup")
@lookup_limit_except(lambda: live.unchanged(*_kiosk_query()))
def kiosk_lookup() -> ResponseReturnValue:
    """The kiosk's answer, live while on screen (a poll answered 304 costs no lookup); it goes
    back to the empty form after a while without input."""
    text, secret = _kiosk_query()
    if not text:
        return redirect(url_for("tracking.kiosk"))
    return _dossier_page("citizen/kiosk.html", text, secret, "citizen/_dossier.html",
                         **_kiosk_context())
