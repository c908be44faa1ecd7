"""The handoff log for process mining: IEEE XES (each dossier a trace) and OCEL 2.0 JSON (each
dossier an object, each station too; each scan an event related to both).

For supervisors: staff names appear (``org:resource``), the applicant never does; a dossier
is named by its code. Activities are the stations a file is handed to and the desk's acts
(receipt, supplement requests, return …), in Vietnamese as the offices say them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree as ET

import sqlalchemy as sa

from app.analytics.selection import Selection
from app.codes import CARD_ACTIONS
from app.db import db
from app.offices.models import Station
from app.offices.operations import calendar_of
from app.procedures.models import ProcedureVersion
from app.tracking.models import Dossier, ScanAction, ScanEvent
from app.tracking.queries import person

XES_MEDIA_TYPE = "application/xml"
OCEL_MEDIA_TYPE = "application/json"

# The desk's acts by their name on the action cards; a handoff is named by its station.
_ACT_NAMES = CARD_ACTIONS | {ScanAction.RECEIVE.value: "Tiếp nhận hồ sơ",
                             ScanAction.STOPPED.value: "Dừng xử lý"}
_HANDOFFS = (ScanAction.TRANSFER_IN,)


def activity(event: ScanEvent) -> str:
    """``Tư pháp – Hộ tịch`` for a handoff to that station, else the act (``Nhận bổ sung``)."""
    if event.action in _HANDOFFS:
        return event.station.name
    return _ACT_NAMES.get(event.action.value, event.action.value)


@dataclass(frozen=True)
class Case:
    """One dossier and its scans in order, times in its office's zone."""

    dossier: Dossier
    events: list[ScanEvent]
    tz: Any


def cases(selection: Selection) -> Iterator[Case]:
    """The selection's dossiers with their events (stations and staff loaded)."""
    events: dict[int, list[ScanEvent]] = {}
    stmt = (sa.select(ScanEvent).where(ScanEvent.dossier_id.in_(selection.dossier_ids()))
            .options(sa.orm.joinedload(ScanEvent.station).joinedload(Station.office),
                     sa.orm.joinedload(ScanEvent.actor))
            .order_by(ScanEvent.corrected_at, ScanEvent.uuid))
    for event in db.session.scalars(stmt):
        events.setdefault(event.dossier_id, []).append(event)
    dossiers = db.session.scalars(selection.dossiers().options(
        sa.orm.joinedload(Dossier.procedure_version).joinedload(ProcedureVersion.procedure),
        sa.orm.joinedload(Dossier.receiving_office)))
    for d in dossiers:
        yield Case(d, events.get(d.id, []), calendar_of(d.receiving_office_id).tz)


def _case_attributes(d: Dossier) -> dict[str, str]:
    procedure = d.procedure_version.procedure
    return {"tracking_number": d.tracking_number, "procedure": procedure.code,
            "procedure_name": procedure.name, "office": d.receiving_office.code,
            "status": d.status.name.lower()}


def _event_attributes(e: ScanEvent) -> dict[str, str]:
    values = {"station": e.station.code, "office": e.station.office.code,
              "action": e.action.value, "event_id": str(e.uuid)}
    if e.flag:
        values["flag"] = e.flag
    return values


# --- XES --------------------------------------------------------------------------------------

_XES_EXTENSIONS = (("Concept", "concept"), ("Time", "time"), ("Organizational", "org"),
                   ("Lifecycle", "lifecycle"))


def _xes_time(value: dt.datetime, tz: Any) -> str:
    return value.astimezone(tz).isoformat(timespec="milliseconds")


def _string(parent: ET.Element, key: str, value: str) -> None:
    ET.SubElement(parent, "string", key=key, value=value)


