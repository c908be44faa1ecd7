"""HTTP client for the tracker's ``/api/v1`` (bearer device token, JSON)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import requests

USER_AGENT = "scanner-agent/0.1"


class ClientError(Exception):
    """Base class: every failure carries a message fit for the operator."""


class TransientError(ClientError):
    """Unreachable server, timeout, 5xx, 408 or 429: retry later.

    :param retry_after: seconds the server asked us to wait, if it said.
    """

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RequestTimeout(TransientError):
    """The server took longer than the timeout (a big batch on a slow server or link)."""


class AuthError(ClientError):
    """401/403: the device token is wrong or revoked. Scans stay queued."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class NotFoundError(ClientError):
    """The server does not know the dossier (or it is not this device's office's)."""


class BatchRejected(ClientError):
    """A 4xx for the whole request (broken envelope, too large): resending it will not help."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def _error_body(response: requests.Response) -> tuple[str, str]:
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    if not isinstance(error, dict):
        error = {}
    code = str(error.get("code") or f"http_{response.status_code}")
    message = str(error.get("message") or response.reason or "")
    return code, message


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class TrackerClient:
    """Talks to one tracker server with one device token.

    :param server_url: e.g. ``https://tracker.example.gov.vn`` (no trailing ``/api``).
    :param token: the device's bearer token.
    :param timeout: seconds for connect and for each read.
    """

    def __init__(
        self,
        server_url: str,
        token: str,
        timeout: float = 10.0,
        session: requests.Session | None = None,
    ) -> None:
        self.server_url = server_url.rstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT})

    def close(self) -> None:
        """Close pooled connections."""
        self.session.close()

    def _request(
        self, method: str, path: str, *, resource: bool = False, **kwargs: Any
    ) -> requests.Response:
        url = f"{self.server_url}{path}"
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.Timeout as exc:
            msg = f"server did not answer within {self.timeout:g} s ({url})"
            raise RequestTimeout(msg) from exc
        except requests.ConnectionError as exc:
            msg = f"cannot reach the server at {self.server_url} (network down or server stopped)"
            raise TransientError(msg) from exc
        except requests.RequestException as exc:
            msg = f"request to {url} failed: {exc}"
            raise TransientError(msg) from exc
        status = response.status_code
        if status in (401, 403):
            code, message = _error_body(response)
            msg = f"the server refused the device token ({code}): {message}".rstrip(": ")
            raise AuthError(code, msg)
        if status in (408, 429) or status >= 500:
            code, message = _error_body(response)
            msg = f"server error {status} ({code}) {message}".strip()
            raise TransientError(msg, _retry_after(response))
        if status == 404 and resource and _error_body(response)[0] == "not_found":
            # The tracker's own answer for a dossier or job it does not know (or hides).
            raise NotFoundError(_error_body(response)[1] or f"{path} not found")
        if status == 404:
            msg = f"{url} not found: is {self.server_url} really the tracker server?"
            raise TransientError(msg)
        if 400 <= status < 500:
            code, message = _error_body(response)
            msg = f"server rejected the request ({status} {code}): {message}"
            raise BatchRejected(status, code, msg)
        return response

    def _json(self, response: requests.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError as exc:
            msg = f"server answered {response.status_code} without JSON: is this the tracker?"
            raise TransientError(msg) from exc
        if not isinstance(body, dict):
            msg = "server answered with unexpected JSON"
            raise TransientError(msg)
        return body

    def post_scans(self, events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Send one batch; return the per-event results (same order as the request).

        :raises TransientError: retry later (network, 5xx, malformed answer).
        :raises AuthError: bad or revoked token.
        :raises BatchRejected: the whole batch was refused (4xx).
        """
        response = self._request("POST", "/api/v1/scans", json={"events": list(events)})
        results = self._json(response).get("results")
        if not isinstance(results, list):
            msg = "server answer has no results list"
            raise TransientError(msg)
        return [r for r in results if isinstance(r, dict)]

    def stations(self) -> list[dict[str, Any]]:
        """``GET /api/v1/stations`` (also proves the token works)."""
        response = self._request("GET", "/api/v1/stations")
        stations = self._json(response).get("stations")
        return [s for s in stations if isinstance(s, dict)] if isinstance(stations, list) else []

    def label(
        self, code: str, fmt: str, *, layout: str, copies: int = 1, with_2d: bool = False
    ) -> bytes:
        """The dossier's label as ZPL (``fmt="zpl"``) or PDF, on the given roll layout.

        :raises NotFoundError: no such dossier in this device's office.
        :raises TransientError: network, 5xx; :raises AuthError: bad token;
            :raises BatchRejected: the server refused the layout (422).
        """
        params = {"layout": layout, "copies": str(copies), "with_2d": str(with_2d).lower()}
        response = self._request(
            "GET", f"/api/v1/dossiers/{quote(code, safe='')}/label.{fmt}", resource=True,
            params=params,
        )  # fmt: skip
        return response.content

    def print_jobs(self) -> list[dict[str, Any]]:
        """``GET /api/v1/devices/me/print-jobs``: this device's jobs still to print."""
        jobs = self._json(self._request("GET", "/api/v1/devices/me/print-jobs")).get("jobs")
        return [j for j in jobs if isinstance(j, dict)] if isinstance(jobs, list) else []

    def finish_print_job(self, job_id: int, printed: bool, error: str | None = None) -> None:
        """Report a job printed, or failed with ``error``.

        :raises NotFoundError: the job is not this device's (or no longer exists).
        """
        body: dict[str, Any] = {"status": "printed" if printed else "failed"}
        if error:
            body["error"] = error[:500]
        self._request("POST", f"/api/v1/devices/me/print-jobs/{int(job_id)}", resource=True,
                      json=body)  # fmt: skip
