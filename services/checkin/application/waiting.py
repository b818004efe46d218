"""The reaction ``checkin.waiting``: as a queue moves (a ticket issued, called, ended, parked,
transferred; an agent signed in, out, on break), re-estimate the waits of that queue at that
site; announce the estimates that shifted past the margin, and "N ahead" to virtual-queue
holders. Never replayed (it appends events of its own). Times come from the triggering event
(the moment the queue moved), not from a clock.

A queue is re-estimated once per run of records (the records one transaction handles:
``runtime.consumer.once_per_run``), as the run leaves it, at the time of its latest move:
the estimates are of the queue's state, so the moves before in the same run would only have
announced what the last one corrects (a notice point passed in between is still told: a
position notice is due for every point between what was told and the place now).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from contracts.base import EventPayload
from contracts.events.checkin import (
    ContactUnanswered,
    TicketCalled,
    TicketCompleted,
    TicketIssued,
    TicketLeft,
    TicketNoShow,
    TicketParked,
    TicketPriorityRaised,
    TicketReturned,
    TicketServingStarted,
    TicketTransferred,
    WaitEstimate,
)
from contracts.events.checkin_agents import (
    CHECKIN_AGENTS,
    AgentSignedIn,
    AgentSignedOut,
    AgentStatusChanged,
)
from contracts.topics import CHECKIN_TICKETS
from contracts.vocabulary import Channel, ServiceQueue
from runtime.consumer import ConsumerGroup, ReceivedEvent, once_per_run
from runtime.context import CommandContext
from runtime.errors import ConcurrencyConflict, RuleViolation
from runtime.eventstore import EventStore
from runtime.running import RunningService
from services.checkin.application.estimates import estimate_line, queue_facts, waiting_line
from services.checkin.application.sites import load_site
from services.checkin.application.tickets import change_ticket
from services.checkin.config import OWN_EVENTS_LINGER_MS
from services.checkin.domain.tickets import (
    Command,
    RecordEstimate,
    RecordPosition,
    estimate_shifted,
    position_notice_due,
)

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

TicketMove = (
    TicketIssued
    | TicketCalled
    | TicketServingStarted
    | TicketCompleted
    | TicketTransferred
    | TicketNoShow
    | TicketParked
    | TicketReturned
    | TicketLeft
    | TicketPriorityRaised
    | ContactUnanswered
)
AgentMove = AgentSignedIn | AgentStatusChanged | AgentSignedOut
TICKET_MOVES: tuple[type[TicketMove], ...] = (
    TicketIssued,
    TicketCalled,
    TicketServingStarted,
    TicketCompleted,
    TicketTransferred,
    TicketNoShow,
    TicketParked,
    TicketReturned,
    TicketLeft,
    TicketPriorityRaised,
    ContactUnanswered,
)
AGENT_MOVES: tuple[type[AgentMove], ...] = (AgentSignedIn, AgentStatusChanged, AgentSignedOut)


def payload_time(payload: EventPayload) -> datetime:
    for name in TIME_FIELDS:
        value = getattr(payload, name, None)
        if isinstance(value, datetime):
            return value
    raise ValueError(f"{payload.event_type} carries no time")


async def queues_moved(
    conn: asyncpg.Connection, payload: TicketMove | AgentMove
) -> list[tuple[str, str]]:
    """(site, queue) pairs whose order or capacity this event changed."""
    if isinstance(payload, AgentSignedIn | AgentStatusChanged | AgentSignedOut):
        row = await conn.fetchrow(
            "SELECT site_id, queues FROM agent_index WHERE agent_id = $1", payload.agent_id
        )
        site_id = getattr(payload, "site_id", None) or (row["site_id"] if row else None)
        if row is None or site_id is None:
            return []
        return [(site_id, queue) for queue in row["queues"]]
    if isinstance(payload, TicketIssued):
        return [(payload.site_id, payload.queue.value)]  # the event says where: no query
    row = await conn.fetchrow(
        "SELECT site_id, queue FROM ticket_index WHERE ticket_id = $1", payload.ticket_id
    )
    if row is None:
        return []
    moved = [(row["site_id"], row["queue"])]
    if isinstance(payload, TicketTransferred):
        moved.append((row["site_id"], payload.from_queue.value))
    return sorted(set(moved))


async def reestimate(
    conn: asyncpg.Connection,
    store: EventStore,
    site_id: str,
    queue: ServiceQueue,
    now: datetime,
    context: CommandContext,
) -> int:
    """Re-estimate a configured site's queue as it moved: announce estimates that shifted by
        more than the margin, and "N ahead" / "you are next" to virtual-queue holders. Returns how
        many events were appended. A site never configured keeps the estimate given at issue.

    One pass down the queue (O(n log n) in its length, the sort), and events only for the
    tickets whose estimate or position notice is due: a move changes the estimates of the
    tickets behind it, and every one of them must be compared with what its holder was told."""
    site = await load_site(conn, store, site_id)
    if not site.configured:
        return 0
    line = await waiting_line(conn, site_id, queue)
    facts = await queue_facts(conn, site, site_id, queue, now)
    estimates = estimate_line(line, site, facts, now)
    rows = {row["ticket_id"]: row for row in line}
    due: list[tuple[UUID, Command]] = []
    for ticket_id, estimate in estimates.items():
        row = rows[ticket_id]
        told = WaitEstimate.model_validate(row["estimate"]) if row["estimate"] else None
        if estimate_shifted(told, estimate, site.estimate_margin_minutes):
            due.append((ticket_id, RecordEstimate(estimate, site.estimate_margin_minutes)))
        if row["channel"] == Channel.VIRTUAL_QUEUE.value and position_notice_due(
            row["ahead_told"], estimate.ahead
        ):
            due.append((ticket_id, RecordPosition(estimate.ahead, estimate.expected_minutes, now)))
    if not due:
        return 0  # nothing to announce: no savepoint, no write
    try:
        async with conn.transaction():  # a savepoint: a lost race skips, not fails
            for ticket_id, command in due:
                await change_ticket(conn, store, ticket_id, command, context)
    except (ConcurrencyConflict, RuleViolation):
        return 0  # someone changed a ticket meanwhile: its next move re-estimates again
    return len(due)


def waiting_group(runtime: RunningService) -> ConsumerGroup:
    async def on_queue_moved(
        conn: asyncpg.Connection, event: ReceivedEvent[TicketMove | AgentMove]
    ) -> None:
        context = CommandContext.caused_by(event.envelope, "checkin")
        now = payload_time(event.payload)
        for site_id, queue in await queues_moved(conn, event.payload):

            async def again(
                db: asyncpg.Connection, site_id: str = site_id, queue: str = queue
            ) -> None:
                await reestimate(db, runtime.store, site_id, ServiceQueue(queue), now, context)

            # a queue is re-estimated as its run of records leaves it, at its latest move
            await once_per_run(conn, ("reestimate", site_id, queue), again)

    return ConsumerGroup(
        name="checkin.waiting",
        topics=[CHECKIN_TICKETS, CHECKIN_AGENTS],
        handlers={payload: on_queue_moved for payload in (*TICKET_MOVES, *AGENT_MOVES)},
        description="Re-estimates waits as queues move; position notices for virtual queues.",
        linger_ms=OWN_EVENTS_LINGER_MS,
        reads_personal_data=False,  # an estimate needs no phone, description or reason
    )
