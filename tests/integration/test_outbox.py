"""The transactional outbox and its relay, over real PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime

import asyncpg
import pytest
import pytest_asyncio

from contracts import Actor, Envelope
from contracts.events.checkin import TicketLeft
from contracts.topics import CHECKIN_TICKETS
from runtime.db import create_pool, migrate
from runtime.errors import ConcurrencyConflict
from runtime.eventstore import CommandContext, EventStore
from runtime.kafka import TransactionalPublisher, ensure_topics
from runtime.relay import OutboundRecord, OutboxRelay, RelayError
from runtime.settings import KafkaSettings, ServiceSettings
from tests.integration.kafka_tools import read_topic, topics_described

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(loop_scope="session")
async def pool(databases: list[str], settings: ServiceSettings) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(settings.dsn("scratch"))
    await migrate(pool, [])
    await pool.execute("DELETE FROM outbox")  # each test starts with nothing pending
    yield pool
    await pool.close()


@pytest_asyncio.fixture(loop_scope="session")
async def kafka(settings: ServiceSettings) -> KafkaSettings:
    """A topic namespace of this test's own (and so a relay transactional id of its own)."""
    own = settings.kafka.model_copy(
        update={"topic_prefix": f"{settings.kafka.topic_prefix}{uuid.uuid4().hex[:8]}."}
    )
    await ensure_topics(own, [CHECKIN_TICKETS])
    await topics_described(own.bootstrap_servers, [own.topic(CHECKIN_TICKETS.name)])
    return own


def left(n: int) -> TicketLeft:
    # no reason: a ticket's leave reason is personal data (sealed with the key store, which
    # these store-level tests do not wire); the payload's content is not what they check
    return TicketLeft(ticket_id=uuid.uuid4(), reason=None, left_at=datetime.now(UTC))


CONTEXT = CommandContext.new(Actor(id="tester", role="agent"))


STARTED: list[TransactionalPublisher] = []


def publisher(topics: KafkaSettings) -> TransactionalPublisher:
    """A relay's publisher for the service "t": every one has the same transactional id."""
    STARTED.append(TransactionalPublisher(topics, "t"))
    return STARTED[-1]


@pytest_asyncio.fixture(loop_scope="session", autouse=True)
async def stop_publishers() -> AsyncIterator[None]:
    yield
    while STARTED:
        await STARTED.pop().stop()


async def append(pool: asyncpg.Pool, stream: str, version: int, count: int) -> list[Envelope]:
    store = EventStore("checkin")
    async with pool.acquire() as conn, conn.transaction():
        return await store.append(
            conn, stream, version, [left(version + n) for n in range(count)], CONTEXT
        )


async def published(kafka: KafkaSettings) -> list[Envelope]:
    records = await read_topic(kafka.bootstrap_servers, kafka.topic(CHECKIN_TICKETS.name))
    return [Envelope.from_bytes(record.value) for record in records]


async def test_relay_publishes_in_order_per_aggregate_keyed_by_stream(
    pool: asyncpg.Pool, kafka: KafkaSettings
) -> None:
    topics = kafka
    streams = [f"ticket-{uuid.uuid4()}" for _ in range(3)]
    for round_ in range(4):  # interleave appends of three aggregates
        for stream in streams:
            await append(pool, stream, round_ * 2, 2)
    relay = OutboxRelay(pool, publisher(topics), service="t", topic_name=topics.topic)
    assert await relay.publish_pending() == 24
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0
    records = await read_topic(topics.bootstrap_servers, topics.topic(CHECKIN_TICKETS.name))
    by_stream: dict[str, list[int]] = {}
    partitions: dict[str, set[int]] = {}
    for record in records:
        envelope = Envelope.from_bytes(record.value)
        assert record.key == envelope.stream_id.encode()
        by_stream.setdefault(envelope.stream_id, []).append(envelope.stream_version)
        partitions.setdefault(envelope.stream_id, set()).add(record.partition)
        assert dict(record.headers)["event_type"] == b"checkin.ticket_left"
    assert by_stream == {stream: list(range(1, 9)) for stream in streams}
    assert all(len(p) == 1 for p in partitions.values())  # one aggregate, one partition


