"""print jobs: a dossier's label queued for a device's printer

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.db import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "print_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Enum("LABEL", name="printkind", native_enum=False, length=16),
                  nullable=False),
        sa.Column("copies", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=True),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("printed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("failed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossier.id"],
                                name=op.f("fk_print_job_dossier_id_dossier")),
        sa.ForeignKeyConstraint(["station_id"], ["station.id"],
                                name=op.f("fk_print_job_station_id_station")),
        sa.ForeignKeyConstraint(["device_id"], ["device.id"],
                                name=op.f("fk_print_job_device_id_device")),
        sa.ForeignKeyConstraint(["created_by_id"], ["user_account.id"],
                                name=op.f("fk_print_job_created_by_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_print_job")),
    )
    with op.batch_alter_table("print_job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_print_job_dossier_id"), ["dossier_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_print_job_device_id"), ["device_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("print_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_print_job_device_id"))
        batch_op.drop_index(batch_op.f("ix_print_job_dossier_id"))
    op.drop_table("print_job")
