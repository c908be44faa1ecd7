"""Dossier, ScanEvent and DailySerial."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, WriteOnlyMapped, mapped_column, relationship

from app.auth.models import Device, User
from app.db import Base, created_at, intpk
from app.offices.models import Office, Station
from app.procedures.models import ProcedureVersion


class DossierStatus(enum.Enum):
    """National portal status codes (value) with their Vietnamese labels."""

    NEW = 1
    RECEIVED = 2
    NOT_ACCEPTED = 3
    IN_PROGRESS = 4
    SUPPLEMENT_REQUESTED = 5
    FINANCIAL_OBLIGATION = 6
    WITHDRAWN = 7
    STOPPED = 8
    PROCESSED = 9
    RETURNED = 10

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]

    @property
    def closed(self) -> bool:
        return self in CLOSED_STATUSES


STATUS_LABELS = {
    DossierStatus.NEW: "Mới đăng ký",
    DossierStatus.RECEIVED: "Được tiếp nhận",
    DossierStatus.NOT_ACCEPTED: "Không được tiếp nhận",
    DossierStatus.IN_PROGRESS: "Đang xử lý",
    DossierStatus.SUPPLEMENT_REQUESTED: "Yêu cầu bổ sung giấy tờ",
    DossierStatus.FINANCIAL_OBLIGATION: "Yêu cầu thực hiện nghĩa vụ tài chính",
    DossierStatus.WITHDRAWN: "Công dân yêu cầu rút hồ sơ",
    DossierStatus.STOPPED: "Dừng xử lý",
    DossierStatus.PROCESSED: "Đã xử lý xong",
    DossierStatus.RETURNED: "Đã trả kết quả",
}
CLOSED_STATUSES = frozenset(
    {DossierStatus.RETURNED, DossierStatus.WITHDRAWN, DossierStatus.STOPPED,
     DossierStatus.NOT_ACCEPTED})
# Not closed, as the partial index on open dossiers spells it (the names as stored).
_CLOSED_NAMES = sorted(status.name for status in CLOSED_STATUSES)
_NOT_CLOSED_SQL = f"status NOT IN ({', '.join(map(repr, _CLOSED_NAMES))})"


class ScanAction(enum.Enum):
    """What a scan at a station means for the dossier."""

    RECEIVE = "receive"
    TRANSFER_IN = "transfer_in"
    REQUEST_SUPPLEMENT = "request_supplement"
    SUPPLEMENT_RECEIVED = "supplement_received"
    REQUEST_PAYMENT = "request_payment"
    # The citizen met the financial obligation: the pause that request_payment began ends.
    PAYMENT_RECEIVED = "payment_received"
    RESULT_READY = "result_ready"
    RETURNED = "returned"
    WITHDRAWN = "withdrawn"
    STOPPED = "stopped"
    # The desk refuses the dossier (national status 3, Mẫu 03): it is closed.
    REFUSED = "refused"
    # The file leaves for another office (liên thông): the event names a destination office,
    # which may then scan the dossier until it hands it back (app.tracking.scope).
    SEND = "send"


class Dossier(Base):
    """A citizen's paper file. Status, station and holder are derived from its scan events."""

    __tablename__ = "dossier"
    # An office's dossiers, by the end of their processing: the reports' periods (those
    # unfinished, or finished since a date) without visiting the office's others.
    # The open dossiers by the station they are at (their open stays: not_closed()).
    __table_args__ = (
        sa.Index("ix_dossier_receiving_office_finished", "receiving_office_id", "finished_at"),
        sa.Index("ix_dossier_competent_office_finished", "competent_office_id", "finished_at"),
        sa.Index("ix_dossier_open_station", "current_station_id",
                 postgresql_where=sa.text(_NOT_CLOSED_SQL),
                 sqlite_where=sa.text(_NOT_CLOSED_SQL)))

    id: Mapped[intpk]
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    tracking_number: Mapped[str] = mapped_column(sa.String(16), unique=True)
    procedure_version_id: Mapped[int] = mapped_column(
        sa.ForeignKey("procedure_version.id"), index=True)
    receiving_office_id: Mapped[int] = mapped_column(sa.ForeignKey("office.id"))
    competent_office_id: Mapped[int] = mapped_column(sa.ForeignKey("office.id"))
    reception_station_id: Mapped[int | None] = mapped_column(sa.ForeignKey("station.id"))
    received_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    # Personal data (Decree 13/2023): never shown to an unauthenticated caller.
    applicant_name: Mapped[str] = mapped_column(sa.String(200))
    # The name lower-cased without diacritics (app.tracking.search.fold_text), for searching.
    applicant_name_folded: Mapped[str] = mapped_column(sa.String(200), default="", index=True)
    applicant_phone: Mapped[str] = mapped_column(sa.String(32), default="")
    applicant_id_number: Mapped[str] = mapped_column(sa.String(32), default="")
    applicant_address: Mapped[str] = mapped_column(sa.String(300), default="")
    applicant_email: Mapped[str] = mapped_column(sa.String(200), default="")

    documents: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    copies: Mapped[int] = mapped_column(default=1)
    return_method: Mapped[str] = mapped_column(sa.String(100), default="")
    # The fee in đồng set at intake, overriding the procedure version's (None: the version's).
    fee: Mapped[int | None] = mapped_column(sa.BigInteger)
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    upstream: Mapped[bool] = mapped_column(default=False)

    received_at: Mapped[dt.datetime]
    # The first appointment (the receipt's, or the one-door system's when it sent one) and
    # the current one: the first moved by the working time waited for the citizen.
    base_due_at: Mapped[dt.datetime]
    due_at: Mapped[dt.datetime] = mapped_column(index=True)

    # Derived from the events by tracking.state.replay; stored so lists and reports are cheap.
    status: Mapped[DossierStatus] = mapped_column(
        sa.Enum(DossierStatus, native_enum=False, length=32), index=True)
    current_station_id: Mapped[int | None] = mapped_column(sa.ForeignKey("station.id"))
    current_holder_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    plan_position: Mapped[int] = mapped_column(default=0)
    paused_since: Mapped[dt.datetime | None]
    last_event_at: Mapped[dt.datetime | None]
    last_event_uuid: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    paused_hours: Mapped[decimal.Decimal] = mapped_column(sa.Numeric(10, 2), default=0)
    # Supplement requests made (Decision 766: more than one makes the dossier late).
    supplement_count: Mapped[int] = mapped_column(default=0)
    # What the office waits for from the citizen; the clock is paused while either is set.
    awaiting_supplement: Mapped[bool] = mapped_column(default=False)
    awaiting_payment: Mapped[bool] = mapped_column(default=False)
    finished_at: Mapped[dt.datetime | None]
    returned_at: Mapped[dt.datetime | None]
    # The office a ``send`` handed the file to and that has not handed it back (derived).
    sent_to_office_id: Mapped[int | None] = mapped_column(sa.ForeignKey("office.id"))
    # In transit since a ``send`` until the next scan, and its destination (derived).
    in_transit_since: Mapped[dt.datetime | None] = mapped_column(index=True)
    transit_to_office_id: Mapped[int | None] = mapped_column(sa.ForeignKey("office.id"))
    transit_to_station_id: Mapped[int | None] = mapped_column(sa.ForeignKey("station.id"))
    # Where the stay fold stands (app.tracking.stays.StayLog): with the state above, the open
    # stay (which has no row until it ends: app.tracking.queries.open_stays), so that a scan
    # writes the stay it ends without reading it: the plan step it is charged to (or
    # interrupted), and the working hours charged to the current plan step before it.
    stay_position: Mapped[int | None]
    step_charged_hours: Mapped[decimal.Decimal] = mapped_column(sa.Numeric(10, 2), default=0)
    # The working hours of its ended processing stays (charged to a step or off-plan): what
    # indicator 2.2 sums, kept by the stay fold so that on-time reports read no stays.
    processing_hours: Mapped[decimal.Decimal] = mapped_column(sa.Numeric(10, 2), default=0)

    lookup_nonce: Mapped[str] = mapped_column(sa.String(32))
    lookup_secret_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[created_at]

    procedure_version: Mapped[ProcedureVersion] = relationship()
    receiving_office: Mapped[Office] = relationship(foreign_keys=[receiving_office_id])
    competent_office: Mapped[Office] = relationship(foreign_keys=[competent_office_id])
    reception_station: Mapped[Station | None] = relationship(
        foreign_keys=[reception_station_id])
    current_station: Mapped[Station | None] = relationship(foreign_keys=[current_station_id])
    current_holder: Mapped[User | None] = relationship(foreign_keys=[current_holder_id])
    received_by: Mapped[User | None] = relationship(foreign_keys=[received_by_id])
    transit_to_office: Mapped[Office | None] = relationship(foreign_keys=[transit_to_office_id])
    transit_to_station: Mapped[Station | None] = relationship(
        foreign_keys=[transit_to_station_id])
    events: WriteOnlyMapped[ScanEvent] = relationship(
        back_populates="dossier", order_by="ScanEvent.corrected_at")

    def __repr__(self) -> str:
        return f"<Dossier {self.code}>"


