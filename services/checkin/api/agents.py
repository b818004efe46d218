"""HTTP API of agents: profiles (supervisors), signing in at a desk or remote position,
breaks, signing out, and calling the next ticket routing picks for the agent's desk.

An organization's administrator or supervisor sets its agents' profiles; those agents work
only at its sites, and nobody else sees them (``api/roles.py``)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.events.checkin_agents import AgentStatus, ChannelLimits
from contracts.vocabulary import LanguagePreference, Skill
from contracts.vocabulary import ServiceQueue as Queue
from runtime.auth import Principal
from runtime.commands import command
from runtime.errors import NotFound
from runtime.service import Runtime, ServiceRuntime
from services.checkin.api.roles import (
    DeskRoles,
    StaffRoles,
    SupervisorRoles,
    context_of,
    require_self_or_supervisor,
    require_works_with,
)
from services.checkin.api.tickets import CalledView, ReasonRequest, view_of
from services.checkin.application.agents import change_agent, load_agent
from services.checkin.application.agents import set_profile as set_agent_profile
from services.checkin.application.agents import sign_in as sign_in_at_desk
from services.checkin.application.assignment import step_away
from services.checkin.application.tickets import call_next as call_next_ticket
from services.checkin.domain.agents import (
    Agent,
    AgentCommand,
    EndBreak,
    SetProfile,
    SignIn,
    SignOut,
    TakeBreak,
)
from services.checkin.projections import agent_states

router = APIRouter()

AgentId = Annotated[str, Path(max_length=200)]


class ProfileRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    queues: list[Queue] = Field(min_length=1, max_length=len(Queue))
    specialist_skills: list[Skill] = Field(default_factory=list, max_length=20)
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
    organization_id: UUID | None = Field(
        default=None, description="The organization whose agent this is; null: ours."
    )


class AgentSummary(BaseModel):
    agent_id: str
    status: AgentStatus
    site_id: str | None
    desk_id: str | None
    queues: list[Queue]
    organization_id: UUID | None = Field(
        description="The organization whose agent this is; null: ours."
    )


def agent_view(agent: Agent) -> AgentView:
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
        organization_id=agent.organization_id,
    )


async def _works_with(runtime: ServiceRuntime, principal: Principal, agent_id: str) -> None:
    """Another centre's agent is 404 (an agent's organization never changes once set)."""
    async with runtime.pool.acquire() as conn:
        require_works_with(principal, await load_agent(conn, runtime.store, agent_id))


async def _agent_change(
    runtime: ServiceRuntime, principal: Principal, agent_id: str, action: AgentCommand
) -> AgentView:
    await _works_with(runtime, principal, agent_id)
    context = context_of(principal)
    agent = await command(
        runtime.pool, lambda conn: change_agent(conn, runtime.store, agent_id, action, context)
    )
    return agent_view(agent)


async def _step_away(
    runtime: ServiceRuntime, principal: Principal, agent_id: str, action: TakeBreak | SignOut
) -> AgentView:
    """A break or a sign-out, releasing the remote contacts offered and not answered."""
    await _works_with(runtime, principal, agent_id)
    context = context_of(principal)
    now = action.at
    agent = await command(
        runtime.pool,
        lambda conn: step_away(conn, runtime.store, agent_id, action, now, context),
    )
    return agent_view(agent)


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
    action = SetProfile(
        agent_id=agent_id,
        queues=tuple(body.queues),
        specialist_skills=tuple(body.specialist_skills),
        languages=tuple(body.languages),
        limits=body.limits,
        at=runtime.clock.now(),
        organization_id=principal.organization,
    )
    await _works_with(runtime, principal, agent_id)
    context = context_of(principal)
    agent = await command(
        runtime.pool, lambda conn: set_agent_profile(conn, runtime.store, agent_id, action, context)
    )
    return agent_view(agent)


@router.get(
    "/agents", response_model=list[AgentSummary], tags=["agents"], summary="My centre's agents"
)
async def list_agents(
    runtime: Runtime, principal: Annotated[Principal, SupervisorRoles]
) -> list[AgentSummary]:
    """The agents of the caller's own contact centre (an organization's supervisors and
    administrators: their organization's; the platform's: the platform's), by id, at most
    1000, with where they are and what they do, from the ``agent_states`` read model."""
    async with runtime.pool.acquire() as conn:
        rows = await agent_states.centre_agents(conn, principal.organization)
    return [
        AgentSummary(
            agent_id=row["agent_id"],
            status=AgentStatus(row["status"]),
            site_id=row["site_id"],
            desk_id=row["desk_id"],
            queues=sorted(Queue(q) for q in row["queues"]),
            organization_id=row["organization_id"],
        )
        for row in rows
    ]


@router.get("/agents/{agent_id}", response_model=AgentView, tags=["agents"], summary="An agent")
async def get_agent(
    agent_id: AgentId, runtime: Runtime, principal: Annotated[Principal, StaffRoles]
) -> AgentView:
    async with runtime.pool.acquire() as conn:
        agent = await load_agent(conn, runtime.store, agent_id)
    require_works_with(principal, agent)
    return agent_view(agent)


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
    require_self_or_supervisor(principal, agent_id)
    await _works_with(runtime, principal, agent_id)
    context = context_of(principal)
    action = SignIn(site_id=body.site_id, desk_id=body.desk_id, at=runtime.clock.now())
    agent = await command(
        runtime.pool, lambda conn: sign_in_at_desk(conn, runtime.store, agent_id, action, context)
    )
    return agent_view(agent)


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
    require_self_or_supervisor(principal, agent_id)
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
    require_self_or_supervisor(principal, agent_id)
    return await _agent_change(runtime, principal, agent_id, EndBreak(at=runtime.clock.now()))


@router.post(
    "/agents/{agent_id}/sign-out", response_model=AgentView, tags=["agents"], summary="Sign out"
)
async def sign_out(
    agent_id: AgentId, runtime: Runtime, principal: Annotated[Principal, DeskRoles]
) -> AgentView:
    """As for a break: the contacts offered and not answered yet go back to the pool at once."""
    require_self_or_supervisor(principal, agent_id)
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
    require_self_or_supervisor(principal, agent_id)
    await _works_with(runtime, principal, agent_id)
    context = context_of(principal)
    now = runtime.clock.now()
    called = await command(
        runtime.pool, lambda conn: call_next_ticket(conn, runtime.store, agent_id, now, context)
    )
    if called is None:
        return Response(status_code=204)
    ticket, match = called
    return CalledView(**view_of(ticket).model_dump(), match=match)
