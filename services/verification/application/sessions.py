"""Verification sessions: their repository (with the timers and write-side rows that follow
each session), starting one, changing one, and what the session timers fire."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from contracts.events.verification import VerificationCompleted
from contracts.events.verification_sessions import CooldownEnded, LockedOut, SessionStarted
from runtime.context import CommandContext
from runtime.eventstore import EventStore
from runtime.repository import Executed, Repository
from runtime.scheduler import Timer, cancel, schedule
from services.verification.domain.sessions import (
    SESSION,
    Command,
    EndCooldown,
    Expire,
    Session,
    SessionStatus,
    StartSession,
    decide,
)

SERVICE = "verification"
EXPIRY_TIMER = "verification-expiry"
COOLDOWN_TIMER = "verification-cooldown"


def session_stream(verification_id: UUID) -> str:
    return f"verification-{verification_id}"


async def follow_session(
    conn: asyncpg.Connection, executed: Executed[Session], context: CommandContext
) -> None:
    """After an append: the session's timers, its cool-down index, and the secrets a
    finished session forgets."""
    state = executed.state
    verification_id = state.verification_id
    for event in executed.events:
        if isinstance(event, SessionStarted) and state.status is SessionStatus.OPEN:
            assert state.expires_at is not None
            timer_id = f"{EXPIRY_TIMER}:{verification_id}"
            await schedule(conn, timer_id, EXPIRY_TIMER, state.expires_at, {
                "verification_id": str(verification_id)}, context)  # fmt: skip
        elif isinstance(event, LockedOut):
            await conn.execute(
                """INSERT INTO account_lockouts (verification_id, account_ref, cooldown_until)
                   VALUES ($1, $2, $3) ON CONFLICT (verification_id) DO UPDATE
                   SET cooldown_until = EXCLUDED.cooldown_until""",
                event.verification_id,
                event.account_ref,
                event.cooldown_until,
            )
            timer_id = f"{COOLDOWN_TIMER}:{verification_id}"
            await schedule(conn, timer_id, COOLDOWN_TIMER, event.cooldown_until, {
                "verification_id": str(verification_id)}, context)  # fmt: skip
        elif isinstance(event, CooldownEnded):
            await conn.execute(
                "DELETE FROM account_lockouts WHERE verification_id = $1", event.verification_id
            )
        elif isinstance(event, VerificationCompleted):
            await cancel(conn, f"{EXPIRY_TIMER}:{verification_id}")
            await forget_session_secrets(conn, event.verification_id)


def sessions(store: EventStore) -> Repository[Session]:
    return Repository(store, SESSION, after_append=[follow_session])


async def load_session(
    conn: asyncpg.Connection, store: EventStore, verification_id: UUID
) -> Session:
    return await sessions(store).state(conn, session_stream(verification_id))


async def change_session(
    conn: asyncpg.Connection,
    store: EventStore,
    verification_id: UUID,
    command: Command,
    context: CommandContext,
) -> Executed[Session]:
    """Decide one command on the session and append (its timers follow)."""
    return await sessions(store).execute(
        conn, session_stream(verification_id), lambda state: decide(state, command), context
    )


async def account_cooldown_until(conn: asyncpg.Connection, account_ref: str) -> datetime | None:
    """The latest cool-down end of the account's lockouts that have not ended (the index the
    sessions' after-append hook keeps); ``decide`` says whether it still pauses the account."""
    return await conn.fetchval(  # type: ignore[no-any-return]
        "SELECT max(cooldown_until) FROM account_lockouts WHERE account_ref = $1", account_ref
    )


async def start_session(
    conn: asyncpg.Connection, store: EventStore, command: StartSession, context: CommandContext
) -> Executed[Session]:
    cooldown = await account_cooldown_until(conn, command.account_ref)
    command = StartSession(**{**command.__dict__, "account_cooldown_until": cooldown})
    return await change_session(conn, store, command.verification_id, command, context)


async def forget_session_secrets(conn: asyncpg.Connection, verification_id: UUID) -> None:
    """A finished session keeps no questions (they quote account facts) nor code digests."""
    await conn.execute(
        "DELETE FROM knowledge_questions WHERE verification_id = $1", verification_id
    )
    await conn.execute("DELETE FROM code_deliveries WHERE verification_id = $1", verification_id)


async def on_expiry_timer(
    store: EventStore, conn: asyncpg.Connection, timer: Timer, now: datetime
) -> None:
    verification_id = UUID(timer.payload["verification_id"])
    await change_session(conn, store, verification_id, Expire(at=now), timer.context(SERVICE))


async def on_cooldown_timer(
    store: EventStore, conn: asyncpg.Connection, timer: Timer, now: datetime
) -> None:
    verification_id = UUID(timer.payload["verification_id"])
    command = EndCooldown(at=now)
    await change_session(conn, store, verification_id, command, timer.context(SERVICE))