def not_closed() -> sa.ColumnElement[bool]:
    """The dossier is not closed, its statuses written into the statement rather than bound:
    PostgreSQL then sees that the condition implies ``ix_dossier_open_station``'s."""
    closed: sa.BindParameter[list[DossierStatus]] = sa.bindparam(
        "closed_statuses", [DossierStatus[name] for name in _CLOSED_NAMES], expanding=True,
        literal_execute=True, unique=True)
    return Dossier.status.not_in(closed)


class ScanEvent(Base):
    """One scan of a dossier at a station; append-only (only the derived flag is rewritten).

    Each event is a link of its office's hash chain (app.tracking.audit): ``chain_seq`` is its
    position, ``prev_hash`` the hash of the event before it, ``row_hash`` the hash of that and
    its own canonical fields, so an edit, a deletion or an insertion made behind the
    application's back shows in ``tracker audit verify``.
    """

    __tablename__ = "scan_event"
    __table_args__ = (sa.Index("ix_scan_event_dossier_order", "dossier_id", "corrected_at"),
                      sa.UniqueConstraint("office_id", "chain_seq"))

    id: Mapped[intpk]
    uuid: Mapped[uuid.UUID] = mapped_column(sa.Uuid, unique=True)
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossier.id"))
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("station.id"), index=True)
    action: Mapped[ScanAction] = mapped_column(sa.Enum(ScanAction, native_enum=False, length=32))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    actor_raw: Mapped[str] = mapped_column(sa.String(64), default="")
    device_id: Mapped[int | None] = mapped_column(sa.ForeignKey("device.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    code_scanned: Mapped[str] = mapped_column(sa.String(512))
    seq: Mapped[int | None] = mapped_column(sa.BigInteger)
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    scanned_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]
    received_at: Mapped[dt.datetime]
    corrected_at: Mapped[dt.datetime]
    # Where a ``send`` sends the file: an office, and the station when one was named.
    destination_office_id: Mapped[int | None] = mapped_column(sa.ForeignKey("office.id"))
    destination_station_id: Mapped[int | None] = mapped_column(sa.ForeignKey("station.id"))
    # Why the scan makes no sense (after_close, off_plan, ...), recomputed on every replay.
    flag: Mapped[str | None] = mapped_column(sa.String(32))
    # The hash chain: the office of the station scanned at, and the event's link in its chain.
    office_id: Mapped[int] = mapped_column(sa.ForeignKey("office.id"))
    chain_seq: Mapped[int] = mapped_column(sa.BigInteger)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    row_hash: Mapped[str] = mapped_column(sa.String(64))

    dossier: Mapped[Dossier] = relationship(back_populates="events")
    station: Mapped[Station] = relationship(foreign_keys=[station_id])
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    device: Mapped[Device | None] = relationship()

    def __repr__(self) -> str:
        return f"<ScanEvent {self.uuid} {self.action.name}>"


class Stay(Base):
    """The file's stay at a station: from the scan that began it to the next scan of the file.
    Derived from the scan events by the stay fold (:func:`app.tracking.stays.advance_stays`),
    written once by the ingest when the stay ends and rewritten whole when a late event
    replays the dossier, so reports are SQL aggregates. Hours are working hours on the
    dossier's office calendar, except ``calendar_hours``.

    The stay still going on (``ended_at`` NULL, no hours yet: its age is measured when it is
    read) has no row: it is the open dossier's stored state, read as a stay row by
    :func:`app.tracking.queries.open_stays` (:func:`~app.tracking.queries.every_stay`: both
    together). So a scan writes the stay it ended, never updates one.
    """

    __tablename__ = "stay"
    # An office's stays that ended in a period, and every office's.
    __table_args__ = (sa.Index("ix_stay_office_ended", "office_id", "ended_at"),
                      sa.Index("ix_stay_ended", "ended_at"))

    id: Mapped[intpk]
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossier.id"), index=True)
    # The scan that began the stay.
    event_uuid: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    # Denormalized from the dossier's procedure version, for grouping. The office, station
    # and holder are the beginning scan's. No foreign key but the station's (the
    # relationship's): a stay is a projection of scan events and their dossier, whose own
    # keys hold these references already, and each key is a check on every scan written.
    procedure_id: Mapped[int]
    office_id: Mapped[int]
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("station.id"))
    holder_id: Mapped[int | None]
    # The plan step the stay is charged to (or, for a wait, the step it interrupted).
    plan_position: Mapped[int | None]
    step_name: Mapped[str | None] = mapped_column(sa.String(200))
    budget_hours: Mapped[decimal.Decimal | None] = mapped_column(sa.Numeric(10, 2))
    # processing | supplement | payment | pickup | closed (app.tracking.stays.INTERVAL_LABELS)
    interval: Mapped[str] = mapped_column(sa.String(16))
    started_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None]
    working_hours: Mapped[decimal.Decimal | None] = mapped_column(sa.Numeric(10, 2))
    calendar_hours: Mapped[decimal.Decimal | None] = mapped_column(sa.Numeric(12, 2))
    # Working hours of the stay with the dossier's clock paused (a wait for the citizen).
    paused_hours: Mapped[decimal.Decimal] = mapped_column(sa.Numeric(10, 2), default=0)
    # Mẫu 05 verdict on the step's time charged up to the end of this stay (closed
    # processing stays with a plan step only): early | on_time | late.
    verdict: Mapped[str | None] = mapped_column(sa.String(16))
    # The dossier's state after the scan that began the stay (app.tracking.stays.Snapshot):
    # its state at an instant is that of its last stay begun by then, which is what the
    # on-time verdict under Decision 766 at a past period end reads instead of a replay. The
    # server defaults are the initial state, for stays written before the columns existed
    # (migration 0011's backfill) until migration 0018 replays them.
    dossier_supplement_count: Mapped[int] = mapped_column(default=0, server_default="0")
    dossier_paused_hours: Mapped[decimal.Decimal] = mapped_column(
        sa.Numeric(10, 2), default=0, server_default="0")
    dossier_paused_since: Mapped[dt.datetime | None]
    dossier_finished_at: Mapped[dt.datetime | None]

    dossier: Mapped[Dossier] = relationship()
    station: Mapped[Station] = relationship()

    def __repr__(self) -> str:
        return f"<Stay {self.dossier_id} {self.station_id} {self.started_at.isoformat()}>"
