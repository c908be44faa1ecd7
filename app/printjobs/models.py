"""PrintJob: a label to print on a device's printer, and what became of it."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import Device, User
from app.db import Base, created_at, intpk
from app.offices.models import Station
from app.tracking.models import Dossier


class PrintKind(enum.Enum):
    """What a device may be asked to print. Only the label: it carries the codes, the
    procedure, the dates and the office, nothing personal. The receipt (Mẫu 01) names the
    applicant and carries the lookup secret, so it never passes through a device."""

    LABEL = "label"


class PrintJob(Base):
    """A request to print a dossier's label on one device's printer.

    Pending until the device reports it printed (``printed_at``) or failed (``failed_at`` and
    ``error``); a pending job older than ``PRINT_JOB_MAX_AGE_MINUTES`` is no longer handed out.
    """

    __tablename__ = "print_job"

    id: Mapped[intpk]
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossier.id"), index=True)
    kind: Mapped[PrintKind] = mapped_column(sa.Enum(PrintKind, native_enum=False, length=16))
    copies: Mapped[int] = mapped_column(default=1)
    # The station the requester named (the counter), if any; the device that prints.
    station_id: Mapped[int | None] = mapped_column(sa.ForeignKey("station.id"))
    device_id: Mapped[int] = mapped_column(sa.ForeignKey("device.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[created_at]
    printed_at: Mapped[dt.datetime | None]
    failed_at: Mapped[dt.datetime | None]
    error: Mapped[str | None] = mapped_column(sa.String(500))

    dossier: Mapped[Dossier] = relationship()
    station: Mapped[Station | None] = relationship()
    device: Mapped[Device] = relationship()
    created_by: Mapped[User] = relationship()

    @property
    def finished_at(self) -> dt.datetime | None:
        return self.printed_at or self.failed_at

    def __repr__(self) -> str:
        return f"<PrintJob {self.id} {self.kind.value} of {self.dossier_id} on {self.device_id}>"
