"""HTTP API of check-in: kiosk and reception, display board, agents, customers, supervisors.

Every "now" is ``runtime.clock.now()`` (tests move it). Commands run in one transaction:
events, outbox, command-side indexes and timers commit together; a refused command (409)
writes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, time
from typing import Annotated, Any, TypeVar
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Path, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.events.checkin import ActingFor, Intake, RoutingMatch, WaitEstimate
from contracts.events.checkin_agents import AgentStatus, ChannelLimits
from contracts.events.checkin_sites import DeskKind, OpeningHours, QueueSettings
from contracts.vocabulary import (
    E164_PATTERN,
    AccessibilityNeed,
    Channel,
    LanguagePreference,
    ProblemCategory,
)
from contracts.vocabulary import ServiceQueue as Queue
from runtime.auth import STAFF_ROLES, Forbidden, Principal, require_roles
from runtime.errors import ConcurrencyConflict, NotFound, RuleViolation
from runtime.eventstore import CommandContext
from runtime.http import IdempotencyKey, fingerprint, idempotent
from runtime.service import Runtime, ServiceRuntime
from services.checkin import application, appointments, assignment, queries
from services.checkin.domain.agents import (
    Agent,
    EndBreak,
    SetProfile,
    SignIn,
    SignOut,
    TakeBreak,
)
from services.checkin.domain.sites import AddDesk, CloseQueue, ConfigureSite, OpenQueue, Site
from services.checkin.domain.tickets import (
    DEFAULT_QUEUE,
    CallTicket,
    Command,
    CompleteTicket,
    LeaveQueue,
    MarkNoShow,
    ParkTicket,
    RecallTicket,
    RequestCallback,
    ReturnTicket,
    StartServing,
    Ticket,
    TicketStatus,
    TransferTicket,
)
from services.checkin.phones import load_settings as load_phone_settings
from services.checkin.phones import phone_ref

router = APIRouter()

ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
T = TypeVar("T")
COMMAND_ATTEMPTS = 3

IssuerRoles = require_roles("customer", "agent", "supervisor", "admin", "service")
StaffRoles = require_roles(*STAFF_ROLES)
DeskRoles = require_roles("agent", "specialist", "supervisor")
SupervisorRoles = require_roles("supervisor", "admin")
BoardRoles = require_roles(*STAFF_ROLES, "service")

TicketId = Annotated[UUID, Path(description="Ticket id")]
SiteId = Annotated[str, Path(max_length=64, pattern=ID)]
AgentId = Annotated[str, Path(max_length=200)]


# -- models -----------------------------------------------------------------------------------


class IntakeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    problem_category: ProblemCategory
    account_ref: str = Field(min_length=1, max_length=100)
    contact_phone: str | None = Field(
        default=None, pattern=E164_PATTERN, examples=["+8613800138000"]
    )
    language: LanguagePreference
    accessibility_needs: list[AccessibilityNeed] = Field(default_factory=list, max_length=4)
    acting_for: ActingFor | None = None
    description: str | None = Field(default=None, max_length=2000)


class IssueTicketRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site_id: str = Field(min_length=1, max_length=64, examples=["shenzhen-01"])
    channel: Channel = Channel.WALK_IN
    queue: Queue | None = Field(
        default=None, description="Defaults to the queue of the problem category."
    )
    customer_id: str | None = Field(
        default=None, max_length=200, description="Staff only: the customer the ticket is for."
    )
    intake: IntakeRequest
    appointment_id: UUID | None = Field(
        default=None,
        description="Check in for this booked appointment (same person, site and queue, within "
        "its window): served ahead of walk-ins while in its window.",
    )
    screening_confirmed: bool = Field(
        default=False,
        description="Walk-in, staff only: I confirm the visitor passed the security screening "
        "(recorded with my id on the ticket; required where the site requires screening).",
    )


class TicketView(BaseModel):
    ticket_id: UUID
    number: str
    site_id: str
    queue: Queue
    channel: Channel
    status: TicketStatus
    customer_id: str | None
    issued_at: AwareDatetime
    desk_id: str | None = None
    called_at: AwareDatetime | None = None
    agent_id: str | None = None
    serving_started_at: AwareDatetime | None = None
    ended_at: AwareDatetime | None = None
    recalls: int = 0
    transfers: int = 0
    required_skill: str | None = None
    escalated: bool = False
    callback_requested: bool = False
    service_day: str | None = None
    estimate: WaitEstimate | None = Field(
        default=None, description="While waiting: position and wait, estimated now."
    )


class CalledView(TicketView):
    match: RoutingMatch | None = None


class CallRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    desk_id: str = Field(min_length=1, max_length=64)


class ReasonRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(default=None, max_length=200)


class CompleteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    resolution: str | None = Field(default=None, max_length=100)


class TransferRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to_queue: Queue
    required_skill: str | None = Field(default=None, min_length=1, max_length=64)
    reason: str | None = Field(default=None, max_length=200)


class QueueCount(BaseModel):
    queue: Queue
    waiting: int
    oldest_issued_at: AwareDatetime | None


class SiteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    timezone: str = Field(min_length=1, max_length=64, examples=["Asia/Shanghai"])
    opening_hours: list[OpeningHours] = Field(default_factory=list, max_length=50)
    queues: list[QueueSettings] = Field(min_length=1, max_length=len(Queue))
    estimate_margin_minutes: int = Field(default=5, ge=1, le=120)
    screening_required: bool = Field(
        default=False, description="Walk-ins only through reception confirming the screening."
    )
    ivr_menu: dict[str, Queue] | None = Field(
        default=None,
        max_length=12,
        description="The phone menu: key (0-9, * or #) -> queue; absent: the standard menu.",
        examples=[{"1": "account_security", "2": "wallet_payments", "9": "general"}],
    )


class OpeningHoursView(BaseModel):
    weekday: int
    opens: time
    closes: time


class SiteView(BaseModel):
    site_id: str
    name: str | None
    timezone: str
    opening_hours: list[OpeningHoursView]
    queues: list[QueueSettings]
    desks: dict[str, dict[str, str | None]]
    open_now: bool
    next_opening: AwareDatetime | None
    closed_today: list[Queue]
    screening_required: bool = False
    ivr_menu: dict[str, Queue] = Field(default_factory=dict)


class DeskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    desk_id: str = Field(pattern=ID)
    kind: DeskKind = DeskKind.COUNTER
    location: str | None = Field(default=None, max_length=120)


class ProfileRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    queues: list[Queue] = Field(min_length=1, max_length=len(Queue))
    specialist_skills: list[str] = Field(default_factory=list, max_length=20)
    languages: list[LanguagePreference] = Field(min_length=1, max_length=10)
    limits: ChannelLimits = Field(default_factory=ChannelLimits)


class SignInRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    site_id: str = Field(min_length=1, max_length=64)
    desk_id: str = Field(min_length=1, max_length=64)


class AgentView(BaseModel):
    agent_id: str
    status: AgentStatus
    queues: list[Queue]
    specialist_skills: list[str]
    languages: list[LanguagePreference]
    limits: ChannelLimits
    site_id: str | None
    desk_id: str | None
    remote: bool
    ticket_id: UUID | None
    status_since: AwareDatetime | None


# -- helpers ----------------------------------------------------------------------------------


def _view(ticket: Ticket, estimate: WaitEstimate | None = None) -> TicketView:
    if ticket.status is TicketStatus.NOT_ISSUED or ticket.issued_at is None:
        raise NotFound("no such ticket")
    return TicketView(
        ticket_id=ticket.ticket_id,  # type: ignore[arg-type]
        number=ticket.number or "",
        site_id=ticket.site_id or "",
        queue=ticket.queue,  # type: ignore[arg-type]
        channel=ticket.channel,  # type: ignore[arg-type]
        status=ticket.status,
        customer_id=ticket.customer_id,
        issued_at=ticket.issued_at,
        desk_id=ticket.desk_id,
        called_at=ticket.called_at,
        agent_id=ticket.agent_id,
        serving_started_at=ticket.serving_started_at,
        ended_at=ticket.ended_at,
        recalls=ticket.recalls,
        transfers=ticket.transfers,
        required_skill=ticket.required_skill,
        escalated=ticket.escalated,
        callback_requested=ticket.callback_requested,
        service_day=ticket.service_day.isoformat() if ticket.service_day else None,
        estimate=estimate,
    )


def _agent_view(agent: Agent) -> AgentView:
    if not agent.known:
        raise NotFound("no such agent")
    return AgentView(
        agent_id=agent.agent_id or "",
        status=agent.status,
        queues=sorted(agent.queues),
        specialist_skills=sorted(agent.specialist_skills),
        languages=list(agent.languages),
        limits=agent.limits,
        site_id=agent.site_id,
        desk_id=agent.desk_id,
        remote=agent.remote,
        ticket_id=agent.ticket_id,
        status_since=agent.status_since,
    )


def _site_view(site: Site, now: datetime) -> SiteView:
    if not site.configured:
        raise NotFound("no such site")
    return SiteView(
        site_id=site.site_id or "",
        name=site.name,
        timezone=site.timezone,
        opening_hours=[
            OpeningHoursView(weekday=h.weekday, opens=h.opens, closes=h.closes)
            for h in site.opening_hours
        ],
        queues=list(site.queues.values()),
        desks={
            desk_id: {"kind": desk.kind.value, "location": desk.location}
            for desk_id, desk in sorted(site.desks.items())
        },
        open_now=site.is_open(now),
        next_opening=site.next_opening(now),
        closed_today=sorted(q for q in site.queues if site.queue_closed_today(q, now)),
        screening_required=site.screening_required,
        ivr_menu=dict(sorted(site.ivr_menu.items())),
    )


async def _in_transaction(
    runtime: ServiceRuntime, act: Callable[[asyncpg.Connection], Awaitable[T]]
) -> T:
    """Run a command in one transaction. A concurrent append to the same stream (typically
    the re-estimation reaction announcing a new wait) makes it decide again on the fresh
    state, up to three times; what is then illegal is refused with its reason."""
    for attempt in range(1, COMMAND_ATTEMPTS + 1):
        try:
            async with runtime.pool.acquire() as conn, conn.transaction():
                return await act(conn)
        except ConcurrencyConflict:
            if attempt == COMMAND_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _context(principal: Principal) -> CommandContext:
    return CommandContext.new(principal.actor())


def _is_supervisor(principal: Principal) -> bool:
    return principal.has_any("supervisor", "admin")


def _require_self_or_supervisor(principal: Principal, agent_id: str) -> None:
    if principal.id != agent_id and not _is_supervisor(principal):
        raise Forbidden("agents act only for themselves; supervisors for anyone")


async def _live_estimate(runtime: ServiceRuntime, ticket: Ticket) -> WaitEstimate | None:
    if ticket.status is not TicketStatus.WAITING or ticket.queue is None:
        return None
    async with runtime.pool.acquire() as conn:
        site = await application.load_site(conn, runtime.store, ticket.site_id or "")
        estimates = await application.estimate_queue(
            conn, site, ticket.site_id or "", ticket.queue, runtime.clock.now()
        )
    return estimates.get(ticket.ticket_id)  # type: ignore[arg-type]


# -- tickets: kiosk, reception, customers ----------------------------------------------------


def _virtual_queue_intake(principal: Principal, intake: IntakeRequest) -> IntakeRequest:
    """A place in the virtual queue is tied to a phone number the platform verified, so that
    numbers cannot be hoarded or resold: a customer joins with the number their sign-in proved
    (the token's ``phone_number`` with ``phone_number_verified``), and notices go to it. Staff
    placing a caller in the virtual queue give the number the caller is reached on."""
    if principal.is_staff:
        if intake.contact_phone is None:
            raise RuleViolation("the virtual queue needs the phone number the person is told on")
        return intake
    if principal.verified_phone is None:
        raise Forbidden(
            "the virtual queue needs a phone number verified by the platform's sign-in "
            "(sign in again with your phone number)"
        )
    if intake.contact_phone not in (None, principal.verified_phone):
        raise RuleViolation(
            "the virtual queue is tied to the phone number verified on your sign-in: leave "
            "contact_phone out, or give that number"
        )
    return intake.model_copy(update={"contact_phone": principal.verified_phone})


@router.post(
    "/tickets",
    status_code=201,
    response_model=TicketView,
    summary="Issue a ticket",
    tags=["tickets"],
)
async def issue_ticket(
    body: IssueTicketRequest,
    runtime: Runtime,
    principal: Annotated[Principal, IssuerRoles],
    idempotency_key: IdempotencyKey = None,
) -> object:
    """Kiosk, reception (after the security screening), the customer app (virtual queue) or a
    remote channel. 409 when the site is closed, the queue closed for the day, or a virtual
    queue holder already holds an active ticket — the message says when it opens again."""
    if body.customer_id is not None and not principal.is_staff:
        raise Forbidden("only staff may issue a ticket for another customer")
    customer_id = body.customer_id if principal.is_staff else principal.id
    if body.channel is Channel.VIRTUAL_QUEUE and customer_id is None:
        raise RuleViolation("the virtual queue is for signed-in customers (verified phone)")
    if body.screening_confirmed and not principal.is_staff:
        raise Forbidden("only reception staff confirm a visitor's security screening")
    if body.screening_confirmed and body.channel is not Channel.WALK_IN:
        raise RuleViolation("the security screening is confirmed for walk-ins only")
    person_ref = f"customer:{customer_id}" if customer_id else None
    intake = body.intake
    if body.channel is Channel.VIRTUAL_QUEUE:
        intake = _virtual_queue_intake(principal, body.intake)
        assert intake.contact_phone is not None
        person_ref = phone_ref(
            load_phone_settings().phone_key.get_secret_value(), intake.contact_phone
        )
    queue = body.queue or DEFAULT_QUEUE[body.intake.problem_category]
    request = application.IssueRequest(
        site_id=body.site_id,
        queue=queue,
        channel=body.channel,
        customer_id=customer_id,
        intake=Intake.model_validate(intake.model_dump()),
        person_ref=person_ref,
        screening_confirmed_by=principal.id if body.screening_confirmed else None,
    )
    context = _context(principal)

    async def act(conn: asyncpg.Connection) -> tuple[int, Any]:
        now = runtime.clock.now()
        issue = request
        if body.appointment_id is not None:
            booked = await appointments.booked_queue(
                conn, body.appointment_id, customer_id, staff=principal.is_staff
            )
            ticket_id = uuid.uuid4()
            appointment = await appointments.check_in(
                conn,
                runtime.store,
                body.appointment_id,
                ticket_id=ticket_id,
                customer_id=customer_id,
                site_id=body.site_id,
                queue=body.queue or booked,
                now=now,
                context=context,
            )
            issue = replace(
                request, ticket_id=ticket_id, appointment=appointment, queue=body.queue or booked
            )
        ticket = await application.issue_ticket(conn, runtime.store, issue, context, now)
        return 201, _view(ticket, ticket.estimate)

    return await idempotent(
        runtime.pool, f"issue-ticket:{principal.id}", idempotency_key, fingerprint(body), act
    )


async def _visible_ticket(runtime: ServiceRuntime, principal: Principal, ticket_id: UUID) -> Ticket:
    async with runtime.pool.acquire() as conn:
        ticket = await application.load_ticket(conn, runtime.store, ticket_id)
    if ticket.status is TicketStatus.NOT_ISSUED:
        raise NotFound(f"ticket {ticket_id} not found")
    if not principal.is_staff and ticket.customer_id != principal.id:
        raise NotFound(f"ticket {ticket_id} not found")  # no hint that it exists
    return ticket


@router.get("/tickets/{ticket_id}", response_model=TicketView, summary="A ticket", tags=["tickets"])
async def get_ticket(
    ticket_id: TicketId,
    runtime: Runtime,
    principal: Annotated[Principal, require_roles("customer", *STAFF_ROLES, "service")],
) -> TicketView:
    """The ticket with, while it waits, its position and wait estimated now."""
    ticket = await _visible_ticket(runtime, principal, ticket_id)
    return _view(ticket, await _live_estimate(runtime, ticket))


@router.get(
    "/customers/me/tickets",
    response_model=list[TicketView],
    summary="My tickets",
    tags=["tickets"],
)
async def my_tickets(
    runtime: Runtime, principal: Annotated[Principal, require_roles("customer")]
) -> list[TicketView]:
    """The caller's own tickets, newest first (at most 20)."""
    rows = await runtime.pool.fetch(
        "SELECT ticket_id FROM ticket_index WHERE customer_id = $1 ORDER BY arrival_at DESC "
        "LIMIT 20",
        principal.id,
    )
    views = []
    for row in rows:
        ticket = await _visible_ticket(runtime, principal, row["ticket_id"])
        views.append(_view(ticket, await _live_estimate(runtime, ticket)))
    return views


async def _change(
    runtime: ServiceRuntime, principal: Principal, ticket_id: UUID, command: Command
) -> TicketView:
    context = _context(principal)
    ticket = await _in_transaction(
        runtime,
        lambda conn: application.change_ticket(conn, runtime.store, ticket_id, command, context),
    )
    return _view(ticket)


@router.post(
    "/tickets/{ticket_id}/leave",
    response_model=TicketView,
    summary="Leave the queue",
    tags=["tickets"],
)
async def leave_queue(
    ticket_id: TicketId,
    body: ReasonRequest,
    runtime: Runtime,
    principal: Annotated[Principal, require_roles("customer", *STAFF_ROLES)],
) -> TicketView:
    await _visible_ticket(runtime, principal, ticket_id)
    return await _change(
        runtime, principal, ticket_id, LeaveQueue(reason=body.reason, at=runtime.clock.now())
    )


@router.post(
    "/tickets/{ticket_id}/callback",
    response_model=TicketView,
    tags=["tickets"],
    summary="Call me back instead of holding",
)
async def request_callback(
    ticket_id: TicketId,
    runtime: Runtime,
    principal: Annotated[Principal, require_roles("customer", *STAFF_ROLES, "service")],
) -> TicketView:
    """A caller waiting on the phone (the IVR, for them) keeps their place and is called back
    when it comes; the call itself is placed by the notifications service."""
    await _visible_ticket(runtime, principal, ticket_id)
    return await _change(runtime, principal, ticket_id, RequestCallback(at=runtime.clock.now()))


# -- tickets: the desk -----------------------------------------------------------------------


@router.post(
    "/tickets/{ticket_id}/call",
    response_model=TicketView,
    summary="Call to a desk",
    tags=["desk"],
)
async def call_ticket(
    ticket_id: TicketId,
    body: CallRequest,
    runtime: Runtime,
    principal: Annotated[Principal, DeskRoles],
) -> TicketView:
    """Call a specific ticket (prefer call-next, which routes)."""
    command = CallTicket(desk_id=body.desk_id, agent_id=principal.id, at=runtime.clock.now())
    return await _change(runtime, principal, ticket_id, command)


@router.post(
    "/tickets/{ticket_id}/recall", response_model=TicketView, summary="Call again", tags=["desk"]
)
async def recall_ticket(
    ticket_id: TicketId, runtime: Runtime, principal: Annotated[Principal, DeskRoles]
) -> TicketView:
    async with runtime.pool.acquire() as conn:
        ticket = await application.load_ticket(conn, runtime.store, ticket_id)
        site = await application.load_site(conn, runtime.store, ticket.site_id or "")
    max_recalls = site.settings(ticket.queue).max_recalls if ticket.queue else 0
    command = RecallTicket(
        agent_id=principal.id,
        at=runtime.clock.now(),
        max_recalls=max_recalls,
        override=_is_supervisor(principal),
    )
    return await _change(runtime, principal, ticket_id, command)


@router.post(
    "/tickets/{ticket_id}/start",
    response_model=TicketView,
    summary="The person is at the desk",
    tags=["desk"],
)
async def start_serving(
    ticket_id: TicketId, runtime: Runtime, principal: Annotated[Principal, DeskRoles]
) -> TicketView:
    command = StartServing(
        agent_id=principal.id, at=runtime.clock.now(), override=_is_supervisor(principal)
    )
    return await _change(runtime, principal, ticket_id, command)


@router.post(
    "/tickets/{ticket_id}/complete",
    response_model=TicketView,
    summary="Service ended",
    tags=["desk"],
)
async def complete_ticket(
    ticket_id: TicketId,
    body: CompleteRequest,
    runtime: Runtime,
    principal: Annotated[Principal, DeskRoles],
) -> TicketView:
    command = CompleteTicket(
        agent_id=principal.id,
        at=runtime.clock.now(),
        resolution=body.resolution,
        override=_is_supervisor(principal),
    )
    return await _change(runtime, principal, ticket_id, command)


@router.post(
    "/tickets/{ticket_id}/transfer",
    response_model=TicketView,
    tags=["desk"],
    summary="Transfer to another queue or a specialist",
)
async def transfer_ticket(
    ticket_id: TicketId,
    body: TransferRequest,
    runtime: Runtime,
    principal: Annotated[Principal, DeskRoles],
) -> TicketView:
    """The ticket waits again in ``to_queue`` (for a ``required_skill`` specialist if named),
    keeping its original arrival time."""
    command = TransferTicket(
        agent_id=principal.id,
        to_queue=body.to_queue,
        at=runtime.clock.now(),
        required_skill=body.required_skill,
        reason=body.reason,
        override=_is_supervisor(principal),
    )
    return await _change(runtime, principal, ticket_id, command)


@router.post(
    "/tickets/{ticket_id}/no-show",
    response_model=TicketView,
    summary="Mark a no-show",
    tags=["desk"],
)
async def mark_no_show(
    ticket_id: TicketId, runtime: Runtime, principal: Annotated[Principal, DeskRoles]
) -> TicketView:
    command = MarkNoShow(
        at=runtime.clock.now(), agent_id=principal.id, override=_is_supervisor(principal)
    )
    return await _change(runtime, principal, ticket_id, command)


@router.post(
    "/tickets/{ticket_id}/park",
    response_model=TicketView,
    tags=["desk"],
    summary="The visitor steps away (keeps their place)",
)
async def park_ticket(
    ticket_id: TicketId,
    body: ReasonRequest,
    runtime: Runtime,
    principal: Annotated[Principal, StaffRoles],
) -> TicketView:
    command = ParkTicket(at=runtime.clock.now(), reason=body.reason)
    return await _change(runtime, principal, ticket_id, command)


@router.post(
    "/tickets/{ticket_id}/return",
    response_model=TicketView,
    tags=["desk"],
    summary="The parked visitor is back, in their place",
)
async def return_ticket(
    ticket_id: TicketId, runtime: Runtime, principal: Annotated[Principal, StaffRoles]
) -> TicketView:
    return await _change(runtime, principal, ticket_id, ReturnTicket(at=runtime.clock.now()))


# -- agents -----------------------------------------------------------------------------------


async def _agent_change(
    runtime: ServiceRuntime, principal: Principal, agent_id: str, command: Any
) -> AgentView:
    context = _context(principal)
    agent = await _in_transaction(
        runtime,
        lambda conn: application.change_agent(conn, runtime.store, agent_id, command, context),
    )
    return _agent_view(agent)


async def _step_away(
    runtime: ServiceRuntime, principal: Principal, agent_id: str, command: TakeBreak | SignOut
) -> AgentView:
    """A break or a sign-out, releasing the remote contacts offered and not answered."""
    context = _context(principal)
    now = command.at
    agent = await _in_transaction(
        runtime,
        lambda conn: assignment.step_away(conn, runtime.store, agent_id, command, now, context),
    )
    return _agent_view(agent)


@router.put(
    "/agents/{agent_id}/profile",
    response_model=AgentView,
    tags=["agents"],
    summary="Set what an agent may serve",
)
async def set_profile(
    agent_id: AgentId,
    body: ProfileRequest,
    runtime: Runtime,
    principal: Annotated[Principal, SupervisorRoles],
) -> AgentView:
    command = SetProfile(
        agent_id=agent_id,
        queues=tuple(body.queues),
        specialist_skills=tuple(body.specialist_skills),
        languages=tuple(body.languages),
        limits=body.limits,
        at=runtime.clock.now(),
    )
    return await _agent_change(runtime, principal, agent_id, command)


@router.get("/agents/{agent_id}", response_model=AgentView, tags=["agents"], summary="An agent")
async def get_agent(
    agent_id: AgentId, runtime: Runtime, principal: Annotated[Principal, StaffRoles]
) -> AgentView:
    async with runtime.pool.acquire() as conn:
        return _agent_view(await application.load_agent(conn, runtime.store, agent_id))


@router.post(
    "/agents/{agent_id}/sign-in",
    response_model=AgentView,
    tags=["agents"],
    summary="Sign in at a desk or remote position",
)
async def sign_in(
    agent_id: AgentId,
    body: SignInRequest,
    runtime: Runtime,
    principal: Annotated[Principal, DeskRoles],
) -> AgentView:
    _require_self_or_supervisor(principal, agent_id)
    context = _context(principal)
    now = runtime.clock.now()

    async def act(conn: asyncpg.Connection) -> Agent:
        site = await application.load_site(conn, runtime.store, body.site_id)
        if not site.configured:
            raise NotFound(f"no such site {body.site_id}")
        desk = site.desks.get(body.desk_id)
        if desk is None:
            raise RuleViolation(f"site {body.site_id} has no desk {body.desk_id}")
        taken = await conn.fetchval(
            "SELECT agent_id FROM agent_index WHERE site_id = $1 AND desk_id = $2 "
            "AND status <> 'offline' AND agent_id <> $3",
            body.site_id,
            body.desk_id,
            agent_id,
        )
        if taken:
            raise RuleViolation(f"desk {body.desk_id} is taken by agent {taken}")
        command = SignIn(
            site_id=body.site_id,
            desk_id=body.desk_id,
            remote=desk.kind is DeskKind.REMOTE_POSITION,
            at=now,
        )
        return await application.change_agent(conn, runtime.store, agent_id, command, context)

    return _agent_view(await _in_transaction(runtime, act))


@router.post(
    "/agents/{agent_id}/break", response_model=AgentView, tags=["agents"], summary="Take a break"
)
async def take_break(
    agent_id: AgentId,
    body: ReasonRequest,
    runtime: Runtime,
    principal: Annotated[Principal, DeskRoles],
) -> AgentView:
    """The contacts offered to the agent and not answered yet go back to the pool at once
    (keeping their place) and are offered to the others."""
    _require_self_or_supervisor(principal, agent_id)
    now = runtime.clock.now()
    return await _step_away(runtime, principal, agent_id, TakeBreak(at=now, reason=body.reason))


@router.post(
    "/agents/{agent_id}/resume",
    response_model=AgentView,
    tags=["agents"],
    summary="Back from a break",
)
async def end_break(
    agent_id: AgentId, runtime: Runtime, principal: Annotated[Principal, DeskRoles]
) -> AgentView:
    _require_self_or_supervisor(principal, agent_id)
    return await _agent_change(runtime, principal, agent_id, EndBreak(at=runtime.clock.now()))


@router.post(
    "/agents/{agent_id}/sign-out", response_model=AgentView, tags=["agents"], summary="Sign out"
)
async def sign_out(
    agent_id: AgentId, runtime: Runtime, principal: Annotated[Principal, DeskRoles]
) -> AgentView:
    """As for a break: the contacts offered and not answered yet go back to the pool at once."""
    _require_self_or_supervisor(principal, agent_id)
    return await _step_away(runtime, principal, agent_id, SignOut(at=runtime.clock.now()))


@router.post(
    "/agents/{agent_id}/call-next",
    response_model=CalledView,
    tags=["agents"],
    summary="Call the best ticket for this agent's desk",
    responses={204: {"description": "Nobody this agent may serve is waiting."}},
)
async def call_next(
    agent_id: AgentId, runtime: Runtime, principal: Annotated[Principal, DeskRoles]
) -> Any:
    """Routing: skills and language (dialect) first, then priority (appointment in its window,
    accessibility, escalated repeat contact), then the longest wait, with aging; relaxed
    matches are explained in ``match``."""
    _require_self_or_supervisor(principal, agent_id)
    context = _context(principal)
    now = runtime.clock.now()
    called = await _in_transaction(
        runtime,
        lambda conn: application.call_next(conn, runtime.store, agent_id, now, context),
    )
    if called is None:
        return Response(status_code=204)
    ticket, match = called
    return CalledView(**_view(ticket).model_dump(), match=match)


# -- sites, queues, board, dashboard ----------------------------------------------------------


async def _change_site(
    runtime: ServiceRuntime, principal: Principal, site_id: str, command: Any, now: datetime
) -> SiteView:
    """Every site command: decide and append in one transaction, answer with the site."""
    context = _context(principal)
    site = await _in_transaction(
        runtime,
        lambda conn: application.change_site(conn, runtime.store, site_id, command, context),
    )
    return _site_view(site, now)


@router.put("/sites/{site_id}", response_model=SiteView, tags=["sites"], summary="Configure a site")
async def configure_site(
    site_id: SiteId,
    body: SiteRequest,
    runtime: Runtime,
    principal: Annotated[Principal, SupervisorRoles],
) -> SiteView:
    now = runtime.clock.now()
    command = ConfigureSite(
        site_id=site_id,
        name=body.name,
        timezone=body.timezone,
        opening_hours=tuple(body.opening_hours),
        queues=tuple(body.queues),
        at=now,
        estimate_margin_minutes=body.estimate_margin_minutes,
        screening_required=body.screening_required,
        ivr_menu=body.ivr_menu,
    )
    return await _change_site(runtime, principal, site_id, command, now)


@router.get("/sites/{site_id}", response_model=SiteView, tags=["sites"], summary="A site")
async def get_site(
    site_id: SiteId,
    runtime: Runtime,
    principal: Annotated[Principal, require_roles("customer", *STAFF_ROLES, "service")],
) -> SiteView:
    async with runtime.pool.acquire() as conn:
        site = await application.load_site(conn, runtime.store, site_id)
    return _site_view(site, runtime.clock.now())


@router.post(
    "/sites/{site_id}/desks",
    response_model=SiteView,
    status_code=201,
    tags=["sites"],
    summary="Add a desk or remote position",
)
async def add_desk(
    site_id: SiteId,
    body: DeskRequest,
    runtime: Runtime,
    principal: Annotated[Principal, SupervisorRoles],
) -> SiteView:
    now = runtime.clock.now()
    command = AddDesk(desk_id=body.desk_id, kind=body.kind, at=now, location=body.location)
    return await _change_site(runtime, principal, site_id, command, now)


@router.post(
    "/sites/{site_id}/queues/{queue}/close",
    response_model=SiteView,
    tags=["sites"],
    summary="Close a queue for the rest of the day",
)
async def close_queue(
    site_id: SiteId,
    queue: Queue,
    body: ReasonRequest,
    runtime: Runtime,
    principal: Annotated[Principal, SupervisorRoles],
) -> SiteView:
    now = runtime.clock.now()
    command = CloseQueue(queue=queue, at=now, reason=body.reason)
    return await _change_site(runtime, principal, site_id, command, now)


@router.post(
    "/sites/{site_id}/queues/{queue}/open",
    response_model=SiteView,
    tags=["sites"],
    summary="Open a queue closed for the day",
)
async def open_queue(
    site_id: SiteId,
    queue: Queue,
    runtime: Runtime,
    principal: Annotated[Principal, SupervisorRoles],
) -> SiteView:
    now = runtime.clock.now()
    return await _change_site(runtime, principal, site_id, OpenQueue(queue=queue, at=now), now)


@router.get(
    "/sites/{site_id}/queues",
    response_model=list[QueueCount],
    summary="Waiting per queue",
    tags=["board"],
)
async def queue_counts(
    site_id: Annotated[str, Path(max_length=64)],
    runtime: Runtime,
    principal: Annotated[Principal, StaffRoles],
) -> list[QueueCount]:
    rows = await runtime.pool.fetch(
        """SELECT queue, count(*) AS waiting, min(issued_at) AS oldest
           FROM queue_tickets WHERE site_id = $1 AND status = 'waiting'
           GROUP BY queue ORDER BY queue""",
        site_id,
    )
    return [
        QueueCount(queue=row["queue"], waiting=row["waiting"], oldest_issued_at=row["oldest"])
        for row in rows
    ]


@router.get("/sites/{site_id}/board", tags=["board"], summary="The queue display board")
async def queue_board(
    site_id: SiteId, runtime: Runtime, principal: Annotated[Principal, BoardRoles]
) -> dict[str, Any]:
    """Now serving (number → desk), next up and waiting per queue. Numbers only."""
    async with runtime.pool.acquire() as conn:
        return await queries.board(conn, site_id, runtime.clock.now())


@router.get("/sites/{site_id}/dashboard", tags=["supervisors"], summary="At a glance")
async def supervisor_dashboard(
    site_id: SiteId, runtime: Runtime, principal: Annotated[Principal, SupervisorRoles]
) -> dict[str, Any]:
    """Per queue and channel: waiting, longest wait, average wait and service time over the
    last hour, served today, abandonment rate, agents available/serving, service level."""
    async with runtime.pool.acquire() as conn:
        return await queries.dashboard(conn, site_id, runtime.clock.now())


@router.get(
    "/sites/{site_id}/estimate-accuracy",
    tags=["supervisors"],
    summary="Estimated vs actual waits",
)
async def estimate_accuracy(
    site_id: SiteId, runtime: Runtime, principal: Annotated[Principal, SupervisorRoles]
) -> dict[str, Any]:
    async with runtime.pool.acquire() as conn:
        return await queries.estimate_accuracy(conn, site_id)
