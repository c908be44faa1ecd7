"""same-day procedures: procedure_version.same_day_cutoff

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 09:00:00

The new duration unit SAME_DAY ("same day; next working day when received after the cut-off")
needs no schema change of its own: duration_unit is a VARCHAR(32) enum without a CHECK
constraint.  Its cut-off time is kept per procedure version.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("procedure_version", schema=None) as batch_op:
        batch_op.add_column(sa.Column("same_day_cutoff", sa.Time(), nullable=True))


def downgrade() -> None:
    same_day = op.get_bind().scalar(sa.text(
        "SELECT count(*) FROM procedure_version WHERE duration_unit = 'SAME_DAY'"))
    if same_day:
        msg = (f"{same_day} procedure version(s) use the same-day unit, which revision 0004 "
               "cannot read; give them a new version in another unit first")
        raise RuntimeError(msg)
    with op.batch_alter_table("procedure_version", schema=None) as batch_op:
        batch_op.drop_column("same_day_cutoff")
