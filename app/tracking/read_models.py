"""What each audience may read of a dossier: one read model per audience, one privacy rule.

- :class:`PublicDossier`: anyone holding the code (the lookup API and page). Status, dates,
  verdict and a masked name; with the receipt secret also the step timeline, without staff
  names or any other personal data.
- :class:`DeviceDossier`: a scanner device, for its scan feedback. Where the file is, whether
  it is in transit and how much time is left, nothing personal: not even the names of its own
  office's staff (a device token sits on a counter PC; the sender of a transit is a name, so
  the device sees only where the file went and since when).
- :class:`StaffDossier`: staff whose scope covers the dossier. Everything, including the
  applicant and the control-sheet timeline with who gave and who received.

:func:`read_dossier` is the privacy rule: it picks the audience from the caller and builds the
matching model. The API, the HTML lookup and the scan feedback all read through it (or
through the builder it picks), so no other module decides who sees what.

Times are ISO 8601 in the office's timezone, as the office's paper forms show them.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated, Any, Literal, cast, overload

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    RootModel,
    SerializerFunctionWrapHandler,
    WithJsonSchema,
    model_serializer,
)

from app.auth.tokens import Principal
from app.offices.models import Office, Station
from app.procedures.operations import plan_of, procedure_name
from app.tracking import operations as ops
from app.tracking import queries
from app.tracking.models import Dossier, DossierStatus
from app.tracking.queries import Party, Standing, TimelineStep

OfficeTime = Annotated[
    dt.datetime,
    PlainSerializer(lambda value: value.isoformat(), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
Verdict = Literal["early", "on_time", "late", "within", "approaching"]
Interval = Literal["processing", "supplement", "payment", "pickup", "transit", "closed"]


class ReadModel(BaseModel):
    """A read model: built from the database once, never written back."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_json(self) -> dict[str, Any]:
        """The JSON body the API sends."""
        return self.model_dump(mode="json")


# --- parts ------------------------------------------------------------------------------------

class StationView(ReadModel):
    """A scan point: its code, name, kind and office."""

    code: str
    name: str
    kind: str
    office: str

    @classmethod
    def of(cls, station: Station) -> StationView:
        return cls(code=station.code, name=station.name, kind=station.kind.name.lower(),
                   office=station.office.code)


class ScanStationView(StationView):
    """A station the caller may scan at, with the actions it may scan there."""

    actions: list[str] = Field(description="Scan actions this caller may post here (sorted)")

    @classmethod
    def scanning(cls, station: Station, actions: frozenset[str]) -> ScanStationView:
        return cls(**StationView.of(station).model_dump(), actions=sorted(actions))


def _station(station: Station | None) -> StationView | None:
    return StationView.of(station) if station is not None else None


class OfficeRef(ReadModel):
    code: str
    name: str

    @classmethod
    def of(cls, office: Office) -> OfficeRef:
        return cls(code=office.code, name=office.name)


class PartyView(ReadModel):
    """One side of a handoff: the person (null when nobody is known) at a station."""

    name: str | None
    station: StationView

    @classmethod
    def of(cls, party: Party) -> PartyView:
        return cls(name=party.name or None, station=StationView.of(party.station))


class Transit(ReadModel):
    """The file is on its way: sent, not yet scanned again (no names)."""

    since: OfficeTime
    to_office: OfficeRef | None
    to_station: StationView | None
    age_hours: float = Field(description="Calendar hours since the send")
    age_working_hours: float = Field(description=(
        "Working hours since the send, on the sending office's calendar"))
    overdue: bool = Field(description="At least TRANSIT_ALERT_HOURS working hours")


def _transit(d: Dossier, now: Standing) -> Transit | None:
    if d.in_transit_since is None or d.current_station is None:
        return None
    age = queries.transit_age(d.in_transit_since, d.current_station.office_id, now.now)
    return Transit(since=d.in_transit_since.astimezone(now.calendar.tz),
                   to_office=OfficeRef.of(d.transit_to_office) if d.transit_to_office else None,
                   to_station=_station(d.transit_to_station), age_hours=age.hours,
                   age_working_hours=age.working_hours, overdue=age.overdue)


