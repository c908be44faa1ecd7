"""Staff login and logout pages (thin: the rule is app.auth.operations.check_login)."""

from __future__ import annotations

import datetime as dt
import math

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from app.auth.operations import LoginRefused, check_login
from app.db import db, utcnow
from app.extensions import login_limit
from app.web import START_PAGES, StaffSession, safe_next

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):  # type: ignore[misc]
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


def _refusal(exc: LoginRefused) -> str:
    if exc.locked_until is None:
        return str(_l("Wrong username or password."))
    minutes = max(1, math.ceil((exc.locked_until - utcnow()) / dt.timedelta(minutes=1)))
    return ngettext("Too many wrong passwords: this account is locked for %(num)d minute.",
                    "Too many wrong passwords: this account is locked for %(num)d minutes.",
                    minutes)


@bp.route("/login", methods=["GET", "POST"])
@login_limit
def login() -> ResponseReturnValue:
    """The staff login form; after it, the page asked for or the role's start page."""
    if current_user.is_authenticated:
        return redirect(url_for(START_PAGES[current_user.user.role]))
    form = LoginForm()
    if form.validate_on_submit():
        config = current_app.config
        try:
            user = check_login(form.username.data, form.password.data,
                               max_failures=int(config["LOGIN_MAX_FAILURES"]),
                               lockout=dt.timedelta(minutes=float(config["LOGIN_LOCKOUT_MINUTES"])))
        except LoginRefused as exc:
            db.session.commit()  # the failure counts, and a lockout holds
            return render_template("auth/login.html", form=form, error=_refusal(exc)), 401
        db.session.commit()
        login_user(StaffSession(user))
        start = url_for(START_PAGES[user.role])
        return redirect(safe_next(request.args.get("next"), start))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """End the staff session (a POST with the CSRF token: a link cannot log anybody out)."""
    logout_user()
    return redirect(url_for("auth.login"))
