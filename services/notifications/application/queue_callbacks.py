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
from datetime import timedelta
from uuid import UUID

import asyncpg

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
from contracts.vocabulary import LanguagePreference, ServiceQueue
from runtime.consumer import EventHandler, ReceivedEvent
from runtime.context import CommandContext
from runtime.eventstore import EventStore
from runtime.running import RunningService
from runtime.telemetry import log_fields
from services.notifications.application.callbacks import (
    callback_stream,
    callbacks,
    change_callback,
)
from services.notifications.application.messages import SERVICE, request_message
from services.notifications.application.recipients import preferences_of, reach
from services.notifications.config import NotificationSettings
from services.notifications.domain.messages import RequestNotification
from services.notifications.domain.queue_callbacks import (
    RequestQueueCallback,
    TicketEnd,
    TurnCame,
    decide_queue_request,
    decide_ticket_ended,
    decide_turn,
    queue_callback_id,
    ticket_end_of,
    wait_left,
)
from services.notifications.projections.ticket_cases import case_of_ticket
from services.notifications.wiring import NotificationsWiring

log = logging.getLogger(__name__)


async def _exists(conn: asyncpg.Connection, store: EventStore, callback: UUID) -> bool:
    return (await callbacks(store).get(conn, callback_stream(callback))).version > 0


def queue_callback_handlers(runtime: RunningService) -> dict[type, EventHandler]:
    """Handlers to add to the ``notifications.triggers`` group (``frontdesk.checkin.tickets``)."""
    store = runtime.store

    def settings() -> NotificationSettings:
        wiring = runtime.wiring
        assert isinstance(wiring, NotificationsWiring)
        return wiring.settings

    async def on_wait_estimated(
        conn: asyncpg.Connection, event: ReceivedEvent[TicketWaitEstimated]
    ) -> None:
        estimated = event.payload
        await conn.execute(
            """UPDATE ticket_reach SET expected_minutes = $2, estimated_at = $3
               WHERE ticket_id = $1 AND (estimated_at IS NULL OR estimated_at <= $3)""",
            estimated.ticket_id,
            estimated.estimate.expected_minutes,
            estimated.estimate.estimated_at,
        )

    async def on_callback_requested(
        conn: asyncpg.Connection, event: ReceivedEvent[TicketCallbackRequested]
    ) -> None:
        """Record the pending callback and tell the caller their place is kept."""
        requested = event.payload
        row = await conn.fetchrow(
            "SELECT * FROM ticket_reach WHERE ticket_id = $1", requested.ticket_id
        )
        if row is None:
            log.warning(
                "callback requested for a ticket this service never saw issued",
                extra=log_fields(ticket_id=str(requested.ticket_id)),
            )
            return
        context = CommandContext.caused_by(event.envelope, SERVICE)
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
            settings(),
            queue_callback_id(requested.ticket_id),
            lambda state: decide_queue_request(state, command),
            context,
        )
        person = await reach(conn, store, f"account:{row['account_ref']}", row["phone"])
        variables = {"number": row["number"]}
        if wait is not None:
            variables["wait_minutes"] = str(wait)
        await request_message(
            conn,
            store,
            RequestNotification(
                kind=NotificationKind.QUEUE_CALLBACK_REQUESTED,
                channels=person.channels,
                recipient_ref=f"ticket:{requested.ticket_id}",
                language=person.language or row["language"],
                triggered_by=event.envelope.event_id,
                variables=variables,
                at=requested.requested_at,
                account_ref=row["account_ref"],
                timezone=person.timezone,
                addresses=person.addresses,
            ),
            context,
        )

    async def on_contact_assigned(
        conn: asyncpg.Connection, event: ReceivedEvent[ContactAssigned]
    ) -> None:
        """The caller's turn: the callback is due now, for this agent (first offer only)."""
        assigned = event.payload
        callback = queue_callback_id(assigned.ticket_id)
        if not await _exists(conn, store, callback):
            return  # no callback was asked for this contact
        account_ref = await conn.fetchval(
            "SELECT account_ref FROM ticket_reach WHERE ticket_id = $1", assigned.ticket_id
        )
        prefs = await preferences_of(conn, store, f"account:{account_ref}")
        case_id = await case_of_ticket(conn, assigned.ticket_id)
        config = settings()
        command = TurnCame(
            agent_id=assigned.agent_id,
            case_id=case_id,
            timezone=(prefs.timezone if prefs else None) or config.queue_callback_timezone,
            window=timedelta(minutes=config.queue_callback_window_minutes),
            answer_by=assigned.answer_by,
            max_attempts=config.queue_callback_max_attempts,
            attempt_spacing=timedelta(minutes=config.queue_callback_attempt_spacing_minutes),
            at=assigned.assigned_at,
        )
        await change_callback(
            conn,
            store,
            config,
            callback,
            lambda state: decide_turn(state, command),
            CommandContext.caused_by(event.envelope, SERVICE),
        )

    async def on_ticket_end(
        conn: asyncpg.Connection,
        event: ReceivedEvent[TicketCompleted | TicketLeft | TicketNoShow | TicketTransferred],
    ) -> None:
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
        if not await _exists(conn, store, callback):
            return
        await change_callback(
            conn,
            store,
            settings(),
            callback,
            lambda state: decide_ticket_ended(state, command),
            CommandContext.caused_by(event.envelope, SERVICE),
            tell=False,
        )

    return {
        TicketWaitEstimated: on_wait_estimated,
        TicketCallbackRequested: on_callback_requested,
        ContactAssigned: on_contact_assigned,
        TicketCompleted: on_ticket_end,
        TicketLeft: on_ticket_end,
        TicketNoShow: on_ticket_end,
        TicketTransferred: on_ticket_end,
    }
