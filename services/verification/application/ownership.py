"""Ownership evidence when the registered phone is dead: gather the facts the points table
(``domain/ownership.py``) is judged against, and let the session decide."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

from runtime.commands import command
from runtime.context import CommandContext
from runtime.eventstore import EventStore
from services.verification.application.facts import account_facts
from services.verification.application.media import media_owned_by
from services.verification.application.sessions import change_session, session_stream
from services.verification.domain.ownership import OwnershipClaim, OwnershipFacts
from services.verification.domain.sessions import ClaimOwnership, Session
from services.verification.wiring import Wiring

EARLIER_SESSION_WINDOW = timedelta(days=365)


async def earlier_verified_session(
    conn: asyncpg.Connection, account_ref: str, stream_id: str, since: datetime
) -> bool:
    """Whether the holder of the account was verified in another session since ``since``
    (the event store: the source of truth, not a read model)."""
    found = await conn.fetchval(
        """SELECT 1 FROM events
           WHERE event_type = 'verification.verification_completed'
             AND envelope -> 'payload' ->> 'account_ref' = $1
             AND envelope -> 'payload' ->> 'outcome' = 'verified'
             AND envelope -> 'payload' ->> 'person_role' = 'holder'
             AND stream_id <> $2 AND occurred_at >= $3
           LIMIT 1""",
        account_ref,
        stream_id,
        since,
    )
    return bool(found)


async def assess_ownership(
    pool: asyncpg.Pool,
    store: EventStore,
    wiring: Wiring,
    session: Session,
    claim: OwnershipClaim,
    now: datetime,
    context: CommandContext,
) -> Session:
    assert session.verification_id is not None
    verification_id = session.verification_id
    account = await account_facts(wiring, session)

    async def act(conn: asyncpg.Connection) -> Session:
        if claim.evidence_refs:
            await media_owned_by(conn, claim.evidence_refs, verification_id)
        earlier = await earlier_verified_session(
            conn, account.account_ref, session_stream(verification_id), now - EARLIER_SESSION_WINDOW
        )
        facts = OwnershipFacts(account=account, earlier_verified_session=earlier)
        assess = ClaimOwnership(claim, facts, wiring.settings.ownership_threshold, now)
        return (await change_session(conn, store, verification_id, assess, context)).state

    return await command(pool, act)