class ProcedureRef(ReadModel):
    code: str
    name: str


class StaffProcedure(ProcedureRef):
    version: int
    legal_duration: str


class PlanStepView(ReadModel):
    position: int
    name: str
    budget_hours: float


class PublicStep(ReadModel):
    """One handoff as the citizen may see it: where and when, never who."""

    number: int
    action: str
    at: OfficeTime
    from_station: StationView | None
    station: StationView
    step: PlanStepView | None
    left_at: OfficeTime | None
    spent_hours: float
    interval: Interval = Field(description=(
        "What the time until the next handoff was: processing (charged to the step), a wait "
        "for the citizen (supplement, payment: the clock is paused), the result awaiting "
        "pickup, or closed; only processing has a budget and a verdict"))
    interval_label: str
    charged_hours: float = Field(description="Of spent_hours, what is charged to the step")
    verdict: Verdict | None = Field(description=(
        "On the step's charged hours so far, across its rows, against its budget"))
    verdict_label: str | None
    flag: str | None


class StaffStep(PublicStep):
    """One handoff as the control sheet records it, with the people and both clocks."""

    giver: PartyView | None = Field(description=(
        "Bên giao: the holder of the previous stay (null for the intake)"))
    receiver: PartyView = Field(description="Bên nhận: who made this scan")
    scanned_at: OfficeTime
    received_at: OfficeTime
    device: int | None
    event_id: str
    note: str


class Applicant(ReadModel):
    name: str
    phone: str
    id_number: str
    address: str
    email: str


# --- the three audiences ----------------------------------------------------------------------

class _Status(ReadModel):
    """The fields every audience shares: where the file stands against its due date."""

    code: str
    status: str
    status_code: int
    status_label: str
    current_step: str | None = Field(description="Name of the station holding the file")
    received_at: OfficeTime
    due_at: OfficeTime
    finished_at: OfficeTime | None
    on_time: Verdict
    on_time_label: str


class ProgressStep(ReadModel):
    """One step of the procedure's plan and how far the file is: the citizen's progress bar."""

    position: int
    name: str
    state: Literal["done", "current", "todo"]


CitizenAction = Literal["bring_papers", "pay", "collect"]


class PublicDossier(_Status):
    """What anyone holding the code sees; the timeline only with the receipt secret."""

    procedure: ProcedureRef
    applicant: str = Field(description="Masked name, e.g. N*** T*** H***")
    progress: list[ProgressStep] = Field(description=(
        "The plan's steps, done / current / todo (no dates, no people)"))
    citizen_action: CitizenAction | None = Field(description=(
        "What the office awaits from the citizen: papers (a supplement), a payment, or the "
        "result is ready to collect"))
    timeline: list[PublicStep] | None = Field(
        default=None, description="Only with the receipt secret; never names anybody")

    @model_serializer(mode="wrap")
    def _without_absent_timeline(self, handler: SerializerFunctionWrapHandler) -> Any:
        # Absent, not null: without the secret the caller learns nothing about the steps.
        data = handler(self)
        if self.timeline is None:
            data.pop("timeline", None)
        return data


class DeviceDossier(ReadModel):
    """What a scanner's feedback needs, and nothing personal."""

    code: str
    tracking_number: str
    procedure: ProcedureRef
    station: StationView | None = Field(description="Where the file is now")
    status: str
    status_label: str
    due_at: OfficeTime
    working_hours_left: float | None
    on_time: Verdict
    on_time_label: str
    in_transit: Transit | None = Field(description="Sent and not scanned again since")


