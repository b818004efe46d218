"""Inline projections (runtime/inline.py) over real PostgreSQL: a command applies its own events
to an inline group's read model in its transaction, exactly once and in order, and leaves to the
consumer what it cannot apply that way: a stream the group is behind on, a rebuild in
progress, a handler that fails. The command itself always commits."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from contracts import Actor
from contracts.events.audit import DataPurged
from contracts.registry import REGISTRY
from runtime.commands import command
from runtime.consumer import ConsumerGroup, ReceivedEvent, group_lock_key
from runtime.context import CommandContext
from runtime.db import create_pool, migrate
from runtime.eventstore import EventStore
from runtime.inline import NOT_PUBLISHED, InlineProjection
from runtime.repository import Repository
from runtime.settings import ServiceSettings
from tests.integration.test_repository import TALLY, Tally, purged

pytestmark = pytest.mark.integration

GROUP = f"test.inline_{uuid.uuid4().hex[:8]}"
TABLE = f"inline_tallies_{uuid.uuid4().hex[:8]}"
FAILING_POLICY = "a policy the projection cannot take"


async def on_data_purged(conn: asyncpg.Connection, event: ReceivedEvent[DataPurged]) -> None:
    if event.payload.policy == FAILING_POLICY:
        raise ValueError("this projection cannot take it")
    await conn.execute(
        f"INSERT INTO {TABLE} (stream_id, purged, version) VALUES ($1, $2, $3) "
        "ON CONFLICT (stream_id) DO UPDATE SET purged = "
        f"{TABLE}.purged + EXCLUDED.purged, version = EXCLUDED.version",
        event.envelope.stream_id,
        event.payload.purged,
        event.envelope.stream_version,
    )


def topic_name(name: str) -> str:
    return f"test-env.{name}"


INLINE = InlineProjection(
    ConsumerGroup(
        name=GROUP,
        topics=[REGISTRY.topic_of(DataPurged.event_type)],
        handlers={DataPurged: on_data_purged},
        read_models=(TABLE,),
        inline=True,
    ),
    topic_name,
)


@pytest_asyncio.fixture(loop_scope="session")
async def pool(databases: list[str], settings: ServiceSettings) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(settings.dsn("scratch"))
    await migrate(pool, [])
    await pool.execute(
        f"CREATE TABLE IF NOT EXISTS {TABLE} "
        "(stream_id text PRIMARY KEY, purged int NOT NULL, version bigint NOT NULL)"
    )
    yield pool
    await pool.close()


def repository(*, inline: bool = True) -> Repository[Tally]:
    store = EventStore("test")
    if inline:
        store.inline = [INLINE]
    return Repository(store, TALLY)


async def purge(
    pool: asyncpg.Pool, stream_id: str, count: int, *, policy: str = "sessions", inline: bool = True
) -> None:
    event = purged(count, policy)
    context = CommandContext.new(Actor(id="tester", role="admin"))

    async def act(conn: asyncpg.Connection) -> Any:
        return await repository(inline=inline).execute(conn, stream_id, lambda _: [event], context)

    await command(pool, act)


async def projected(pool: asyncpg.Pool, stream_id: str) -> Any:
    return await pool.fetchrow(
        f"SELECT purged, version FROM {TABLE} WHERE stream_id = $1", stream_id
    )


async def inbox(pool: asyncpg.Pool, stream_id: str) -> list[Any]:
    return [
        tuple(row)
        for row in await pool.fetch(
            """SELECT e.stream_version, i.outcome, i.topic, i.kafka_partition, i.kafka_offset
               FROM consumer_inbox i JOIN events e USING (event_id)
               WHERE i.consumer_group = $1 AND e.stream_id = $2 ORDER BY e.stream_version""",
            GROUP,
            stream_id,
        )
    ]


async def position(pool: asyncpg.Pool, stream_id: str) -> int | None:
    version: int | None = await pool.fetchval(
        "SELECT version FROM stream_positions WHERE consumer_group = $1 AND stream_id = $2",
        GROUP,
        stream_id,
    )
    return version


async def test_a_command_applies_its_events_to_the_read_model_in_its_own_transaction(
    pool: asyncpg.Pool,
) -> None:
    stream_id = f"tally-{uuid.uuid4()}"
    await purge(pool, stream_id, 3)
    await purge(pool, stream_id, 4)

    assert tuple(await projected(pool, stream_id)) == (7, 2)
    topic = topic_name(REGISTRY.topic_of(DataPurged.event_type).name)
    # the consumer, reaching the published records, finds them applied (exactly once)
    assert await inbox(pool, stream_id) == [
        (1, "inline", topic, NOT_PUBLISHED, NOT_PUBLISHED),
        (2, "inline", topic, NOT_PUBLISHED, NOT_PUBLISHED),
    ]
    assert await position(pool, stream_id) == 2  # reads after the write need not wait


async def test_a_stream_the_group_has_not_passed_is_left_to_the_consumer(
    pool: asyncpg.Pool,
) -> None:
    stream_id = f"tally-{uuid.uuid4()}"
    await purge(pool, stream_id, 3, inline=False)  # as before the group was inline
    await purge(pool, stream_id, 4)  # its consumer has not applied the first one yet

    assert await projected(pool, stream_id) is None
    assert await inbox(pool, stream_id) == []
    assert await position(pool, stream_id) is None
    assert [row["stream_version"] for row in await events(pool, stream_id)] == [1, 2]

    # once the consumer has passed the stream, the next command applies its own event
    await pool.execute(
        "INSERT INTO stream_positions (consumer_group, stream_id, version) VALUES ($1, $2, 2)",
        GROUP,
        stream_id,
    )
    await purge(pool, stream_id, 5)
    assert tuple(await projected(pool, stream_id)) == (5, 3)
    assert [row[0] for row in await inbox(pool, stream_id)] == [3]


async def test_a_failing_handler_leaves_the_events_to_the_consumer_and_the_command_commits(
    pool: asyncpg.Pool,
) -> None:
    stream_id = f"tally-{uuid.uuid4()}"
    await purge(pool, stream_id, 3)
    await purge(pool, stream_id, 4, policy=FAILING_POLICY)

    assert [row["stream_version"] for row in await events(pool, stream_id)] == [1, 2]
    # only the first event was applied: the second one's inbox row and position rolled back
    assert tuple(await projected(pool, stream_id)) == (3, 1)
    assert [row[0] for row in await inbox(pool, stream_id)] == [1]
    assert await position(pool, stream_id) == 1
    # and the stream stays with the consumer until it has passed the failed event
    await purge(pool, stream_id, 5)
    assert tuple(await projected(pool, stream_id)) == (3, 1)


async def test_a_rebuild_in_progress_leaves_the_events_to_the_consumer(
    pool: asyncpg.Pool,
) -> None:
    stream_id = f"tally-{uuid.uuid4()}"
    async with pool.acquire() as rebuild:
        await rebuild.execute("SELECT pg_advisory_lock($1)", group_lock_key(GROUP))
        try:
            await purge(pool, stream_id, 3)
        finally:
            await rebuild.execute("SELECT pg_advisory_unlock($1)", group_lock_key(GROUP))

    assert [row["stream_version"] for row in await events(pool, stream_id)] == [1]
    assert await projected(pool, stream_id) is None
    assert await inbox(pool, stream_id) == []


async def events(pool: asyncpg.Pool, stream_id: str) -> list[Any]:
    return list(
        await pool.fetch(
            "SELECT stream_version FROM events WHERE stream_id = $1 ORDER BY stream_version",
            stream_id,
        )
    )
