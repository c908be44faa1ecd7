"""Personal tokens expire and can be revoked; users can be locked out; last-seen stamps."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask

from app.auth.models import ApiToken, Device, User
from app.auth.operations import parse_lifetime
from app.db import db, utcnow
from app.errors import ValidationError


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _issue(runner, username: str, *extra: str) -> str:
    result = runner.invoke(args=["user", "token", username, *extra])
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def _code(response) -> str:
    return response.get_json()["error"]["code"]


def test_token_lifetime_is_days_or_hours():
    assert parse_lifetime("90d") == dt.timedelta(days=90)
    assert parse_lifetime("12h") == dt.timedelta(hours=12)
    for bad in ("5m", "0d", "d", "99999d", "1.5d"):
        with pytest.raises(ValidationError):
            parse_lifetime(bad)


def test_cli_token_expires_when_asked_and_by_default_after_90_days(app, runner, office):
    short = _issue(runner, "reception", "--expires-in", "12h")
    default = _issue(runner, "reception")
    with app.app_context():
        rows = {t.token_hash: t for t in db.session.scalars(sa.select(ApiToken))}
        from app.auth.tokens import hash_token

        now = utcnow()
        assert abs(rows[hash_token(short)].expires_at - now - dt.timedelta(hours=12)) < \
            dt.timedelta(minutes=5)
        assert abs(rows[hash_token(default)].expires_at - now - dt.timedelta(days=90)) < \
            dt.timedelta(minutes=5)
    refused = runner.invoke(args=["user", "token", "reception", "--expires-in", "3 weeks"])
    assert refused.exit_code == 2 and "days or hours" in refused.output


def test_expired_token_answers_401_expired_token(app, runner, office):
    client = app.test_client()
    token = _issue(runner, "specialist", "--expires-in", "1h")
    assert client.get("/api/v1/stations", headers=_bearer(token)).status_code == 200
    with app.app_context():
        db.session.execute(sa.update(ApiToken).values(
            expires_at=utcnow() - dt.timedelta(seconds=1)))
        db.session.commit()
    answer = client.get("/api/v1/stations", headers=_bearer(token))
    assert answer.status_code == 401 and _code(answer) == "expired_token"


def test_revoke_tokens_locks_the_user_out_at_once(app, runner, office):
    client = app.test_client()
    headers = office.headers("reception")
    assert client.get("/api/v1/procedures", headers=headers).status_code == 200
    result = runner.invoke(args=["user", "revoke-tokens", "reception"])
    assert result.exit_code == 0 and "1 token(s) of reception revoked" in result.output
    answer = client.get("/api/v1/procedures", headers=headers)
    assert answer.status_code == 401 and _code(answer) == "revoked_token"
    # Other users are untouched; a new token works again.
    assert client.get("/api/v1/procedures", headers=office.headers("leader")).status_code == 200
    fresh = _issue(runner, "reception")
    assert client.get("/api/v1/procedures", headers=_bearer(fresh)).status_code == 200


def test_deactivate_locks_the_user_out_and_activate_lets_them_back(app, runner, office):
    client = app.test_client()
    headers = office.headers("leader")
    assert runner.invoke(args=["user", "deactivate", "leader"]).exit_code == 0
    answer = client.get("/api/v1/procedures", headers=headers)
    assert answer.status_code == 401 and _code(answer) == "inactive_user"
    refused = runner.invoke(args=["user", "token", "leader"])
    assert refused.exit_code == 2 and "deactivated" in refused.output
    assert runner.invoke(args=["user", "activate", "leader"]).exit_code == 0
    assert client.get("/api/v1/procedures", headers=headers).status_code == 200


def test_user_list_shows_role_office_state_live_tokens_and_last_use(app, runner, office):
    client = app.test_client()
    _issue(runner, "specialist")  # a second live token
    assert client.get("/api/v1/procedures", headers=office.headers("specialist")).status_code \
        == 200
    runner.invoke(args=["user", "revoke-tokens", "admin"])
    runner.invoke(args=["user", "deactivate", "leader"])
    lines = {line.split()[0]: line.split()
             for line in runner.invoke(args=["user", "list"]).output.splitlines()[1:]}
    username, role, office_code, scope, state, tokens, last_used = lines["specialist"][:7]
    assert (role, office_code, scope, state, tokens) == (
        "specialist", office.code, "office", "active", "2")
    assert last_used.startswith(str(utcnow().year))
    assert lines["admin"][5:7] == ["0", "never"]
    assert lines["leader"][4] == "inactive"
    assert lines["supervisor"][3] == "province"


@pytest.fixture
def session_commits(app: Flask) -> Iterator[list[object]]:
    """Every commit of an ORM session (the request's own), recorded while the test runs."""
    commits: list[object] = []

    def record(session: sa.orm.Session) -> None:
        commits.append(session)

    sa.event.listen(sa.orm.Session, "after_commit", record)
    yield commits
    sa.event.remove(sa.orm.Session, "after_commit", record)


def _stamps(app: Flask) -> tuple[dt.datetime | None, dt.datetime | None]:
    with app.app_context():
        device = db.session.scalar(sa.select(Device.last_seen_at))
        used = db.session.scalar(sa.select(ApiToken.last_used_at).join(User)
                                 .where(User.username == "leader"))
        return device, used


def test_get_updates_last_seen_but_never_commits_its_session(app, office, session_commits):
    client = app.test_client()
    assert _stamps(app) == (None, None)
    session_commits.clear()
    dossier = office.intake(client)
    assert session_commits, "a POST commits its work"
    session_commits.clear()
    for who in ("device", "leader"):
        answer = client.get(f"/api/v1/dossiers/{dossier['code']}", headers=office.headers(who))
        assert answer.status_code == 200
        assert client.get("/api/v1/stations", headers=office.headers(who)).status_code == 200
    assert session_commits == [], "GET requests never commit the request's session"
    device_seen, token_used = _stamps(app)
    assert device_seen is not None and token_used is not None
    assert utcnow() - device_seen < dt.timedelta(minutes=5)
    # Throttled: within the minute, later requests leave the stamp as it was.
    client.get("/api/v1/stations", headers=office.headers("device"))
    assert _stamps(app)[0] == device_seen


def test_a_refused_token_leaves_no_stamp(app, office):
    client = app.test_client()
    with app.app_context():
        db.session.execute(sa.update(Device).values(revoked_at=utcnow()))
        db.session.commit()
    assert client.get("/api/v1/stations", headers=office.headers("device")).status_code == 401
    assert _stamps(app)[0] is None
