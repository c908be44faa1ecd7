"""The shared code rules (app.codes): one grammar for what offices issue, the agent sends and
the server resolves."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.codes import (
    CodePatternError,
    SerialExhausted,
    code_pattern,
    format_official_code,
    is_official_code,
    read_scan,
)
from app.tracking.codes import BadReference, ScannedRef, parse_reference
from scanner_agent.codes import OFFICIAL, RECEIPT_URL, CodeRules, Recognized, Unrecognized

DAY = dt.date(2026, 6, 9)


@pytest.mark.parametrize(
    ("pattern", "agency", "serial", "code", "shape"),
    [
        ("{agency}-{yymmdd}-{serial:04d}", "000.00.19.H12", 1, "000.00.19.H12-260609-0001",
         "000.00.19.H12-YYMMDD-NNNN"),
        ("{agency}-{yyyymmdd}-{serial:07d}", "G09.20", 92637, "G09.20-20260609-0092637",
         "G09.20-YYYYMMDD-NNNNNNN"),
        ("H12.22-{yymmdd}-{serial:04d}", "000.00.19.H12", 9999, "H12.22-260609-9999",
         "H12.22-YYMMDD-NNNN"),
        ("HS_{yyyymmdd}{serial:05d}", "X", 7, "HS_2026060900007", "HS_YYYYMMDDNNNNN"),
    ],
)  # fmt: skip
def test_office_patterns_issue_codes_both_sides_recognize_and_their_shape_matches(
    pattern: str, agency: str, serial: int, code: str, shape: str
) -> None:
    compiled = code_pattern(pattern, agency)
    assert compiled.format(DAY, serial) == code
    assert compiled.shape == shape
    assert compiled.matches(code)
    assert CodeRules().recognize(code) == Recognized(code, OFFICIAL)
    assert parse_reference(code.lower()) == ScannedRef("official_code", code)


@pytest.mark.parametrize(
    ("pattern", "agency", "why"),
    [
        ("{agency} {yymmdd} {serial:04d}", "H12", "scanners cannot read back"),  # spaces
        ("hs-{yymmdd}-{serial:04d}", "H12", "scanners cannot read back"),  # lowercase
        ("{agency}-{yymmdd}-{serial:04d}", "h12.22", "scanners cannot read back"),  # lowercase
        ("{yymmdd}{serial:06d}", "H12", "scanners cannot read back"),  # a tracking look-alike
        ("{yyyymmdd}{serial:04d}", "H12", "scanners cannot read back"),  # digits only
        ("{agency}/{yymmdd}/{serial:04d}", "H12", "scanners cannot read back"),  # breaks URLs
        ("{agency}-{yymmdd}-{serial:04d}", "H" * 60, "scanners cannot read back"),  # > 64
        ("Hồ-{yymmdd}-{serial:04d}", "H12", "scanners cannot read back"),  # not ASCII
        ("{{{agency}}}-{yymmdd}-{serial:04d}", "H12", "scanners cannot read back"),  # braces
        ("{agency}-{serial:04d}", "H12", "needs one {serial:0Nd} and a date"),  # repeats daily
        ("{agency}-{yymmdd}", "H12", "needs one {serial:0Nd} and a date"),
        ("{agency}-{yymmdd}-{serial:04d}-{serial:04d}", "H12", "needs one {serial:0Nd}"),
        ("{agency}-{yymmdd}-{serial}", "H12", "fixed, zero-padded width"),
        ("{agency}-{yymmdd}-{serial:4d}", "H12", "fixed, zero-padded width"),  # space-padded
        ("{agency}-{yymmdd}-{serial:010d}", "H12", "fixed, zero-padded width"),
        ("{agency}-{date}-{serial:04d}", "H12", "unknown field {date}"),
        ("{agency.upper}-{yymmdd}-{serial:04d}", "H12", "unknown field"),
        ("{0}-{yymmdd}-{serial:04d}", "H12", "unknown field"),
        ("{agency!r}-{yymmdd}-{serial:04d}", "H12", "no conversions"),
        ("{agency:>20}-{yymmdd}-{serial:04d}", "H12", "takes no format"),
        ("{agency-{yymmdd}-{serial:04d}", "H12", "malformed"),
    ],
)  # fmt: skip
def test_patterns_that_could_issue_unreadable_or_repeated_codes_are_refused(
    pattern: str, agency: str, why: str
) -> None:
    with pytest.raises(CodePatternError, match=why.replace("{", r"\{").replace("}", r"\}")):
        code_pattern(pattern, agency)


def test_a_serial_that_overflows_the_pattern_is_an_error_never_a_longer_code() -> None:
    assert format_official_code("{agency}-{yymmdd}-{serial:04d}", "H12", DAY, 9999).endswith(
        "-9999")
    with pytest.raises(SerialExhausted, match="at most 9999 codes a day"):
        format_official_code("{agency}-{yymmdd}-{serial:04d}", "H12", DAY, 10000)
    with pytest.raises(SerialExhausted):
        format_official_code("{agency}-{yymmdd}-{serial:04d}", "H12", DAY, 0)


_PATTERN = st.builds(
    lambda head, date, sep, width, tail: f"{head}{{agency}}{sep}{{{date}}}{sep}"
                                         f"{{serial:0{width}d}}{tail}",
    st.sampled_from(["", "HS-", "X."]), st.sampled_from(["yymmdd", "yyyymmdd"]),
    st.sampled_from(["-", ".", "_", ""]), st.integers(1, 9), st.sampled_from(["", "-A", "_Z9"]),
)  # fmt: skip
_AGENCY = st.from_regex(r"[A-Z0-9][A-Z0-9.]{0,14}[A-Z0-9]", fullmatch=True)


@given(_PATTERN, _AGENCY, st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31)), st.data())
def test_every_code_of_every_accepted_pattern_is_read_back_by_agent_and_server(
    pattern: str, agency: str, day: dt.date, data: st.DataObject
) -> None:
    try:
        compiled = code_pattern(pattern, agency)
    except CodePatternError:
        return  # refused up front: it never issues a code
    serial = data.draw(st.integers(1, compiled.max_serial))
    code = compiled.format(day, serial)
    assert is_official_code(code) and compiled.matches(code)
    assert CodeRules().recognize(f" {code.lower()}\r\n") == Recognized(code, OFFICIAL)
    assert parse_reference(code) == ScannedRef("official_code", code)
    url = f"https://dvc.example.vn/lookup/{code}?t=AbC"
    assert CodeRules().recognize(url) == Recognized(url, RECEIPT_URL)
    assert parse_reference(url) == ScannedRef("official_code", code)


_SCAN_TEXT = st.one_of(
    st.text(max_size=80),
    st.text(alphabet="0123456789AbZ.-_/ \t:?=", max_size=30),
    st.builds(lambda c: f"https://h.vn/lookup/{c}?t=x",
              st.text(alphabet="0123456789AbZ.-_ %", max_size=20)),
)


@given(_SCAN_TEXT)
def test_the_agent_sends_exactly_what_the_server_can_resolve(text: str) -> None:
    """One rule on both sides: what the agent refuses, the server could not resolve either."""
    found = CodeRules().recognize(text)
    try:
        ref = parse_reference(text)
    except BadReference as exc:
        assert isinstance(found, Unrecognized)
        assert (exc.reason == "bad_check_digit") == (found.reason == "bad_check_digit")
    else:
        assert isinstance(found, Recognized)
        assert read_scan(found.code).value == ref.value  # what it sends resolves the same way
