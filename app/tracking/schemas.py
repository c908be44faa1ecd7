"""The tracking API's typed edge: request models, response models, and the JSON of dossiers.

Request models check shapes and bounds only; :func:`scan_commands` and the views turn them into
the operations' typed commands. Every text field is :data:`Text`-like: NFC, trimmed, bounded,
with control and invisible formatting characters refused.
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
import uuid
from collections.abc import Sequence
from typing import Annotated, Any, Literal

import pydantic
from flask import current_app, has_app_context
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from app.tracking import operations as ops
from app.tracking.codes import BadReference, parse_reference
from app.tracking.models import DossierStatus, ScanAction
from app.tracking.read_models import DeviceDossier, ScanStationView, device_view

# --- shared field types -----------------------------------------------------------------------

# Invisible characters that have a use inside words (joiners of Indic scripts and emoji).
_ALLOWED_FORMAT = {"\u200c", "\u200d"}
_REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Zl", "Zp"}


def _clean(value: Any, *, multiline: bool) -> Any:
    """NFC, trimmed; control, surrogate and invisible formatting characters refused.

    Refused rather than stripped: a NUL or a bidi override in a name is a broken client or a
    spoof, and the caller should hear about it. Multiline fields keep newlines and tabs.
    """
    if not isinstance(value, str):
        return value  # the str validator names the wrong type
    value = unicodedata.normalize("NFC", value).strip()
    for char in value:
        if unicodedata.category(char) in _REFUSED_CATEGORIES and char not in _ALLOWED_FORMAT \
                and not (multiline and char in "\n\t"):
            msg = (f"must not contain control or invisible formatting characters "
                   f"(U+{ord(char):04X} found)")
            raise PydanticCustomError("control_character", msg)
    return value


def _printable(value: Any) -> Any:
    """Text that goes on the receipt or the control sheet: the fonts must draw it."""
    if isinstance(value, str) and value:
        from app.tracking.printing import unprintable

        bad = unprintable(value)
        if bad is not None:
            msg = f"has a character the printed forms cannot show (U+{ord(bad):04X})"
            raise PydanticCustomError("unprintable", msg)
    return value


def _single_line(value: Any) -> Any:
    return _clean(value, multiline=False)


def _multiline(value: Any) -> Any:
    return _clean(value, multiline=True)


_TEXT_NOTE = "NFC-normalized and trimmed; control characters are refused."
Code = Annotated[str, StringConstraints(min_length=1, max_length=32),
                 BeforeValidator(_single_line), Field(description="A code. " + _TEXT_NOTE)]
Text32 = Annotated[str, StringConstraints(max_length=32), BeforeValidator(_single_line)]
Text64 = Annotated[str, StringConstraints(max_length=64), BeforeValidator(_single_line)]
Reference = Annotated[str, StringConstraints(min_length=1, max_length=512),
                      BeforeValidator(_single_line)]
Note = Annotated[str, StringConstraints(max_length=500), BeforeValidator(_multiline)]
# Printed on the receipt (Mẫu 01) or the control sheet (Mẫu 05): bounded as the forms are.
PrintedName = Annotated[str, StringConstraints(min_length=1, max_length=100),
                        BeforeValidator(_single_line), AfterValidator(_printable)]


Printed30 = Annotated[str, StringConstraints(max_length=30), BeforeValidator(_single_line),
                      AfterValidator(_printable)]
Printed64 = Annotated[str, StringConstraints(max_length=64), BeforeValidator(_single_line),
                      AfterValidator(_printable)]
Printed100 = Annotated[str, StringConstraints(max_length=100), BeforeValidator(_single_line),
                       AfterValidator(_printable)]
Printed200 = Annotated[str, StringConstraints(max_length=200), BeforeValidator(_single_line),
                       AfterValidator(_printable)]
Printed250 = Annotated[str, StringConstraints(max_length=250), BeforeValidator(_single_line),
                       AfterValidator(_printable)]
Printed300 = Annotated[str, StringConstraints(max_length=300), BeforeValidator(_single_line),
                       AfterValidator(_printable)]
PrintedNote = Annotated[str, StringConstraints(max_length=500), BeforeValidator(_multiline),
                        AfterValidator(_printable)]
LayoutText = Annotated[str, StringConstraints(min_length=1, max_length=2000),
                       BeforeValidator(_single_line)]

# Raw device and upstream times must be representable with room for clock correction.
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)


def _iso_string(value: Any) -> Any:
    if not isinstance(value, str):
        raise PydanticCustomError("datetime_type", "must be an ISO 8601 string with a UTC offset")
    return value.strip()


def _sane_time(value: dt.datetime) -> dt.datetime:
    try:
        utc = value.astimezone(dt.UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise PydanticCustomError("bad_time", "must lie between 1970 and 2200")
    return utc


Time = Annotated[AwareDatetime, BeforeValidator(_iso_string), AfterValidator(_sane_time),
                 Field(description="ISO 8601 with a UTC offset, between 1970 and 2200")]
Seq = Annotated[int, pydantic.Strict(), Field(ge=0, le=2**63 - 1)]
Fee = Annotated[int, pydantic.Strict(), Field(ge=0, le=10**13)]
Copies = Annotated[int, pydantic.Strict(), Field(ge=1, le=100)]
StartPosition = Annotated[int, pydantic.Strict(), Field(ge=1, le=500)]


class _In(BaseModel):
    """Request models: unknown keys are ignored (older and newer clients keep working)."""

    model_config = ConfigDict(extra="ignore", frozen=True)


# --- scans ------------------------------------------------------------------------------------

def _action(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


RejectionReason = Literal["malformed", "bad_time", "bad_check_digit", "unrecognized_code",
                          "unknown_code", "station_not_allowed", "no_station", "out_of_scope",
                          "action_not_allowed", "unknown_destination"]
"""Why an event may be rejected (``out_of_scope``, ``action_not_allowed``: scope rules).
A new reason must be added here: the response model refuses any other."""
REJECTION_REASONS: tuple[str, ...] = RejectionReason.__args__  # type: ignore[attr-defined]
ActorFlag = Literal["unknown_actor", "foreign_actor"]
"""Why an accepted event was recorded without the person it names (``ops.ACTOR_FLAGS``)."""


class ScanEventIn(_In):
    """One handoff scan as a scanner agent or a staff page sends it."""

    id: uuid.UUID = Field(description="Idempotency key, generated by the client")
    code: Reference = Field(description="Tracking number, official code or receipt QR URL")
    scanned_at: Time = Field(description="Device clock at the scan")
    sent_at: Time | None = Field(None, description="Device clock at this send attempt; lets "
                                                   "the server correct a device clock that is off")
    station: Code | None = Field(None, description="Defaults to the device's first station")
    action: Annotated[ScanAction, BeforeValidator(_action)] | None = None
    destination: Code | None = Field(None, description="Office or station the dossier is sent "
                                                       "to (action send)")
    actor: Printed64 = Field("", description="Staff badge or username")
    seq: Seq | None = Field(None, description="Per-device sequence number")
    note: PrintedNote = ""


def _batch_limit(schema: dict[str, Any]) -> None:
    if has_app_context():
        schema["maxItems"] = current_app.config["MAX_SCAN_BATCH"]


RawEvent = Annotated[Any, WithJsonSchema({"$ref": "#/components/schemas/ScanEventIn"})]


class ScanBatchIn(_In):
    """A batch of scans. Each event is checked alone: one bad event is rejected in its result,
    never the batch. At most ``MAX_SCAN_BATCH`` events (413 beyond)."""

    events: list[RawEvent] = Field(min_length=1, json_schema_extra=_batch_limit)


def _event_id(raw: Any) -> str | None:
    value = raw.get("id") if isinstance(raw, dict) else None
    if isinstance(value, str):
        return value[:64]
    return None


def scan_command(raw: Any) -> ops.ScanCommand | ops.RejectedScan:
    """One event as a typed command, or its rejection (``malformed``, ``bad_time``,
    ``bad_check_digit``, ``unrecognized_code``)."""
    try:
        event = ScanEventIn.model_validate(raw)
    except pydantic.ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        reason = "bad_time" if all(e["type"] == "bad_time" for e in errors) else "malformed"
        message = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'event'}: {e['msg']}"
                            for e in errors[:5])
        return ops.RejectedScan(_event_id(raw), reason, message)
    try:
        ref = parse_reference(event.code)
    except BadReference as exc:
        return ops.RejectedScan(str(event.id), exc.reason, exc.message)
    return ops.ScanCommand(
        id=event.id, ref=ref, code_raw=event.code, scanned_at=event.scanned_at,
        sent_at=event.sent_at, station_code=event.station.upper() if event.station else None,
        action=event.action, actor=event.actor, seq=event.seq, note=event.note,
        destination=event.destination.upper() if event.destination else None)


def scan_commands(events: Sequence[Any]) -> list[ops.ScanCommand | ops.RejectedScan]:
    return [scan_command(raw) for raw in events]


class ScanResultOut(BaseModel):
    id: str | None = Field(description="The event's id as sent (null if it had none)")
    status: Literal["accepted", "duplicate", "rejected"]
    reason: RejectionReason | None = Field(None, description="Why it was rejected")
    message: str
    flag: str | None = Field(None, description="after_close, off_plan, before_receipt, ...")
    actor_flag: ActorFlag | None = Field(None, description=(
        "The event named a badge or username of nobody active (unknown_actor) or of another "
        "office's staff (foreign_actor): recorded all the same, without a person"))
    actor_name: str | None = Field(None, description=(
        "The full name of the staff member the event named, who belongs to the caller's "
        "office: the name printed on their badge card, never a citizen's data"))
    dossier: DeviceDossier | None = Field(None, description="What the scanner may show of the "
                                                            "dossier: nothing personal")

    @classmethod
    def of(cls, result: ops.ScanResult) -> ScanResultOut:
        summary = None
        if result.dossier is not None and result.status != "rejected":
            summary = device_view(result.dossier)
        return cls(id=result.id, status=result.status,  # type: ignore[arg-type]
                   reason=result.reason,  # type: ignore[arg-type]
                   message=result.message, flag=result.flag,
                   actor_flag=result.actor_flag,  # type: ignore[arg-type]
                   actor_name=result.actor.full_name if result.actor else None,
                   dossier=summary)

    def as_json(self) -> dict[str, Any]:
        # Absent rather than null, as before: id and message always, the rest when set (the
        # dossier's own fields as its model says: a finished one has no hours left, null).
        body = self.model_dump(mode="json")
        return {key: value for key, value in body.items() if value is not None or key == "id"}


class ScanBatchOut(BaseModel):
    results: list[ScanResultOut] = Field(description="One result per event, in order")


# --- intake -----------------------------------------------------------------------------------

class ApplicantIn(_In):
    """The applicant as the receipt shows them (its bounds are the form's)."""

    name: PrintedName
    phone: Printed30 | None = None
    id_number: Text32 | None = None
    address: Printed250 | None = None
    email: Printed200 | None = None


class IntakeIn(_In):
    """Receive a dossier at the desk, or follow one registered in the one-door system
    (``code`` and ``received_at`` together, and the appointment it gave, ``due_at``, if any)."""

    procedure: Code = Field(description="Procedure code, e.g. 1.001193")
    procedure_version: Annotated[int, pydantic.Strict(), Field(ge=1, le=10_000)] | None = None
    applicant: ApplicantIn
    documents: list[Printed300] = Field(default_factory=list, max_length=60)
    copies: Copies = 1
    competent_office: Code | None = Field(None, description="Agency code")
    station: Code | None = Field(None, description="Reception station; default the office's")
    return_method: Printed100 | None = None
    note: Note | None = None
    fee: Fee | None = Field(None, description=(
        "Fees and charges in đồng for this dossier (0: none), printed on the receipt; "
        "default: the procedure version's"))
    code: Annotated[str, StringConstraints(min_length=1, max_length=40),
                    BeforeValidator(_single_line)] | None = Field(
        None, description="Official code registered upstream")
    received_at: Time | None = Field(None, description="Upstream received time (with code); "
                                                       "not older than SCAN_MAX_AGE_DAYS")
    due_at: Time | None = Field(None, description=(
        "The appointment the one-door system gave (with code and received_at): kept instead of "
        "one computed from the procedure's duration; after received_at, at most "
        f"{ops.MAX_APPOINTMENT_DAYS} days later"))

    @pydantic.field_validator("due_at")
    @classmethod
    def _appointment(cls, value: dt.datetime | None,
                     info: pydantic.ValidationInfo) -> dt.datetime | None:
        if value is None:
            return value
        if "received_at" not in info.data:
            return value  # received_at was refused already; its error says why
        received = info.data["received_at"]
        if info.data.get("code") is None or received is None:
            msg = "due_at is only for a dossier registered upstream (with code and received_at)"
            raise PydanticCustomError("bad_due_at", msg)
        if value <= received:
            raise PydanticCustomError("bad_due_at", "must be after received_at")
        if value > received + dt.timedelta(days=ops.MAX_APPOINTMENT_DAYS):
            msg = f"must be at most {ops.MAX_APPOINTMENT_DAYS} days after received_at"
            raise PydanticCustomError("bad_due_at", msg)
        return value

    @pydantic.model_validator(mode="after")
    def _upstream_pair(self) -> IntakeIn:
        if (self.code is None) != (self.received_at is None):
            msg = "a dossier registered upstream needs both code and received_at"
            raise ValueError(msg)
        return self


class IntakeLinksOut(BaseModel):
    self: str
    receipt: str
    label: str
    label_zpl: str
    control_sheet: str
    print_jobs: str = Field(description="POST here to print the label at a station's agent")


class IntakeOut(BaseModel):
    created: bool
    code: str
    tracking_number: str
    received_at: str = Field(json_schema_extra={"format": "date-time"})
    due_at: str = Field(json_schema_extra={"format": "date-time"})
    status: str
    lookup_url: str | None = Field(default=None, description=(
        "Public lookup link with the receipt secret: only when the dossier was created now"))
    links: IntakeLinksOut


# --- corrections after intake -----------------------------------------------------------------

class ApplicantPatchIn(_In):
    """The applicant's fields to correct; a field left out stays as it is ("" clears it)."""

    name: PrintedName | None = None
    phone: Printed30 | None = None
    id_number: Text32 | None = None
    address: Printed250 | None = None
    email: Printed200 | None = None


class CorrectionIn(_In):
    """Correct the applicant or the documents received after intake; the receipt is then
    reprinted. ``documents`` is the whole new list."""

    applicant: ApplicantPatchIn | None = None
    documents: list[Printed300] | None = Field(None, max_length=60)
    reason: Printed250 = Field("", description="Why, for the record")

    def command(self) -> ops.CorrectionCommand:
        a = self.applicant or ApplicantPatchIn()
        documents = None if self.documents is None else tuple(d for d in self.documents if d)
        return ops.CorrectionCommand(name=a.name, phone=a.phone, id_number=a.id_number,
                                     address=a.address, email=a.email, documents=documents,
                                     reason=self.reason)


class CorrectionLinksOut(BaseModel):
    receipt: str = Field(description="The receipt with the corrected data, to reprint")


class CorrectionOut(BaseModel):
    code: str
    changed: list[str] = Field(description=(
        "The fields changed (applicant_name, applicant_phone, applicant_id_number, "
        "applicant_address, applicant_email, documents); empty: nothing changed, nothing "
        "recorded"))
    corrected_at: str | None = Field(None, json_schema_extra={"format": "date-time"})
    corrected_by: str | None = None
    links: CorrectionLinksOut


# --- notices (Mẫu 02, 03, 04) -------------------------------------------------------------------

Reason = Annotated[str, StringConstraints(min_length=1, max_length=1000),
                   BeforeValidator(_single_line), AfterValidator(_printable),
                   Field(description="Printed on the form. " + _TEXT_NOTE)]


class MissingPaperIn(_In):
    """One paper to add or complete, and which copy is asked for."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=300),
                    BeforeValidator(_single_line), AfterValidator(_printable)]
    kind: Literal["original", "certified", "photo"] = Field(
        "original", description="Bản chính (original), bản chứng thực (certified) or bản photo")


class SupplementRequestIn(_In):
    """Mẫu 02: the papers the citizen must add or complete, and why."""

    items: list[MissingPaperIn] = Field(min_length=1, max_length=60)
    reason: Reason


class RefusalIn(_In):
    """Mẫu 03: why the desk does not accept the dossier."""

    reason: Reason


class ApologyIn(_In):
    """Mẫu 04: why the result is late, and the new appointment (later than the current)."""

    reason: Reason
    new_due_at: Time


class NoticeLinksOut(BaseModel):
    pdf: str = Field(description="The form to print (and reprint)")
    receipt: str | None = Field(None, description="The receipt, which shows a moved "
                                                  "appointment as \"Hẹn lại\"")


class NoticeOut(BaseModel):
    """A recorded notice."""

    code: str
    form: Literal["02", "03", "04"]
    issued_at: str = Field(json_schema_extra={"format": "date-time"})
    status: str = Field(description="The dossier's status after it")
    due_at: str = Field(json_schema_extra={"format": "date-time"},
                        description="The dossier's appointment in force")
    links: NoticeLinksOut


# --- labels -----------------------------------------------------------------------------------

Millimetres = Annotated[float, Field(gt=0, le=1000, allow_inf_nan=False)]
Offset = Annotated[float, Field(ge=-20, le=20, allow_inf_nan=False)]


class LayoutIn(_In):
    """A label grid or roll: a preset in ``base`` with overrides, or a grid from scratch."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base: Code | None = None
    kind: Literal["sheet", "roll"] | None = None
    columns: Annotated[int, pydantic.Strict(), Field(ge=1, le=50)] | None = None
    rows: Annotated[int, pydantic.Strict(), Field(ge=1, le=50)] | None = None
    label_width_mm: Millimetres | None = None
    label_height_mm: Millimetres | None = None
    pitch_x_mm: Millimetres | None = None
    pitch_y_mm: Millimetres | None = None
    margin_left_mm: Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)] | None = None
    margin_top_mm: Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)] | None = None
    offset_x_mm: Offset | None = None
    offset_y_mm: Offset | None = None
    page_width_mm: Millimetres | None = None
    page_height_mm: Millimetres | None = None
    padding_mm: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)] | None = None
    dpi: Annotated[int, pydantic.Strict(), Field(ge=150, le=600)] | None = None
    min_module_dots: Annotated[int, pydantic.Strict(), Field(ge=1, le=20)] | None = None
    name: Text64 | None = None

    def spec(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump(exclude_none=True).items()
                if not (isinstance(v, float) and not math.isfinite(v))}


