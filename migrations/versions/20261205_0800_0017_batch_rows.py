"""the scan ingest's batch writes: batch_rows() (PostgreSQL), and no foreign keys on the
stays' office, holder and procedure

batch_rows() gives a JSON array's rows as records of a table's type, estimated at one row
(see app.db.BATCH_ROWS_DDL). A stay's office, holder and procedure are its beginning scan's
and its dossier's, whose own foreign keys hold them; on the stays the keys only cost a check
per scan written.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 08:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_KEYS = (("fk_stay_procedure_id_procedure", "procedure", "procedure_id"),
         ("fk_stay_office_id_office", "office", "office_id"),
         ("fk_stay_holder_id_user_account", "user_account", "holder_id"))


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION batch_rows(base anyelement, rows json) "
            "RETURNS SETOF anyelement "
            "LANGUAGE sql VOLATILE ROWS 1 "
            "AS 'SELECT * FROM json_populate_recordset(base, rows)'")
    with op.batch_alter_table("stay", schema=None) as batch_op:
        for name, _, _ in _KEYS:
            batch_op.drop_constraint(name, type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("stay", schema=None) as batch_op:
        for name, table, column in _KEYS:
            batch_op.create_foreign_key(name, table, [column], ["id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION batch_rows(anyelement, json)")
