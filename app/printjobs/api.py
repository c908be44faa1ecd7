"""Print jobs over /api/v1 (thin): staff queue a label for a station's agent, the agent fetches
its jobs and reports each one printed or failed.

A device reads only what it prints: the dossier's codes and the label links, nothing personal.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import pydantic
from flask import Blueprint, Flask, jsonify, url_for
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, ConfigDict, Field

from app.auth.models import Role
from app.auth.tokens import current_principal
from app.boundary import spec, staff
from app.db import commit_with_retry, utcnow
from app.offices.operations import calendar_for
from app.printjobs import operations as jobs
from app.printjobs.models import PrintJob, PrintKind
from app.tracking import operations as tracking
from app.tracking.read_models import OfficeTime, ReadModel
from app.tracking.schemas import Code, Note

bp = Blueprint("print_jobs", __name__, url_prefix="/api/v1")

# Whoever registers a dossier at the counter may send its label to the counter's printer.
PRINT_ROLES = (Role.RECEPTION, Role.ADMIN)


def register(app: Flask) -> None:
    app.register_blueprint(bp)


# --- requests ---------------------------------------------------------------------------------

class PrintJobIn(BaseModel):
    """Where to print: a device of your office, or a station served by exactly one device."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    device: Annotated[int, pydantic.Strict(), Field(ge=1)] | None = Field(
        None, description="Id of the device (scanner agent) whose printer prints")
    station: Code | None = Field(None, description="Station code, e.g. the counter's")
    copies: Annotated[int, pydantic.Strict(), Field(ge=1, le=20)] = 1
    kind: Literal["label"] = Field("label", description=(
        "Only the label: the receipt carries personal data and is never sent to a device"))

    @pydantic.model_validator(mode="after")
    def _one_target(self) -> PrintJobIn:
        if (self.device is None) == (self.station is None):
            msg = "give either device or station"
            raise ValueError(msg)
        return self


class PrintJobResultIn(BaseModel):
    """What the agent did with a job."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    status: Literal["printed", "failed"]
    error: Note | None = Field(None, description="Why it failed (printer unreachable, ...)")


# --- read models ------------------------------------------------------------------------------

def _local(value: dt.datetime, job: PrintJob) -> dt.datetime:
    return value.astimezone(calendar_for(job.dossier.receiving_office).tz)


class PrintLinks(ReadModel):
    label_zpl: str
    label_pdf: str


class DevicePrintJob(ReadModel):
    """A job as its device reads it: which label, how many; nothing personal."""

    id: int
    kind: Literal["label"]
    copies: int
    code: str
    tracking_number: str
    created_at: OfficeTime
    links: PrintLinks

    @classmethod
    def of(cls, job: PrintJob) -> DevicePrintJob:
        code = job.dossier.code
        return cls(id=job.id, kind="label", copies=job.copies, code=code,
                   tracking_number=job.dossier.tracking_number,
                   created_at=_local(job.created_at, job),
                   links=PrintLinks(
                       label_zpl=url_for("api.dossier_label_zpl", reference=code),
                       label_pdf=url_for("api.dossier_label_pdf", reference=code)))


class DevicePrintJobs(ReadModel):
    jobs: list[DevicePrintJob]


class StaffPrintJob(ReadModel):
    """A job as staff follow it at the counter."""

    id: int
    kind: Literal["label"]
    copies: int
    code: str
    station: str | None
    device: int
    device_name: str
    status: jobs.Status
    created_at: OfficeTime
    created_by: str
    finished_at: OfficeTime | None
    error: str | None

    @classmethod
    def of(cls, job: PrintJob, now: dt.datetime) -> StaffPrintJob:
        return cls(id=job.id, kind="label", copies=job.copies, code=job.dossier.code,
                   station=job.station.code if job.station else None, device=job.device_id,
                   device_name=job.device.name, status=jobs.status(job, now),
                   created_at=_local(job.created_at, job), created_by=job.created_by.full_name,
                   finished_at=_local(job.finished_at, job) if job.finished_at else None,
                   error=job.error)


class StaffPrintJobs(ReadModel):
    jobs: list[StaffPrintJob]


# --- routes -----------------------------------------------------------------------------------

@bp.post("/dossiers/<reference>/print-jobs")
@spec(body=PrintJobIn, responses={201: StaffPrintJob}, security=staff(PRINT_ROLES),
      errors=(409,))
def create_print_job(reference: str, body: PrintJobIn) -> ResponseReturnValue:
    """Ask a station's scanner agent to print the dossier's label on its printer.

    The dossier must be in your scope, the device (or the one device serving the station) of
    your office; the agent prints within its poll interval.
    """
    principal = current_principal()

    def work() -> dict[str, object]:
        dossier = tracking.resolve_dossier(reference, principal)
        job = jobs.request_print(jobs.PrintRequest(
            dossier=dossier, device_id=body.device, station_code=body.station,
            copies=body.copies, kind=PrintKind(body.kind)), principal)
        return StaffPrintJob.of(job, utcnow()).to_json()

    return jsonify(commit_with_retry(work)), 201


@bp.get("/dossiers/<reference>/print-jobs")
@spec(responses={200: StaffPrintJobs}, security=staff(PRINT_ROLES))
def list_print_jobs(reference: str) -> ResponseReturnValue:
    """The dossier's latest print jobs and whether they printed."""
    dossier = tracking.resolve_dossier(reference, current_principal())
    now = utcnow()
    return jsonify(StaffPrintJobs(
        jobs=[StaffPrintJob.of(j, now) for j in jobs.jobs_of(dossier)]).to_json())


@bp.get("/devices/me/print-jobs")
@spec(responses={200: DevicePrintJobs}, security=staff((), devices=True))
def my_print_jobs() -> ResponseReturnValue:
    """The calling device's jobs still to print, oldest first (at most 20 a call)."""
    device = current_principal().device
    assert device is not None
    pending = jobs.pending_jobs(device, utcnow())
    return jsonify(DevicePrintJobs(jobs=[DevicePrintJob.of(j) for j in pending]).to_json())


@bp.post("/devices/me/print-jobs/<int:job_id>")
@spec(body=PrintJobResultIn, responses={200: DevicePrintJob}, security=staff((), devices=True),
      errors=(409,))
def finish_print_job(job_id: int, body: PrintJobResultIn) -> ResponseReturnValue:
    """Report a job printed or failed (a repeated report is answered the same)."""
    device = current_principal().device
    assert device is not None
    return jsonify(commit_with_retry(lambda: DevicePrintJob.of(
        jobs.finish_job(job_id, device, body.status == "printed", body.error)).to_json()))