class StayRollup(Base):
    """The ended processing stays of a past month, counted per office, station, holder,
    procedure and plan step, and per procedure and plan step for every office together
    (office, station and holder 0: :data:`app.tracking.rollup.PROVINCE`), with a histogram of
    their working (``measure`` 0) and calendar (1) hours: the dwell report reads these rows
    for the whole months of its period instead of every stay (:mod:`app.tracking.rollup`).
    ``bucket`` is a value's hours in cents cut to two significant figures
    (:func:`app.tracking.rollup.bucket_of`); ``total`` sums the exact hours, ``top`` is their
    maximum, ``over`` the hours beyond the step's budget, all in cents of an hour. NULL keys
    are stored as 0 or ''.
    """

    __tablename__ = "stay_rollup"

    month: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    office_id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(primary_key=True)
    holder_id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(primary_key=True)
    plan_position: Mapped[int] = mapped_column(primary_key=True)
    step_name: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    measure: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True)
    bucket: Mapped[int] = mapped_column(primary_key=True)
    # Integers (hundredths of an hour, as the stays' hours are kept) sum faster than decimals.
    n: Mapped[int]
    total: Mapped[int] = mapped_column(sa.BigInteger)
    top: Mapped[int]
    over: Mapped[int] = mapped_column(sa.BigInteger)


