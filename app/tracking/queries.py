"""Read-side views of a dossier: its handoff timeline and on-time verdicts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from app.db import db, utcnow
from app.offices.models import Station
from app.offices.operations import calendar_of
from app.procedures.operations import PlanStep, plan_of
from app.tracking.models import Dossier, ScanEvent
from app.tracking.state import AFTER_CLOSE, plan_match
from app.worktime import WorkCalendar

EARLY, ON_TIME, LATE = "early", "on_time", "late"
WITHIN, APPROACHING = "within", "approaching"
VERDICT_LABELS = {EARLY: "Trước hạn", ON_TIME: "Đúng hạn", LATE: "Quá hạn",
                  WITHIN: "Trong hạn", APPROACHING: "Sắp đến hạn"}


@dataclass(frozen=True)
class TimelineStep:
    """One handoff as the control sheet shows it: who gave, who received, when, and the verdict
    on the time the file spent at the receiving station."""

    event: ScanEvent
    giver_station: Station | None
    giver: str
    plan_step: PlanStep | None
    arrived_at: dt.datetime
    left_at: dt.datetime | None
    spent: dt.timedelta
    verdict: str | None  # early | on_time | late | None (no budget); running steps: within/late


def step_verdict(spent: dt.timedelta, budget_hours: float, finished: bool) -> str:
    """Mẫu 05's rule, to the minute: spent < budget early, = on time, > late."""
    spent_min = round(spent.total_seconds() / 60)
    budget_min = round(budget_hours * 60)
    if spent_min > budget_min:
        return LATE
    if not finished:
        return WITHIN
    return EARLY if spent_min < budget_min else ON_TIME


def timeline(dossier: Dossier, calendar: WorkCalendar, now: dt.datetime) -> list[TimelineStep]:
    """The dossier's handoffs in corrected-time order, each with its plan step and verdict."""
    events = sorted(
        db.session.scalars(dossier.events.select().options(
            sa.orm.joinedload(ScanEvent.station), sa.orm.joinedload(ScanEvent.actor))),
        key=lambda e: (e.corrected_at, e.uuid))
    # Scans after the file was closed are shown but do not end anybody's step.
    counted = [e for e in events if e.flag != AFTER_CLOSE]
    following = {a.id: b for a, b in zip(counted, counted[1:], strict=False)}
    plan = plan_of(dossier.procedure_version_id)
    steps: list[TimelineStep] = []
    position = 0
    for event in events:
        nxt = following.get(event.id)
        plan_step = plan_match(plan, position, event.station)
        if plan_step is not None:
            position = plan_step.position
        ends_file = event.flag == AFTER_CLOSE or (nxt is None and dossier.status.closed)
        left_at = nxt.corrected_at if nxt is not None else None
        end = left_at or (event.corrected_at if ends_file else now)
        spent = calendar.working_time_between(event.corrected_at, end)
        verdict = None
        if plan_step is not None and not ends_file:
            verdict = step_verdict(spent, float(plan_step.budget_hours), left_at is not None)
        prev = steps[-1].event if steps else None
        steps.append(TimelineStep(
            event=event, giver_station=prev.station if prev else None,
            giver=person(prev) if prev else "", plan_step=plan_step,
            arrived_at=event.corrected_at, left_at=left_at, spent=spent, verdict=verdict))
    return steps


def person(event: ScanEvent) -> str:
    """Who scanned: the staff member's name, else the badge or device that was given."""
    if event.actor is not None:
        return event.actor.full_name
    return event.actor_raw


def dossier_verdict(dossier: Dossier, calendar: WorkCalendar, now: dt.datetime,
                    approaching_hours: float) -> str:
    """Finished: early / on_time / late by day (DOMAIN: on the due day is on time).
    In progress: within / approaching / late."""
    tz = calendar.tz
    if dossier.finished_at is not None:
        done = dossier.finished_at
        if done > dossier.due_at:
            return LATE
        return EARLY if done.astimezone(tz).date() < dossier.due_at.astimezone(tz).date() \
            else ON_TIME
    if now > dossier.due_at:
        return LATE
    left = calendar.working_time_between(now, dossier.due_at)
    return APPROACHING if left <= dt.timedelta(hours=approaching_hours) else WITHIN


@dataclass(frozen=True)
class Standing:
    """A dossier's office calendar, the instant it is judged at, and its on-time verdict then."""

    calendar: WorkCalendar
    now: dt.datetime
    verdict: str


def standing(dossier: Dossier) -> Standing:
    calendar = calendar_of(dossier.receiving_office_id)
    now = utcnow()
    return Standing(calendar, now, dossier_verdict(
        dossier, calendar, now, current_app.config["APPROACHING_DUE_HOURS"]))


def working_hours_left(dossier: Dossier, calendar: WorkCalendar, now: dt.datetime) -> float | None:
    if dossier.finished_at is not None:
        return None
    start = dossier.paused_since or now
    return round(calendar.working_time_between(start, dossier.due_at).total_seconds() / 3600, 2)
