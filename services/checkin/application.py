"""Check-in use cases: load, decide, append — each inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from runtime.eventstore import CommandContext, EventStore, execute
from services.checkin.domain import TICKET, CallTicket, IssueTicket, LeaveQueue, Ticket, decide


def ticket_stream(ticket_id: UUID) -> str:
    return f"ticket-{ticket_id}"


async def next_sequence(conn: asyncpg.Connection, site_id: str, queue: str, at: datetime) -> int:
    return await conn.fetchval(  # type: ignore[no-any-return]
        """INSERT INTO ticket_counters (site_id, queue, day, last_number)
           VALUES ($1, $2, $3, 1)
           ON CONFLICT (site_id, queue, day)
           DO UPDATE SET last_number = ticket_counters.last_number + 1
           RETURNING last_number""",
        site_id,
        queue,
        at.date(),
    )


async def issue_ticket(
    conn: asyncpg.Connection, store: EventStore, command: IssueTicket, context: CommandContext
) -> Ticket:
    ticket, _ = await execute(
        conn,
        store,
        TICKET,
        ticket_stream(command.ticket_id),
        lambda state: decide(state, command),
        context,
    )
    return ticket


async def change_ticket(
    conn: asyncpg.Connection,
    store: EventStore,
    ticket_id: UUID,
    command: CallTicket | LeaveQueue,
    context: CommandContext,
) -> Ticket:
    ticket, _ = await execute(
        conn, store, TICKET, ticket_stream(ticket_id), lambda state: decide(state, command), context
    )
    return ticket


async def load_ticket(conn: asyncpg.Connection, store: EventStore, ticket_id: UUID) -> Ticket:
    history = await store.load(conn, ticket_stream(ticket_id))
    return TICKET.fold([event.payload for event in history])
