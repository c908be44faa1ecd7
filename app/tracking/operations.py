"""Domain verbs for dossiers and scans; they flush, never commit."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import functools
import hashlib
import hmac
import json
import logging
import secrets
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, cast
from uuid import UUID

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from app.auth.models import User
from app.auth.tokens import Principal
from app.codes import normalize_scan, secret_candidates
from app.db import db, utcnow
from app.errors import Conflict, NotFound, ValidationError
from app.offices.models import Office, Station, StationKind
from app.offices.operations import calendar_for, calendar_of, station_office
from app.procedures.models import ProcedureVersion
from app.procedures.operations import PlanStep, plan_of, procedure_name
from app.tracking import audit, rollup, scope
from app.tracking import state as fold
from app.tracking import stays as stay_fold
from app.tracking.codes import (
    BadReference,
    ScannedRef,
    new_official_code,
    new_tracking_number,
    parse_reference,
    upstream_code,
)
from app.tracking.models import (
    DailySerial,
    Dossier,
    DossierCorrection,
    DossierNotice,
    DossierStatus,
    NoticeKind,
    ScanAction,
    ScanChainHead,
    ScanEvent,
    Stay,
)
from app.tracking.search import fold_text
from app.worktime import WorkCalendar

log = logging.getLogger(__name__)

_HOUR = decimal.Decimal(3600)


# --- codes and secrets ------------------------------------------------------------------------

def next_serial(office: Office, day: dt.date) -> int:
    """Take the office's next serial for ``day`` in one atomic upsert.

    The row stays locked until the transaction ends, so concurrent intakes queue behind each
    other and get consecutive numbers on SQLite and PostgreSQL alike.
    """
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (insert(DailySerial).values(office_id=office.id, day=day, last=1)
            .on_conflict_do_update(index_elements=[DailySerial.office_id, DailySerial.day],
                                   set_={"last": DailySerial.last + 1})
            .returning(DailySerial.last))
    return int(db.session.execute(stmt).scalar_one())


def _secret_for(code: str, nonce: str) -> str:
    key = current_app.config["SECRET_KEY"]
    key = key.encode() if isinstance(key, str) else key
    digest = hmac.new(key, f"lookup:{code}:{nonce}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:10]).decode()  # 80 bits, 16 unambiguous characters


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def lookup_secret(dossier: Dossier) -> str:
    """The receipt secret of a dossier, derived again for a reprint; writes nothing.

    Only its hash is stored; the secret is an HMAC under the server's key, so a database dump
    alone never reveals one.

    :raises Conflict: the server's key changed since the secret was issued, so it cannot be
        derived any more; :func:`reissue_lookup_secret` (an explicit POST) issues a new one.
    """
    secret = _secret_for(dossier.code, dossier.lookup_nonce)
    if not hmac.compare_digest(_hash_secret(secret), dossier.lookup_secret_hash):
        msg = (f"The receipt secret of {dossier.code} cannot be derived any more (the server "
               f"key changed since it was issued). Issue a new one with POST "
               f"/api/v1/dossiers/{dossier.code}/lookup-secret (reception), then reprint "
               f"the receipt: the old receipt's QR will stop opening the timeline.")
        raise Conflict(msg, code="secret_unavailable")
    return secret


def reissue_lookup_secret(dossier: Dossier) -> str:
    """Give the dossier a new receipt secret and return it; the old one stops working.

    The explicit step a reprint needs once the server's key has changed.
    """
    dossier.lookup_nonce = secrets.token_hex(8)
    secret = _secret_for(dossier.code, dossier.lookup_nonce)
    dossier.lookup_secret_hash = _hash_secret(secret)
    db.session.flush()
    log.info("dossier %s: receipt secret reissued", dossier.code)
    return secret


def check_lookup_secret(dossier: Dossier, secret: str) -> bool:
    """Whether ``secret`` is the dossier's receipt secret, as typed by hand or scanned
    (:func:`app.codes.secret_candidates`: case, dashes and look-alike digits forgiven)."""
    return any(hmac.compare_digest(_hash_secret(candidate), dossier.lookup_secret_hash)
               for candidate in secret_candidates(secret))


def lookup_url(dossier: Dossier) -> str:
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return f"{base}/lookup/{dossier.code}?t={lookup_secret(dossier)}"


# --- intake -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Applicant:
    name: str
    phone: str = ""
    id_number: str = ""
    address: str = ""
    email: str = ""


@dataclass
class IntakeCommand:
    """Receive a dossier: what the desk (or the one-door system) says, codes resolved."""

    procedure_version: ProcedureVersion
    applicant: Applicant
    receiving_office: Office
    competent_office: Office
    documents: list[str] = field(default_factory=list)
    copies: int = 1
    return_method: str = ""
    note: str = ""
    # Fees in đồng for this dossier, overriding the procedure version's (None: the version's).
    fee: int | None = None
    station: Station | None = None
    received_by: User | None = None
    # Set when the dossier was registered upstream (the one-door system) and is only followed.
    code: str | None = None
    received_at: dt.datetime | None = None
    # The appointment the one-door system gave (upstream only); else computed from the law.
    due_at: dt.datetime | None = None


def _reception_station(office: Office) -> Station | None:
    return db.session.scalar(
        sa.select(Station).where(Station.office_id == office.id,
                                 Station.kind == StationKind.RECEPTION,
                                 Station.active.is_(True)).order_by(Station.id).limit(1))


def find_dossier_by_code(code: str) -> Dossier | None:
    return db.session.scalar(sa.select(Dossier).where(Dossier.code == code))


class Registration(NamedTuple):
    """What an intake did: the dossier, and whether it was created now (only then may its
    receipt secret be shown)."""

    dossier: Dossier
    created: bool


def register_dossier(req: IntakeCommand, principal: Principal | None = None) -> Registration:
    """Receive a dossier (or follow one registered upstream); returns it and whether it is new.

    A code registered twice is answered with the existing dossier, never a second one, and
    only within the caller's scope (``principal``, else the receiving user's). An upstream
    dossier keeps the appointment its one-door system gave (``req.due_at``), as both its first
    (``base_due_at``) and current appointment.

    :raises Conflict: the code is registered already, outside the caller's scope (``409
        code_taken``: the refusal necessarily says the code exists, and nothing more; a 404
        would be untrue, since this is no lookup, and would reveal the same).
    :raises ValidationError: no reception station; a received time in the future or older
        than ``SCAN_MAX_AGE_DAYS`` (``bad_time``); an appointment without an upstream code,
        not after the received time or more than ``MAX_APPOINTMENT_DAYS`` after it
        (``bad_due_at``); an
        upstream code in no known shape (``bad_upstream_code``), the day's serials used up
        (``serial_exhausted``).
    """
    if req.code is not None:
        existing = find_dossier_by_code(normalize_scan(req.code))
        if existing is not None:
            who = principal or (Principal(user=req.received_by) if req.received_by else None)
            if who is not None and not scope.in_scope(who, existing):
                msg = (f"code {req.code} is registered already and not in your scope; ask its "
                       "owners to send the file to your office")
                raise Conflict(msg, code="code_taken")
            return Registration(existing, False)
    office = req.receiving_office
    calendar = calendar_for(office)
    now = utcnow()
    received_at = req.received_at or now
    if received_at > now + dt.timedelta(minutes=5):
        msg = "received_at lies in the future"
        raise ValidationError(msg, details=[{"field": "received_at", "type": "bad_time",
                                             "message": msg}])
    if received_at < now - _max_age():
        msg = f"received_at is more than {_max_age().days} days ago"
        raise ValidationError(msg, details=[{"field": "received_at", "type": "bad_time",
                                             "message": msg}])
    station = req.station or _reception_station(office)
    if station is None:
        raise ValidationError(f"office {office.code} has no reception station")
    if req.code is None:
        local_day = received_at.astimezone(calendar.tz).date()
        code = new_official_code(office, local_day, next_serial(office, local_day))
    else:
        code = upstream_code(office, req.code)  # resolvable later, or a 422
    version = req.procedure_version
    if req.due_at is not None:
        _check_appointment(req, received_at)
        due = req.due_at
    else:
        due = calendar.due_at(received_at, version.duration_amount, version.duration_unit,
                              cutoff=version.same_day_cutoff)
    tracking = new_tracking_number()
    while db.session.scalar(sa.select(Dossier.id).where(Dossier.tracking_number == tracking)):
        tracking = new_tracking_number()
    nonce = secrets.token_hex(8)
    dossier = Dossier(
        code=code, tracking_number=tracking, procedure_version=version,
        receiving_office=office, competent_office=req.competent_office,
        reception_station=station, received_by=req.received_by,
        applicant_name=req.applicant.name, applicant_name_folded=fold_text(req.applicant.name),
        applicant_phone=req.applicant.phone,
        applicant_id_number=req.applicant.id_number, applicant_address=req.applicant.address,
        applicant_email=req.applicant.email, documents=list(req.documents), copies=req.copies,
        return_method=req.return_method, note=req.note, fee=req.fee,
        upstream=req.code is not None,
        received_at=received_at, base_due_at=due, due_at=due, status=DossierStatus.NEW,
        lookup_nonce=nonce, lookup_secret_hash=_hash_secret(_secret_for(code, nonce)),
    )
    db.session.add(dossier)
    db.session.flush()
    receiver = req.received_by
    intake = ScanEvent(
        uuid=uuid.uuid4(), dossier_id=dossier.id, station_id=station.id, station=station,
        action=ScanAction.RECEIVE, device_id=None, seq=None, note="",
        actor_id=receiver.id if receiver else None,
        actor_raw=receiver.username if receiver else "",
        user_id=receiver.id if receiver else None, code_scanned=code,
        scanned_at=received_at, sent_at=None, received_at=now, corrected_at=received_at)
    _record_events({dossier: [intake]})
    log.info("dossier %s received at %s, due %s", code, office.code, due.isoformat())
    return Registration(dossier, True)


MAX_APPOINTMENT_DAYS = 730


def _check_appointment(req: IntakeCommand, received_at: dt.datetime) -> None:
    """An upstream appointment must be one: after the received time, and within reason."""
    assert req.due_at is not None
    msg = None
    if req.code is None:
        msg = "due_at is only for a dossier registered upstream (with code and received_at)"
    elif req.due_at <= received_at:
        msg = "due_at must be after received_at"
    elif req.due_at > received_at + dt.timedelta(days=MAX_APPOINTMENT_DAYS):
        msg = f"due_at is more than {MAX_APPOINTMENT_DAYS} days after received_at"
    if msg is not None:
        raise ValidationError(msg, details=[{"field": "due_at", "type": "bad_due_at",
                                             "message": msg}])


# --- corrections after intake -----------------------------------------------------------------

@dataclass(frozen=True)
class CorrectionCommand:
    """What the desk corrects after intake; ``None`` leaves a field as it is.

    The applicant's fields as the receipt prints them, and the whole list of documents
    received (rows added or removed).
    """

    name: str | None = None
    phone: str | None = None
    id_number: str | None = None
    address: str | None = None
    email: str | None = None
    documents: tuple[str, ...] | None = None
    reason: str = ""


#: The dossier's columns a correction may change, by the command's field names.
CORRECTABLE = {"name": "applicant_name", "phone": "applicant_phone",
               "id_number": "applicant_id_number", "address": "applicant_address",
               "email": "applicant_email", "documents": "documents"}


def correct_dossier(dossier: Dossier, cmd: CorrectionCommand,
                    by: User | None) -> DossierCorrection | None:
    """Correct the applicant's details or the documents received, and record the change.

    The record (:class:`DossierCorrection`, append-only) keeps who, when and each changed
    field before and after; nothing is recorded when nothing changes (``None``). The receipt
    printed from the dossier afterwards shows the corrected data.

    :raises Conflict: ``dossier_closed`` once the dossier is finished (its receipt was
        handed back, or it was withdrawn, refused or stopped).
    """
    if dossier.status.closed:
        msg = f"dossier {dossier.code} is closed: its receipt can no longer be corrected"
        raise Conflict(msg, code="dossier_closed")
    changes: dict[str, Any] = {}
    for name, column in CORRECTABLE.items():
        value = getattr(cmd, name)
        if value is None:
            continue
        new = list(value) if column == "documents" else value
        old = getattr(dossier, column)
        if new != old:
            changes[column] = [old, new]
            setattr(dossier, column, new)
    if not changes:
        return None
    correction = DossierCorrection(dossier=dossier, changes=changes, reason=cmd.reason,
                                   corrected_at=utcnow(), corrected_by=by)
    db.session.add(correction)
    db.session.flush()
    # The fields' names only: the values are personal data, never logged.
    log.info("dossier %s corrected: %s", dossier.code, ", ".join(sorted(changes)))
    return correction


def corrections_of(dossier: Dossier) -> list[DossierCorrection]:
    """The dossier's corrections, newest first."""
    return list(db.session.scalars(
        sa.select(DossierCorrection).where(DossierCorrection.dossier_id == dossier.id)
        .options(sa.orm.joinedload(DossierCorrection.corrected_by))
        .order_by(DossierCorrection.id.desc())))


