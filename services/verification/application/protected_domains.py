"""The registry of protected brands' domains: seeded at start-up, changed by operators, read
when an organization is submitted."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from runtime.commands import command
from runtime.context import CommandContext
from runtime.eventstore import EventStore
from runtime.repository import Repository
from runtime.running import RunningService
from services.verification.application.sessions import SERVICE
from services.verification.domain.protected_domains import (
    PROTECTED_DOMAINS,
    REGISTRY_STREAM,
    SEEDS,
    ProtectedDomains,
    ProtectedDomainsCommand,
    SeedProtectedDomains,
    decide_protected_domains,
)


def registry(store: EventStore) -> Repository[ProtectedDomains]:
    return Repository(store, PROTECTED_DOMAINS)


async def protected_domains(conn: asyncpg.Connection, store: EventStore) -> ProtectedDomains:
    return await registry(store).state(conn, REGISTRY_STREAM)


async def change_protected_domains(
    conn: asyncpg.Connection,
    store: EventStore,
    change: ProtectedDomainsCommand,
    context: CommandContext,
) -> ProtectedDomains:
    executed = await registry(store).execute(
        conn, REGISTRY_STREAM, lambda state: decide_protected_domains(state, change), context
    )
    return executed.state


async def seed_protected_domains(runtime: RunningService, now: datetime | None = None) -> None:
    """At start-up: add the documented seeds never added before (idempotent; several replicas
    starting at once conflict on the one stream and the retry adds nothing)."""
    seed = SeedProtectedDomains(SEEDS, now or runtime.clock.now())
    context = CommandContext.of_service(SERVICE)
    await command(
        runtime.pool, lambda conn: change_protected_domains(conn, runtime.store, seed, context)
    )