class StaffDossier(_Status):
    """Everything staff in scope may see, with the control-sheet timeline."""

    tracking_number: str
    procedure: StaffProcedure
    applicant: Applicant
    documents: list[str]
    copies: int
    receiving_office: str
    competent_office: str
    current_station: StationView | None
    holder: str | None
    returned_at: OfficeTime | None
    base_due_at: OfficeTime = Field(description=(
        "The first appointment; due_at is the current one (moved by waits for the citizen)"))
    paused_since: OfficeTime | None = Field(description="Since when the citizen is awaited")
    awaiting: list[Literal["supplement", "payment"]] = Field(
        description="What the office awaits from the citizen; the clock is paused meanwhile")
    paused_hours: float = Field(description="Working hours waited for the citizen so far")
    supplement_wait_hours: float = Field(description="The same as paused_hours (older name)")
    supplement_count: int = Field(description=(
        "Supplement requests made; more than one is late under Decision 766"))
    verdict_766: Literal["on_time", "late"] = Field(description=(
        "Decision 766/QĐ-TTg indicator 2.1 now: end of processing ≤ due date, waits "
        "subtracted, more than one supplement request late"))
    working_hours_left: float | None
    in_transit: Transit | None = Field(description=(
        "Sent and not scanned again since; the sender is the holder"))
    upstream: bool
    timeline: list[StaffStep]


class DossierRow(_Status):
    """One dossier of the staff list (``GET /dossiers``): where it stands, and whose it is.
    Staff only: it names the applicant."""

    tracking_number: str
    procedure: ProcedureRef
    applicant: str = Field(description="The applicant's full name")
    current_station: StationView | None


class DossierPage(ReadModel):
    """One page of the staff list, newest received first."""

    dossiers: list[DossierRow]
    page: int
    per_page: int
    total: int = Field(description="Dossiers matching, on every page")


AnyDossier = PublicDossier | DeviceDossier | StaffDossier


class DossierRead(RootModel[StaffDossier | DeviceDossier]):
    """What ``GET /dossiers/<reference>`` answers: the staff view for staff in scope, the
    device view for a scanner device (the OpenAPI document's one response model)."""


class ReissuedSecret(ReadModel):
    """A dossier's new receipt link, shown once to the reception desk that reissued it."""

    code: str
    lookup_url: str = Field(description="The public lookup link with the new secret")
    links: dict[str, str] = Field(description="receipt: where to reprint the receipt")


# --- builders ---------------------------------------------------------------------------------

def mask_name(name: str) -> str:
    """``Nguyễn Thị Hằng`` → ``N*** T*** H***``: enough to recognise one's own file."""
    return " ".join(part[0] + "***" for part in name.split())


def _status(d: Dossier, now: Standing) -> dict[str, Any]:
    tz = now.calendar.tz
    return {
        "code": d.code, "status": d.status.name.lower(), "status_code": d.status.value,
        "status_label": d.status.label,
        "current_step": d.current_station.name if d.current_station else None,
        "received_at": d.received_at.astimezone(tz), "due_at": d.due_at.astimezone(tz),
        "finished_at": _local(d.finished_at, now), "on_time": now.verdict,
        "on_time_label": queries.VERDICT_LABELS[now.verdict],
    }


def _local(value: dt.datetime | None, now: Standing) -> dt.datetime | None:
    return value.astimezone(now.calendar.tz) if value is not None else None


def _procedure(d: Dossier) -> ProcedureRef:
    procedure = procedure_name(d.procedure_version_id)  # cached: no load of the procedure
    return ProcedureRef(code=procedure.code, name=procedure.name)


def _public_steps(steps: list[TimelineStep], now: Standing) -> list[PublicStep]:
    return [PublicStep(**_step(number, s, now)) for number, s in enumerate(steps, start=1)]


def _step(number: int, s: TimelineStep, now: Standing) -> dict[str, Any]:
    plan = s.plan_step
    return {
        "number": number, "action": s.event.action.value,
        "at": s.arrived_at.astimezone(now.calendar.tz),
        "from_station": _station(s.giver.station if s.giver else None),
        "station": StationView.of(s.event.station),
        "step": (PlanStepView(position=plan.position, name=plan.name,
                              budget_hours=float(plan.budget_hours)) if plan else None),
        "left_at": _local(s.left_at, now),
        "spent_hours": round(s.spent.total_seconds() / 3600, 2),
        "interval": s.interval, "interval_label": queries.INTERVAL_LABELS[s.interval],
        "charged_hours": round(s.charged.total_seconds() / 3600, 2),
        "verdict": s.verdict, "verdict_label": queries.VERDICT_LABELS.get(s.verdict or ""),
        "flag": s.event.flag,
    }


