"""Which dossiers a report or an export covers: offices in the caller's scope, a period of
receipt, optionally one procedure."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Collection
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from app.db import db
from app.errors import NotFound, ValidationError
from app.offices.models import Office
from app.procedures.models import Procedure, ProcedureVersion
from app.tracking.models import Dossier

MAX_DAYS = 366


@dataclass(frozen=True)
class Selection:
    """Dossiers received from ``since`` (inclusive) to ``until`` (exclusive), owned by one of
    ``offices`` (receiving or competent), of ``procedure`` when given."""

    offices: frozenset[int]
    since: dt.datetime
    until: dt.datetime
    procedure: str | None = None

    def dossier_ids(self) -> sa.Select[int]:
        stmt = sa.select(Dossier.id).where(
            Dossier.received_at >= self.since, Dossier.received_at < self.until,
            sa.or_(Dossier.receiving_office_id.in_(self.offices),
                   Dossier.competent_office_id.in_(self.offices)))
        if self.procedure is not None:
            stmt = stmt.join(ProcedureVersion,
                             ProcedureVersion.id == Dossier.procedure_version_id).join(
                Procedure, Procedure.id == ProcedureVersion.procedure_id).where(
                Procedure.code == self.procedure)
        return stmt

    def dossiers(self) -> sa.Select[Dossier]:
        """The dossiers, in order of receipt."""
        return (sa.select(Dossier).where(Dossier.id.in_(self.dossier_ids()))
                .order_by(Dossier.received_at, Dossier.id))


def select_dossiers(scope: Collection[int] | None, since: dt.date, until: dt.date, *,
                    office: str | None = None, procedure: str | None = None) -> Selection:
    """The selection of a report: days ``since`` to ``until`` inclusive, in the office's
    time zone (the default one for several offices).

    :param scope: the caller's offices; ``None`` for every office (the CLI).
    :raises NotFound: an office not in ``scope`` (the same answer as an unknown one), or an
        unknown procedure.
    :raises ValidationError: ``until`` before ``since``, or a period over a year.
    """
    if until < since or (until - since).days >= MAX_DAYS:
        msg = f"the period must run forward and span at most {MAX_DAYS} days"
        raise ValidationError(msg, details=[{"field": "to", "type": "bad_period",
                                             "message": msg}])
    tz = zoneinfo.ZoneInfo(current_app.config["DEFAULT_TIMEZONE"])
    if office is not None:
        found = db.session.scalar(sa.select(Office).where(Office.code == office.upper()))
        if found is None or (scope is not None and found.id not in scope):
            raise NotFound(f"no office {office[:32]}")
        offices = frozenset({found.id})
        tz = zoneinfo.ZoneInfo(found.timezone)
    elif scope is not None:
        offices = frozenset(scope)
    else:
        offices = frozenset(db.session.scalars(sa.select(Office.id)))
    if procedure is not None and db.session.scalar(
            sa.select(Procedure.id).where(Procedure.code == procedure)) is None:
        raise NotFound(f"no procedure {procedure[:32]}")
    start = dt.datetime.combine(since, dt.time(), tz).astimezone(dt.UTC)
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), tz).astimezone(dt.UTC)
    return Selection(offices, start, end, procedure)
