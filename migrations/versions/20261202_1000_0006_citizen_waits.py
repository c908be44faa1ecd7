"""pauses: what the office awaits from the citizen (supplement, financial obligation)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 10:00:00

A dossier paused for a supplement before this revision awaits a supplement. ``request_payment``
did not pause the clock before: an open dossier still in status 6 now awaits the payment, paused
since its last ``request_payment`` scan; closed history is left as it was recorded.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.add_column(sa.Column("awaiting_supplement", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column("awaiting_payment", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.execute(sa.text("UPDATE dossier SET awaiting_supplement = :yes "
                       "WHERE paused_since IS NOT NULL").bindparams(yes=True))
    op.execute(sa.text(
        "UPDATE dossier SET awaiting_payment = :yes, paused_since = ("
        " SELECT max(e.corrected_at) FROM scan_event e"
        " WHERE e.dossier_id = dossier.id AND e.action = 'REQUEST_PAYMENT')"
        " WHERE status = 'FINANCIAL_OBLIGATION' AND paused_since IS NULL"
        " AND finished_at IS NULL").bindparams(yes=True))
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.alter_column("awaiting_supplement", existing_type=sa.Boolean(),
                              server_default=None)
        batch_op.alter_column("awaiting_payment", existing_type=sa.Boolean(),
                              server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.drop_column("awaiting_payment")
        batch_op.drop_column("awaiting_supplement")
