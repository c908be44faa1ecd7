"""Which scan actions a caller may post: one table, overridable from the app config.

A device is judged by the kind of the station the scan is made at (a device bound to a
reception counter and a department desk may ``receive`` at the counter only); a staff user by
their role. Nobody scans a citizen's withdrawal or a stop through a device: those are decisions
a reception officer or a leader takes, so they need a personal token.

Override rows with ``ACTION_PERMISSIONS`` (env ``FLASK_ACTION_PERMISSIONS`` as JSON)::

    {"stations": {"department": ["transfer_in", "send", "request_supplement"]},
     "roles": {"specialist": ["transfer_in", "send", "result_ready"]}}

Keys are station kinds (``reception``, ``department``, ``leader``, ``return``, ``archive``,
``agency``) and roles (``reception``, ``specialist``, ``leader``, ``supervisor``, ``admin``);
a row given replaces that row of the defaults, rows not given keep theirs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app

from app.auth.models import Role
from app.offices.models import StationKind
from app.tracking.models import ScanAction

A = ScanAction

# Who may use which part of the product: the API (``@spec(security=staff(...))``) and the
# pages (``@staff_page(...)``) both take their roles from here, so a role refused by one is
# refused by the other.
INTAKE_ROLES = frozenset({Role.RECEPTION, Role.ADMIN})
# The receipt carries the applicant's data and the lookup secret: reprinted by reception only.
RECEIPT_ROLES = frozenset({Role.RECEPTION, Role.ADMIN})
SUPERVISION_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
# Those who hold files: the work queue (what I hold, what is late or due soon, what comes).
QUEUE_ROLES = frozenset({Role.RECEPTION, Role.SPECIALIST, Role.LEADER, Role.ADMIN})
STAFF_ROLES = frozenset(Role)
# Offices, stations, procedures, the calendar, users and devices (the /admin pages).
ADMIN_ROLES = frozenset({Role.ADMIN})


def _values(*actions: ScanAction) -> frozenset[str]:
    return frozenset(action.value for action in actions)


# The table holds action names (the API's and ACTION_PERMISSIONS' words), taken from ScanAction.
ALL_ACTIONS = _values(*ScanAction)
_MOVE = _values(A.TRANSFER_IN, A.SEND)
# Waiting for the citizen: asking for papers or a payment, and taking them in.
_SUPPLEMENTS = _values(A.REQUEST_SUPPLEMENT, A.SUPPLEMENT_RECEIVED, A.REQUEST_PAYMENT,
                       A.PAYMENT_RECEIVED)

# Scanner devices, by the kind of the station the scan is made at.
STATION_DEFAULTS: dict[StationKind, frozenset[str]] = {
    # Refusal (status 3) is the desk's decision, made at the desk.
    StationKind.RECEPTION: _MOVE | _SUPPLEMENTS | _values(A.RECEIVE, A.RETURNED, A.REFUSED),
    StationKind.DEPARTMENT: _MOVE | _values(A.RESULT_READY),
    StationKind.LEADER: _MOVE | _values(A.RESULT_READY),
    StationKind.RETURN: _MOVE | _SUPPLEMENTS | _values(A.RESULT_READY, A.RETURNED),
    StationKind.ARCHIVE: _MOVE,
    StationKind.AGENCY: _MOVE,
}

# Staff with a personal token, by role.
ROLE_DEFAULTS: dict[Role, frozenset[str]] = {
    Role.RECEPTION: _MOVE | _SUPPLEMENTS | _values(
        A.RECEIVE, A.RESULT_READY, A.RETURNED, A.WITHDRAWN, A.STOPPED, A.REFUSED),
    Role.SPECIALIST: _MOVE | _SUPPLEMENTS | _values(A.RESULT_READY),
    Role.LEADER: _MOVE | _values(A.RESULT_READY, A.WITHDRAWN, A.STOPPED),
    Role.SUPERVISOR: _MOVE,
    Role.ADMIN: ALL_ACTIONS,
}


@dataclass(frozen=True)
class ActionTable:
    """Allowed actions per station kind (devices) and per role (users)."""

    stations: Mapping[StationKind, frozenset[str]]
    roles: Mapping[Role, frozenset[str]]

    def device_may(self, kind: StationKind, action: str) -> bool:
        return action in self.stations.get(kind, frozenset())

    def user_may(self, role: Role, action: str) -> bool:
        return action in self.roles.get(role, frozenset())

    def allowed(self, role: Role | None, kind: StationKind) -> frozenset[str]:
        """What a caller may scan at a station of ``kind``: a user by ``role``, a device
        (``role`` ``None``) by the station's kind."""
        if role is not None:
            return self.roles.get(role, frozenset())
        return self.stations.get(kind, frozenset())


def _actions(where: str, values: Any) -> frozenset[str]:
    if not isinstance(values, list | tuple | set | frozenset) or not all(
            isinstance(v, str) for v in values):
        msg = f"ACTION_PERMISSIONS {where}: give a list of action names"
        raise ValueError(msg)
    unknown = set(values) - ALL_ACTIONS
    if unknown:
        msg = f"ACTION_PERMISSIONS {where}: unknown actions {', '.join(sorted(unknown))}"
        raise ValueError(msg)
    return frozenset(values)


def _rows(overrides: Any, key: str, names: Mapping[str, Any], where: str) -> dict[Any, Any]:
    section = overrides.get(key, {}) if isinstance(overrides, Mapping) else None
    if not isinstance(section, Mapping):
        msg = f"ACTION_PERMISSIONS: {key} must map {where} names to lists of actions"
        raise ValueError(msg)
    rows = {}
    for name, values in section.items():
        member = names.get(str(name).lower())
        if member is None:
            msg = f"ACTION_PERMISSIONS: unknown {where} {name!r}"
            raise ValueError(msg)
        rows[member] = _actions(f"{key}.{name}", values)
    return rows


def build_table(overrides: Mapping[str, Any] | None = None) -> ActionTable:
    """The defaults with ``overrides`` applied row by row.

    :raises ValueError: an unknown station kind, role or action in ``overrides``.
    """
    overrides = overrides or {}
    kinds = {k.name.lower(): k for k in StationKind}
    roles = {r.value: r for r in Role}
    return ActionTable(
        stations=STATION_DEFAULTS | _rows(overrides, "stations", kinds, "station kind"),
        roles=ROLE_DEFAULTS | _rows(overrides, "roles", roles, "role"))


def action_table() -> ActionTable:
    """The app's table, built once from ``ACTION_PERMISSIONS``."""
    table: ActionTable | None = current_app.extensions.get("tracker.actions")
    if table is None:
        table = build_table(current_app.config.get("ACTION_PERMISSIONS"))
        current_app.extensions["tracker.actions"] = table
    return table


def describe(table: ActionTable) -> Iterable[tuple[str, str, list[str]]]:
    """The table as rows (``device``/``user``, kind or role, sorted actions), for docs and CLI."""
    for kind, actions in table.stations.items():
        yield "device", kind.name.lower(), sorted(actions)
    for role, actions in table.roles.items():
        yield "user", role.value, sorted(actions)