def _awaiting(d: Dossier) -> list[Literal["supplement", "payment"]]:
    waits: list[Literal["supplement", "payment"]] = []
    if d.awaiting_supplement:
        waits.append("supplement")
    if d.awaiting_payment:
        waits.append("payment")
    return waits


def _progress(d: Dossier) -> list[ProgressStep]:
    def state(position: int) -> Literal["done", "current", "todo"]:
        if d.status is DossierStatus.RETURNED or position < d.plan_position:
            return "done"
        if position == d.plan_position and not d.status.closed:
            return "current"
        return "todo"

    return [ProgressStep(position=step.position, name=step.name, state=state(step.position))
            for step in plan_of(d.procedure_version_id)]


def _citizen_action(d: Dossier) -> CitizenAction | None:
    if d.awaiting_supplement:
        return "bring_papers"
    if d.awaiting_payment:
        return "pay"
    if d.status is DossierStatus.PROCESSED:
        return "collect"
    return None


def public_view(d: Dossier, now: Standing, *, with_timeline: bool = False) -> PublicDossier:
    """The public model; ``with_timeline`` only once the receipt secret was checked."""
    steps = (_public_steps(queries.timeline(d, now.calendar, now.now), now)
             if with_timeline else None)
    return PublicDossier(**_status(d, now), procedure=_procedure(d),
                         applicant=mask_name(d.applicant_name), progress=_progress(d),
                         citizen_action=_citizen_action(d), timeline=steps)


def device_view(d: Dossier, now: Standing | None = None) -> DeviceDossier:
    """The device model, also the dossier summary of each scan result."""
    now = now or queries.standing(d)
    return DeviceDossier(
        code=d.code, tracking_number=d.tracking_number, procedure=_procedure(d),
        station=_station(d.current_station), status=d.status.name.lower(),
        status_label=d.status.label, due_at=d.due_at.astimezone(now.calendar.tz),
        working_hours_left=queries.working_hours_left(d, now.calendar, now.now),
        on_time=cast(Verdict, now.verdict), on_time_label=queries.VERDICT_LABELS[now.verdict],
        in_transit=_transit(d, now))


def staff_view(d: Dossier, now: Standing) -> StaffDossier:
    """The staff model: everything, with the control-sheet timeline."""
    version = d.procedure_version
    steps = [StaffStep(**_step(number, s, now),
                       giver=PartyView.of(s.giver) if s.giver else None,
                       receiver=PartyView.of(s.receiver),
                       scanned_at=s.event.scanned_at.astimezone(now.calendar.tz),
                       received_at=s.event.received_at.astimezone(now.calendar.tz),
                       device=s.event.device_id, event_id=str(s.event.uuid), note=s.event.note)
             for number, s in enumerate(queries.timeline(d, now.calendar, now.now), start=1)]
    return StaffDossier(
        **_status(d, now), tracking_number=d.tracking_number,
        procedure=StaffProcedure(code=version.procedure.code, name=version.procedure.name,
                                 version=version.version,
                                 legal_duration=version.duration_text),
        applicant=Applicant(name=d.applicant_name, phone=d.applicant_phone,
                            id_number=d.applicant_id_number, address=d.applicant_address,
                            email=d.applicant_email),
        documents=[str(doc) for doc in d.documents], copies=d.copies,
        receiving_office=d.receiving_office.code, competent_office=d.competent_office.code,
        current_station=_station(d.current_station),
        holder=d.current_holder.full_name if d.current_holder else None,
        returned_at=_local(d.returned_at, now),
        base_due_at=d.base_due_at.astimezone(now.calendar.tz),
        paused_since=_local(d.paused_since, now), awaiting=_awaiting(d),
        paused_hours=float(d.paused_hours), supplement_wait_hours=float(d.paused_hours),
        supplement_count=d.supplement_count,
        verdict_766=cast(Any, queries.verdict_766(d, now.calendar, now.now)),
        working_hours_left=queries.working_hours_left(d, now.calendar, now.now),
        in_transit=_transit(d, now), upstream=d.upstream, timeline=steps)


