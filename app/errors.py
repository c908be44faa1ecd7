"""One error shape for the whole API: ``{"error": {"code": ..., "message": ...}}``; pages
(every path outside ``/api/``) get the same statuses as a translated HTML page instead."""

from __future__ import annotations

import logging
import sqlite3
import time
import traceback
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, current_app, jsonify, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as ResponseBase

from app.db import db

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A request the domain refuses; carries its HTTP status and a machine-readable code."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers: dict[str, str] = {}
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.details = details


class ValidationError(DomainError):
    status = 422
    code = "invalid"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Conflict(DomainError):
    status = 409
    code = "conflict"


def error_response(status: int, code: str, message: str, details: Any = None) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    response = jsonify({"error": body})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="tracker"'
    return response


def is_page() -> bool:
    """The request is for a page (HTML), not for the API (JSON)."""
    return not request.path.startswith("/api/")


_SERVER_FAILURE = (_l("Something went wrong"),
                   _l("The server failed; nothing was saved. Please try again later."))
ERROR_PAGES = {
    400: (_l("The request could not be understood"),
          _l("The form may have expired. Go back, reload the page and try again.")),
    401: (_l("Please log in"), _l("This page is for staff who are logged in.")),
    403: (_l("You may not open this page"),
          _l("Your role does not give access to this page. Ask your office's administrator "
             "if you need it.")),
    404: (_l("Page not found"),
          _l("The address may be mistyped, or the page no longer exists.")),
    405: (_l("This action is not possible here"), _l("Go back and use the buttons on the page.")),
    413: (_l("What was sent is too large"), _l("Send less at once.")),
    422: (_l("What was sent could not be read"), _l("Check what was typed and try again.")),
    429: (_l("Too many requests"), _l("Please wait a moment before trying again.")),
    503: (_l("The service is briefly unavailable"),
          _l("Nothing was lost. Please try again in a few moments.")),
}


def error_page(status: int, headers: dict[str, str] | None = None) -> Response:
    """The translated HTML page of an error status (404, 403, 429, 500, …).

    Pages of server failures (5xx) read nothing from the database, not even who is logged
    in: the database may be the failure.
    """
    from flask import render_template

    title, text = ERROR_PAGES.get(status, _SERVER_FAILURE)
    try:
        body = render_template("errors/error.html", status=status, title=title, text=text,
                               staff_header=status < 500,
                               retry_after=(headers or {}).get("Retry-After"))
    except Exception as exc:  # the page itself failed: say so plainly, never a traceback
        log.error("error page %s failed:\n%s", status, describe_error(exc))
        body = f"<!doctype html><title>{status}</title><h1>{status}</h1>"
    response = Response(body, status=status, mimetype="text/html")
    response.headers.update(headers or {})
    return response


def _http_code(exc: HTTPException) -> str:
    return (exc.name or "error").lower().replace(" ", "_").replace("'", "")


def _outage_errors() -> tuple[type[Exception], ...]:
    """Errors that mean the database is unreachable or busy, not that the request is wrong.

    SQLAlchemy wraps driver errors (a refused connection, a server restarting, SQLite's
    "database is locked" after the busy timeout) in OperationalError / InterfaceError; the
    driver's own classes are listed too for code that reaches them unwrapped.
    """
    errors: list[type[Exception]] = [
        sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.DisconnectionError,
        sa.exc.TimeoutError, sqlite3.OperationalError, sqlite3.InterfaceError]
    try:
        import psycopg
    except ImportError:  # the server may run on SQLite without psycopg installed
        pass
    else:
        errors += [psycopg.OperationalError, psycopg.InterfaceError]
    return tuple(errors)


def _rate_limit_retry_after() -> int:
    """Seconds until the breached rate limit lets the caller in again (at least 1).

    Flask-Limiter's own headers are off (``RATELIMIT_HEADERS_ENABLED``): it would put its
    window's reset time as ``Retry-After`` on every response, a 503 included, and an agent
    told to wait minutes during a database restart of seconds.
    """
    from app.extensions import limiter

    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, int(current.reset_at - time.time()))


def _rollback_quietly() -> None:
    # After a lost connection the rollback itself may fail; the session is discarded then.
    try:
        db.session.rollback()
    except Exception:  # nothing left to undo on a dead connection
        db.session.remove()


def describe_error(exc: BaseException) -> str:
    """An exception chain as type names and code locations, without any message text.

    Messages carry data: a database error quotes the row that broke a constraint (PostgreSQL's
    ``DETAIL: Key (phone)=(...)``), a ``ValueError`` the text it could not parse. The log needs
    where it failed, not what the citizen typed.
    """
    lines: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        name = type(current).__qualname__
        constraint = getattr(getattr(getattr(current, "orig", None), "diag", None),
                             "constraint_name", None)
        if constraint:  # PostgreSQL names the constraint apart from the values that broke it
            name += f" (constraint {constraint})"
        if isinstance(current, sa.exc.StatementError) and current.statement:
            # The SQL text holds placeholders, never values (hide_parameters on the engine).
            name += f" in SQL: {' '.join(current.statement.split())[:300]}"
        lines.append(name)
        lines.extend("  " + frame.rstrip().replace("\n", "\n  ")
                     for frame in traceback.format_tb(current.__traceback__))
        current = current.__cause__ or current.__context__
        if current is not None:
            lines.append("caused by / while handling:")
    return "\n".join(lines)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(exc: DomainError) -> Response:
        db.session.rollback()
        if is_page():
            return error_page(exc.status, exc.headers)
        response = error_response(exc.status, exc.code, exc.message, exc.details)
        response.headers.update(exc.headers)
        return response

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> ResponseBase:
        db.session.rollback()
        status = exc.code or 500
        if status < 400:  # a redirect raised as an exception
            return exc.get_response()
        retry = ({"Retry-After": str(_rate_limit_retry_after())} if status == 429 else None)
        response = (error_page(status, retry) if is_page() else
                    error_response(status, _http_code(exc), exc.description or ""))
        # Keep what the exception says beyond its body, e.g. a 405's Allow.
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        if retry:
            response.headers.update(retry)
        return response

    def _outage(exc: Exception) -> Response:
        _rollback_quietly()
        log.warning("database unavailable on %s %s: %s", request.method, request.path,
                    describe_error(exc).splitlines()[0])
        response = (error_page(503) if is_page() else error_response(
            503, "database_unavailable",
            "The database is unavailable; nothing was saved. Retry later."))
        response.headers["Retry-After"] = str(current_app.config["OUTAGE_RETRY_AFTER_SECONDS"])
        return response

    for error in _outage_errors():
        app.register_error_handler(error, _outage)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        _rollback_quietly()
        # Never exc_info: the traceback's messages may quote request data (see describe_error).
        log.error("unhandled error on %s %s\n%s", request.method, request.path,
                  describe_error(exc))
        if is_page():
            return error_page(500)
        return error_response(500, "internal_error", "The server failed; nothing was saved.")
