"""Print jobs on the server: reception queues a label for the counter's agent, the agent
fetches its jobs (nothing personal), prints and reports back."""

from __future__ import annotations

import datetime as dt
import json

import pypdfium2 as pdfium
import zxingcpp
from conftest import Office
from zpl_support import interpret_zpl

LABEL_50X30 = json.dumps({"kind": "roll", "label_width_mm": 50, "label_height_mm": 30,
                          "dpi": 203, "min_module_dots": 2})


def queue(client, office: Office, code: str, who: str = "reception", **body):
    payload = {"device": office.device_id} | body
    return client.post(f"/api/v1/dossiers/{code}/print-jobs", json=payload,
                       headers=office.headers(who))


def device_jobs(client, office: Office) -> list[dict]:
    response = client.get("/api/v1/devices/me/print-jobs", headers=office.headers("device"))
    assert response.status_code == 200
    return response.get_json()["jobs"]  # type: ignore[no-any-return]


def report(client, office: Office, job_id: int, **body):
    return client.post(f"/api/v1/devices/me/print-jobs/{job_id}", json=body,
                       headers=office.headers("device"))


def test_label_queued_at_the_counter_reaches_the_device_without_personal_data(
        client, office: Office):
    d = office.intake(client)
    assert d["links"]["print_jobs"] == f"/api/v1/dossiers/{d['code']}/print-jobs"
    created = queue(client, office, d["code"], copies=2)
    assert created.status_code == 201, created.get_json()
    job = created.get_json()
    assert job["status"] == "pending" and job["device"] == office.device_id
    assert job["created_by"] == "Cán bộ reception"
    (pending,) = device_jobs(client, office)
    assert pending["id"] == job["id"] and pending["copies"] == 2
    assert pending["code"] == d["code"] and pending["tracking_number"] == d["tracking_number"]
    raw = json.dumps(pending, ensure_ascii=False)
    assert "Nguyễn Thị Hằng" not in raw and "0912345678" not in raw and "created_by" not in raw


def test_the_device_prints_the_dossiers_own_label_and_it_names_nobody(client, office: Office):
    d = office.intake(client)
    job = queue(client, office, d["code"]).get_json()
    (pending,) = device_jobs(client, office)
    zpl = client.get(pending["links"]["label_zpl"], query_string={"layout": LABEL_50X30},
                     headers=office.headers("device"))
    assert zpl.status_code == 200 and zpl.mimetype == "application/vnd.zebra.zpl"
    ((image, _bars),) = interpret_zpl(zpl.data.decode("utf-8"))
    assert [r.text for r in zxingcpp.read_barcodes(image)] == [d["tracking_number"]]
    pdf = client.get(pending["links"]["label_pdf"], query_string={"layout": LABEL_50X30},
                     headers=office.headers("device"))
    assert pdf.status_code == 200
    text = " ".join(p.get_textpage().get_text_range() for p in pdfium.PdfDocument(pdf.data))
    assert d["code"] in text and "Nguyễn" not in text and "0912345678" not in text
    assert report(client, office, job["id"], status="printed").status_code == 200
    assert device_jobs(client, office) == []
    listed = client.get(f"/api/v1/dossiers/{d['code']}/print-jobs",
                        headers=office.headers("reception")).get_json()["jobs"]
    assert [(j["id"], j["status"]) for j in listed] == [(job["id"], "printed")]


def test_the_receipt_is_never_sent_to_a_device(client, office: Office):
    d = office.intake(client)
    response = queue(client, office, d["code"], kind="receipt")
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["field"] == "kind"
    assert device_jobs(client, office) == []


def test_a_station_names_its_one_device(app, client, office: Office):
    d = office.intake(client)
    job = queue(client, office, d["code"], device=None, station="desk")
    assert job.status_code == 201, job.get_json()
    assert job.get_json()["station"] == "DESK" and job.get_json()["device"] == office.device_id


def test_a_station_with_no_device_or_several_is_refused_with_the_reason(
        app, client, office: Office):
    from app.auth.operations import create_device
    from app.db import db
    from app.offices.models import StationKind
    from app.offices.operations import add_station, get_office

    with app.app_context():
        own = get_office(office.code)
        add_station(own, "QUAY2", "Quầy 2", StationKind.RECEPTION)
        desk = next(s for s in own.stations if s.code == "DESK")
        create_device("Quầy 1 – máy thứ hai", [desk])
        db.session.commit()
    d = office.intake(client)
    empty = queue(client, office, d["code"], device=None, station="QUAY2")
    assert empty.status_code == 409 and empty.get_json()["error"]["code"] == "no_print_device"
    two = queue(client, office, d["code"], device=None, station="DESK")
    assert two.status_code == 409
    assert two.get_json()["error"]["code"] == "ambiguous_print_device"
    assert "Quầy 1 – máy thứ hai" in two.get_json()["error"]["message"]


def test_another_offices_device_or_station_is_not_found(app, client, office: Office):
    from app.auth.operations import create_device
    from app.db import db
    from app.offices.operations import get_office

    with app.app_context():
        other = get_office("000.00.20.H12")
        device, _ = create_device("Bình An quầy", [other.stations[0]])
        db.session.commit()
        other_device = device.id
    d = office.intake(client)
    assert queue(client, office, d["code"], device=other_device).status_code == 404
    assert queue(client, office, d["code"], device=None, station="BA-DESK").status_code == 404
    assert queue(client, office, d["code"], device=None).status_code == 422  # neither
    both = queue(client, office, d["code"], station="DESK")
    assert both.status_code == 422


def test_a_failure_is_recorded_once_and_reports_are_idempotent(client, office: Office):
    d = office.intake(client)
    job = queue(client, office, d["code"]).get_json()
    error = "Không kết nối được máy in 10.0.0.9:9100 / printer 10.0.0.9:9100 unreachable"
    assert report(client, office, job["id"], status="failed", error=error).status_code == 200
    assert report(client, office, job["id"], status="failed", error=error).status_code == 200
    again = report(client, office, job["id"], status="printed")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_finished"
    (listed,) = client.get(f"/api/v1/dossiers/{d['code']}/print-jobs",
                           headers=office.headers("admin")).get_json()["jobs"]
    assert listed["status"] == "failed" and listed["error"] == error
    assert report(client, office, 999_999, status="printed").status_code == 404


def test_a_job_not_fetched_in_time_is_dropped_not_printed_late(app, client, office: Office):
    import sqlalchemy as sa

    from app.db import db
    from app.printjobs.models import PrintJob

    d = office.intake(client)
    job = queue(client, office, d["code"]).get_json()
    with app.app_context():
        old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=31)
        db.session.execute(sa.update(PrintJob).where(PrintJob.id == job["id"])
                           .values(created_at=old))
        db.session.commit()
    assert device_jobs(client, office) == []
    (listed,) = client.get(f"/api/v1/dossiers/{d['code']}/print-jobs",
                           headers=office.headers("reception")).get_json()["jobs"]
    assert listed["status"] == "expired"
