"""stay state: each stay keeps the dossier's state after the scan that began it; backfilled
by replay

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 09:00:00

The on-time report under Decision 766 judges a dossier at a past period end from its state
then: the snapshot of its last stay begun by then (``app.tracking.stays.Snapshot``) instead
of a replay of its events. Existing stays get theirs here as migration 0011 built the stays:
the same fold (:func:`app.tracking.stays.replay_stays`) over the recorded events, read with
plain SQL in batches of dossiers so that memory stays flat whatever the table's size.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

from app.db import UTCDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table("stay", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dossier_supplement_count", sa.Integer(),
                                      server_default="0", nullable=False))
        batch_op.add_column(sa.Column("dossier_paused_hours", sa.Numeric(precision=10, scale=2),
                                      server_default="0", nullable=False))
        batch_op.add_column(sa.Column("dossier_paused_since", UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column("dossier_finished_at", UTCDateTime(timezone=True),
                                      nullable=True))
    backfill(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("stay", schema=None) as batch_op:
        batch_op.drop_column("dossier_finished_at")
        batch_op.drop_column("dossier_paused_since")
        batch_op.drop_column("dossier_paused_hours")
        batch_op.drop_column("dossier_supplement_count")


# --- the backfill: frozen table shapes, the live fold ---------------------------------------

_meta = sa.MetaData()
_dossier = sa.Table("dossier", _meta, sa.Column("id", sa.Integer),
                    sa.Column("procedure_version_id", sa.Integer),
                    sa.Column("receiving_office_id", sa.Integer))
_step = sa.Table("procedure_step", _meta, sa.Column("version_id", sa.Integer),
                 sa.Column("position", sa.Integer), sa.Column("name", sa.String),
                 sa.Column("station_id", sa.Integer), sa.Column("station_kind", sa.String),
                 sa.Column("budget_hours", sa.Numeric(10, 2)))
_station = sa.Table("station", _meta, sa.Column("id", sa.Integer),
                    sa.Column("office_id", sa.Integer), sa.Column("kind", sa.String))
_office = sa.Table("office", _meta, sa.Column("id", sa.Integer),
                   sa.Column("office_hours", sa.String), sa.Column("timezone", sa.String))
_override = sa.Table("calendar_override", _meta, sa.Column("office_id", sa.Integer),
                     sa.Column("day", sa.Date), sa.Column("kind", sa.String))
_event = sa.Table("scan_event", _meta, sa.Column("uuid", sa.Uuid),
                  sa.Column("dossier_id", sa.Integer), sa.Column("station_id", sa.Integer),
                  sa.Column("action", sa.String), sa.Column("actor_id", sa.Integer),
                  sa.Column("destination_office_id", sa.Integer),
                  sa.Column("destination_station_id", sa.Integer),
                  sa.Column("corrected_at", UTCDateTime(timezone=True)))
_stay = sa.Table("stay", _meta, sa.Column("id", sa.Integer),
                 sa.Column("dossier_id", sa.Integer), sa.Column("event_uuid", sa.Uuid),
                 sa.Column("dossier_supplement_count", sa.Integer),
                 sa.Column("dossier_paused_hours", sa.Numeric(10, 2)),
                 sa.Column("dossier_paused_since", UTCDateTime(timezone=True)),
                 sa.Column("dossier_finished_at", UTCDateTime(timezone=True)))


def backfill(connection: sa.Connection) -> int:
    """Replay every dossier's events and store on each of its stays the dossier's state
    after the scan that began it; returns how many stays were updated."""
    from app.offices.models import Station, StationKind
    from app.procedures.operations import PlanStep
    from app.tracking.models import ScanAction
    from app.tracking.operations import initial_state, working_hours_fn
    from app.tracking.state import EventFacts
    from app.tracking.stays import replay_stays
    from app.worktime import OfficeHours, WorkCalendar

    stations = {row.id: Station(id=row.id, office_id=row.office_id, kind=StationKind[row.kind])
                for row in connection.execute(sa.select(_station))}
    plans: dict[int, list[PlanStep]] = {}
    for row in connection.execute(sa.select(_step, _station.c.office_id).outerjoin(
            _station, _station.c.id == _step.c.station_id).order_by(_step.c.position)):
        plans.setdefault(row.version_id, []).append(PlanStep(
            row.position, row.name, row.station_id,
            StationKind[row.station_kind] if row.station_kind else None,
            decimal.Decimal(row.budget_hours), row.office_id))
    overrides = connection.execute(sa.select(_override)).all()
    calendars: dict[int, WorkCalendar] = {}
    for office in connection.execute(sa.select(_office)):
        days: dict[dt.date, str] = {}
        # The office's own overrides beat the all-offices ones.
        for row in sorted(overrides, key=lambda r: r.office_id is not None):
            if row.office_id in (None, office.id):
                days[row.day] = row.kind
        calendars[office.id] = WorkCalendar(
            OfficeHours.parse(office.office_hours), office.timezone,
            extra_days_off=tuple(sorted(d for d, k in days.items() if k == "DAY_OFF")),
            extra_working_days=tuple(sorted(d for d, k in days.items() if k == "WORKING_DAY")))

    written = 0
    for batch in _dossier_batches(connection):
        ids = [d.id for d in batch]
        events: dict[int, list[EventFacts]] = {}
        for row in connection.execute(sa.select(_event).where(_event.c.dossier_id.in_(ids))):
            events.setdefault(row.dossier_id, []).append(EventFacts(
                uuid=row.uuid, at=row.corrected_at, action=ScanAction[row.action],
                station=stations[row.station_id], actor_id=row.actor_id,
                destination_office_id=row.destination_office_id,
                destination_station_id=row.destination_station_id))
        # A stay per scan, found by the scan that began it.
        stay_ids = {(row.dossier_id, row.event_uuid): row.id for row in connection.execute(
            sa.select(_stay.c.id, _stay.c.dossier_id, _stay.c.event_uuid)
            .where(_stay.c.dossier_id.in_(ids)))}
        rows: list[dict[str, Any]] = []
        for dossier in batch:
            replayed = replay_stays(
                initial_state(), events.get(dossier.id, ()),
                plans.get(dossier.procedure_version_id, ()),
                working_hours_fn(_constant(calendars[dossier.receiving_office_id])))
            for stay in replayed.stays:
                stay_id = stay_ids.get((dossier.id, stay.event_uuid))
                if stay_id is None:
                    continue
                state = stay.snapshot
                rows.append({"_id": stay_id, "_count": state.supplement_count,
                             "_hours": state.paused_hours, "_since": state.paused_since,
                             "_finished": state.finished_at})
        if rows:
            connection.execute(
                sa.update(_stay).where(_stay.c.id == sa.bindparam("_id"))
                .values(dossier_supplement_count=sa.bindparam("_count"),
                        dossier_paused_hours=sa.bindparam("_hours"),
                        dossier_paused_since=sa.bindparam("_since"),
                        dossier_finished_at=sa.bindparam("_finished")), rows)
            written += len(rows)
    return written


def _constant(calendar: Any) -> Any:
    return lambda: calendar


def _dossier_batches(connection: sa.Connection) -> Iterator[list[Any]]:
    last = 0
    while True:
        batch = connection.execute(
            sa.select(_dossier).where(_dossier.c.id > last).order_by(_dossier.c.id)
            .limit(BATCH)).all()
        if not batch:
            return
        yield batch
        last = batch[-1].id
