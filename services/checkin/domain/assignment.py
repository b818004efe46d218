"""Who gets a remote contact (phone, chat, email): pure functions, no I/O.

A contact waiting in a queue's pool is offered to one agent who

1. is **eligible**: signed in at the contact's site and available (not on a break, not serving
   a walk-in at the desk; an agent who lets a contact go unanswered is set on a break, so the
   contact goes to someone else), and may serve it by the same rules as "call next"
   (``routing.evaluate``: the queue, the language and dialect, the specialist skill, with the
   same relaxation after ``relax_after`` when nobody better is present);
2. has **room** for its channel: fewer active contacts of that kind (offered or being served)
   than the agent's limit (for example 1 call, 3 chats, 5 emails; a limit of 0 means never);
3. is chosen by the queue's **ordered rules**, each narrowing the candidates:

   - ``last_agent``: the agent who last served this customer, if a candidate;
   - ``owner_agent``: the customer's owning agent, if a candidate;
   - ``fewest_active``: those with the fewest active remote contacts (all channels);
   - ``most_free_capacity``: those with the most free places for this contact's channel;
   - ``round_robin``: the first candidate after the queue's cursor (the agent who last
     received a contact of this queue), by agent id, wrapping around.

   The first rule that leaves a single agent chose them (the event names it; with one
   candidate, the first rule that applies). A tie left after
   the last rule is broken by round robin, so the outcome is always one agent and never
   depends on input order: the cursor is derived from the events (the last
   ``contact_assigned`` of the queue) and every comparison ends on the agent id.

Nobody eligible with room: the contact stays in the pool. The pool is served in the queue's
order (``routing.queue_order``: effective wait with the priority head starts, then arrival), so
a contact that came back unanswered keeps its place (its arrival time never changes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from contracts.events.checkin import RoutingMatch
from contracts.events.checkin_agents import ChannelLimits
from contracts.events.checkin_sites import AssignmentRule, QueueSettings
from contracts.vocabulary import Channel, ServiceQueue
from services.checkin.domain.routing import (
    DEFAULT_POLICY,
    AgentSkills,
    RoutingPolicy,
    WaitingTicket,
    evaluate,
    queue_order,
)

PHONE = "phone"
CHAT = "chat"
EMAIL = "email"

CHANNEL_KIND: dict[Channel, str] = {
    Channel.PHONE: PHONE,
    Channel.CHAT_QQ: CHAT,
    Channel.CHAT_WECHAT: CHAT,
    Channel.CHAT_WEB: CHAT,
    Channel.EMAIL: EMAIL,
}

# What a queue with no rules configured does: spread the contacts evenly.
FALLBACK_RULES = (AssignmentRule.ROUND_ROBIN,)


def channel_kind(channel: Channel) -> str:
    """phone, chat (QQ, WeChat and web chats share one limit) or email."""
    try:
        return CHANNEL_KIND[channel]
    except KeyError:
        raise ValueError(f"{channel} is not a remote channel: walk-ins are called") from None


def limit_for(limits: ChannelLimits, channel: Channel) -> int:
    return int(getattr(limits, channel_kind(channel)))


def answer_window(settings: QueueSettings, channel: Channel) -> timedelta:
    """How long the agent a contact is offered to has to answer it: the queue's window for the
    contact's kind (``answer_windows``: phone, chat, email) if set, else the one window for
    every kind (``answer_within_seconds``)."""
    kind = channel_kind(channel)
    windows = settings.answer_windows
    seconds = getattr(windows, kind) if windows is not None else None
    return timedelta(seconds=settings.answer_within_seconds if seconds is None else seconds)


@dataclass(frozen=True)
class AgentLoad:
    """An agent signed in at the site, as assignment sees them."""

    skills: AgentSkills
    limits: ChannelLimits
    desk_id: str
    available: bool = True  # False: serving a walk-in at the desk (present, but not free)
    active: Mapping[str, int] = field(default_factory=dict)  # by channel kind

    @property
    def agent_id(self) -> str:
        return self.skills.agent_id

    @property
    def total_active(self) -> int:
        return sum(self.active.values())

    def free(self, channel: Channel) -> int:
        return limit_for(self.limits, channel) - self.active.get(channel_kind(channel), 0)

    def with_one_more(self, channel: Channel) -> AgentLoad:
        kind = channel_kind(channel)
        return replace(self, active={**self.active, kind: self.active.get(kind, 0) + 1})


@dataclass(frozen=True)
class Contact:
    """A remote contact waiting in the pool."""

    ticket: WaitingTicket
    channel: Channel
    site_id: str
    last_served_by: str | None = None  # the agent who last served this customer (any channel)
    owner_agent_id: str | None = None  # the customer's owning agent

    def __post_init__(self) -> None:
        channel_kind(self.channel)  # refuses a walk-in


@dataclass(frozen=True)
class Choice:
    agent_id: str
    desk_id: str
    rule: AssignmentRule
    match: RoutingMatch


@dataclass(frozen=True)
class Assignment:
    contact: Contact
    choice: Choice


def next_after(cursor: str | None, agent_ids: Sequence[str]) -> str:
    """Round robin: the first id after ``cursor`` in id order, wrapping around."""
    ordered = sorted(agent_ids)
    if cursor is not None:
        for agent_id in ordered:
            if agent_id > cursor:
                return agent_id
    return ordered[0]


def candidates(
    contact: Contact,
    agents: Sequence[AgentLoad],
    present: Sequence[AgentSkills],
    now: datetime,
    policy: RoutingPolicy = DEFAULT_POLICY,
) -> dict[str, tuple[AgentLoad, RoutingMatch]]:
    """Agents who may take the contact now, with how they match it (by agent id)."""
    found: dict[str, tuple[AgentLoad, RoutingMatch]] = {}
    for agent in agents:
        if not agent.available:
            continue
        if agent.free(contact.channel) <= 0:
            continue
        pick = evaluate(agent.skills, contact.ticket, present, now, policy)
        if pick is not None:
            found[agent.agent_id] = (agent, pick.match)
    return found


def choose_agent(
    contact: Contact,
    agents: Sequence[AgentLoad],
    rules: Sequence[AssignmentRule],
    cursor: str | None,
    present: Sequence[AgentSkills],
    now: datetime,
    policy: RoutingPolicy = DEFAULT_POLICY,
) -> Choice | None:
    """The agent the contact is offered to, and the rule that chose them; None: the pool.

    ``present``: agents signed in and not on a break at the site (full ones included): a
    language or skill relaxes only when none of them matches better. ``cursor``: the agent who
    last received a contact of the contact's queue (round robin)."""
    eligible = candidates(contact, agents, present, now, policy)
    if not eligible:
        return None
    remaining = sorted(eligible)
    for rule in [*(rules or FALLBACK_RULES), AssignmentRule.ROUND_ROBIN]:
        narrowed = _narrow(rule, remaining, eligible, contact, cursor)
        if narrowed is None:
            continue  # the rule found nobody (no last or owning agent among the candidates)
        remaining = narrowed
        if len(remaining) == 1:
            agent, match = eligible[remaining[0]]
            return Choice(agent.agent_id, agent.desk_id, rule, match)
    raise AssertionError("round robin always settles")  # pragma: no cover


