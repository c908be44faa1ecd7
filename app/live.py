"""Live pages: a region of a page that follows the scans without a reload.

The mechanism is plain polling of the page's own URL with a cheap change token:

- A page marks its live region ``<div data-live="URL" data-live-etag="TOKEN">`` (the macro
  ``live_region`` in ``templates/live.html``) and loads ``static/live.js``. Every
  ``LIVE_POLL_SECONDS`` (while the tab is visible) the script asks ``URL`` again with the
  header ``X-Live: 1`` and ``If-None-Match: TOKEN``.
- The view answers through :func:`respond`: it computes the token first — the newest scan and
  the newest dossier (two primary-key lookups), the minute (deadlines move with time), the
  language and the caller — and answers ``304 Not Modified`` without building anything when it
  has not changed; otherwise only the region's fragment, which the script swaps in.

Why polling and not server-sent events or websockets: the state lives in the database, which
every gunicorn worker reads, so any worker can answer any poll and nothing has to be told to
the others (no broker, no sticky sessions). A poll is a short ordinary request, so sync workers
are never held by an open stream (four workers and ten open pages would exhaust them with SSE),
the login, CSRF, CSP and rate limits apply as to any request, and a page survives a restart or a
network cut by just asking again (the script backs off while errors last). The cost of an
unchanged poll is two index lookups and an empty 304; a change reaches the screen within one
period. What moves no id (an apology's new due date, a scan committed after one with a higher
id) shows when the minute turns at the latest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, current_app, g, make_response, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.db import db, utcnow
from app.i18n import current_language
from app.tracking.models import Dossier, ScanEvent

LIVE_HEADER = "X-Live"


def change_token(*parts: object) -> str:
    """A token that changes when a scan or a dossier is recorded anywhere, every minute, and
    with the language, the logged-in user and ``parts``; computed once per request for the
    same ``parts`` (so a rate limit's exemption and the answer agree)."""
    known: dict[tuple[object, ...], str] = g.setdefault("live_tokens", {})
    if parts not in known:
        known[parts] = _token(parts)
    return known[parts]


def _token(parts: tuple[object, ...]) -> str:
    newest = db.session.execute(sa.select(
        sa.select(sa.func.max(ScanEvent.id)).scalar_subquery(),
        sa.select(sa.func.max(Dossier.id)).scalar_subquery())).one()
    user = current_user.get_id() if current_user.is_authenticated else ""
    minute = utcnow().strftime("%Y%m%d%H%M")
    text = "|".join(map(str, (*newest, minute, current_language(), user, *parts)))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def is_poll() -> bool:
    """Whether this request is live.js asking for the region's fragment."""
    return request.headers.get(LIVE_HEADER) == "1"


def unchanged(*parts: object) -> bool:
    """Whether this request is a poll that :func:`respond` will answer 304 (it costs nothing:
    a rate limit may exempt it, as the public kiosk's does)."""
    return is_poll() and change_token(request.path, *parts) in request.if_none_match


def respond(page: str, fragment: str, build: Callable[[], dict[str, Any]],
            *parts: object) -> ResponseReturnValue:
    """The page ``page``, or for a poll its region ``fragment`` — or 304 when unchanged.

    :param build: the template context; called only when something is rendered.
    :param parts: what else the region depends on (the view's arguments), for the token.
    """
    token = change_token(request.path, *parts)
    if unchanged(*parts):
        response = Response(status=304)
    else:
        context = build() | {"live_etag": token}
        response = make_response(render_template(fragment if is_poll() else page, **context))
    response.set_etag(token)
    # The fragment and the page share the URL: never let a cache hand one for the other.
    response.headers["Cache-Control"] = "no-store"
    response.vary.add(LIVE_HEADER)
    return response


def init_live(app: Flask) -> None:
    """The poll period for the templates (``LIVE_POLL_SECONDS``)."""

    @app.context_processor
    def _poll_seconds() -> dict[str, Any]:
        return {"live_poll_seconds": current_app.config["LIVE_POLL_SECONDS"]}
