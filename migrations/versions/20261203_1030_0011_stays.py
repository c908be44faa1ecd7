"""stays: where each dossier sat between one scan and the next; backfilled by replay

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 09:00:00

The ingest keeps the ``stay`` table from now on; existing dossiers get theirs here, by the
same fold (:func:`app.tracking.stays.replay_stays`) over their recorded events, read with
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

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BATCH = 1000


def upgrade() -> None:
    op.create_table(
        "stay",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("event_uuid", sa.Uuid(), nullable=False),
        sa.Column("procedure_id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("holder_id", sa.Integer(), nullable=True),
        sa.Column("plan_position", sa.Integer(), nullable=True),
        sa.Column("step_name", sa.String(length=200), nullable=True),
        sa.Column("budget_hours", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("interval", sa.String(length=16), nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("working_hours", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("calendar_hours", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("paused_hours", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossier.id"],
                                name=op.f("fk_stay_dossier_id_dossier")),
        sa.ForeignKeyConstraint(["holder_id"], ["user_account.id"],
                                name=op.f("fk_stay_holder_id_user_account")),
        sa.ForeignKeyConstraint(["office_id"], ["office.id"],
                                name=op.f("fk_stay_office_id_office")),
        sa.ForeignKeyConstraint(["procedure_id"], ["procedure.id"],
                                name=op.f("fk_stay_procedure_id_procedure")),
        sa.ForeignKeyConstraint(["station_id"], ["station.id"],
                                name=op.f("fk_stay_station_id_station")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stay")),
    )
    with op.batch_alter_table("stay", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stay_dossier_id"), ["dossier_id"], unique=False)
        batch_op.create_index("ix_stay_office_ended", ["office_id", "ended_at"],
                              unique=False)
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stay_position", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("step_charged_hours", sa.Numeric(precision=10, scale=2),
                                      nullable=False, server_default="0"))
    backfill(op.get_bind())
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.alter_column("step_charged_hours", existing_type=sa.Numeric(10, 2),
                              server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.drop_column("step_charged_hours")
        batch_op.drop_column("stay_position")
    with op.batch_alter_table("stay", schema=None) as batch_op:
        batch_op.drop_index("ix_stay_office_ended")
        batch_op.drop_index(batch_op.f("ix_stay_dossier_id"))
    op.drop_table("stay")


# --- the backfill: frozen table shapes, the live fold ---------------------------------------

_meta = sa.MetaData()
_dossier = sa.Table("dossier", _meta, sa.Column("id", sa.Integer),
                    sa.Column("procedure_version_id", sa.Integer),
                    sa.Column("receiving_office_id", sa.Integer),
                    sa.Column("stay_position", sa.Integer),
                    sa.Column("step_charged_hours", sa.Numeric(10, 2)))
_version = sa.Table("procedure_version", _meta, sa.Column("id", sa.Integer),
                    sa.Column("procedure_id", sa.Integer))
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
                  sa.Column("corrected_at", UTCDateTime(timezone=True)))
_stay = sa.Table(
    "stay", _meta, sa.Column("event_uuid", sa.Uuid),
    sa.Column("started_at", UTCDateTime(timezone=True)),
    sa.Column("ended_at", UTCDateTime(timezone=True)),
    *(sa.Column(name, sa.Integer) for name in (
        "dossier_id", "procedure_id", "office_id", "station_id", "holder_id", "plan_position")),
    *(sa.Column(name, sa.Numeric(12, 2)) for name in (
        "budget_hours", "working_hours", "calendar_hours", "paused_hours")),
    *(sa.Column(name, sa.String) for name in ("step_name", "interval", "verdict")))


def backfill(connection: sa.Connection) -> int:
    """Replay every dossier's events into its stays, and store where the stay fold ends on
    the dossier (``stay_position``, ``step_charged_hours``); returns how many stays were
    written."""
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
    procedures = dict(connection.execute(sa.select(_version.c.id, _version.c.procedure_id)).all())
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
        events: dict[int, list[EventFacts]] = {}
        for row in connection.execute(sa.select(_event).where(
                _event.c.dossier_id.in_([d.id for d in batch]))):
            events.setdefault(row.dossier_id, []).append(EventFacts(
                uuid=row.uuid, at=row.corrected_at, action=ScanAction[row.action],
                station=stations[row.station_id], actor_id=row.actor_id,
                destination_office_id=row.destination_office_id))
        rows: list[dict[str, Any]] = []
        logs: list[dict[str, Any]] = []
        for dossier in batch:
            calendar = calendars[dossier.receiving_office_id]
            replayed = replay_stays(
                initial_state(), events.get(dossier.id, ()),
                plans.get(dossier.procedure_version_id, ()),
                working_hours_fn(_constant(calendar)))
            logs.append({"_id": dossier.id, "_position": replayed.log.open_position,
                         "_charged": replayed.log.charged_to(replayed.state.plan_position)})
            for stay in replayed.stays:
                step = stay.step
                rows.append({
                    "dossier_id": dossier.id, "event_uuid": stay.event_uuid,
                    "procedure_id": procedures[dossier.procedure_version_id],
                    "office_id": stay.office_id, "station_id": stay.station_id,
                    "holder_id": stay.holder_id,
                    "plan_position": step.position if step else None,
                    "step_name": step.name if step else None,
                    "budget_hours": step.budget_hours if step else None,
                    "interval": stay.interval, "started_at": stay.started_at,
                    "ended_at": stay.ended_at, "working_hours": stay.working_hours,
                    "calendar_hours": stay.calendar_hours, "paused_hours": stay.paused_hours,
                    "verdict": stay.verdict})
        if rows:
            connection.execute(sa.insert(_stay), rows)
            written += len(rows)
        if logs:
            connection.execute(
                sa.update(_dossier).where(_dossier.c.id == sa.bindparam("_id"))
                .values(stay_position=sa.bindparam("_position"),
                        step_charged_hours=sa.bindparam("_charged")), logs)
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
