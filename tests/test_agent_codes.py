"""Scanner agent: normalizing and recognizing codes before they are queued."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.codes import damm_check_digit, is_tracking_number, make_tracking_number
from app.codes import normalize_scan as normalize
from scanner_agent.codes import (
    OFFICIAL,
    RECEIPT_URL,
    TRACKING,
    CodeRules,
    Recognized,
    Unrecognized,
)

RULES = CodeRules()


def test_damm_check_digit_matches_the_published_example() -> None:
    # The textbook example: 572 gets check digit 4.
    assert damm_check_digit("572") == "4"
    assert is_tracking_number(make_tracking_number("26112200012"))


@given(st.text(alphabet="0123456789", min_size=11, max_size=11), st.integers(0, 10), st.data())
def test_any_single_wrong_digit_is_caught(body: str, pos: int, data: st.DataObject) -> None:
    good = make_tracking_number(body)
    wrong_digit = data.draw(st.sampled_from([d for d in "0123456789" if d != good[pos]]))
    bad = good[:pos] + wrong_digit + good[pos + 1 :]
    assert not is_tracking_number(bad)
    assert isinstance(RULES.recognize(bad), Unrecognized)


@given(st.text(alphabet="0123456789", min_size=11, max_size=11), st.integers(0, 10))
def test_any_adjacent_swap_is_caught(body: str, pos: int) -> None:
    good = make_tracking_number(body)
    swapped = good[:pos] + good[pos + 1] + good[pos] + good[pos + 2 :]
    if swapped != good:
        assert not is_tracking_number(swapped)


@pytest.mark.parametrize(
    ("raw", "code", "kind"),
    [
        (" 261122000123\r\n", "261122000123", TRACKING),
        ("000.00.19.H12-261122-0001", "000.00.19.H12-261122-0001", OFFICIAL),
        ("h12.22-261122-0001", "H12.22-261122-0001", OFFICIAL),
        ("H12.22 - 261122 - 0001", "H12.22-261122-0001", OFFICIAL),
        ("G09.20-20260609-0092637", "G09.20-20260609-0092637", OFFICIAL),
        ("\tg09.20-20260609-0092637\x00", "G09.20-20260609-0092637", OFFICIAL),
        (
            "https://dvc.example.vn/lookup/H12.22-261122-0001?t=AbC123xyz",
            "https://dvc.example.vn/lookup/H12.22-261122-0001?t=AbC123xyz",
            RECEIPT_URL,
        ),
        (
            "HTTPS://DVC.EXAMPLE.VN/LOOKUP/H12.22-261122-0001?T=ABC123",
            "HTTPS://DVC.EXAMPLE.VN/LOOKUP/H12.22-261122-0001?T=ABC123",
            RECEIPT_URL,
        ),
    ],
)
def test_scans_are_normalized_and_recognized(raw: str, code: str, kind: str) -> None:
    assert RULES.recognize(raw) == Recognized(code, kind)


def test_receipt_url_secret_keeps_its_case() -> None:
    url = "https://dvc.example.vn/lookup/h12.22-261122-0001?t=MiXeD"
    found = RULES.recognize(url)
    assert isinstance(found, Recognized) and found.code.endswith("?t=MiXeD")


def test_decomposed_vietnamese_is_composed_to_nfc() -> None:
    # Unikey's combining mode types "ệ" as e + U+0323 + U+0302; NFC composes it.
    assert normalize("Hoa\u0300") == "HOÀ"
    assert normalize("Hoa\u0300") == normalize("Ho\u00e0")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("   \r\n", "empty"),
        ("261122000124", "bad_check_digit"),
        ("12345", "unknown_format"),
        ("HELLO WORLD", "unknown_format"),
        ("https://example.com/somewhere", "unknown_format"),
        ("https://dvc.example.vn/lookup/not-a-code?t=1", "bad_url"),
        ("H12.22/261122/0001", "unknown_format"),
        ("ABCD-EFGH", "unknown_format"),
        ("-H12.22-261122-0001", "unknown_format"),
        ("H12.22-261122-0001-" + "9" * 50, "unknown_format"),
        ("x" * 600, "too_long"),
    ],
)
def test_anything_else_is_refused_locally_with_a_reason(raw: str, reason: str) -> None:
    found = RULES.recognize(raw)
    assert isinstance(found, Unrecognized)
    assert found.reason == reason
    assert found.message


def test_official_pattern_is_configurable() -> None:
    rules = CodeRules(r"^HS-\d{4}$")
    assert rules.recognize("hs-0001") == Recognized("HS-0001", OFFICIAL)
    assert isinstance(rules.recognize("H12.22-261122-0001"), Unrecognized)
    url = "https://dvc.example.vn/lookup/H12.22-261122-0001?t=1"
    assert isinstance(found := rules.recognize(url), Unrecognized) and found.reason == "bad_url"
    # Tracking numbers are never narrowed away.
    assert rules.recognize("261122000123") == Recognized("261122000123", TRACKING)


@pytest.mark.parametrize(
    "code",
    [
        "000.00.19.H12-261122-0001",  # the default pattern
        "G09.20-20260609-0092637",  # the newer national shape: yyyymmdd, 7-digit serial
        "H12.22-261122-0001",  # a short local agency code
        "HS-0001",  # an upstream system's own shape
        "X_2026_0001",
    ],
)
def test_any_code_in_the_official_grammar_is_recognized_by_default(code: str) -> None:
    """Before, only one shape was: codes of offices with a custom pattern were refused."""
    assert RULES.recognize(code) == Recognized(code, OFFICIAL)
    assert RULES.recognize(f"https://dvc.example.vn/tracker/lookup/{code}?t=x") == Recognized(
        f"https://dvc.example.vn/tracker/lookup/{code}?t=x", RECEIPT_URL
    )
