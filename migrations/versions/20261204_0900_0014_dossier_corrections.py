"""dossier corrections: the append-only record of changes to the applicant and documents

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.db import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dossier_correction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("corrected_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("corrected_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossier.id"],
                                name=op.f("fk_dossier_correction_dossier_id_dossier")),
        sa.ForeignKeyConstraint(["corrected_by_id"], ["user_account.id"],
                                name=op.f("fk_dossier_correction_corrected_by_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dossier_correction")),
    )
    with op.batch_alter_table("dossier_correction", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dossier_correction_dossier_id"), ["dossier_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dossier_correction", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dossier_correction_dossier_id"))
    op.drop_table("dossier_correction")
