"""Domain verbs for the desk's notices to the citizen (Mẫu 02, 03, 04); they flush, never commit.

A supplement request is also the ``request_supplement`` scan that pauses the clock, recorded
through the scan ingest when the dossier is not paused already. An apology moves the dossier's
appointment (``due_at``) to the new date and keeps ``base_due_at``, the first appointment, so
the receipt reprint shows both. A refusal is recorded as a notice only: the ``refused`` scan
action (national status 3) belongs to the fold, and the integrator links the two.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa

from app.auth.models import Role
from app.auth.tokens import Principal
from app.db import db, utcnow
from app.errors import Conflict, NotFound, ValidationError
from app.offices.models import StationKind
from app.tracking import operations as ops
from app.tracking.codes import parse_reference
from app.tracking.models import (
    Dossier,
    DossierNotice,
    DossierStatus,
    NoticeKind,
    ScanAction,
)

log = logging.getLogger(__name__)

PaperKind = Literal["original", "certified", "photo"]

# Who issues each notice: Mẫu 02 and 03 are the desk's; an apology (Mẫu 04) is signed by the
# head of the agency, so a leader may issue it too. The API and the CLI both apply this.
ISSUERS: dict[NoticeKind, frozenset[Role]] = {
    NoticeKind.SUPPLEMENT_REQUEST: frozenset({Role.RECEPTION, Role.ADMIN}),
    NoticeKind.REFUSAL: frozenset({Role.RECEPTION, Role.ADMIN}),
    NoticeKind.APOLOGY: frozenset({Role.RECEPTION, Role.LEADER, Role.ADMIN}),
}

# A request, a refusal or an apology makes no sense once the file has left the office.
_FINISHED = frozenset({DossierStatus.PROCESSED, DossierStatus.RETURNED,
                       DossierStatus.WITHDRAWN, DossierStatus.STOPPED})


@dataclass(frozen=True)
class MissingPaper:
    """One paper a supplement request asks for, and which copy (Mẫu 02's three columns)."""

    name: str
    kind: PaperKind = "original"


def _check_open(dossier: Dossier, what: str, also: frozenset[DossierStatus] = frozenset()) -> None:
    if dossier.status in _FINISHED | also:
        msg = (f"{dossier.code} is {dossier.status.name.lower()} "
               f"({dossier.status.label}): no {what} any more")
        raise Conflict(msg, code="dossier_closed")


def _notice(dossier: Dossier, kind: NoticeKind, principal: Principal, reason: str,
            **fields: object) -> DossierNotice:
    notice = DossierNotice(dossier=dossier, dossier_id=dossier.id, kind=kind, reason=reason,
                           issued_at=utcnow(), issued_by=principal.user, **fields)
    db.session.add(notice)
    db.session.flush()
    log.info("dossier %s: notice %s issued", dossier.code, kind.value)
    return notice


def request_supplement(dossier: Dossier, principal: Principal, items: Sequence[MissingPaper],
                       reason: str) -> DossierNotice:
    """Record a supplement request (Mẫu 02) and pause the dossier's clock.

    Unless the dossier already waits for a supplement, a ``request_supplement`` scan is
    recorded at the caller's reception station (else their first station), with the reason as
    its note, through the scan ingest (scope, action table and fold as any scan).

    :param items: the papers to add or complete, at least one.
    :raises Conflict: the dossier is finished (``dossier_closed``), or the scan was refused
        (``scan_refused``: the caller may not request a supplement).
    :raises ValidationError: no paper named.
    """
    if not items:
        raise ValidationError("name at least one paper to add or complete")
    _check_open(dossier, "supplement request")
    if dossier.status is not DossierStatus.SUPPLEMENT_REQUESTED:
        _scan(dossier, principal, ScanAction.REQUEST_SUPPLEMENT, reason)
    return _notice(dossier, NoticeKind.SUPPLEMENT_REQUEST, principal, reason,
                   items=[{"name": i.name, "kind": i.kind} for i in items])


def record_refusal(dossier: Dossier, principal: Principal, reason: str) -> DossierNotice:
    """Record why the desk does not accept the dossier (Mẫu 03), and the ``refused`` scan that
    closes it (status 3 "Không được tiếp nhận") unless the desk scanned it already.

    :raises Conflict: the dossier is being processed or finished (``dossier_closed``), or the
        caller may not post the ``refused`` scan (``scan_refused``).
    """
    _check_open(dossier, "refusal", frozenset({DossierStatus.IN_PROGRESS}))
    if dossier.status is not DossierStatus.NOT_ACCEPTED:
        _scan(dossier, principal, ScanAction.REFUSED, reason)
    return _notice(dossier, NoticeKind.REFUSAL, principal, reason)


def apologize(dossier: Dossier, principal: Principal, reason: str,
              new_due_at: dt.datetime) -> DossierNotice:
    """Record an apology and a new appointment (Mẫu 04); the dossier's ``due_at`` moves to it.

    ``base_due_at`` keeps the first appointment. A supplement wait that ends later moves the
    new appointment by its working time, as it moved the first one.

    :raises Conflict: the dossier is finished (``dossier_closed``).
    :raises ValidationError: the new appointment is not later than the current one.
    """
    _check_open(dossier, "apology")
    if new_due_at <= dossier.due_at:
        msg = "the new appointment must be later than the current one"
        raise ValidationError(msg, details=[{"field": "new_due_at", "type": "too_early",
                                             "message": msg}])
    notice = _notice(dossier, NoticeKind.APOLOGY, principal, reason,
                     previous_due_at=dossier.due_at, new_due_at=new_due_at,
                     paused_hours_at=dossier.paused_hours)
    dossier.due_at = new_due_at
    db.session.flush()
    return notice


def latest_notice(dossier: Dossier, kind: NoticeKind) -> DossierNotice:
    """The dossier's last notice of ``kind``, to reprint.

    :raises NotFound: none was issued.
    """
    notice = db.session.scalar(
        sa.select(DossierNotice).where(DossierNotice.dossier_id == dossier.id,
                                       DossierNotice.kind == kind)
        .order_by(DossierNotice.id.desc()).limit(1))
    if notice is None:
        raise NotFound(f"no Mẫu {kind.value} was issued for {dossier.code}")
    return notice


def _scan(dossier: Dossier, principal: Principal, action: ScanAction, note: str) -> None:
    stations = principal.scan_stations()
    station = next((s for s in stations if s.kind is StationKind.RECEPTION), None) \
        or next(iter(stations), None)
    now = utcnow()
    command = ops.ScanCommand(
        id=uuid.uuid4(), ref=parse_reference(dossier.code), code_raw=dossier.code,
        scanned_at=now, sent_at=None, station_code=station.code if station else None,
        action=action, note=note[:500])
    [result] = ops.ingest_scans(principal, [command])
    if result.status != "accepted":
        msg = f"the {action.value} scan was refused: {result.message}"
        raise Conflict(msg, code="scan_refused")