# --- state ------------------------------------------------------------------------------------

def read_state(d: Dossier) -> fold.DossierState:
    """The dossier's state as the fold last stored it."""
    return fold.DossierState(
        status=d.status, station_id=d.current_station_id, holder_id=d.current_holder_id,
        plan_position=d.plan_position, paused_since=d.paused_since,
        paused_hours=d.paused_hours, supplement_count=d.supplement_count,
        awaiting_supplement=d.awaiting_supplement, awaiting_payment=d.awaiting_payment,
        finished_at=d.finished_at, returned_at=d.returned_at, last_event_at=d.last_event_at,
        last_event_uuid=d.last_event_uuid, sent_to_office_id=d.sent_to_office_id,
        in_transit_since=d.in_transit_since, transit_to_office_id=d.transit_to_office_id,
        transit_to_station_id=d.transit_to_station_id)


def initial_state() -> fold.DossierState:
    return fold.DossierState(status=DossierStatus.NEW, station_id=None, holder_id=None)


CalendarFn = Callable[[], WorkCalendar]


def _calendar_of(dossier: Dossier) -> CalendarFn:
    """The dossier's office calendar, loaded only if the fold needs working time."""
    return functools.cache(lambda: calendar_of(dossier.receiving_office_id))


def _write_state(d: Dossier, s: fold.DossierState, calendar: CalendarFn) -> None:
    for key, value in _state_values(d, s, calendar).items():
        setattr(d, key, value)


