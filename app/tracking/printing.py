"""Builds the labels library's plain data from dossiers and renders labels, receipts and
control sheets for the API and the CLI. The only module of the server that imports ``labels``."""

from __future__ import annotations

import decimal
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from flask import current_app

import labels
from app.db import utcnow
from app.errors import ValidationError
from app.offices.models import Office, PrinterType, StationKind
from app.offices.operations import calendar_for
from app.tracking import operations as ops
from app.tracking import queries
from app.tracking.models import Dossier
from app.worktime import DurationUnit

_UNIT_VI = {DurationUnit.WORKING_HOURS: "giờ làm việc", DurationUnit.WORKING_DAYS: "ngày làm việc",
            DurationUnit.CALENDAR_DAYS: "ngày"}
_FLAG_VI = {"after_close": "Quét sau khi đã trả kết quả", "off_plan": "Ngoài quy trình",
            "before_receipt": "Thời gian quét trước khi tiếp nhận",
            "no_pending_supplement": "Không có yêu cầu bổ sung đang chờ",
            "repeat_receive": "Tiếp nhận lặp lại"}


_THERMAL = labels.RollLayout(50, 30, name="thermal-50x30")
_VERDICTS: dict[str | None, Literal["early", "on_time", "late"]] = {
    "early": "early", "on_time": "on_time", "late": "late"}


@dataclass(frozen=True)
class Printed:
    """A rendered document and how to send it."""

    body: bytes
    mimetype: str
    filename: str


def _as_label_error(exc: labels.LabelError) -> ValidationError:
    return ValidationError(str(exc), code="cannot_print",
                           details=[{"field": getattr(exc, "field", None) or "layout",
                                     "type": "cannot_print", "message": str(exc)}])


def unprintable(text: str) -> str | None:
    """The first character of ``text`` the documents' fonts cannot draw, or None.

    Text that ends up on a receipt or a control sheet is checked when it comes in, so that
    a dossier's documents can always be printed later.
    """
    supported = labels.text.supported_codepoints()
    return next((ch for ch in text if ord(ch) not in supported or not ch.isprintable()
                 and ch not in "\n\t"), None)


def vietnamese_duration(amount: decimal.Decimal, unit: DurationUnit) -> str:
    """``15 ngày làm việc``, ``4 giờ làm việc``, ``0,5 ngày làm việc``: as the receipt says."""
    number = f"{amount.normalize():f}".replace(".", ",")
    return f"{number} {_UNIT_VI[unit]}"


def forms_for(office: Office) -> labels.FormConfig:
    """Form titles and numbers from configuration (Circular 03/2025 renumbers them)."""
    try:
        return labels.FormConfig(**current_app.config["FORMS"], tz=office.timezone)
    except (TypeError, labels.LabelError) as exc:
        msg = f"FORMS configuration is invalid: {exc}"
        raise ValidationError(msg, code="bad_configuration") from exc


def label_data(dossier: Dossier) -> labels.LabelData:
    procedure = dossier.procedure_version.procedure
    return labels.LabelData(
        tracking_number=dossier.tracking_number, official_code=dossier.code,
        procedure_name=procedure.short_name or procedure.name, received_at=dossier.received_at,
        due_at=dossier.due_at, office_name=dossier.receiving_office.name)


def layout_for(office: Office, spec: str | None = None) -> labels.Layout:
    """The requested layout (preset name or JSON grid), else the office's default."""
    raw = spec or office.label_layout
    try:
        parsed: Any = json.loads(raw) if raw.lstrip().startswith("{") else raw
        return labels.layout_from_spec(parsed)
    except json.JSONDecodeError as exc:
        msg = f"layout is not valid JSON: {exc}"
        raise ValidationError(msg, code="cannot_print", details=[
            {"field": "layout", "type": "cannot_print", "message": msg}]) from exc
    except labels.LabelError as exc:
        raise _as_label_error(exc) from exc