MAX_LABELS_PER_JOB = 1000


class BulkLabelsIn(_In):
    """Labels for many dossiers; at most 1000 labels in one job (dossiers × copies)."""

    dossiers: list[Reference] = Field(min_length=1, max_length=1000,
                                      description="Codes or tracking numbers")
    layout: LayoutText | LayoutIn | None = Field(
        None, description="Preset name (thermal-50x30, a4-65, ...) or a grid object")
    printer: Literal["pdf", "zpl"] | None = None
    copies: Copies = 1
    start_position: StartPosition = 1
    with_2d: Annotated[bool, pydantic.Strict()] = False

    @pydantic.model_validator(mode="after")
    def _job_size(self) -> BulkLabelsIn:
        if len(self.dossiers) * self.copies > MAX_LABELS_PER_JOB:
            msg = f"at most {MAX_LABELS_PER_JOB} labels in one job (dossiers × copies)"
            raise ValueError(msg)
        return self

    def layout_spec(self) -> str | None:
        import json

        if isinstance(self.layout, LayoutIn):
            return json.dumps(self.layout.spec())
        return self.layout


class LabelQuery(_In):
    layout: LayoutText | None = Field(
        None, description="Preset (thermal-50x30, a4-65, ...) or JSON grid; default: office's")
    copies: Annotated[int, Field(ge=1, le=100)] = Field(1, description="Copies of the label")
    start: Annotated[int, Field(ge=1, le=500)] = Field(
        1, description="First free slot on a partly used sheet")
    with_2d: bool = Field(False, description="Add a QR of the official code")


