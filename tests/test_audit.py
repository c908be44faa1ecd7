"""Tamper evidence: the per-office hash chain of scan events and ``tracker audit verify``."""

from __future__ import annotations

import re
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import Office, scan

from app.db import db
from app.tracking.audit import AppendOnlyError
from app.tracking.models import ScanChainHead, ScanEvent

ROOT = Path(__file__).resolve().parents[1]
_serial = iter(range(1, 100_000))


def post(client, office: Office, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    response = client.post("/api/v1/scans", json={"events": events},
                           headers=office.headers())
    assert response.status_code == 200, response.get_json()
    return response.get_json()["results"]  # type: ignore[no-any-return]


def walked(client, office: Office) -> str:
    """A dossier received, then scanned at three stations; its tracking number."""
    d = office.intake(client, code=f"A-20261116-{next(_serial):04d}",
                      received_at="2026-11-16T08:00:00+07:00")
    number = d["tracking_number"]
    post(client, office, [scan(number, "2026-11-16T09:00:00+07:00", station="TUPHAP"),
                          scan(number, "2026-11-16T10:00:00+07:00", station="LEADER",
                               note="ký"),
                          scan(number, "2026-11-16T11:00:00+07:00", station="RETURN")])
    return number


def verify(app, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["audit", "verify", *args])


def sql(app, statement: str, **params: Any) -> Any:
    with app.app_context():
        result = db.session.execute(sa.text(statement), params)
        rows = result.all() if result.returns_rows else None
        db.session.commit()
        return rows


def chain(app) -> list[Any]:
    return sql(app, "SELECT id, uuid, chain_seq, prev_hash, row_hash FROM scan_event "
                    "ORDER BY office_id, chain_seq")


def test_an_untouched_log_verifies(client, app, office: Office):
    walked(client, office)
    walked(client, office)
    result = verify(app)
    assert result.exit_code == 0, result.output
    assert f"ok office {office.code}: 8 events, head 8 " in result.output
    assert verify(app, "--office", office.code).exit_code == 0


def test_each_event_links_to_the_one_before_it_in_its_office(client, app, office: Office):
    walked(client, office)
    rows = chain(app)
    assert [r.chain_seq for r in rows] == [1, 2, 3, 4]
    assert rows[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.row_hash for a, b in zip(rows, rows[1:], strict=False))
    assert len({r.row_hash for r in rows}) == 4


def _uuid(value: Any) -> str:
    return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))


def test_an_update_made_in_sql_is_named(client, app, office: Office):
    walked(client, office)
    target = chain(app)[2]
    sql(app, "UPDATE scan_event SET scanned_at = scanned_at, note = 'đã sửa' WHERE id = :id",
        id=target.id)
    result = verify(app)
    assert result.exit_code == 1
    assert (f"TAMPERED office {office.code}: event id {target.id} uuid {_uuid(target.uuid)} "
            "(position 3): edited") in result.output


def test_moving_a_scan_time_in_sql_is_named(client, app, office: Office):
    """The integrity case of DOMAIN: a time rewritten so a late step looks on time."""
    walked(client, office)
    target = chain(app)[3]
    sql(app, "UPDATE scan_event SET corrected_at = received_at WHERE id = :id", id=target.id)
    result = verify(app)
    assert result.exit_code == 1
    assert f"event id {target.id} uuid {_uuid(target.uuid)} (position 4): edited" \
        in result.output


def test_a_delete_made_in_sql_is_named(client, app, office: Office):
    walked(client, office)
    rows = chain(app)
    sql(app, "DELETE FROM scan_event WHERE id = :id", id=rows[1].id)
    result = verify(app)
    assert result.exit_code == 1
    assert (f"event id {rows[2].id} uuid {_uuid(rows[2].uuid)} (position 3): deleted: "
            "the row(s) at position 2 before it are missing") in result.output


