"""HTTP API of tickets: the kiosk and reception issue them, customers follow and leave them,
desks call, recall, serve, transfer, park and end them.

Every "now" is ``runtime.clock.now()`` (tests move it). Commands run through
``runtime.commands`` (one transaction, bounded retry on a concurrent change): events, outbox,
command-side indexes and timers commit together; a refused command (409) writes nothing.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Path
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.events.checkin import ActingFor, Intake, RoutingMatch, WaitEstimate
from contracts.vocabulary import (
    E164_PATTERN,
    AccessibilityNeed,
    Channel,
    LanguagePreference,
    ProblemCategory,
    Skill,
)
from contracts.vocabulary import ServiceQueue as Queue
from runtime.auth import STAFF_ROLES, Forbidden, Principal, require_roles
from runtime.commands import IdempotencyKey, command, fingerprint, idempotent
from runtime.errors import NotFound
from runtime.limits import RateLimited
from runtime.service import Runtime, ServiceRuntime
from services.checkin.api.roles import (
    DeskRoles,
    IssuerRoles,
    StaffRoles,
    context_of,
    is_supervisor,
    require_works_at,
)
from services.checkin.application.estimates import estimate_queue
from services.checkin.application.sites import load_site
from services.checkin.application.ticket_index import customer_ticket_ids
from services.checkin.application.tickets import (
    IssueRequest,
    change_ticket,
    issue,
    load_ticket,
)
from services.checkin.application.tickets import call_ticket as call_to_desk
from services.checkin.application.tickets import recall_ticket as call_again
from services.checkin.domain.tickets import (
    DEFAULT_QUEUE,
    REMOTE_CHANNELS,
    CallTicket,
    Command,
    CompleteTicket,
    LeaveQueue,
    MarkNoShow,
    ParkTicket,
    RequestCallback,
    ReturnTicket,
    StartServing,
    Ticket,
    TicketStatus,
    TransferTicket,
)
from services.checkin.domain.wording import called_message, language_of, place_message
from services.checkin.wiring import Wiring

router = APIRouter()

TicketId = Annotated[UUID, Path(description="Ticket id")]


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


class Place(BaseModel):
    """A waiting ticket's place, as data (the same as ``message`` says)."""

    ahead: int = Field(description="Tickets ahead in the queue's current order.")
    you_are_next: bool


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
    place: Place | None = Field(default=None, description="While waiting: the place, as data.")
    language: str = Field(
        default="en", description="The language of ``message`` (the ticket's, or the nearest)."
    )
    message: str | None = Field(
        default=None,
        description="What to show the person now, in their language: their place and wait "
        "while waiting; where to go (a desk) or that an agent is about to contact them (a "
        "phone, chat or email contact) once called.",
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
    required_skill: Skill | None = None
    reason: str | None = Field(default=None, max_length=200)


def view_of(ticket: Ticket, estimate: WaitEstimate | None = None) -> TicketView:
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
        **_told(ticket, estimate),
    )


def _told(ticket: Ticket, estimate: WaitEstimate | None) -> dict[str, Any]:
    """The ticket's place as data and what to tell its person, in their language."""
    language = language_of(ticket.language.tag if ticket.language else None)
    told: dict[str, Any] = {"language": language}
    if ticket.status is TicketStatus.WAITING and estimate is not None:
        told["place"] = Place(ahead=estimate.ahead, you_are_next=estimate.ahead == 0)
        told["message"] = place_message(
            language, estimate.ahead, estimate.low_minutes, estimate.high_minutes
        )
    elif ticket.status is TicketStatus.CALLED:
        remote = ticket.channel in REMOTE_CHANNELS
        told["message"] = called_message(language, ticket.desk_id, remote)
    return told


async def _live_estimate(runtime: ServiceRuntime, ticket: Ticket) -> WaitEstimate | None:
    if ticket.status is not TicketStatus.WAITING or ticket.queue is None:
        return None
    async with runtime.pool.acquire() as conn:
        site = await load_site(conn, runtime.store, ticket.site_id or "")
        estimates = await estimate_queue(
            conn, site, ticket.site_id or "", ticket.queue, runtime.clock.now()
        )
    return estimates.get(ticket.ticket_id)  # type: ignore[arg-type]