def _state_values(d: Dossier, s: fold.DossierState, calendar: CalendarFn) -> dict[str, Any]:
    """The dossier's columns that hold state ``s``."""
    values: dict[str, Any] = {
        "status": s.status, "current_station_id": s.station_id,
        "current_holder_id": s.holder_id, "plan_position": s.plan_position,
        "paused_since": s.paused_since, "supplement_count": s.supplement_count,
        "awaiting_supplement": s.awaiting_supplement, "awaiting_payment": s.awaiting_payment,
        "finished_at": s.finished_at, "returned_at": s.returned_at,
        "last_event_at": s.last_event_at, "last_event_uuid": s.last_event_uuid,
        "sent_to_office_id": s.sent_to_office_id, "in_transit_since": s.in_transit_since,
        "transit_to_office_id": s.transit_to_office_id,
        "transit_to_station_id": s.transit_to_station_id}
    if s.paused_hours != d.paused_hours:
        values["paused_hours"] = s.paused_hours
        # The wait moves the appointment in force by the same working time (an apology's new
        # appointment counts only the wait after it).
        anchor, counted = appointment_anchor(d)
        values["due_at"] = moved_due_at(
            anchor, max(s.paused_hours - counted, decimal.Decimal(0)), calendar())
    return values


def appointment_anchor(dossier: Dossier) -> tuple[dt.datetime, decimal.Decimal]:
    """The appointment a supplement wait moves, and the wait already counted in it: the
    latest apology's new appointment, else the first one (``base_due_at``) with none."""
    latest = db.session.execute(
        sa.select(DossierNotice.new_due_at, DossierNotice.paused_hours_at)
        .where(DossierNotice.dossier_id == dossier.id,
               DossierNotice.kind == NoticeKind.APOLOGY)
        .order_by(DossierNotice.id.desc()).limit(1)).one_or_none()
    if latest is None or latest.new_due_at is None:
        return dossier.base_due_at, decimal.Decimal(0)
    return latest.new_due_at, latest.paused_hours_at or decimal.Decimal(0)


