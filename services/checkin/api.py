"""HTTP API of check-in: kiosk and reception, agents, customers, the display board."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.events.checkin import ActingFor, Intake
from contracts.vocabulary import AccessibilityNeed, Channel, LanguagePreference, ProblemCategory
from contracts.vocabulary import ServiceQueue as Queue
from runtime.auth import STAFF_ROLES, Forbidden, Principal, require_roles
from runtime.errors import NotFound
from runtime.eventstore import CommandContext
from runtime.http import IdempotencyKey, fingerprint, idempotent
from runtime.service import Runtime
from services.checkin import application
from services.checkin.domain import (
    DEFAULT_QUEUE,
    CallTicket,
    IssueTicket,
    LeaveQueue,
    Ticket,
    TicketStatus,
)

router = APIRouter(tags=["tickets"])

E164 = r"^\+[1-9][0-9]{6,14}$"


class IntakeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    problem_category: ProblemCategory
    account_ref: str = Field(min_length=1, max_length=100)
    contact_phone: str | None = Field(default=None, pattern=E164, examples=["+8613800138000"])
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


class CallRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    desk_id: str = Field(min_length=1, max_length=64)


class LeaveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(default=None, max_length=200)


class QueueCount(BaseModel):
    queue: Queue
    waiting: int
    oldest_issued_at: AwareDatetime | None


def _view(ticket: Ticket) -> TicketView:
    if None in (
        ticket.ticket_id,
        ticket.number,
        ticket.site_id,
        ticket.queue,
        ticket.channel,
        ticket.issued_at,
    ):
        raise NotFound("no such ticket")
    return TicketView.model_validate(ticket, from_attributes=True)


IssuerRoles = require_roles("customer", "agent", "supervisor", "admin", "service")
StaffRoles = require_roles(*STAFF_ROLES)


@router.post("/tickets", status_code=201, response_model=TicketView, summary="Issue a ticket")
async def issue_ticket(
    body: IssueTicketRequest,
    runtime: Runtime,
    principal: Annotated[Principal, IssuerRoles],
    idempotency_key: IdempotencyKey = None,
) -> object:
    if body.customer_id is not None and not principal.is_staff:
        raise Forbidden("only staff may issue a ticket for another customer")
    customer_id = body.customer_id if principal.is_staff else principal.id
    queue = body.queue or DEFAULT_QUEUE[body.intake.problem_category]
    intake = Intake.model_validate(body.intake.model_dump())
    context = CommandContext.new(principal.actor())

    async def act(conn):  # type: ignore[no-untyped-def]
        now = datetime.now(UTC)
        sequence = await application.next_sequence(conn, body.site_id, queue.value, now)
        command = IssueTicket(
            ticket_id=uuid.uuid4(),
            site_id=body.site_id,
            queue=queue,
            sequence=sequence,
            channel=body.channel,
            customer_id=customer_id,
            intake=intake,
            at=now,
        )
        ticket = await application.issue_ticket(conn, runtime.store, command, context)
        return 201, _view(ticket)

    return await idempotent(
        runtime.pool, f"issue-ticket:{principal.id}", idempotency_key, fingerprint(body), act
    )


async def _visible_ticket(runtime: Runtime, principal: Principal, ticket_id: UUID) -> Ticket:
    async with runtime.pool.acquire() as conn:
        ticket = await application.load_ticket(conn, runtime.store, ticket_id)
    if ticket.status is TicketStatus.NOT_ISSUED:
        raise NotFound(f"ticket {ticket_id} not found")
    if not principal.is_staff and ticket.customer_id != principal.id:
        raise NotFound(f"ticket {ticket_id} not found")  # no hint that it exists
    return ticket


TicketId = Annotated[UUID, Path(description="Ticket id")]


@router.get("/tickets/{ticket_id}", response_model=TicketView, summary="A ticket")
async def get_ticket(
    ticket_id: TicketId,
    runtime: Runtime,
    principal: Annotated[Principal, require_roles("customer", *STAFF_ROLES, "service")],
) -> TicketView:
    return _view(await _visible_ticket(runtime, principal, ticket_id))


@router.post("/tickets/{ticket_id}/call", response_model=TicketView, summary="Call to a desk")
async def call_ticket(
    ticket_id: TicketId,
    body: CallRequest,
    runtime: Runtime,
    principal: Annotated[Principal, require_roles("agent", "specialist", "supervisor")],
) -> TicketView:
    command = CallTicket(desk_id=body.desk_id, agent_id=principal.id, at=datetime.now(UTC))
    async with runtime.pool.acquire() as conn, conn.transaction():
        ticket = await application.change_ticket(
            conn, runtime.store, ticket_id, command, CommandContext.new(principal.actor())
        )
    return _view(ticket)


@router.post("/tickets/{ticket_id}/leave", response_model=TicketView, summary="Leave the queue")
async def leave_queue(
    ticket_id: TicketId,
    body: LeaveRequest,
    runtime: Runtime,
    principal: Annotated[Principal, require_roles("customer", *STAFF_ROLES)],
) -> TicketView:
    await _visible_ticket(runtime, principal, ticket_id)
    command = LeaveQueue(reason=body.reason, at=datetime.now(UTC))
    async with runtime.pool.acquire() as conn, conn.transaction():
        ticket = await application.change_ticket(
            conn, runtime.store, ticket_id, command, CommandContext.new(principal.actor())
        )
    return _view(ticket)


@router.get("/sites/{site_id}/queues", response_model=list[QueueCount], summary="Waiting per queue")
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
