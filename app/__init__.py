"""The dossier tracker: a Flask server that knows every dossier, scan point and handoff.

Importing this package imports only the standard library: the scanner agent, installed without
Flask, imports :mod:`app.codes` (the code rules both sides share) and nothing else of ``app``.
Flask and the rest are imported inside the functions that need them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask
    from flask.typing import ResponseReturnValue


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the application: code defaults, then the environment, then ``test_config``."""
    from flask import Flask

    from app.config import DEFAULTS

    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(DEFAULTS)
    if test_config is None or not test_config.get("TESTING"):
        app.config.from_prefixed_env()
        if os.environ.get("DATABASE_URL"):
            app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    if test_config:
        app.config |= test_config
    if not app.config["SQLALCHEMY_DATABASE_URI"]:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{app.instance_path}/tracker.db"
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(app)
    if app.config["SESSION_COOKIE_SECURE"] is None:
        app.config["SESSION_COOKIE_SECURE"] = not (app.debug or app.testing)

    _register_extensions(app)
    _register_blueprints(app)
    from app.errors import register_error_handlers

    register_error_handlers(app)
    from app.security import init_security

    init_security(app)
    from app.cli import register_cli

    register_cli(app)
    return app


def _instance_secret(app: Flask) -> str:
    """A secret kept in the instance folder, so receipt secrets survive restarts."""
    from app.security import instance_secret

    return instance_secret(app.instance_path)


def _register_extensions(app: Flask) -> None:
    from app.db import configure_sqlite, db
    from app.extensions import limiter

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
        options.setdefault("connect_args", {})["timeout"] = 30
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    db.init_app(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with app.app_context():
            configure_sqlite(db.engine)
    limiter.init_app(app)
    if app.config["PROXY_HOPS"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_HOPS"])
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_prefix=hops)


def _register_blueprints(app: Flask) -> None:
    from flask import jsonify

    from app.auth.views import bp as auth_bp
    from app.tracking.api import bp as api_bp
    from app.tracking.views import bp as tracking_bp
    from app.web import init_web

    init_web(app)
    app.register_blueprint(auth_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(tracking_bp)
    from app.tracking import supervision

    supervision.register(app)
    from app.printjobs import api as print_jobs

    print_jobs.register(app)
    from app.analytics import api as analytics

    analytics.register(app)
    from app import counter

    counter.register(app)
    from app.admin import views as admin

    admin.register(app)
    from app.tracking import work_pages

    work_pages.register(app)

    @app.get("/health")
    def health() -> ResponseReturnValue:
        """Liveness for load balancers and the scanner agent's doctor."""
        return jsonify({"status": "ok"})
