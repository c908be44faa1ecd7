"""dossier: the offices' indexes also order by the end of processing

An office's dossiers of a report period (unfinished, or finished since its start) are read
from (office, finished_at) instead of every dossier the office ever had; the composite
indexes serve the office-only lookups as the single-column ones did.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 10:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_COLUMNS = ("receiving_office_id", "competent_office_id")


def upgrade() -> None:
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        for column in _COLUMNS:
            batch_op.drop_index(batch_op.f(f"ix_dossier_{column}"))
            batch_op.create_index(f"ix_dossier_{column.removesuffix('_id')}_finished",
                                  [column, "finished_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        for column in _COLUMNS:
            batch_op.drop_index(f"ix_dossier_{column.removesuffix('_id')}_finished")
            batch_op.create_index(batch_op.f(f"ix_dossier_{column}"), [column], unique=False)
