"""User, ApiToken and Device."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, created_at, db, intpk, name200
from app.offices.models import Office, Station


class Role(enum.Enum):
    RECEPTION = "reception"
    SPECIALIST = "specialist"
    LEADER = "leader"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


device_station = sa.Table(
    "device_station",
    db.metadata,
    sa.Column("device_id", sa.ForeignKey("device.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("station_id", sa.ForeignKey("station.id", ondelete="CASCADE"), primary_key=True),
)


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[intpk]
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    full_name: Mapped[name200]
    role: Mapped[Role]
    office_id: Mapped[int] = mapped_column(sa.ForeignKey("office.id"), index=True)
    # Supervisors and admins may see every office of their province.
    province_scope: Mapped[bool] = mapped_column(default=False)
    badge: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(256))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[created_at]
    # Wrong passwords in a row since the last login or lockout; the page locks the account
    # until ``locked_until`` once they reach LOGIN_MAX_FAILURES (app.auth.operations).
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None]

    office: Mapped[Office] = relationship()

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role.name}>"


class ApiToken(Base):
    """A personal bearer token; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100), default="")
    created_at: Mapped[created_at]
    # Every personal token expires (``tracker user token --expires-in``); a stolen one dies.
    expires_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} of user {self.user_id}>"


class Device(Base):
    """A scanner agent, bound to the stations it may scan at."""

    __tablename__ = "device"

    id: Mapped[intpk]
    name: Mapped[name200]
    office_id: Mapped[int] = mapped_column(sa.ForeignKey("office.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[created_at]
    revoked_at: Mapped[dt.datetime | None]
    last_seen_at: Mapped[dt.datetime | None]

    office: Mapped[Office] = relationship()
    stations: Mapped[list[Station]] = relationship(secondary=device_station,
                                                   order_by="Station.id")

    def __repr__(self) -> str:
        return f"<Device {self.id} {self.name}>"