def moved_due_at(base_due_at: dt.datetime, paused_hours: decimal.Decimal,
                 calendar: WorkCalendar) -> dt.datetime:
    """The appointment moved by the working time waited for the citizen (none: unmoved, even
    when the one-door system gave one outside office hours)."""
    if paused_hours <= 0:
        return base_due_at
    waited = dt.timedelta(seconds=float(paused_hours * _HOUR))
    return calendar.add_working_time(base_due_at, waited)


def working_hours_fn(calendar: CalendarFn) -> fold.WorkingHours:
    """Working hours between two instants on the (lazily loaded) calendar, to the cent."""
    def hours(a: dt.datetime, b: dt.datetime) -> decimal.Decimal:
        seconds = calendar().working_time_between(a, b).total_seconds()
        return (decimal.Decimal(seconds) / _HOUR).quantize(decimal.Decimal("0.01"))

    return hours


def event_facts(e: ScanEvent) -> fold.EventFacts:
    """What the fold needs of a recorded event (its station loaded)."""
    return fold.EventFacts(uuid=e.uuid, at=e.corrected_at, action=e.action, station=e.station,
                           actor_id=e.actor_id, destination_office_id=e.destination_office_id,
                           destination_station_id=e.destination_station_id)


def refresh_state(dossier: Dossier) -> dict[UUID, str | None]:
    """Replay every event of the dossier, store the state, each event's flag and the dossier's
    ended stays (rewritten whole; the open one is read from the state); return the flags."""
    calendar = _calendar_of(dossier)
    events = list(db.session.scalars(
        dossier.events.select().options(sa.orm.joinedload(ScanEvent.station))))
    plan = plan_of(dossier.procedure_version_id)
    replayed = stay_fold.replay_stays(initial_state(), map(event_facts, events), plan,
                                 working_hours_fn(calendar))
    for event in events:
        if event.flag != replayed.flags[event.uuid]:
            event.flag = replayed.flags[event.uuid]
    _write_state(dossier, replayed.state, calendar)
    _write_stay_log(dossier, replayed.log, replayed.state)
    processing = processing_hours(replayed.stays)
    if processing != dossier.processing_hours:
        dossier.processing_hours = processing
    db.session.flush()
    gone = db.session.execute(sa.delete(_STAYS).where(_STAYS.c.dossier_id == dossier.id)
                              .returning(_STAYS.c.interval, _STAYS.c.ended_at)).all()
    rollup.invalidate([row.ended_at for row in gone if row.interval == stay_fold.PROCESSING]
                      + [stay.ended_at for stay in replayed.stays
                         if stay.interval == stay_fold.PROCESSING])
    _write_stays([_stay_row(dossier, stay) for stay in replayed.stays
                  if stay.ended_at is not None])
    return replayed.flags


def _stay_row(dossier: Dossier, stay: stay_fold.StayFacts) -> dict[str, Any]:
    step = stay.step
    return {"dossier_id": dossier.id, "event_uuid": stay.event_uuid,
            "procedure_id": procedure_name(dossier.procedure_version_id).id,
            "office_id": stay.office_id, "station_id": stay.station_id,
            "holder_id": stay.holder_id, "plan_position": step.position if step else None,
            "step_name": step.name if step else None,
            "budget_hours": step.budget_hours if step else None, "interval": stay.interval,
            "started_at": stay.started_at, "ended_at": stay.ended_at,
            "working_hours": stay.working_hours, "calendar_hours": stay.calendar_hours,
            "paused_hours": stay.paused_hours, "verdict": stay.verdict,
            "dossier_supplement_count": stay.snapshot.supplement_count,
            "dossier_paused_hours": stay.snapshot.paused_hours,
            "dossier_paused_since": stay.snapshot.paused_since,
            "dossier_finished_at": stay.snapshot.finished_at}


def processing_hours(stays: Iterable[stay_fold.StayFacts]) -> decimal.Decimal:
    """The working hours of the ended processing stays (``Dossier.processing_hours``)."""
    return sum((s.working_hours for s in stays
                if s.interval == stay_fold.PROCESSING and s.working_hours is not None),
               _ZERO)


_ZERO = decimal.Decimal(0)


def _stay_log(dossier: Dossier, state: fold.DossierState,
              plan: Sequence[PlanStep]) -> stay_fold.StayLog:
    return stay_fold.StayLog.resume(state, plan, dossier.stay_position,
                                    dossier.step_charged_hours, station_office)


def _write_stay_log(dossier: Dossier, log: stay_fold.StayLog, state: fold.DossierState) -> None:
    for key, value in _stay_log_values(log, state).items():
        setattr(dossier, key, value)


def _stay_log_values(log: stay_fold.StayLog, state: fold.DossierState) -> dict[str, Any]:
    return {"stay_position": log.open_position,
            "step_charged_hours": log.charged_to(state.plan_position)}


# --- writing a batch of scans -----------------------------------------------------------------

_STAYS = cast(sa.Table, Stay.__table__)
_EVENTS = cast(sa.Table, ScanEvent.__table__)
_DOSSIERS = cast(sa.Table, Dossier.__table__)
_HEADS = cast(sa.Table, ScanChainHead.__table__)
_STAY_COLUMNS = tuple(c.key for c in _STAYS.columns if c.key != "id")
_EVENT_COLUMNS = tuple(c.key for c in _EVENTS.columns if c.key != "id")
# What the folds store on a dossier (_write_state, _write_stay_log, the processing hours).
_FOLD_COLUMNS = (
    "status", "current_station_id", "current_holder_id", "plan_position", "paused_since",
    "paused_hours", "due_at", "supplement_count", "awaiting_supplement", "awaiting_payment",
    "finished_at", "returned_at", "last_event_at", "last_event_uuid", "sent_to_office_id",
    "in_transit_since", "transit_to_office_id", "transit_to_station_id", "stay_position",
    "step_charged_hours", "processing_hours")