class ZplLabelQuery(_In):
    layout: LayoutText | None = Field(
        None, description="Preset (thermal-50x30, a4-65, ...) or JSON grid; default: office's")
    copies: Annotated[int, Field(ge=1, le=100)] = Field(1, description="Copies of the label")
    with_2d: bool = Field(False, description="Add a QR of the official code")


def _statuses(value: Any) -> Any:
    """``in_progress,supplement_requested`` or national codes ``4,5`` → the statuses."""
    if not isinstance(value, str):
        return value
    names = {s.name.lower(): s for s in DossierStatus} | {str(s.value): s for s in DossierStatus}
    wanted = [part.strip().lower() for part in value.split(",") if part.strip()]
    unknown = [part for part in wanted if part not in names]
    if unknown:
        msg = f"unknown status {unknown[0][:32]!r}; use names like in_progress or codes 1–10"
        raise PydanticCustomError("bad_status", msg)
    return frozenset(names[part] for part in wanted)


class DossierListQuery(_In):
    q: Annotated[str, StringConstraints(max_length=100), BeforeValidator(_single_line)] \
        | None = Field(None, description=(
            "Part of the code or of the applicant's name (diacritics optional: \"nguyen van "
            "a\" finds \"Nguyễn Văn A\"); digits also match the tracking number and the "
            "phone"))
    status: Annotated[frozenset[DossierStatus] | None, BeforeValidator(_statuses),
                      WithJsonSchema({"type": "string"})] = Field(
        None, description="Comma-separated statuses (in_progress, ...) or codes (4, ...)")
    station: Text32 | None = Field(None, description="Code of the station holding the file")
    overdue: bool | None = Field(None, description=(
        "true: open and past the due time; false: all others"))
    page: int = Field(1, ge=1, le=1_000_000)
    per_page: int = Field(20, ge=1, le=100)


class LookupQuery(_In):
    t: Text64 | None = Field(None, description="Secret printed in the receipt QR")


# --- reading (loosely typed where the read models will replace them) --------------------------

class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorOut(BaseModel):
    error: ErrorBody


class StationsOut(BaseModel):
    stations: list[ScanStationView]


class ProcedureStepOut(BaseModel):
    position: int
    name: str
    station: str | None
    station_kind: str | None
    budget_hours: float


class ProcedureOut(BaseModel):
    code: str
    name: str
    short_name: str | None
    field: str | None
    version: int
    legal_duration: str
    steps: list[ProcedureStepOut]


class ProceduresOut(BaseModel):
    procedures: list[ProcedureOut]


class OpenAPIOut(BaseModel):
    """This document."""

    model_config = ConfigDict(extra="allow")

    openapi: str


def iso(value: dt.datetime | None, tz: Any = None) -> str | None:
    if value is None:
        return None
    return (value.astimezone(tz) if tz is not None else value).isoformat()
