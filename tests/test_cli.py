"""The tracker command: admin commands through the CLI runner, and the installed script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def test_calendar_due_prints_the_due_instant(runner):
    result = runner.invoke(args=["calendar", "due", "--from", "2026-02-13T10:00:00+07:00",
                                 "--duration", "1 working day"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "2026-02-23T10:00:00+07:00"


def test_calendar_show_lists_holidays_and_make_up_saturday(runner):
    result = runner.invoke(args=["calendar", "show", "2026"])
    assert result.exit_code == 0, result.output
    assert "2026-02-17" in result.output
    assert "2026-08-22 Sat  working day" in result.output
    assert "2026-08-31" in result.output


def test_calendar_override_changes_due_dates(runner):
    runner.invoke(args=["office", "add", "--code", "H12.22", "--name", "Xã A", "--province",
                        "H12"])
    result = runner.invoke(args=["calendar", "set", "2026-12-07", "day-off", "--note", "Bão"])
    assert result.exit_code == 0, result.output
    due = runner.invoke(args=["calendar", "due", "--from", "2026-12-04T09:00:00+07:00",
                              "--duration", "1 working day", "--office", "H12.22"])
    # Friday + 1 working day skips the weekend and the declared Monday off.
    assert due.output.strip() == "2026-12-08T09:00:00+07:00"


def test_calendar_due_rejects_bad_duration_cleanly(runner):
    result = runner.invoke(args=["calendar", "due", "--from", "2026-02-13T10:00:00+07:00",
                                 "--duration", "two weeks"])
    assert result.exit_code == 2
    assert "Error" in result.output and "Traceback" not in result.output


def test_station_device_user_lifecycle(app, runner):
    assert runner.invoke(args=["office", "add", "--code", "H12.22", "--name", "Xã A",
                               "--province", "H12"]).exit_code == 0
    added = runner.invoke(args=["station", "add", "--office", "H12.22", "--code", "a-desk",
                                "--name", "Quầy 1", "--kind", "reception"])
    assert added.exit_code == 0, added.output
    assert "A-DESK" in runner.invoke(args=["station", "list"]).output
    device = runner.invoke(args=["device", "add", "--station", "A-DESK"])
    assert device.exit_code == 0, device.output
    token = device.output.split("token: ")[1].strip()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/stations", headers=headers).status_code == 200
    assert runner.invoke(args=["device", "revoke", "1"]).exit_code == 0
    assert client.get("/api/v1/stations", headers=headers).status_code == 401
    user = runner.invoke(args=["user", "add", "mai", "--name", "Trần Thị Mai", "--role",
                               "reception", "--office", "H12.22", "--password", "mật-khẩu-mới"])
    assert user.exit_code == 0, user.output
    issued = runner.invoke(args=["user", "token", "mai"])
    assert issued.stdout.startswith("trk_usr_")  # the expiry goes to stderr
    me = {"Authorization": f"Bearer {issued.stdout.strip()}"}
    assert client.get("/api/v1/stations", headers=me).get_json()["stations"][0]["code"] == \
        "A-DESK"


def test_duplicate_station_is_a_clean_error(runner):
    runner.invoke(args=["office", "add", "--code", "H12.22", "--name", "Xã A", "--province",
                        "H12"])
    args = ["station", "add", "--office", "H12.22", "--code", "D", "--name", "x", "--kind",
            "reception"]
    runner.invoke(args=args)
    again = runner.invoke(args=args)
    assert again.exit_code == 2 and "exists already" in again.output


def test_procedure_plan_longer_than_the_legal_time_is_refused(runner):
    runner.invoke(args=["office", "add", "--code", "H12.22", "--name", "Xã A", "--province",
                        "H12"])
    result = runner.invoke(args=["procedure", "add", "--code", "1.1", "--name", "Thử",
                                 "--duration", "1 working day", "--step", "A=RECEPTION:4",
                                 "--step", "B=DEPARTMENT:6"])
    assert result.exit_code == 2
    assert "more than the legal 8" in result.output


def test_demo_seeds_everything_and_can_run_twice(app, runner):
    first = runner.invoke(args=["demo", "--json"])
    assert first.exit_code == 0, first.output
    data = json.loads(first.output)
    assert {u["role"] for u in data["users"]} == {
        "reception", "specialist", "leader", "supervisor", "admin"}
    assert len(data["devices"]) == 1 and len(data["dossiers"]) == 3
    second = json.loads(runner.invoke(args=["demo", "--json"]).output)
    assert second["dossiers"] == data["dossiers"]
    client = app.test_client()
    # Fresh tokens replace the old device token.
    old = {"Authorization": f"Bearer {data['devices'][0]['token']}"}
    new = {"Authorization": f"Bearer {second['devices'][0]['token']}"}
    assert client.get("/api/v1/stations", headers=old).status_code == 401
    assert client.get("/api/v1/stations", headers=new).status_code == 200
    reception = {"Authorization": f"Bearer {second['users'][0]['token']}"}
    moved = client.get(f"/api/v1/dossiers/{data['dossiers'][0]['code']}", headers=reception)
    assert moved.get_json()["current_station"]["code"] == "TP-TUPHAP"


@pytest.mark.skipif(os.environ.get("TEST_DATABASE_URL") is not None,
                    reason="exercises the SQLite default of a fresh install")
def test_installed_tracker_script_migrates_and_seeds(tmp_path: Path):
    script = Path(sys.executable).with_name("tracker")
    env = os.environ | {"DATABASE_URL": f"sqlite:///{tmp_path}/t.db",
                        "FLASK_SECRET_KEY": "x"}
    subprocess.run([str(script), "db", "upgrade"], env=env, check=True, capture_output=True)
    out = subprocess.run([str(script), "demo", "--json"], env=env, check=True,
                         capture_output=True, text=True).stdout
    assert json.loads(out)["office"]["code"] == "000.00.19.H12"
