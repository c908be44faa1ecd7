"""Bearer-token authentication and the caller's scope for /api/v1."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import g, request

from app.auth.models import ApiToken, Device, Role, User
from app.db import db, utcnow
from app.errors import Forbidden, Unauthorized
from app.offices.models import Office, Station

DEVICE_PREFIX = "trk_dev_"
USER_PREFIX = "trk_usr_"
# Writing last_seen on every scan would add a row lock per request; once a minute is enough.
_TOUCH_INTERVAL = dt.timedelta(seconds=60)

F = TypeVar("F", bound=Callable[..., Any])

log = logging.getLogger(__name__)


def new_token(prefix: str) -> tuple[str, str]:
    """A fresh bearer token and the hash to store; the token itself is shown once."""
    token = prefix + secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class Principal:
    """Who is calling: a staff user or a scanner device, and what they may see."""

    user: User | None = None
    device: Device | None = None
    token_key: str = ""  # the hash of the bearer token: the key of its rate-limit budget

    @property
    def office(self) -> Office:
        owner = self.user or self.device
        assert owner is not None
        return owner.office

    @property
    def office_id(self) -> int:
        owner = self.user or self.device
        assert owner is not None
        return owner.office_id

    @property
    def province_wide(self) -> bool:
        """A province-scoped supervisor or admin; devices are never wider than their office."""
        return (self.user is not None and self.user.province_scope
                and self.user.role in (Role.SUPERVISOR, Role.ADMIN))

    @functools.cached_property
    def office_ids(self) -> frozenset[int]:
        """The caller's home offices: its own, or every office of the province for a
        province-scoped supervisor or admin. Dossiers handed to one of them by a ``send`` or a
        plan step count too (app.tracking.scope)."""
        if not self.province_wide:
            return frozenset({self.office_id})
        ids = db.session.scalars(sa.select(Office.id).where(
            Office.province == self.office.province))
        return frozenset(ids)

    def scan_stations(self) -> list[Station]:
        """Stations this caller may scan at."""
        if self.device is not None:
            return [s for s in self.device.stations if s.active]
        stmt = (sa.select(Station).where(Station.office_id.in_(self.office_ids),
                                         Station.active.is_(True)).order_by(Station.id))
        return list(db.session.scalars(stmt))


def _bearer() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        msg = "Send 'Authorization: Bearer <token>'."
        raise Unauthorized(msg, code="missing_token")
    return token.strip()


def authenticate(token: str) -> Principal:
    """Resolve a bearer token to its user or device.

    Reads only: a stale last-seen stamp is noted for :func:`stamp_last_seen`, which writes it
    after the request in its own short transaction, so a GET never commits.

    :raises Unauthorized: unknown (``invalid_token``), revoked (``revoked_token``) or expired
        (``expired_token``) tokens, and tokens of a deactivated user (``inactive_user``).
    """
    digest = hash_token(token)
    now = utcnow()
    if token.startswith(DEVICE_PREFIX):
        device = db.session.scalars(
            sa.select(Device).where(Device.token_hash == digest)
            .options(sa.orm.joinedload(Device.stations))).unique().one_or_none()
        if device is None:
            raise Unauthorized("This device token is not known.", code="invalid_token")
        if device.revoked_at is not None:
            raise Unauthorized("This device token was revoked.", code="revoked_token")
        if _stale(device.last_seen_at, now):
            g.last_seen_stamp = _Stamp(Device, device.id)
        return Principal(device=device, token_key=digest)
    api_token = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == digest))
    if api_token is None:
        raise Unauthorized("This API token is not known.", code="invalid_token")
    if api_token.revoked_at is not None:
        raise Unauthorized("This API token was revoked.", code="revoked_token")
    if api_token.expires_at <= now:
        msg = "This API token has expired; ask for a new one (tracker user token)."
        raise Unauthorized(msg, code="expired_token")
    if not api_token.user.active:
        raise Unauthorized("This user account is disabled.", code="inactive_user")
    if _stale(api_token.last_used_at, now):
        g.last_seen_stamp = _Stamp(ApiToken, api_token.id)
    return Principal(user=api_token.user, token_key=digest)


@dataclass(frozen=True)
class _Stamp:
    """A device's ``last_seen_at`` or a token's ``last_used_at`` to bring up to date."""

    model: type[Device] | type[ApiToken]
    row_id: int

    def statement(self, now: dt.datetime) -> sa.Update:
        column = (self.model.last_seen_at if self.model is Device
                  else ApiToken.last_used_at)
        # Compare-and-set: of several workers serving one token, one writes per interval.
        return (sa.update(self.model)
                .where(self.model.id == self.row_id,
                       sa.or_(column.is_(None), column <= now - _TOUCH_INTERVAL))
                .values({column: now}))


def _stale(seen: dt.datetime | None, now: dt.datetime) -> bool:
    return seen is None or now - seen > _TOUCH_INTERVAL


def stamp_last_seen(_exc: BaseException | None = None) -> None:
    """After a request: write the caller's last-seen stamp, if due, in its own transaction.

    Registered as a ``teardown_request`` hook. The request's session is closed first (it has
    committed what it meant to; whatever is left is rolled back), so on SQLite, with one
    writer at a time, the stamp never waits on the request's own transaction. A failing stamp
    is bookkeeping lost, never an error for the caller.
    """
    stamp: _Stamp | None = g.pop("last_seen_stamp", None)
    if stamp is None:
        return
    db.session.close()
    try:
        with db.engine.begin() as connection:
            connection.execute(stamp.statement(utcnow()))
    except sa.exc.SQLAlchemyError as exc:
        log.warning("last-seen stamp of %s %s skipped: %s", stamp.model.__name__, stamp.row_id,
                    type(exc).__name__)


def require(*, roles: Iterable[Role] | None = None, devices: bool = False) -> Callable[[F], F]:
    """Protect an API view: a valid token, a device only where ``devices``, a user in ``roles``.

    The token's rate-limit budget is charged by :func:`app.boundary.spec`, which knows what a
    call costs (a scan batch: its events).
    """
    allowed = frozenset(roles) if roles is not None else frozenset(Role)

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = authenticate(_bearer())
            if principal.device is not None and not devices:
                raise Forbidden("Scanner devices may not call this endpoint.")
            if principal.user is not None and principal.user.role not in allowed:
                names = ", ".join(sorted(r.value for r in allowed))
                raise Forbidden(f"This needs one of the roles: {names}.")
            g.principal = principal
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def current_principal() -> Principal:
    return g.principal  # type: ignore[no-any-return]
