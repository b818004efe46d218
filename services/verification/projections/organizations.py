"""Read models ``organization_views``, ``lookalike_flags`` and ``verified_domains``
(frontdesk.verification.organizations)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

import asyncpg

from contracts.events.verification_organizations import (
    DepositConfirmationFailed,
    DepositsConfirmed,
    DepositsExpired,
    DepositsSent,
    LookalikeDomainCleared,
    LookalikeDomainFlagged,
    OrganizationRejected,
    OrganizationReviewDecided,
    OrganizationSubmitted,
    OrganizationVerified,
    PhoneConfirmed,
)
from runtime.consumer import ReceivedEvent

TABLES = ("organization_views", "lookalike_flags", "verified_domains")


async def on_submitted(
    conn: asyncpg.Connection, event: ReceivedEvent[OrganizationSubmitted]
) -> None:
    submitted = event.payload
    await conn.execute(
        """INSERT INTO organization_views (organization_id, legal_name,
               unified_social_credit_code, official_domains, contact_email_domain,
               bank_account_last4, submitted_by, status, deposits, submitted_at, version)
           VALUES ($1, $2, $3, $4, $5, $6, $7, 'submitted', 'not_sent', $8, $9)
           ON CONFLICT (organization_id) DO NOTHING""",
        submitted.organization_id,
        submitted.legal_name,
        submitted.unified_social_credit_code,
        submitted.official_domains,
        submitted.contact_email_domain,
        submitted.bank_account_last4,
        submitted.submitted_by,
        submitted.submitted_at,
        event.envelope.stream_version,
    )


async def on_flagged(
    conn: asyncpg.Connection, event: ReceivedEvent[LookalikeDomainFlagged]
) -> None:
    flagged = event.payload
    await conn.execute(
        """INSERT INTO lookalike_flags (flag_id, organization_id, domain, resembles,
               techniques, source, status, flagged_at)
           VALUES ($1, $2, $3, $4, $5, $6, 'open', $7) ON CONFLICT (flag_id) DO NOTHING""",
        flagged.flag_id,
        flagged.organization_id,
        flagged.domain,
        flagged.resembles,
        [t.value for t in flagged.techniques],
        flagged.source,
        flagged.flagged_at,
    )


async def on_cleared(
    conn: asyncpg.Connection, event: ReceivedEvent[LookalikeDomainCleared]
) -> None:
    await conn.execute(
        "UPDATE lookalike_flags SET status = 'cleared', decided_at = $2 WHERE flag_id = $1",
        event.payload.flag_id,
        event.payload.cleared_at,
    )


async def _set_deposits(conn: asyncpg.Connection, organization_id: UUID, status: str) -> None:
    await conn.execute(
        "UPDATE organization_views SET deposits = $2 WHERE organization_id = $1",
        organization_id,
        status,
    )


async def on_deposits_sent(conn: asyncpg.Connection, event: ReceivedEvent[DepositsSent]) -> None:
    await _set_deposits(conn, event.payload.organization_id, "sent")


async def on_confirmation_failed(
    conn: asyncpg.Connection, event: ReceivedEvent[DepositConfirmationFailed]
) -> None:
    failed = event.payload
    await _set_deposits(conn, failed.organization_id, "sent" if failed.attempts_left else "failed")


async def on_deposits_confirmed(
    conn: asyncpg.Connection, event: ReceivedEvent[DepositsConfirmed]
) -> None:
    await _set_deposits(conn, event.payload.organization_id, "confirmed")


async def on_deposits_expired(
    conn: asyncpg.Connection, event: ReceivedEvent[DepositsExpired]
) -> None:
    await _set_deposits(conn, event.payload.organization_id, "expired")


async def on_review_decided(
    conn: asyncpg.Connection, event: ReceivedEvent[OrganizationReviewDecided]
) -> None:
    await conn.execute(
        "UPDATE organization_views SET documents_approved = $2 WHERE organization_id = $1",
        event.payload.organization_id,
        event.payload.approved,
    )


async def on_phone_confirmed(
    conn: asyncpg.Connection, event: ReceivedEvent[PhoneConfirmed]
) -> None:
    await conn.execute(
        "UPDATE organization_views SET phone_confirmed = $2 WHERE organization_id = $1",
        event.payload.organization_id,
        event.payload.confirmed,
    )


async def on_verified(conn: asyncpg.Connection, event: ReceivedEvent[OrganizationVerified]) -> None:
    verified = event.payload
    await conn.execute(
        """UPDATE organization_views SET status = 'verified', reasons = $2,
               decided_at = $3 WHERE organization_id = $1""",
        verified.organization_id,
        verified.reasons,
        verified.verified_at,
    )
    for domain in verified.verified_domains:
        await conn.execute(
            """INSERT INTO verified_domains (domain, organization_id, verified_at)
               VALUES ($1, $2, $3) ON CONFLICT (domain) DO NOTHING""",
            domain,
            verified.organization_id,
            verified.verified_at,
        )


async def on_rejected(conn: asyncpg.Connection, event: ReceivedEvent[OrganizationRejected]) -> None:
    rejected = event.payload
    await conn.execute(
        """UPDATE organization_views SET status = 'rejected', reasons = $2,
               decided_at = $3 WHERE organization_id = $1""",
        rejected.organization_id,
        rejected.reasons,
        rejected.rejected_at,
    )
    await conn.execute(
        """UPDATE lookalike_flags SET status = 'rejected', decided_at = $2
           WHERE organization_id = $1 AND status = 'open'""",
        rejected.organization_id,
        rejected.rejected_at,
    )


Handler = Callable[[asyncpg.Connection, ReceivedEvent[Any]], Awaitable[None]]


def _versioned(handler: Handler) -> Handler:
    """Each event also moves the view's version (the stream version it reflects)."""

    async def apply(conn: asyncpg.Connection, event: ReceivedEvent[Any]) -> None:
        await handler(conn, event)
        await conn.execute(
            "UPDATE organization_views SET version = greatest(version, $2) "
            "WHERE organization_id = $1",
            event.payload.organization_id,
            event.envelope.stream_version,
        )

    return apply


_SHOWN: dict[type, Handler] = {
    OrganizationSubmitted: on_submitted,
    LookalikeDomainFlagged: on_flagged,
    LookalikeDomainCleared: on_cleared,
    DepositsSent: on_deposits_sent,
    DepositConfirmationFailed: on_confirmation_failed,
    DepositsConfirmed: on_deposits_confirmed,
    DepositsExpired: on_deposits_expired,
    OrganizationReviewDecided: on_review_decided,
    PhoneConfirmed: on_phone_confirmed,
    OrganizationVerified: on_verified,
    OrganizationRejected: on_rejected,
}
handlers: dict[type, Handler] = {payload: _versioned(h) for payload, h in _SHOWN.items()}


async def flags(pool: asyncpg.Pool, status: str) -> list[asyncpg.Record]:
    return await pool.fetch(
        """SELECT flag_id, organization_id, domain, resembles, techniques, source, status,
                  flagged_at FROM lookalike_flags WHERE status = $1
           ORDER BY flagged_at DESC LIMIT 200""",
        status,
    )
