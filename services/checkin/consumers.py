"""Reactions of check-in (never replayed; they append events of their own):

- ``checkin.waiting``: as a queue moves (a ticket issued, called, ended, parked, transferred;
  an agent signed in, out, on break), re-estimate the waits of that queue at that site;
  announce estimates that shifted past the margin and "N ahead" to virtual-queue holders.
- ``checkin.escalations``: ``cases.case_escalated`` raises the routing priority of that
  account's waiting tickets.

Times come from the triggering event (the moment the queue moved), not from a clock.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from contracts.base import EventPayload
from contracts.events.cases import CaseEscalated
from contracts.events.checkin import TicketTransferred
from contracts.events.checkin_agents import CHECKIN_AGENTS
from contracts.topics import CASES_CASES, CHECKIN_TICKETS
from contracts.vocabulary import ServiceQueue
from runtime.consumer import ConsumerGroup, ReceivedEvent
from runtime.errors import ConcurrencyConflict, RuleViolation
from runtime.eventstore import CommandContext, EventStore
from services.checkin import application
from services.checkin.domain.tickets import RaisePriority

TIME_FIELDS = (
    "issued_at",
    "called_at",
    "recalled_at",
    "started_at",
    "completed_at",
    "transferred_at",
    "parked_at",
    "returned_at",
    "left_at",
    "raised_at",
    "assigned_at",
    "signed_in_at",
    "signed_out_at",
    "changed_at",
    "at",
)

QUEUE_MOVES = (
    "checkin.ticket_issued",
    "checkin.ticket_called",
    "checkin.ticket_serving_started",
    "checkin.ticket_completed",
    "checkin.ticket_transferred",
    "checkin.ticket_no_show",
    "checkin.ticket_parked",
    "checkin.ticket_returned",
    "checkin.ticket_left",
    "checkin.ticket_priority_raised",
    "checkin.contact_unanswered",
)
AGENT_MOVES = (
    "checkin.agent_signed_in",
    "checkin.agent_status_changed",
    "checkin.agent_signed_out",
)


def payload_time(payload: EventPayload) -> datetime:
    for name in TIME_FIELDS:
        value = getattr(payload, name, None)
        if isinstance(value, datetime):
            return value
    raise ValueError(f"{payload.event_type} carries no time")


async def queues_moved(conn: asyncpg.Connection, payload: EventPayload) -> list[tuple[str, str]]:
    """(site, queue) pairs whose order or capacity this event changed."""
    if payload.event_type in AGENT_MOVES:
        row = await conn.fetchrow(
            "SELECT site_id, queues FROM agent_index WHERE agent_id = $1",
            payload.agent_id,  # type: ignore[attr-defined]
        )
        site_id = getattr(payload, "site_id", None) or (row["site_id"] if row else None)
        if row is None or site_id is None:
            return []
        return [(site_id, queue) for queue in row["queues"]]
    row = await conn.fetchrow(
        "SELECT site_id, queue FROM ticket_index WHERE ticket_id = $1",
        payload.ticket_id,  # type: ignore[attr-defined]
    )
    if row is None:
        return []
    moved = [(row["site_id"], row["queue"])]
    if isinstance(payload, TicketTransferred):
        moved.append((row["site_id"], payload.from_queue.value))
    return sorted(set(moved))


def waiting_group(store: EventStore) -> ConsumerGroup:
    async def on_queue_moved(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
        context = CommandContext.caused_by(event.envelope, "checkin")
        now = payload_time(event.payload)
        for site_id, queue in await queues_moved(conn, event.payload):
            try:
                async with conn.transaction():  # a savepoint: a lost race skips, not fails
                    await application.reestimate(
                        conn, store, site_id, ServiceQueue(queue), now, context
                    )
            except (ConcurrencyConflict, RuleViolation):
                pass  # someone changed a ticket meanwhile: its next move re-estimates again

    return ConsumerGroup(
        name="checkin.waiting",
        topics=[CHECKIN_TICKETS, CHECKIN_AGENTS],
        handlers={event_type: on_queue_moved for event_type in (*QUEUE_MOVES, *AGENT_MOVES)},
        description="Re-estimates waits as queues move; position notices for virtual queues.",
    )


def escalation_group(store: EventStore) -> ConsumerGroup:
    async def on_case_escalated(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
        escalated = event.payload
        assert isinstance(escalated, CaseEscalated)
        context = CommandContext.caused_by(event.envelope, "checkin")
        rows = await conn.fetch(
            """SELECT ticket_id FROM ticket_index WHERE account_ref = $1
                 AND status IN ('waiting', 'parked') AND NOT escalated ORDER BY ticket_id""",
            escalated.account_ref,
        )
        for row in rows:
            command = RaisePriority(at=escalated.escalated_at, case_id=escalated.case_id)
            await application.change_ticket(conn, store, row["ticket_id"], command, context)

    return ConsumerGroup(
        name="checkin.escalations",
        topics=[CASES_CASES],
        handlers={"cases.case_escalated": on_case_escalated},
        description="Raises the priority of an escalated account's waiting tickets.",
    )
