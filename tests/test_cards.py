"""Staff badge and action cards: the reserved card prefix, the printed cards and the CLI.

Cards are rasterised at printer resolutions and read back with zxing-cpp and pyzbar, like the
dossier labels (tests/test_labels_roundtrip.py).
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import numpy as np
import pypdfium2 as pdfium
import pytest
import zxingcpp
from conftest import Office, scan
from hypothesis import given
from hypothesis import strategies as st
from pyzbar import pyzbar

from app.codes import (
    ACTION,
    BADGE,
    CARD_ACTIONS,
    SEND,
    UnreadableScan,
    action_card_code,
    badge_card_code,
    code_pattern,
    is_official_code,
    is_tracking_number,
    read_scan,
)
from app.tracking.codes import BadReference, parse_reference
from labels import BadgeCard, CommandCard, render_badge_cards, render_command_cards
from labels.cards import CARDS_PER_SHEET
from scanner_agent.codes import CodeRules, Recognized, Unrecognized

ACTION_CODES = [action_card_code(action) for action in CARD_ACTIONS]
badges = st.text(alphabet=string.ascii_letters + string.digits + "-._/#", min_size=1,
                 max_size=64)


# --- the reserved prefix ------------------------------------------------------------------------

def test_every_action_card_reads_as_its_action_and_never_as_a_dossier_code() -> None:
    assert {"returned", "request_supplement", "supplement_received", "result_ready", "send",
            "withdrawn", "refused", "payment_received", "logout"} <= set(CARD_ACTIONS)
    for action, code in zip(CARD_ACTIONS, ACTION_CODES, strict=True):
        assert not is_official_code(code) and not is_tracking_number(code)
        assert read_scan(f" {code.lower()}\r\n") == read_scan(code)
        ref = read_scan(code)
        assert (ref.kind, ref.value) == (ACTION, action)
        assert CodeRules().recognize(code) == Recognized(code, ACTION)
        assert CodeRules().recognize(code).value == action  # type: ignore[union-attr]


@given(badges)
def test_a_badge_card_is_a_badge_for_both_sides_and_never_a_dossier(badge: str) -> None:
    code = badge_card_code(badge)
    assert code.startswith("$B-")
    assert not is_official_code(code) and not is_tracking_number(code)
    ref = read_scan(code)
    assert (ref.kind, ref.value) == (BADGE, badge.upper())
    found = CodeRules().recognize(code.lower())
    assert isinstance(found, Recognized) and found.is_card
    assert (found.kind, found.value) == (BADGE, badge.upper())
    # even a site that narrows its official codes to everything reads its badges
    assert CodeRules(r".*").recognize(code) == Recognized(code, BADGE)
    with pytest.raises(BadReference) as caught:
        parse_reference(code)
    assert caught.value.reason == "unrecognized_code"
    assert "badge" in caught.value.message


def test_no_office_code_pattern_can_issue_a_card_code() -> None:
    from app.codes import CodePatternError

    with pytest.raises(CodePatternError):
        code_pattern("$A-{yymmdd}-{serial:04d}", "H12")
    with pytest.raises(CodePatternError):
        code_pattern("{agency}-{yymmdd}-{serial:04d}", "$B")


def test_a_posted_card_is_refused_as_a_dossier_code_without_sinking_the_batch():
    with pytest.raises(BadReference) as caught:
        parse_reference(action_card_code("returned"))
    assert caught.value.reason == "unrecognized_code"
    assert "action card" in caught.value.message


def test_unknown_cards_and_unprintable_badges_are_refused_clearly() -> None:
    for text in ("$A-TELEPORT", "$X-1", "$", "$B-"):
        with pytest.raises(UnreadableScan) as caught:
            read_scan(text)
        assert caught.value.reason == "unknown_card"
        found = CodeRules().recognize(text)
        assert isinstance(found, Unrecognized) and found.reason == "unknown_card"
    for badge in ("", "B 01", "Thảo-01", "x" * 65):
        with pytest.raises(ValueError, match="badge"):
            badge_card_code(badge)
    with pytest.raises(ValueError, match="no action card"):
        action_card_code("teleport")


# --- printed cards ------------------------------------------------------------------------------

NAMES = ["Nguyễn Thị Phương Thảo", "Lê Văn Hùng", "Phạm Quốc Bảo", "Trần Thị Mai",
         "Đỗ Thu Trang", "Hoàng Minh Đức", "Vũ Ngọc Ánh", "Bùi Xuân Trường", "Đặng Hữu Lộc",
         "Ngô Thị Hương", "Dương Công Khải"]


def make_badges(count: int) -> list[BadgeCard]:
    return [BadgeCard(badge_card_code(f"B-{i:04d}"), NAMES[i % len(NAMES)],
                      "Chuyên viên tư pháp – hộ tịch", "UBND xã Tân Phú")
            for i in range(1, count + 1)]


def command_cards() -> list[CommandCard]:
    return [CommandCard(code, title, "Quét thẻ này trước khi quét hồ sơ")
            for code, title in zip(ACTION_CODES, CARD_ACTIONS.values(), strict=True)]


def rasterise(pdf: bytes, dpi: int) -> list[np.ndarray]:
    document = pdfium.PdfDocument(pdf)
    try:
        return [page.render(scale=dpi / 72, grayscale=True).to_numpy().copy() for page in document]
    finally:
        document.close()


def page_texts(pdf: bytes) -> list[str]:
    document = pdfium.PdfDocument(pdf)
    try:
        return [page.get_textpage().get_text_range() for page in document]
    finally:
        document.close()


def decode(image: np.ndarray) -> tuple[list[str], list[str]]:
    """Code 128 texts read by zxing-cpp and by pyzbar, each sorted."""
    zx = sorted(r.text for r in zxingcpp.read_barcodes(image)
                if r.format == zxingcpp.BarcodeFormat.Code128)
    zb = sorted(s.data.decode("ascii")
                for s in pyzbar.decode(image, symbols=[pyzbar.ZBarSymbol.CODE128]))
    return zx, zb


def crops(page: np.ndarray, dpi: int) -> list[np.ndarray]:
    """The ten card slots of an A4 sheet page (2 columns, 5 rows, centred)."""
    px = dpi / 25.4
    left, top = (210 - 2 * 85.6) / 2, (297 - 5 * 53.98) / 2
    out = []
    for slot in range(CARDS_PER_SHEET):
        x = round((left + slot % 2 * 85.6) * px)
        y = round((top + slot // 2 * 53.98) * px)
        out.append(page[y:y + round(53.98 * px), x:x + round(85.6 * px)])
    return out


@pytest.mark.parametrize("dpi", [203, 300])
def test_a_badge_card_prints_on_cr80_and_scans_back_to_its_badge_code(dpi: int) -> None:
    card = make_badges(1)[0]
    pdf = render_badge_cards([card], dpi=dpi)
    assert pdf == render_badge_cards([card], dpi=dpi)  # deterministic
    document = pdfium.PdfDocument(pdf)
    width, height = document[0].get_size()
    document.close()
    assert (round(width / 72 * 25.4, 2), round(height / 72 * 25.4, 2)) == (85.6, 53.98)
    [page] = rasterise(pdf, dpi)
    assert decode(page) == ([card.code], [card.code])
    text = page_texts(pdf)[0]
    for part in (card.name, card.role, card.office, card.code):
        assert part in text


def test_a_sheet_holds_ten_badges_a_page_each_scanning_back_and_named() -> None:
    cards = make_badges(11)
    pdf = render_badge_cards(cards, sheet=True, dpi=300)
    pages = rasterise(pdf, 300)
    assert len(pages) == 2
    got = [decode(crop) for page in pages for crop in crops(page, 300)]
    expected = [([c.code], [c.code]) for c in cards] + [([], [])] * 9
    assert got == expected
    texts = page_texts(pdf)
    assert all(c.name in texts[i // CARDS_PER_SHEET] for i, c in enumerate(cards))


@pytest.mark.parametrize("sheet", [False, True])
def test_action_cards_scan_back_to_their_codes_with_their_vietnamese_names(sheet: bool) -> None:
    cards = command_cards()
    pdf = render_command_cards(cards, sheet=sheet, dpi=203 if not sheet else 300)
    if sheet:
        images = [crop for page in rasterise(pdf, 300) for crop in crops(page, 300)]
    else:
        images = rasterise(pdf, 203)
    read = [decode(image) for image in images][: len(cards)]
    assert read == [([c.code], [c.code]) for c in cards]
    text = "\n".join(page_texts(pdf))
    for title in ("Trả kết quả", "Yêu cầu bổ sung", "Nhận bổ sung", "Có kết quả",
                  "Gửi liên thông", "Rút hồ sơ", "Từ chối tiếp nhận", "Nhận thanh toán",
                  "Đăng xuất"):
        assert title in text
    for code in read:
        assert CodeRules().recognize(code[0][0]).kind == ACTION  # type: ignore[union-attr]


def test_cards_refuse_what_they_cannot_print() -> None:
    from labels import InvalidLabelData, LabelFitError

    with pytest.raises(InvalidLabelData):
        render_badge_cards([])
    with pytest.raises(InvalidLabelData):
        render_badge_cards([BadgeCard("$B-1 2", "An")])
    with pytest.raises(LabelFitError):
        render_command_cards([CommandCard("$A-" + "X" * 60, "Dài")])


# --- the CLI -------------------------------------------------------------------------------------

def codes_in(path: Path, dpi: int = 300) -> list[str]:
    pdf = path.read_bytes()
    images = rasterise(pdf, dpi)
    if len(images) and images[0].shape[0] > 2000:  # an A4 sheet
        images = [crop for page in images for crop in crops(page, dpi)]
    return [zx[0] for zx, _ in map(decode, images) if zx]


def test_tracker_badges_prints_named_users_and_an_office_sheet(app, office: Office,
                                                              tmp_path: Path) -> None:
    runner: Any = app.test_cli_runner()
    out = tmp_path / "badges.pdf"
    result = runner.invoke(args=["badges", "reception", "leader", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert codes_in(out) == ["$B-B-LEADER", "$B-B-RECEPTION"]
    text = "\n".join(page_texts(out.read_bytes()))
    assert "Cán bộ reception" in text and "Lãnh đạo" in text
    result = runner.invoke(args=["badges", "--office", office.code, "--sheet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "5 badge card(s)" in result.output
    assert sorted(codes_in(out)) == sorted(f"$B-B-{r.upper()}" for r in
                                           ("admin", "leader", "reception", "specialist",
                                            "supervisor"))


def test_tracker_badges_refuses_a_user_without_a_badge(app, office: Office,
                                                      tmp_path: Path) -> None:
    runner: Any = app.test_cli_runner()
    out = tmp_path / "badges.pdf"
    result = runner.invoke(args=["badges", "reception", "outsider", "--out", str(out)])
    assert result.exit_code == 2
    assert "no badge for outsider" in result.output
    assert not out.exists()
    result = runner.invoke(args=["badges", "nobody", "--out", str(out)])
    assert result.exit_code == 2 and "no user nobody" in result.output


def test_tracker_cards_prints_every_action_card(app, tmp_path: Path) -> None:
    """Every card but send, which needs a destination (next test)."""
    runner: Any = app.test_cli_runner()
    out = tmp_path / "cards.pdf"
    result = runner.invoke(args=["cards", "--sheet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert codes_in(out) == [c for c in ACTION_CODES if c != action_card_code(SEND)]
    assert "Đăng xuất" in "\n".join(page_texts(out.read_bytes()))


def test_tracker_cards_prints_send_cards_to_offices_and_stations_that_scan_back(
        app, office: Office, tmp_path: Path) -> None:
    runner: Any = app.test_cli_runner()
    out = tmp_path / "cards.pdf"
    result = runner.invoke(args=["cards", "--send-to", "000.00.20.h12", "--send-to", "BA-DESK",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    sends = ["$A-SEND-000.00.20.H12", "$A-SEND-BA-DESK"]
    codes = codes_in(out, dpi=203)
    assert [c for c in codes if c.startswith("$A-SEND")] == sends
    for code in sends:
        found = CodeRules().recognize(code)
        assert isinstance(found, Recognized)
        assert (found.value, found.destination) == (SEND, code.removeprefix("$A-SEND-"))
    text = "\n".join(page_texts(out.read_bytes()))
    assert "Đến: UBND xã Bình An" in text
    assert "Đến: Một cửa Bình An (UBND xã Bình An)" in text
    result = runner.invoke(args=["cards", "--send-to", "NOWHERE", "--out", str(out)])
    assert result.exit_code == 2 and "no office or station NOWHERE" in result.output


def test_a_scanned_card_posted_as_a_dossier_is_refused_alone(client, office: Office) -> None:
    t = "2026-11-20T09:00:00+07:00"
    events = [scan(badge_card_code("B-RECEPTION"), t), scan(action_card_code("returned"), t)]
    response = client.post("/api/v1/scans", json={"events": events},
                           headers=office.headers())
    assert response.status_code == 200, response.get_json()
    assert [(r["status"], r.get("reason")) for r in response.get_json()["results"]] == [
        ("rejected", "unrecognized_code"), ("rejected", "unrecognized_code")]