def test_deleting_the_last_rows_is_named(client, app, office: Office):
    walked(client, office)
    rows = chain(app)
    sql(app, "DELETE FROM scan_event WHERE id = :id", id=rows[-1].id)
    result = verify(app)
    assert result.exit_code == 1
    assert (f"office {office.code}: the end of the chain: deleted: the last row(s), "
            "positions 4–4, are missing") in result.output


def test_an_insert_made_in_sql_is_named(client, app, office: Office):
    walked(client, office)
    last = chain(app)[-1]
    forged = uuid.uuid4()
    columns = ("dossier_id, station_id, action, actor_id, actor_raw, device_id, user_id, "
               "code_scanned, seq, note, scanned_at, sent_at, received_at, corrected_at, "
               "destination_office_id, destination_station_id, flag, office_id")
    sql(app, f"INSERT INTO scan_event (uuid, chain_seq, prev_hash, row_hash, {columns}) "
             f"SELECT :uuid, chain_seq + 1, row_hash, :hash, {columns} FROM scan_event "
             "WHERE id = :id",
        uuid=forged.hex if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
        else str(forged), hash="f" * 64, id=last.id)
    result = verify(app)
    assert result.exit_code == 1
    assert "(position 5): inserted: its position lies beyond the chain's head (4)" \
        in result.output
    assert str(forged) in result.output


def test_a_rewritten_link_is_named(client, app, office: Office):
    walked(client, office)
    rows = chain(app)
    sql(app, "UPDATE scan_event SET prev_hash = :h WHERE id = :id", h="a" * 64, id=rows[1].id)
    result = verify(app)
    assert result.exit_code == 1
    assert f"event id {rows[1].id} uuid {_uuid(rows[1].uuid)} (position 2): inserted or " \
        "deleted before it" in result.output


def test_late_events_rewrite_flags_without_breaking_the_chain(client, app, office: Office):
    number = walked(client, office)
    # Earlier than what is known: the dossier is replayed and its flags rewritten.
    results = post(client, office, [scan(number, "2026-11-16T08:30:00+07:00",
                                         station="ARCHIVE")])
    assert results[0]["status"] == "accepted"
    result = verify(app)
    assert result.exit_code == 0, result.output


def test_a_resent_batch_does_not_advance_the_chain(client, app, office: Office):
    number = walked(client, office)
    events = [scan(number, "2026-11-16T13:30:00+07:00", station="ARCHIVE"),
              scan(number, "2026-11-16T14:00:00+07:00", station="DESK")]
    post(client, office, events)
    # The agent lost the answer and sends the batch again, with one new event.
    again = post(client, office, [*events, scan(number, "2026-11-16T15:00:00+07:00",
                                                station="RETURN")])
    assert [r["status"] for r in again] == ["duplicate", "duplicate", "accepted"]
    with app.app_context():
        head = db.session.get(ScanChainHead, chain_office_id(app))
        assert head is not None and head.seq == 7
    assert verify(app).exit_code == 0


def chain_office_id(app) -> int:
    return sql(app, "SELECT DISTINCT office_id FROM scan_event")[0][0]


def test_each_office_has_its_own_chain(client, app, office: Office):
    walked(client, office)
    with app.app_context():
        from app.auth.operations import create_device
        from app.offices.operations import get_office

        other_station = get_office("000.00.20.H12").stations[0]
        _, token = create_device("Bình An", [other_station])
        db.session.commit()
    d = office.intake(client, code=f"A-20261116-{next(_serial):04d}",
                      received_at="2026-11-16T08:00:00+07:00")
    # The dossier is sent to Bình An, which scans it in: that scan is a link of its chain.
    post(client, office, [scan(d["tracking_number"], "2026-12-01T09:00:00+07:00",
                               station="DESK", action="send", destination="000.00.20.H12")])
    response = client.post("/api/v1/scans", headers={"Authorization": f"Bearer {token}"},
                           json={"events": [scan(d["tracking_number"],
                                                 "2026-12-01T10:00:00+07:00")]})
    assert response.get_json()["results"][0]["status"] == "accepted"
    result = verify(app)
    assert result.exit_code == 0, result.output
    assert "ok office 000.00.20.H12: 1 events, head 1 " in result.output
    assert f"ok office {office.code}: 6 events, head 6 " in result.output


