"""The counter pages: receiving a dossier at the desk (``/intake``), its receipt and label,
corrections after intake, and the scan station (``/station``).

Thin: the pages take the API's bodies (:mod:`app.tracking.schemas`), its operations and its
read models; :mod:`app.counter.forms` only turns a form into a body and errors into messages.
"""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("counter", __name__)


def register(app: Flask) -> None:
    from app.counter import intake, station  # noqa: F401  (their routes)

    app.register_blueprint(bp)
