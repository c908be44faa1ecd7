"""Who a scan is attributed to: a badge of the device's office names its holder; an unknown
badge, a deactivated one or one of another office is recorded all the same, without a person,
and flagged in the result (losing the scan would be worse than a missing name)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from conftest import Office, scan

from app.db import db
from app.tracking import operations as ops
from app.tracking import schemas
from app.tracking.models import ScanEvent

T = "2026-11-20T09:00:00+07:00"


@pytest.fixture
def dossier(client, office: Office) -> dict[str, Any]:
    return office.intake(client, code="T-20261116-0001", received_at="2026-11-16T08:00:00+07:00")


@pytest.fixture
def strangers(app, office: Office) -> None:
    """A badge holder of another office, and a colleague whose account was deactivated."""
    from app.auth.models import Role, User
    from app.auth.operations import create_user
    from app.offices.operations import get_office

    with app.app_context():
        create_user("binhan", "Cán bộ Bình An", Role.SPECIALIST, get_office("000.00.20.H12"),
                    badge="B-BINHAN")
        gone = create_user("gone", "Cán bộ đã nghỉ", Role.SPECIALIST, get_office(office.code),
                           badge="B-GONE")
        gone.active = False
        db.session.commit()
        assert db.session.scalar(sa.select(User).where(User.badge == "B-GONE")) is not None


def post(client, office: Office, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    response = client.post("/api/v1/scans", json={"events": events}, headers=office.headers())
    assert response.status_code == 200, response.get_json()
    return response.get_json()["results"]  # type: ignore[no-any-return]


def stored(app) -> list[tuple[str, str | None]]:
    """(actor_raw, the attributed user's username) of the device's events, in order."""
    from app.auth.models import User

    with app.app_context():
        rows = db.session.execute(
            sa.select(ScanEvent.actor_raw, User.username)
            .outerjoin(User, User.id == ScanEvent.actor_id)
            .where(ScanEvent.device_id.is_not(None)).order_by(ScanEvent.corrected_at))
        return [(raw, name) for raw, name in rows]


def test_a_badge_of_the_devices_office_names_its_holder(app, client, office: Office,
                                                         dossier: dict[str, Any]) -> None:
    [result] = post(client, office, [scan(dossier["code"], T, station="TUPHAP",
                                          actor="b-specialist")])
    assert result["status"] == "accepted"
    assert result["actor_name"] == "Cán bộ specialist"
    assert "actor_flag" not in result
    assert stored(app) == [("b-specialist", "specialist")]
    got = client.get(f"/api/v1/dossiers/{dossier['code']}", headers=office.headers("reception"))
    assert got.get_json()["holder"] == "Cán bộ specialist"


def test_unknown_deactivated_and_foreign_badges_are_kept_without_a_person_and_flagged(
        app, client, office: Office, dossier: dict[str, Any], strangers: None) -> None:
    results = post(client, office, [
        scan(dossier["code"], "2026-11-20T09:00:00+07:00", station="TUPHAP", actor="B-NOBODY"),
        scan(dossier["code"], "2026-11-20T09:01:00+07:00", station="TUPHAP", actor="B-GONE"),
        scan(dossier["code"], "2026-11-20T09:02:00+07:00", station="TUPHAP", actor="B-BINHAN"),
        scan(dossier["code"], "2026-11-20T09:03:00+07:00", station="TUPHAP"),
    ])
    assert [(r["status"], r.get("actor_flag"), r.get("actor_name")) for r in results] == [
        ("accepted", "unknown_actor", None), ("accepted", "unknown_actor", None),
        ("accepted", "foreign_actor", None), ("accepted", None, None)]
    assert stored(app) == [("B-NOBODY", None), ("B-GONE", None), ("B-BINHAN", None), ("", None)]
    # The other office's staff name never reaches this device, in any field.
    assert "Bình An" not in str(results) and "đã nghỉ" not in str(results)


def test_a_staff_token_posting_for_a_colleague_of_another_office_is_flagged_too(
        app, client, office: Office, dossier: dict[str, Any], strangers: None) -> None:
    response = client.post("/api/v1/scans", headers=office.headers("reception"), json={
        "events": [scan(dossier["code"], T, station="TUPHAP", actor="B-BINHAN"),
                   scan(dossier["code"], "2026-11-20T09:05:00+07:00", station="LEADER")]})
    first, second = response.get_json()["results"]
    assert first["actor_flag"] == "foreign_actor"
    assert second["status"] == "accepted" and "actor_flag" not in second


def test_the_actor_flags_are_one_list_for_operations_schema_and_agent() -> None:
    from scanner_agent import feedback as fb

    assert ops.ACTOR_FLAGS == schemas.ActorFlag.__args__  # type: ignore[attr-defined]
    assert set(fb.ACTOR_REASONS) == set(ops.ACTOR_FLAGS)
    assert all(not text.isascii() for text in fb.ACTOR_REASONS.values())