_FOLD_SET = frozenset(_FOLD_COLUMNS)
_STATE_KEYS = ("id", *_FOLD_COLUMNS)  # the dossiers' rows in the statement
_HEAD_KEYS = tuple(c.key for c in _HEADS.columns)


class DuplicateEvents(Conflict):
    """Events of a batch were on file already when they were written (an agent's retry of a
    batch whose answer it lost, or a racing request): the transaction must be rolled back and
    the batch taken again with the duplicate check (``ingest_scans(check_duplicates=True)``).
    """

    code = "retry"


def _write_scans(dossiers: Sequence[Dossier], states: Mapping[Dossier, Mapping[str, Any]],
                 events: Sequence[ScanEvent], stays: Sequence[Mapping[str, Any]],
                 before_chain: Callable[[], None] | None = None) -> None:
    """Write what a batch of scans did to ``dossiers``: the new column values of those the
    fold advanced (``states``, which hold their open stays too) and the stays the scans
    ended (``stays``: inserted whole, never updated); then the new events, linked into their
    offices' hash chains (app.tracking.audit), whose heads stay locked until the commit: so
    the events go last, and as little as possible happens under that lock.

    An event id on file already is skipped by the database (``ON CONFLICT DO NOTHING``)
    rather than failing the batch, and the count written tells whether one was; the whole
    transaction must then be rolled back, so no chain ever links an event that was not
    written.

    On PostgreSQL each part is one statement whatever the batch (the heads' lock is one
    more): each table's rows travel as one JSON parameter read by ``batch_rows``
    (:data:`app.db.BATCH_ROWS_DDL`: a short statement text with one generic plan, and no
    per-value adaptation), and data-modifying ``WITH`` clauses see the tables as they were,
    never the new rows. The dossiers' values are set on the objects as stored, so the unit of work
    never looks at them again. On SQLite, they are set and flushed, and one statement a
    table follows.

    :param before_chain: called between the two: what the caller can do before the lock.
    :raises DuplicateEvents: an event's id was on file already.
    """
    connection = db.session.connection()
    dialect = connection.dialect
    postgres = dialect.name == "postgresql"
    if postgres:
        stored = [{key: values[key] if key in values else getattr(dossier, key)
                   for key in _STATE_KEYS} for dossier, values in states.items()]
        connection.execute(_WRITE_STATES, {
            "dossiers": _json_rows(_DOSSIERS, _STATE_KEYS, dialect, stored),
            "stays": _json_rows(_STAYS, _STAY_COLUMNS, dialect, stays)})
        for dossier, values in states.items():
            # A value outside the statement's columns would be lost: a programming error.
            assert values.keys() <= _FOLD_SET, values.keys() - _FOLD_SET
            for key, value in values.items():
                if getattr(dossier, key) != value:
                    sa.orm.attributes.set_committed_value(dossier, key, value)
    else:
        for dossier, values in states.items():
            for key, value in values.items():
                setattr(dossier, key, value)
        db.session.flush()
        _write_stays(stays)
    if before_chain is not None:
        before_chain()
    heads = audit.link_events(events, {dossier.id: dossier.code for dossier in dossiers})
    # Read from each new (transient) event's attribute dict: an unset column is None, as by
    # getattr, without the descriptor's cost per column.
    rows = [{key: values.get(key) for key in _EVENT_COLUMNS}
            for values in map(sa.orm.attributes.instance_dict, events)]
    if postgres:
        written = len(connection.execute(_WRITE_EVENTS, {
            "heads": _json_rows(_HEADS, _HEAD_KEYS, dialect, audit.head_rows(heads)),
            "events": _json_rows(_EVENTS, _EVENT_COLUMNS, dialect, rows)}).all())
    else:
        audit.store_heads(heads)
        insert = sqlite.insert(_EVENTS).on_conflict_do_nothing(index_elements=["uuid"])
        if len(rows) == 1:
            written = len(connection.execute(insert.returning(_EVENTS.c.uuid), rows[0]).all())
        else:
            written = connection.execute(insert, rows).rowcount
    if written != len(events):
        msg = "Some events of this batch were recorded meanwhile; send it again."
        raise DuplicateEvents(msg)


def _write_stays(stays: Sequence[Mapping[str, Any]]) -> None:
    """Write ended stays (see :func:`_write_scans`) by the ORM's statement: on SQLite, and
    for a dossier's stays rewritten whole after a late scan."""
    if stays:
        db.session.connection().execute(sa.insert(_STAYS), list(stays))


def _recordset(table: sa.Table, param: str) -> str:
    return f"batch_rows(NULL::{table.name}, CAST(:{param} AS json))"  # see app.db


def _columns(keys: Iterable[str]) -> str:
    return ", ".join(keys)


def _sets(keys: Iterable[str]) -> str:
    return ", ".join(f"{key} = v.{key}" for key in keys)


_WRITE_STATES = sa.text(
    f"WITH states AS (UPDATE dossier SET {_sets(_FOLD_COLUMNS)} "
    f"FROM {_recordset(_DOSSIERS, 'dossiers')} AS v WHERE dossier.id = v.id) "
    f"INSERT INTO stay ({_columns(_STAY_COLUMNS)}) "
    f"SELECT {_columns(_STAY_COLUMNS)} FROM {_recordset(_STAYS, 'stays')}")
_WRITE_EVENTS = sa.text(
    "WITH heads AS (UPDATE scan_chain_head SET seq = v.seq, head_hash = v.head_hash "
    f"FROM {_recordset(_HEADS, 'heads')} AS v WHERE scan_chain_head.office_id = v.office_id) "
    f"INSERT INTO scan_event ({_columns(_EVENT_COLUMNS)}) "
    f"SELECT {_columns(_EVENT_COLUMNS)} FROM {_recordset(_EVENTS, 'events')} "
    "ON CONFLICT (uuid) DO NOTHING RETURNING uuid")


