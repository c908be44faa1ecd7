"""Builds the labels library's plain data from dossiers and renders labels, receipts, control
sheets and the desk's notices (Mẫu 02, 03, 04) for the API and the CLI. The only module of the
server that imports ``labels``."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from flask import current_app

import labels
from app.auth.models import Role
from app.errors import ValidationError
from app.offices.models import Office, PrinterType, StationKind
from app.procedures.operations import plan_of
from app.tracking import operations as ops
from app.tracking import queries
from app.tracking.models import Dossier, DossierNotice, NoticeKind, ScanAction
from app.worktime import vietnamese_duration

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


def set_label_settings(office: Office, layout: str | None = None,
                       printer: PrinterType | None = None) -> Office:
    """Change the office's default label layout and printer type (what is not given stays).

    :raises ValidationError: a layout the labels cannot be printed on (``cannot_print``).
    """
    if layout is not None:
        layout_for(office, layout)  # refuse a layout that cannot be printed
        office.label_layout = layout
    if printer is not None:
        office.label_printer = printer
    return office


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


def fee_text(dossier: Dossier) -> str:
    """"Phí, lệ phí" as the receipt prints it: ``50.000 đồng``, ``Không``, or "" (a blank to
    fill in) when neither the dossier nor its procedure version says."""
    fee = dossier.fee if dossier.fee is not None else dossier.procedure_version.fee
    if fee is None:
        return ""
    if fee == 0:
        return "Không"
    return f"{fee:,} đồng".replace(",", ".")


def _original_due(dossier: Dossier) -> Any:
    """The first appointment when it was moved (the forms print both), else None."""
    return dossier.base_due_at if dossier.base_due_at != dossier.due_at else None


def print_receipt(dossier: Dossier) -> Printed:
    """Mẫu 01 with the QR of the lookup link on the citizen's copy; reprints keep the
    receipt's secret and show a moved appointment as "Hẹn lại" beside the first one."""
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
            legal_duration=vietnamese_duration(version.duration),
            return_method=dossier.return_method or "Bộ phận tiếp nhận và trả kết quả",
            book_serial=dossier.code.rsplit("-", 1)[-1][-20:], fee=fee_text(dossier),
            receiver_name=dossier.received_by.full_name if dossier.received_by else "",
            original_due_at=_original_due(dossier))
        body = labels.render_receipt(data, forms_for(office))
    except labels.LabelError as exc:
        raise _as_label_error(exc) from exc
    return Printed(body, "application/pdf", f"{dossier.code}-giay-tiep-nhan.pdf")


# Rows that are no plain handoff, and what the control sheet calls them.
_ROW_LABELS = {ScanAction.REQUEST_SUPPLEMENT: "Yêu cầu bổ sung",
               ScanAction.SUPPLEMENT_RECEIVED: "Nhận bổ sung",
               ScanAction.RETURNED: "Trả kết quả",
               ScanAction.RESULT_READY: "Có kết quả giải quyết",
               ScanAction.REQUEST_PAYMENT: "Yêu cầu thực hiện nghĩa vụ tài chính",
               ScanAction.WITHDRAWN: "Công dân rút hồ sơ",
               ScanAction.STOPPED: "Dừng xử lý"}


def control_rows(steps: Sequence[queries.TimelineStep], applicant: str,
                 destination: str = "") -> list[labels.HandoffRow]:
    """The control sheet's rows from the timeline: one per handoff between stations, and one
    per exchange with the citizen; giver and receiver as :func:`queries.handoff_parties`
    names them, each with the station.

    A supplement request hands the request to the citizen ("Yêu cầu bổ sung"), its receipt
    takes the papers back ("Nhận bổ sung"), and the return hands the result to the citizen
    ("Công dân nhận kết quả"); when such a scan is made at another station than the one
    before, the handoff between the two stations comes first. A ``send`` is handed over when
    it is scanned and received at the next scan: one row with both times ("Giao" / "Nhận");
    a send scanned where the file already was is no handoff of its own. A file still in
    transit ends the table with its send: "Nhận: <destination>", to sign on arrival. Each
    handoff carries the verdict on the giver's step.
    """
    citizen = f"Công dân: {applicant}"
    rows: list[labels.HandoffRow] = []
    carried: str | None = None  # the giver's verdict, past a send scanned where it was
    for before, after in zip(steps, steps[1:], strict=False):
        action = after.event.action
        here = _who(after.receiver)
        there = _who(after.giver) if after.giver else citizen
        note = _FLAG_VI.get(after.event.flag or "", after.event.note)
        verdict = _VERDICTS.get(before.verdict or carried)
        carried = None
        moved = before.event.station_id != after.event.station_id
        if action is ScanAction.SEND and not moved:
            carried = before.verdict
            continue
        if action is ScanAction.SUPPLEMENT_RECEIVED:
            rows.append(labels.HandoffRow(giver=citizen, receiver=here,
                                          handed_at=after.arrived_at, note=note,
                                          label=_ROW_LABELS[action]))
            continue
        to_citizen = action in (ScanAction.REQUEST_SUPPLEMENT, ScanAction.RETURNED)
        if moved or not to_citizen:
            sent = before.interval == queries.TRANSIT
            rows.append(labels.HandoffRow(
                giver=there, receiver=here,
                handed_at=before.arrived_at if sent else after.arrived_at,
                received_at=after.arrived_at if sent else None, verdict=verdict,
                note="" if to_citizen else note,
                label="" if to_citizen else _ROW_LABELS.get(action, "")))
            verdict = None
        if to_citizen:
            receiver = (f"Công dân nhận kết quả: {applicant}" if action is ScanAction.RETURNED
                        else citizen)
            rows.append(labels.HandoffRow(giver=here, receiver=receiver,
                                          handed_at=after.arrived_at, verdict=verdict,
                                          note=note, label=_ROW_LABELS[action]))
    if len(steps) > 1 and steps[-1].interval == queries.TRANSIT and destination:
        last = steps[-1]
        rows.append(labels.HandoffRow(giver=_who(last.receiver), receiver=destination,
                                      handed_at=last.arrived_at,
                                      verdict=_VERDICTS.get(carried), note=last.event.note))
    return rows


