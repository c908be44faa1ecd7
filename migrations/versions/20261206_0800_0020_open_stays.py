"""stay: a stay is written once, when it ends; the open one is read from its dossier

A scan no longer updates the stay it ends: it inserts it whole. The stay still going on has
no row; it is the open dossier's stored state (``app.tracking.queries.open_stays``), found by
the new partial index of the open dossiers by station, which replaces the index of every
dossier by station (closed ones are never looked up by station).

The upgrade deletes the open stays' rows; the downgrade writes them again from the
dossiers, as the ingest kept them before.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

DROP_OPEN_STAYS = "DELETE FROM stay WHERE ended_at IS NULL"
NOT_CLOSED = "status NOT IN ('NOT_ACCEPTED', 'RETURNED', 'STOPPED', 'WITHDRAWN')"

# The open dossiers' open stays, as app.tracking.queries.open_stays reads them.
RESTORE_OPEN_STAYS = f"""
INSERT INTO stay (dossier_id, event_uuid, procedure_id, office_id, station_id, holder_id,
                  plan_position, step_name, budget_hours, "interval", started_at, paused_hours,
                  dossier_supplement_count, dossier_paused_hours, dossier_paused_since,
                  dossier_finished_at)
SELECT d.id, d.last_event_uuid, v.procedure_id, s.office_id, d.current_station_id,
       d.current_holder_id, p.position, p.name, p.budget_hours,
       CASE WHEN d.in_transit_since IS NOT NULL THEN 'transit'
            WHEN d.status = 'SUPPLEMENT_REQUESTED' THEN 'supplement'
            WHEN d.status = 'FINANCIAL_OBLIGATION' THEN 'payment'
            WHEN d.status = 'PROCESSED' THEN 'pickup'
            ELSE 'processing' END,
       d.last_event_at, 0, d.supplement_count, d.paused_hours, d.paused_since, d.finished_at
FROM dossier AS d
JOIN station AS s ON s.id = d.current_station_id
JOIN procedure_version AS v ON v.id = d.procedure_version_id
LEFT JOIN procedure_step AS p ON p.version_id = d.procedure_version_id
                             AND p.position = d.stay_position
WHERE d.{NOT_CLOSED} AND d.last_event_at IS NOT NULL
"""


def upgrade() -> None:
    op.execute(DROP_OPEN_STAYS)
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dossier_current_station_id"))
        batch_op.create_index("ix_dossier_open_station", ["current_station_id"], unique=False,
                              postgresql_where=sa.text(NOT_CLOSED),
                              sqlite_where=sa.text(NOT_CLOSED))


def downgrade() -> None:
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.drop_index("ix_dossier_open_station")
        batch_op.create_index(batch_op.f("ix_dossier_current_station_id"),
                              ["current_station_id"], unique=False)
    op.execute(RESTORE_OPEN_STAYS)
