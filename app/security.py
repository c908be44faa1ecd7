"""What every response and every log line must not give away.

- Security headers on every response (API and pages alike): no referrer (a lookup URL carries
  the receipt secret ``t=``), a CSP without inline script, no MIME sniffing, no framing.
- Access logs (the development server's ``werkzeug`` logger, gunicorn's ``gunicorn.access``)
  never keep the ``t=`` secret of a lookup URL.
- The instance secret key is created 0600, atomically.
- Last-seen stamps are written after the request (:func:`app.auth.tokens.stamp_last_seen`).
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import tempfile
from pathlib import Path

from flask import Flask, Response

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}

# Loggers that write request lines: the development server's and gunicorn's access log.
ACCESS_LOGGERS = ("werkzeug", "gunicorn.access")

# The receipt secret as a query parameter, raw or percent-encoded (t= / t%3D in a Referer).
_SECRET_PARAM = re.compile(r"(?i)((?:[?&;]|%3F|%26)t(?:=|%3D))[^&;\s\"']*")


def redact_secrets(text: str) -> str:
    """``/lookup/X?t=s3cret&x=1`` → ``/lookup/X?t=[redacted]&x=1``."""
    return _SECRET_PARAM.sub(r"\1[redacted]", text)


class RedactSecrets(logging.Filter):
    """A logging filter that removes the receipt secret from a record's final message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_secrets(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_REDACT = RedactSecrets()


def install_log_redaction() -> None:
    """Attach the redacting filter to the access loggers (idempotent).

    Filters live on the logger objects, which are process-wide, so they hold whichever handlers
    the server (werkzeug's ``tracker run`` or gunicorn, after its logging setup) attaches.
    """
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if _REDACT not in logger.filters:
            logger.addFilter(_REDACT)


def _add_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def init_security(app: Flask) -> None:
    """Headers on every response, redacted access logs, last-seen stamps after the request."""
    from app.auth.tokens import stamp_last_seen

    app.after_request(_add_security_headers)
    app.teardown_request(stamp_last_seen)
    install_log_redaction()


def instance_secret(instance_path: str | os.PathLike[str]) -> str:
    """The secret kept in ``instance/secret_key``, created on first use: mode 0600, atomically.

    The key is written to a private temporary file (mkstemp: 0600 whatever the umask) and
    hard-linked into place, which fails if the file exists: two processes starting at once both
    end up reading the one key that won, never a half-written file.
    """
    path = Path(instance_path) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another process won the race; use its key
        finally:
            os.unlink(tmp)
    key = path.read_text().strip()
    if not key:
        msg = f"{path} is empty; delete it to generate a new key"
        raise RuntimeError(msg)
    return key