def _blank_rows(dossier: Dossier) -> int:
    """Rows to fill in by hand: the plan's steps still to come and the return; none once the
    file is closed."""
    if dossier.status.closed:
        return 0
    ahead = sum(1 for s in plan_of(dossier.procedure_version_id)
                if s.position > dossier.plan_position)
    return min(max(ahead, 1), 8)


def print_control_sheet(dossier: Dossier) -> Printed:
    """Mẫu 05 from the recorded handoffs: each row's verdict is on the giver's step; the
    dossier's due date and overall verdict on top, blank rows for the handoffs to come."""
    office = dossier.receiving_office
    judged = queries.standing(dossier)
    steps = queries.timeline(dossier, judged.calendar, judged.now)
    to = dossier.transit_to_station or dossier.transit_to_office
    rows = control_rows(steps, dossier.applicant_name, to.name if to is not None else "")
    agencies = sorted({s.event.station.name for s in steps
                       if s.event.station.kind is StationKind.AGENCY})
    verdict = judged.verdict if judged.verdict in labels.data.OVERALL_VERDICT_TEXT else None
    try:
        data = labels.ControlSheetData(
            official_code=dossier.code, applicant_name=dossier.applicant_name,
            handling_agency=dossier.competent_office.name, coordinating_agencies=agencies,
            steps=rows, agency_name=office.name.upper(), place=office.place or office.name,
            dated=dossier.received_at, due_at=dossier.due_at,
            original_due_at=_original_due(dossier),
            verdict=verdict,  # type: ignore[arg-type]
            blank_rows=_blank_rows(dossier))
        body = labels.render_control_sheet(data, forms_for(office))
    except labels.LabelError as exc:
        raise _as_label_error(exc) from exc
    return Printed(body, "application/pdf", f"{dossier.code}-phieu-kiem-soat.pdf")


_NOTICE_FILES = {NoticeKind.SUPPLEMENT_REQUEST: "phieu-yeu-cau-bo-sung",
                 NoticeKind.REFUSAL: "phieu-tu-choi", NoticeKind.APOLOGY: "phieu-xin-loi"}


def print_notice(notice: DossierNotice) -> Printed:
    """Mẫu 02, 03 or 04 of a recorded notice, dated the day it was issued (a reprint gives
    the same bytes)."""
    dossier = notice.dossier
    office = dossier.receiving_office
    issuer = notice.issued_by.full_name if notice.issued_by else ""
    common: dict[str, Any] = {
        "official_code": dossier.code, "applicant_name": dossier.applicant_name,
        "request_name": dossier.procedure_version.procedure.name,
        "received_at": dossier.received_at, "issued_at": notice.issued_at,
        "agency_name": office.name, "place": office.place or office.name,
        "reason": notice.reason}
    try:
        if notice.kind is NoticeKind.SUPPLEMENT_REQUEST:
            body = labels.render_supplement_request(labels.SupplementRequestData(
                **common, signer_name=issuer, contact=issuer,
                items=[labels.MissingPaper(i["name"], i["kind"]) for i in notice.items]),
                forms_for(office))
        elif notice.kind is NoticeKind.REFUSAL:
            body = labels.render_refusal(labels.RefusalData(**common, signer_name=issuer),
                                         forms_for(office))
        else:
            assert notice.previous_due_at is not None and notice.new_due_at is not None
            # Signed by the head of the agency: named when a leader issued it.
            leader = notice.issued_by is not None and notice.issued_by.role is Role.LEADER
            body = labels.render_apology(labels.ApologyData(
                **common, signer_name=issuer if leader else "",
                previous_due_at=notice.previous_due_at,
                new_due_at=notice.new_due_at), forms_for(office))
    except labels.LabelError as exc:
        raise _as_label_error(exc) from exc
    return Printed(body, "application/pdf", f"{dossier.code}-{_NOTICE_FILES[notice.kind]}.pdf")


def _who(party: queries.Party) -> str:
    """"<station> – <name>", or the station alone when nobody is known."""
    return f"{party.station.name} – {party.name}" if party.name else party.station.name


def barcode_svg(dossier: Dossier) -> Printed:
    """The tracking number as a Code 128 SVG for pages that show it on screen."""
    import barcode
    from barcode.writer import SVGWriter

    buf = io.BytesIO()
    barcode.get("code128", dossier.tracking_number, writer=SVGWriter()).write(
        buf, options={"module_width": 0.3, "module_height": 12.0, "quiet_zone": 3.0,
                      "font_size": 8, "text_distance": 4.0})
    return Printed(buf.getvalue(), "image/svg+xml", f"{dossier.tracking_number}.svg")
