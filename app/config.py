"""Configuration defaults; every value can be overridden from the environment.

Environment variables (``FLASK_`` prefix, values parsed as JSON where they can be):

- ``DATABASE_URL`` or ``FLASK_SQLALCHEMY_DATABASE_URI``: ``sqlite:///tracker.db`` (default, in the
  instance folder) or ``postgresql+psycopg://user@host/db`` for production.
- ``FLASK_SECRET_KEY``: signs sessions and derives receipt secrets. Generated into the instance
  folder on first start when unset; set it explicitly when running several servers.
- ``FLASK_PUBLIC_BASE_URL``: the address citizens reach (receipt QR codes point there).
- ``FLASK_LOOKUP_RATE_LIMIT``: public lookup limit per client, e.g. ``"30 per minute"``.
- ``FLASK_RATELIMIT_STORAGE_URI``: ``memory://`` (default) or ``redis://127.0.0.1:6379`` so that
  several gunicorn workers share one limit.
- ``FLASK_PROXY_HOPS``: number of reverse proxies in front (trust their X-Forwarded-* headers).
- ``FLASK_CLOCK_SKEW_THRESHOLD_SECONDS``: device clocks further off than this are corrected;
  a scan dated (after correction) further in the future than this is refused.
- ``FLASK_SCAN_MAX_AGE_DAYS``: scans and upstream intake times older than this many days are
  refused (``bad_time``); a scanner may stay offline for weeks, so the default is 180.
- ``FLASK_MAX_SCAN_BATCH``: events per ``POST /api/v1/scans`` (default 500).
- ``FLASK_DEFAULT_OFFICE_HOURS``: office hours for new offices, ``07:00-11:30,13:30-17:00``.
"""

from __future__ import annotations

from typing import Any

DEFAULTS: dict[str, Any] = {
    "SQLALCHEMY_DATABASE_URI": None,  # filled in create_app: SQLite file in the instance folder
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "PUBLIC_BASE_URL": "http://127.0.0.1:5000",
    "LOOKUP_RATE_LIMIT": "30 per minute",
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_HEADERS_ENABLED": True,
    "PROXY_HOPS": 0,
    "CLOCK_SKEW_THRESHOLD_SECONDS": 120,
    "SCAN_MAX_AGE_DAYS": 180,
    "MAX_SCAN_BATCH": 500,
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    "DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
    "DEFAULT_OFFICE_HOURS": "07:00-11:30,13:30-17:00",
    "DEFAULT_CODE_PATTERN": "{agency}-{yymmdd}-{serial:04d}",
    "APPROACHING_DUE_HOURS": 8,
    "JSON_SORT_KEYS": False,
    # Overrides of labels.FormConfig: form numbers and titles (Circular 03/2025 renumbers them).
    "FORMS": {},
}
