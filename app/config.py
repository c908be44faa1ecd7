"""Configuration defaults; every value can be overridden from the environment.

Environment variables (``FLASK_`` prefix, values parsed as JSON where they can be):

- ``DATABASE_URL`` or ``FLASK_SQLALCHEMY_DATABASE_URI``: ``sqlite:///tracker.db`` (default, in the
  instance folder) or ``postgresql+psycopg://user@host/db`` for production.
- ``FLASK_SECRET_KEY``: signs sessions and derives receipt secrets. Generated into the instance
  folder on first start when unset; set it explicitly when running several servers.
- ``FLASK_PUBLIC_BASE_URL``: the address citizens reach (receipt QR codes point there).
- ``FLASK_LOOKUP_RATE_LIMIT``: public lookup limit per client, e.g. ``"30 per minute"``, shared
  by ``GET /api/v1/lookup/<code>`` and the HTML page ``/lookup/<code>``.
- ``FLASK_TOKEN_RATE_LIMIT``: per bearer token, every authenticated call; a scan batch or bulk
  label request costs one per item, so a stolen token cannot try codes fast.
- ``FLASK_TOKEN_READ_RATE_LIMIT``: per bearer token, GET requests only (each read of a dossier by
  code is a guess when the token is stolen).
- ``FLASK_API_TOKEN_LIFETIME``: default lifetime of ``tracker user token``, ``90d`` or ``12h``.
- ``FLASK_OUTAGE_RETRY_AFTER_SECONDS``: ``Retry-After`` of the 503 answered while the database is
  unreachable.
- ``FLASK_RATELIMIT_STORAGE_URI``: ``memory://`` (default) or ``redis://127.0.0.1:6379`` so that
  several gunicorn workers share one limit.
- ``FLASK_PROXY_HOPS``: number of reverse proxies in front (trust their X-Forwarded-* headers).
- ``FLASK_ACTION_PERMISSIONS``: JSON overrides of the scan-action table (app.auth.permissions).
- ``FLASK_CLOCK_SKEW_THRESHOLD_SECONDS``: device clocks further off than this are corrected;
  a scan dated (after correction) further in the future than this is refused.
- ``FLASK_SCAN_MAX_AGE_DAYS``: scans and upstream intake times older than this many days are
  refused (``bad_time``); a scanner may stay offline for weeks, so the default is 180.
- ``FLASK_MAX_SCAN_BATCH``: events per ``POST /api/v1/scans`` (default 500).
- ``FLASK_DEFAULT_OFFICE_HOURS``: office hours for new offices, ``07:00-11:30,13:30-17:00``.
- ``FLASK_TRANSIT_ALERT_HOURS``: working hours a file may stay in transit (sent, not yet
  scanned again) before ``GET /api/v1/transits?overdue=true`` and ``tracker scans in-transit
  --overdue`` list it (default 4: half a working day).
- ``FLASK_UPSTREAM_CODE_PATTERNS``: the codes a one-door system may register a dossier under
  (intake with ``code`` and ``received_at``) besides the receiving office's own code shape:
  a JSON list of regexes matched against the whole uppercased code, or an object mapping a
  province key (``"*"`` for all) to such a list. Default: the national shape ``<agency
  code>-<yymmdd or yyyymmdd>-<4 to 7 digit serial>`` (``G09.20-20260609-0092637``); ``[]``
  accepts only each office's own shape. Codes must also be official codes (see ``app.codes``).
- ``FLASK_LOGIN_MAX_FAILURES`` / ``FLASK_LOGIN_LOCKOUT_MINUTES``: wrong passwords in a row that
  lock a staff account, and for how long (5, 15).
- ``FLASK_LOGIN_RATE_LIMIT``: failed logins per client address (``"20 per 15 minutes"``), so
  one machine cannot try many accounts; further attempts get the 429 page.
- ``FLASK_SESSION_COOKIE_SECURE``: the session cookie only over HTTPS; on unless debugging or
  testing (set ``false`` to try the pages over plain HTTP on another machine).
- ``FLASK_KIOSK_RESET_SECONDS``: the kiosk goes back to its empty form after this long without
  input (30).
- ``FLASK_LIVE_POLL_SECONDS``: how often a live page (queue, dossier, board, station,
  dashboard, kiosk) asks whether a scan arrived (10).
- ``FLASK_PRINT_JOB_MAX_AGE_MINUTES``: a print job its agent has not fetched within this many
  minutes (the PC was off) is dropped rather than printed late (default 30).
"""

