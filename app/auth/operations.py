"""Domain verbs for users, tokens and devices; they flush, never commit."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Sequence

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from app.auth.models import ApiToken, Device, Role, User
from app.auth.tokens import DEVICE_PREFIX, USER_PREFIX, new_token
from app.codes import BADGE_SHAPE, badge_card_code
from app.db import db, utcnow
from app.errors import Conflict, DomainError, NotFound, ValidationError
from app.offices.models import Office, Station

log = logging.getLogger(__name__)


def create_user(username: str, full_name: str, role: Role, office: Office, *,
                password: str | None = None, badge: str | None = None,
                province_scope: bool = False) -> User:
    """Add a staff account.

    :raises ValidationError: empty name, a badge no scanner could give back (``bad_badge``),
        a password too short (``short_password``), or province scope on a role that cannot
        have it (``province_scope``).
    :raises Conflict: the username (``username_taken``) or badge (``badge_taken``) is taken.
    """
    username = username.strip().lower()
    if not username or not full_name.strip():
        raise ValidationError("a user needs a username and a full name")
    if province_scope and role not in (Role.SUPERVISOR, Role.ADMIN):
        raise ValidationError("only supervisors and admins can see a whole province",
                              code="province_scope")
    if password is not None:
        _check_password(password)
    if badge:
        _check_badge(badge)
    if db.session.scalar(sa.select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"username {username} is taken", code="username_taken")
    user = User(username=username, full_name=full_name.strip(), role=role, office=office,
                badge=badge, province_scope=province_scope,
                password_hash=generate_password_hash(password) if password else None)
    db.session.add(user)
    db.session.flush()
    log.info("user %s (%s) created", username, role.value)
    return user


MIN_PASSWORD_LENGTH = 8


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        msg = f"a password needs at least {MIN_PASSWORD_LENGTH} characters"
        raise ValidationError(msg, code="short_password")


def _check_badge(badge: str, user: User | None = None) -> None:
    """:raises ValidationError: a badge a card cannot carry; :raises Conflict: taken."""
    try:
        badge_card_code(badge)
    except ValueError as exc:
        raise ValidationError(f"a badge is {BADGE_SHAPE}", code="bad_badge") from exc
    holder = db.session.scalar(sa.select(User).where(User.badge == badge))
    if holder is not None and holder is not user:
        raise Conflict(f"badge {badge} is taken by another user", code="badge_taken")


def set_password(user: User, password: str) -> User:
    """Give ``user`` a new login password; it ends the sessions opened with the old one and
    lifts a lockout.

    :raises ValidationError: a password shorter than :data:`MIN_PASSWORD_LENGTH`.
    """
    _check_password(password)
    user.password_hash = generate_password_hash(password)
    user.failed_logins, user.locked_until = 0, None
    db.session.flush()
    log.warning("password of %s reset", user.username)
    return user


def set_badge(user: User, badge: str | None) -> User:
    """Give ``user`` a badge (the code on the card scanned as the actor), or take it away.

    :raises ValidationError: a badge no scanner could give back (``bad_badge``).
    :raises Conflict: another user has it (``badge_taken``).
    """
    badge = (badge or "").strip() or None
    if badge is not None:
        _check_badge(badge, user)
    user.badge = badge
    db.session.flush()
    log.info("badge of %s %s", user.username, "set" if badge else "removed")
    return user


def get_user(username: str) -> User:
    user = db.session.scalar(sa.select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFound(f"no user {username}")
    return user


class LoginRefused(DomainError):
    """A login the page refuses: ``bad_credentials`` (unknown user, wrong password, inactive
    account: one answer for all, so usernames cannot be probed) or ``locked`` (too many
    failures; ``locked_until`` says until when)."""

    status = 401
    code = "bad_credentials"

    def __init__(self, message: str, *, locked_until: dt.datetime | None = None) -> None:
        super().__init__(message, code="locked" if locked_until else None)
        self.locked_until = locked_until


# Checked against when the username is unknown, so a miss costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not a password")


def check_login(username: str, password: str, *, max_failures: int,
                lockout: dt.timedelta, now: dt.datetime | None = None) -> User:
    """The user ``username`` if ``password`` is theirs and the account may log in now.

    Each wrong password counts; the ``max_failures``-th in a row locks the account for
    ``lockout`` (even the right password is refused until then) and starts the count again.
    A successful login clears the count. Flushes the count: the caller commits it, on failure
    too.

    :raises LoginRefused: ``bad_credentials`` or ``locked``.
    """
    now = now or utcnow()
    user = db.session.scalar(sa.select(User).where(User.username == username.strip().lower()))
    if user is None or user.password_hash is None:
        check_password_hash(_DUMMY_HASH, password)
        raise LoginRefused("wrong username or password")
    if user.locked_until is not None and user.locked_until > now:
        raise LoginRefused(f"user {user.username} is locked", locked_until=user.locked_until)
    if not check_password_hash(user.password_hash, password):
        user.failed_logins += 1
        locked_until = None
        if user.failed_logins >= max_failures:
            user.failed_logins, user.locked_until = 0, now + lockout
            locked_until = user.locked_until
            log.warning("user %s locked until %s after %d failed logins", user.username,
                        locked_until.isoformat(timespec="minutes"), max_failures)
        db.session.flush()
        raise LoginRefused("wrong username or password", locked_until=locked_until)
    if not user.active:
        raise LoginRefused("wrong username or password")
    user.failed_logins, user.locked_until = 0, None
    db.session.flush()
    log.info("user %s logged in", user.username)
    return user


DEFAULT_TOKEN_LIFETIME = dt.timedelta(days=90)
# A personal token longer-lived than this is a token nobody remembers to revoke.
MAX_TOKEN_LIFETIME = dt.timedelta(days=3660)
_LIFETIME = re.compile(r"\s*(\d{1,6})\s*([dh])\s*", re.IGNORECASE)


def parse_lifetime(text: str) -> dt.timedelta:
    """``"90d"`` or ``"12h"`` as a duration.

    :raises ValidationError: another unit, zero, or longer than :data:`MAX_TOKEN_LIFETIME`.
    """
    match = _LIFETIME.fullmatch(text)
    if match is None:
        msg = f"a token lifetime is a number of days or hours, e.g. 90d or 12h, not {text!r}"
        raise ValidationError(msg)
    amount, unit = int(match[1]), match[2].lower()
    lifetime = dt.timedelta(days=amount) if unit == "d" else dt.timedelta(hours=amount)
    if not dt.timedelta(0) < lifetime <= MAX_TOKEN_LIFETIME:
        msg = f"a token lifetime must be more than 0 and at most {MAX_TOKEN_LIFETIME.days} days"
        raise ValidationError(msg)
    return lifetime


def issue_token(user: User, name: str = "", *,
                expires_in: dt.timedelta = DEFAULT_TOKEN_LIFETIME) -> str:
    """A new personal API token for ``user``.

    :param expires_in: how long the token works; it answers ``expired_token`` afterwards.
    :returns: the token, shown once; only its hash is stored.
    :raises ValidationError: the user is deactivated.
    """
    if not user.active:
        msg = f"user {user.username} is deactivated; activate the account first"
        raise ValidationError(msg)
    token, digest = new_token(USER_PREFIX)
    row = ApiToken(user=user, token_hash=digest, name=name, expires_at=utcnow() + expires_in)
    db.session.add(row)
    db.session.flush()
    log.info("API token %s issued to %s, expires %s", row.id, user.username,
             row.expires_at.isoformat(timespec="minutes"))
    return token


def revoke_tokens(user: User) -> int:
    """Revoke every live personal token of ``user``; the next request with one answers 401.

    :returns: how many tokens were revoked.
    """
    now = utcnow()
    tokens = db.session.scalars(sa.select(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)))
    count = 0
    for token in tokens:
        token.revoked_at = now
        count += 1
    log.warning("%d API token(s) of %s revoked", count, user.username)
    return count


def set_user_active(user: User, active: bool) -> User:
    """Deactivate (every request with the user's tokens answers 401 ``inactive_user``) or
    reactivate a staff account; its tokens are kept, so reactivation restores them."""
    if user.active != active:
        user.active = active
        log.warning("user %s %s", user.username, "activated" if active else "deactivated")
    return user


def create_device(name: str, stations: Sequence[Station]) -> tuple[Device, str]:
    """Register a scanner agent bound to ``stations``.

    A scan that names no station is placed at the device's station created first (lowest id).

    :raises ValidationError: no station, or stations of different offices.
    """
    if not stations:
        raise ValidationError("a device needs at least one station", code="device_no_station")
    offices = {s.office_id for s in stations}
    if len(offices) != 1:
        raise ValidationError("a device's stations must belong to one office",
                              code="device_offices")
    token, digest = new_token(DEVICE_PREFIX)
    device = Device(name=name, office_id=stations[0].office_id, token_hash=digest,
                    stations=list(stations))
    db.session.add(device)
    db.session.flush()
    log.info("device %s registered at %s", device.id, stations[0].code)
    return device, token


def revoke_device(device_id: int) -> Device:
    device = db.session.get(Device, device_id)
    if device is None:
        raise NotFound(f"no device {device_id}")
    if device.revoked_at is None:
        device.revoked_at = utcnow()
        log.warning("device %s revoked", device_id)
    return device