# -- tickets: kiosk, reception, customers ----------------------------------------------------


@router.post(
    "/tickets",
    status_code=201,
    response_model=TicketView,
    summary="Issue a ticket",
    tags=["tickets"],
    dependencies=[RateLimited("intake")],
)
async def issue_ticket(
    body: IssueTicketRequest,
    runtime: Runtime,
    principal: Annotated[Principal, IssuerRoles],
    wiring: Wiring,
    idempotency_key: IdempotencyKey = None,
) -> object:
    """Kiosk, reception (after the security screening), the customer app (virtual queue) or a
    remote channel. 409 when the site is closed, the queue closed for the day, or a virtual
    queue holder already holds an active ticket — the message says when it opens again."""
    if body.customer_id is not None and not principal.is_staff:
        raise Forbidden("only staff may issue a ticket for another customer")
    if body.screening_confirmed and not principal.is_staff:
        raise Forbidden("only reception staff confirm a visitor's security screening")
    customer_id = body.customer_id if principal.is_staff else principal.id
    verified_phone = None
    if body.channel is Channel.VIRTUAL_QUEUE and not principal.is_staff:
        # a place in the virtual queue is tied to the phone number the sign-in verified
        if principal.verified_phone is None:
            raise Forbidden(
                "the virtual queue needs a phone number verified by the platform's sign-in "
                "(sign in again with your phone number)"
            )
        verified_phone = principal.verified_phone
    request = IssueRequest(
        site_id=body.site_id,
        queue=body.queue or DEFAULT_QUEUE[body.intake.problem_category],
        channel=body.channel,
        customer_id=customer_id,
        intake=Intake.model_validate(body.intake.model_dump()),
        person_ref=f"customer:{customer_id}" if customer_id else None,
        screening_confirmed_by=principal.id if body.screening_confirmed else None,
        verified_phone=verified_phone,
    )
    context = context_of(principal)

    async def act(conn: asyncpg.Connection) -> tuple[int, Any]:
        ticket = await issue(
            conn,
            runtime.store,
            request,
            body.appointment_id,
            staff=principal.is_staff,
            queue_given=body.queue is not None,
            context=context,
            now=runtime.clock.now(),
            phone_key=wiring.phone_key,
            # the platform's staff: not at an organization's site (404), checked on the site
            # the command reads anyway
            admit=lambda site: require_works_at(principal, site),
        )
        return 201, view_of(ticket, ticket.estimate)

    return await idempotent(
        runtime.pool,
        f"issue-ticket:{principal.id}",
        idempotency_key,
        fingerprint(body) if idempotency_key is not None else "",  # compared only under a key
        act,
    )


async def _visible_ticket(runtime: ServiceRuntime, principal: Principal, ticket_id: UUID) -> Ticket:
    """The ticket, if the caller may see it: a customer their own, staff the tickets of
    their own centre's sites (a ticket is its site's organization's, which never changes)."""
    async with runtime.pool.acquire() as conn:
        ticket = await load_ticket(conn, runtime.store, ticket_id)
        if ticket.status is TicketStatus.NOT_ISSUED:
            raise NotFound(f"ticket {ticket_id} not found")
        if not principal.is_staff and ticket.customer_id != principal.id:
            raise NotFound(f"ticket {ticket_id} not found")  # no hint that it exists
        site = await load_site(conn, runtime.store, ticket.site_id or "")
    require_works_at(principal, site, f"ticket {ticket_id} not found")
    return ticket


@router.get("/tickets/{ticket_id}", response_model=TicketView, summary="A ticket", tags=["tickets"])
async def get_ticket(
    ticket_id: TicketId,
    runtime: Runtime,
    principal: Annotated[
        Principal, require_roles("customer", *STAFF_ROLES, "service", organizations=True)
    ],
) -> TicketView:
    """The ticket with, while it waits, its position and wait estimated now."""
    ticket = await _visible_ticket(runtime, principal, ticket_id)
    return view_of(ticket, await _live_estimate(runtime, ticket))


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
    async with runtime.pool.acquire() as conn:
        ticket_ids = await customer_ticket_ids(conn, principal.id)
    views = []
    for ticket_id in ticket_ids:
        ticket = await _visible_ticket(runtime, principal, ticket_id)
        views.append(view_of(ticket, await _live_estimate(runtime, ticket)))
    return views


