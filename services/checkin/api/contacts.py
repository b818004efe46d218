"""HTTP API of remote contacts: the IVR, the chat gateways (QQ, WeChat, web) and the email
intake put contacts into queues; agents see the contacts assigned to them.

Answering, finishing and transferring a contact use the ticket endpoints (``/tickets/{id}/
start``, ``/complete``, ``/transfer``); a caller's callback request ``/tickets/{id}/callback``.

An organization's customers reach its contact centre the same way, with its site's id: its
IVR menu picks the queue, and the site's agents — its own, the only ones who may sign in
there — are offered the contact. Its staff may enter contacts at its sites only.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

import asyncpg
from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from contracts.events.checkin import Intake, WaitEstimate
from contracts.events.checkin_agents import AgentStatus, ChannelLimits
from contracts.vocabulary import Channel, LanguagePreference
from contracts.vocabulary import ServiceQueue as Queue
from runtime.auth import Forbidden, Principal, require_roles
from runtime.commands import IdempotencyKey, fingerprint, idempotent
from runtime.service import Runtime
from services.checkin.api.roles import context_of, require_works_with, site_at_work
from services.checkin.api.tickets import IntakeRequest
from services.checkin.application.agents import load_agent
from services.checkin.application.assignment import agent_contacts, receive
from services.checkin.application.tickets import IssueRequest
from services.checkin.domain.assignment import CHANNEL_KIND
from services.checkin.domain.tickets import DEFAULT_QUEUE, Ticket, TicketStatus

router = APIRouter()

ContactRoles = require_roles(
    "customer", "agent", "supervisor", "admin", "service", organizations=True
)
DeskRoles = require_roles("agent", "specialist", "supervisor", organizations=True)

RemoteChannel = Literal["phone", "chat_qq", "chat_wechat", "chat_web", "email"]


class ContactRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site_id: str = Field(min_length=1, max_length=64, examples=["sz-contact-center"])
    channel: RemoteChannel
    ivr_selection: str | None = Field(
        default=None,
        pattern=r"^[0-9*#]$",
        description="Phone: the key the caller pressed in the site's IVR menu (`ivr_menu` of "
        "the site; the standard menu: 1 account & security, 2 wallet & payments, 3 minors & "
        "family, 4 commerce disputes, 0 general). 409 for a key the menu does not have.",
    )
    queue: Queue | None = Field(
        default=None,
        description="Defaults to the IVR selection, else to the problem category's queue.",
    )
    customer_id: str | None = Field(
        default=None, max_length=200, description="Staff or gateway only: whose contact it is."
    )
    owner_agent_id: str | None = Field(
        default=None,
        max_length=200,
        description="Staff or gateway only: the customer's owning agent (owner_agent rule).",
    )
    intake: IntakeRequest

    @model_validator(mode="after")
    def _ivr_for_calls(self) -> ContactRequest:
        if self.ivr_selection is not None and self.channel != "phone":
            raise ValueError("ivr_selection is for phone calls")
        return self


class ContactView(BaseModel):
    ticket_id: UUID
    number: str
    site_id: str
    queue: Queue
    channel: Channel
    status: TicketStatus
    customer_id: str | None
    issued_at: AwareDatetime
    agent_id: str | None = Field(default=None, description="Set when assigned (offered).")
    assigned_at: AwareDatetime | None = None
    answer_by: AwareDatetime | None = Field(
        default=None, description="Offered to the agent until then, then reassigned."
    )
    in_pool: bool = Field(description="True while waiting for an agent with room.")
    estimate: WaitEstimate | None = None


class AssignedContact(BaseModel):
    ticket_id: UUID
    number: str
    site_id: str
    queue: Queue
    channel: Channel
    status: Literal["called", "serving"] = Field(
        description="called: offered, answer by answer_by; serving: answered."
    )
    language: LanguagePreference
    assigned_at: AwareDatetime
    answer_by: AwareDatetime | None
    serving_started_at: AwareDatetime | None
    arrival_at: AwareDatetime


class MyContacts(BaseModel):
    agent_id: str
    status: AgentStatus | None
    limits: ChannelLimits | None
    active: dict[str, int] = Field(description="Active contacts per kind: phone, chat, email.")
    contacts: list[AssignedContact]


def _contact_view(ticket: Ticket) -> ContactView:
    assert ticket.ticket_id is not None
    assert ticket.issued_at is not None
    offered = ticket.status in {TicketStatus.CALLED, TicketStatus.SERVING}
    return ContactView(
        ticket_id=ticket.ticket_id,
        number=ticket.number or "",
        site_id=ticket.site_id or "",
        queue=ticket.queue,  # type: ignore[arg-type]
        channel=ticket.channel,  # type: ignore[arg-type]
        status=ticket.status,
        customer_id=ticket.customer_id,
        issued_at=ticket.issued_at,
        agent_id=ticket.agent_id if offered else None,
        assigned_at=ticket.called_at if offered else None,
        answer_by=ticket.answer_by,
        in_pool=ticket.status is TicketStatus.WAITING,
        estimate=ticket.estimate if ticket.status is TicketStatus.WAITING else None,
    )


@router.post(
    "/contacts",
    status_code=201,
    response_model=ContactView,
    summary="A call, chat or email enters a queue",
    tags=["contacts"],
)
async def receive_contact(
    body: ContactRequest,
    runtime: Runtime,
    principal: Annotated[Principal, ContactRoles],
    idempotency_key: IdempotencyKey = None,
) -> object:
    """The IVR (with the caller's selection), a chat gateway (QQ, WeChat, web) or the email
    intake: the contact gets a ticket in its queue and is offered at once to an agent with
    room by the queue's assignment rules; otherwise it waits in the queue's pool (``in_pool``)
    and is offered as soon as a place frees up. 409 as for tickets (site closed, queue closed,
    closing rule)."""
    if (body.customer_id is not None or body.owner_agent_id is not None) and not (
        principal.is_staff
    ):
        raise Forbidden("only staff and channel gateways may name the customer or the owner")
    customer_id = body.customer_id if principal.is_staff else principal.id
    if principal.is_staff:  # staff enter contacts at their own centre's sites only
        async with runtime.pool.acquire() as conn:
            await site_at_work(conn, runtime.store, principal, body.site_id)
    request = IssueRequest(
        site_id=body.site_id,
        queue=body.queue or DEFAULT_QUEUE[body.intake.problem_category],
        channel=Channel(body.channel),
        customer_id=customer_id,
        intake=Intake.model_validate(body.intake.model_dump()),
        person_ref=f"customer:{customer_id}" if customer_id else None,
        owner_agent_id=body.owner_agent_id,
    )
    context = context_of(principal)
    ivr_selection = body.ivr_selection if body.queue is None else None

    async def act(conn: asyncpg.Connection) -> tuple[int, Any]:
        now = runtime.clock.now()
        ticket = await receive(conn, runtime.store, request, ivr_selection, context, now)
        return 201, _contact_view(ticket)

    return await idempotent(
        runtime.pool, f"receive-contact:{principal.id}", idempotency_key, fingerprint(body), act
    )


@router.get(
    "/agents/me/contacts",
    response_model=MyContacts,
    summary="The contacts assigned to me",
    tags=["contacts"],
)
async def my_contacts(runtime: Runtime, principal: Annotated[Principal, DeskRoles]) -> MyContacts:
    """Calls, chats and emails offered to the signed-in agent (answer them by ``answer_by``
    with ``POST /tickets/{id}/start``) or being served, with the agent's limits and load."""
    async with runtime.pool.acquire() as conn:
        agent = await load_agent(conn, runtime.store, principal.id)
        require_works_with(principal, agent)
        rows = await agent_contacts(conn, principal.id)
    active: dict[str, int] = {"phone": 0, "chat": 0, "email": 0}
    for row in rows:
        active[CHANNEL_KIND[Channel(row["channel"])]] += 1
    return MyContacts(
        agent_id=principal.id,
        status=agent.status if agent.known else None,
        limits=agent.limits if agent.known else None,
        active=active,
        contacts=[
            AssignedContact(
                ticket_id=row["ticket_id"],
                number=row["number"],
                site_id=row["site_id"],
                queue=Queue(row["queue"]),
                channel=Channel(row["channel"]),
                status=row["status"],
                language=LanguagePreference(tag=row["language"], dialect=row["dialect"]),
                assigned_at=row["called_at"],
                answer_by=row["answer_by"] if row["status"] == "called" else None,
                serving_started_at=row["serving_started_at"],
                arrival_at=row["arrival_at"],
            )
            for row in rows
        ],
    )