@functools.cache
def _json_converters(table: sa.Table, keys: tuple[str, ...],
                     dialect: sa.Dialect) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    """The table's ``keys`` whose values JSON does not carry as they are (enum members by
    name, times in UTC), with their bind processors."""
    return tuple((key, processor) for key in keys
                 if isinstance(table.c[key].type, (sa.Enum, sa.TypeDecorator))
                 and (processor := table.c[key].type.bind_processor(dialect)) is not None)


def _json_rows(table: sa.Table, keys: tuple[str, ...], dialect: sa.Dialect,
               rows: Sequence[Mapping[str, Any]]) -> str:
    """``rows`` (with ``keys`` at least: PostgreSQL ignores the others) as the JSON array
    ``batch_rows`` reads: times, UUIDs and decimals as their text, which PostgreSQL parses by
    the column's type."""
    converters = _json_converters(table, keys, dialect)
    return json.dumps([dict(row) | {key: convert(row[key]) for key, convert in converters}
                       for row in rows], default=str, separators=(",", ":"))


def _record_events(fresh: Mapping[Dossier, Sequence[ScanEvent]],
                   before_chain: Callable[[], None] | None = None) -> None:
    """Record new events and bring their dossiers up to date; call ``before_chain`` before
    the events take their offices' chain lock when every flag is settled by then (no dossier
    needed a replay), and not at all otherwise.

    A dossier whose new events all come after what is already known takes one fold step per
    event, with the flags settled before the INSERT; one with a late event is replayed whole
    after it. The dossiers' new state, their stays and the events are written by
    :func:`_write_scans`, in a statement or two whatever the batch size.
    """
    late: list[tuple[Dossier, list[ScanEvent]]] = []
    everything: list[ScanEvent] = []
    ended: list[dict[str, Any]] = []  # the stays this batch ended (the open ones have no row)
    # Processing stays ended before this month: their month's rollup is stale.
    this_month = rollup.month_bounds(rollup.month_of(utcnow(), rollup.zone()), rollup.zone())[0]
    backdated: list[dt.datetime] = []
    states: dict[Dossier, dict[str, Any]] = {}  # the in-order dossiers' new column values
    with db.session.no_autoflush:
        for dossier, new in fresh.items():
            ordered = sorted(new, key=lambda e: (e.corrected_at, e.uuid))
            everything.extend(ordered)
            current = read_state(dossier)
            key = current.order_key
            if key is not None and (ordered[0].corrected_at, ordered[0].uuid) < key:
                late.append((dossier, ordered))
                continue
            calendar = _calendar_of(dossier)
            hours = working_hours_fn(calendar)
            plan = plan_of(dossier.procedure_version_id)
            log = (_stay_log(dossier, current, plan) if key is not None
                   else stay_fold.StayLog())
            processing = dossier.processing_hours or _ZERO
            for event in ordered:
                facts = event_facts(event)
                after, event.flag = fold.apply_event(current, facts, plan, hours)
                log, done, stay = stay_fold.advance_stays(log, current, after, facts, event.flag,
                                                     plan, hours)
                if done is not None and done.interval == stay_fold.PROCESSING:
                    processing += done.working_hours or _ZERO
                    if done.ended_at is not None and done.ended_at < this_month:
                        backdated.append(done.ended_at)
                if done is not None:
                    ended.append(_stay_row(dossier, done))
                if stay.ended_at is not None:  # a closed file's: ended as it began
                    ended.append(_stay_row(dossier, stay))
                current = after
            states[dossier] = (_state_values(dossier, current, calendar)
                               | _stay_log_values(log, current)
                               | {"processing_hours": processing})
    rollup.invalidate(backdated)
    _write_scans(list(fresh), states, everything, ended, None if late else before_chain)
    for dossier, ordered in late:
        flags = refresh_state(dossier)
        for event in ordered:
            event.flag = flags[event.uuid]


# --- scan ingest ------------------------------------------------------------------------------

@dataclass
class ScanResult:
    id: str | None
    status: str  # accepted | duplicate | rejected
    reason: str | None = None
    message: str = ""
    dossier: Dossier | None = None
    flag: str | None = None
    event: ScanEvent | None = None
    # The person the event names (a badge or username), when it names one of the caller's
    # offices' active staff; else why it was recorded without a person (ACTOR_FLAGS).
    actor: User | None = None
    actor_flag: str | None = None


UNKNOWN_ACTOR = "unknown_actor"
"""The event names a badge or username of no active user: kept, without a person."""
FOREIGN_ACTOR = "foreign_actor"
"""The event names staff of an office other than the caller's: kept, without a person."""
ACTOR_FLAGS = (UNKNOWN_ACTOR, FOREIGN_ACTOR)


@dataclass(frozen=True)
class ScanCommand:
    """One scan, its shape already checked: what a device or a staff page says happened."""

    id: UUID
    ref: ScannedRef
    code_raw: str
    scanned_at: dt.datetime  # aware, UTC
    sent_at: dt.datetime | None
    station_code: str | None
    action: ScanAction | None
    actor: str = ""
    seq: int | None = None
    note: str = ""
    destination: str | None = None  # office or station code the dossier is sent to


@dataclass(frozen=True)
class RejectedScan:
    """An event refused before it reached the domain (malformed, bad code, bad time)."""

    id: str | None
    reason: str
    message: str


def _max_age() -> dt.timedelta:
    # Capped at a century, so that ``now - _max_age()`` stays representable.
    return dt.timedelta(days=min(int(current_app.config["SCAN_MAX_AGE_DAYS"]), 36_500))


