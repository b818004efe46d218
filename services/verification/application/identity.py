"""Document and face liveness: open the identity provider's session (the person completes it
there), and apply the provider's signed result once."""

from __future__ import annotations

import uuid
from datetime import datetime
from uuid import UUID

import asyncpg

from contracts import Actor
from runtime.commands import command
from runtime.context import CommandContext
from runtime.errors import NotFound, RuleViolation
from runtime.eventstore import EventStore
from services.verification.adapters.identity_provider import (
    ProviderResult,
    ProviderSession,
    ProviderUnavailable,
)
from services.verification.application.codes import language_of
from services.verification.application.sessions import change_session
from services.verification.domain.plans import Check
from services.verification.domain.refusals import Party, party_unavailable
from services.verification.domain.sessions import BeginCheck, RecordAttempt, Session, decide
from services.verification.wiring import Wiring

WEBHOOK_PATH = "/verification/webhooks/identity-provider"
OPENED = "identity-provider session opened: the person completes it at the provider"


async def begin_identity_check(
    pool: asyncpg.Pool,
    store: EventStore,
    wiring: Wiring,
    session: Session,
    now: datetime,
    context: CommandContext,
) -> ProviderSession:
    assert session.verification_id is not None
    verification_id = session.verification_id
    provider = wiring.identity_provider
    # refuse before opening a provider session the state would not accept
    decide(session, BeginCheck(Check.DOCUMENT_AND_LIVENESS, OPENED, now, provider=provider.name))
    callback = wiring.settings.public_base_url.rstrip("/") + WEBHOOK_PATH
    try:
        opened = await provider.create_session(
            reference=str(verification_id), callback_url=callback, language=language_of(session)
        )
    except ProviderUnavailable as error:
        raise party_unavailable(Party.IDENTITY_PROVIDER, language_of(session), str(error)) from None
    begin = BeginCheck(
        Check.DOCUMENT_AND_LIVENESS,
        OPENED,
        now,
        provider=provider.name,
        provider_session_ref=opened.provider_session_ref,
    )

    async def act(conn: asyncpg.Connection) -> None:
        await change_session(conn, store, verification_id, begin, context)

    await command(pool, act)
    return opened


async def record_provider_result(
    conn: asyncpg.Connection,
    store: EventStore,
    provider: str,
    result: ProviderResult,
    now: datetime,
) -> str:
    """Apply an authentic webhook once. Returns applied | duplicate | ignored: <why>."""
    inserted = await conn.fetchval(
        """INSERT INTO provider_deliveries (delivery_id, provider, received_at, outcome)
           VALUES ($1, $2, $3, 'received') ON CONFLICT (delivery_id) DO NOTHING RETURNING 1""",
        result.delivery_id,
        provider,
        now,
    )
    if not inserted:
        return "duplicate"
    try:
        verification_id = UUID(result.reference)
    except ValueError:
        outcome = "ignored: the reference is not a verification session"
    else:
        context = CommandContext(
            actor=Actor(id=provider, role="service"), correlation_id=uuid.uuid4()
        )
        reason = f"{provider}: {result.explanation()}"
        attempt = RecordAttempt(
            Check.DOCUMENT_AND_LIVENESS, result.approved, reason, now, result.provider_session_ref
        )
        try:
            async with conn.transaction():  # a refused result leaves the delivery recorded
                await change_session(conn, store, verification_id, attempt, context)
            outcome = "applied"
        except (RuleViolation, NotFound) as refused:
            outcome = f"ignored: {refused.detail}"
    await conn.execute(
        "UPDATE provider_deliveries SET outcome = $2 WHERE delivery_id = $1",
        result.delivery_id,
        outcome[:300],
    )
    return outcome
