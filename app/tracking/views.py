"""Citizen-facing HTML: the page the receipt QR opens, and the kiosk's code form (thin)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.errors import NotFound
from app.extensions import lookup_limit
from app.tracking import operations as ops
from app.tracking import read_models

bp = Blueprint("tracking", __name__)


@bp.app_template_filter("vntime")
def vn_time(value: str | dt.datetime | None, tz: Any = None) -> str:
    """``08:07 22/11/2026``, the way Vietnamese forms write an instant."""
    if value is None:
        return "—"
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return (value.astimezone(tz) if tz else value).strftime("%H:%M %d/%m/%Y")


@bp.get("/lookup")
def lookup_form() -> ResponseReturnValue:
    """The kiosk form: type or scan the dossier code (and the secret from the receipt)."""
    code = request.args.get("code", "").strip()
    if code:
        return redirect(url_for("tracking.lookup_page", code=code,
                                t=request.args.get("t") or None))
    return render_template("tracking/lookup_form.html")


@bp.get("/lookup/<code>")
@lookup_limit
def lookup_page(code: str) -> ResponseReturnValue:
    """Where the citizen's dossier is; the step timeline when the receipt secret is given."""
    secret = request.args.get("t") or None
    try:
        dossier = ops.find_for_lookup(code, secret)
    except NotFound:
        return render_template("tracking/lookup_form.html", code=code, not_found=True), 404
    return render_template("tracking/lookup.html",
                           d=read_models.read_dossier(dossier, None, secret=secret))
