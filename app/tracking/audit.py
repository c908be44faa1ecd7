"""Tamper evidence: scan events are hash-chained per office, and the chain can be verified.

Every event is a link of the chain of its office (the office of the station scanned at):
its position ``chain_seq`` (1, 2, …), the previous link's hash ``prev_hash`` (:data:`GENESIS`
for the first) and ``row_hash`` = SHA-256 of ``prev_hash`` and the event's canonical fields
(:class:`Canonical`: the facts a scan records, by code where the thing has one; never the
derived ``flag``, which replays rewrite). ``scan_chain_head`` keeps each chain's last position
and hash.

Appending locks the office's head row until the transaction ends (:func:`link_events`), so
concurrent writers on PostgreSQL append one after the other; SQLite serializes writers
anyway. The events of a transaction that rolls back (a batch with a duplicate id, see
``operations.DuplicateEvents``) leave the chain as it was.

:func:`verify` walks each chain in order and names the first row that was edited, deleted or
inserted behind the application's back. The hash carries no secret, so anyone holding a copy
of the database can check it; a rewrite of a whole chain's tail including its head is caught
only against a head recorded elsewhere, which is why ``tracker audit verify`` prints every
head (keep the lines, e.g. in the monthly register's cover note).

No code path updates or deletes a scan event, except the derived flag: :func:`_append_only`
refuses any other change at flush, and ``tests/test_audit.py`` greps for bulk statements.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import click
import sqlalchemy as sa
from flask.cli import with_appcontext
from sqlalchemy import orm

from app.db import cached_for, db
from app.offices.models import Office, Station
from app.tracking.models import Dossier, ScanChainHead, ScanEvent

GENESIS = "0" * 64
MUTABLE = frozenset({"flag"})


class Canonical(NamedTuple):
    """What an event's hash covers, in this order (changing it breaks every chain)."""

    chain_seq: int
    uuid: uuid.UUID
    dossier: str
    station: str
    office: str
    action: str
    actor_raw: str
    code_scanned: str
    scanned_at: dt.datetime
    sent_at: dt.datetime | None
    received_at: dt.datetime
    corrected_at: dt.datetime
    destination_office: str | None
    destination_station: str | None
    device_id: int | None
    user_id: int | None
    seq: int | None
    note: str


