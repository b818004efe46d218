"""Agents: profiles, signing in at a desk, breaks, signing out; the command-side agent index.

An agent's stream grows all day (two status events per visitor served): the aggregate keeps
snapshots (``domain.agents.AGENT``), so a command loads it in O(1) of its history. The
``agent_index`` row (routing reads it: who is present where, with which skills and limits) is
kept by an after-append hook in the same transaction as every append, so routing is never
behind what was decided.
"""

from __future__ import annotations

import asyncpg

from contracts.vocabulary import LanguagePreference, ServiceQueue
from runtime.context import CommandContext
from runtime.eventstore import EventStore
from runtime.organizations import verified_organization
from runtime.repository import Executed, Repository
from services.checkin.application.sites import load_site
from services.checkin.domain.agents import (
    AGENT,
    NO_FACTS,
    Agent,
    AgentCommand,
    AgentFacts,
    SetProfile,
    SignIn,
    decide_agent,
)
from services.checkin.domain.routing import AgentSkills


def agent_stream(agent_id: str) -> str:
    return f"agent-{agent_id}"


def agents(store: EventStore) -> Repository[Agent]:
    return Repository(store, AGENT, after_append=[index_agent])


async def load_agent(conn: asyncpg.Connection, store: EventStore, agent_id: str) -> Agent:
    return await agents(store).state(conn, agent_stream(agent_id))


async def change_agent(
    conn: asyncpg.Connection,
    store: EventStore,
    agent_id: str,
    command: AgentCommand,
    context: CommandContext,
    facts: AgentFacts = NO_FACTS,
) -> Agent:
    """Apply an agent command that needs no facts beyond the agent (or the ones given)."""
    executed = await agents(store).execute(
        conn, agent_stream(agent_id), lambda agent: decide_agent(agent, facts, command), context
    )
    return executed.state


async def set_profile(
    conn: asyncpg.Connection,
    store: EventStore,
    agent_id: str,
    command: SetProfile,
    context: CommandContext,
) -> Agent:
    """Set what an agent may serve; the fact: the acting organization, as verified."""
    verified = await verified_organization(conn, command.organization_id)
    facts = AgentFacts(verified=verified)
    return await change_agent(conn, store, agent_id, command, context, facts)


async def sign_in(
    conn: asyncpg.Connection,
    store: EventStore,
    agent_id: str,
    command: SignIn,
    context: CommandContext,
) -> Agent:
    """Sign in at a desk or remote position; the facts: the site (its desks) and whoever else
    is signed in at that desk."""
    site = await load_site(conn, store, command.site_id)
    taken = await desk_holder(conn, command.site_id, command.desk_id, agent_id)
    facts = AgentFacts(site=site if site.configured else None, desk_taken_by=taken)
    return await change_agent(conn, store, agent_id, command, context, facts)


async def index_agent(
    conn: asyncpg.Connection, executed: Executed[Agent], context: CommandContext
) -> None:
    """The agent's routing row: a pure function of its state, written with every append."""
    agent = executed.state
    await conn.execute(
        """INSERT INTO agent_index (agent_id, site_id, desk_id, remote, status, queues, skills,
               languages, limits, ticket_id, status_since, version)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
           ON CONFLICT (agent_id) DO UPDATE SET site_id = EXCLUDED.site_id,
               desk_id = EXCLUDED.desk_id, remote = EXCLUDED.remote, status = EXCLUDED.status,
               queues = EXCLUDED.queues, skills = EXCLUDED.skills,
               languages = EXCLUDED.languages, limits = EXCLUDED.limits,
               ticket_id = EXCLUDED.ticket_id, status_since = EXCLUDED.status_since,
               version = EXCLUDED.version""",
        agent.agent_id,
        agent.site_id,
        agent.desk_id,
        agent.remote,
        agent.status.value,
        sorted(q.value for q in agent.queues),
        sorted(agent.specialist_skills),
        [language.model_dump() for language in agent.languages],
        agent.limits.model_dump(),
        agent.ticket_id,
        agent.status_since,
        executed.version,
    )


def skills_of(row: asyncpg.Record) -> AgentSkills:
    """What an agent may serve, from their index row."""
    return AgentSkills(
        agent_id=row["agent_id"],
        queues=frozenset(ServiceQueue(q) for q in row["queues"]),
        specialist_skills=frozenset(row["skills"]),
        languages=tuple(LanguagePreference.model_validate(x) for x in row["languages"]),
    )


async def present_agents(conn: asyncpg.Connection, site_id: str) -> list[asyncpg.Record]:
    """Agents signed in at the site and not on break."""
    return await conn.fetch(  # type: ignore[no-any-return]
        "SELECT * FROM agent_index WHERE site_id = $1 AND status IN ('available', 'serving') "
        "ORDER BY agent_id",
        site_id,
    )


async def desk_holder(
    conn: asyncpg.Connection, site_id: str, desk_id: str, agent_id: str
) -> str | None:
    """Another agent signed in at the desk, if any."""
    return await conn.fetchval(  # type: ignore[no-any-return]
        "SELECT agent_id FROM agent_index WHERE site_id = $1 AND desk_id = $2 "
        "AND status <> 'offline' AND agent_id <> $3",
        site_id,
        desk_id,
        agent_id,
    )
