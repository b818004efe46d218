"""Read models ``session_views`` and ``review_queue`` (frontdesk.verification.sessions): what
staff lists of sessions, and the reviewers' queue."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from contracts.events.verification import VerificationCompleted
from contracts.events.verification_sessions import (
    CheckFailed,
    CheckPassed,
    CodeDeliveryFailed,
    CodeDeliveryReported,
    CodeDeliveryRequested,
    CodeIssued,
    CooldownEnded,
    LockedOut,
    ReviewDecided,
    ReviewRequested,
    SessionStarted,
)
from runtime.consumer import ReceivedEvent

TABLES = ("session_views", "review_queue")


async def on_started(conn: asyncpg.Connection, event: ReceivedEvent[SessionStarted]) -> None:
    started = event.payload
    await conn.execute(
        """INSERT INTO session_views (verification_id, case_id, account_ref, purpose,
               risk_level, person_role, person_ref, checks, status, ticket_id,
               started_at, expires_at, version)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9, $10, $11, $12)
           ON CONFLICT (verification_id) DO NOTHING""",
        started.verification_id,
        started.case_id,
        started.account_ref,
        started.purpose.value,
        started.risk_level.value,
        started.person_role.value,
        started.person_ref,
        [check.value for check in started.checks],
        started.ticket_id,
        started.started_at,
        started.expires_at,
        event.envelope.stream_version,
    )


async def on_check_passed(conn: asyncpg.Connection, event: ReceivedEvent[CheckPassed]) -> None:
    await conn.execute(
        "UPDATE session_views SET passed_checks = array_append(passed_checks, $2) "
        "WHERE verification_id = $1",
        event.payload.verification_id,
        event.payload.check.value,
    )


async def on_review_requested(
    conn: asyncpg.Connection, event: ReceivedEvent[ReviewRequested]
) -> None:
    requested = event.payload
    row = await conn.fetchrow(
        "SELECT account_ref, purpose FROM session_views WHERE verification_id = $1",
        requested.verification_id,
    )
    await conn.execute(
        """INSERT INTO review_queue (verification_id, check_name, account_ref, purpose,
               reason, required_approvals, evidence_refs, status, requested_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8)
           ON CONFLICT (verification_id, check_name) DO UPDATE
           SET reason = EXCLUDED.reason, required_approvals = EXCLUDED.required_approvals,
               evidence_refs = EXCLUDED.evidence_refs, status = 'open', approvals = '{}',
               requested_at = EXCLUDED.requested_at, decided_at = NULL""",
        requested.verification_id,
        requested.check.value,
        row["account_ref"],
        row["purpose"],
        requested.reason or "(erased)",  # None once the account's key is gone (a replay)
        requested.required_approvals,
        requested.evidence_refs,
        requested.requested_at,
    )


async def on_review_decided(conn: asyncpg.Connection, event: ReceivedEvent[ReviewDecided]) -> None:
    decided = event.payload
    await conn.execute(
        """UPDATE review_queue
           SET approvals = CASE WHEN $3::boolean THEN array_append(approvals, $4::text)
                                ELSE approvals END,
               status = CASE WHEN NOT $3::boolean THEN 'rejected'
                             WHEN cardinality(approvals) + 1 >= required_approvals
                             THEN 'approved' ELSE 'open' END,
               decided_at = CASE WHEN NOT $3::boolean
                                  OR cardinality(approvals) + 1 >= required_approvals
                             THEN $5::timestamptz END
           WHERE verification_id = $1 AND check_name = $2""",
        decided.verification_id,
        decided.check.value,
        decided.approved,
        decided.reviewer_id,
        decided.decided_at,
    )


async def on_code_requested(
    conn: asyncpg.Connection, event: ReceivedEvent[CodeDeliveryRequested]
) -> None:
    await conn.execute(
        """UPDATE session_views SET code_delivery_id = $2,
               code_delivery_status = 'requested', code_delivery_reason = NULL
           WHERE verification_id = $1""",
        event.payload.verification_id,
        event.payload.delivery_id,
    )


async def _code_status(
    conn: asyncpg.Connection, verification_id: UUID, delivery_id: UUID, status: str
) -> None:
    await conn.execute(
        """UPDATE session_views SET code_delivery_status = $3
           WHERE verification_id = $1 AND code_delivery_id = $2""",
        verification_id,
        delivery_id,
        status,
    )


async def on_code_issued(conn: asyncpg.Connection, event: ReceivedEvent[CodeIssued]) -> None:
    await _code_status(conn, event.payload.verification_id, event.payload.delivery_id, "claimed")


async def on_code_reported(
    conn: asyncpg.Connection, event: ReceivedEvent[CodeDeliveryReported]
) -> None:
    reported = event.payload
    status = reported.status.value
    await _code_status(conn, reported.verification_id, reported.delivery_id, status)


async def on_code_failed(
    conn: asyncpg.Connection, event: ReceivedEvent[CodeDeliveryFailed]
) -> None:
    failed = event.payload
    await conn.execute(
        """UPDATE session_views SET codes_undelivered = codes_undelivered + 1,
               code_delivery_status = CASE WHEN code_delivery_id = $2 THEN 'failed'
                                           ELSE code_delivery_status END,
               code_delivery_reason = CASE WHEN code_delivery_id = $2 THEN $3
                                           ELSE code_delivery_reason END
           WHERE verification_id = $1""",
        failed.verification_id,
        failed.delivery_id,
        failed.reason,
    )


async def on_locked_out(conn: asyncpg.Connection, event: ReceivedEvent[LockedOut]) -> None:
    await conn.execute(
        "UPDATE session_views SET cooldown_until = $2 WHERE verification_id = $1",
        event.payload.verification_id,
        event.payload.cooldown_until,
    )


async def on_completed(
    conn: asyncpg.Connection, event: ReceivedEvent[VerificationCompleted]
) -> None:
    completed = event.payload
    await conn.execute(
        """UPDATE session_views SET status = $2, outcome_reasons = $3, completed_at = $4
           WHERE verification_id = $1""",
        completed.verification_id,
        completed.outcome.value,
        completed.reasons,
        completed.completed_at,
    )
    await conn.execute(
        """UPDATE review_queue SET status = 'closed', decided_at = $2
           WHERE verification_id = $1 AND status = 'open'""",
        completed.verification_id,
        completed.completed_at,
    )


async def on_unshown(conn: asyncpg.Connection, event: ReceivedEvent[Any]) -> None:
    """An event the views do not show (only the version moves)."""


Handler = Callable[[asyncpg.Connection, ReceivedEvent[Any]], Awaitable[None]]


def _versioned(handler: Handler) -> Handler:
    """Each event also moves the view's version (the stream version it reflects)."""

    async def apply(conn: asyncpg.Connection, event: ReceivedEvent[Any]) -> None:
        await handler(conn, event)
        await conn.execute(
            "UPDATE session_views SET version = greatest(version, $2) WHERE verification_id = $1",
            event.payload.verification_id,
            event.envelope.stream_version,
        )

    return apply