def to_xes(selection: Selection) -> bytes:
    """The log as IEEE 1849-2016 XES: a trace per dossier (``concept:name`` its code), an
    event per scan with its activity, time, lifecycle ``complete`` and the staff member."""
    log = ET.Element("log", {"xes.version": "1849-2016", "xes.features": "nested-attributes",
                             "xmlns": "http://www.xes-standard.org/"})
    for name, prefix in _XES_EXTENSIONS:
        ET.SubElement(log, "extension", name=name, prefix=prefix,
                      uri=f"http://www.xes-standard.org/{prefix}.xesext")
    for scope, keys in (("trace", ("concept:name",)),
                        ("event", ("concept:name", "lifecycle:transition"))):
        glob = ET.SubElement(log, "global", scope=scope)
        for key in keys:
            _string(glob, key, "__INVALID__")
    ET.SubElement(log, "classifier", name="Activity", keys="concept:name")
    _string(log, "concept:name", "Sổ theo dõi chuyển hồ sơ")
    for case in cases(selection):
        trace = ET.SubElement(log, "trace")
        _string(trace, "concept:name", case.dossier.code)
        for key, value in _case_attributes(case.dossier).items():
            _string(trace, key, value)
        for e in case.events:
            node = ET.SubElement(trace, "event")
            _string(node, "concept:name", activity(e))
            _string(node, "lifecycle:transition", "complete")
            ET.SubElement(node, "date", key="time:timestamp",
                          value=_xes_time(e.corrected_at, case.tz))
            resource = person(e)
            if resource:
                _string(node, "org:resource", resource)
            for key, value in _event_attributes(e).items():
                _string(node, key, value)
    ET.indent(log)
    return ET.tostring(log, encoding="utf-8", xml_declaration=True)


# --- OCEL 2.0 ---------------------------------------------------------------------------------

_EVENT_ATTRIBUTES = ("station", "office", "action", "resource", "flag")
_DOSSIER_ATTRIBUTES = ("tracking_number", "procedure", "procedure_name", "office", "status")


def to_ocel(selection: Selection) -> bytes:
    """The log as OCEL 2.0 JSON: objects of type ``dossier`` (id: the code) and ``station``
    (id: its code); an event per scan, typed by its activity, related to its dossier
    (qualifier ``dossier``) and to the station it was scanned at (``at``)."""
    objects: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    stations: dict[str, Station] = {}
    activities: set[str] = set()
    for case in cases(selection):
        d = case.dossier
        objects.append({"id": d.code, "type": "dossier", "relationships": [], "attributes": [
            {"name": name, "time": _ocel_time(d.received_at), "value": value}
            for name, value in _case_attributes(d).items()]})
        for e in case.events:
            stations.setdefault(e.station.code, e.station)
            kind = activity(e)
            activities.add(kind)
            values = _event_attributes(e) | {"resource": person(e)}
            events.append({
                "id": str(e.uuid), "type": kind, "time": _ocel_time(e.corrected_at),
                "attributes": [{"name": name, "value": values[name]}
                               for name in _EVENT_ATTRIBUTES if values.get(name)],
                "relationships": [{"objectId": d.code, "qualifier": "dossier"},
                                  {"objectId": e.station.code, "qualifier": "at"}]})
    objects += [{"id": code, "type": "station", "relationships": [], "attributes": [
        {"name": "name", "time": "1970-01-01T00:00:00Z", "value": s.name},
        {"name": "office", "time": "1970-01-01T00:00:00Z", "value": s.office.code}]}
        for code, s in sorted(stations.items())]
    document = {
        "objectTypes": [
            {"name": "dossier", "attributes": [{"name": name, "type": "string"}
                                               for name in _DOSSIER_ATTRIBUTES]},
            {"name": "station", "attributes": [{"name": "name", "type": "string"},
                                               {"name": "office", "type": "string"}]}],
        "eventTypes": [{"name": kind, "attributes": [{"name": name, "type": "string"}
                                                     for name in _EVENT_ATTRIBUTES]}
                       for kind in sorted(activities)],
        "objects": objects,
        "events": events,
    }
    return json.dumps(document, ensure_ascii=False, indent=1).encode()


def _ocel_time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
