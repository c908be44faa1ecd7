"""The staff list GET /api/v1/dossiers: search without diacritics, filters, pages, scope."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Office, scan

from app.tracking.search import fold_text

_serial = iter(range(1, 100_000))


def receive(client, office: Office, name: str, phone: str = "", **body: Any) -> dict[str, Any]:
    return office.intake(client, applicant={"name": name, "phone": phone}, **body)


def listed(client, office: Office, who: str = "reception", **params: Any) -> dict[str, Any]:
    response = client.get("/api/v1/dossiers", query_string=params, headers=office.headers(who))
    assert response.status_code == 200, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def names(page: dict[str, Any]) -> list[str]:
    return sorted(row["applicant"] for row in page["dossiers"])


@pytest.fixture
def people(client, office: Office) -> dict[str, dict[str, Any]]:
    return {name: receive(client, office, name, phone) for name, phone in [
        ("Nguyễn Văn A", "0912 345 678"), ("Nguyễn Văn Bình", "0987.654.321"),
        ("Trần Thị Đào", "0241234567"), ("Lê Đức Anh", "")]}


def test_names_fold_to_lower_case_without_diacritics():
    assert fold_text("Nguyễn Văn Đức") == "nguyen van duc"
    assert fold_text("  TRẦN   thị  ĐÀO ") == "tran thi dao"
    # Decomposed input (NFD, as some keyboards send it) folds the same.
    assert fold_text("Nguye\u0302\u0303n") == "nguyen"


@pytest.mark.parametrize(("q", "expected"), [
    ("nguyen van a", ["Nguyễn Văn A"]),
    ("Nguyễn", ["Nguyễn Văn A", "Nguyễn Văn Bình"]),
    ("NGUYEN VAN", ["Nguyễn Văn A", "Nguyễn Văn Bình"]),
    ("dao", ["Trần Thị Đào"]),
    ("đức", ["Lê Đức Anh"]),
    ("tran  thi", ["Trần Thị Đào"]),
    ("0912345678", ["Nguyễn Văn A"]),
    ("0987 654 321", ["Nguyễn Văn Bình"]),
    ("654321", ["Nguyễn Văn Bình"]),
    ("50%", []),
    ("van_", []),
])
def test_search_by_name_without_diacritics_and_by_phone(client, office: Office, people, q,
                                                       expected):
    assert names(listed(client, office, q=q)) == expected


def test_search_by_code_or_tracking_number(client, office: Office, people):
    d = people["Trần Thị Đào"]
    assert names(listed(client, office, q=d["tracking_number"])) == ["Trần Thị Đào"]
    assert names(listed(client, office, q=d["code"].lower())) == ["Trần Thị Đào"]
    assert listed(client, office, q=d["code"][-4:])["total"] >= 1


def test_a_row_is_the_staff_summary(client, office: Office, people):
    [row] = listed(client, office, q="nguyen van a")["dossiers"]
    d = people["Nguyễn Văn A"]
    assert row["code"] == d["code"] and row["tracking_number"] == d["tracking_number"]
    assert row["procedure"] == {"code": "1.001193", "name": "Đăng ký khai sinh"}
    assert row["status"] == "received" and row["status_label"] == "Được tiếp nhận"
    assert row["current_station"]["code"] == "DESK"
    assert row["on_time"] in ("within", "approaching")
    assert row["due_at"].endswith("+07:00")


def test_pages_are_newest_first_with_the_total(client, office: Office, people):
    first = listed(client, office, per_page=3)
    second = listed(client, office, per_page=3, page=2)
    assert (first["total"], first["page"], first["per_page"]) == (4, 1, 3)
    assert len(first["dossiers"]) == 3 and len(second["dossiers"]) == 1
    codes = [r["code"] for r in first["dossiers"] + second["dossiers"]]
    assert codes == [people[n]["code"] for n in reversed(list(people))]
    assert listed(client, office, page=9)["dossiers"] == []


def test_filters_by_status_station_and_overdue(client, office: Office, people):
    late = office.intake(client, code=f"S-20261116-{next(_serial):04d}",
                         received_at="2026-11-16T08:00:00+07:00",
                         applicant={"name": "Phạm Quá Hạn"})
    response = client.post("/api/v1/scans", headers=office.headers(), json={"events": [
        scan(late["tracking_number"], "2026-11-16T09:00:00+07:00", station="TUPHAP")]})
    assert response.status_code == 200
    assert names(listed(client, office, status="in_progress")) == ["Phạm Quá Hạn"]
    assert names(listed(client, office, status="4,2")) == sorted([*people, "Phạm Quá Hạn"])
    assert names(listed(client, office, station="tuphap")) == ["Phạm Quá Hạn"]
    assert names(listed(client, office, overdue="true")) == ["Phạm Quá Hạn"]
    assert names(listed(client, office, overdue="false")) == sorted(people)
    assert names(listed(client, office, overdue="true", q="pham")) == ["Phạm Quá Hạn"]
    assert listed(client, office, overdue="true", q="nguyen")["total"] == 0


@pytest.mark.parametrize("params", [{"per_page": 101}, {"page": 0}, {"status": "lost"},
                                    {"overdue": "maybe"}, {"q": "x" * 101},
                                    {"q": "a\u0000b"}])
def test_bad_parameters_are_a_422_naming_the_field(client, office: Office, params):
    response = client.get("/api/v1/dossiers", query_string=params,
                          headers=office.headers("supervisor"))
    assert response.status_code == 422
    body = response.get_json()["error"]
    assert body["details"][0]["field"] == next(iter(params))
    assert "\u0000" not in str(body)


def test_devices_and_anonymous_callers_are_refused(client, office: Office, people):
    device = client.get("/api/v1/dossiers", headers=office.headers())
    assert device.status_code == 403
    assert "Nguyễn" not in device.get_data(as_text=True)
    assert client.get("/api/v1/dossiers").status_code == 401


def test_other_offices_staff_see_none_of_them(client, office: Office, people):
    assert listed(client, office, who="outsider")["total"] == 0
    # The province-wide supervisor sees them all.
    assert listed(client, office, who="supervisor")["total"] == 4


def test_a_dossier_sent_to_another_office_is_listed_there(client, office: Office, people):
    d = people["Lê Đức Anh"]
    response = client.post("/api/v1/scans", headers=office.headers(), json={"events": [
        scan(d["tracking_number"], "2099-01-01T00:00:00+07:00", station="DESK", action="send",
             destination="000.00.20.H12", sent_at="2099-01-01T00:00:00+07:00")]})
    assert response.get_json()["results"][0]["status"] == "accepted"
    assert names(listed(client, office, who="outsider")) == ["Lê Đức Anh"]
