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
            topics=[NOTIFICATIONS_MESSAGES, CHECKIN_TICKETS],
            handlers={
                "notifications.notification_requested": project_requested,
                "checkin.ticket_issued": project_contact,
            },
            read_models=("notification_log", "notification_contacts"),
            description="Keeps the log of messages and the contact details to send them to.",
        ),
    ]


async def project_contact(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    """Where to reach a ticket's holder: personal data, decrypted here, erased on request."""
    ticket = event.payload
    assert isinstance(ticket, TicketIssued)
    if ticket.intake.contact_phone is None:
        return
    await conn.execute(
        """INSERT INTO notification_contacts (recipient_ref, subject_id, phone, language)
           VALUES ($1, $2, $3, $4) ON CONFLICT (recipient_ref) DO NOTHING""",
        f"ticket:{ticket.ticket_id}",
        ticket.data_subject_id,
        ticket.intake.contact_phone,
        ticket.intake.language.tag,
    )


async def redact_subject(conn: asyncpg.Connection, subject_id: str) -> None:
    await conn.execute("DELETE FROM notification_contacts WHERE subject_id = $1", subject_id)


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
