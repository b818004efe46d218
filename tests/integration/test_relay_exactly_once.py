"""Exactly once on Kafka across a relay leader change (issue 17): every batch is a Kafka
transaction under the service's transactional id, a new relay fences the one before, and
skips what that one committed but did not delete. Over the real PostgreSQL and Kafka."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest
import pytest_asyncio

from contracts import Actor, Envelope
from contracts.events.checkin import TicketLeft
from contracts.topics import CHECKIN_TICKETS
from runtime.db import create_pool, migrate
from runtime.eventstore import CommandContext, EventStore
from runtime.kafka import TransactionalPublisher, ensure_topics
from runtime.relay import OutboxRelay, RelayFenced
from runtime.settings import KafkaSettings, ServiceSettings
from tests.integration.kafka_tools import read_topic, topics_described

pytestmark = pytest.mark.integration
CONTEXT = CommandContext.new(Actor(id="tester", role="agent"))
STARTED: list[TransactionalPublisher] = []


@pytest_asyncio.fixture(loop_scope="session")
async def pool(databases: list[str], settings: ServiceSettings) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(settings.dsn("scratch"))
    await migrate(pool, [])
    await pool.execute("DELETE FROM outbox")
    yield pool
    await pool.close()


@pytest_asyncio.fixture(loop_scope="session")
async def kafka(settings: ServiceSettings) -> AsyncIterator[KafkaSettings]:
    """A topic namespace (and so a relay transactional id) of this test's own."""
    own = settings.kafka.model_copy(
        update={"topic_prefix": f"{settings.kafka.topic_prefix}{uuid.uuid4().hex[:8]}."}
    )
    await ensure_topics(own, [CHECKIN_TICKETS])
    await topics_described(own.bootstrap_servers, [own.topic(CHECKIN_TICKETS.name)])
    yield own
    while STARTED:
        await STARTED.pop().stop()


def relay(
    pool: asyncpg.Pool,
    kafka: KafkaSettings,
    publisher: type = TransactionalPublisher,
    **options: int,
) -> OutboxRelay:
    """A relay of the service "t", as one replica or one restarted process would build it."""
    STARTED.append(publisher(kafka, "t"))
    return OutboxRelay(pool, STARTED[-1], service="t", topic_name=kafka.topic, **options)


async def append(pool: asyncpg.Pool, stream: str, version: int, count: int) -> list[Envelope]:
    events = [
        TicketLeft(ticket_id=uuid.uuid4(), account_ref=f"n{n}", left_at=datetime.now(UTC))
        for n in range(count)
    ]
    async with pool.acquire() as conn, conn.transaction():
        return await EventStore("checkin").append(conn, stream, version, events, CONTEXT)


async def copies_on_kafka(kafka: KafkaSettings, events: list[Envelope]) -> Counter[uuid.UUID]:
    """How often each of ``events`` is on the topic, as a read_committed consumer sees it."""
    ours = {event.event_id for event in events}
    records = await read_topic(kafka.bootstrap_servers, kafka.topic(CHECKIN_TICKETS.name))
    found = (Envelope.from_bytes(record.value).event_id for record in records)
    return Counter(event_id for event_id in found if event_id in ours)