_SHOWN: dict[type, Handler] = {
    SessionStarted: on_started,
    CheckPassed: on_check_passed,
    CheckFailed: on_unshown,
    ReviewRequested: on_review_requested,
    ReviewDecided: on_review_decided,
    LockedOut: on_locked_out,
    CooldownEnded: on_unshown,
    VerificationCompleted: on_completed,
    CodeDeliveryRequested: on_code_requested,
    CodeIssued: on_code_issued,
    CodeDeliveryReported: on_code_reported,
    CodeDeliveryFailed: on_code_failed,
}
handlers: dict[type, Handler] = {payload: _versioned(h) for payload, h in _SHOWN.items()}


# -- queries (the API's reads) ------------------------------------------------------------------


async def holder_verified_since(
    conn: asyncpg.Connection, account_ref: str, other_than: UUID, since: datetime
) -> bool:
    """Whether the account's holder was verified in another session completed since
    ``since`` (a fact for the ownership points table)."""
    found = await conn.fetchval(
        """SELECT 1 FROM session_views
           WHERE account_ref = $1 AND status = 'verified' AND person_role = 'holder'
             AND verification_id <> $2 AND completed_at >= $3
           LIMIT 1""",
        account_ref,
        other_than,
        since,
    )
    return bool(found)


async def sessions_of(
    pool: asyncpg.Pool, account_ref: str | None, case_id: UUID | None
) -> list[asyncpg.Record]:
    return await pool.fetch(
        """SELECT * FROM session_views WHERE ($1::text IS NULL OR account_ref = $1)
           AND ($2::uuid IS NULL OR case_id = $2) ORDER BY started_at DESC LIMIT 100""",
        account_ref,
        case_id,
    )


async def reviews(pool: asyncpg.Pool, status: str) -> list[asyncpg.Record]:
    return await pool.fetch(
        """SELECT verification_id, check_name AS check, account_ref, purpose, reason,
                  required_approvals, approvals, evidence_refs, status, requested_at, decided_at
           FROM review_queue WHERE status = $1 ORDER BY requested_at LIMIT 200""",
        status,
    )