def _narrow(
    rule: AssignmentRule,
    remaining: list[str],
    eligible: Mapping[str, tuple[AgentLoad, RoutingMatch]],
    contact: Contact,
    cursor: str | None,
) -> list[str] | None:
    """The candidates the rule keeps; None when a rule that looks for one person (the last
    or the owning agent) does not find them among the candidates."""
    match rule:
        case AssignmentRule.LAST_AGENT:
            wanted = contact.last_served_by
            return [wanted] if wanted in remaining else None
        case AssignmentRule.OWNER_AGENT:
            wanted = contact.owner_agent_id
            return [wanted] if wanted in remaining else None
        case AssignmentRule.FEWEST_ACTIVE:
            fewest = min(eligible[a][0].total_active for a in remaining)
            return [a for a in remaining if eligible[a][0].total_active == fewest]
        case AssignmentRule.MOST_FREE_CAPACITY:
            most = max(eligible[a][0].free(contact.channel) for a in remaining)
            return [a for a in remaining if eligible[a][0].free(contact.channel) == most]
        case AssignmentRule.ROUND_ROBIN:
            return [next_after(cursor, remaining)]
    raise TypeError(f"unknown rule {rule!r}")  # pragma: no cover


def pool_order(
    contacts: Sequence[Contact], now: datetime, policy: RoutingPolicy = DEFAULT_POLICY
) -> list[Contact]:
    """The order in which the pool is offered: the queue's order, across its queues."""
    by_id = {contact.ticket.ticket_id: contact for contact in contacts}
    return [by_id[t.ticket_id] for t in queue_order([c.ticket for c in contacts], now, policy)]


def plan_assignments(
    pool: Sequence[Contact],
    agents: Sequence[AgentLoad],
    rules: Mapping[ServiceQueue, Sequence[AssignmentRule]],
    cursors: Mapping[ServiceQueue, str],
    present: Sequence[AgentSkills],
    now: datetime,
    policy: RoutingPolicy = DEFAULT_POLICY,
) -> list[Assignment]:
    """Offer the pool, in order, to the agents with room; each assignment takes a place of the
    agent's limit and moves the queue's cursor before the next contact is considered. What is
    left out stays in the pool."""
    loads = {agent.agent_id: agent for agent in agents}
    moved = dict(cursors)
    planned: list[Assignment] = []
    for contact in pool_order(pool, now, policy):
        queue = contact.ticket.queue
        choice = choose_agent(
            contact,
            list(loads.values()),
            rules.get(queue, FALLBACK_RULES),
            moved.get(queue),
            present,
            now,
            policy,
        )
        if choice is None:
            continue
        planned.append(Assignment(contact, choice))
        loads[choice.agent_id] = loads[choice.agent_id].with_one_more(contact.channel)
        moved[queue] = choice.agent_id
    return planned
