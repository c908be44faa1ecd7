"""What the stay fold keeps on the dossier for the on-time reports (issue 10, benchmark):
``processing_hours``, the working hours of its ended processing stays, whatever order and
batches the events arrive in, after a replay, and as migration 0016 backfills it."""

from __future__ import annotations

import decimal

import sqlalchemy as sa
from conftest import Office
from dossier_support import intake, post
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from migration_support import migration
from test_stays import SUPPLEMENT_CASE

from app.db import db
from app.tracking.models import Dossier, Stay
from app.tracking.operations import refresh_state


def facts(app, code: str) -> tuple[decimal.Decimal, decimal.Decimal]:
    """The dossier's ``processing_hours`` and the sum of its stored processing stays."""
    with app.app_context():
        dossier = db.session.scalars(sa.select(Dossier).where(Dossier.code == code)).one()
        summed = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Stay.working_hours), 0))
                                   .where(Stay.dossier_id == dossier.id,
                                          Stay.interval == "processing"))
        return dossier.processing_hours, decimal.Decimal(summed)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.permutations(range(len(SUPPLEMENT_CASE))), st.integers(1, len(SUPPLEMENT_CASE)))
def test_processing_hours_sum_the_ended_processing_stays_in_any_arrival_order(
        app, client, office: Office, order: list[int], size: int):
    d = intake(client, office, "2026-11-05T08:00:00+07:00")
    rows = [SUPPLEMENT_CASE[i] for i in order]
    for first in range(0, len(rows), size):
        post(client, office, d["tracking_number"], rows[first:first + size], who="admin")
    # Desk 1 h, Thụ lý 1 h before the wait and 1 h after, Ký 1 h (test_stays.SUPPLEMENT_STAYS);
    # the 15 h waited for the citizen and the result's wait for pickup are not processing.
    assert facts(app, d["code"]) == (decimal.Decimal("4.00"), decimal.Decimal("4.00"))


def test_an_open_stay_adds_nothing_until_it_ends_and_the_backfill_agrees(app, client,
                                                                         office: Office):
    d = intake(client, office, "2026-11-05T08:00:00+07:00")
    post(client, office, d["tracking_number"], SUPPLEMENT_CASE[:4], who="admin")
    # Desk 1 h, Thụ lý 1 h before the wait and 1 h after it (ended by LEADER's scan); the
    # stay at LEADER is open and counts nothing yet.
    assert facts(app, d["code"]) == (decimal.Decimal("3.00"), decimal.Decimal("3.00"))
    with app.app_context():
        refresh_state(db.session.scalars(sa.select(Dossier).where(Dossier.code == d["code"]))
                      .one())
        db.session.commit()
    assert facts(app, d["code"])[0] == decimal.Decimal("3.00")
    backfill = migration("0016").BACKFILL
    with app.app_context():
        db.session.execute(sa.update(Dossier).values(processing_hours=0))
        db.session.commit()
        with db.engine.begin() as connection:
            connection.execute(sa.text(backfill))
    assert facts(app, d["code"])[0] == decimal.Decimal("3.00")
