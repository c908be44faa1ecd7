"""The scan station page (``/station``): a keyboard-wedge scanner types into one input.

It works as the scanner agent does: badges and action cards go through the same pure fold
(:func:`app.station.scan`), and each file scan is recorded through the same ingest
(:func:`app.tracking.api.record_scans`, the body of ``POST /api/v1/scans``) with a
client-generated id, so a double submit is answered ``duplicate`` and written once.

- The station is chosen once among the user's offices' stations and remembered in a cookie;
  every request checks it against the stations the user may scan at again.
- The station's session (who is scanning, the action a card chose) is kept server-side in
  the signed session cookie: nobody can edit it. A file scan's actor is the logged-in user,
  unless a badge of one of the user's offices started a session at this station; a badge of
  anybody else is refused and changes nothing.
- The result shows the device view of the dossier (nothing personal), from where it came.
- Under it, a live region (:mod:`app.live`) lists the files at the station now, so a
  colleague's or the agent's scan shows without a reload (the scan input keeps the focus).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from flask import g, make_response, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from app import live
from app import station as st
from app.auth.models import User
from app.codes import ACTION, BADGE, UnreadableScan, read_scan
from app.counter import bp
from app.db import db, utcnow
from app.offices.models import Station
from app.tracking import operations as ops
from app.tracking import schemas, worklist
from app.tracking.api import record_scans
from app.tracking.models import Dossier
from app.tracking.work_pages import LABELS
from app.web import staff_page

COOKIE = "station"
SESSION_KEY = "station_session"

#: What a scan did, for its colour and sound (the agent's feedback kinds).
ACCEPTED, FLAGGED, DUPLICATE, REFUSED, CARD = ("accepted", "flagged", "duplicate", "refused",
                                                "session")

REFUSALS: dict[str, LazyString] = {
    "malformed": _l("The scan could not be read"),
    "bad_time": _l("The scan's time is not valid"),
    "bad_check_digit": _l("Wrong check digit: the code was probably misread"),
    "unrecognized_code": _l("This is not a dossier code"),
    "unknown_code": _l("No dossier has this code"),
    "station_not_allowed": _l("You may not scan at this station"),
    "no_station": _l("No station is chosen"),
    "out_of_scope": _l("The dossier is outside your office's scope"),
    "action_not_allowed": _l("This action is not allowed here"),
    "unknown_destination": _l("Unknown destination"),
    "unreadable": _l("Not a dossier code, a badge or an action card"),
    "foreign_badge": _l("This badge belongs to nobody of your office: nothing changed"),
    "no_destination": _l("A send card must name the destination: nothing changed"),
}
FLAGS: dict[str, LazyString] = {
    "after_close": _l("Scanned after the result was handed over"),
    "off_plan": _l("Outside the procedure's plan"),
    "before_receipt": _l("Scanned before the dossier was received"),
    "repeat_receive": _l("Received again"),
    "no_pending_supplement": _l("No supplement request is pending"),
    "no_pending_payment": _l("No payment is pending"),
    "unknown_actor": _l("Unknown badge: recorded without a name"),
    "foreign_actor": _l("Badge of another office: recorded without a name"),
}
EXPIRED = _l("The badge session or the chosen action had ended after a long pause: check "
             "who scanned and the action")
CARDS: dict[str, LazyString] = {
    st.STARTED: _l("Session started"),
    st.ENDED: _l("Session ended"),
    st.ONE_SHOT: _l("Action chosen for the next scan (scan the card again to lock it)"),
    st.LOCKED: _l("Action locked for every scan until another card"),
    st.DEFAULT: _l("Back to the station's default action"),
}


def _stations() -> list[Station]:
    return g.principal.scan_stations()  # type: ignore[no-any-return]


def _chosen(stations: list[Station]) -> Station | None:
    code = request.cookies.get(COOKIE, "")
    return next((s for s in stations if s.code == code), None)


def _session(station: Station) -> tuple[st.Session, str]:
    """The station's session kept for this browser, and the active person's name."""
    kept = session.get(SESSION_KEY) or {}
    if kept.get("station") != station.code:
        return st.Session(), ""
    last = kept.get("last_at")
    return st.Session(person=kept.get("person", ""), action=kept.get("action", ""),
                      destination=kept.get("destination", ""),
                      locked=bool(kept.get("locked")),
                      last_at=dt.datetime.fromisoformat(last) if last else None), \
        kept.get("name", "")


def _keep(station: Station, state: st.Session, name: str) -> None:
    session[SESSION_KEY] = {
        "station": station.code, "person": state.person, "name": name if state.person else "",
        "action": state.action, "destination": state.destination, "locked": state.locked,
        "last_at": state.last_at.isoformat() if state.last_at else None}


def _now(station: Station) -> dict[str, Any]:
    """Who scans at the station now and what the next file scan will be."""
    state, name = _session(station)
    state = state.at(utcnow())
    return {"person": name if state.person else "", "locked": state.locked,
            "next_action": st.action_label(state.next_action, state.destination)}


def _here(station: Station) -> dict[str, Any]:
    """The live region's context: the files at the station now."""
    rows, total = worklist.at_station(g.principal, station.id)
    return {"rows": rows, "total": total, **LABELS}


