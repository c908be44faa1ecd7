"""Schemathesis over the generated OpenAPI document, in-process against the WSGI app: every
operation, valid and invalid input, with no token, a device token and each role's token.
Zero 5xx, and every response documented and matching its schema."""

from __future__ import annotations

from typing import Any

import schemathesis
from conftest import Office
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.auth.models import Role
from app.db import utcnow

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
# Small and derandomized: the same examples on every run, a few seconds per operation.
BOUNDED = settings(max_examples=12, derandomize=True, deadline=None, database=None,
                   suppress_health_check=list(HealthCheck))


def _callers(office: Office) -> list[dict[str, str]]:
    return [{}, office.headers("device"), *(office.headers(role.value) for role in Role)]


def _realistic(case: Any, real: dict[str, Any], now: str) -> None:
    """Point a generated body at a real dossier and procedure, so the deep paths run too."""
    body = case.body
    if not isinstance(body, dict):
        return
    if case.operation.path == "/dossiers":
        body["procedure"] = "1.001193"
        for key in ("competent_office", "station", "code", "received_at", "procedure_version"):
            body.pop(key, None)
    elif case.operation.path == "/labels":
        body["dossiers"] = [real["code"]]
        body.pop("layout", None)
    elif case.operation.path == "/scans" and isinstance(body.get("events"), list):
        for number, event in enumerate(body["events"]):
            if isinstance(event, dict):
                event |= {"code": real["tracking_number"]}
                if number % 2 == 0:
                    event |= {"scanned_at": now}
                    event.pop("sent_at", None)


def _checker(strategy: Any, who: Any, real: dict[str, Any], now: str | None) -> Any:
    @BOUNDED
    @given(case=strategy, headers=who)
    def check(case: Any, headers: dict[str, str]) -> None:
        if now is not None:
            _realistic(case, real, now)
        case.call_and_validate(headers=headers, checks=CHECKS)

    return check


def test_every_operation_answers_as_documented_for_every_caller(app, office: Office, client):
    real = office.intake(client)
    now = utcnow().isoformat()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    callers = _callers(office)
    writers = {"/dossiers": office.headers("reception"), "/labels": office.headers("reception"),
               "/scans": office.headers("device")}
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        runs: list[tuple[GenerationMode, dict[str, Any] | None, bool]] = [
            (GenerationMode.POSITIVE, None, False), (GenerationMode.NEGATIVE, None, False)]
        for name in ("reference", "code"):
            if f"{{{name}}}" in operation.path:
                runs.append((GenerationMode.POSITIVE, {name: real["code"]}, False))
        if operation.path in writers:
            runs.append((GenerationMode.POSITIVE, None, True))
        for mode, path_parameters, realistic in runs:
            strategy = operation.as_strategy(generation_mode=mode,
                                             path_parameters=path_parameters)
            who = st.just(writers[operation.path]) if realistic else st.sampled_from(callers)

            check = _checker(strategy, who, real, now if realistic else None)
            try:
                check()
            except Exception as exc:  # noqa: BLE001 - collect every operation's failure
                failures.append(f"{operation.label} [{mode.value}, realistic={realistic}]: "
                                f"{exc}")
    assert not failures, "\n\n".join(failures)
