"""A demo commune office: stations, procedures with step plans, staff of every role, one
scanner, and a few dossiers already on their way. Running it again only issues fresh tokens."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

import sqlalchemy as sa

from app.auth.models import Device, Role, User
from app.auth.operations import create_device, create_user, issue_token
from app.auth.tokens import DEVICE_PREFIX, Principal, new_token
from app.db import db, utcnow
from app.offices.models import Office, StationKind
from app.offices.operations import add_station, create_office
from app.procedures.operations import StepSpec, create_procedure
from app.tracking import operations as ops
from app.tracking import schemas
from app.tracking.models import Dossier

OFFICE = {"code": "000.00.19.H12", "name": "UBND xã Tân Phong", "province": "H12",
          "place": "Tân Phong"}
PROVINCE = {"code": "000.00.01.H12", "name": "Trung tâm Phục vụ hành chính công tỉnh",
            "province": "H12", "place": "Thành phố"}
STATIONS = [
    ("TP-DESK", "Bộ phận một cửa – Quầy 1", StationKind.RECEPTION),
    ("TP-TUPHAP", "Công chức Tư pháp – Hộ tịch", StationKind.DEPARTMENT),
    ("TP-DIACHINH", "Công chức Địa chính – Xây dựng", StationKind.DEPARTMENT),
    ("TP-LEADER", "Lãnh đạo UBND xã (ký duyệt)", StationKind.LEADER),
    ("TP-RETURN", "Quầy trả kết quả", StationKind.RETURN),
    ("TP-ARCHIVE", "Lưu trữ", StationKind.ARCHIVE),
]
PROCEDURES = [
    ("1.001193", "Đăng ký khai sinh", "Khai sinh", "Hộ tịch", "1 working day",
     [("Tiếp nhận", "TP-DESK", "1"), ("Thụ lý", "TP-TUPHAP", "5"),
      ("Ký duyệt", "TP-LEADER", "1.5"), ("Trả kết quả", "TP-RETURN", "0.5")]),
    ("1.000894", "Chứng thực bản sao từ bản chính giấy tờ, văn bản", "Chứng thực bản sao",
     "Chứng thực", "4 working hours",
     [("Tiếp nhận", "TP-DESK", "0.5"), ("Thụ lý", "TP-TUPHAP", "2.5"),
      ("Ký", "TP-LEADER", "0.5"), ("Trả kết quả", "TP-RETURN", "0.5")]),
    ("1.009972", "Cấp giấy phép xây dựng nhà ở riêng lẻ", "Giấy phép xây dựng", "Xây dựng",
     "15 working days",
     [("Tiếp nhận", "TP-DESK", "4"), ("Thẩm định", "TP-DIACHINH", "92"),
      ("Ký duyệt", "TP-LEADER", "24"), ("Trả kết quả", "TP-RETURN", "0")]),
]
USERS = [
    ("letan", "Trần Thị Mai", Role.RECEPTION, "B-0001", False),
    ("tuphap", "Lê Văn Hùng", Role.SPECIALIST, "B-0002", False),
    ("diachinh", "Phạm Quốc Bảo", Role.SPECIALIST, "B-0003", False),
    ("lanhdao", "Nguyễn Văn Thành", Role.LEADER, "B-0004", False),
    ("giamsat", "Đỗ Thu Trang", Role.SUPERVISOR, "B-0005", True),
    ("admin", "Quản trị hệ thống", Role.ADMIN, None, True),
]
APPLICANTS = [
    ("Nguyễn Thị Hằng", "0912345678", "001190012345", "1.001193"),
    ("Hoàng Văn Đức", "0987654321", "001085054321", "1.009972"),
    ("Vũ Ngọc Ánh", "0903111222", "001199011122", "1.000894"),
]


def _password(username: str) -> str:
    return f"demo-{username}"


def _create() -> None:
    office = create_office(**OFFICE)
    create_office(**PROVINCE)
    stations = [add_station(office, code, name, kind) for code, name, kind in STATIONS]
    for code, name, short, field, duration, steps in PROCEDURES:
        create_procedure(code, name, duration,
                         [StepSpec(step, decimal.Decimal(hours), station=station)
                          for step, station, hours in steps],
                         short_name=short, field=field)
    for username, full_name, role, badge, wide in USERS:
        create_user(username, full_name, role, office, password=_password(username),
                    badge=badge, province_scope=wide)
    create_device("Máy quét Quầy 1", stations)
    _sample_dossiers(office)


def _sample_dossiers(office: Office) -> None:
    receptionist = db.session.scalar(sa.select(User).where(User.username == "letan"))
    from app.procedures.operations import get_procedure_version

    now = utcnow()
    for number, (name, phone, id_number, procedure) in enumerate(APPLICANTS):
        dossier, _ = ops.register_dossier(ops.IntakeCommand(
            procedure_version=get_procedure_version(procedure),
            applicant=ops.Applicant(name=name, phone=phone, id_number=id_number,
                                    address="Thôn Đông, xã Tân Phong"),
            receiving_office=office, competent_office=office,
            documents=["Tờ khai theo mẫu", "Giấy tờ tùy thân (bản sao)"],
            received_by=receptionist, return_method="Bộ phận một cửa UBND xã",
            received_at=now - dt.timedelta(hours=3 - number)))
        # The first dossier has already moved on to the specialist.
        if number == 0:
            specialist = db.session.scalar(sa.select(User).where(User.username == "tuphap"))
            assert specialist is not None
            ops.ingest_scans(Principal(user=specialist), schemas.scan_commands([{
                "id": str(uuid.uuid4()), "code": dossier.tracking_number,
                "scanned_at": (now - dt.timedelta(hours=1)).isoformat(),
                "sent_at": now.isoformat(), "station": "TP-TUPHAP"}]))


def seed_demo() -> dict[str, Any]:
    """Create the demo data if absent, then issue fresh tokens; returns what to print."""
    office = db.session.scalar(sa.select(Office).where(Office.code == OFFICE["code"]))
    if office is None:
        _create()
        office = db.session.scalar(sa.select(Office).where(Office.code == OFFICE["code"]))
    assert office is not None
    devices = []
    for device in db.session.scalars(sa.select(Device).where(Device.office_id == office.id)):
        token, device.token_hash = new_token(DEVICE_PREFIX)
        device.revoked_at = None
        devices.append({"id": device.id, "name": device.name, "token": token,
                        "station": device.stations[0].code,
                        "stations": [s.code for s in device.stations]})
    users = []
    for username, full_name, role, badge, _ in USERS:
        user = db.session.scalar(sa.select(User).where(User.username == username))
        assert user is not None
        users.append({"username": username, "name": full_name, "role": role.value,
                      "badge": badge, "password": _password(username),
                      "token": issue_token(user, "demo")})
    dossiers = [{"code": d.code, "tracking_number": d.tracking_number,
                 "lookup_url": ops.lookup_url(d)}
                for d in db.session.scalars(sa.select(Dossier).where(
                    Dossier.receiving_office_id == office.id).order_by(Dossier.id))]
    return {"office": {"code": office.code, "name": office.name},
            "stations": [{"code": s.code, "name": s.name, "kind": s.kind.name.lower()}
                         for s in office.stations],
            "devices": devices, "users": users, "dossiers": dossiers}