async def test_crash_between_commit_and_publish_loses_nothing(
    pool: asyncpg.Pool, kafka: KafkaSettings
) -> None:
    topics = kafka
    stream = f"ticket-{uuid.uuid4()}"
    committed = await append(pool, stream, 0, 5)  # committed; no relay ran ("crash")

    class DiesAfterTwo(TransactionalPublisher):
        sent = 0

        async def send(self, record: OutboundRecord) -> Awaitable[object]:
            if self.sent == 2:
                raise ConnectionError("the process died here")
            self.sent += 1
            return await super().send(record)

    dying = DiesAfterTwo(topics, "t")
    STARTED.append(dying)
    with pytest.raises(RelayError):
        await OutboxRelay(pool, dying, service="t", topic_name=topics.topic).publish_pending()
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 3
    # a fresh relay (the restarted process) publishes the rest
    real = publisher(topics)
    assert (
        await OutboxRelay(pool, real, service="t", topic_name=topics.topic).publish_pending() == 3
    )
    on_kafka = [e for e in await published(topics) if e.stream_id == stream]
    assert [e.event_id for e in on_kafka] == [e.event_id for e in committed]


async def test_transactions_committing_out_of_order_are_not_skipped(
    pool: asyncpg.Pool, kafka: KafkaSettings
) -> None:
    """T1 takes the lower position but commits after T2, whose event is published first.
    A relay that remembered "the last position I published" would skip T1's event."""
    topics = kafka
    relay = OutboxRelay(pool, publisher(topics), service="t", topic_name=topics.topic)
    store = EventStore("checkin")
    slow_stream, fast_stream = f"ticket-{uuid.uuid4()}", f"ticket-{uuid.uuid4()}"
    async with pool.acquire() as slow:
        slow_tx = slow.transaction()
        await slow_tx.start()
        [slow_event] = await store.append(slow, slow_stream, 0, [left(1)], CONTEXT)
        [fast_event] = await append(pool, fast_stream, 0, 1)
        slow_position = await slow.fetchval(
            "SELECT position FROM events WHERE event_id = $1", slow_event.event_id
        )
        fast_position = await pool.fetchval(
            "SELECT position FROM events WHERE event_id = $1", fast_event.event_id
        )
        assert slow_position < fast_position
        assert await relay.publish_pending() == 1  # only the committed one is visible
        await slow_tx.commit()
    assert await relay.publish_pending() == 1
    ids = {e.event_id for e in await published(topics)}
    assert {slow_event.event_id, fast_event.event_id} <= ids


async def test_concurrent_appends_to_one_stream_one_wins(pool: asyncpg.Pool) -> None:
    store = EventStore("checkin")
    stream = f"ticket-{uuid.uuid4()}"
    await append(pool, stream, 0, 1)
    both_read = asyncio.Barrier(2)

    async def writer() -> str:
        async with pool.acquire() as conn, conn.transaction():
            version = len(await store.load(conn, stream))
            await both_read.wait()
            try:
                await store.append(conn, stream, version, [left(9)], CONTEXT)
            except ConcurrencyConflict:
                return "conflict"
            return "appended"

    assert sorted(await asyncio.gather(writer(), writer())) == ["appended", "conflict"]
    versions = await pool.fetch(
        "SELECT stream_version FROM events WHERE stream_id = $1 ORDER BY 1", stream
    )
    assert [row["stream_version"] for row in versions] == [1, 2]
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM outbox o JOIN events e USING (position) WHERE e.stream_id = $1",
            stream,
        )
        == 2
    )


async def test_rolled_back_command_leaves_no_event_and_no_outbox_row(pool: asyncpg.Pool) -> None:
    stream = f"ticket-{uuid.uuid4()}"
    store = EventStore("checkin")

    async def command_that_fails_after_appending() -> None:
        async with pool.acquire() as conn, conn.transaction():
            await store.append(conn, stream, 0, [left(1)], CONTEXT)
            raise RuntimeError("rule check failed after append")

    with pytest.raises(RuntimeError, match="rule check failed after append"):
        await command_that_fails_after_appending()
    assert await pool.fetchval("SELECT count(*) FROM events WHERE stream_id = $1", stream) == 0
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0


async def test_only_one_relay_leads_and_nothing_is_published_twice(
    pool: asyncpg.Pool, kafka: KafkaSettings
) -> None:
    topics = kafka
    relays = [
        OutboxRelay(
            pool, publisher(topics), service="t", topic_name=topics.topic, poll_interval=0.05
        )
        for _ in range(2)
    ]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(relay.run(stop)) for relay in relays]
    try:
        streams = [f"ticket-{uuid.uuid4()}" for _ in range(10)]
        for stream in streams:
            await append(pool, stream, 0, 3)

        async def drained() -> bool:
            return await pool.fetchval("SELECT count(*) FROM outbox") == 0

        for _ in range(100):
            if await drained():
                break
            await asyncio.sleep(0.1)
        assert await drained()
        assert sorted(relay.is_leader for relay in relays) == [False, True]
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    ours = [e for e in await published(topics) if e.stream_id in set(streams)]
    assert len(ours) == 30
    assert len({e.event_id for e in ours}) == 30
