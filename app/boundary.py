"""The typed edge of /api/v1: each route declares its body, query, responses and callers.

``@spec(...)`` sits under the blueprint's route decorator. It checks the caller (through
:func:`app.auth.tokens.require`), parses and validates the JSON body and the query string with
pydantic, hands the view the validated models as ``body=`` / ``query=``, and records the
declaration on the view, where :mod:`app.openapi` finds it to write the OpenAPI document.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pydantic
from flask import request

from app.auth.models import Role
from app.auth.tokens import current_principal, require
from app.errors import DomainError, ValidationError
from app.extensions import charge_token

F = TypeVar("F", bound=Callable[..., Any])

MAX_JSON_DEPTH = 32
"""Deepest nesting of arrays and objects a request body may have (ours need 4)."""

SPEC_ATTRIBUTE = "__api_spec__"


class MalformedJSON(DomainError):
    """A body that is not a JSON object (400 ``malformed_json``)."""

    status = 400
    code = "malformed_json"


@dataclass(frozen=True)
class Security:
    """Who may call a route: nobody needs a token (``public``), or a token of a device
    (where ``devices``) or of a user with one of ``roles``."""

    public: bool = False
    devices: bool = False
    roles: frozenset[Role] = frozenset(Role)

    def describe(self) -> str:
        if self.public:
            return "No token needed."
        callers = ["scanner devices"] if self.devices else []
        if not self.roles:
            return "Callers: scanner devices only."
        if self.roles == frozenset(Role):
            callers.append("any staff user")
        else:
            callers.append("staff with role " + " or ".join(sorted(r.value for r in self.roles)))
        return "Callers: " + ", ".join(callers) + "."


PUBLIC = Security(public=True)


def staff(roles: Iterable[Role] | None = None, *, devices: bool = False) -> Security:
    """Staff tokens (of ``roles``, default any role), and device tokens where ``devices``."""
    allowed = frozenset(roles) if roles is not None else frozenset(Role)
    return Security(devices=devices, roles=allowed)


@dataclass(frozen=True)
class Binary:
    """A non-JSON response body of one of these media types (PDF, ZPL, SVG)."""

    media_types: tuple[str, ...]

    def __init__(self, *media_types: str) -> None:
        object.__setattr__(self, "media_types", media_types)


Response = type[pydantic.BaseModel] | Binary | None


@dataclass(frozen=True)
class RouteSpec:
    """What one route takes and answers; read by :func:`app.openapi.build_spec`."""

    summary: str
    description: str
    body: type[pydantic.BaseModel] | None
    query: type[pydantic.BaseModel] | None
    responses: dict[int, Response]
    security: Security
    errors: tuple[int, ...]
    invalid_code: str
    extra_models: tuple[type[pydantic.BaseModel], ...] = field(default=())

    def error_statuses(self, has_path_params: bool) -> list[int]:
        """Every error status the route may answer, for the document."""
        statuses = set(self.errors) | {422, 429, 503}
        if self.body is not None:
            statuses |= {400, 413}
        if not self.security.public:
            statuses |= {401, 403}
        if has_path_params:
            statuses.add(404)
        return sorted(statuses)


def spec(*, responses: dict[int, Response], security: Security,
         body: type[pydantic.BaseModel] | None = None,
         query: type[pydantic.BaseModel] | None = None, errors: Sequence[int] = (),
         invalid_code: str = "invalid",
         extra_models: Sequence[type[pydantic.BaseModel]] = (),
         cost: Callable[[Any], int] | None = None) -> Callable[[F], F]:
    """Declare a route's contract and enforce its input side.

    :param responses: the model (or :class:`Binary`) answered per success status.
    :param security: who may call it (:data:`PUBLIC` or :func:`staff`).
    :param body: the JSON body model; the view gets the validated instance as ``body``.
    :param query: the query-string model; the view gets it as ``query``.
    :param errors: error statuses beyond those every route of its kind may answer.
    :param invalid_code: the error code of a 422 for this route's input.
    :param extra_models: models to publish in the document besides those named here.
    :param cost: how many calls of the token's budget a valid body counts for (a scan batch:
        its events); one by default.
    """

    def decorator(view: F) -> F:
        doc = (view.__doc__ or "").strip()
        summary, _, rest = doc.partition("\n")
        route = RouteSpec(summary=summary.strip(), description=rest.strip(), body=body,
                          query=query, responses=responses, security=security,
                          errors=tuple(errors), invalid_code=invalid_code,
                          extra_models=tuple(extra_models))

        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            amount = 1
            if body is not None:
                try:
                    kwargs["body"] = validate(body, json_body(), code=invalid_code)
                except DomainError:
                    if not security.public:
                        charge_token(current_principal().token_key, 1)
                    raise
                if cost is not None:
                    amount = cost(kwargs["body"])
            if not security.public:
                # One charge per call, all or nothing: a batch over the budget spends none.
                charge_token(current_principal().token_key, amount)
            if query is not None:
                kwargs["query"] = validate(query, request.args.to_dict(), code=invalid_code)
            return view(*args, **kwargs)

        guarded = wrapper if security.public else require(
            roles=security.roles, devices=security.devices)(wrapper)
        setattr(guarded, SPEC_ATTRIBUTE, route)
        return guarded  # type: ignore[return-value]

    return decorator


def route_spec(view: Callable[..., Any]) -> RouteSpec | None:
    """The declaration a view carries, if any."""
    return getattr(view, SPEC_ATTRIBUTE, None)


# --- bodies -----------------------------------------------------------------------------------

_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


def _too_deep(raw: bytes, limit: int) -> bool:
    """Whether arrays/objects nest deeper than ``limit``; linear, and quick to say yes.

    Python's json module recurses once per level, so a body of 100,000 ``[`` would end in a
    RecursionError: this runs first. Brackets inside strings do not count.
    """
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth = 0
    for byte in _STRINGS.sub(b"", raw):
        if byte in b"[{":
            depth += 1
            if depth > limit:
                return True
        elif byte in b"]}":
            depth -= 1
    return False


def _no_constant(name: str) -> Any:
    msg = f"{name} is not JSON"
    raise ValueError(msg)


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a 400 ``malformed_json`` saying what is wrong with it.

    The size is bounded by ``MAX_CONTENT_LENGTH`` (413), the nesting depth here.
    """
    raw = request.get_data(cache=True)
    if _too_deep(raw, MAX_JSON_DEPTH):
        msg = f"The body nests deeper than {MAX_JSON_DEPTH} levels."
        raise MalformedJSON(msg)
    try:
        body = json.loads(raw, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        msg = "The body must be valid JSON."
        raise MalformedJSON(msg) from exc
    if not isinstance(body, dict):
        msg = "The body must be a JSON object."
        raise MalformedJSON(msg)
    return body


def field_errors(exc: pydantic.ValidationError) -> list[dict[str, str]]:
    """Pydantic's errors as ``[{"field", "type", "message"}]``, never echoing the input
    (it may be personal data)."""
    return [{"field": ".".join(str(part) for part in error["loc"]), "type": error["type"],
             "message": error["msg"]} for error in exc.errors(include_url=False,
                                                              include_input=False,
                                                              include_context=False)]


M = TypeVar("M", bound=pydantic.BaseModel)


def validate(model: type[M], data: Any, *, code: str = "invalid") -> M:
    """``data`` as a ``model``, or a 422 naming every wrong field."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        details = field_errors(exc)
        names = ", ".join(dict.fromkeys(d["field"] or "body" for d in details))
        msg = f"Invalid or missing: {names}."
        raise ValidationError(msg, code=code, details=details) from exc
