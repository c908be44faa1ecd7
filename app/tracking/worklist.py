"""What staff must act on, and what the waiting room may see: read-side queries, no writes.

- :func:`work_queue`: the files a staff member holds, the late and the soon-due files of their
  lists (:func:`app.tracking.search.listed_for`, the same rows as ``GET /dossiers``), and the
  files sent to their offices; each list most urgent first. The page ``/queue`` and
  ``GET /api/v1/queue`` both render it.
- :func:`at_station`: the open files a station holds now, most urgent first (the live list
  of the page ``/station``).
- :func:`board`: one office's waiting-room board — results ready for pickup (code and masked
  name only), and the dossiers received and returned today.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa
from flask import current_app

from app.auth.tokens import Principal
from app.db import db
from app.offices.models import Office
from app.offices.operations import calendar_for, calendar_of
from app.tracking import queries, read_models
from app.tracking.models import Dossier, DossierStatus
from app.tracking.search import late_clause, listed_for, open_clause

QUEUE_LIMIT = 100
BOARD_LIMIT = 200
_URGENCY = {queries.LATE: 0, queries.APPROACHING: 1}


def _rows(dossiers: Iterable[Dossier]) -> list[read_models.QueueRow]:
    rows = [read_models.queue_row(d, queries.standing(d)) for d in dossiers]
    return sorted(rows, key=lambda r: (_URGENCY.get(r.on_time, 2), r.due_at))


def _load(stmt: sa.Select[Dossier]) -> list[Dossier]:
    return list(db.session.scalars(stmt.options(
        sa.orm.joinedload(Dossier.current_station), sa.orm.joinedload(Dossier.current_holder))))


def _count(stmt: sa.Select[Dossier]) -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0)


def _due_soon(principal: Principal, now: dt.datetime) -> list[Dossier]:
    """Open, not late, and within APPROACHING_DUE_HOURS of working time of the due time, on
    the receiving office's calendar (the one every verdict is judged on)."""
    hours = dt.timedelta(hours=float(current_app.config["APPROACHING_DUE_HOURS"]))
    candidates = sa.and_(listed_for(principal), open_clause(), sa.not_(late_clause(now)))
    offices = db.session.scalars(
        sa.select(Dossier.receiving_office_id).where(candidates).distinct()).all()
    if not offices:
        return []
    # Due before the instant that much working time after now: exact for a running clock, a
    # superset for a paused one (judged at the wait's start), which the verdict then settles.
    near = sa.or_(*(sa.and_(Dossier.receiving_office_id == office,
                            Dossier.due_at <= calendar_of(office).add_working_time(now, hours))
                    for office in offices))
    found = _load(sa.select(Dossier).where(candidates, near).order_by(Dossier.due_at))
    return [d for d in found if queries.standing(d).verdict == queries.APPROACHING]


def _destination(row: queries.TransitRow) -> int | None:
    """The office a file in transit goes to: its station's, else the one the send named."""
    return row.to_station.office_id if row.to_station else row.dossier.transit_to_office_id


def work_queue(principal: Principal, now: dt.datetime) -> read_models.WorkQueue:
    """The caller's work queue (a staff user: devices hold nothing)."""
    assert principal.user is not None
    held = sa.select(Dossier).where(open_clause(),
                                    Dossier.current_holder_id == principal.user.id)
    late = sa.select(Dossier).where(listed_for(principal), late_clause(now))
    soon = _due_soon(principal, now)
    offices = principal.office_ids
    transits = [row.dossier for row in queries.in_transit(offices, now)
                if _destination(row) in offices]
    return read_models.WorkQueue(
        counts=read_models.QueueCounts(held=_count(held), due_soon=len(soon), late=_count(late),
                                       in_transit=len(transits)),
        held=_rows(_load(held.order_by(Dossier.due_at).limit(QUEUE_LIMIT))),
        late=_rows(_load(late.order_by(Dossier.due_at).limit(QUEUE_LIMIT))),
        due_soon=_rows(soon[:QUEUE_LIMIT]), in_transit=_rows(transits[:QUEUE_LIMIT]),
        limit=QUEUE_LIMIT)


def at_station(principal: Principal, station_id: int) -> tuple[list[read_models.QueueRow], int]:
    """The open files at station ``station_id`` that the caller's lists hold (the most urgent
    ``QUEUE_LIMIT``), and how many there are."""
    here = sa.select(Dossier).where(listed_for(principal), open_clause(),
                                    Dossier.current_station_id == station_id)
    return _rows(_load(here.order_by(Dossier.due_at).limit(QUEUE_LIMIT))), _count(here)


def board(office: Office, now: dt.datetime) -> read_models.Board:
    """The waiting-room board of ``office`` at ``now``: "today" is the office's day."""
    tz = calendar_for(office).tz
    start = dt.datetime.combine(now.astimezone(tz).date(), dt.time(), tz).astimezone(dt.UTC)
    end = start + dt.timedelta(days=1)
    mine = Dossier.receiving_office_id == office.id
    ready = db.session.scalars(
        sa.select(Dossier).where(mine, Dossier.status == DossierStatus.PROCESSED)
        .order_by(Dossier.finished_at.desc(), Dossier.id.desc()).limit(BOARD_LIMIT))

    def today(column: sa.orm.InstrumentedAttribute[dt.datetime | None]) -> int:
        return int(db.session.scalar(sa.select(sa.func.count()).select_from(Dossier).where(
            mine, column >= start, column < end)) or 0)

    return read_models.Board(
        office=read_models.OfficeRef.of(office),
        ready=[read_models.board_row(d, tz) for d in ready],
        received_today=today(Dossier.received_at),  # type: ignore[arg-type]
        returned_today=today(Dossier.returned_at), as_of=now.astimezone(tz))
