"""The ``agent_states`` read model: where each agent is and what they are doing (the
supervisor's dashboard, the list of a centre's agents). A row depends on one agent's events
only; times come from the payloads."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from contracts.events.checkin_agents import (
    AgentProfileSet,
    AgentSignedIn,
    AgentSignedOut,
    AgentStatusChanged,
)
from runtime.consumer import EventHandler, ReceivedEvent

TABLES = ("agent_states",)


async def on_profile(conn: asyncpg.Connection, event: ReceivedEvent[AgentProfileSet]) -> None:
    e = event.payload
    await conn.execute(
        """INSERT INTO agent_states (agent_id, status, queues, languages, organization_id)
           VALUES ($1, 'offline', $2, $3, $4)
           ON CONFLICT (agent_id) DO UPDATE SET queues = EXCLUDED.queues,
               languages = EXCLUDED.languages""",
        e.agent_id,
        sorted(q.value for q in e.queues),
        [language.model_dump() for language in e.languages],
        e.organization_id,  # the first profile's: an agent's organization never changes
    )


async def on_signed_in(conn: asyncpg.Connection, event: ReceivedEvent[AgentSignedIn]) -> None:
    e = event.payload
    await conn.execute(
        """UPDATE agent_states SET status = 'available', site_id = $2, desk_id = $3,
               ticket_id = NULL, status_since = $4 WHERE agent_id = $1""",
        e.agent_id,
        e.site_id,
        e.desk_id,
        e.signed_in_at,
    )


async def on_status(conn: asyncpg.Connection, event: ReceivedEvent[AgentStatusChanged]) -> None:
    e = event.payload
    await conn.execute(
        "UPDATE agent_states SET status = $2, ticket_id = $3, status_since = $4 "
        "WHERE agent_id = $1",
        e.agent_id,
        e.status.value,
        e.ticket_id if e.status.value == "serving" else None,
        e.changed_at,
    )


async def on_signed_out(conn: asyncpg.Connection, event: ReceivedEvent[AgentSignedOut]) -> None:
    e = event.payload
    await conn.execute(
        """UPDATE agent_states SET status = 'offline', site_id = NULL, desk_id = NULL,
               ticket_id = NULL, status_since = $2 WHERE agent_id = $1""",
        e.agent_id,
        e.signed_out_at,
    )


async def centre_agents(
    conn: asyncpg.Connection, organization_id: UUID | None, every_centre: bool = False
) -> list[asyncpg.Record]:
    """The agents of one contact centre (an organization's, or the platform's: None), by id;
    ``every_centre``: all of them (a service)."""
    return await conn.fetch(  # type: ignore[no-any-return]
        """SELECT agent_id, status, site_id, desk_id, queues, organization_id
           FROM agent_states WHERE $2 OR organization_id IS NOT DISTINCT FROM $1
           ORDER BY agent_id LIMIT 1000""",
        organization_id,
        every_centre,
    )


handlers: dict[type[Any], EventHandler] = {
    AgentProfileSet: on_profile,
    AgentSignedIn: on_signed_in,
    AgentStatusChanged: on_status,
    AgentSignedOut: on_signed_out,
}
