"""files in transit: a send puts the dossier between hands until its next scan

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-03 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.db import UTCDateTime

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None

# A dossier is in transit when the last event its fold counted (``last_event_uuid``: scans
# after the close or before the receipt never become it) is a send, and it is still open.
_LAST_SEND = ("FROM scan_event WHERE scan_event.uuid = dossier.last_event_uuid "
              "AND scan_event.action = 'SEND'")
_BACKFILL = f"""
UPDATE dossier SET
    in_transit_since = (SELECT scan_event.corrected_at {_LAST_SEND}),
    transit_to_office_id = (SELECT scan_event.destination_office_id {_LAST_SEND}),
    transit_to_station_id = (SELECT scan_event.destination_station_id {_LAST_SEND})
WHERE status NOT IN ('RETURNED', 'WITHDRAWN', 'STOPPED', 'NOT_ACCEPTED')
  AND EXISTS (SELECT 1 {_LAST_SEND})
"""


def upgrade() -> None:
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.add_column(sa.Column("in_transit_since", UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column("transit_to_office_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("transit_to_station_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_dossier_in_transit_since"), ["in_transit_since"],
                              unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_dossier_transit_to_office_id_office"),
                                    "office", ["transit_to_office_id"], ["id"])
        batch_op.create_foreign_key(batch_op.f("fk_dossier_transit_to_station_id_station"),
                                    "station", ["transit_to_station_id"], ["id"])
    op.execute(_BACKFILL)


def downgrade() -> None:
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_dossier_transit_to_station_id_station"),
                                 type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_dossier_transit_to_office_id_office"),
                                 type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_dossier_in_transit_since"))
        batch_op.drop_column("transit_to_station_id")
        batch_op.drop_column("transit_to_office_id")
        batch_op.drop_column("in_transit_since")
