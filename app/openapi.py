"""The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    texts = {400: "Malformed JSON body", 401: "Missing, unknown or revoked token",
             403: "Role or scope does not allow this", 404: "Not found (or not in scope)",
             409: "The receipt secret must be reissued first",
             413: "Batch or body too large", 422: "A field is missing or invalid",
             429: "Too many requests from this client"}
    return {str(s): _json(_ref("Error"), texts[s]) for s in statuses}


_STRING = {"type": "string"}
_TIME = {"type": "string", "format": "date-time"}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}

SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": _STRING, "message": _STRING, "details": {}}}}},
    "ScanEvent": {
        "type": "object", "required": ["id", "code", "scanned_at"],
        "properties": {
            "id": {"type": "string", "format": "uuid", "description": "Idempotency key"},
            "code": {"type": "string", "maxLength": 512,
                     "description": "Tracking number, official code or receipt QR URL"},
            "scanned_at": {**_TIME, "description": "Device clock, with UTC offset"},
            "sent_at": {**_TIME, "description": "Device clock at this send attempt"},
            "station": {"type": "string", "description": "Defaults to the device's station"},
            "action": {"type": "string", "enum": [
                "receive", "transfer_in", "request_supplement", "supplement_received",
                "request_payment", "result_ready", "returned", "withdrawn", "stopped",
                "send"]},
            "destination": {"type": "string", "maxLength": 32,
                            "description": "For send: the agency code or station code the "
                                           "file goes to"},
            "actor": {"type": "string", "description": "Staff badge or username"},
            "seq": {"type": "integer", "minimum": 0, "description": "Per-device sequence"},
            "note": _STRING}},
    "ScanResult": {
        "type": "object", "required": ["id", "status"],
        "properties": {
            "id": {"type": ["string", "null"]},
            "status": {"type": "string", "enum": ["accepted", "duplicate", "rejected"]},
            "reason": {"type": "string", "description":
                       "For rejected: malformed, unknown_code, bad_check_digit, "
                       "unrecognized_code, station_not_allowed, no_station, out_of_scope, "
                       "action_not_allowed, unknown_destination"},
            "message": _STRING,
            "flag": {"type": "string", "description": "after_close, off_plan, ..."},
            "dossier": {"type": "object"}}},
    "Station": {"type": "object", "properties": {
        "code": _STRING, "name": _STRING, "kind": _STRING, "office": _STRING}},
    "IntakeRequest": {
        "type": "object", "required": ["procedure", "applicant"],
        "properties": {
            "procedure": {"type": "string", "description": "Procedure code, e.g. 1.001193"},
            "procedure_version": {"type": "integer"},
            "applicant": {"type": "object", "required": ["name"], "properties": {
                "name": _STRING, "phone": _STRING, "id_number": _STRING, "address": _STRING,
                "email": _STRING}},
            "documents": {"type": "array", "items": _STRING},
            "copies": {"type": "integer", "minimum": 1, "maximum": 100},
            "competent_office": {"type": "string", "description": "Agency code"},
            "station": _STRING, "return_method": _STRING, "note": _STRING,
            "code": {"type": "string", "description": "Upstream-registered official code"},
            "received_at": {**_TIME, "description": "Upstream received time (with code)"}}},
    "IntakeResponse": {"type": "object", "properties": {
        "created": {"type": "boolean"}, "code": _STRING, "tracking_number": _STRING,
        "received_at": _TIME, "due_at": _TIME, "status": _STRING,
        "lookup_url": {"type": "string", "format": "uri"}, "links": {"type": "object"}}},
    "PublicDossier": {"type": "object", "properties": {
        "code": _STRING, "procedure": {"type": "object"}, "status": _STRING,
        "status_code": {"type": "integer"}, "status_label": _STRING,
        "current_step": {"type": ["string", "null"]}, "received_at": _TIME, "due_at": _TIME,
        "finished_at": _NULLABLE_TIME, "on_time": _STRING, "on_time_label": _STRING,
        "applicant": {"type": "string", "description": "Masked name"},
        "timeline": {"type": "array", "items": {"type": "object"},
                     "description": "Only with the receipt secret"}}},
    "Dossier": {"allOf": [_ref("PublicDossier"), {"type": "object", "properties": {
        "tracking_number": _STRING, "applicant": {"type": "object"},
        "current_station": {"anyOf": [_ref("Station"), {"type": "null"}]},
        "holder": {"type": ["string", "null"]},
        "working_hours_left": {"type": ["number", "null"]},
        "timeline": {"type": "array", "items": {"type": "object"}}}}]},
}


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema or _STRING,
            "description": description}


_LAYOUT = _query("layout", "Preset (thermal-50x30, a4-65, ...) or JSON grid; default: office's")
_COPIES = _query("copies", "Copies of the label", {"type": "integer", "minimum": 1})
_WITH_2D = _query("with_2d", "1 adds a QR of the official code")
PRINTS = [
    ("label.pdf", "Barcode label as PDF", "application/pdf",
     [_LAYOUT, _COPIES, _WITH_2D, _query("start", "First free slot on a partly used sheet",
                                          {"type": "integer", "minimum": 1})]),
    ("label.zpl", "Barcode label as ZPL II", "application/vnd.zebra.zpl",
     [_LAYOUT, _COPIES, _WITH_2D]),
    ("receipt.pdf", "Citizen receipt (Mẫu 01), two copies", "application/pdf", []),
    ("control-sheet.pdf", "Control sheet (Mẫu 05) from the recorded handoffs",
     "application/pdf", []),
    ("barcode.svg", "Tracking number as Code 128 SVG", "image/svg+xml", []),
]


def build_spec(server_url: str) -> dict[str, Any]:
    bearer: list[dict[str, list[str]]] = [{"bearer": []}]
    reference = {"name": "reference", "in": "path", "required": True, "schema": _STRING,
                 "description": "Official code, tracking number or receipt URL"}
    paths: dict[str, Any] = {
        "/scans": {"post": {
            "summary": "Record handoff scans (device or staff token)", "security": bearer,
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["events"], "properties": {"events": {
                    "type": "array", "minItems": 1, "maxItems": 500,
                    "items": _ref("ScanEvent")}}}}}},
            "responses": {"200": _json({"type": "object", "properties": {"results": {
                "type": "array", "items": _ref("ScanResult")}}}, "One result per event"),
                **_errors(400, 401, 403, 413, 422)}}},
        "/dossiers": {"post": {
            "summary": "Receive a dossier (reception or admin)", "security": bearer,
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": _ref("IntakeRequest")}}},
            "responses": {"201": _json(_ref("IntakeResponse"), "Received"),
                          "200": _json(_ref("IntakeResponse"), "Code registered before"),
                          **_errors(400, 401, 403, 404, 422)}}},
        "/dossiers/{reference}": {"get": {
            "summary": "Where a dossier is, its due date and its handoff timeline",
            "security": bearer, "parameters": [reference],
            "responses": {"200": _json(_ref("Dossier"), "The dossier"),
                          **_errors(401, 403, 404)}}},
        **{f"/dossiers/{{reference}}/{name}": {"get": {
            "summary": summary, "security": bearer, "parameters": [reference, *params],
            "responses": {"200": {"description": summary,
                                  "content": {mime: {"schema": {"type": "string",
                                                                "format": "binary"}}}},
                          **_errors(401, 403, 404, 409, 422)}}}
           for name, summary, mime, params in PRINTS},
        "/dossiers/{reference}/lookup-secret": {"post": {
            "summary": "Issue a new receipt secret when the old one can no longer be derived "
                       "(reception, admin); then reprint the receipt",
            "security": bearer, "parameters": [reference],
            "responses": {"200": _json({"type": "object", "properties": {
                "code": _STRING, "lookup_url": {"type": "string", "format": "uri"},
                "links": {"type": "object"}}}, "The new lookup link"),
                **_errors(401, 403, 404)}}},
        "/labels": {"post": {
            "summary": "Labels for many dossiers onto sheets (PDF) or one ZPL job",
            "security": bearer,
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["dossiers"], "properties": {
                    "dossiers": {"type": "array", "items": _STRING, "minItems": 1,
                                 "maxItems": 1000},
                    "layout": {"description": "Preset name or grid object"},
                    "printer": {"type": "string", "enum": ["pdf", "zpl"]},
                    "copies": {"type": "integer", "minimum": 1, "maximum": 100},
                    "start_position": {"type": "integer", "minimum": 1},
                    "with_2d": {"type": "boolean"}}}}}},
            "responses": {"200": {"description": "PDF or ZPL attachment"},
                          **_errors(400, 401, 403, 404, 422)}}},
        "/stations": {"get": {
            "summary": "Stations the caller may scan at", "security": bearer,
            "responses": {"200": _json({"type": "object", "properties": {"stations": {
                "type": "array", "items": _ref("Station")}}}, "Stations"),
                **_errors(401)}}},
        "/procedures": {"get": {
            "summary": "Procedures with their current duration and step plan",
            "security": bearer,
            "responses": {"200": _json({"type": "object"}, "Procedures"),
                          **_errors(401, 403)}}},
        "/lookup/{code}": {"get": {
            "summary": "Public status of a dossier; the step timeline with ?t=secret",
            "security": [],
            "parameters": [{**reference, "name": "code"},
                           {"name": "t", "in": "query", "required": False, "schema": _STRING,
                            "description": "Secret printed in the receipt QR"}],
            "responses": {"200": _json(_ref("PublicDossier"), "Non-personal status"),
                          **_errors(404, 429)}}},
        "/refused-scans": {"get": {
            "summary": "Scans refused as out of scope on the caller's offices' dossiers "
                       "(supervisor or admin), newest first",
            "security": bearer,
            "parameters": [_query("from", "ISO date or date-time; default 30 days ago"),
                           _query("to", "ISO date (included) or date-time; default now"),
                           _query("limit", "Rows per page", {"type": "integer", "minimum": 1,
                                                             "maximum": 500}),
                           _query("before", "Row id from the previous page's next link",
                                  {"type": "integer", "minimum": 1})],
            "responses": {"200": _json({"type": "object", "properties": {
                "refused": {"type": "array", "items": {"type": "object"}},
                "next": {"type": ["string", "null"]}}}, "Refused attempts"),
                **_errors(401, 403, 422)}}},
        "/openapi.json": {"get": {"summary": "This document", "security": [],
                                  "responses": {"200": {"description": "OpenAPI 3.1"}}}},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Dossier tracker API", "version": "1.0.0",
                 "description": "Barcode tracking of paper dossiers through one-stop offices. "
                                "Errors are always {\"error\": {\"code\", \"message\"}}."},
        "servers": [{"url": server_url.rstrip("/") + "/api/v1"}],
        "paths": paths,
        "components": {"schemas": SCHEMAS, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer",
                       "description": "Device token (trk_dev_...) or personal token "
                                      "(trk_usr_...)"}}},
    }
