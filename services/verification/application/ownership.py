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
from services.verification.application.sessions import change_session
from services.verification.domain.ownership import OwnershipClaim, OwnershipFacts
from services.verification.domain.sessions import ClaimOwnership, Session
from services.verification.projections.sessions import holder_verified_since
from services.verification.wiring import Wiring

EARLIER_SESSION_WINDOW = timedelta(days=365)


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
            await media_owned_by(conn, claim.evidence_refs, verification_id, session.language_tag)
        earlier = await holder_verified_since(
            conn, account.account_ref, verification_id, now - EARLIER_SESSION_WINDOW
        )
        facts = OwnershipFacts(account=account, earlier_verified_session=earlier)
        assess = ClaimOwnership(claim, facts, wiring.settings.ownership_threshold, now)
        return (await change_session(conn, store, verification_id, assess, context)).state

    return await command(pool, act)
