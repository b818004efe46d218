"""One-time codes: requested by the person, claimed (once) by the notifications service that
delivers them, entered back; and what became of each code's message."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from contracts.events.verification_sessions import CodeChannel
from runtime.commands import command
from runtime.context import CommandContext
from runtime.errors import NotFound, RuleViolation
from runtime.eventstore import EventStore
from services.verification.adapters.account_platform import AccountPlatformUnavailable
from services.verification.application.digests import digest, matches
from services.verification.application.facts import account_facts
from services.verification.application.sessions import change_session
from services.verification.domain.accounts import channel_destination
from services.verification.domain.refusals import Party, party_unavailable
from services.verification.domain.sessions import (
    CheckCode,
    IssueCode,
    RecordCodeDeliveryFailure,
    RecordCodeDeliveryProgress,
    RequestCode,
    Session,
)
from services.verification.wiring import Wiring


def code_context(delivery_id: UUID) -> str:
    return f"code|{delivery_id}"


def language_of(session: Session) -> str:
    return session.language.tag if session.language else "zh-CN"


async def request_code(
    pool: asyncpg.Pool,
    store: EventStore,
    wiring: Wiring,
    session: Session,
    channel: CodeChannel,
    now: datetime,
    context: CommandContext,
) -> tuple[Session, UUID]:
    assert session.verification_id is not None
    verification_id = session.verification_id
    facts = await account_facts(wiring, session)
    if channel_destination(facts, channel) is None:
        raise RuleViolation(f"the account has no verified {channel.value} channel")
    delivery_id = uuid.uuid4()
    claim_before = now + timedelta(seconds=wiring.settings.code_claim_seconds)
    language = language_of(session)
    request = RequestCode(
        delivery_id=delivery_id,
        channel=channel,
        language=language,
        claim_path=f"/internal/code-deliveries/{delivery_id}/claim",
        claim_before=claim_before,
        at=now,
    )

    async def act(conn: asyncpg.Connection) -> Session:
        executed = await change_session(conn, store, verification_id, request, context)
        await conn.execute(
            """INSERT INTO code_deliveries (delivery_id, verification_id, account_ref, channel,
                   language, requested_at, claim_before)
               VALUES ($1, $2, $3, $4, $5, $6, $7)""",
            delivery_id,
            verification_id,
            facts.account_ref,
            channel.value,
            language,
            now,
            claim_before,
        )
        return executed.state

    return await command(pool, act), delivery_id


@dataclass(frozen=True)
class ClaimedCode:
    code: str
    channel: CodeChannel
    destination: str
    language: str
    expires_at: datetime


async def claim_code(
    conn: asyncpg.Connection,
    store: EventStore,
    wiring: Wiring,
    delivery_id: UUID,
    claimant: str,
    now: datetime,
    context: CommandContext,
) -> ClaimedCode:
    row = await conn.fetchrow(
        "SELECT verification_id, account_ref, channel, language FROM code_deliveries "
        "WHERE delivery_id = $1 FOR UPDATE",
        delivery_id,
    )
    if row is None:
        raise NotFound("no such code delivery")
    valid_for = timedelta(seconds=wiring.settings.code_valid_seconds)
    issue = IssueCode(delivery_id=delivery_id, claimed_by=claimant, valid_for=valid_for, at=now)
    await change_session(conn, store, row["verification_id"], issue, context)
    try:
        facts = await wiring.facts.facts(row["account_ref"])
    except AccountPlatformUnavailable as error:
        raise party_unavailable(Party.ACCOUNT_PLATFORM, row["language"], str(error)) from None
    channel = CodeChannel(row["channel"])
    destination = channel_destination(facts, channel) if facts else None
    if destination is None:
        raise RuleViolation(f"the account has no verified {channel.value} channel any more")
    code = f"{secrets.randbelow(10**6):06d}"
    await conn.execute(
        """UPDATE code_deliveries SET claimed_by = $2, claimed_at = $3, expires_at = $4,
               code_digest = $5 WHERE delivery_id = $1""",
        delivery_id,
        claimant,
        now,
        now + valid_for,
        digest(wiring.digest_key, code_context(delivery_id), code),
    )
    return ClaimedCode(code, channel, destination, row["language"], now + valid_for)


async def verify_code(
    conn: asyncpg.Connection,
    store: EventStore,
    wiring: Wiring,
    verification_id: UUID,
    code: str,
    now: datetime,
    context: CommandContext,
) -> Session:
    row = await conn.fetchrow(
        """SELECT delivery_id, code_digest FROM code_deliveries WHERE verification_id = $1
           ORDER BY requested_at DESC LIMIT 1 FOR UPDATE""",
        verification_id,
    )
    if row is None:
        raise RuleViolation("no code has been sent yet")
    delivery_id = row["delivery_id"]
    ok = matches(wiring.digest_key, code_context(delivery_id), code, row["code_digest"])
    check = CheckCode(delivery_id=delivery_id, matches=ok, at=now)
    return (await change_session(conn, store, verification_id, check, context)).state


# -- what became of a code's message (the notifications service's outcome) ---------------------


async def remember_code_message(
    conn: asyncpg.Connection,
    notification_id: UUID,
    verification_id: UUID,
    delivery_id: UUID,
    requested_at: datetime,
) -> None:
    """The notifications service's message ``notification_id`` carries this delivery's code
    (its ``notification_requested`` named the delivery): later reports name only the message."""
    await conn.execute(
        """INSERT INTO code_delivery_messages (notification_id, verification_id, delivery_id,
               requested_at) VALUES ($1, $2, $3, $4) ON CONFLICT (notification_id) DO NOTHING""",
        notification_id,
        verification_id,
        delivery_id,
        requested_at,
    )


async def report_code_message(
    conn: asyncpg.Connection,
    store: EventStore,
    notification_id: UUID,
    report: Callable[[UUID], RecordCodeDeliveryFailure | RecordCodeDeliveryProgress],
    context: CommandContext,
) -> None:
    """Record on its session what became of a code's message (nothing for a message that
    carries no code of ours). ``report`` is given the delivery id."""
    row = await conn.fetchrow(
        "SELECT verification_id, delivery_id FROM code_delivery_messages "
        "WHERE notification_id = $1",
        notification_id,
    )
    if row is None:
        return
    await change_session(conn, store, row["verification_id"], report(row["delivery_id"]), context)
