"""The ``agent_states`` read model: where each agent is and what they are doing (the
supervisor's dashboard). A row depends on one agent's events only; times come from the
payloads."""

from __future__ import annotations

from typing import Any

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
        """INSERT INTO agent_states (agent_id, status, queues, languages)
           VALUES ($1, 'offline', $2, $3)
           ON CONFLICT (agent_id) DO UPDATE SET queues = EXCLUDED.queues,
               languages = EXCLUDED.languages""",
        e.agent_id,
        sorted(q.value for q in e.queues),
        [language.model_dump() for language in e.languages],
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


handlers: dict[type[Any], EventHandler] = {
    AgentProfileSet: on_profile,
    AgentSignedIn: on_signed_in,
    AgentStatusChanged: on_status,
    AgentSignedOut: on_signed_out,
}
