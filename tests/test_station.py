"""The station session (app.station): badges, log-out, idle expiry, one-shot and locked actions.

The fold is pure, so it is tested directly: the rules one by one, then random scan sequences
against a plain reference model written from the rules (Hypothesis, ``ci`` profile).
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app import station
from app.codes import (
    ACTION,
    BADGE,
    CARD_ACTIONS,
    DEFAULT_ACTION,
    LOGOUT,
    SCAN_ACTIONS,
    SEND,
    TRACKING_NUMBER,
    UnreadableScan,
    action_card_code,
    read_scan,
    send_card_code,
)
from app.station import Session, Step, scan
from scanner_agent.codes import CodeRules, Recognized

T0 = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)


def run(session: Session, scans: list[tuple[str, str, str, float]]) -> tuple[Session, list[Step]]:
    """Apply ``(kind, value, destination, minutes after T0)`` scans in order."""
    steps = []
    for kind, value, destination, minutes in scans:
        session, step = scan(session, kind, value, T0 + dt.timedelta(minutes=minutes),
                             destination)
        steps.append(step)
    return session, steps


def files(steps: list[Step]) -> list[tuple[str, str, str]]:
    return [(s.person, s.action, s.destination) for s in steps if s.kind == station.FILE]


F = (TRACKING_NUMBER, "", "")  # a file scan


def at(minutes: float, item: tuple[str, str, str]) -> tuple[str, str, str, float]:
    return (*item, minutes)


def badge(value: str) -> tuple[str, str, str]:
    return (BADGE, value, "")


def card(action: str, destination: str = "") -> tuple[str, str, str]:
    return (ACTION, action, destination)


# --- the rules, one by one -----------------------------------------------------------------------

def test_a_badge_makes_every_file_scan_that_persons_until_another_badge() -> None:
    _, steps = run(Session(), [at(0, badge("B-1")), at(1, F), at(2, F), at(3, badge("B-2")),
                               at(4, F)])
    assert files(steps) == [("B-1", "", ""), ("B-1", "", ""), ("B-2", "", "")]
    assert steps[3].kind == station.STARTED and steps[3].ended == "B-1"


def test_logout_ends_the_session_and_files_carry_nobody() -> None:
    _, steps = run(Session(), [at(0, badge("B-1")), at(1, card(LOGOUT)), at(2, F)])
    assert steps[1] == Step(station.ENDED, "", "", ended="B-1")
    assert files(steps) == [("", "", "")]


def test_an_action_card_sets_the_next_file_only_then_the_station_default_returns() -> None:
    session = Session(default_action="result_ready")
    _, steps = run(session, [at(0, card("returned")), at(1, F), at(2, F)])
    assert steps[0].kind == station.ONE_SHOT and steps[0].action == "returned"
    assert files(steps) == [("", "returned", ""), ("", "result_ready", "")]


def test_the_same_card_twice_in_a_row_locks_it_until_another_card_or_the_default_card() -> None:
    _, steps = run(Session(), [
        at(0, card("returned")), at(0.1, card("returned")), at(1, F), at(2, F),
        at(2.5, card("returned")), at(3, F),  # scanning the locked card again keeps it locked
        at(4, card("withdrawn")), at(5, F), at(6, F),
        at(7, card("returned")), at(7.1, card("returned")), at(8, card(DEFAULT_ACTION)),
        at(9, F)])
    assert steps[1].kind == station.LOCKED
    assert files(steps) == [("", "returned", "")] * 3 + [("", "withdrawn", ""), ("", "", ""),
                                                         ("", "", "")]
    assert steps[11].kind == station.DEFAULT


def test_a_badge_starts_from_the_station_default_action() -> None:
    _, steps = run(Session(default_action="returned"), [
        at(0, card("refused")), at(0.1, card("refused")), at(1, badge("B-1")), at(2, F)])
    assert files(steps) == [("B-1", "returned", "")]


def test_the_session_and_a_chosen_action_end_after_the_idle_time_without_a_scan() -> None:
    session = Session(idle=dt.timedelta(minutes=30))
    _, steps = run(session, [at(0, badge("B-1")), at(29, F), at(58, F),  # each scan refreshes
                             at(58.5, card("returned")), at(58.6, card("returned")),
                             at(88.6, F)])
    assert files(steps) == [("B-1", "", ""), ("B-1", "", ""), ("", "", "")]
    assert steps[-1].expired and steps[-1].ended == "B-1"
    later = run(session, [at(0, badge("B-1"))])[0]
    assert later.at(T0 + dt.timedelta(minutes=29)).person == "B-1"
    assert later.at(T0 + dt.timedelta(minutes=30)).person == ""


def test_an_idle_time_of_zero_never_expires() -> None:
    _, steps = run(Session(idle=dt.timedelta(0)), [at(0, badge("B-1")), at(60 * 24 * 7, F)])
    assert files(steps) == [("B-1", "", "")]


def test_a_send_needs_the_destination_its_card_names() -> None:
    _, steps = run(Session(), [at(0, card(SEND)), at(1, F), at(2, card(SEND, "000.00.01.H12")),
                               at(3, F), at(4, F)])
    assert steps[0].kind == station.NO_DESTINATION
    assert files(steps) == [("", "", ""), ("", SEND, "000.00.01.H12"), ("", "", "")]
    # Two send cards to different places are two different cards: no lock.
    _, steps = run(Session(), [at(0, card(SEND, "A")), at(1, card(SEND, "B")), at(2, F),
                               at(3, F)])
    assert files(steps) == [("", SEND, "B"), ("", "", "")]


def test_actions_have_vietnamese_labels() -> None:
    assert set(station.ACTION_LABELS) == {*SCAN_ACTIONS, ""}
    assert station.action_label("returned") == "Trả kết quả"
    assert station.action_label(SEND, "H12") == "Gửi liên thông → H12"
    assert all(not label.isascii() for label in station.ACTION_LABELS.values())


# --- the card grammar of send destinations -------------------------------------------------------

@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_", min_size=1, max_size=32))
def test_a_send_card_reads_back_as_send_to_its_destination(destination: str) -> None:
    code = send_card_code(destination.lower())
    assert code == f"$A-SEND-{destination}"
    ref = read_scan(f" {code.lower()}\n")
    assert (ref.kind, ref.value, ref.destination) == (ACTION, SEND, destination)
    found = CodeRules().recognize(code)
    assert isinstance(found, Recognized) and found.is_card
    assert (found.value, found.destination) == (SEND, destination)


def test_bad_send_destinations_are_refused() -> None:
    for bad in ("", "a b", "x" * 33, "Hà Nội", "$B"):
        with pytest.raises(ValueError, match="destination"):
            send_card_code(bad)
    for text in ("$A-SEND-", "$A-SEND-" + "X" * 33, "$A-SENDX"):
        with pytest.raises(UnreadableScan):
            read_scan(text)
    assert read_scan(action_card_code(SEND)).destination == ""


def test_the_scan_actions_are_the_servers() -> None:
    from app.tracking.models import ScanAction

    assert SCAN_ACTIONS == tuple(a.value for a in ScanAction)
    assert set(CARD_ACTIONS) - {LOGOUT, DEFAULT_ACTION} <= set(SCAN_ACTIONS)


# --- random sequences against a reference model -------------------------------------------------

class Reference:
    """The rules as a plain loop over mutable fields, written independently of the fold."""

    def __init__(self, default: str, idle: int) -> None:
        self.default, self.idle = default, idle
        self.person, self.action, self.dest, self.locked = "", "", "", False
        self.last: int | None = None

    def feed(self, kind: str, value: str, dest: str, seconds: int) -> tuple[str, str, str] | None:
        if self.last is not None and self.idle and seconds - self.last >= self.idle:
            self.person, self.action, self.dest, self.locked = "", "", "", False
        self.last = seconds
        if kind == BADGE:
            self.person, self.action, self.dest, self.locked = value, "", "", False
        elif kind == ACTION and value == LOGOUT:
            self.person, self.action, self.dest, self.locked = "", "", "", False
        elif kind == ACTION and value == DEFAULT_ACTION:
            self.action, self.dest, self.locked = "", "", False
        elif kind == ACTION and value == SEND and not dest:
            pass
        elif kind == ACTION:
            self.locked = (self.action, self.dest) == (value, dest)
            self.action, self.dest = value, dest
        else:
            out = (self.person, self.action or self.default, self.dest)
            if not self.locked:
                self.action, self.dest = "", ""
            return out
        return None


scans_strategy = st.lists(st.tuples(
    st.sampled_from([badge("B-1"), badge("B-2"), card(LOGOUT), card(DEFAULT_ACTION),
                     card("returned"), card("withdrawn"), card(SEND), card(SEND, "H12"),
                     card(SEND, "H13"), F, F, F]),
    # Gaps in whole seconds (0, 6 s, 5 min, 29 min 54 s, 30 min, 45 min): exact arithmetic on
    # both sides, so a gap of exactly the idle time is judged the same by the model and the fold.
    st.sampled_from([0, 6, 300, 1794, 1800, 2700])), max_size=40)


@given(scans_strategy, st.sampled_from(["", "returned", "result_ready"]),
       st.sampled_from([0, 1800]))
def test_any_scan_sequence_follows_the_rules(scans: list[tuple[tuple[str, str, str], int]],
                                             default: str, idle: int) -> None:
    model = Reference(default, idle)
    session = Session(default_action=default, idle=dt.timedelta(seconds=idle))
    seconds = 0
    for (kind, value, dest), gap in scans:
        seconds += gap
        session, step = scan(session, kind, value, T0 + dt.timedelta(seconds=seconds), dest)
        expected = model.feed(kind, value, dest, seconds)
        if expected is not None:
            assert (step.person, step.action, step.destination) == expected
        assert session.person == model.person and session.locked == model.locked
        assert not (session.action == SEND and not session.destination)
