"""Unbound extensions, bound to the app in create_app, and the rate limits built on them.

Three limits, each configurable (``app/config.py``):

- the public lookup: ONE budget per client address, shared by ``GET /api/v1/lookup/<code>``
  and the HTML pages ``/lookup/<code>`` and ``/kiosk/lookup`` (``LOOKUP_RATE_LIMIT``; the
  kiosk's live poll is free while it is answered 304);
- every authenticated call, per bearer token (its hash, not the caller's address, so an
  office behind one NAT address is not one budget): a scan batch or a bulk label request
  costs one per item, so a stolen device token cannot try codes by the thousand in one
  request (``TOKEN_RATE_LIMIT``);
- authenticated reads, per bearer token: each read of a dossier by code is a guess when the
  token is stolen (``TOKEN_READ_RATE_LIMIT``).
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable

from flask import Response, current_app, request
from flask_limiter import Limiter, RouteLimit
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse_many

from app.errors import DomainError

limiter = Limiter(key_func=get_remote_address, default_limits=[])


def _config(key: str) -> Callable[[], str]:
    return lambda: str(current_app.config[key])


lookup_limit = limiter.shared_limit(_config("LOOKUP_RATE_LIMIT"), scope="public-lookup")


def lookup_limit_except(exempt: Callable[[], bool]) -> RouteLimit:
    """The same public lookup budget, not spent by the requests ``exempt`` says cost nothing
    (the kiosk's poll answered 304: it shows nothing)."""
    return limiter.shared_limit(_config("LOOKUP_RATE_LIMIT"), scope="public-lookup",
                                exempt_when=exempt)


class TooManyRequests(DomainError):
    """A token's budget is spent (429 ``too_many_requests`` with ``Retry-After``)."""

    status = 429
    code = "too_many_requests"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.headers["Retry-After"] = str(retry_after)


@functools.lru_cache(maxsize=16)
def _parsed(spec: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(spec))


class LocalBudgets:
    """Sliding-window counters kept in this process (``RATELIMIT_STORAGE_URI`` memory://).

    The ``limits`` memory storage starts a timer thread to expire keys on nearly every hit,
    which costs more than the rest of a scan's rate check; here a key's two windows are
    rolled forward when it is next used, and stale keys are dropped now and then.
    """

    _PRUNE_AT = 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, float, float]] = {}  # key → (window, prev, current)

    def spend(self, key: str, item: RateLimitItem, cost: int) -> int | None:
        """Spend ``cost`` of ``item``'s budget for ``key``: None, or the seconds to wait
        when the budget would be exceeded (nothing is spent then)."""
        seconds = item.get_expiry()
        window, into = divmod(time.time(), seconds)
        now = int(window)
        with self._lock:
            index, previous, current = self._windows.get(key, (now, 0.0, 0.0))
            if index < now:
                previous, current = (current if index == now - 1 else 0.0), 0.0
            if previous * (seconds - into) / seconds + current + cost > item.amount:
                self._windows[key] = (now, previous, current)
                return max(1, int(seconds - into))
            self._windows[key] = (now, previous, current + cost)
            if len(self._windows) > self._PRUNE_AT:
                self._windows = {k: v for k, v in self._windows.items() if v[0] >= now - 1}
        return None


def _spend(scope: str, key: str, item: RateLimitItem, cost: int) -> int | None:
    if str(current_app.config["RATELIMIT_STORAGE_URI"]).startswith("memory"):
        local: LocalBudgets = current_app.extensions.setdefault("tracker.budgets",
                                                                LocalBudgets())
        return local.spend(f"{scope}/{item}/{key}", item, cost)
    strategy = limiter.limiter  # a shared store (Redis): one budget for every worker
    if strategy.hit(item, scope, key, cost=cost):
        return None
    reset = strategy.get_window_stats(item, scope, key).reset_time
    return max(1, int(reset - time.time()))


def charge_token(token_key: str, cost: int = 1) -> None:
    """Count ``cost`` calls against a token's budget, after it was authenticated.

    Checked here rather than as a Flask-Limiter decorator: one check per configured limit,
    keyed by the token (never by a bogus one), and the cost of a scan batch comes from its
    validated body instead of a second parse of the raw one. GET requests count against the
    read budget too.

    :raises TooManyRequests: the budget of this window is spent; ``Retry-After`` says when
        the next call is let in.
    """
    if not limiter.enabled or cost <= 0:
        return
    budgets = [("token", current_app.config["TOKEN_RATE_LIMIT"], cost)]
    if request.method in ("GET", "HEAD"):
        budgets.append(("token-read", current_app.config["TOKEN_READ_RATE_LIMIT"], 1))
    for scope, spec, amount in budgets:
        for item in _parsed(str(spec)):
            wait = _spend(scope, token_key, item, amount)
            if wait is not None:
                msg = f"Too many requests with this token ({item}); retry in {wait} s."
                raise TooManyRequests(msg, wait)


def _failed_login(response: Response) -> bool:
    return response.status_code == 401


# Failed logins per client address, whatever account they try (the per-account lockout is in
# app.auth.operations.check_login); a successful login costs nothing.
login_limit = limiter.limit(_config("LOGIN_RATE_LIMIT"), methods=["POST"],
                            deduct_when=_failed_login, scope="login")
