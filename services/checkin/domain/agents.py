"""The agent aggregate: what an agent may serve, where they sit, what they are doing.

offline -> (sign in at a desk) available <-> serving, available <-> on break -> (sign out)
offline. Serving is entered when a ticket is called to the agent's desk and left when it ends.

An agent is the platform's (``organization_id`` None) or a verified organization's: recorded by
the first profile, never changed. An organization's agent signs in only at its organization's
sites (so remote contacts, assigned per site, reach only its organization's agents), and only
its organization's staff set its profile (anyone else: "no such agent").
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from uuid import UUID

from contracts.base import EventPayload
from contracts.events.checkin_agents import (
    AgentProfileSet,
    AgentSignedIn,
    AgentSignedOut,
    AgentStatus,
    AgentStatusChanged,
    ChannelLimits,
)
from contracts.events.checkin_sites import DeskKind
from contracts.vocabulary import LanguagePreference, ServiceQueue
from runtime.aggregate import AggregateType, Snapshots
from runtime.errors import NotFound, RuleViolation
from runtime.organizations import VerifiedOrganization, require_verified
from services.checkin.domain.sites import Site


@dataclass(frozen=True)
class Agent:
    agent_id: str | None = None
    queues: frozenset[ServiceQueue] = frozenset()
    specialist_skills: frozenset[str] = frozenset()
    languages: tuple[LanguagePreference, ...] = ()
    limits: ChannelLimits = field(default_factory=ChannelLimits)
    status: AgentStatus = AgentStatus.OFFLINE
    site_id: str | None = None
    desk_id: str | None = None
    remote: bool = False
    ticket_id: UUID | None = None
    status_since: datetime | None = None
    organization_id: UUID | None = None  # whose agent (None: the platform's)

    @property
    def known(self) -> bool:
        return self.agent_id is not None


@dataclass(frozen=True)
class SetProfile:
    agent_id: str
    queues: tuple[ServiceQueue, ...]
    specialist_skills: tuple[str, ...]
    languages: tuple[LanguagePreference, ...]
    limits: ChannelLimits
    at: datetime
    organization_id: UUID | None = None  # the acting staff's organization (None: platform)


@dataclass(frozen=True)
class SignIn:
    site_id: str
    desk_id: str
    at: datetime


@dataclass(frozen=True)
class TakeBreak:
    at: datetime
    reason: str | None = None


@dataclass(frozen=True)
class EndBreak:
    at: datetime


@dataclass(frozen=True)
class SignOut:
    at: datetime


@dataclass(frozen=True)
class BeginServing:
    ticket_id: UUID
    at: datetime


@dataclass(frozen=True)
class EndServing:
    ticket_id: UUID
    at: datetime
    reason: str


@dataclass(frozen=True)
class AgentFacts:
    """What the application gathered before an agent command: signing in, the site (``None``:
    never configured) and who else is signed in at the desk; setting a profile, the acting
    organization as verification verified it."""

    site: Site | None = None
    desk_taken_by: str | None = None
    verified: VerifiedOrganization | None = None


NO_FACTS = AgentFacts()

AgentCommand = SetProfile | SignIn | TakeBreak | EndBreak | SignOut | BeginServing | EndServing


def decide_agent(agent: Agent, facts: AgentFacts, command: AgentCommand) -> list[EventPayload]:
    match command:
        case SetProfile():
            if agent.known and agent.organization_id != command.organization_id:
                raise NotFound("no such agent")  # another's agent: not even that it exists
            require_verified(command.organization_id, facts.verified)
            return [
                AgentProfileSet(
                    agent_id=command.agent_id,
                    queues=sorted(set(command.queues)),
                    specialist_skills=sorted(set(command.specialist_skills)),
                    languages=list(command.languages),
                    limits=command.limits,
                    set_at=command.at,
                    organization_id=command.organization_id,
                )
            ]
        case SignIn():
            site = facts.site
            if site is None or not site.configured or site.organization_id != agent.organization_id:
                # only at a site of the agent's own organization (or the platform's, for its own)
                raise NotFound(f"no such site {command.site_id}")
            desk = site.desks.get(command.desk_id)
            if desk is None:
                raise RuleViolation(f"site {command.site_id} has no desk {command.desk_id}")
            if facts.desk_taken_by:
                raise RuleViolation(
                    f"desk {command.desk_id} is taken by agent {facts.desk_taken_by}"
                )
            _require_known(agent)
            if agent.status is not AgentStatus.OFFLINE:
                raise RuleViolation(
                    f"agent {agent.agent_id} is already signed in at {agent.site_id}/"
                    f"{agent.desk_id}: sign out first"
                )
            return [
                AgentSignedIn(
                    agent_id=agent.agent_id or "",
                    site_id=command.site_id,
                    desk_id=command.desk_id,
                    remote=desk.kind is DeskKind.REMOTE_POSITION,
                    signed_in_at=command.at,
                )
            ]
        case TakeBreak():
            _require_status(agent, {AgentStatus.AVAILABLE}, "take a break")
            return [_status(agent, AgentStatus.ON_BREAK, command.at, reason=command.reason)]
        case EndBreak():
            _require_status(agent, {AgentStatus.ON_BREAK}, "end a break")
            return [_status(agent, AgentStatus.AVAILABLE, command.at)]
        case SignOut():
            _require_status(agent, {AgentStatus.AVAILABLE, AgentStatus.ON_BREAK}, "sign out")
            return [
                AgentSignedOut(
                    agent_id=agent.agent_id or "",
                    site_id=agent.site_id or "",
                    desk_id=agent.desk_id or "",
                    signed_out_at=command.at,
                )
            ]
        case BeginServing():
            _require_status(agent, {AgentStatus.AVAILABLE}, "take a ticket")
            return [_status(agent, AgentStatus.SERVING, command.at, ticket_id=command.ticket_id)]
        case EndServing():
            if agent.status is not AgentStatus.SERVING or agent.ticket_id != command.ticket_id:
                return []  # the agent already moved on (e.g. a supervisor ended the ticket)
            return [
                _status(
                    agent,
                    AgentStatus.AVAILABLE,
                    command.at,
                    ticket_id=command.ticket_id,
                    reason=command.reason,
                )
            ]
    raise TypeError(f"unknown command {command!r}")


def require_free_to_call(agent: Agent, agent_id: str) -> None:
    """Calling the next ticket: the agent has a profile and is available at a desk."""
    if not agent.known:
        raise NotFound("no such agent (a supervisor sets the agent's profile first)")
    if agent.status is not AgentStatus.AVAILABLE:
        detail = f" with ticket {agent.ticket_id}" if agent.ticket_id else ""
        raise RuleViolation(f"cannot call next: agent {agent_id} is {agent.status}{detail}")


def _status(
    agent: Agent,
    status: AgentStatus,
    at: datetime,
    *,
    ticket_id: UUID | None = None,
    reason: str | None = None,
) -> AgentStatusChanged:
    return AgentStatusChanged(
        agent_id=agent.agent_id or "",
        status=status,
        previous=agent.status,
        ticket_id=ticket_id,
        reason=reason,
        changed_at=at,
    )


def _require_known(agent: Agent) -> None:
    if not agent.known:
        raise NotFound("no such agent (a supervisor sets the agent's profile first)")


def _require_status(agent: Agent, allowed: set[AgentStatus], action: str) -> None:
    _require_known(agent)
    if agent.status not in allowed:
        detail = f" (ticket {agent.ticket_id})" if agent.ticket_id else ""
        raise RuleViolation(f"cannot {action}: agent {agent.agent_id} is {agent.status}{detail}")


def evolve_agent(agent: Agent, event: EventPayload) -> Agent:
    match event:
        case AgentProfileSet():
            return replace(
                agent,
                agent_id=event.agent_id,
                queues=frozenset(event.queues),
                specialist_skills=frozenset(event.specialist_skills),
                languages=tuple(event.languages),
                limits=event.limits,
                organization_id=agent.organization_id if agent.known else event.organization_id,
            )
        case AgentSignedIn():
            return replace(
                agent,
                status=AgentStatus.AVAILABLE,
                site_id=event.site_id,
                desk_id=event.desk_id,
                remote=event.remote,
                ticket_id=None,
                status_since=event.signed_in_at,
            )
        case AgentStatusChanged():
            return replace(
                agent,
                status=event.status,
                ticket_id=event.ticket_id if event.status is AgentStatus.SERVING else None,
                status_since=event.changed_at,
            )
        case AgentSignedOut():
            return replace(
                agent,
                status=AgentStatus.OFFLINE,
                site_id=None,
                desk_id=None,
                remote=False,
                ticket_id=None,
                status_since=event.signed_out_at,
            )
    return agent


# An agent's stream grows all day (two status events per visitor): keep a snapshot
# (version 2: the state records its organization).
AGENT = AggregateType[Agent]("agent", Agent, evolve_agent, snapshots=Snapshots(version=2, every=20))
