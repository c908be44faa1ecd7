"""Procedure, ProcedureVersion and ProcedureStep."""

from __future__ import annotations

import datetime as dt
import decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, created_at, intpk, name200
from app.offices.models import Station, StationKind
from app.worktime import DurationUnit, LegalDuration

Hours = sa.Numeric(10, 2)


class Procedure(Base):
    """A TTHC from the national catalogue, e.g. ``1.001193`` "Đăng ký khai sinh"."""

    __tablename__ = "procedure"

    id: Mapped[intpk]
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(500))
    short_name: Mapped[str] = mapped_column(sa.String(60), default="")
    field: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[created_at]

    versions: Mapped[list[ProcedureVersion]] = relationship(
        back_populates="procedure", order_by="ProcedureVersion.version")

    @property
    def current_version(self) -> ProcedureVersion:
        return self.versions[-1]

    def __repr__(self) -> str:
        return f"<Procedure {self.code}>"


class ProcedureVersion(Base):
    """The legal duration and step plan in force from one date; dossiers keep theirs."""

    __tablename__ = "procedure_version"
    __table_args__ = (sa.UniqueConstraint("procedure_id", "version"),)

    id: Mapped[intpk]
    procedure_id: Mapped[int] = mapped_column(sa.ForeignKey("procedure.id"), index=True)
    version: Mapped[int]
    duration_amount: Mapped[decimal.Decimal] = mapped_column(Hours)
    duration_unit: Mapped[DurationUnit] = mapped_column(
        sa.Enum(DurationUnit, native_enum=False, length=32))
    # Same-day procedures only: received after this local time, due the next working day.
    same_day_cutoff: Mapped[dt.time | None] = mapped_column(sa.Time())
    # "Phí, lệ phí" in đồng as the receipt prints it: 0 is "Không"; None is not configured
    # (the receipt leaves a blank; fees that vary per case are set per dossier at intake).
    fee: Mapped[int | None] = mapped_column(sa.BigInteger)
    created_at: Mapped[created_at]

    procedure: Mapped[Procedure] = relationship(back_populates="versions")
    steps: Mapped[list[ProcedureStep]] = relationship(
        back_populates="version", order_by="ProcedureStep.position", cascade="all, delete-orphan")

    @property
    def duration(self) -> LegalDuration:
        return LegalDuration(self.duration_amount, self.duration_unit, self.same_day_cutoff)

    @property
    def duration_text(self) -> str:
        return str(self.duration)

    def __repr__(self) -> str:
        return f"<ProcedureVersion {self.procedure_id} v{self.version}>"


class ProcedureStep(Base):
    """One step of the internal plan: where the file goes and its budget in working hours."""

    __tablename__ = "procedure_step"
    __table_args__ = (sa.UniqueConstraint("version_id", "position"),)

    id: Mapped[intpk]
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("procedure_version.id"), index=True)
    position: Mapped[int]
    name: Mapped[name200]
    station_id: Mapped[int | None] = mapped_column(sa.ForeignKey("station.id"), index=True)
    station_kind: Mapped[StationKind | None]
    budget_hours: Mapped[decimal.Decimal] = mapped_column(Hours)

    version: Mapped[ProcedureVersion] = relationship(back_populates="steps")
    station: Mapped[Station | None] = relationship()

    def __repr__(self) -> str:
        return f"<ProcedureStep {self.position} {self.name}>"
