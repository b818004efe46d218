"""The ``queue_tickets`` read model: every ticket, its state, times, estimates and outcome
(queue board, supervisor dashboard, estimate accuracy; ``application.board``).

Each handler is a deterministic function of the event (times come from the payload, never
from a clock), and each row depends on one ticket's events only, so the order Kafka
interleaves partitions in does not matter.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from contracts.events.checkin import (
    ContactAssigned,
    ContactUnanswered,
    TicketCallbackRequested,
    TicketCalled,
    TicketCompleted,
    TicketIssued,
    TicketLeft,
    TicketNoShow,
    TicketParked,
    TicketPositionChanged,
    TicketPriorityRaised,
    TicketRecalled,
    TicketReturned,
    TicketServingStarted,
    TicketTransferred,
    TicketWaitEstimated,
    UnansweredReason,
)
from runtime.consumer import EventHandler, ReceivedEvent

TABLES = ("queue_tickets",)


async def on_issued(conn: asyncpg.Connection, event: ReceivedEvent[TicketIssued]) -> None:
    e = event.payload
    estimate = e.estimate.model_dump(mode="json") if e.estimate else None
    await conn.execute(
        """INSERT INTO queue_tickets (ticket_id, site_id, queue, number, channel, status,
               problem_category, language, dialect, issued_at, service_day, accessibility,
               appointment_start, appointment_end, first_estimate, estimate)
           VALUES ($1, $2, $3, $4, $5, 'waiting', $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)
           ON CONFLICT (ticket_id) DO NOTHING""",
        e.ticket_id,
        e.site_id,
        e.queue.value,
        e.number,
        e.channel.value,
        e.intake.problem_category.value,
        e.intake.language.tag,
        e.intake.language.dialect,
        e.issued_at,
        e.service_day or e.issued_at.date(),
        bool(e.intake.accessibility_needs),
        e.appointment.slot_start if e.appointment else None,
        e.appointment.slot_end if e.appointment else None,
        estimate,
    )


async def on_called(conn: asyncpg.Connection, event: ReceivedEvent[TicketCalled]) -> None:
    e = event.payload
    relaxed = e.match.explanation if e.match and e.match.relaxed else None
    await conn.execute(
        """UPDATE queue_tickets SET status = 'called', desk_id = $2, agent_id = $3,
               called_at = $4, first_called_at = coalesce(first_called_at, $4),
               relaxed = coalesce($5, relaxed)
           WHERE ticket_id = $1""",
        e.ticket_id,
        e.desk_id,
        e.agent_id,
        e.called_at,
        relaxed,
    )


async def on_recalled(conn: asyncpg.Connection, event: ReceivedEvent[TicketRecalled]) -> None:
    e = event.payload
    await conn.execute(
        "UPDATE queue_tickets SET recalls = $2 WHERE ticket_id = $1", e.ticket_id, e.recall_number
    )


async def on_serving(conn: asyncpg.Connection, event: ReceivedEvent[TicketServingStarted]) -> None:
    e = event.payload
    await conn.execute(
        "UPDATE queue_tickets SET status = 'serving', serving_started_at = $2 WHERE ticket_id = $1",
        e.ticket_id,
        e.started_at,
    )


async def on_completed(conn: asyncpg.Connection, event: ReceivedEvent[TicketCompleted]) -> None:
    e = event.payload
    await conn.execute(
        """UPDATE queue_tickets SET status = 'completed', ended_at = $2, outcome = 'completed'
           WHERE ticket_id = $1""",
        e.ticket_id,
        e.completed_at,
    )


async def on_transferred(conn: asyncpg.Connection, event: ReceivedEvent[TicketTransferred]) -> None:
    e = event.payload
    await conn.execute(
        """UPDATE queue_tickets SET status = 'waiting', queue = $2, required_skill = $3,
               desk_id = NULL, agent_id = NULL, serving_started_at = NULL, recalls = 0,
               transfers = transfers + 1
           WHERE ticket_id = $1""",
        e.ticket_id,
        e.to_queue.value,
        e.required_skill,
    )


async def on_no_show(conn: asyncpg.Connection, event: ReceivedEvent[TicketNoShow]) -> None:
    e = event.payload
    await conn.execute(
        """UPDATE queue_tickets SET status = 'no_show', ended_at = $2, outcome = $3
           WHERE ticket_id = $1""",
        e.ticket_id,
        e.at,
        f"no_show:{e.reason.value}",
    )


async def on_parked(conn: asyncpg.Connection, event: ReceivedEvent[TicketParked]) -> None:
    e = event.payload
    await conn.execute(
        """UPDATE queue_tickets SET status = 'parked', desk_id = NULL, agent_id = NULL,
               recalls = 0 WHERE ticket_id = $1""",
        e.ticket_id,
    )


async def on_returned(conn: asyncpg.Connection, event: ReceivedEvent[TicketReturned]) -> None:
    e = event.payload
    await conn.execute(
        "UPDATE queue_tickets SET status = 'waiting' WHERE ticket_id = $1", e.ticket_id
    )


async def on_left(conn: asyncpg.Connection, event: ReceivedEvent[TicketLeft]) -> None:
    e = event.payload
    await conn.execute(
        "UPDATE queue_tickets SET status = 'left', ended_at = $2, outcome = 'left' "
        "WHERE ticket_id = $1",
        e.ticket_id,
        e.left_at,
    )


async def on_priority(conn: asyncpg.Connection, event: ReceivedEvent[TicketPriorityRaised]) -> None:
    e = event.payload
    await conn.execute(
        "UPDATE queue_tickets SET escalated = true WHERE ticket_id = $1", e.ticket_id
    )


async def on_estimated(conn: asyncpg.Connection, event: ReceivedEvent[TicketWaitEstimated]) -> None:
    e = event.payload
    await conn.execute(
        """UPDATE queue_tickets SET estimate = $2, estimates_announced = estimates_announced + 1
           WHERE ticket_id = $1""",
        e.ticket_id,
        e.estimate.model_dump(mode="json"),
    )


async def on_offered(conn: asyncpg.Connection, event: ReceivedEvent[ContactAssigned]) -> None:
    """A remote contact offered to an agent (its ``ticket_called`` follows): counted, so the
    dashboard can tell the contacts offered more than once (reassigned)."""
    e = event.payload
    await conn.execute(
        """UPDATE queue_tickets SET offers = offers + 1,
               first_offered_at = coalesce(first_offered_at, $2)
           WHERE ticket_id = $1""",
        e.ticket_id,
        e.assigned_at,
    )


async def on_unanswered(conn: asyncpg.Connection, event: ReceivedEvent[ContactUnanswered]) -> None:
    e = event.payload
    window_ended = e.reason is UnansweredReason.ANSWER_WINDOW_ENDED
    await conn.execute(
        """UPDATE queue_tickets SET status = 'waiting', desk_id = NULL, agent_id = NULL,
               unanswered = unanswered + $2, released = released + $3
           WHERE ticket_id = $1""",
        e.ticket_id,
        1 if window_ended else 0,
        0 if window_ended else 1,
    )


async def on_nothing(conn: asyncpg.Connection, event: ReceivedEvent[Any]) -> None:
    """Events that change no column of the read model (recorded in the inbox all the same)."""


async def waiting_per_queue(conn: asyncpg.Connection, site_id: str) -> list[asyncpg.Record]:
    """How many tickets wait per queue of a site (``queue``, ``waiting``, ``oldest``)."""
    return list(
        await conn.fetch(
            """SELECT queue, count(*) AS waiting, min(issued_at) AS oldest
               FROM queue_tickets WHERE site_id = $1 AND status = 'waiting'
               GROUP BY queue ORDER BY queue""",
            site_id,
        )
    )


handlers: dict[type[Any], EventHandler] = {
    TicketIssued: on_issued,
    TicketCalled: on_called,
    TicketRecalled: on_recalled,
    TicketServingStarted: on_serving,
    TicketCompleted: on_completed,
    TicketTransferred: on_transferred,
    TicketNoShow: on_no_show,
    TicketParked: on_parked,
    TicketReturned: on_returned,
    TicketLeft: on_left,
    TicketPriorityRaised: on_priority,
    TicketWaitEstimated: on_estimated,
    TicketPositionChanged: on_nothing,
    TicketCallbackRequested: on_nothing,
    ContactAssigned: on_offered,
    ContactUnanswered: on_unanswered,
}
