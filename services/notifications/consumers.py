"""What notifications reacts to, and the read model of messages it keeps."""

from __future__ import annotations

import asyncpg

from contracts.events.checkin import TicketIssued
from contracts.events.notifications import MessageChannel, MessageKind, NotificationRequested
from contracts.topics import CHECKIN_TICKETS, NOTIFICATIONS_MESSAGES
from runtime.consumer import ConsumerGroup, ReceivedEvent
from runtime.eventstore import CommandContext, EventStore, execute
from services.notifications.domain import (
    NOTIFICATION,
    RequestNotification,
    decide_request,
    notification_id,
)


def consumer_groups(store: EventStore) -> list[ConsumerGroup]:
    async def on_ticket_issued(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
        """Tell the person their number (by SMS when they left a phone number)."""
        ticket = event.payload
        assert isinstance(ticket, TicketIssued)
        if ticket.intake.contact_phone is None:
            return
        command = RequestNotification(
            kind=MessageKind.TICKET_ISSUED,
            channel=MessageChannel.SMS,
            recipient_ref=f"ticket:{ticket.ticket_id}",
            language=ticket.intake.language.tag,
            triggered_by=event.envelope.event_id,
            variables={"number": ticket.number, "queue": ticket.queue.value},
            at=ticket.issued_at,
        )
        stream = "notification-" + str(
            notification_id(command.triggered_by, command.recipient_ref, command.kind)
        )
        await execute(
            conn,
            store,
            NOTIFICATION,
            stream,
            lambda state: decide_request(state, command),
            CommandContext.caused_by(event.envelope, "notifications"),
        )

    return [
        ConsumerGroup(
            name="notifications.triggers",
            topics=[CHECKIN_TICKETS],
            handlers={"checkin.ticket_issued": on_ticket_issued},
            description="Decides the messages that check-in events call for.",
        ),
        ConsumerGroup(
            name="notifications.projections",
            topics=[NOTIFICATIONS_MESSAGES],
            handlers={"notifications.notification_requested": project_requested},
            read_models=("notification_log",),
            description="Keeps the log of messages per recipient.",
        ),
    ]


async def project_requested(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    requested = event.payload
    assert isinstance(requested, NotificationRequested)
    await conn.execute(
        """INSERT INTO notification_log (notification_id, kind, channel, recipient_ref,
               language, status, triggered_by, requested_at, correlation_id)
           VALUES ($1, $2, $3, $4, $5, 'requested', $6, $7, $8)
           ON CONFLICT (notification_id) DO NOTHING""",
        requested.notification_id,
        requested.kind.value,
        requested.channel.value,
        requested.recipient_ref,
        requested.language,
        requested.triggered_by,
        requested.requested_at,
        event.envelope.correlation_id,
    )
