"""Read model ``notification_log``: every message and where it stands (no texts: a message is
rendered when it is sent)."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from contracts.events.notifications import (
    NotificationAttemptFailed,
    NotificationDelivered,
    NotificationFailed,
    NotificationRequested,
    NotificationSent,
    NotificationWithdrawn,
)
from runtime.consumer import EventHandler, ReceivedEvent

TABLES = ("notification_log",)


async def project_requested(
    conn: asyncpg.Connection, event: ReceivedEvent[NotificationRequested]
) -> None:
    requested = event.payload
    await conn.execute(
        """INSERT INTO notification_log (notification_id, kind, channel, recipient_ref,
               language, status, triggered_by, requested_at, correlation_id, purpose,
               campaign_id)
           VALUES ($1, $2, $3, $4, $5, 'queued', $6, $7, $8, $9, $10)
           ON CONFLICT (notification_id) DO NOTHING""",
        requested.notification_id,
        requested.kind.value,
        requested.channels[0].value,
        requested.recipient_ref,
        requested.language,
        requested.triggered_by,
        requested.requested_at,
        event.envelope.correlation_id,
        requested.purpose.value,
        requested.campaign_id,
    )


async def project_sent(conn: asyncpg.Connection, event: ReceivedEvent[NotificationSent]) -> None:
    sent = event.payload
    await conn.execute(
        """UPDATE notification_log SET status = 'sent', channel = $2, attempts = $3,
               provider_message_id = $4, sent_at = $5
           WHERE notification_id = $1""",
        sent.notification_id,
        sent.channel.value,
        sent.attempt,
        sent.provider_message_id,
        sent.sent_at,
    )


async def project_attempt_failed(
    conn: asyncpg.Connection, event: ReceivedEvent[NotificationAttemptFailed]
) -> None:
    failed = event.payload
    await conn.execute(
        """UPDATE notification_log SET attempts = $2, failure_reason = $3
           WHERE notification_id = $1""",
        failed.notification_id,
        failed.attempt,
        failed.reason,
    )


async def project_failed(
    conn: asyncpg.Connection, event: ReceivedEvent[NotificationFailed]
) -> None:
    failed = event.payload
    gave_up = [
        {
            "channel": failed.channel.value,
            "attempts": failed.attempts,
            "reason": failed.reason,
            "failed_at": failed.failed_at.isoformat(),
            "next_channel": failed.fallback_channel.value if failed.fallback_channel else None,
        }
    ]
    if failed.fallback_channel is not None:
        await conn.execute(
            """UPDATE notification_log SET status = 'queued', channel = $2, attempts = 0,
                   provider_message_id = NULL, sent_at = NULL, failure_reason = $3,
                   fallbacks = fallbacks || $4::jsonb
               WHERE notification_id = $1""",
            failed.notification_id,
            failed.fallback_channel.value,
            failed.reason,
            gave_up,
        )
        return
    await conn.execute(
        """UPDATE notification_log SET status = 'failed', failed_at = $2, failure_reason = $3,
               attempts = $4, fallbacks = fallbacks || $5::jsonb
           WHERE notification_id = $1""",
        failed.notification_id,
        failed.failed_at,
        failed.reason,
        failed.attempts,
        gave_up,
    )


async def project_delivered(
    conn: asyncpg.Connection, event: ReceivedEvent[NotificationDelivered]
) -> None:
    delivered = event.payload
    await conn.execute(
        """UPDATE notification_log SET status = 'delivered', delivered_at = $2
           WHERE notification_id = $1""",
        delivered.notification_id,
        delivered.delivered_at,
    )


async def project_withdrawn(
    conn: asyncpg.Connection, event: ReceivedEvent[NotificationWithdrawn]
) -> None:
    withdrawn = event.payload
    await conn.execute(
        """UPDATE notification_log SET status = 'withdrawn', withdrawn_at = $2,
               withdrawn_reason = $3
           WHERE notification_id = $1""",
        withdrawn.notification_id,
        withdrawn.withdrawn_at,
        withdrawn.reason.value,
    )


handlers: dict[type, EventHandler] = {
    NotificationRequested: project_requested,
    NotificationSent: project_sent,
    NotificationAttemptFailed: project_attempt_failed,
    NotificationFailed: project_failed,
    NotificationDelivered: project_delivered,
    NotificationWithdrawn: project_withdrawn,
}


# -- queries ------------------------------------------------------------------------------------


_SHOWN = """notification_id, kind, purpose, channel, recipient_ref, language, status, attempts,
    provider_message_id, failure_reason, requested_at, sent_at, delivered_at, fallbacks"""


async def messages_to(conn: asyncpg.Connection, recipient_ref: str) -> list[asyncpg.Record]:
    return await conn.fetch(  # type: ignore[no-any-return]
        f"""SELECT {_SHOWN} FROM notification_log WHERE recipient_ref = $1
            ORDER BY requested_at""",
        recipient_ref,
    )


async def message(conn: asyncpg.Connection, notification_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(  # type: ignore[no-any-return]
        f"SELECT {_SHOWN} FROM notification_log WHERE notification_id = $1", notification_id
    )


async def subject_of_recipient(conn: asyncpg.Connection, recipient_ref: str) -> str | None:
    """Whose messages these are: an account's own, or the account of a ticket or callback."""
    kind, _, ref = recipient_ref.partition(":")
    if kind == "account":
        return recipient_ref
    query = {
        "ticket": "SELECT subject_id FROM ticket_reach WHERE ticket_id::text = $1",
        "callback": "SELECT subject_id FROM callback_queue WHERE callback_id::text = $1",
    }.get(kind)
    return await conn.fetchval(query, ref) if query else None


# the counts of a campaign's messages; they may lag a moment behind the campaign's own counts
CAMPAIGN_COUNTS = """SELECT count(*) FILTER (WHERE sent_at IS NOT NULL) AS sent,
                    count(*) FILTER (WHERE status = 'delivered') AS delivered,
                    count(*) FILTER (WHERE status = 'failed') AS failed,
                    count(*) FILTER (WHERE status = 'queued') AS waiting,
                    count(*) FILTER (WHERE status = 'withdrawn') AS withdrawn
             FROM notification_log WHERE campaign_id = $1"""


async def campaign_message_counts(conn: asyncpg.Connection, campaign_id: object) -> asyncpg.Record:
    return await conn.fetchrow(CAMPAIGN_COUNTS, campaign_id)
