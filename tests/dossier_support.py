"""Helpers for tests that build dossier histories through the API: upstream intakes at a
fixed time and scan batches at named stations."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any
from zoneinfo import ZoneInfo

from conftest import Office, scan

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
_serial = itertools.count(1)


def iso(y: int, m: int, d: int, hour: int, minute: int = 0) -> str:
    """An instant on the office's wall clock, as the API takes it."""
    return dt.datetime(y, m, d, hour, minute, tzinfo=HCM).isoformat()


def nov(d: int, hour: int, minute: int = 0) -> str:
    return iso(2026, 11, d, hour, minute)


def intake(client: Any, office: Office, received_at: str,
           procedure: str = "1.001193") -> dict[str, Any]:
    """A dossier registered upstream, received at ``received_at``."""
    code = f"P-{received_at[2:10].replace('-', '')}-{next(_serial):04d}"
    return office.intake(client, code=code, received_at=received_at, procedure=procedure)


def post(client: Any, office: Office, code: str, rows: list[tuple[str, str, str | None]],
         who: str = "device") -> None:
    """Scan ``(time, station, action or None)`` rows in one batch; all must be accepted."""
    events = [scan(code, t, station=s, **({"action": a} if a else {})) for t, s, a in rows]
    response = client.post("/api/v1/scans", json={"events": events}, headers=office.headers(who))
    assert response.status_code == 200, response.get_json()
    results = response.get_json()["results"]
    assert all(r["status"] == "accepted" for r in results), results
