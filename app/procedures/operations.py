"""Domain verbs for procedures and their step plans; they flush, never commit."""

from __future__ import annotations

import decimal
import logging
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from app.db import cached_for, db
from app.errors import NotFound, ValidationError
from app.offices.models import Station, StationKind
from app.procedures.models import Procedure, ProcedureStep, ProcedureVersion
from app.worktime import DurationUnit, LegalDuration, guaranteed_working_time, parse_duration

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StepSpec:
    """One planned step: a station code or a station kind, and a budget in working hours."""

    name: str
    budget_hours: decimal.Decimal
    station: str | None = None
    kind: StationKind | None = None


@dataclass(frozen=True)
class PlanStep:
    """A step of a saved plan, detached from the session so it can be kept between requests."""

    position: int
    name: str
    station_id: int | None
    station_kind: StationKind | None
    budget_hours: decimal.Decimal
    # The office of the named station: another office's station gives it scope at this step.
    station_office_id: int | None = None

    def matches(self, station: Station) -> bool:
        if self.station_id is not None:
            return self.station_id == station.id
        return self.station_kind == station.kind


def plan_of(version_id: int) -> tuple[PlanStep, ...]:
    """The step plan of a procedure version.

    A saved version never changes (a new plan is a new version), so the plan is read once and
    kept for the life of the app: the scan ingest path then needs no query for it.
    """
    cache: dict[int, tuple[PlanStep, ...]] = current_app.extensions.setdefault(
        "tracker.plans", {})
    plan = cache.get(version_id)
    if plan is None:
        steps = db.session.scalars(sa.select(ProcedureStep).where(
            ProcedureStep.version_id == version_id).order_by(ProcedureStep.position)
            .options(sa.orm.joinedload(ProcedureStep.station)))
        plan = tuple(PlanStep(s.position, s.name, s.station_id, s.station_kind, s.budget_hours,
                              s.station.office_id if s.station is not None else None)
                     for s in steps)
        cache[version_id] = plan
    return plan


@dataclass(frozen=True)
class ProcedureName:
    id: int
    code: str
    name: str


def procedure_name(version_id: int) -> ProcedureName:
    """The code and name of a procedure version's procedure, kept per server process
    (:func:`app.db.cached_for`): scan feedback shows them, and the ingest loads no procedure."""

    def load() -> ProcedureName:
        row = db.session.execute(
            sa.select(Procedure.id, Procedure.code, Procedure.name).join(ProcedureVersion)
            .where(ProcedureVersion.id == version_id)).one()
        return ProcedureName(row.id, row.code, row.name)

    return cached_for("procedure_name", version_id, load)


def parse_step(text: str) -> StepSpec:
    """Parse ``NAME=STATION_OR_KIND:HOURS`` as the CLI takes it, e.g. ``Thụ lý=DEPARTMENT:84``."""
    name, _, rest = text.rpartition("=")
    target, _, hours = rest.partition(":")
    if not target or not hours:
        raise ValidationError(f"step {text!r}: write NAME=STATION_OR_KIND:HOURS")
    try:
        budget = decimal.Decimal(hours)
    except decimal.InvalidOperation as exc:
        raise ValidationError(f"step {text!r}: {hours!r} is not a number of hours") from exc
    kind = StationKind.__members__.get(target.upper())
    return StepSpec(name=name or target, budget_hours=budget,
                    station=None if kind else target, kind=kind)


def legal_hours(duration: LegalDuration) -> decimal.Decimal:
    """The working hours a legal duration always leaves, which a step plan must fit in.

    Working hours and days are exact (1 day = 8 hours).  Calendar days and the same-day unit
    are turned into the fewest working hours they can leave in an ordinary week, whenever the
    dossier arrives (:func:`app.worktime.guaranteed_working_time`): 3 calendar days leave 8
    hours (received Friday at closing, due at Monday's close), 7 leave 40, 30 leave 168; "same
    day, cutoff 15:00" leaves the 2 hours from the cut-off to closing.
    """
    seconds = decimal.Decimal(guaranteed_working_time(duration).total_seconds())
    return (seconds / 3600).quantize(decimal.Decimal("0.01")).normalize()


