"""Asking a station's agent to print, handing the jobs to the agent, and its report back.

Operations flush, never commit: the view commits once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa
from flask import current_app

from app.auth.models import Device, device_station
from app.auth.tokens import Principal
from app.db import db, utcnow
from app.errors import Conflict, NotFound
from app.offices.models import Station
from app.printjobs.models import PrintJob, PrintKind
from app.tracking.models import Dossier
from app.tracking.scope import in_scope

MAX_PENDING = 20
"""Jobs handed to an agent per poll; the rest come on the next one."""

Status = Literal["pending", "printed", "failed", "expired"]


@dataclass(frozen=True)
class PrintRequest:
    """Print ``copies`` of ``dossier``'s label on ``device``'s printer, or on the printer of
    the one device bound to ``station``."""

    dossier: Dossier
    device_id: int | None = None
    station_code: str | None = None
    copies: int = 1
    kind: PrintKind = PrintKind.LABEL


def max_age() -> dt.timedelta:
    """How long a job waits for its agent: a label printed an hour late at an empty counter
    is worse than none, so old jobs are dropped and the counter asks again."""
    return dt.timedelta(minutes=float(current_app.config["PRINT_JOB_MAX_AGE_MINUTES"]))


def status(job: PrintJob, now: dt.datetime) -> Status:
    if job.printed_at is not None:
        return "printed"
    if job.failed_at is not None:
        return "failed"
    return "expired" if job.created_at < now - max_age() else "pending"


def target_device(request: PrintRequest, principal: Principal) -> tuple[Device, Station | None]:
    """The device named, or the one live device bound to the station named, of the caller's
    offices. The counter page (issue 11) asks it whether its station can print before it
    offers "in nhãn" straight to the thermal printer.

    :raises NotFound: no such device or station in the caller's offices (another office's
        look the same as unknown ones).
    :raises Conflict: a station with no device (``no_print_device``) or with several
        (``ambiguous_print_device``: name the device).
    """
    offices = principal.office_ids
    if request.device_id is not None:
        device = db.session.get(Device, request.device_id)
        if device is None or device.office_id not in offices or device.revoked_at is not None:
            msg = f"no device {request.device_id} in your office"
            raise NotFound(msg)
        return device, None
    code = (request.station_code or "").strip().upper()
    station = db.session.scalar(sa.select(Station).where(
        Station.code == code, Station.office_id.in_(offices), Station.active.is_(True)))
    if station is None:
        msg = f"no station {code[:32]} in your office"
        raise NotFound(msg)
    devices = list(db.session.scalars(
        sa.select(Device).join(device_station, device_station.c.device_id == Device.id)
        .where(device_station.c.station_id == station.id, Device.revoked_at.is_(None))
        .order_by(Device.id)))
    if not devices:
        msg = f"no scanner agent is bound to station {station.code}: nothing can print there"
        raise Conflict(msg, code="no_print_device")
    if len(devices) > 1:
        names = ", ".join(f"{d.id} ({d.name})" for d in devices)
        msg = f"several devices serve station {station.code}: name one of {names}"
        raise Conflict(msg, code="ambiguous_print_device")
    return devices[0], station


def request_print(request: PrintRequest, principal: Principal) -> PrintJob:
    """Queue a print job for a device of the caller's office.

    The caller's scope over the dossier is checked by the view (it resolved the dossier);
    here the device must be able to read the dossier's label with its own token.

    :raises NotFound: an unknown device or station, or one of another office.
    :raises Conflict: see :func:`target_device`; ``not_in_device_scope`` when the device's
        office may not read the dossier.
    """
    device, station = target_device(request, principal)
    if not in_scope(Principal(device=device), request.dossier):
        msg = f"device {device.id} ({device.name}) may not read this dossier's label"
        raise Conflict(msg, code="not_in_device_scope")
    assert principal.user is not None
    job = PrintJob(dossier=request.dossier, kind=request.kind, copies=request.copies,
                   device=device, station=station, created_by=principal.user,
                   created_at=utcnow())
    db.session.add(job)
    db.session.flush()
    return job


def pending_jobs(device: Device, now: dt.datetime) -> list[PrintJob]:
    """The device's jobs still to print, oldest first, leaving out expired ones."""
    return list(db.session.scalars(
        sa.select(PrintJob).where(PrintJob.device_id == device.id,
                                  PrintJob.printed_at.is_(None), PrintJob.failed_at.is_(None),
                                  PrintJob.created_at >= now - max_age())
        .options(sa.orm.joinedload(PrintJob.dossier))
        .order_by(PrintJob.id).limit(MAX_PENDING)))


def jobs_of(dossier: Dossier, limit: int = 20) -> list[PrintJob]:
    """The dossier's latest print jobs, newest first."""
    return list(db.session.scalars(
        sa.select(PrintJob).where(PrintJob.dossier_id == dossier.id)
        .options(sa.orm.joinedload(PrintJob.device), sa.orm.joinedload(PrintJob.station))
        .order_by(PrintJob.id.desc()).limit(limit)))


def finish_job(job_id: int, device: Device, printed: bool, error: str | None) -> PrintJob:
    """Record the device's report on one of its jobs; the same report again changes nothing.

    :raises NotFound: no such job for this device.
    :raises Conflict: ``already_finished`` when the job was reported the other way before.
    """
    job = db.session.get(PrintJob, job_id)
    if job is None or job.device_id != device.id:
        msg = f"no print job {job_id} for this device"
        raise NotFound(msg)
    if job.finished_at is not None:
        if (job.printed_at is not None) != printed:
            msg = f"print job {job_id} was already reported " + (
                "printed" if job.printed_at else "failed")
            raise Conflict(msg, code="already_finished")
        return job
    now = utcnow()
    if printed:
        job.printed_at = now
    else:
        job.failed_at = now
        job.error = (error or "failed")[:500]
    db.session.flush()
    return job