def print_labels(dossiers: Sequence[Dossier], *, layout: str | None = None,
                 printer: str | None = None, copies: int = 1, start_position: int = 1,
                 with_2d: bool = False) -> Printed:
    """Labels for one or more dossiers on the first dossier's office's layout and printer.

    :raises ValidationError: a layout the labels cannot fit, bad copies or start position.
    """
    office = dossiers[0].receiving_office
    kind = PrinterType(printer) if printer else office.label_printer
    data = [label_data(d) for d in dossiers]
    name = dossiers[0].code if len(dossiers) == 1 else f"{len(dossiers)}-nhan"
    try:
        if kind is PrinterType.ZPL:
            chosen = layout_for(office, layout)
            # ZPL printers take rolls, not sheets.
            roll = chosen if isinstance(chosen, labels.RollLayout) else _THERMAL
            body = labels.render_zpl(data, layout=roll, copies=copies, with_2d=with_2d,
                                     tz=office.timezone)
            return Printed(body, "application/vnd.zebra.zpl", f"{name}.zpl")
        body = labels.render_labels(data, layout_for(office, layout), copies=copies,
                                    start_position=start_position, with_2d=with_2d,
                                    tz=office.timezone)
    except labels.LabelError as exc:
        raise _as_label_error(exc) from exc
    return Printed(body, "application/pdf", f"{name}.pdf")


def print_receipt(dossier: Dossier) -> Printed:
    """Mẫu 01 with the QR of the lookup link; reprints keep the receipt's secret."""
    office = dossier.receiving_office
    version = dossier.procedure_version
    try:
        data = labels.ReceiptData(
            official_code=dossier.code, tracking_number=dossier.tracking_number,
            applicant_name=dossier.applicant_name, request_name=version.procedure.name,
            received_at=dossier.received_at, due_at=dossier.due_at,
            lookup_url=ops.lookup_url(dossier), lookup_secret=ops.lookup_secret(dossier),
            agency_name=office.name.upper(), place=office.place or office.name,
            address=dossier.applicant_address, phone=dossier.applicant_phone,
            email=dossier.applicant_email, documents=list(dossier.documents),
            copies_count=dossier.copies,
            legal_duration=vietnamese_duration(version.duration_amount, version.duration_unit),
            return_method=dossier.return_method or "Bộ phận tiếp nhận và trả kết quả",
            book_serial=dossier.code.rsplit("-", 1)[-1][-20:],
            receiver_name=dossier.received_by.full_name if dossier.received_by else "")
        body = labels.render_receipt(data, forms_for(office))
    except labels.LabelError as exc:
        raise _as_label_error(exc) from exc
    return Printed(body, "application/pdf", f"{dossier.code}-giay-tiep-nhan.pdf")


def print_control_sheet(dossier: Dossier) -> Printed:
    """Mẫu 05 from the recorded handoffs: each row's verdict is on the giver's step."""
    office = dossier.receiving_office
    steps = queries.timeline(dossier, calendar_for(office), utcnow())
    rows = []
    for before, after in zip(steps, steps[1:], strict=False):
        rows.append(labels.HandoffRow(
            giver=_who(before.event.station.name, queries.person(before.event)),
            receiver=_who(after.event.station.name, queries.person(after.event)),
            handed_at=after.arrived_at, verdict=_VERDICTS.get(before.verdict),
            note=_FLAG_VI.get(after.event.flag or "", after.event.note)))
    agencies = sorted({s.event.station.name for s in steps
                       if s.event.station.kind is StationKind.AGENCY})
    try:
        data = labels.ControlSheetData(
            official_code=dossier.code, applicant_name=dossier.applicant_name,
            handling_agency=dossier.competent_office.name, coordinating_agencies=agencies,
            steps=rows, agency_name=office.name.upper())
        body = labels.render_control_sheet(data, forms_for(office))
    except labels.LabelError as exc:
        raise _as_label_error(exc) from exc
    return Printed(body, "application/pdf", f"{dossier.code}-phieu-kiem-soat.pdf")


def _who(station: str, person: str) -> str:
    return f"{station} – {person}" if person else station


def barcode_svg(dossier: Dossier) -> Printed:
    """The tracking number as a Code 128 SVG for pages that show it on screen."""
    import barcode
    from barcode.writer import SVGWriter

    buf = io.BytesIO()
    barcode.get("code128", dossier.tracking_number, writer=SVGWriter()).write(
        buf, options={"module_width": 0.3, "module_height": 12.0, "quiet_zone": 3.0,
                      "font_size": 8, "text_distance": 4.0})
    return Printed(buf.getvalue(), "image/svg+xml", f"{dossier.tracking_number}.svg")
