"""Read models of check-in, projected from its own topics (rebuildable: truncate, replay).

- ``queue_tickets``: every ticket, its state, times, estimates and outcome (queue board,
  dashboard, estimate accuracy);
- ``agent_states``: where each agent is and what they are doing;
- ``sites``: name, time zone, queue settings, desks and closures.

Each handler is a deterministic function of the event (times come from the payload, never
from a clock), and each row depends on one aggregate's events only, so the order Kafka
interleaves partitions in does not matter.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import asyncpg

from contracts.base import EventPayload
from contracts.events.checkin import (
    ContactAssigned,
    ContactUnanswered,
    TicketCalled,
    TicketCompleted,
    TicketIssued,
    TicketLeft,
    TicketNoShow,
    TicketParked,
    TicketPriorityRaised,
    TicketRecalled,
    TicketReturned,
    TicketServingStarted,
    TicketTransferred,
    TicketWaitEstimated,
    UnansweredReason,
)
from contracts.events.checkin_agents import (
    CHECKIN_AGENTS,
    AgentProfileSet,
    AgentSignedIn,
    AgentSignedOut,
    AgentStatusChanged,
)
from contracts.events.checkin_sites import (
    CHECKIN_SITES,
    DeskAdded,
    QueueClosed,
    QueueOpened,
    SiteConfigured,
)
from contracts.topics import CHECKIN_TICKETS
from runtime.consumer import ConsumerGroup, EventHandler, ReceivedEvent
from runtime.eventstore import EventStore
from services.checkin import appointments

Apply = Callable[[asyncpg.Connection, EventPayload], Awaitable[None]]


async def apply_event(conn: asyncpg.Connection, payload: EventPayload) -> None:
    """Apply one event to the read models (also used in-process by the busy-day simulation)."""
    handler = APPLY.get(payload.event_type)
    if handler is not None:
        await handler(conn, payload)


# -- tickets ----------------------------------------------------------------------------------


async def _issued(conn: asyncpg.Connection, e: EventPayload) -> None:
    assert isinstance(e, TicketIssued)
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


async def _called(conn: asyncpg.Connection, e: EventPayload) -> None:
    assert isinstance(e, TicketCalled)
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


async def _recalled(conn: asyncpg.Connection, e: EventPayload) -> None:
    assert isinstance(e, TicketRecalled)
    await conn.execute(
        "UPDATE queue_tickets SET recalls = $2 WHERE ticket_id = $1", e.ticket_id, e.recall_number
    )


async def _serving(conn: asyncpg.Connection, e: EventPayload) -> None:
    assert isinstance(e, TicketServingStarted)
    await conn.execute(
        "UPDATE queue_tickets SET status = 'serving', serving_started_at = $2 WHERE ticket_id = $1",
        e.ticket_id,
        e.started_at,
    )


async def _completed(conn: asyncpg.Connection, e: EventPayload) -> None:
    assert isinstance(e, TicketCompleted)
    await conn.execute(
        """UPDATE queue_tickets SET status = 'completed', ended_at = $2, outcome = 'completed'
           WHERE ticket_id = $1""",
        e.ticket_id,
        e.completed_at,
    )


async def _transferred(conn: asyncpg.Connection, e: EventPayload) -> None:
    assert isinstance(e, TicketTransferred)
    await conn.execute(
        """UPDATE queue_tickets SET status = 'waiting', queue = $2, required_skill = $3,
               desk_id = NULL, agent_id = NULL, serving_started_at = NULL, recalls = 0,
               transfers = transfers + 1
           WHERE ticket_id = $1""",
        e.ticket_id,
        e.to_queue.value,
        e.required_skill,
    )


async def _no_show(conn: asyncpg.Connection, e: EventPayload) -> None:
    assert isinstance(e, TicketNoShow)
    await conn.execute(
        """UPDATE queue_tickets SET status = 'no_show', ended_at = $2, outcome = $3
           WHERE ticket_id = $1""",
        e.ticket_id,
        e.at,
        f"no_show:{e.reason.value}",
    )


async def _parked(conn: asyncpg.Connection, e: EventPayload) -> None:
    assert isinstance(e, TicketParked)
    await conn.execute(
        """UPDATE queue_tickets SET status = 'parked', desk_id = NULL, agent_id = NULL,
               recalls = 0 WHERE ticket_id = $1""",
        e.ticket_id,
    )


async def _returned(conn: asyncpg.Connection, e: EventPayload) -> None:
    assert isinstance(e, TicketReturned)
    await conn.execute(
        "UPDATE queue_tickets SET status = 'waiting' WHERE ticket_id = $1", e.ticket_id
    )


async def _left(conn: asyncpg.Connection, e: EventPayload) -> None:
    assert isinstance(e, TicketLeft)
    await conn.execute(
        "UPDATE queue_tickets SET status = 'left', ended_at = $2, outcome = 'left' "
        "WHERE ticket_id = $1",
        e.ticket_id,
        e.left_at,
    )


async def _priority(conn: asyncpg.Connection, e: EventPayload) -> None:
    assert isinstance(e, TicketPriorityRaised)
    await conn.execute(
        "UPDATE queue_tickets SET escalated = true WHERE ticket_id = $1", e.ticket_id
    )


async def _estimated(conn: asyncpg.Connection, e: EventPayload) -> None:
    assert isinstance(e, TicketWaitEstimated)
    await conn.execute(
        """UPDATE queue_tickets SET estimate = $2, estimates_announced = estimates_announced + 1
           WHERE ticket_id = $1""",
        e.ticket_id,
        e.estimate.model_dump(mode="json"),
    )


async def _offered(conn: asyncpg.Connection, e: EventPayload) -> None:
    """A remote contact offered to an agent (its ``ticket_called`` follows): counted, so the
    dashboard can tell the contacts offered more than once (reassigned)."""
    assert isinstance(e, ContactAssigned)
    await conn.execute(
        """UPDATE queue_tickets SET offers = offers + 1,
               first_offered_at = coalesce(first_offered_at, $2)
           WHERE ticket_id = $1""",
        e.ticket_id,
        e.assigned_at,
    )


async def _unanswered(conn: asyncpg.Connection, e: EventPayload) -> None:
    assert isinstance(e, ContactUnanswered)
    window_ended = e.reason is UnansweredReason.ANSWER_WINDOW_ENDED
    await conn.execute(
        """UPDATE queue_tickets SET status = 'waiting', desk_id = NULL, agent_id = NULL,
               unanswered = unanswered + $2, released = released + $3
           WHERE ticket_id = $1""",
        e.ticket_id,
        1 if window_ended else 0,
        0 if window_ended else 1,
    )


async def _nothing(conn: asyncpg.Connection, e: EventPayload) -> None:
    """Events that change no read model column (recorded in the inbox all the same)."""


# -- agents -----------------------------------------------------------------------------------


async def _profile(conn: asyncpg.Connection, e: EventPayload) -> None:
    assert isinstance(e, AgentProfileSet)
    await conn.execute(
        """INSERT INTO agent_states (agent_id, status, queues, languages)
           VALUES ($1, 'offline', $2, $3)
           ON CONFLICT (agent_id) DO UPDATE SET queues = EXCLUDED.queues,
               languages = EXCLUDED.languages""",
        e.agent_id,
        sorted(q.value for q in e.queues),
        [language.model_dump() for language in e.languages],
    )


async def _signed_in(conn: asyncpg.Connection, e: EventPayload) -> None:
    assert isinstance(e, AgentSignedIn)
    await conn.execute(
        """UPDATE agent_states SET status = 'available', site_id = $2, desk_id = $3,
               ticket_id = NULL, status_since = $4 WHERE agent_id = $1""",
        e.agent_id,
        e.site_id,
        e.desk_id,
        e.signed_in_at,
    )


async def _status(conn: asyncpg.Connection, e: EventPayload) -> None:
    assert isinstance(e, AgentStatusChanged)
    await conn.execute(
        "UPDATE agent_states SET status = $2, ticket_id = $3, status_since = $4 "
        "WHERE agent_id = $1",
        e.agent_id,
        e.status.value,
        e.ticket_id if e.status.value == "serving" else None,
        e.changed_at,
    )


async def _signed_out(conn: asyncpg.Connection, e: EventPayload) -> None:
    assert isinstance(e, AgentSignedOut)
    await conn.execute(
        """UPDATE agent_states SET status = 'offline', site_id = NULL, desk_id = NULL,
               ticket_id = NULL, status_since = $2 WHERE agent_id = $1""",
        e.agent_id,
        e.signed_out_at,
    )


# -- sites ------------------------------------------------------------------------------------


async def _site(conn: asyncpg.Connection, e: EventPayload) -> None:
    assert isinstance(e, SiteConfigured)
    queues = {s.queue.value: s.model_dump(mode="json") for s in e.queues}
    await conn.execute(
        """INSERT INTO sites (site_id, name, timezone, queues) VALUES ($1, $2, $3, $4)
           ON CONFLICT (site_id) DO UPDATE SET name = EXCLUDED.name,
               timezone = EXCLUDED.timezone, queues = EXCLUDED.queues""",
        e.site_id,
        e.name,
        e.timezone,
        queues,
    )


async def _desk(conn: asyncpg.Connection, e: EventPayload) -> None:
    assert isinstance(e, DeskAdded)
    desk = {"kind": e.kind.value, "location": e.location}
    await conn.execute(
        "UPDATE sites SET desks = desks || jsonb_build_object($2::text, $3::jsonb) "
        "WHERE site_id = $1",
        e.site_id,
        e.desk_id,
        json.dumps(desk),
    )


async def _closed(conn: asyncpg.Connection, e: EventPayload) -> None:
    assert isinstance(e, QueueClosed)
    await conn.execute(
        """UPDATE sites SET closed = (
               SELECT coalesce(jsonb_agg(DISTINCT x ORDER BY x), '[]'::jsonb)
               FROM jsonb_array_elements_text(closed || to_jsonb($2::text)) AS x)
           WHERE site_id = $1""",
        e.site_id,
        f"{e.queue.value}@{e.service_day.isoformat()}",
    )


async def _opened(conn: asyncpg.Connection, e: EventPayload) -> None:
    assert isinstance(e, QueueOpened)
    await conn.execute(
        "UPDATE sites SET closed = closed - $2::text WHERE site_id = $1",
        e.site_id,
        f"{e.queue.value}@{e.service_day.isoformat()}",
    )


APPLY: dict[str, Apply] = {
    "checkin.ticket_issued": _issued,
    "checkin.ticket_called": _called,
    "checkin.ticket_recalled": _recalled,
    "checkin.ticket_serving_started": _serving,
    "checkin.ticket_completed": _completed,
    "checkin.ticket_transferred": _transferred,
    "checkin.ticket_no_show": _no_show,
    "checkin.ticket_parked": _parked,
    "checkin.ticket_returned": _returned,
    "checkin.ticket_left": _left,
    "checkin.ticket_priority_raised": _priority,
    "checkin.ticket_wait_estimated": _estimated,
    "checkin.ticket_position_changed": _nothing,
    "checkin.ticket_callback_requested": _nothing,
    "checkin.contact_assigned": _offered,
    "checkin.contact_unanswered": _unanswered,
    "checkin.agent_profile_set": _profile,
    "checkin.agent_signed_in": _signed_in,
    "checkin.agent_status_changed": _status,
    "checkin.agent_signed_out": _signed_out,
    "checkin.site_configured": _site,
    "checkin.desk_added": _desk,
    "checkin.queue_closed": _closed,
    "checkin.queue_opened": _opened,
    **appointments.APPLY,
}

READ_MODELS = ("queue_tickets", "agent_states", "sites", *appointments.READ_MODELS)


def _handler(apply: Apply) -> EventHandler:
    async def handle(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
        await apply(conn, event.payload)

    return handle


def projection_group() -> ConsumerGroup:
    return ConsumerGroup(
        name="checkin.projections",
        topics=[CHECKIN_TICKETS, CHECKIN_AGENTS, CHECKIN_SITES, appointments.TOPIC],
        handlers={event_type: _handler(apply) for event_type, apply in APPLY.items()},
        read_models=READ_MODELS,
        description="Queue board, dashboard and estimate-accuracy read models.",
    )


# kept for callers that import the previous name
def consumer_groups(store: EventStore) -> list[ConsumerGroup]:
    return [projection_group()]
