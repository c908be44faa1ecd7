"""JSON in and out for the tracking API: validation of intake bodies, dossier documents."""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any

from app.errors import ValidationError
from app.tracking.models import Dossier
from app.tracking.queries import VERDICT_LABELS, TimelineStep, person


def iso(value: dt.datetime | None, tz: Any = None) -> str | None:
    if value is None:
        return None
    return (value.astimezone(tz) if tz is not None else value).isoformat()


def text(body: dict[str, Any], key: str, *, required: bool = False, max_len: int = 200,
         where: str = "") -> str:
    """A trimmed NFC string field, or a 422 naming the field."""
    name = f"{where}{key}"
    value = body.get(key)
    if value is None:
        if required:
            raise ValidationError(f"{name} is required", details={"field": name})
        return ""
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be a string", details={"field": name})
    value = unicodedata.normalize("NFC", value).strip()
    if required and not value:
        raise ValidationError(f"{name} must not be empty", details={"field": name})
    if len(value) > max_len:
        raise ValidationError(f"{name} is longer than {max_len} characters",
                              details={"field": name})
    return value


def mask_name(name: str) -> str:
    """``Nguyễn Thị Hằng`` → ``N*** T*** H***``: enough to recognise one's own file."""
    return " ".join(part[0] + "***" for part in name.split())


def station_json(station: Any) -> dict[str, Any] | None:
    if station is None:
        return None
    return {"code": station.code, "name": station.name, "kind": station.kind.name.lower(),
            "office": station.office.code}


def public_dossier(d: Dossier, tz: Any, verdict: str) -> dict[str, Any]:
    """What anybody holding the code may see: no personal data."""
    version = d.procedure_version
    return {
        "code": d.code,
        "procedure": {"code": version.procedure.code, "name": version.procedure.name},
        "status": d.status.name.lower(),
        "status_code": d.status.value,
        "status_label": d.status.label,
        "current_step": d.current_station.name if d.current_station else None,
        "received_at": iso(d.received_at, tz),
        "due_at": iso(d.due_at, tz),
        "finished_at": iso(d.finished_at, tz),
        "on_time": verdict,
        "on_time_label": VERDICT_LABELS[verdict],
        "applicant": mask_name(d.applicant_name),
    }


def timeline_json(steps: list[TimelineStep], tz: Any, *, personal: bool) -> list[dict[str, Any]]:
    """The control sheet rows. ``personal`` adds the staff names (never for the public)."""
    rows = []
    for number, s in enumerate(steps, start=1):
        e = s.event
        row: dict[str, Any] = {
            "number": number,
            "action": e.action.value,
            "at": iso(s.arrived_at, tz),
            "from_station": station_json(s.giver_station),
            "station": station_json(e.station),
            "step": ({"position": s.plan_step.position, "name": s.plan_step.name,
                      "budget_hours": float(s.plan_step.budget_hours)}
                     if s.plan_step else None),
            "left_at": iso(s.left_at, tz),
            "spent_hours": round(s.spent.total_seconds() / 3600, 2),
            "verdict": s.verdict,
            "verdict_label": VERDICT_LABELS.get(s.verdict or ""),
            "flag": e.flag,
        }
        if personal:
            row |= {"giver": s.giver, "receiver": person(e), "scanned_at": iso(e.scanned_at, tz),
                    "received_at": iso(e.received_at, tz), "device": e.device_id,
                    "event_id": str(e.uuid), "note": e.note}
        rows.append(row)
    return rows


def staff_dossier(d: Dossier, tz: Any, verdict: str, hours_left: float | None,
                  steps: list[TimelineStep]) -> dict[str, Any]:
    """Everything staff in scope may see, with the control-sheet timeline."""
    body = public_dossier(d, tz, verdict)
    version = d.procedure_version
    body |= {
        "tracking_number": d.tracking_number,
        "procedure": body["procedure"] | {"version": version.version,
                                          "legal_duration": version.duration_text},
        "applicant": {"name": d.applicant_name, "phone": d.applicant_phone,
                      "id_number": d.applicant_id_number, "address": d.applicant_address,
                      "email": d.applicant_email},
        "documents": d.documents,
        "copies": d.copies,
        "receiving_office": d.receiving_office.code,
        "competent_office": d.competent_office.code,
        "current_station": station_json(d.current_station),
        "holder": d.current_holder.full_name if d.current_holder else None,
        "returned_at": iso(d.returned_at, tz),
        "paused_since": iso(d.paused_since, tz),
        "supplement_wait_hours": float(d.paused_hours),
        "supplement_count": d.supplement_count,
        "working_hours_left": hours_left,
        "upstream": d.upstream,
        "timeline": timeline_json(steps, tz, personal=True),
    }
    return body
