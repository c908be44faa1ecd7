"""audit: scan events hash-chained per office; dossiers searchable by name without diacritics

Backfills the chains of the events on file, per office in id order (the order they were
written), and the folded applicant names.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 12:00:00
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

from app.db import UTCDateTime
from app.tracking.audit import GENESIS, Canonical, row_hash
from app.tracking.models import ScanAction
from app.tracking.search import fold_text

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_BATCH = 5000

_events = sa.table(
    "scan_event", sa.column("id", sa.Integer), sa.column("uuid", sa.Uuid),
    sa.column("dossier_id", sa.Integer), sa.column("station_id", sa.Integer),
    sa.column("action", sa.String), sa.column("actor_raw", sa.String),
    sa.column("code_scanned", sa.String), sa.column("scanned_at", UTCDateTime()),
    sa.column("sent_at", UTCDateTime()), sa.column("received_at", UTCDateTime()),
    sa.column("corrected_at", UTCDateTime()), sa.column("destination_office_id", sa.Integer),
    sa.column("destination_station_id", sa.Integer), sa.column("device_id", sa.Integer),
    sa.column("user_id", sa.Integer), sa.column("seq", sa.BigInteger),
    sa.column("note", sa.String), sa.column("office_id", sa.Integer),
    sa.column("chain_seq", sa.BigInteger), sa.column("prev_hash", sa.String),
    sa.column("row_hash", sa.String))
_dossiers = sa.table("dossier", sa.column("id", sa.Integer), sa.column("code", sa.String),
                     sa.column("applicant_name", sa.String),
                     sa.column("applicant_name_folded", sa.String))
_stations = sa.table("station", sa.column("id", sa.Integer), sa.column("code", sa.String),
                     sa.column("office_id", sa.Integer))
_offices = sa.table("office", sa.column("id", sa.Integer), sa.column("code", sa.String))
_heads = sa.table("scan_chain_head", sa.column("office_id", sa.Integer),
                  sa.column("seq", sa.BigInteger), sa.column("head_hash", sa.String))


def upgrade() -> None:
    op.create_table(
        "scan_chain_head",
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["office_id"], ["office.id"],
                                name=op.f("fk_scan_chain_head_office_id_office")),
        sa.PrimaryKeyConstraint("office_id", name=op.f("pk_scan_chain_head")),
    )
    with op.batch_alter_table("scan_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("office_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("chain_seq", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("row_hash", sa.String(length=64), nullable=True))
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.add_column(sa.Column("applicant_name_folded", sa.String(length=200),
                                      nullable=True))

    conn = op.get_bind()
    _backfill_names(conn)
    _backfill_chains(conn)

    with op.batch_alter_table("scan_event", schema=None) as batch_op:
        batch_op.alter_column("office_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("chain_seq", existing_type=sa.BigInteger(), nullable=False)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("row_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_scan_event_office_id_chain_seq"), ["office_id", "chain_seq"])
        batch_op.create_foreign_key(batch_op.f("fk_scan_event_office_id_office"), "office",
                                    ["office_id"], ["id"])
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.alter_column("applicant_name_folded", existing_type=sa.String(length=200),
                              nullable=False)
        batch_op.create_index(batch_op.f("ix_dossier_applicant_name_folded"),
                              ["applicant_name_folded"], unique=False)


def _backfill_names(conn: sa.Connection) -> None:
    rows = conn.execute(sa.select(_dossiers.c.id, _dossiers.c.applicant_name)).all()
    updates = [{"key": row.id, "folded": fold_text(row.applicant_name)} for row in rows]
    stmt = (_dossiers.update().where(_dossiers.c.id == sa.bindparam("key"))
            .values(applicant_name_folded=sa.bindparam("folded")))
    for start in range(0, len(updates), _BATCH):
        conn.execute(stmt, updates[start:start + _BATCH])


def _event_rows(conn: sa.Connection) -> Iterator[list[Any]]:
    """Every event with the codes its hash covers, office by office in id order, in chunks
    (read before they are updated: SQLite cannot update a table a cursor is reading)."""
    dest_office, dest_station = _offices.alias("dest_office"), _stations.alias("dest_station")
    e = _events
    stmt = (sa.select(e.c.id, e.c.uuid, _stations.c.office_id, _dossiers.c.code.label("dossier"),
                      _stations.c.code.label("station"), _offices.c.code.label("office"),
                      e.c.action, e.c.actor_raw, e.c.code_scanned, e.c.scanned_at, e.c.sent_at,
                      e.c.received_at, e.c.corrected_at,
                      dest_office.c.code.label("destination_office"),
                      dest_station.c.code.label("destination_station"), e.c.device_id,
                      e.c.user_id, e.c.seq, e.c.note)
            .join(_dossiers, _dossiers.c.id == e.c.dossier_id)
            .join(_stations, _stations.c.id == e.c.station_id)
            .join(_offices, _offices.c.id == _stations.c.office_id)
            .outerjoin(dest_office, dest_office.c.id == e.c.destination_office_id)
            .outerjoin(dest_station, dest_station.c.id == e.c.destination_station_id)
            .order_by(_stations.c.office_id, e.c.id).limit(_BATCH))
    after = stmt
    while rows := conn.execute(after).all():
        yield rows
        after = stmt.where(sa.tuple_(_stations.c.office_id, e.c.id)
                           > sa.tuple_(rows[-1].office_id, rows[-1].id))


def _backfill_chains(conn: sa.Connection) -> None:
    heads: dict[int, tuple[int, str]] = {}
    stmt = (_events.update().where(_events.c.id == sa.bindparam("key"))
            .values(office_id=sa.bindparam("office"), chain_seq=sa.bindparam("position"),
                    prev_hash=sa.bindparam("prev"), row_hash=sa.bindparam("hash")))
    for rows in _event_rows(conn):
        pending = []
        for row in rows:
            seq, prev = heads.get(row.office_id, (0, GENESIS))
            values = dict(row._mapping)
            fields = {name: values[name] for name in Canonical._fields
                      if name not in ("chain_seq", "action")}
            digest = row_hash(prev, Canonical(chain_seq=seq + 1,
                                              action=ScanAction[row.action].value, **fields))
            heads[row.office_id] = (seq + 1, digest)
            pending.append({"key": row.id, "office": row.office_id, "position": seq + 1,
                            "prev": prev, "hash": digest})
        conn.execute(stmt, pending)
    if heads:
        conn.execute(_heads.insert(), [{"office_id": office, "seq": seq, "head_hash": digest}
                                       for office, (seq, digest) in heads.items()])


def downgrade() -> None:
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dossier_applicant_name_folded"))
        batch_op.drop_column("applicant_name_folded")
    with op.batch_alter_table("scan_event", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_scan_event_office_id_office"),
                                 type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_scan_event_office_id_chain_seq"),
                                 type_="unique")
        batch_op.drop_column("row_hash")
        batch_op.drop_column("chain_seq")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("office_id")
    op.drop_table("scan_chain_head")
