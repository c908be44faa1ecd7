"""The OpenAPI 3.1 document of /api/v1, generated from the routes' ``@spec`` declarations and
the pydantic models' JSON schemas; served at /api/v1/openapi.json."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pydantic
from flask import Flask
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from app.boundary import Binary, RouteSpec, route_spec
from app.tracking.schemas import ErrorOut

PREFIX = "/api/v1"
_REF = "#/components/schemas/{model}"
_ERROR_TEXTS = {
    400: "Malformed JSON body (not JSON, not an object, or nested too deep)",
    401: "Missing, unknown, revoked or expired token",
    403: "Role, device or scope does not allow this",
    404: "Not found (or not in scope)",
    405: "Method not allowed",
    409: "Conflict",
    413: "Batch or body too large",
    422: "A field is missing or invalid; details name the fields",
    429: "Too many requests",
    503: "Database unavailable; retry after Retry-After seconds",
}
_SUCCESS_TEXTS = {200: "OK", 201: "Created"}


def _path(rule: str) -> tuple[str, list[str]]:
    """``/api/v1/dossiers/<reference>`` → ``/dossiers/{reference}`` and its parameters."""
    names = re.findall(r"<(?:[^:<>]+:)?([^<>]+)>", rule)
    path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.removeprefix(PREFIX))
    return path, names


def _routes(app: Flask) -> list[tuple[str, str, list[str], RouteSpec]]:
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIX):
            continue
        declared = route_spec(app.view_functions[rule.endpoint])
        if declared is None:
            msg = f"{rule.rule} has no @spec declaration"
            raise LookupError(msg)
        path, params = _path(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((path, method.lower(), params, declared))
    return found


def _models(routes: list[tuple[str, str, list[str], RouteSpec]]
            ) -> list[tuple[type[pydantic.BaseModel], JsonSchemaMode]]:
    wanted: dict[tuple[type[pydantic.BaseModel], JsonSchemaMode], None] = {
        (ErrorOut, "serialization"): None}
    for *_, declared in routes:
        if declared.body is not None:
            wanted[(declared.body, "validation")] = None
        for model in declared.extra_models:
            wanted[(model, "validation")] = None
        for response in declared.responses.values():
            if isinstance(response, type):
                wanted[(response, "serialization")] = None
    return list(wanted)


def _query_parameters(model: type[pydantic.BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=_REF)
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        description = prop.pop("description", None)
        prop.pop("title", None)
        # An absent parameter is the null; a query string has no null to send.
        options = [o for o in prop.get("anyOf", []) if o != {"type": "null"}]
        if len(options) == 1:
            del prop["anyOf"]
            prop |= options[0]
        if prop.get("default", 0) is None:
            del prop["default"]
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required,
                                 "schema": prop}
        if description:
            param["description"] = description
        params.append(param)
    return params


_Refs = Mapping[tuple[Any, JsonSchemaMode], dict[str, Any]]


def _operation(declared: RouteSpec, params: list[str], refs: _Refs) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": declared.summary,
                          "description": " ".join(
                              part for part in (declared.description,
                                                declared.security.describe()) if part),
                          "security": [] if declared.security.public else [{"bearer": []}]}
    parameters = [{"name": name, "in": "path", "required": True,
                   "schema": {"type": "string", "minLength": 1, "maxLength": 600},
                   "description": "Official code, tracking number or receipt URL"}
                  for name in params]
    if declared.query is not None:
        parameters += _query_parameters(declared.query)
    if parameters:
        op["parameters"] = parameters
    if declared.body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": refs[(declared.body, "validation")]}}}
    responses: dict[str, Any] = {}
    for status, response in sorted(declared.responses.items()):
        text = _SUCCESS_TEXTS.get(status, "OK")
        if isinstance(response, Binary):
            responses[str(status)] = {"description": text, "content": {
                mime: {"schema": {"type": "string", "format": "binary"}}
                for mime in response.media_types}}
        elif response is None:
            responses[str(status)] = {"description": text}
        else:
            responses[str(status)] = {"description": response.__doc__ or text,
                                      "content": {"application/json": {
                                          "schema": refs[(response, "serialization")]}}}
    error = {"application/json": {"schema": refs[(ErrorOut, "serialization")]}}
    for status in declared.error_statuses(bool(params)):
        responses[str(status)] = {"description": _ERROR_TEXTS[status], "content": error}
    op["responses"] = responses
    return op


def build_spec(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every /api/v1 route of ``app``.

    Limits read from the configuration (``MAX_SCAN_BATCH``) are those of ``app``.

    :raises LookupError: a route under /api/v1 without a ``@spec`` declaration.
    """
    routes = _routes(app)
    with app.app_context():
        refs, definitions = models_json_schema(_models(routes), ref_template=_REF)
    paths: dict[str, dict[str, Any]] = {}
    for path, method, params, declared in routes:
        paths.setdefault(path, {})[method] = _operation(declared, params, refs)
    server = str(app.config["PUBLIC_BASE_URL"]).rstrip("/") + PREFIX
    return {
        "openapi": "3.1.0",
        "info": {"title": "Dossier tracker API", "version": "1.0.0",
                 "description": "Barcode tracking of paper dossiers through one-stop offices. "
                                "Errors are always {\"error\": {\"code\", \"message\"}}; a 422 "
                                "names the wrong fields in details."},
        "servers": [{"url": server}],
        "paths": paths,
        "components": {"schemas": definitions.get("$defs", {}), "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer",
                       "description": "Device token (trk_dev_...) or personal token "
                                      "(trk_usr_...)"}}},
    }