def test_two_clients_posting_batches_at_once_keep_the_chain_whole(app, office: Office):
    """Two threads, each with its own client, post batches on different dossiers at once:
    the chain head serializes them, whatever the database."""
    client = app.test_client()
    numbers = [office.intake(client, code=f"C-20261116-{n:04d}",
                             received_at="2026-11-16T08:00:00+07:00")["tracking_number"]
               for n in range(1, 9)]
    barrier = threading.Barrier(2)
    failures: list[Any] = []

    def worker(mine: list[str]) -> None:
        c = app.test_client()
        barrier.wait()
        for minute in range(6):
            events = [scan(n, f"2026-11-16T09:{minute:02d}:00+07:00",
                           station=("TUPHAP", "LEADER", "RETURN")[minute % 3]) for n in mine]
            response = c.post("/api/v1/scans", json={"events": events},
                              headers=office.headers())
            statuses = [r["status"] for r in (response.get_json() or {}).get("results", [])]
            if response.status_code != 200 or set(statuses) != {"accepted"}:
                failures.append(response.get_json())

    threads = [threading.Thread(target=worker, args=(numbers[i::2],)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    rows = chain(app)
    assert [r.chain_seq for r in rows] == list(range(1, 8 + 8 * 6 + 1))
    result = verify(app)
    assert result.exit_code == 0, result.output


def test_the_application_refuses_to_edit_or_delete_an_event(client, app, office: Office):
    walked(client, office)
    with app.app_context():
        event = db.session.scalars(sa.select(ScanEvent).limit(1)).one()
        event.flag = "off_plan"  # the derived flag may change
        db.session.flush()
        event.note = "sửa"
        with pytest.raises(AppendOnlyError, match="note"):
            db.session.flush()
        db.session.rollback()
        event = db.session.scalars(sa.select(ScanEvent).limit(1)).one()
        db.session.delete(event)
        with pytest.raises(AppendOnlyError, match="deleted"):
            db.session.flush()
        db.session.rollback()


_WRITES = re.compile(
    r"(update|delete)\(\s*(ScanEvent|_EVENTS)\b|(UPDATE|DELETE\s+FROM)\s+scan_event\b", re.I)


def test_no_code_path_updates_or_deletes_scan_events_in_bulk() -> None:
    """Core statements bypass the flush-time guard: none may target scan_event."""
    offenders = [f"{path.relative_to(ROOT)}:{n}" for path in sorted((ROOT / "app").rglob("*.py"))
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if _WRITES.search(line)]
    assert offenders == []


def test_verify_of_an_unknown_office_is_a_usage_error(app):
    result = verify(app, "--office", "NOPE")
    assert result.exit_code == 2
    assert "no office with code NOPE" in result.output


def test_migration_0012_backfills_the_chains_the_application_wrote(app):
    """Down to 0007 and up again: the backfill links the events on file in id order, which
    is the order the application linked them in, so every hash comes out the same."""
    from conftest import seed_office

    runner = app.test_cli_runner()
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    office = seed_office(app)
    client = app.test_client()
    walked(client, office)
    walked(client, office)
    before = chain(app)
    names = sql(app, "SELECT applicant_name_folded FROM dossier")
    down = runner.invoke(args=["db", "downgrade", "0007"])
    assert down.exit_code == 0, down.output
    up = runner.invoke(args=["db", "upgrade"])
    assert up.exit_code == 0, up.output
    assert chain(app) == before
    assert sql(app, "SELECT applicant_name_folded FROM dossier") == names == [
        ("nguyen thi hang",), ("nguyen thi hang",)]
    assert verify(app).exit_code == 0
