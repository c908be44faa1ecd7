"""office label settings: default layout and printer type

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("office", schema=None) as batch_op:
        batch_op.add_column(sa.Column("label_layout", sa.String(length=400),
                                      server_default="a4-65", nullable=False))
        batch_op.add_column(sa.Column(
            "label_printer", sa.Enum("PDF", "ZPL", name="printertype", native_enum=False,
                                     length=32), server_default="PDF", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("office", schema=None) as batch_op:
        batch_op.drop_column("label_printer")
        batch_op.drop_column("label_layout")
