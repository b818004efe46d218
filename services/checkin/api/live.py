"""Live views of check-in as server-sent event streams (runtime.streams): the display board,
a customer's own ticket, an agent's console and the supervisor's wall.

Read-only: each view is a read of services/checkin/projections/live_views.py. Authorization
is the JSON endpoints': the board shows numbers and desks only, to staff and service callers
(the board screen's own account); a customer sees only their own ticket (any other is "not
found", with no hint that it exists); an agent sees their own console, a supervisor anyone's.
Staff see only their own centre's sites, agents and tickets (an organization's staff their
organization's; ``api/roles.py``).
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Request

from runtime.auth import STAFF_ROLES, Forbidden, Principal, require_roles
from runtime.errors import NotFound
from runtime.service import Runtime
from runtime.streams import EventStream, live
from services.checkin.api.roles import require_works_at, require_works_with, site_at_work
from services.checkin.application.agents import load_agent
from services.checkin.application.sites import load_site
from services.checkin.projections.live_views import (
    agent_view,
    board_view,
    ticket_row,
    ticket_view,
    wall_view,
)

router = APIRouter(tags=["live"])

BoardRoles = require_roles(*STAFF_ROLES, "service", organizations=True)
TicketRoles = require_roles("customer", *STAFF_ROLES, "service", organizations=True)
DeskRoles = require_roles("agent", "specialist", "supervisor", organizations=True)
SupervisorRoles = require_roles("supervisor", "admin", organizations=True)

SiteId = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
AgentId = Annotated[str, Path(max_length=200)]


# -- routes -----------------------------------------------------------------------------------


@router.get(
    "/sites/{site_id}/board/live",
    summary="The display board, pushed (text/event-stream)",
    response_class=EventStream,
)
async def board_stream(
    site_id: SiteId,
    request: Request,
    runtime: Runtime,
    principal: Annotated[Principal, BoardRoles],
) -> EventStream:
    """Events ``board``: the board's view each time it changes (id = its version; send it
    back as ``Last-Event-ID`` to resume)."""
    async with runtime.pool.acquire() as conn:
        await site_at_work(conn, runtime.store, principal, site_id)

    async def read() -> dict[str, Any]:
        async with runtime.pool.acquire() as conn:
            return await board_view(conn, site_id, runtime.clock.now())

    return await live(request, f"board:{site_id}", read, event="board")


@router.get(
    "/tickets/{ticket_id}/live",
    summary="My ticket, pushed (text/event-stream)",
    response_class=EventStream,
)
async def ticket_stream(
    ticket_id: UUID,
    request: Request,
    runtime: Runtime,
    principal: Annotated[Principal, TicketRoles],
) -> EventStream:
    """Events ``ticket``: position, the wait's range, you're next, called to desk N, a
    callback kept. Customers: their own tickets only."""
    async with runtime.pool.acquire() as conn:
        row = await ticket_row(conn, ticket_id)
        if row is None or (not principal.is_staff and row["customer_id"] != principal.id):
            raise NotFound(f"ticket {ticket_id} not found")
        site = await load_site(conn, runtime.store, row["site_id"])
    require_works_at(principal, site, f"ticket {ticket_id} not found")

    async def read() -> dict[str, Any]:
        async with runtime.pool.acquire() as conn:
            return await ticket_view(conn, ticket_id, runtime.clock.now())

    return await live(request, f"ticket:{ticket_id}", read, event="ticket")


@router.get(
    "/agents/{agent_id}/live",
    summary="An agent's console, pushed (text/event-stream)",
    response_class=EventStream,
)
async def agent_stream(
    agent_id: AgentId,
    request: Request,
    runtime: Runtime,
    principal: Annotated[Principal, DeskRoles],
) -> EventStream:
    """Events ``console``: assigned tickets and remote contacts, the agent's queues' counts,
    the tickets parked in them. Agents: their own console; supervisors: anyone's."""
    if principal.id != agent_id and not principal.has_any("supervisor", "admin"):
        raise Forbidden("agents act only for themselves; supervisors for anyone")
    async with runtime.pool.acquire() as conn:
        require_works_with(principal, await load_agent(conn, runtime.store, agent_id))

    async def read() -> dict[str, Any]:
        async with runtime.pool.acquire() as conn:
            return await agent_view(conn, agent_id)

    return await live(request, f"agent:{agent_id}", read, event="console")


@router.get(
    "/sites/{site_id}/dashboard/live",
    summary="The supervisor's wall, pushed (text/event-stream)",
    response_class=EventStream,
)
async def wall_stream(
    site_id: SiteId,
    request: Request,
    runtime: Runtime,
    principal: Annotated[Principal, SupervisorRoles],
) -> EventStream:
    """Events ``dashboard``: the supervisor dashboard's view each time it changes."""
    async with runtime.pool.acquire() as conn:
        await site_at_work(conn, runtime.store, principal, site_id)

    async def read() -> dict[str, Any]:
        async with runtime.pool.acquire() as conn:
            return await wall_view(conn, site_id, runtime.clock.now())

    return await live(request, f"dashboard:{site_id}", read, event="dashboard")
