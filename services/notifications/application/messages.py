"""Messages: request one (once per trigger, recipient and kind), take a provider's receipt.

Every change of a message goes through its repository, whose after-append hooks keep the
send timer in step with the message (requested → due at ``not_before`` or at once; a failed
attempt → due at its retry; a fallback → due at once on the next channel) and index what was
sent (the provider's id a receipt names, the send time the rate limit counts), in the same
transaction as the events."""

from __future__ import annotations

import logging
from datetime import datetime
from uuid import UUID

import asyncpg

from contracts import Actor
from contracts.events.notifications import (
    NotificationAttemptFailed,
    NotificationFailed,
    NotificationRequested,
    NotificationSent,
)
from runtime.context import CommandContext
from runtime.errors import NotFound
from runtime.eventstore import EventStore
from runtime.repository import Executed, Repository
from runtime.scheduler import schedule
from runtime.telemetry import log_fields
from services.notifications.domain.messages import (
    NOTIFICATION,
    Notification,
    RequestNotification,
    decide_receipt,
    decide_request,
    notification_id,
)

log = logging.getLogger(__name__)

SERVICE = "notifications"
SERVICE_ACTOR = Actor(id=SERVICE, role="service")
SEND_TIMER = "notification.send"


def notification_stream(notification: UUID) -> str:
    return f"notification-{notification}"


def send_timer_id(notification: UUID) -> str:
    return f"{SEND_TIMER}:{notification}"


async def schedule_send(
    conn: asyncpg.Connection, notification: UUID, due_at: datetime, context: CommandContext
) -> None:
    await schedule(
        conn,
        send_timer_id(notification),
        SEND_TIMER,
        due_at,
        {"notification_id": str(notification)},
        context,
    )


async def _keep_send_timer(
    conn: asyncpg.Connection, executed: Executed[Notification], context: CommandContext
) -> None:
    for event in executed.events:
        match event:
            case NotificationRequested():
                await schedule_send(
                    conn, event.notification_id, event.not_before or event.requested_at, context
                )
            case NotificationAttemptFailed():
                await schedule_send(conn, event.notification_id, event.retry_at, context)
            case NotificationFailed() if event.fallback_channel is not None:
                await schedule_send(conn, event.notification_id, event.failed_at, context)


async def _index_sent(
    conn: asyncpg.Connection, executed: Executed[Notification], context: CommandContext
) -> None:
    for event in executed.events:
        if not isinstance(event, NotificationSent):
            continue
        await conn.execute(
            """INSERT INTO provider_messages (provider_message_id, notification_id, channel,
                   provider) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING""",
            event.provider_message_id,
            event.notification_id,
            event.channel.value,
            event.provider,
        )
        await conn.execute(
            """INSERT INTO recipient_sends (notification_id, recipient_ref, sent_at)
               VALUES ($1, $2, $3) ON CONFLICT (notification_id) DO UPDATE SET sent_at = $3""",
            event.notification_id,
            executed.state.recipient_ref,
            event.sent_at,
        )


def messages(store: EventStore) -> Repository[Notification]:
    return Repository(store, NOTIFICATION, after_append=[_keep_send_timer, _index_sent])


async def request_message(
    conn: asyncpg.Connection,
    store: EventStore,
    command: RequestNotification,
    context: CommandContext,
) -> UUID | None:
    """Record the message (its send timer follows), unless it was requested before (same
    trigger, recipient and kind) or there is no channel to send it on. Returns its id."""
    if not command.channels:
        log.info(
            "no channel to reach the recipient",
            extra=log_fields(kind=command.kind.value, trigger=str(command.triggered_by)),
        )
        return None
    message = notification_id(command.triggered_by, command.recipient_ref, command.kind)
    repository = messages(store)
    stream = notification_stream(message)
    if (await repository.get(conn, stream)).state.requested:
        return message  # a repeated trigger: the message exists, nothing more to do
    await repository.execute(conn, stream, lambda state: decide_request(state, command), context)
    return message


async def take_receipt(
    conn: asyncpg.Connection,
    store: EventStore,
    provider_message_id: str,
    delivered: bool,
    reason: str | None,
    context: CommandContext,
    now: datetime,
) -> UUID:
    """A provider's delivery receipt: delivered, or failed (then the next channel)."""
    message = await conn.fetchval(
        "SELECT notification_id FROM provider_messages WHERE provider_message_id = $1",
        provider_message_id,
    )
    if message is None:
        raise NotFound(f"no message with provider id {provider_message_id}")
    await messages(store).execute(
        conn,
        notification_stream(message),
        lambda state: decide_receipt(state, provider_message_id, delivered, reason, now),
        context,
    )
    return message  # type: ignore[no-any-return]
