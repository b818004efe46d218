"""Read model ``callback_queue``: promised callbacks, the specialist queues' due lists (the
number to call is personal data)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from contracts.events.notifications import (
    CallbackAccepted,
    CallbackAttemptRecorded,
    CallbackAttemptsExhausted,
    CallbackCancelled,
    CallbackCompleted,
    CallbackMissed,
    CallbackReminderSent,
    CallbackRescheduled,
    CallbackScheduled,
)
from runtime.consumer import EventHandler, ReceivedEvent

TABLES = ("callback_queue",)


async def project_callback_accepted(
    conn: asyncpg.Connection, event: ReceivedEvent[CallbackAccepted]
) -> None:
    accepted = event.payload
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


async def project_callback_scheduled(
    conn: asyncpg.Connection, event: ReceivedEvent[CallbackScheduled]
) -> None:
    scheduled = event.payload
    await conn.execute(
        """UPDATE callback_queue SET due_at = $2, promised_start = $3, promised_end = $4
           WHERE callback_id = $1""",
        scheduled.callback_id,
        scheduled.due_at,
        scheduled.promised_start,
        scheduled.promised_end,
    )


async def project_callback_rescheduled(
    conn: asyncpg.Connection, event: ReceivedEvent[CallbackRescheduled]
) -> None:
    moved = event.payload
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


async def project_attempt(
    conn: asyncpg.Connection, event: ReceivedEvent[CallbackAttemptRecorded]
) -> None:
    attempt = event.payload
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


async def project_reminder(
    conn: asyncpg.Connection, event: ReceivedEvent[CallbackReminderSent]
) -> None:
    reminded = event.payload
    await conn.execute(
        "UPDATE callback_queue SET reminded_at = $2 WHERE callback_id = $1",
        reminded.callback_id,
        reminded.reminded_at,
    )


async def project_exhausted(
    conn: asyncpg.Connection, event: ReceivedEvent[CallbackAttemptsExhausted]
) -> None:
    exhausted = event.payload
    await conn.execute(
        "UPDATE callback_queue SET exhausted = true WHERE callback_id = $1",
        exhausted.callback_id,
    )


async def _close(conn: asyncpg.Connection, callback_id: UUID, status: str, at: datetime) -> None:
    await conn.execute(
        "UPDATE callback_queue SET status = $2, closed_at = $3 WHERE callback_id = $1",
        callback_id,
        status,
        at,
    )


async def project_completed(
    conn: asyncpg.Connection, event: ReceivedEvent[CallbackCompleted]
) -> None:
    await _close(conn, event.payload.callback_id, "completed", event.payload.completed_at)


async def project_missed(conn: asyncpg.Connection, event: ReceivedEvent[CallbackMissed]) -> None:
    await _close(conn, event.payload.callback_id, "missed", event.payload.missed_at)


async def project_cancelled(
    conn: asyncpg.Connection, event: ReceivedEvent[CallbackCancelled]
) -> None:
    await _close(conn, event.payload.callback_id, "cancelled", event.payload.cancelled_at)


handlers: dict[type, EventHandler] = {
    CallbackAccepted: project_callback_accepted,
    CallbackScheduled: project_callback_scheduled,
    CallbackRescheduled: project_callback_rescheduled,
    CallbackAttemptRecorded: project_attempt,
    CallbackReminderSent: project_reminder,
    CallbackAttemptsExhausted: project_exhausted,
    CallbackCompleted: project_completed,
    CallbackMissed: project_missed,
    CallbackCancelled: project_cancelled,
}


async def redact(conn: asyncpg.Connection, subject_id: str) -> None:
    await conn.execute("UPDATE callback_queue SET phone = NULL WHERE subject_id = $1", subject_id)


async def due_callbacks(
    conn: asyncpg.Connection,
    queue: str,
    due_before: datetime | None,
    limit: int,
    agent_id: str | None,
) -> list[asyncpg.Record]:
    """A queue's open callbacks, ordered by due time."""
    return await conn.fetch(  # type: ignore[no-any-return]
        """SELECT callback_id, case_id, queue, due_at, window_end, timezone, language,
               recipient_role, phone, attempts, last_outcome, exhausted, reminded_at, subject_id,
               ticket_id, agent_id
           FROM callback_queue
           WHERE queue = $1 AND status = 'scheduled'
             AND ($2::timestamptz IS NULL OR due_at <= $2)
             AND ($4::text IS NULL OR agent_id = $4)
           ORDER BY due_at, callback_id LIMIT $3""",
        queue,
        due_before,
        limit,
        agent_id,
    )
