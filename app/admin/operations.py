"""Recording admin actions, and reading the log back; they flush, never commit.

Every change an admin makes, on the ``/admin`` pages or through the ``tracker`` command
(actor ``cli``), is recorded by :func:`record_admin_action` in the same transaction as the
change: both are committed together or not at all. The log is append-only: nothing here
updates or deletes a row.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any

import sqlalchemy as sa

from app.admin.models import AdminAction
from app.db import db
from app.offices.models import Office

log = logging.getLogger(__name__)

CLI_ACTOR = "cli"
# Details never carry a secret: a token or password given by mistake is a bug, refused loudly.
SECRET_WORDS = ("token", "password", "secret", "hash")


def record_admin_action(actor: str, action: str, target: str, *, office: Office | None = None,
                        **details: Any) -> AdminAction:
    """Append one admin action to the log.

    :param actor: the admin's username, or :data:`CLI_ACTOR`.
    :param action: what was done, e.g. ``device.create``.
    :param target: what it was done to, e.g. ``device 3`` or ``user mai``.
    :param office: the office the target belongs to (whose admins see the row).
    :param details: JSON-able facts (str, int, bool, None or lists of them), never a secret.
    :raises ValueError: a detail whose name says it is a secret.
    """
    leaked = [key for key in details if any(word in key.lower() for word in SECRET_WORDS)]
    if leaked:
        msg = f"admin log details may not hold secrets: {', '.join(leaked)}"
        raise ValueError(msg)
    row = AdminAction(actor=actor, action=action, target=target[:200],
                      office_id=office.id if office is not None else None, details=details)
    db.session.add(row)
    db.session.flush()
    log.info("admin action %s on %s by %s", action, target, actor)
    return row


def admin_log(office_ids: Collection[int], *, limit: int = 200) -> list[AdminAction]:
    """The latest admin actions on ``office_ids``' things and on shared ones (procedures,
    all-offices calendar days), newest first."""
    stmt = (sa.select(AdminAction)
            .where(sa.or_(AdminAction.office_id.is_(None),
                          AdminAction.office_id.in_(list(office_ids))))
            .order_by(AdminAction.id.desc()).limit(limit))
    return list(db.session.scalars(stmt))
