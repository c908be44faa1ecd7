"""forms: fees per procedure version and dossier; the desk's notices (Mẫu 02, 03, 04)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.db import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("procedure_version", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fee", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fee", sa.BigInteger(), nullable=True))
    op.create_table(
        "dossier_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Enum("SUPPLEMENT_REQUEST", "REFUSAL", "APOLOGY", name="noticekind",
                                  native_enum=False, length=32), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("previous_due_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("new_due_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("paused_hours_at", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("issued_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("issued_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossier.id"],
                                name=op.f("fk_dossier_notice_dossier_id_dossier")),
        sa.ForeignKeyConstraint(["issued_by_id"], ["user_account.id"],
                                name=op.f("fk_dossier_notice_issued_by_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dossier_notice")),
    )
    with op.batch_alter_table("dossier_notice", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dossier_notice_dossier_id"), ["dossier_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dossier_notice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dossier_notice_dossier_id"))
    op.drop_table("dossier_notice")
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.drop_column("fee")
    with op.batch_alter_table("procedure_version", schema=None) as batch_op:
        batch_op.drop_column("fee")
