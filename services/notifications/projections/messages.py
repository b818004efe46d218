"""Read models of notifications, each a deterministic function of the events (rebuildable):

- ``notification_log``: every message and where it stands;
- ``notification_contacts``: the phone a ticket's holder left (personal data);
- ``callback_queue``: promised callbacks, the specialist queues' due lists (phone: personal);
- ``recipient_preferences``: channels, language, hours, consent (addresses: personal).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg

from contracts.events.checkin import TicketIssued
from contracts.events.notifications import (
    CallbackAccepted,
    CallbackAttemptRecorded,
    CallbackAttemptsExhausted,
    CallbackReminderSent,
    CallbackRescheduled,
    CallbackScheduled,
    NotificationAttemptFailed,
    NotificationDelivered,
    NotificationFailed,
    NotificationRequested,
    NotificationSent,
    NotificationWithdrawn,
    RecipientPreferencesSet,
)
from runtime.consumer import ReceivedEvent

Handler = Callable[[asyncpg.Connection, ReceivedEvent], Awaitable[None]]


# -- contacts ---------------------------------------------------------------------------------


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


# -- messages ---------------------------------------------------------------------------------


async def project_requested(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    requested = event.payload
    assert isinstance(requested, NotificationRequested)
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


async def project_sent(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    sent = event.payload
    assert isinstance(sent, NotificationSent)
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


async def project_attempt_failed(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    failed = event.payload
    assert isinstance(failed, NotificationAttemptFailed)
    await conn.execute(
        """UPDATE notification_log SET attempts = $2, failure_reason = $3
           WHERE notification_id = $1""",
        failed.notification_id,
        failed.attempt,
        failed.reason,
    )


async def project_failed(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    failed = event.payload
    assert isinstance(failed, NotificationFailed)
    if failed.fallback_channel is not None:
        await conn.execute(
            """UPDATE notification_log SET status = 'queued', channel = $2, attempts = 0,
                   provider_message_id = NULL, sent_at = NULL, failure_reason = $3
               WHERE notification_id = $1""",
            failed.notification_id,
            failed.fallback_channel.value,
            failed.reason,
        )
        return
    await conn.execute(
        """UPDATE notification_log SET status = 'failed', failed_at = $2, failure_reason = $3,
               attempts = $4
           WHERE notification_id = $1""",
        failed.notification_id,
        failed.failed_at,
        failed.reason,
        failed.attempts,
    )


async def project_delivered(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    delivered = event.payload
    assert isinstance(delivered, NotificationDelivered)
    await conn.execute(
        """UPDATE notification_log SET status = 'delivered', delivered_at = $2
           WHERE notification_id = $1""",
        delivered.notification_id,
        delivered.delivered_at,
    )


async def project_withdrawn(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    withdrawn = event.payload
    assert isinstance(withdrawn, NotificationWithdrawn)
    await conn.execute(
        """UPDATE notification_log SET status = 'withdrawn', withdrawn_at = $2,
               withdrawn_reason = $3
           WHERE notification_id = $1""",
        withdrawn.notification_id,
        withdrawn.withdrawn_at,
        withdrawn.reason.value,
    )


# -- callbacks --------------------------------------------------------------------------------


async def project_callback_accepted(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    accepted = event.payload
    assert isinstance(accepted, CallbackAccepted)
    await conn.execute(
        """INSERT INTO callback_queue (callback_id, case_id, account_ref, subject_id,
               customer_id, queue, recipient_role, recipient_ref, phone, timezone, language,
               status, window_start, window_end, requested_at, ticket_id, agent_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'scheduled', $12, $13, $14,
                   $15, $16)
           ON CONFLICT (callback_id) DO NOTHING""",
        accepted.callback_id,
        accepted.case_id,
        accepted.account_ref,
        accepted.data_subject_id,
        accepted.customer_id,
        accepted.queue.value,
        accepted.recipient_role.value,
        accepted.recipient_ref,
        accepted.phone,
        accepted.timezone,
        accepted.language.tag,
        accepted.window_start,
        accepted.window_end,
        accepted.requested_at,
        accepted.ticket_id,
        accepted.agent_id,
    )


async def project_callback_scheduled(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    scheduled = event.payload
    assert isinstance(scheduled, CallbackScheduled)
    await conn.execute(
        """UPDATE callback_queue SET due_at = $2, promised_start = $3, promised_end = $4
           WHERE callback_id = $1""",
        scheduled.callback_id,
        scheduled.due_at,
        scheduled.promised_start,
        scheduled.promised_end,
    )


async def project_callback_rescheduled(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    moved = event.payload
    assert isinstance(moved, CallbackRescheduled)
    await conn.execute(
        """UPDATE callback_queue SET due_at = $2, promised_start = $3, promised_end = $4,
               window_end = $5, exhausted = false, reminded_at = NULL
           WHERE callback_id = $1""",
        moved.callback_id,
        moved.due_at,
        moved.promised_start,
        moved.promised_end,
        moved.window_end,
    )


async def project_attempt(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    attempt = event.payload
    assert isinstance(attempt, CallbackAttemptRecorded)
    await conn.execute(
        """UPDATE callback_queue SET attempts = $2, last_outcome = $3,
               due_at = COALESCE($4, due_at),
               reminded_at = CASE WHEN $4::timestamptz IS NULL THEN reminded_at END
           WHERE callback_id = $1""",
        attempt.callback_id,
        attempt.attempt,
        attempt.outcome.value,
        attempt.next_attempt_at,
    )


async def project_reminder(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    reminded = event.payload
    assert isinstance(reminded, CallbackReminderSent)
    await conn.execute(
        "UPDATE callback_queue SET reminded_at = $2 WHERE callback_id = $1",
        reminded.callback_id,
        reminded.reminded_at,
    )


async def project_exhausted(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    exhausted = event.payload
    assert isinstance(exhausted, CallbackAttemptsExhausted)
    await conn.execute(
        "UPDATE callback_queue SET exhausted = true WHERE callback_id = $1",
        exhausted.callback_id,
    )


def _closing(status: str, at: str) -> Handler:
    async def project(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
        payload = event.payload
        await conn.execute(
            "UPDATE callback_queue SET status = $2, closed_at = $3 WHERE callback_id = $1",
            payload.callback_id,  # type: ignore[attr-defined]
            status,
            getattr(payload, at),
        )

    return project


async def redact_subject(conn: asyncpg.Connection, subject_id: str) -> None:
    """Forget how to reach a person: their contacts, callback numbers and preferences."""
    await conn.execute("DELETE FROM notification_contacts WHERE subject_id = $1", subject_id)
    await conn.execute("UPDATE callback_queue SET phone = NULL WHERE subject_id = $1", subject_id)
    await conn.execute("DELETE FROM recipient_preferences WHERE subject_id = $1", subject_id)
    await conn.execute("UPDATE ticket_reach SET phone = NULL WHERE subject_id = $1", subject_id)


READ_MODELS: tuple[str, ...] = (
    "notification_log",
    "notification_contacts",
    "callback_queue",
    "recipient_preferences",
)

PROJECTION_HANDLERS: dict[str, Handler] = {
    "checkin.ticket_issued": project_contact,
    "notifications.notification_requested": project_requested,
    "notifications.notification_sent": project_sent,
    "notifications.notification_attempt_failed": project_attempt_failed,
    "notifications.notification_failed": project_failed,
    "notifications.notification_delivered": project_delivered,
    "notifications.notification_withdrawn": project_withdrawn,
    "notifications.callback_requested": project_callback_accepted,
    "notifications.callback_scheduled": project_callback_scheduled,
    "notifications.callback_rescheduled": project_callback_rescheduled,
    "notifications.callback_attempt_recorded": project_attempt,
    "notifications.callback_reminder_sent": project_reminder,
    "notifications.callback_attempts_exhausted": project_exhausted,
    "notifications.callback_completed": _closing("completed", "completed_at"),
    "notifications.callback_missed": _closing("missed", "missed_at"),
    "notifications.callback_cancelled": _closing("cancelled", "cancelled_at"),
}


async def project_preferences(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    prefs = event.payload
    assert isinstance(prefs, RecipientPreferencesSet)
    await conn.execute(
        """INSERT INTO recipient_preferences (recipient_ref, subject_id, channels, language,
               timezone, preferred_start, preferred_end, quiet_start, quiet_end, phone, email,
               wechat, qq, marketing_consent, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
           ON CONFLICT (recipient_ref) DO UPDATE SET
               channels = EXCLUDED.channels, language = EXCLUDED.language,
               timezone = EXCLUDED.timezone, preferred_start = EXCLUDED.preferred_start,
               preferred_end = EXCLUDED.preferred_end, quiet_start = EXCLUDED.quiet_start,
               quiet_end = EXCLUDED.quiet_end, phone = EXCLUDED.phone, email = EXCLUDED.email,
               wechat = EXCLUDED.wechat, qq = EXCLUDED.qq,
               marketing_consent = EXCLUDED.marketing_consent,
               updated_at = EXCLUDED.updated_at""",
        f"account:{prefs.account_ref}",
        prefs.data_subject_id,
        [c.value for c in prefs.channels],
        prefs.language,
        prefs.timezone,
        prefs.preferred_hours.start if prefs.preferred_hours else None,
        prefs.preferred_hours.end if prefs.preferred_hours else None,
        prefs.quiet_hours.start if prefs.quiet_hours else None,
        prefs.quiet_hours.end if prefs.quiet_hours else None,
        prefs.phone,
        prefs.email,
        prefs.wechat,
        prefs.qq,
        [c.value for c in prefs.marketing_consent],
        prefs.set_at,
    )


PROJECTION_HANDLERS["notifications.recipient_preferences_set"] = project_preferences