from __future__ import annotations

from typing import Any

DEFAULTS: dict[str, Any] = {
    "SQLALCHEMY_DATABASE_URI": None,  # filled in create_app: SQLite file in the instance folder
    # hide_parameters: a database error message must never carry a name, phone or token.
    # No pool pre-ping (a round trip on every request): a connection the database dropped
    # fails once, the pool is renewed, and writes retry on a fresh connection
    # (db.commit_with_retry); a read answers 503 with Retry-After.
    "SQLALCHEMY_ENGINE_OPTIONS": {"hide_parameters": True, "pool_recycle": 1800},
    "PUBLIC_BASE_URL": "http://127.0.0.1:5000",
    "LOOKUP_RATE_LIMIT": "30 per minute",
    # 20,000 events an hour: an agent drains 10,000 queued scans in 500-event batches at once.
    "TOKEN_RATE_LIMIT": "20000 per hour",
    # Reads by a stolen device token are guesses: about 2 a second at most, 1,200 an hour.
    "TOKEN_READ_RATE_LIMIT": "120 per minute;1200 per hour",
    "API_TOKEN_LIFETIME": "90d",
    "OUTAGE_RETRY_AFTER_SECONDS": 5,
    "RATELIMIT_STORAGE_URI": "memory://",
    # A refused request (a 500-event batch over the limit) must not use up the budget, as the
    # fixed window's counter would; the sliding window counter checks before it counts.
    "RATELIMIT_STRATEGY": "sliding-window-counter",
    # Off: Flask-Limiter would stamp its window's reset as Retry-After on every response, a 503
    # included; app/errors.py gives a 429 its own Retry-After.
    "RATELIMIT_HEADERS_ENABLED": False,
    "PROXY_HOPS": 0,
    "CLOCK_SKEW_THRESHOLD_SECONDS": 120,
    "SCAN_MAX_AGE_DAYS": 180,
    "MAX_SCAN_BATCH": 500,
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    "DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
    "DEFAULT_OFFICE_HOURS": "07:00-11:30,13:30-17:00",
    "DEFAULT_CODE_PATTERN": "{agency}-{yymmdd}-{serial:04d}",
    "UPSTREAM_CODE_PATTERNS": [r"[A-Z0-9][A-Z0-9.]*-[0-9]{6}(?:[0-9]{2})?-[0-9]{4,7}"],
    "APPROACHING_DUE_HOURS": 8,
    # Working hours a file may spend in transit (after a ``send``, before its next scan) before
    # it is reported overdue: half a working day, so a morning send is received by the evening.
    "TRANSIT_ALERT_HOURS": 4,
    # The missed-scans report lists a dossier in progress without a scan for this many
    # working days (app.analytics.reports.missed).
    "MISSED_SCAN_DAYS": 3,
    # Reference data read on every scan (office hours, calendar overrides, procedure names) is
    # read once per this many seconds per server process.
    "CACHE_SECONDS": 60,
    "JSON_SORT_KEYS": False,
    # A print job not fetched by its agent within this many minutes is dropped (app.printjobs).
    "PRINT_JOB_MAX_AGE_MINUTES": 30,
    # Overrides of labels.FormConfig: form numbers and titles (Circular 03/2025 renumbers them).
    "FORMS": {},
    # Overrides of app.auth.permissions' table of who may post which scan action.
    "ACTION_PERMISSIONS": {},
    # Pages: staff sessions and forms.
    "LOGIN_MAX_FAILURES": 5,
    "LOGIN_LOCKOUT_MINUTES": 15,
    "LOGIN_RATE_LIMIT": "20 per 15 minutes",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": None,  # None: create_app turns it on unless debug or testing
    # CSRF is checked by app.web for pages only (the API uses bearer tokens).
    "WTF_CSRF_CHECK_DEFAULT": False,
    # Responses send no Referer (a lookup URL carries the receipt secret), so Flask-WTF's
    # HTTPS referrer check would refuse every form; the token and SameSite=Lax remain.
    "WTF_CSRF_SSL_STRICT": False,
    # A kiosk page stays open for hours: its token lives as long as the session.
    "WTF_CSRF_TIME_LIMIT": None,
    "KIOSK_RESET_SECONDS": 30,
    # Live pages (queue, dossier, board, station, dashboard, kiosk) ask again this often.
    "LIVE_POLL_SECONDS": 10,
}