def staff_row(d: Dossier, now: Standing) -> DossierRow:
    """The list's row: the status every audience shares, with the codes and the applicant."""
    return DossierRow(**_status(d, now), tracking_number=d.tracking_number,
                      procedure=_procedure(d), applicant=d.applicant_name,
                      current_station=_station(d.current_station))


# --- the privacy rule -------------------------------------------------------------------------

class Audience(enum.Enum):
    PUBLIC = "public"
    DEVICE = "device"
    STAFF = "staff"


def audience_of(principal: Principal | None, dossier: Dossier) -> Audience:
    """Who is reading: staff in scope see everything, a device only its scan feedback, and
    everybody else (anonymous, or out of scope) only what the code alone shows."""
    if principal is None or not ops.can_see(principal, dossier):
        return Audience.PUBLIC
    if principal.device is not None:
        return Audience.DEVICE
    return Audience.STAFF


@overload
def read_dossier(dossier: Dossier, principal: None, *,
                 secret: str | None = None) -> PublicDossier: ...
@overload
def read_dossier(dossier: Dossier, principal: Principal | None, *,
                 secret: str | None = None) -> AnyDossier: ...
def read_dossier(dossier: Dossier, principal: Principal | None, *,
                 secret: str | None = None) -> AnyDossier:
    """The dossier as ``principal`` may read it (``None``: an anonymous caller).

    ``secret`` is the receipt secret a public caller gave; when it matches, the public model
    carries the step timeline. Scanning never grants reading: a device gets the device model
    whatever else it may do.
    """
    now = queries.standing(dossier)
    audience = audience_of(principal, dossier)
    if audience is Audience.STAFF:
        return staff_view(dossier, now)
    if audience is Audience.DEVICE:
        return device_view(dossier, now)
    with_timeline = secret is not None and ops.check_lookup_secret(dossier, secret)
    return public_view(dossier, now, with_timeline=with_timeline)


# --- work queue and waiting-room board (app.tracking.worklist) ---------------------------------

class QueueRow(DossierRow):
    """One dossier of a work queue: the list's row, the working time left, the transit."""

    holder: str | None = Field(description="Who holds the file now")
    working_hours_left: float | None
    in_transit: Transit | None


class QueueCounts(ReadModel):
    held: int
    due_soon: int
    late: int
    in_transit: int


class WorkQueue(ReadModel):
    """What a staff member must act on (``GET /queue``), each list most urgent first and at
    most ``limit`` long; the counts are of every dossier."""

    counts: QueueCounts
    held: list[QueueRow] = Field(description="Open dossiers the caller holds now")
    late: list[QueueRow] = Field(description="Open dossiers of the caller's lists past due")
    due_soon: list[QueueRow] = Field(description=(
        "Open dossiers of the caller's lists within APPROACHING_DUE_HOURS of their due time"))
    in_transit: list[QueueRow] = Field(description="Files sent to the caller's offices")
    limit: int


def queue_row(d: Dossier, now: Standing) -> QueueRow:
    return QueueRow(**staff_row(d, now).model_dump(),
                    holder=d.current_holder.full_name if d.current_holder else None,
                    working_hours_left=queries.working_hours_left(d, now.calendar, now.now),
                    in_transit=_transit(d, now))


class BoardRow(ReadModel):
    """A result ready for pickup as the waiting room sees it: the code and a masked name."""

    code: str
    applicant: str = Field(description="Masked name, e.g. N*** T*** H***")
    ready_at: OfficeTime


class Board(ReadModel):
    """The waiting-room board of one office: public, nothing personal beyond masked names."""

    office: OfficeRef
    ready: list[BoardRow]
    received_today: int
    returned_today: int
    as_of: OfficeTime


def board_row(d: Dossier, tz: Any) -> BoardRow:
    assert d.finished_at is not None
    return BoardRow(code=d.code, applicant=mask_name(d.applicant_name),
                    ready_at=d.finished_at.astimezone(tz))