def _time_window(cmd: ScanCommand, now: dt.datetime,
                 threshold: dt.timedelta) -> str | None:
    """Why the scan's time is outside the sane window (after clock correction), or None.

    The boundary keeps raw times between 1970 and 2200, so the correction below cannot
    overflow; a device clock that is off but sent ``sent_at`` is corrected first, so only
    a time that stays absurd is refused.
    """
    at = corrected_time(cmd.scanned_at, cmd.sent_at, now, threshold)
    if at > now + threshold:
        return "scanned_at lies in the future (after clock correction)"
    if at < now - _max_age():
        return f"scanned_at is more than {_max_age().days} days ago"
    return None


def corrected_time(scanned_at: dt.datetime, sent_at: dt.datetime | None,
                   received_at: dt.datetime, threshold: dt.timedelta) -> dt.datetime:
    """Place a scan on the server's clock when the device clock is visibly off.

    The transit time of a request is small, so a gap between the device's ``sent_at`` and the
    server's ``received_at`` beyond ``threshold`` is the device's clock error; it is removed
    from the scan time. Both original times are kept on the event.
    """
    if sent_at is None:
        return scanned_at
    if abs(received_at - sent_at) <= threshold:
        return scanned_at
    try:
        return received_at - (sent_at - scanned_at)
    except OverflowError:
        # Only absurd inputs get here; answer an end of time, which no window accepts.
        end = dt.datetime.max if sent_at < scanned_at else dt.datetime.min
        return end.replace(tzinfo=dt.UTC)


def _load_dossiers(refs: Sequence[ScannedRef]) -> dict[tuple[str, str], Dossier]:
    numbers = {r.value for r in refs if r.kind == "tracking_number"}
    codes = {r.value for r in refs if r.kind == "official_code"}
    conditions = []
    if numbers:
        conditions.append(Dossier.tracking_number.in_(numbers))
    if codes:
        conditions.append(Dossier.code.in_(codes))
    if not conditions:
        return {}
    # Each result's dossier summary (read_models.device_view) takes the procedure's name and
    # the office's calendar from per-process caches, so only the dossiers are loaded.
    stmt = (sa.select(Dossier).where(sa.or_(*conditions)).order_by(Dossier.id)
            .with_for_update(of=Dossier))
    found: dict[tuple[str, str], Dossier] = {}
    for dossier in db.session.scalars(stmt):
        found[("tracking_number", dossier.tracking_number)] = dossier
        found[("official_code", dossier.code)] = dossier
    return found


def ingest_scans(principal: Principal, commands: Sequence[ScanCommand | RejectedScan], *,
                 check_duplicates: bool = True,
                 on_settled: Callable[[list[ScanResult]], None] | None = None,
                 ) -> list[ScanResult]:
    """Record a batch of scans from a device or a staff page; one result per event, in order.

    Each event is judged alone: one refused at the boundary, dated outside the sane window
    (``bad_time``) or unknown is rejected with a reason while its neighbours are recorded.
    An id seen before answers ``duplicate`` and writes nothing. A dossier outside the
    caller's scope, or an action the caller may not post, is rejected (``out_of_scope``,
    ``action_not_allowed``; see :mod:`app.tracking.scope`) and changes nothing the owners
    see; out-of-scope attempts are kept for their supervisors.

    :param commands: the batch's events in order, each checked or already refused.
    :param check_duplicates: look the ids up before anything is written. Without it (the
        optimistic first try: duplicates are rare, and the lookup is a round trip) a
        duplicate is caught when the events are written.
    :param on_settled: called once with the results as soon as they are final: before the
        events take their offices' chain lock (held until the commit) unless a late scan's
        dossier had to be replayed after they were written. What the caller makes of the
        results there (the API's answers) is then made outside the lock.
    :raises DuplicateEvents: without ``check_duplicates``, an event was on file already.
    """
    now = utcnow()
    threshold = dt.timedelta(seconds=current_app.config["CLOCK_SKEW_THRESHOLD_SECONDS"])
    results: list[ScanResult | None] = [None] * len(commands)
    parsed: list[tuple[int, ScanCommand]] = []
    for index, cmd in enumerate(commands):
        if isinstance(cmd, RejectedScan):
            results[index] = ScanResult(cmd.id, "rejected", cmd.reason, cmd.message)
        elif (why := _time_window(cmd, now, threshold)) is not None:
            results[index] = ScanResult(str(cmd.id), "rejected", "bad_time", why)
        else:
            parsed.append((index, cmd))

    # Locking the dossiers first serializes concurrent batches that touch them, so the
    # duplicate check below sees what a racing request has just committed.
    dossiers = _load_dossiers([p.ref for _, p in parsed])
    known = _known_events([p.id for _, p in parsed]) if check_duplicates else {}
    stations = {s.code: s for s in principal.scan_stations()}
    default_station = next(iter(stations.values()), None)
    actors = _load_actors({p.actor for _, p in parsed if p.actor})
    device = principal.device
    gate = scope.ScanGate(principal, now)

    fresh: dict[Dossier, list[ScanEvent]] = {}
    seen: set[UUID] = set()
    for index, p in parsed:
        if p.id in known or p.id in seen:
            prior = known.get(p.id)
            results[index] = ScanResult(
                str(p.id), "duplicate", None, "already recorded",
                db.session.get(Dossier, prior) if prior is not None
                else dossiers.get((p.ref.kind, p.ref.value)))
            continue
        dossier = dossiers.get((p.ref.kind, p.ref.value))
        if dossier is None:
            results[index] = ScanResult(str(p.id), "rejected", "unknown_code",
                                        f"no dossier {p.ref.value}")
            continue
        if p.station_code is None:
            station = default_station
            if station is None:
                results[index] = ScanResult(str(p.id), "rejected", "no_station",
                                            "no station is bound to this caller")
                continue
        else:
            station = stations.get(p.station_code)
            if station is None:
                results[index] = ScanResult(
                    str(p.id), "rejected", "station_not_allowed",
                    f"station {p.station_code} is not one this device may scan at")
                continue
        actor, actor_flag = _attribute(principal, p.actor, actors)
        event = ScanEvent(
            uuid=p.id, dossier_id=dossier.id, station_id=station.id,
            action=p.action or ScanAction.TRANSFER_IN, actor_id=actor.id if actor else None,
            actor_raw=p.actor or (principal.user.username if principal.user else ""),
            device_id=device.id if device else None,
            user_id=principal.user.id if principal.user else None,
            code_scanned=p.code_raw[:512], seq=p.seq, note=p.note, scanned_at=p.scanned_at,
            sent_at=p.sent_at, received_at=now,
            corrected_at=corrected_time(p.scanned_at, p.sent_at, now, threshold))
        # Set as loaded: the event is written by statement, never by the unit of work, so
        # the relationship's change events (half the cost of the object) serve nothing.
        sa.orm.attributes.set_committed_value(event, "station", station)
        refusal = gate.judge(dossier, event, p.destination)
        if refusal is not None:
            results[index] = ScanResult(str(p.id), "rejected", refusal.reason, refusal.message)
            continue
        seen.add(p.id)
        fresh.setdefault(dossier, []).append(event)
        results[index] = ScanResult(str(p.id), "accepted", None, "", dossier, event=event,
                                    actor=actor if p.actor else None, actor_flag=actor_flag)
    settled: list[list[ScanResult]] = []  # the results, once settle() has run

    def settle() -> None:
        gate.record_refused()
        done = [r for r in results if r is not None]
        for r in done:
            if r.event is not None:
                r.flag = r.event.flag
                r.message = _accepted_message(r)
        settled.append(done)
        if on_settled is not None:
            on_settled(done)

    if fresh:
        _record_events(fresh, settle)
    if not settled:
        settle()
    return settled[0]


