"""Office, Station and CalendarOverride."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, code32, created_at, intpk, name200


class StationKind(enum.Enum):
    RECEPTION = "reception counter"
    DEPARTMENT = "department desk"
    LEADER = "leader's office"
    RETURN = "result-return counter"
    ARCHIVE = "archive"
    AGENCY = "another agency"


class PrinterType(enum.Enum):
    PDF = "pdf"
    ZPL = "zpl"


class OverrideKind(enum.Enum):
    DAY_OFF = "day off"
    WORKING_DAY = "working day"


class Office(Base):
    """A one-stop centre or agency; ``code`` is its QCVN 102 agency code (``000.00.19.H12``)."""

    __tablename__ = "office"

    id: Mapped[intpk]
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[name200]
    # Offices of one province share this key; province-scoped staff see all of them.
    province: Mapped[code32] = mapped_column(index=True)
    place: Mapped[str] = mapped_column(sa.String(100), default="")
    timezone: Mapped[str] = mapped_column(sa.String(64), default="Asia/Ho_Chi_Minh")
    office_hours: Mapped[str] = mapped_column(sa.String(64), default="07:00-11:30,13:30-17:00")
    code_pattern: Mapped[str] = mapped_column(
        sa.String(64), default="{agency}-{yymmdd}-{serial:04d}")
    # How this office prints dossier labels: a labels layout preset name or a JSON grid spec,
    # and the printer type (pdf for sheets and thermal PDFs, zpl for Zebra-compatible printers).
    label_layout: Mapped[str] = mapped_column(sa.String(400), default="a4-65",
                                              server_default="a4-65")
    label_printer: Mapped[PrinterType] = mapped_column(
        sa.Enum(PrinterType, native_enum=False, length=32), default=PrinterType.PDF,
        server_default=PrinterType.PDF.name)
    created_at: Mapped[created_at]

    stations: Mapped[list[Station]] = relationship(back_populates="office", order_by="Station.id")

    def __repr__(self) -> str:
        return f"<Office {self.code}>"


class Station(Base):
    """A scan point in an office: where a dossier can be said to be."""

    __tablename__ = "station"

    id: Mapped[intpk]
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[name200]
    kind: Mapped[StationKind]
    office_id: Mapped[int] = mapped_column(sa.ForeignKey("office.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[created_at]

    office: Mapped[Office] = relationship(back_populates="stations")

    def __repr__(self) -> str:
        return f"<Station {self.code}>"


class CalendarOverride(Base):
    """An admin's extra day off or make-up working day; ``office_id`` NULL applies everywhere."""

    __tablename__ = "calendar_override"
    __table_args__ = (sa.UniqueConstraint("office_id", "day"),)

    id: Mapped[intpk]
    office_id: Mapped[int | None] = mapped_column(sa.ForeignKey("office.id"), index=True)
    day: Mapped[dt.date]
    kind: Mapped[OverrideKind]
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[created_at]

    def __repr__(self) -> str:
        return f"<CalendarOverride {self.day} {self.kind.name}>"
