"""report facts: dossier.processing_hours kept by the stay fold (backfilled from the stays);
the monthly stay rollup (stay_rollup, rollup_month), built by the reports when needed

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.db import UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

BACKFILL = ("UPDATE dossier SET processing_hours = coalesce((SELECT sum(working_hours) "
            "FROM stay WHERE stay.dossier_id = dossier.id "
            "AND stay.interval = 'processing'), 0)")


def upgrade() -> None:
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.add_column(sa.Column("processing_hours", sa.Numeric(precision=10, scale=2),
                                      nullable=False, server_default="0"))
    op.execute(BACKFILL)
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.alter_column("processing_hours", server_default=None)
    op.create_index("ix_stay_ended", "stay", ["ended_at"], unique=False)
    op.create_table(
        "rollup_month",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("built_at", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_rollup_month")),
    )
    op.create_table(
        "stay_rollup",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("holder_id", sa.Integer(), nullable=False),
        sa.Column("procedure_id", sa.Integer(), nullable=False),
        sa.Column("plan_position", sa.Integer(), nullable=False),
        sa.Column("step_name", sa.String(length=200), nullable=False),
        sa.Column("measure", sa.SmallInteger(), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("top", sa.Integer(), nullable=False),
        sa.Column("over", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("month", "office_id", "station_id", "holder_id", "procedure_id",
                                "plan_position", "step_name", "measure", "bucket",
                                name=op.f("pk_stay_rollup")),
    )


def downgrade() -> None:
    op.drop_table("stay_rollup")
    op.drop_table("rollup_month")
    op.drop_index("ix_stay_ended", table_name="stay")
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.drop_column("processing_hours")