def _page(station: Station | None, stations: list[Station], **context: Any) -> str:
    now = _now(station) if station is not None else {}
    here = {}
    if station is not None:  # the token a poll of the page's URL will compare
        url = url_for("counter.station_page")
        here = _here(station) | {"live_url": url, "live_etag": live.change_token(url, station.code)}
    return render_template("counter/station.html", station=station, stations=stations,
                           next_id=uuid.uuid4(), **now, **here, **context)


@bp.get("/station")
@staff_page()
def station_page() -> ResponseReturnValue:
    """The station: choose it once, then scan; a poll gets the files at the station now."""
    stations = _stations()
    station = _chosen(stations)
    if station is None or not live.is_poll():
        return _page(station, stations)
    return live.respond("counter/station.html", "counter/_here.html",
                        lambda: _here(station), station.code)


@bp.post("/station/choose")
@staff_page()
def choose_station() -> ResponseReturnValue:
    """Remember the station this browser scans at (one of the user's offices')."""
    stations = _stations()
    wanted = request.form.get("station", "")
    station = next((s for s in stations if s.code == wanted), None)
    response = make_response(redirect(url_for("counter.station_page")))
    if station is not None:
        response.set_cookie(COOKIE, station.code, max_age=400 * 86400, httponly=True,
                            samesite="Lax", secure=request.is_secure)
        session.pop(SESSION_KEY, None)
    return response


@bp.post("/station/scan")
@staff_page()
def station_scan() -> ResponseReturnValue:
    """One scan: a badge or card changes the station's session, a file is recorded."""
    stations = _stations()
    station = _chosen(stations)
    if station is None:
        return redirect(url_for("counter.station_page"))
    text = request.form.get("code", "")
    try:
        event_id = uuid.UUID(request.form.get("id", ""))
    except ValueError:
        event_id = uuid.uuid4()
    result = _scan(station, text, event_id)
    if request.headers.get("X-Station") == "1":
        return render_template("counter/_scan_result.html", r=result, station=station,
                               **_now(station))
    return _page(station, stations, r=result)


def _scan(station: Station, text: str, event_id: uuid.UUID) -> dict[str, Any]:
    now = utcnow()
    state, name = _session(station)
    shown = text.strip()[:64]
    try:
        ref = read_scan(text)
    except UnreadableScan as exc:
        why = REFUSALS["bad_check_digit" if exc.reason == "bad_check_digit" else "unreadable"]
        return {"kind": REFUSED, "code": shown, "why": why}
    if ref.kind == BADGE:
        user = db.session.scalar(sa.select(User).where(
            sa.func.upper(User.badge) == ref.value, User.active.is_(True),
            User.office_id.in_(g.principal.office_ids)))
        if user is None:
            return {"kind": REFUSED, "code": ref.text, "why": REFUSALS["foreign_badge"]}
        name = user.full_name
    if ref.kind in (BADGE, ACTION):
        state, step = st.scan(state, ref.kind, ref.value, now, ref.destination)
        _keep(station, state, name)
        if step.kind == st.NO_DESTINATION:
            return {"kind": REFUSED, "code": ref.text, "why": REFUSALS["no_destination"]}
        return {"kind": CARD, "code": ref.text, "why": CARDS[step.kind],
                "person": name if state.person else "",
                "action": st.action_label(state.next_action, state.destination)}
    after, step = st.scan(state, ref.kind, ref.value, now)
    before = _where_now(ref.value)
    raw = {"id": str(event_id), "code": ref.text, "scanned_at": now.isoformat(),
           "station": station.code, "action": step.action or None, "actor": step.person,
           "destination": step.destination or None}
    answer = record_scans(g.principal, [schemas.scan_command(raw)])[0]
    if answer["status"] != "duplicate":  # a double submit changes the session once
        _keep(station, after, name)
    result = _file_result(answer, ref.text, before,
                          st.action_label(step.action, step.destination),
                          name if step.person else g.principal.user.full_name)
    if step.expired:  # the badge session (or a chosen action) ran out before this scan
        result["flags"].append(EXPIRED)
        result["kind"] = FLAGGED if result["kind"] == ACCEPTED else result["kind"]
    return result


def _where_now(reference: str) -> str | None:
    """The station holding the file before this scan, if the caller may see the dossier."""
    dossier = db.session.scalar(sa.select(Dossier).where(sa.or_(
        Dossier.code == reference, Dossier.tracking_number == reference)))
    if dossier is None or not ops.can_see(g.principal, dossier):
        return None
    return dossier.current_station.name if dossier.current_station else None


def _file_result(answer: dict[str, Any], code: str, before: str | None, action: str,
                 actor: str) -> dict[str, Any]:
    status = answer["status"]
    flags = [answer[k] for k in ("flag", "actor_flag") if answer.get(k)]
    kind = {"accepted": FLAGGED if flags else ACCEPTED, "duplicate": DUPLICATE}.get(
        status, REFUSED)
    why = ""
    if kind == REFUSED:
        why = REFUSALS.get(answer.get("reason") or "", answer.get("message", ""))
    return {"kind": kind, "code": code, "why": why, "dossier": answer.get("dossier"),
            "from": before, "action": action, "flags": [FLAGS.get(f, f) for f in flags],
            "person": answer.get("actor_name") or (actor if kind != REFUSED else "")}
