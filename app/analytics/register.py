"""The register (Mẫu 06, Sổ theo dõi hồ sơ): one row per dossier received in the period.

It names the applicant (name, address, phone): staff only, never a device or the public.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from flask import current_app

import labels
from app.analytics.export import Column, write_table
from app.analytics.selection import Selection
from app.db import db
from app.offices.operations import calendar_of
from app.procedures.models import ProcedureVersion
from app.tracking.models import Dossier, DossierStatus, ScanAction, ScanEvent
from app.tracking.queries import person

COLUMNS = (
    Column("number", "STT", 6),
    Column("code", "Mã hồ sơ"),
    Column("content", "Nội dung", 40),
    Column("copies", "Số lượng (bộ)", 9),
    Column("name", "Họ tên"),
    Column("address", "Địa chỉ", 30),
    Column("phone", "SĐT"),
    Column("received_at", "Ngày nhận hồ sơ"),
    Column("due_at", "Ngày hẹn trả"),
    Column("returned_at", "Ngày trả kết quả"),
    Column("handover", "Bên giao / Bên nhận", 30),
    Column("received_by", "Người nhận hồ sơ"),
    Column("note", "Ghi chú", 40),
)


def _returns(selection: Selection) -> dict[int, str]:
    """Who handed each returned dossier's result over (its first ``returned`` scan)."""
    stmt = (sa.select(ScanEvent).where(ScanEvent.dossier_id.in_(selection.dossier_ids()),
                                       ScanEvent.action == ScanAction.RETURNED)
            .options(sa.orm.joinedload(ScanEvent.actor))
            .order_by(ScanEvent.corrected_at.desc()))
    return {event.dossier_id: person(event) for event in db.session.scalars(stmt)}


def _local(value: dt.datetime | None, tz: Any) -> dt.datetime | None:
    return value.astimezone(tz) if value is not None else None


def register_rows(selection: Selection) -> list[dict[str, Any]]:
    """The register's rows, in order of receipt, times in each office's zone.

    "Ngày hẹn trả" is the first appointment; a moved one ("Hẹn lại", after a wait for the
    citizen or an apology) goes in "Ghi chú", with the status of a dossier not yet returned.
    """
    returners = _returns(selection)
    stmt = selection.dossiers().options(
        sa.orm.joinedload(Dossier.procedure_version).joinedload(ProcedureVersion.procedure),
        sa.orm.joinedload(Dossier.received_by))
    rows = []
    for number, d in enumerate(db.session.scalars(stmt), start=1):
        tz = calendar_of(d.receiving_office_id).tz
        notes = []
        if d.due_at != d.base_due_at:
            notes.append(f"Hẹn lại: {d.due_at.astimezone(tz):%d/%m/%Y %H:%M}")
        if d.status is not DossierStatus.RETURNED:
            notes.append(d.status.label)
        if d.note:
            notes.append(d.note)
        giver = returners.get(d.id)
        rows.append({
            "number": number, "code": d.code, "content": d.procedure_version.procedure.name,
            "copies": d.copies, "name": d.applicant_name, "address": d.applicant_address,
            "phone": d.applicant_phone, "received_at": _local(d.received_at, tz),
            "due_at": _local(d.base_due_at, tz), "returned_at": _local(d.returned_at, tz),
            "handover": f"{giver} / {d.applicant_name}" if giver is not None else "",
            "received_by": d.received_by.full_name if d.received_by else "",
            "note": "; ".join(notes)})
    return rows


def render(rows: list[dict[str, Any]], fmt: str) -> bytes:
    """The register's rows as CSV or XLSX, the sheet named after the form's configured
    title (``FORMS``: ``register_title``)."""
    title = labels.FormConfig(**current_app.config["FORMS"]).register_title
    return write_table(rows, COLUMNS, fmt, title=title.translate(_NOT_IN_SHEET_NAMES))


_NOT_IN_SHEET_NAMES = str.maketrans("", "", "[]:*?/\\")


def filename(since: dt.date, until: dt.date, fmt: str) -> str:
    return f"so-theo-doi-ho-so_{since.isoformat()}_{until.isoformat()}.{fmt}"
