"""personal API tokens expire: api_token.expires_at

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 10:00:00

Tokens issued before this revision had no expiry; they get one 90 days after the upgrade (the
default lifetime), so nobody is locked out by the upgrade itself and none lives forever.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=90)
    if op.get_bind().dialect.name == "sqlite":
        expires = expires.replace(tzinfo=None)  # the UTCDateTime type stores naive UTC there
    op.execute(sa.text("UPDATE api_token SET expires_at = :expires WHERE expires_at IS NULL")
               .bindparams(expires=expires))
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.alter_column("expires_at", existing_type=sa.DateTime(timezone=True),
                              nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
