"""Domain verbs for users, tokens and devices; they flush, never commit."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from app.auth.models import ApiToken, Device, Role, User
from app.auth.tokens import DEVICE_PREFIX, USER_PREFIX, new_token
from app.db import db, utcnow
from app.errors import Conflict, NotFound, ValidationError
from app.offices.models import Office, Station

log = logging.getLogger(__name__)


def create_user(username: str, full_name: str, role: Role, office: Office, *,
                password: str | None = None, badge: str | None = None,
                province_scope: bool = False) -> User:
    """Add a staff account.

    :raises ValidationError: empty name, or province scope on a role that cannot have it.
    :raises Conflict: the username or badge is taken.
    """
    username = username.strip().lower()
    if not username or not full_name.strip():
        raise ValidationError("a user needs a username and a full name")
    if province_scope and role not in (Role.SUPERVISOR, Role.ADMIN):
        raise ValidationError("only supervisors and admins can see a whole province")
    taken = db.session.scalar(sa.select(User.id).where(
        sa.or_(User.username == username, User.badge == badge) if badge
        else User.username == username))
    if taken is not None:
        raise Conflict(f"username {username} or badge {badge} is taken")
    user = User(username=username, full_name=full_name.strip(), role=role, office=office,
                badge=badge, province_scope=province_scope,
                password_hash=generate_password_hash(password) if password else None)
    db.session.add(user)
    db.session.flush()
    log.info("user %s (%s) created", username, role.value)
    return user


def get_user(username: str) -> User:
    user = db.session.scalar(sa.select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFound(f"no user {username}")
    return user


def issue_token(user: User, name: str = "") -> str:
    """A new personal API token for ``user``; returns the token, which is not stored."""
    token, digest = new_token(USER_PREFIX)
    db.session.add(ApiToken(user=user, token_hash=digest, name=name))
    db.session.flush()
    log.info("API token issued to %s", user.username)
    return token


def create_device(name: str, stations: Sequence[Station]) -> tuple[Device, str]:
    """Register a scanner agent bound to ``stations``.

    A scan that names no station is placed at the device's station created first (lowest id).

    :raises ValidationError: no station, or stations of different offices.
    """
    if not stations:
        raise ValidationError("a device needs at least one station")
    offices = {s.office_id for s in stations}
    if len(offices) != 1:
        raise ValidationError("a device's stations must belong to one office")
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