async def test_a_new_leader_does_not_republish_what_the_dead_one_committed(
    pool: asyncpg.Pool, kafka: KafkaSettings
) -> None:
    """The leader publishes a batch (committed on Kafka) and dies before deleting its rows;
    a new relay with the same transactional id publishes every event exactly once."""
    stream = f"ticket-{uuid.uuid4()}"
    committed = await append(pool, stream, 0, 8)
    dying = relay(pool, kafka, batch_size=5)

    async def dies_before_deleting(outcome: object) -> None:
        raise ConnectionError("kill -9 between the Kafka commit and the outbox delete")

    dying._settle = dies_before_deleting  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        await dying.publish_pending()
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 8  # nothing deleted
    assert set((await copies_on_kafka(kafka, committed)).values()) == {1}  # 5 of them out

    successor = relay(pool, kafka)
    assert await successor.publish_pending() == 3  # the 5 on Kafka are skipped, not re-sent
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0
    copies = await copies_on_kafka(kafka, committed)
    assert copies == {event.event_id: 1 for event in committed}
    records = await read_topic(kafka.bootstrap_servers, kafka.topic(CHECKIN_TICKETS.name))
    versions = [
        Envelope.from_bytes(r.value).stream_version
        for r in records
        if Envelope.from_bytes(r.value).stream_id == stream
    ]
    assert versions == list(range(1, 9))  # and in order
    for record in records:  # each with its own key and event id header
        envelope = Envelope.from_bytes(record.value)
        assert record.key == envelope.stream_id.encode()
        assert dict(record.headers)["event_id"] == str(envelope.event_id).encode()


async def test_a_fenced_leader_cannot_publish(pool: asyncpg.Pool, kafka: KafkaSettings) -> None:
    """The old leader goes on after a new one took over (it lost its lock without noticing):
    its next batch is refused and nothing of it reaches the topic; the new leader publishes
    it once."""
    old = relay(pool, kafka)
    first = await append(pool, f"ticket-{uuid.uuid4()}", 0, 2)
    assert await old.publish_pending() == 2
    new = relay(pool, kafka)
    await new.take_over()  # the new leader registers the transactional id: old is fenced
    later = await append(pool, f"ticket-{uuid.uuid4()}", 0, 3)

    with pytest.raises(RelayFenced):
        await old.publish_pending()
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 3  # nothing deleted
    assert await copies_on_kafka(kafka, later) == Counter()  # nothing visible

    assert await new.publish_pending() == 3
    assert await copies_on_kafka(kafka, first + later) == {e.event_id: 1 for e in first + later}


async def test_a_batch_in_flight_when_the_new_leader_takes_over_is_aborted(
    pool: asyncpg.Pool, kafka: KafkaSettings
) -> None:
    """The old leader has sent a batch and every record is acknowledged, but a new leader
    takes over before its commit: the commit fails, the records are never visible, and the
    new leader publishes them once."""
    events = await append(pool, f"ticket-{uuid.uuid4()}", 0, 4)
    successor = relay(pool, kafka)

    class OvertakenBeforeCommit(TransactionalPublisher):
        async def commit(self) -> None:
            await successor.take_over()
            await super().commit()

    old = relay(pool, kafka, OvertakenBeforeCommit)
    with pytest.raises(RelayFenced):
        await old.publish_pending()
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 4
    assert await copies_on_kafka(kafka, events) == Counter()  # aborted: never visible

    assert await successor.publish_pending() == 4
    assert await copies_on_kafka(kafka, events) == {e.event_id: 1 for e in events}


async def test_deletes_postgresql_lost_republish_nothing(
    pool: asyncpg.Pool, kafka: KafkaSettings
) -> None:
    """A batch's delete commits without waiting for PostgreSQL's WAL flush, so a crash of
    PostgreSQL itself may lose the deletes of several published batches: their rows come
    back. The relay that leads after it (a lost connection ends a leadership) finds their
    records on Kafka and publishes none of them again, only what was never published."""
    stream = f"ticket-{uuid.uuid4()}"
    published = await append(pool, stream, 0, 12)
    assert await relay(pool, kafka, batch_size=5).publish_pending() == 12  # three batches
    await pool.execute(  # every delete lost, as if PostgreSQL crashed before flushing them
        "INSERT INTO outbox (position, topic) SELECT position, $2 FROM events WHERE stream_id = $1",
        stream,
        CHECKIN_TICKETS.name,
    )
    later = await append(pool, stream, 12, 2)

    assert await relay(pool, kafka, batch_size=5).publish_pending() == 2

    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0
    assert await copies_on_kafka(kafka, published + later) == {
        event.event_id: 1 for event in published + later
    }
