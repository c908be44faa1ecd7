"""report facts: dossier.processing_hours kept by the stay fold; backfilled from the stays

Revision ID: 0016
Revises: 0013
Create Date: 2026-12-04 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0013"
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


def downgrade() -> None:
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.drop_column("processing_hours")
