"""Read model ``queue_tickets``: who waits where, rebuilt from frontdesk.checkin.tickets."""

from __future__ import annotations

import asyncpg

from contracts.events.checkin import TicketCalled, TicketIssued, TicketLeft
from contracts.topics import CHECKIN_TICKETS
from runtime.consumer import ConsumerGroup, ReceivedEvent
from runtime.eventstore import EventStore


async def on_ticket_issued(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    issued = event.payload
    assert isinstance(issued, TicketIssued)
    await conn.execute(
        """INSERT INTO queue_tickets (ticket_id, site_id, queue, number, channel, status,
               problem_category, language, issued_at)
           VALUES ($1, $2, $3, $4, $5, 'waiting', $6, $7, $8)
           ON CONFLICT (ticket_id) DO NOTHING""",
        issued.ticket_id,
        issued.site_id,
        issued.queue.value,
        issued.number,
        issued.channel.value,
        issued.intake.problem_category.value,
        issued.intake.language.tag,
        issued.issued_at,
    )


async def on_ticket_called(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    called = event.payload
    assert isinstance(called, TicketCalled)
    await conn.execute(
        "UPDATE queue_tickets SET status = 'called', desk_id = $2, called_at = $3 "
        "WHERE ticket_id = $1",
        called.ticket_id,
        called.desk_id,
        called.called_at,
    )


async def on_ticket_left(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    left = event.payload
    assert isinstance(left, TicketLeft)
    await conn.execute(
        "UPDATE queue_tickets SET status = 'left', ended_at = $2 WHERE ticket_id = $1",
        left.ticket_id,
        left.left_at,
    )


def consumer_groups(store: EventStore) -> list[ConsumerGroup]:
    return [
        ConsumerGroup(
            name="checkin.projections",
            topics=[CHECKIN_TICKETS],
            handlers={
                "checkin.ticket_issued": on_ticket_issued,
                "checkin.ticket_called": on_ticket_called,
                "checkin.ticket_left": on_ticket_left,
            },
            read_models=("queue_tickets",),
            description="Keeps the queue read model (who waits where).",
        )
    ]