def _plain(value: Any) -> Any:
    """A canonical field's JSON value where it is not one already."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not a canonical field type")


def row_hash(prev_hash: str, fields: Canonical) -> str:
    """SHA-256 (hex) of the previous link and the canonical JSON of ``fields``."""
    return _digest(prev_hash, _body(fields))


def _body(fields: Canonical) -> str:
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"), default=_plain)


def _digest(prev_hash: str, body: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


# --- appending --------------------------------------------------------------------------------

def _code_of(model: type[Office] | type[Station], key: int) -> str:
    # Codes never change once given, so a per-process cache is always right.
    return cached_for(f"audit.{model.__tablename__}", key, lambda: db.session.scalar(
        sa.select(model.code).where(model.id == key)) or "")


Heads = dict[int, tuple[int, str]]

# Plain SQL, the same on SQLite (3.35+) and PostgreSQL: on the hot path of every scan, a text
# statement skips the expression building and cache-key work of a constructed one.
_LOCK_HEAD = sa.text(
    "INSERT INTO scan_chain_head (office_id, seq, head_hash) VALUES (:office, 0, :genesis) "
    "ON CONFLICT (office_id) DO UPDATE SET seq = scan_chain_head.seq "
    "RETURNING seq, head_hash")
_MOVE_HEAD = sa.text(
    "UPDATE scan_chain_head SET seq = :last, head_hash = :hash WHERE office_id = :office")


def _chain_heads(office_ids: Iterable[int]) -> Heads:
    """Lock each office's chain head (created at need) and return its position and hash.

    One upsert per office, in office order so two transactions never wait on each other
    crosswise; the row stays locked until the transaction ends (as ``next_serial``'s).
    """
    connection = db.session.connection()
    heads: Heads = {}
    for office_id in sorted(office_ids):
        seq, head = connection.execute(_LOCK_HEAD, {"office": office_id,
                                                    "genesis": GENESIS}).one()
        heads[office_id] = (int(seq), head)
    return heads


def link_events(events: Sequence[ScanEvent], dossier_codes: Mapping[int, str]) -> Heads:
    """Give each new event its office and its link in that office's chain, in list order;
    return the chains' new heads (position and hash by office).

    Call right before the events are inserted, in the transaction that inserts them: the
    chain heads stay locked until it ends. The caller stores the new heads in the same
    transaction, with :func:`store_heads` or, on PostgreSQL, in the events' INSERT itself
    (:func:`head_rows`). The events' stations must be loaded.

    :param dossier_codes: the code of each event's dossier, by dossier id.
    """
    if not events:
        return {}
    # Each event's canonical JSON but its position, before the heads are locked (their lock
    # is held until the commit, so as little as possible happens under it): the body with
    # position 0 is "[0," and the rest.
    offices = {e.station.office_id for e in events}
    office_codes = {office_id: _code_of(Office, office_id) for office_id in offices}
    rests = [_body(_canonical_of(event, 0, dossier_codes, office_codes))[2:]
             for event in events]
    heads = _chain_heads(offices)
    for event, rest in zip(events, rests, strict=True):
        office_id = event.station.office_id
        seq, prev = heads[office_id]
        event.office_id, event.chain_seq, event.prev_hash = office_id, seq + 1, prev
        event.row_hash = _digest(prev, f"[{seq + 1}{rest}")
        heads[office_id] = (seq + 1, event.row_hash)
    return heads


def _canonical_of(event: ScanEvent, position: int, dossier_codes: Mapping[int, str],
                  office_codes: Mapping[int, str]) -> Canonical:
    return Canonical(
        chain_seq=position, uuid=event.uuid, dossier=dossier_codes[event.dossier_id],
        station=event.station.code, office=office_codes[event.station.office_id],
        action=event.action.value, actor_raw=event.actor_raw,
        code_scanned=event.code_scanned, scanned_at=event.scanned_at,
        sent_at=event.sent_at, received_at=event.received_at,
        corrected_at=event.corrected_at,
        destination_office=(_code_of(Office, event.destination_office_id)
                            if event.destination_office_id else None),
        destination_station=(_code_of(Station, event.destination_station_id)
                             if event.destination_station_id else None),
        device_id=event.device_id, user_id=event.user_id, seq=event.seq, note=event.note)


def store_heads(heads: Heads) -> None:
    """Move the chains' heads to what :func:`link_events` returned."""
    if heads:
        db.session.connection().execute(_MOVE_HEAD, [
            {"office": office, "last": seq, "hash": head}
            for office, (seq, head) in heads.items()])


def head_rows(heads: Heads) -> list[dict[str, Any]]:
    """The chains' new heads as ``scan_chain_head`` rows (to store them in the events'
    statement on PostgreSQL, one round trip less)."""
    return [{"office_id": office, "seq": seq, "head_hash": head}
            for office, (seq, head) in heads.items()]


@sa.event.listens_for(orm.Session, "before_flush")
def _append_only(session: orm.Session, _context: Any, _instances: Any) -> None:
    """Refuse, at flush, a deleted scan event or a change to any field but the flag."""
    for obj in session.deleted:
        if isinstance(obj, ScanEvent):
            msg = f"scan events are append-only: {obj.uuid} may not be deleted"
            raise AppendOnlyError(msg)
    for obj in session.dirty:
        if isinstance(obj, ScanEvent):
            changed = sorted(attr.key for attr in sa.inspect(obj).attrs
                             if attr.key not in MUTABLE and attr.history.has_changes())
            if changed:
                msg = f"scan events are append-only: {obj.uuid} may not change {changed}"
                raise AppendOnlyError(msg)


class AppendOnlyError(RuntimeError):
    """Code tried to edit or delete a recorded scan event."""


# --- verifying --------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Problem:
    """The first wrong row of a chain; ``event_id``/``uuid`` None when the chain's end is."""

    office: str
    event_id: int | None
    uuid: uuid.UUID | None
    chain_seq: int | None
    what: str

    def __str__(self) -> str:
        row = (f"event id {self.event_id} uuid {self.uuid} (position {self.chain_seq})"
               if self.event_id is not None else "the end of the chain")
        return f"office {self.office}: {row}: {self.what}"


@dataclasses.dataclass(frozen=True)
class ChainReport:
    """One office's chain: how many rows were checked, its head, and its first problem."""

    office: str
    rows: int
    head_seq: int
    head_hash: str
    problem: Problem | None


def _rows(office_id: int) -> sa.Result[Any]:
    dest_office, dest_station = orm.aliased(Office), orm.aliased(Station)
    e = ScanEvent
    stmt = (sa.select(e.id, e.uuid, e.chain_seq, e.prev_hash, e.row_hash,
                      Dossier.code.label("dossier"), Station.code.label("station"),
                      Office.code.label("office"), e.action, e.actor_raw, e.code_scanned,
                      e.scanned_at, e.sent_at, e.received_at, e.corrected_at,
                      dest_office.code.label("destination_office"),
                      dest_station.code.label("destination_station"), e.device_id,
                      e.user_id, e.seq, e.note)
            .join(Dossier, Dossier.id == e.dossier_id).join(Station, Station.id == e.station_id)
            .join(Office, Office.id == e.office_id)
            .outerjoin(dest_office, dest_office.id == e.destination_office_id)
            .outerjoin(dest_station, dest_station.id == e.destination_station_id)
            .where(e.office_id == office_id).order_by(e.chain_seq)
            .execution_options(yield_per=2000))
    return db.session.execute(stmt)


def _canonical(row: Any) -> Canonical:
    values = row._mapping
    return Canonical(**{name: values[name] for name in Canonical._fields
                        if name != "action"}, action=row.action.value)


def verify_office(office: Office) -> ChainReport:
    """Walk the office's chain in order; stop at the first row that is not as written."""
    head = db.session.get(ScanChainHead, office.id)
    head_seq, head_hash = (head.seq, head.head_hash) if head else (0, GENESIS)
    expected, prev, rows = 1, GENESIS, 0

    def problem(row: Any, what: str) -> ChainReport:
        return ChainReport(office.code, rows, head_seq, head_hash, Problem(
            office.code, row.id if row else None, row.uuid if row else None,
            row.chain_seq if row else None, what))

    with contextlib.closing(_rows(office.id)) as result:
        for row in result:
            if row.chain_seq > head_seq:
                return problem(row, f"inserted: its position lies beyond the chain's head "
                                    f"({head_seq})")
            if row.chain_seq != expected:
                missing = (f"position {expected}" if row.chain_seq == expected + 1
                           else f"positions {expected}–{row.chain_seq - 1}")
                return problem(row, f"deleted: the row(s) at {missing} before it are missing")
            if row.prev_hash != prev:
                return problem(row, "inserted or deleted before it: its link does not match "
                                    "the hash of the row before it")
            if row_hash(prev, _canonical(row)) != row.row_hash:
                return problem(row, "edited: its fields no longer match its hash")
            expected, prev, rows = expected + 1, row.row_hash, rows + 1
    if expected - 1 < head_seq:
        return problem(None, f"deleted: the last row(s), positions {expected}–{head_seq}, "
                             "are missing")
    if prev != head_hash:
        return problem(None, "the chain's head does not match its last row")
    return ChainReport(office.code, rows, head_seq, head_hash, None)


def verify(offices: Iterable[Office] | None = None) -> list[ChainReport]:
    """Every office's chain (or those given), checked."""
    if offices is None:
        offices = db.session.scalars(sa.select(Office).order_by(Office.code))
    return [verify_office(office) for office in offices]


# --- CLI --------------------------------------------------------------------------------------

@click.group("audit")
def audit_group() -> None:
    """Tamper evidence of the handoff log."""


@audit_group.command("verify")
@click.option("--office", "office_code", help="Only this office's chain (agency code).")
@with_appcontext
def verify_cmd(office_code: str | None) -> None:
    """Check the scan events' hash chains; exit 1 naming the first wrong row of each.

    Prints each office's head (position and hash): record it elsewhere, so that a rewrite of
    a whole chain's end is caught too.
    """
    offices = None
    if office_code:
        office = db.session.scalar(sa.select(Office).where(Office.code == office_code))
        if office is None:
            raise click.UsageError(f"no office with code {office_code}")
        offices = [office]
    broken = False
    for report in verify(offices):
        if report.problem is not None:
            broken = True
            click.echo(f"TAMPERED {report.problem}")
        else:
            click.echo(f"ok office {report.office}: {report.rows} events, head "
                       f"{report.head_seq} {report.head_hash}")
    if broken:
        raise SystemExit(1)
