"""``Repository.execute(..., new=True)``: a command on a stream whose id it has just made
decides on the aggregate's initial state without reading the stream; were the id taken after
all, the append fails as a conflict and nothing is written."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import asyncpg
import pytest
import pytest_asyncio

from contracts import Actor, EventPayload
from contracts.events.audit import DataPurged
from runtime.aggregate import AggregateType
from runtime.context import CommandContext
from runtime.db import create_pool, migrate
from runtime.errors import ConcurrencyConflict
from runtime.eventstore import EventStore
from runtime.repository import Executed, Repository
from runtime.settings import ServiceSettings

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Runs:
    runs: int = 0


def evolve(state: Runs, event: EventPayload) -> Runs:
    assert isinstance(event, DataPurged)
    return replace(state, runs=state.runs + 1)


RUNS = AggregateType[Runs]("runs", Runs, evolve)


def purged() -> DataPurged:
    now = datetime.now(UTC)
    return DataPurged(
        service="test",
        policy="idempotency_keys",
        description="test",
        retention_days=1,
        purged=1,
        older_than=now,
        purged_at=now,
    )


@pytest_asyncio.fixture(loop_scope="session")
async def pool(databases: list[str], settings: ServiceSettings) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(settings.dsn("scratch"))
    await migrate(pool, [])
    yield pool
    await pool.close()


def context() -> CommandContext:
    return CommandContext.new(Actor(id="tester", role="admin"))


async def test_a_new_stream_is_decided_on_the_initial_state_and_a_taken_one_conflicts(
    pool: asyncpg.Pool,
) -> None:
    seen: list[int] = []

    async def hook(conn: asyncpg.Connection, executed: Executed[Runs], _: CommandContext) -> None:
        seen.append(executed.version)

    runs = Repository(EventStore("test"), RUNS, after_append=[hook])
    stream = f"runs-{uuid.uuid4()}"
    async with pool.acquire() as conn, conn.transaction():
        first = await runs.execute(conn, stream, lambda s: [purged()], context(), new=True)
    assert (first.before, first.state, first.version, seen) == (Runs(), Runs(1), 1, [1])

    with pytest.raises(ConcurrencyConflict):
        async with pool.acquire() as conn, conn.transaction():
            await runs.execute(conn, stream, lambda s: [purged()], context(), new=True)
    async with pool.acquire() as conn:
        assert (await runs.get(conn, stream)).version == 1  # nothing of the second written
    assert seen == [1]
