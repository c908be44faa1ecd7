"""Unbound extensions, bound to the app in create_app, and the rate limits built on them.

Three limits, each configurable (``app/config.py``):

- the public lookup: ONE budget per client address, shared by ``GET /api/v1/lookup/<code>``
  and the HTML page ``/lookup/<code>`` (``LOOKUP_RATE_LIMIT``);
- every authenticated call, per bearer token (its hash, not the caller's address, so an
  office behind one NAT address is not one budget): a scan batch or a bulk label request
  costs one per item, so a stolen device token cannot try codes by the thousand in one
  request (``TOKEN_RATE_LIMIT``);
- authenticated reads, per bearer token: each read of a dossier by code is a guess when the
  token is stolen (``TOKEN_READ_RATE_LIMIT``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

F = TypeVar("F", bound=Callable[..., Any])

limiter = Limiter(key_func=get_remote_address, default_limits=[])

# A batch counts as many items as it carries, up to a bound far above any accepted batch.
_MAX_COST = 10_000


def _config(key: str) -> Callable[[], str]:
    return lambda: str(current_app.config[key])


def _token_key() -> str:
    """The bearer token's hash; the client address when no token is sent."""
    from app.auth.tokens import hash_token

    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return f"address:{get_remote_address()}"
    return f"token:{hash_token(token.strip())}"


def _items_in_request() -> int:
    """How many scan events (or dossiers, for bulk labels) a POST carries; 1 otherwise."""
    if request.method != "POST":
        return 1
    try:
        body = request.get_json(force=True, silent=True)
    except RecursionError:  # a deeply nested body: the view answers it with a 400
        return 1
    if isinstance(body, dict):
        for key in ("events", "dossiers"):
            items = body.get(key)
            if isinstance(items, list):
                return max(1, min(len(items), _MAX_COST))
    return 1


def _not_a_read() -> bool:
    return request.method not in ("GET", "HEAD")


lookup_limit = limiter.shared_limit(_config("LOOKUP_RATE_LIMIT"), scope="public-lookup")
_token_limit = limiter.shared_limit(_config("TOKEN_RATE_LIMIT"), scope="token",
                                    key_func=_token_key, cost=_items_in_request)
_token_read_limit = limiter.shared_limit(_config("TOKEN_READ_RATE_LIMIT"), scope="token-read",
                                         key_func=_token_key, exempt_when=_not_a_read)


def token_limits(view: F) -> F:
    """Apply the per-token limits to an authenticated view (``require`` does it)."""
    return _token_read_limit(_token_limit(view))  # type: ignore[return-value]
