"""The web pages' common ground: who is logged in, the page-role rule, home and language.

- Staff log in with Flask-Login (:mod:`app.auth.views`); a page for some roles only is
  decorated with :func:`staff_page` and the same role sets as the API
  (:mod:`app.auth.permissions`). A visitor who is not logged in is sent to the login page,
  a wrong role gets the translated 403 page.
- ``/`` sends staff to their start page and everybody else to the citizen lookup.
- ``POST /language`` remembers the visitor's language (:mod:`app.i18n`).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, UserMixin, current_user
from flask_wtf import CSRFProtect

from app.auth.models import Role, User
from app.auth.permissions import (
    ADMIN_ROLES,
    INTAKE_ROLES,
    QUEUE_ROLES,
    STAFF_ROLES,
    SUPERVISION_ROLES,
)
from app.auth.tokens import Principal
from app.db import db, utcnow
from app.i18n import LANGUAGES

bp = Blueprint("web", __name__)
login_manager = LoginManager()
csrf = CSRFProtect()

F = TypeVar("F", bound=Callable[..., Any])

# Where each role starts after logging in (every page it may open is listed on /home).
START_PAGES: dict[Role, str] = {
    Role.RECEPTION: "counter.intake_form", Role.SPECIALIST: "work_pages.queue",
    Role.LEADER: "work_pages.queue", Role.SUPERVISOR: "dashboard.dashboard",
    Role.ADMIN: "admin.index"}

ROLE_NAMES = {
    Role.RECEPTION: _l("Reception desk"),
    Role.SPECIALIST: _l("Specialist"),
    Role.LEADER: _l("Leader"),
    Role.SUPERVISOR: _l("Supervisor"),
    Role.ADMIN: _l("Administrator"),
}


@dataclass(frozen=True)
class Page:
    """A page the staff home lists for the roles that may open it."""

    endpoint: str
    title: LazyString
    description: LazyString
    roles: frozenset[Role] = STAFF_ROLES


PAGES = (
    Page("counter.intake_form", _l("Receive a dossier"),
         _l("The counter: a new dossier, its receipt and label"), INTAKE_ROLES),
    Page("counter.station_page", _l("Scan station"),
         _l("Scan files, badges and action cards with a keyboard scanner")),
    Page("tracking.lookup_form", _l("Look up a dossier"),
         _l("What a citizen sees with the code of a receipt")),
    Page("tracking.kiosk", _l("Citizen kiosk"),
         _l("Full screen lookup for the touch screen in the waiting room")),
    Page("supervision_pages.refused_scans_page", _l("Refused scans"),
         _l("Scans refused because the file was outside the scanner's scope"),
         SUPERVISION_ROLES),
    Page("admin.index", _l("Administration"),
         _l("Offices, stations, procedures, calendar, users and devices"), ADMIN_ROLES),
    Page("dashboard.dashboard", _l("Dashboard"),
         _l("Dossiers by status, deadlines, time per step, on-time rate, queues, missed scans"),
         SUPERVISION_ROLES),
    Page("work_pages.queue", _l("Files I hold"),
         _l("What I hold, what is overdue or due soon, and what is on its way to us"),
         QUEUE_ROLES),
    Page("work_pages.dossiers", _l("Find a dossier"),
         _l("By code, tracking number, applicant name or phone")),
)


class StaffSession(UserMixin):  # type: ignore[misc]
    """A logged-in staff member, as Flask-Login keeps them in the session cookie."""

    def __init__(self, user: User) -> None:
        self.user = user

    def get_id(self) -> str:
        return f"{self.user.id}:{_fingerprint(self.user)}"

    @property
    def is_active(self) -> bool:
        return self.user.active


def _fingerprint(user: User) -> str:
    # A new password (or none) ends every session opened with the old one.
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]


@login_manager.user_loader
def _load_user(session_id: str) -> StaffSession | None:
    """The session's user while the account is active, unlocked and its password unchanged."""
    user_id, _, fingerprint = session_id.partition(":")
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    if (user is None or not user.active or fingerprint != _fingerprint(user)
            or (user.locked_until is not None and user.locked_until > utcnow())):
        return None
    return StaffSession(user)


def staff_page(roles: Iterable[Role] = STAFF_ROLES) -> Callable[[F], F]:
    """Protect a page: a logged-in staff member of ``roles`` (the API's role sets).

    The view finds the caller as ``g.principal``, the same :class:`Principal` the API's scope
    checks take.
    """
    allowed = frozenset(roles)

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.user.role not in allowed:
                abort(403)
            g.principal = Principal(user=current_user.user)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def safe_next(target: str | None, default: str) -> str:
    """``target`` if it is a path on this site, else ``default`` (no open redirect)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


@bp.get("/")
def index() -> ResponseReturnValue:
    """Staff go to their start page, everybody else to the citizen lookup."""
    if current_user.is_authenticated:
        return redirect(url_for(START_PAGES[current_user.user.role]))
    return redirect(url_for("tracking.lookup_form"))


@bp.get("/home")
@staff_page()
def home() -> ResponseReturnValue:
    """The staff start page: who is logged in, and the pages their role may open."""
    role = current_user.user.role
    return render_template("web/home.html", role_name=ROLE_NAMES[role],
                           pages=[p for p in PAGES if role in p.roles])


@bp.post("/language")
def set_language() -> ResponseReturnValue:
    """Remember the chosen language, then go back to the page it was chosen on."""
    lang = request.form.get("lang", "")
    if lang in LANGUAGES:
        session["lang"] = lang
    return redirect(safe_next(request.form.get("next"), url_for("web.index")))


def _protect_pages() -> None:
    if not request.path.startswith("/api/"):
        csrf.protect()


def init_web(app: Flask) -> None:
    """Sessions, CSRF on every form, the language, and the pages' blueprint."""
    from app.i18n import init_i18n

    init_i18n(app)
    csrf.init_app(app)
    # Every form of the pages carries a CSRF token; the API authenticates by bearer token,
    # never by cookie, so it has nothing to protect (and new API blueprints need no exemption).
    app.before_request(_protect_pages)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None  # type: ignore[assignment]
    login_manager.session_protection = "strong"
    app.register_blueprint(bp)