async def _change(
    runtime: ServiceRuntime, principal: Principal, ticket_id: UUID, action: Command
) -> TicketView:
    await _visible_ticket(runtime, principal, ticket_id)
    context = context_of(principal)
    ticket = await command(
        runtime.pool, lambda conn: change_ticket(conn, runtime.store, ticket_id, action, context)
    )
    return view_of(ticket)


@router.post(
    "/tickets/{ticket_id}/leave",
    response_model=TicketView,
    summary="Leave the queue",
    dependencies=[RateLimited("customer")],
    tags=["tickets"],
)
async def leave_queue(
    ticket_id: TicketId,
    body: ReasonRequest,
    runtime: Runtime,
    principal: Annotated[Principal, require_roles("customer", *STAFF_ROLES, organizations=True)],
) -> TicketView:
    return await _change(
        runtime, principal, ticket_id, LeaveQueue(reason=body.reason, at=runtime.clock.now())
    )


@router.post(
    "/tickets/{ticket_id}/callback",
    response_model=TicketView,
    tags=["tickets"],
    summary="Call me back instead of holding",
    dependencies=[RateLimited("customer")],
)
async def request_callback(
    ticket_id: TicketId,
    runtime: Runtime,
    principal: Annotated[
        Principal, require_roles("customer", *STAFF_ROLES, "service", organizations=True)
    ],
) -> TicketView:
    """A caller waiting on the phone (the IVR, for them) keeps their place and is called back
    when it comes; the call itself is placed by the notifications service."""
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
    await _visible_ticket(runtime, principal, ticket_id)
    call = CallTicket(desk_id=body.desk_id, agent_id=principal.id, at=runtime.clock.now())
    context = context_of(principal)
    ticket = await command(
        runtime.pool, lambda conn: call_to_desk(conn, runtime.store, ticket_id, call, context)
    )
    return view_of(ticket)


@router.post(
    "/tickets/{ticket_id}/recall", response_model=TicketView, summary="Call again", tags=["desk"]
)
async def recall_ticket(
    ticket_id: TicketId, runtime: Runtime, principal: Annotated[Principal, DeskRoles]
) -> TicketView:
    await _visible_ticket(runtime, principal, ticket_id)
    context = context_of(principal)
    now, override = runtime.clock.now(), is_supervisor(principal)
    ticket = await command(
        runtime.pool,
        lambda conn: call_again(
            conn, runtime.store, ticket_id, principal.id, now, override, context
        ),
    )
    return view_of(ticket)


@router.post(
    "/tickets/{ticket_id}/start",
    response_model=TicketView,
    summary="The person is at the desk",
    tags=["desk"],
)
async def start_serving(
    ticket_id: TicketId, runtime: Runtime, principal: Annotated[Principal, DeskRoles]
) -> TicketView:
    action = StartServing(
        agent_id=principal.id, at=runtime.clock.now(), override=is_supervisor(principal)
    )
    return await _change(runtime, principal, ticket_id, action)


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
    action = CompleteTicket(
        agent_id=principal.id,
        at=runtime.clock.now(),
        resolution=body.resolution,
        override=is_supervisor(principal),
    )
    return await _change(runtime, principal, ticket_id, action)


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
    action = TransferTicket(
        agent_id=principal.id,
        to_queue=body.to_queue,
        at=runtime.clock.now(),
        required_skill=body.required_skill,
        reason=body.reason,
        override=is_supervisor(principal),
    )
    return await _change(runtime, principal, ticket_id, action)


@router.post(
    "/tickets/{ticket_id}/no-show",
    response_model=TicketView,
    summary="Mark a no-show",
    tags=["desk"],
)
async def mark_no_show(
    ticket_id: TicketId, runtime: Runtime, principal: Annotated[Principal, DeskRoles]
) -> TicketView:
    action = MarkNoShow(
        at=runtime.clock.now(), agent_id=principal.id, override=is_supervisor(principal)
    )
    return await _change(runtime, principal, ticket_id, action)


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
    action = ParkTicket(at=runtime.clock.now(), reason=body.reason)
    return await _change(runtime, principal, ticket_id, action)


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