def _build_steps(steps: Sequence[StepSpec], duration: LegalDuration) -> list[ProcedureStep]:
    if not steps:
        raise ValidationError("a step plan needs at least one step", code="empty_plan")
    built = []
    for position, spec in enumerate(steps, start=1):
        if spec.budget_hours < 0:
            raise ValidationError(f"step {position} ({spec.name}) has a negative budget",
                                  code="negative_budget", details={"step": position})
        if (spec.station is None) == (spec.kind is None):
            raise ValidationError(f"step {position} ({spec.name}) needs a station or a kind",
                                  code="step_needs_station", details={"step": position})
        station = None
        if spec.station is not None:
            station = db.session.scalar(
                sa.select(Station).where(Station.code == spec.station.upper()))
            if station is None:
                raise ValidationError(f"step {position} names unknown station {spec.station}",
                                      code="unknown_station", details={"step": position})
        built.append(ProcedureStep(position=position, name=spec.name, station=station,
                                   station_kind=spec.kind, budget_hours=spec.budget_hours))
    total = sum((s.budget_hours for s in built), decimal.Decimal(0))
    limit = legal_hours(duration)
    # Provinces' plans do not always add up; one that exceeds the legal time cannot be kept.
    if total > limit:
        exact = duration.unit in (DurationUnit.WORKING_HOURS, DurationUnit.WORKING_DAYS)
        why = "" if exact else f", all that {duration} is sure to leave in an ordinary week"
        raise ValidationError(
            f"the steps add up to {total.normalize():f} working hours, more than the legal "
            f"{limit:f} working hours ({duration}{why})", code="plan_exceeds_duration",
            details={"total": f"{total.normalize():f}", "limit": f"{limit:f}"})
    return built


def create_procedure(code: str, name: str, duration: str, steps: Sequence[StepSpec], *,
                     short_name: str = "", field: str = "",
                     fee: int | None = None) -> ProcedureVersion:
    """Create a procedure with its first version, or add a new version to an existing one.

    :param duration: the legal duration, e.g. ``"15 working days"``, ``"30 calendar days"``
        or ``"same day, cutoff 15:00"`` (see :func:`app.worktime.parse_duration`).
    :param fee: fees and charges in đồng printed on the receipt (0: none; ``None``: not
        configured, the receipt leaves a blank).
    :raises ValidationError: a bad duration, a step plan whose budgets do not fit in the
        duration (:func:`legal_hours`), a negative fee.
    """
    if fee is not None and fee < 0:
        raise ValidationError("the fee is an amount in đồng, 0 or more")
    try:
        legal = parse_duration(duration)
    except ValueError as exc:
        raise ValidationError(str(exc), code="bad_duration") from exc
    built = _build_steps(steps, legal)
    procedure = db.session.scalar(sa.select(Procedure).where(Procedure.code == code))
    if procedure is None:
        procedure = Procedure(code=code, name=name, short_name=short_name or name[:60],
                              field=field)
        db.session.add(procedure)
        number = 1
    else:
        procedure.name = name
        procedure.short_name = short_name or procedure.short_name
        number = procedure.versions[-1].version + 1 if procedure.versions else 1
    version = ProcedureVersion(procedure=procedure, version=number,
                               duration_amount=legal.amount, duration_unit=legal.unit,
                               same_day_cutoff=legal.cutoff, steps=built, fee=fee)
    db.session.add(version)
    db.session.flush()
    log.info("procedure %s version %s saved", code, number)
    return version


def get_procedure_version(code: str, version: int | None = None) -> ProcedureVersion:
    """The requested version of a procedure, or its current one.

    :raises NotFound: unknown procedure or version.
    """
    procedure = db.session.scalar(sa.select(Procedure).where(Procedure.code == code))
    if procedure is None or not procedure.versions:
        raise NotFound(f"no procedure with code {code}", code="unknown_procedure")
    if version is None:
        return procedure.current_version
    for candidate in procedure.versions:
        if candidate.version == version:
            return candidate
    raise NotFound(f"procedure {code} has no version {version}", code="unknown_procedure")


def fold_text(text: str) -> str:
    """``text`` for a search that ignores case and diacritics: ``Đăng ký`` → ``dang ky``
    (marks stripped after NFD; ``đ``, which has none, becomes ``d``)."""
    decomposed = unicodedata.normalize("NFD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.replace("đ", "d").split())


def search_procedures(query: str, limit: int = 20) -> list[Procedure]:
    """Procedures whose code, name or short name hold every word of ``query``, diacritics
    and case ignored ("dang ky khai sinh" finds "Đăng ký khai sinh"), by code."""
    words = fold_text(query).split()
    if not words:
        return []
    found = []
    for procedure in db.session.scalars(sa.select(Procedure).order_by(Procedure.code)):
        text = fold_text(f"{procedure.code} {procedure.name} {procedure.short_name}")
        if all(word in text for word in words):
            found.append(procedure)
            if len(found) == limit:
                break
    return found
