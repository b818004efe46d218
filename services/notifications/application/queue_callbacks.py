"""A phone caller's queue callback, carried out by notifications.

Check-in keeps the caller's place (``checkin.ticket_callback_requested``) and later offers
their contact to an agent (``checkin.contact_assigned``) like any call. Here:

- the request → ``queue_callback_requested`` on the callback stream (id derived from the
  ticket) and a ``queue_callback_requested`` message: "your place is kept, we will call you
  back when your turn comes" with the wait left, if check-in estimated one;
- the first assignment → ``callback_requested`` + ``callback_scheduled``, due at once for a
  short window, for the agent and the ticket's queue: the queue's due list shows it, the
  agent records attempts through the callback API, and the usual re-attempts, "we tried"
  message and ``callback_missed`` (escalated by cases when the case is known) follow;
- the ticket's end → completed, cancelled or missed (``domain.callbacks.decide_ticket_ended``).

The handlers run in the ``notifications.triggers`` group, the one that keeps ``ticket_reach``
from ``checkin.ticket_issued``: one group reads a ticket's events in order, so the ticket's
reach, queue and estimate are known when its callback request arrives.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from contracts.events.cases import CaseOpened, ContactAttached
from contracts.events.checkin import (
    ContactAssigned,
    TicketCallbackRequested,
    TicketCompleted,
    TicketLeft,
    TicketNoShow,
    TicketTransferred,
    TicketWaitEstimated,
)
from contracts.events.notifications import NotificationKind
from contracts.topics import CASES_CASES
from contracts.vocabulary import LanguagePreference, ServiceQueue
from runtime.consumer import ConsumerGroup, EventHandler, ReceivedEvent
from runtime.eventstore import CommandContext, EventStore
from runtime.telemetry import log_fields
from services.notifications.application.messages import (
    callback_stream,
    change_callback,
    preferences_of,
    reach_of,
    request_message,
)
from services.notifications.config import NotificationSettings
from services.notifications.domain.callbacks import (
    RequestQueueCallback,
    TicketEnd,
    TicketEnded,
    TurnCame,
    decide_queue_request,
    decide_ticket_ended,
    decide_turn,
    queue_callback_id,
)
from services.notifications.domain.messages import RequestNotification

log = logging.getLogger(__name__)


def wait_left(
    expected_minutes: int | None, estimated_at: datetime | None, at: datetime
) -> int | None:
    """The wait left at ``at`` by check-in's latest estimate (never below zero); None when
    check-in gave none."""
    if expected_minutes is None or estimated_at is None:
        return None
    elapsed = max(0, int((at - estimated_at).total_seconds() // 60))
    return max(0, expected_minutes - elapsed)


def ticket_end_of(event: object) -> tuple[UUID, TicketEnded] | None:
    """Which end of a ticket an event is, with its time (pure)."""
    match event:
        case TicketCompleted():
            return event.ticket_id, TicketEnded(TicketEnd.COMPLETED, event.completed_at)
        case TicketLeft():
            return event.ticket_id, TicketEnded(TicketEnd.LEFT, event.left_at)
        case TicketNoShow():
            return event.ticket_id, TicketEnded(TicketEnd.NO_SHOW, event.at)
        case TicketTransferred():
            return event.ticket_id, TicketEnded(
                TicketEnd.TRANSFERRED, event.transferred_at, event.to_queue.value
            )
    return None


async def _exists(conn: asyncpg.Connection, stream: str) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM events WHERE stream_id = $1 LIMIT 1", stream))


def queue_callback_handlers(
    store: EventStore, settings: NotificationSettings
) -> dict[str, EventHandler]:
    """Handlers to add to the ``notifications.triggers`` group (``frontdesk.checkin.tickets``)."""

    async def on_wait_estimated(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
        estimated = event.payload
        assert isinstance(estimated, TicketWaitEstimated)
        await conn.execute(
            """UPDATE ticket_reach SET expected_minutes = $2, estimated_at = $3
               WHERE ticket_id = $1 AND (estimated_at IS NULL OR estimated_at <= $3)""",
            estimated.ticket_id,
            estimated.estimate.expected_minutes,
            estimated.estimate.estimated_at,
        )

    async def on_callback_requested(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
        """Record the pending callback and tell the caller their place is kept."""
        requested = event.payload
        assert isinstance(requested, TicketCallbackRequested)
        row = await conn.fetchrow(
            "SELECT * FROM ticket_reach WHERE ticket_id = $1", requested.ticket_id
        )
        if row is None:
            log.warning(
                "callback requested for a ticket this service never saw issued",
                extra=log_fields(ticket_id=str(requested.ticket_id)),
            )
            return
        context = CommandContext.caused_by(event.envelope, "notifications")
        wait = wait_left(row["expected_minutes"], row["estimated_at"], requested.requested_at)
        command = RequestQueueCallback(
            ticket_id=requested.ticket_id,
            ticket_number=row["number"],
            queue=ServiceQueue(row["queue"] or ServiceQueue.GENERAL.value),
            account_ref=row["account_ref"],
            customer_id=row["customer_id"],
            phone=row["phone"],
            language=LanguagePreference(tag=row["language"]),
            expected_minutes=wait,
            at=requested.requested_at,
        )
        await change_callback(
            conn,
            store,
            queue_callback_id(requested.ticket_id),
            lambda state: decide_queue_request(state, command),
            context,
            settings,
        )
        reach = await reach_of(conn, store, f"account:{row['account_ref']}", row["phone"])
        variables = {"number": row["number"]}
        if wait is not None:
            variables["wait_minutes"] = str(wait)
        await request_message(
            conn,
            store,
            RequestNotification(
                kind=NotificationKind.QUEUE_CALLBACK_REQUESTED,
                channels=reach.channels,
                recipient_ref=f"ticket:{requested.ticket_id}",
                language=reach.language or row["language"],
                triggered_by=event.envelope.event_id,
                variables=variables,
                at=requested.requested_at,
                account_ref=row["account_ref"],
                timezone=reach.timezone,
                addresses=reach.addresses,
            ),
            context,
        )

    async def on_contact_assigned(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
        """The caller's turn: the callback is due now, for this agent (first offer only)."""
        assigned = event.payload
        assert isinstance(assigned, ContactAssigned)
        callback = queue_callback_id(assigned.ticket_id)
        if not await _exists(conn, callback_stream(callback)):
            return  # no callback was asked for this contact
        account_ref = await conn.fetchval(
            "SELECT account_ref FROM ticket_reach WHERE ticket_id = $1", assigned.ticket_id
        )
        prefs = await preferences_of(conn, store, f"account:{account_ref}")
        case_id = await conn.fetchval(
            "SELECT case_id FROM ticket_cases WHERE ticket_id = $1", assigned.ticket_id
        )
        command = TurnCame(
            agent_id=assigned.agent_id,
            case_id=case_id,
            timezone=(prefs.timezone if prefs else None) or settings.queue_callback_timezone,
            window=timedelta(minutes=settings.queue_callback_window_minutes),
            answer_by=assigned.answer_by,
            max_attempts=settings.queue_callback_max_attempts,
            attempt_spacing=timedelta(minutes=settings.queue_callback_attempt_spacing_minutes),
            at=assigned.assigned_at,
        )
        await change_callback(
            conn,
            store,
            callback,
            lambda state: decide_turn(state, command),
            CommandContext.caused_by(event.envelope, "notifications"),
            settings,
        )

    async def on_ticket_end(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
        ended = ticket_end_of(event.payload)
        assert ended is not None
        ticket_id, command = ended
        if command.end is TicketEnd.TRANSFERRED:
            await conn.execute(
                "UPDATE ticket_reach SET queue = $2 WHERE ticket_id = $1",
                ticket_id,
                command.detail,
            )
        callback = queue_callback_id(ticket_id)
        if not await _exists(conn, callback_stream(callback)):
            return
        await change_callback(
            conn,
            store,
            callback,
            lambda state: decide_ticket_ended(state, command),
            CommandContext.caused_by(event.envelope, "notifications"),
            settings,
            tell=False,
        )

    return {
        "checkin.ticket_wait_estimated": on_wait_estimated,
        "checkin.ticket_callback_requested": on_callback_requested,
        "checkin.contact_assigned": on_contact_assigned,
        "checkin.ticket_completed": on_ticket_end,
        "checkin.ticket_left": on_ticket_end,
        "checkin.ticket_no_show": on_ticket_end,
        "checkin.ticket_transferred": on_ticket_end,
    }


def ticket_cases_group() -> ConsumerGroup:
    """Projection: the case each check-in ticket opened or joined (cases' intake)."""

    async def on_case_contact(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
        contact = event.payload
        assert isinstance(contact, CaseOpened | ContactAttached)
        if contact.source.ticket_id is None:
            return
        await conn.execute(
            """INSERT INTO ticket_cases (ticket_id, case_id) VALUES ($1, $2)
               ON CONFLICT (ticket_id) DO NOTHING""",
            contact.source.ticket_id,
            contact.case_id,
        )

    return ConsumerGroup(
        name="notifications.ticket_cases",
        topics=[CASES_CASES],
        handlers={
            "cases.case_opened": on_case_contact,
            "cases.contact_attached": on_case_contact,
        },
        read_models=("ticket_cases",),
        description="The case each check-in ticket opened or joined (queue callbacks name it).",
    )
