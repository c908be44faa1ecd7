"""scope: handoffs by send (destination, sent_to office) and refused scan attempts

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.db import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ACTIONS = ("RECEIVE", "TRANSFER_IN", "REQUEST_SUPPLEMENT", "SUPPLEMENT_RECEIVED",
            "REQUEST_PAYMENT", "RESULT_READY", "RETURNED", "WITHDRAWN", "STOPPED", "SEND")


def upgrade() -> None:
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sent_to_office_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_dossier_sent_to_office_id_office"),
                                    "office", ["sent_to_office_id"], ["id"])
    with op.batch_alter_table("scan_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("destination_office_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("destination_station_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_scan_event_destination_office_id_office"),
                                    "office", ["destination_office_id"], ["id"])
        batch_op.create_foreign_key(batch_op.f("fk_scan_event_destination_station_id_station"),
                                    "station", ["destination_station_id"], ["id"])
    op.create_table(
        "refused_scan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("action", sa.Enum(*_ACTIONS, name="scanaction", native_enum=False, length=32),
                  nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=True),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("scanned_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["device.id"],
                                name=op.f("fk_refused_scan_device_id_device")),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossier.id"],
                                name=op.f("fk_refused_scan_dossier_id_dossier")),
        sa.ForeignKeyConstraint(["office_id"], ["office.id"],
                                name=op.f("fk_refused_scan_office_id_office")),
        sa.ForeignKeyConstraint(["station_id"], ["station.id"],
                                name=op.f("fk_refused_scan_station_id_station")),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"],
                                name=op.f("fk_refused_scan_user_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refused_scan")),
        sa.UniqueConstraint("uuid", name=op.f("uq_refused_scan_uuid")),
    )
    with op.batch_alter_table("refused_scan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refused_scan_dossier_id"), ["dossier_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_refused_scan_office_id"), ["office_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_refused_scan_received_at"), ["received_at"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("refused_scan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refused_scan_received_at"))
        batch_op.drop_index(batch_op.f("ix_refused_scan_office_id"))
        batch_op.drop_index(batch_op.f("ix_refused_scan_dossier_id"))
    op.drop_table("refused_scan")
    with op.batch_alter_table("scan_event", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_scan_event_destination_station_id_station"),
                                 type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_scan_event_destination_office_id_office"),
                                 type_="foreignkey")
        batch_op.drop_column("destination_station_id")
        batch_op.drop_column("destination_office_id")
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_dossier_sent_to_office_id_office"),
                                 type_="foreignkey")
        batch_op.drop_column("sent_to_office_id")