class RollupMonth(Base):
    """A month of the :class:`StayRollup`: built at ``built_at``, or stale (NULL) since a
    late or backdated scan changed a stay that ended in it."""

    __tablename__ = "rollup_month"

    month: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    built_at: Mapped[dt.datetime | None]


class ScanChainHead(Base):
    """The end of an office's hash chain: the last position given and its hash.

    Locked by every transaction that appends to the chain, so concurrent writers append one
    after the other; it also shows rows deleted from the chain's end.
    """

    __tablename__ = "scan_chain_head"

    office_id: Mapped[int] = mapped_column(sa.ForeignKey("office.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    head_hash: Mapped[str] = mapped_column(sa.String(64))

    def __repr__(self) -> str:
        return f"<ScanChainHead {self.office_id} {self.seq}>"


class RefusedScan(Base):
    """A scan refused because the dossier is outside the caller's scope.

    The owners' timeline never shows it; their supervisors list it (a file turning up at the
    wrong office is a fact worth seeing). No personal data: who tried is an office, a station
    and a device or a role. One row per event id, however often the agent retries it.
    """

    __tablename__ = "refused_scan"

    id: Mapped[intpk]
    uuid: Mapped[uuid.UUID] = mapped_column(sa.Uuid, unique=True)
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossier.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.String(32))
    action: Mapped[ScanAction] = mapped_column(sa.Enum(ScanAction, native_enum=False, length=32))
    office_id: Mapped[int] = mapped_column(sa.ForeignKey("office.id"), index=True)
    station_id: Mapped[int | None] = mapped_column(sa.ForeignKey("station.id"))
    device_id: Mapped[int | None] = mapped_column(sa.ForeignKey("device.id"))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    role: Mapped[str] = mapped_column(sa.String(32), default="")
    scanned_at: Mapped[dt.datetime]
    received_at: Mapped[dt.datetime] = mapped_column(index=True)

    dossier: Mapped[Dossier] = relationship()
    office: Mapped[Office] = relationship()
    station: Mapped[Station | None] = relationship()
    device: Mapped[Device | None] = relationship()

    def __repr__(self) -> str:
        return f"<RefusedScan {self.uuid} {self.reason}>"


class NoticeKind(enum.Enum):
    """The desk's notices to the citizen, by their Circular 01/2018 form number (value)."""

    SUPPLEMENT_REQUEST = "02"
    REFUSAL = "03"
    APOLOGY = "04"


class DossierNotice(Base):
    """A notice handed to the citizen: a supplement request (Mẫu 02) with its missing papers,
    a refusal (Mẫu 03) or an apology with a new appointment (Mẫu 04), kept to be reprinted.

    Append-only: a second request or apology is a new row; the forms reprint the latest.
    """

    __tablename__ = "dossier_notice"

    id: Mapped[intpk]
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossier.id"), index=True)
    kind: Mapped[NoticeKind] = mapped_column(sa.Enum(NoticeKind, native_enum=False, length=32))
    reason: Mapped[str] = mapped_column(sa.String(1000))
    # Mẫu 02: [{"name": ..., "kind": "original" | "certified" | "photo"}].
    items: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    # Mẫu 04: the appointment missed and the new one; the supplement wait (paused hours) at
    # the time, so that only a later wait moves the new appointment.
    previous_due_at: Mapped[dt.datetime | None]
    new_due_at: Mapped[dt.datetime | None]
    paused_hours_at: Mapped[decimal.Decimal | None] = mapped_column(sa.Numeric(10, 2))
    issued_at: Mapped[dt.datetime]
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    dossier: Mapped[Dossier] = relationship()
    issued_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<DossierNotice {self.kind.value} {self.dossier_id}>"


class DailySerial(Base):
    """The last serial handed out per office and day (Circular 01/2018 Art. 19)."""

    __tablename__ = "daily_serial"

    office_id: Mapped[int] = mapped_column(sa.ForeignKey("office.id"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(primary_key=True)
    last: Mapped[int] = mapped_column(default=0)

    def __repr__(self) -> str:
        return f"<DailySerial {self.office_id} {self.day} {self.last}>"


class DossierCorrection(Base):
    """A correction of the applicant's details or the documents received, made after intake
    (the receipt is then reprinted): who, when, and each field's value before and after.

    Append-only: a correction is never edited nor deleted; the next one is a new row.
    """

    __tablename__ = "dossier_correction"

    id: Mapped[intpk]
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossier.id"), index=True)
    # {"applicant_phone": ["0912…", "0987…"], "documents": [[...], [...]]}: before, after.
    changes: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    reason: Mapped[str] = mapped_column(sa.String(500), default="")
    corrected_at: Mapped[dt.datetime]
    corrected_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    dossier: Mapped[Dossier] = relationship()
    corrected_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<DossierCorrection {self.dossier_id} {sorted(self.changes)}>"
