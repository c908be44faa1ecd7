"""Exports: the register (Mẫu 06) as XLSX and CSV, the handoff log as XES and OCEL 2.0, read
back with openpyxl and pm4py."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from conftest import Office, scan

HEADERS = ["STT", "Mã hồ sơ", "Nội dung", "Số lượng (bộ)", "Họ tên", "Địa chỉ", "SĐT",
           "Ngày nhận hồ sơ", "Ngày hẹn trả", "Ngày trả kết quả", "Bên giao / Bên nhận",
           "Người nhận hồ sơ", "Ghi chú"]
PERIOD = {"from": "2026-11-01", "to": "2026-11-30"}
SPOOF = '=HYPERLINK("http://x.example","Nguyễn")'


def post(client, office: Office, *events: dict[str, Any]) -> None:
    response = client.post("/api/v1/scans", json={"events": list(events)},
                           headers=office.headers())
    statuses = [r["status"] for r in response.get_json()["results"]]
    assert statuses == ["accepted"] * len(events), response.get_json()


@pytest.fixture
def world(client, office: Office) -> dict[str, dict[str, Any]]:
    """Three dossiers: one returned in the period, one in progress, one received later."""
    done = office.intake(client, code="R-20261116-0001", received_at="2026-11-16T08:00:00+07:00",
                         applicant={"name": "Nguyễn Thị Hằng", "address": "Thôn 3, Tân Phong",
                                    "phone": "0912345678"})
    n = done["tracking_number"]
    post(client, office,
         scan(n, "2026-11-16T09:00:00+07:00", station="TUPHAP", actor="B-SPECIALIST"),
         scan(n, "2026-11-16T10:00:00+07:00", station="LEADER", actor="B-LEADER"),
         scan(n, "2026-11-16T11:00:00+07:00", station="RETURN", action="result_ready"),
         scan(n, "2026-11-17T09:30:00+07:00", station="RETURN", action="returned",
              actor="B-RECEPTION"))
    open_ = office.intake(client, code="R-20261118-0001",
                          received_at="2026-11-18T14:00:00+07:00", copies=2,
                          applicant={"name": SPOOF, "phone": "+84 24 1234 567"})
    post(client, office, scan(open_["tracking_number"], "2026-11-18T15:00:00+07:00",
                              station="TUPHAP"))
    later = office.intake(client, applicant={"name": "Lê Văn Sau"})
    return {"done": done, "open": open_, "later": later}


def get(client, seeded: Office, path: str, who: str = "supervisor", **params: Any) -> Any:
    return client.get(path, query_string=PERIOD | params, headers=seeded.headers(who))


def test_register_xlsx_has_typed_dates_a_frozen_header_and_vietnamese_headers(
        client, office: Office, world):
    from openpyxl import load_workbook

    response = get(client, office, "/api/v1/reports/register.xlsx")
    assert response.status_code == 200
    assert response.mimetype == \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "so-theo-doi-ho-so_2026-11-01_2026-11-30.xlsx" in \
        response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert sheet.title == "SỔ THEO DÕI HỒ SƠ"
    assert sheet.freeze_panes == "A2"
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == HEADERS
    assert len(rows) == 3  # the dossier received in December is not in November's register
    done, open_ = rows[1], rows[2]
    assert done[:7] == (1, "R-20261116-0001", "Đăng ký khai sinh", 1, "Nguyễn Thị Hằng",
                        "Thôn 3, Tân Phong", "0912345678")
    # Dates are date cells, in the office's time, shown the Vietnamese way.
    assert done[7] == dt.datetime(2026, 11, 16, 8, 0)
    assert done[8] == dt.datetime(2026, 11, 17, 8, 0)  # 1 working day
    assert done[9] == dt.datetime(2026, 11, 17, 9, 30)
    assert sheet["H2"].number_format == "dd/mm/yyyy hh:mm" and sheet["H2"].is_date
    assert done[10:] == ("Cán bộ reception / Nguyễn Thị Hằng", "Cán bộ reception", None)
    assert open_[3] == 2 and open_[9] is None and open_[10] is None
    assert open_[12] == "Đang xử lý"
    # A name typed as a formula stays text.
    assert open_[4] == SPOOF and sheet["E3"].data_type == "s"
    assert all(sheet.column_dimensions[c].width >= 6 for c in "ABCDEFGHIJKLM")


def test_register_csv_is_utf8_with_bom_and_defuses_formulas(client, office: Office, world):
    response = get(client, office, "/api/v1/reports/register.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0] == HEADERS
    assert rows[1][1] == "R-20261116-0001" and rows[1][7] == "16/11/2026 08:00"
    assert rows[1][9] == "17/11/2026 09:30"
    assert rows[2][4] == "'" + SPOOF
    assert rows[2][6] == "'+84 24 1234 567"


def test_register_filters_by_office_and_procedure(client, office: Office, world):
    response = get(client, office, "/api/v1/reports/register.csv", procedure="1.009972")
    assert response.data.decode("utf-8-sig").strip().splitlines() == [",".join(HEADERS)]
    mine = get(client, office, "/api/v1/reports/register.csv", office=office.code)
    assert len(mine.data.decode("utf-8-sig").strip().splitlines()) == 3


@pytest.mark.parametrize("path", ["/api/v1/reports/register.xlsx", "/api/v1/reports/register.csv",
                                  "/api/v1/exports/log.xes", "/api/v1/exports/log.ocel.json"])
def test_only_supervisors_and_admins_of_the_office_export(client, office: Office, world, path):
    assert get(client, office, path, who="admin").status_code == 200
    for who in ("reception", "specialist", "leader", "device", "outsider"):
        assert get(client, office, path, who=who).status_code == 403
    assert client.get(path, query_string=PERIOD).status_code == 401
    # Another province's office answers as an unknown one.
    other = get(client, office, path, office="000.00.01.K99")
    assert other.status_code == 404
    assert get(client, office, path, office="NOPE").get_json() == other.get_json() | {
        "error": other.get_json()["error"] | {"message": "no office NOPE"}}


@pytest.mark.parametrize("params", [{"from": "2026-12-01", "to": "2026-11-01"},
                                    {"from": "2026-01-01", "to": "2027-06-01"},
                                    {"from": "0001-01-01"}, {"to": "tomorrow"}])
def test_a_bad_period_is_a_422(client, office: Office, params):
    response = get(client, office, "/api/v1/exports/log.xes", **params)
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["field"] in ("from", "to")


def test_cli_writes_the_register(app, office: Office, world, tmp_path: Path):
    from openpyxl import load_workbook

    out = tmp_path / "register.xlsx"
    result = app.test_cli_runner().invoke(args=[
        "report", "register", "--from", "2026-11-01", "--to", "2026-11-30",
        "--office", office.code, "--format", "xlsx", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "2 dossiers written" in result.output
    rows = list(load_workbook(out).active.iter_rows(values_only=True))
    assert [r[1] for r in rows[1:]] == ["R-20261116-0001", "R-20261118-0001"]
    bad = app.test_cli_runner().invoke(args=[
        "report", "register", "--from", "2026-11-01", "--to", "2026-11-30", "--procedure",
        "9.999", "--format", "csv", "--out", str(tmp_path / "x.csv")])
    assert bad.exit_code == 2 and "no procedure 9.999" in bad.output


def _pm4py() -> Any:
    import pm4py

    return pm4py


# pm4py suggests an optional faster reader; the standard one is what we test against.
_PM4PY_ADVICE = pytest.mark.filterwarnings("ignore:Install the optional requirement:UserWarning")


@_PM4PY_ADVICE
def test_xes_reads_back_with_pm4py_one_trace_per_dossier(client, office: Office, world,
                                                         tmp_path: Path):
    response = get(client, office, "/api/v1/exports/log.xes")
    assert response.status_code == 200
    body = response.data
    assert "Nguyễn Thị Hằng".encode() not in body and b"0912345678" not in body
    path = tmp_path / "log.xes"
    path.write_bytes(body)
    log = _pm4py().read_xes(str(path))
    traces = log.groupby("case:concept:name")
    assert set(traces.groups) == {"R-20261116-0001", "R-20261118-0001"}
    done = traces.get_group("R-20261116-0001").sort_values("time:timestamp")
    assert list(done["concept:name"]) == ["Tiếp nhận hồ sơ", "Tư pháp – Hộ tịch", "Lãnh đạo ký",
                                          "Có kết quả", "Trả kết quả"]
    assert list(done["org:resource"].fillna("")) == [
        "Cán bộ reception", "Cán bộ specialist", "Cán bộ leader", "", "Cán bộ reception"]
    first = done["time:timestamp"].iloc[0].to_pydatetime()
    assert first == dt.datetime(2026, 11, 16, 1, 0, tzinfo=dt.UTC)
    assert set(done["station"]) == {"DESK", "TUPHAP", "LEADER", "RETURN"}
    assert set(done["case:procedure"]) == {"1.001193"}


@_PM4PY_ADVICE
def test_ocel_reads_back_with_pm4py_dossiers_and_stations_as_objects(
        client, office: Office, world, tmp_path: Path):
    response = get(client, office, "/api/v1/exports/log.ocel.json")
    assert response.status_code == 200
    assert "Nguyễn Thị Hằng".encode() not in response.data
    path = tmp_path / "log.jsonocel"
    path.write_bytes(response.data)
    ocel = _pm4py().read_ocel2_json(str(path))
    objects = ocel.objects
    assert set(objects[objects["ocel:type"] == "dossier"]["ocel:oid"]) == {
        "R-20261116-0001", "R-20261118-0001"}
    assert set(objects[objects["ocel:type"] == "station"]["ocel:oid"]) == {
        "DESK", "TUPHAP", "LEADER", "RETURN"}
    assert len(ocel.events) == 5 + 2
    relations = ocel.relations
    done = relations[relations["ocel:oid"] == "R-20261116-0001"].sort_values(
        "ocel:timestamp")
    assert list(done["ocel:activity"]) == ["Tiếp nhận hồ sơ", "Tư pháp – Hộ tịch",
                                           "Lãnh đạo ký", "Có kết quả", "Trả kết quả"]
    at_desk = relations[(relations["ocel:oid"] == "DESK")]
    assert len(at_desk) == 2 and set(at_desk["ocel:qualifier"]) == {"at"}