def _accepted_message(result: ScanResult) -> str:
    assert result.dossier is not None and result.event is not None
    where = result.event.station.name
    if result.flag:
        return f"{result.dossier.code} recorded at {where}, flagged {result.flag}"
    return f"{result.dossier.code} now at {where}"


def _known_events(ids: Sequence[UUID]) -> dict[UUID, int]:
    """Which of these event ids are recorded already, and for which dossier."""
    if not ids:
        return {}
    rows = db.session.execute(sa.select(ScanEvent.uuid, ScanEvent.dossier_id)
                              .where(ScanEvent.uuid.in_(set(ids))))
    return {row.uuid: row.dossier_id for row in rows}


def _attribute(principal: Principal, name: str,
               actors: Mapping[str, User]) -> tuple[User | None, str | None]:
    """Who an event is attributed to, and why nobody when it names someone.

    An event that names nobody is the caller's own (a staff page; a device has no user). One
    that names a badge or username is attributed only to an active user of the caller's
    offices: a scan is never credited to a stranger nor lost for it. The event is kept with
    the name as sent (``actor_raw``) and a flag, :data:`UNKNOWN_ACTOR` or
    :data:`FOREIGN_ACTOR`, in its result.
    """
    if not name:
        return principal.user, None
    user = actors.get(name.upper())
    if user is None or not user.active:
        return None, UNKNOWN_ACTOR
    if user.office_id not in principal.office_ids:
        return None, FOREIGN_ACTOR
    return user, None


def _load_actors(names: set[str]) -> dict[str, User]:
    if not names:
        return {}
    upper = {n.upper() for n in names}
    stmt = sa.select(User).where(sa.or_(sa.func.upper(User.username).in_(upper),
                                        sa.func.upper(User.badge).in_(upper)))
    found: dict[str, User] = {}
    for user in db.session.scalars(stmt):
        found[user.username.upper()] = user
        if user.badge:
            found[user.badge.upper()] = user
    return found


# --- reading ----------------------------------------------------------------------------------

def resolve_dossier(reference: str, principal: Principal | None = None) -> Dossier:
    """Find a dossier by code, tracking number or receipt link, within the caller's scope.

    Out-of-scope dossiers answer exactly like unknown ones, so codes cannot be probed.

    :raises NotFound: unknown, unparseable or out of scope.
    """
    try:
        ref = parse_reference(reference)
    except BadReference as exc:
        raise NotFound(exc.message) from exc
    column = Dossier.tracking_number if ref.kind == "tracking_number" else Dossier.code
    dossier = db.session.scalar(sa.select(Dossier).where(column == ref.value))
    if dossier is None or (principal is not None and not can_see(principal, dossier)):
        raise NotFound(f"no dossier {ref.value}")
    return dossier


def find_for_lookup(code: str, secret: str | None) -> Dossier:
    """The dossier a public lookup asks for.

    :raises NotFound: unknown code, or a secret that does not match — the same answer for
        both, so a code cannot be confirmed by guessing secrets.
    """
    try:
        dossier = resolve_dossier(code)
    except NotFound:
        dossier = None
    if dossier is None or (secret is not None and not check_lookup_secret(dossier, secret)):
        raise NotFound("No dossier matches this code and secret.")
    return dossier


def can_see(principal: Principal, dossier: Dossier) -> bool:
    """The scope rule of :mod:`app.tracking.scope`: owners, province-wide staff, guests."""
    return scope.in_scope(principal, dossier)
