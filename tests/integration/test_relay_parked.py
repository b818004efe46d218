"""Issue 12 over the real PostgreSQL and Kafka: an oversized event is refused at append, a
record Kafka refuses for good is parked while later events keep flowing, operators retry or
drop it; and the relay publishes in batches (a crash between publish and delete re-publishes
nothing: the next relay skips what Kafka has), one aiokafka batch per partition: a key lands
where ``AIOKafkaProducer.send()`` puts it, and a batch the broker refuses whole still parks
exactly the refused record."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

from contracts import Actor, Envelope
from contracts.events.checkin import TicketLeft
from contracts.topics import CHECKIN_TICKETS
from runtime.db import create_pool, migrate
from runtime.eventstore import CommandContext, EventStore, EventTooLarge
from runtime.kafka import TransactionalPublisher, ensure_topics
from runtime.relay import OutboxRelay, drop_parked, parked_records, retry_parked
from runtime.settings import KafkaSettings, ServiceSettings
from tests.integration.kafka_tools import read_topic, topics_described

pytestmark = pytest.mark.integration
CONTEXT = CommandContext.new(Actor(id="tester", role="agent"))


@pytest_asyncio.fixture(loop_scope="session")
async def pool(databases: list[str], settings: ServiceSettings) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(settings.dsn("scratch"))
    await migrate(pool, [])
    await pool.execute("DELETE FROM outbox")
    await pool.execute("DELETE FROM parked_outbox")
    yield pool
    await pool.close()


@pytest_asyncio.fixture(loop_scope="session")
async def kafka(settings: ServiceSettings) -> KafkaSettings:
    """A topic namespace of this test's own (and so a relay transactional id of its own)."""
    return await namespace(settings)


async def namespace(settings: ServiceSettings, **topic_settings: int) -> KafkaSettings:
    own = settings.kafka.model_copy(
        update={"topic_prefix": f"{settings.kafka.topic_prefix}{uuid.uuid4().hex[:8]}."}
    )
    await ensure_topics(own.model_copy(update=topic_settings), [CHECKIN_TICKETS])
    await topics_described(own.bootstrap_servers, [own.topic(CHECKIN_TICKETS.name)])
    return own


def left(label: str) -> TicketLeft:
    # the label goes in the (non-personal) account ref: the reason is personal data, sealed
    # with a key store these store-level tests do not wire
    return TicketLeft(ticket_id=uuid.uuid4(), account_ref=label, left_at=datetime.now(UTC))


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


async def append(pool: asyncpg.Pool, stream: str, version: int, *reasons: str) -> list[Envelope]:
    async with pool.acquire() as conn, conn.transaction():
        return await EventStore("checkin").append(
            conn, stream, version, [left(r) for r in reasons], CONTEXT
        )


async def on_kafka(kafka: KafkaSettings) -> list[Envelope]:
    records = await read_topic(kafka.bootstrap_servers, kafka.topic(CHECKIN_TICKETS.name))
    return [Envelope.from_bytes(record.value) for record in records]


async def counts(pool: asyncpg.Pool) -> tuple[int, int]:
    row = await pool.fetchrow(
        "SELECT (SELECT count(*) FROM events) AS e, (SELECT count(*) FROM outbox) AS o"
    )
    assert row is not None
    return row["e"], row["o"]


async def test_an_oversized_event_is_refused_at_append_and_nothing_is_written(
    pool: asyncpg.Pool,
) -> None:
    before = await counts(pool)
    stream = f"ticket-{uuid.uuid4()}"
    store = EventStore("checkin", max_event_bytes=8192)
    # built past validation: what a model without bounds let through (issue 12)
    huge = TicketLeft.model_construct(
        ticket_id=uuid.uuid4(), reason=None, account_ref="x" * 20_000, left_at=datetime.now(UTC)
    )
    async with pool.acquire() as conn, conn.transaction():
        with pytest.raises(EventTooLarge) as refused:
            await store.append(conn, stream, 0, [left("ok"), huge], CONTEXT)
    assert refused.value.status == 413
    assert "checkin.ticket_left" in refused.value.detail
    assert "8192" in refused.value.detail
    assert await counts(pool) == before
    # the default cap sits well under Kafka's max message size
    default = EventStore("checkin").max_event_bytes
    assert default <= KafkaSettings().max_message_bytes // 2


async def insert_poison(pool: asyncpg.Pool, stream: str, size: int) -> int:
    """An event as an older version wrote it, before the append cap: too large for Kafka."""
    [template] = await append(pool, f"ticket-{uuid.uuid4()}", 0, "template")
    envelope = template.model_dump(mode="json")
    envelope |= {"event_id": str(uuid.uuid4()), "stream_id": stream, "stream_version": 1}
    envelope["payload"] = {**envelope["payload"], "account_ref": "p" * size}
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("DELETE FROM outbox")  # the template itself is not the point
        position: int = await conn.fetchval(
            """INSERT INTO events (event_id, stream_type, stream_id, stream_version, event_type,
                                   schema_version, occurred_at, envelope)
               VALUES ($1, 'ticket', $2, 1, 'checkin.ticket_left', 1, now(), $3)
               RETURNING position""",
            uuid.UUID(envelope["event_id"]),
            stream,
            envelope,
        )
        await conn.execute(
            "INSERT INTO outbox (position, topic) VALUES ($1, $2)", position, CHECKIN_TICKETS.name
        )
    return position


async def test_a_poison_record_is_parked_and_later_events_keep_flowing(
    pool: asyncpg.Pool, kafka: KafkaSettings
) -> None:
    topics = kafka
    await pool.execute("DELETE FROM outbox")
    before = await append(pool, f"ticket-{uuid.uuid4()}", 0, "before")
    poison_stream = f"ticket-{uuid.uuid4()}"
    poison = await insert_poison(pool, poison_stream, 2_000_000)
    await append(pool, f"ticket-{uuid.uuid4()}", 0, "before")  # not the point either
    after = await append(pool, poison_stream, 1, "after-1", "after-2")
    relay = OutboxRelay(pool, publisher(topics), service="t", topic_name=topics.topic)

    published = await relay.publish_pending()

    assert published >= 3  # the events after the poison, its own stream's included
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0
    [parked] = await parked_records(pool)
    assert parked["position"] == poison
    assert parked["event_type"] == "checkin.ticket_left"
    assert "MessageSizeTooLarge" in str(parked["reason"])
    assert "ppppp" not in str(parked["reason"])  # never the payload
    ids = {e.event_id for e in await on_kafka(topics)}
    assert {e.event_id for e in after} <= ids
    assert before[0].event_id not in ids  # deleted from the outbox by insert_poison

    # retried: back into the outbox, refused again, parked again (not stuck)
    assert await retry_parked(pool, poison) == 1
    assert await pool.fetchval("SELECT count(*) FROM parked_outbox") == 0
    await append(pool, poison_stream, 3, "after-3")
    assert await relay.publish_pending() == 1
    [again] = await parked_records(pool)
    assert again["attempts"] == 2
    # dropped: gone from the parked table, the event stays in the store
    assert await drop_parked(pool, poison)
    assert not await drop_parked(pool, poison)
    assert await parked_records(pool) == []
    assert await pool.fetchval("SELECT count(*) FROM events WHERE position = $1", poison) == 1


async def test_a_crash_between_publish_and_delete_republishes_nothing(
    pool: asyncpg.Pool, kafka: KafkaSettings
) -> None:
    topics = kafka
    await pool.execute("DELETE FROM outbox")
    stream = f"ticket-{uuid.uuid4()}"
    committed = await append(pool, stream, 0, *(f"e{n}" for n in range(12)))
    relay = OutboxRelay(pool, publisher(topics), service="t", batch_size=5, topic_name=topics.topic)
    settle = relay._settle
    calls = 0

    async def crash_on_second_batch(outcome: object) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise ConnectionError("the process died between publish and delete")
        await settle(outcome)  # type: ignore[arg-type]

    relay._settle = crash_on_second_batch  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        await relay.publish_pending()
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 7
    restarted = OutboxRelay(pool, publisher(topics), service="t", topic_name=topics.topic)
    # the restarted relay finds the crashed batch on Kafka: it publishes only the other 7 - 5
    assert await restarted.publish_pending() == 2
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0
    mine = [e for e in await on_kafka(topics) if e.stream_id == stream]
    assert {e.event_id for e in mine} == {e.event_id for e in committed}
    assert len(mine) - len(committed) <= 5  # at most one batch twice
    assert len(mine) == len(committed)  # in fact none: exactly once
    # and per-aggregate order held: the first copy of each version comes in order
    first_seen: list[int] = []
    for envelope in mine:
        if envelope.stream_version not in first_seen:
            first_seen.append(envelope.stream_version)
    assert first_seen == list(range(1, 13))


class CountsCommits(TransactionalPublisher):
    commits = 0

    async def commit(self) -> None:
        await super().commit()
        self.commits += 1


@pytest.mark.parametrize(
    ("bounds", "transactions"),
    [({"batch_size": 5}, 3), ({"batch_bytes": 1}, 12)],
    ids=["rows", "bytes"],
)
async def test_a_batch_is_bounded_by_rows_and_by_bytes(
    pool: asyncpg.Pool, kafka: KafkaSettings, bounds: dict[str, int], transactions: int
) -> None:
    """Twelve events: batches of five rows make three transactions; a byte bound smaller
    than one envelope makes a transaction per event (a batch holds at least one). Each pass
    reads the next batch while it publishes one: every event goes out once, in order."""
    topics = kafka
    await pool.execute("DELETE FROM outbox")
    stream = f"ticket-{uuid.uuid4()}"
    committed = await append(pool, stream, 0, *(f"e{n}" for n in range(12)))
    counting = CountsCommits(topics, "t")
    STARTED.append(counting)
    relay = OutboxRelay(pool, counting, service="t", topic_name=topics.topic, **bounds)

    assert await relay.publish_pending() == 12

    assert counting.commits == transactions
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0
    mine = [e for e in await on_kafka(topics) if e.stream_id == stream]
    assert [e.event_id for e in mine] == [e.event_id for e in committed]


async def test_a_key_lands_on_the_partition_a_plain_send_picks(
    pool: asyncpg.Pool, kafka: KafkaSettings
) -> None:
    """Forty streams, so that every one of the six partitions gets some: each relayed record
    is on the partition where an idempotent producer's ``send()`` puts a record with the same
    key, so an aggregate's events stay where consumers and earlier records have them."""
    await pool.execute("DELETE FROM outbox")
    streams = [f"ticket-{uuid.uuid4()}" for _ in range(40)]
    for stream in streams:
        await append(pool, stream, 0, "first", "second")

    relay = OutboxRelay(pool, publisher(kafka), service="t", topic_name=kafka.topic)
    assert await relay.publish_pending() == 80

    topic = kafka.topic(CHECKIN_TICKETS.name)
    relayed_on: dict[bytes, set[int]] = {}
    for record in await read_topic(kafka.bootstrap_servers, topic):
        assert record.key is not None
        relayed_on.setdefault(record.key, set()).add(record.partition)
    assert set(relayed_on) == {stream.encode() for stream in streams}
    assert len(set().union(*relayed_on.values())) == 6
    plain = AIOKafkaProducer(
        bootstrap_servers=kafka.bootstrap_servers, enable_idempotence=True, acks="all"
    )
    await plain.start()
    try:
        for key, partitions in relayed_on.items():
            sent = await plain.send_and_wait(topic, b"plain", key=key)
            assert partitions == {sent.partition}, key
    finally:
        await plain.stop()


async def test_a_batch_the_broker_refuses_parks_only_the_refused_record(
    pool: asyncpg.Pool, settings: ServiceSettings
) -> None:
    """The topic takes at most 64 KiB a batch while the producer sends up to 1 MiB: a 200 kB
    record passes the producer's check, and the broker refuses the batch it is in whole, with
    the records of its partition around it. Sent again one by one, only that record is
    refused and parked; every other one is published once, in its stream's order, in the same
    pass."""
    kafka = await namespace(settings, max_message_bytes=65_536)
    await pool.execute("DELETE FROM outbox")
    poison_stream = f"ticket-{uuid.uuid4()}"
    partition = DefaultPartitioner()(poison_stream.encode(), list(range(6)), list(range(6)))
    neighbour = next(  # another stream on the poison's partition: they share batches
        stream
        for stream in (f"ticket-{uuid.uuid4()}" for _ in range(1000))
        if DefaultPartitioner()(stream.encode(), list(range(6)), list(range(6))) == partition
    )
    before = await append(pool, neighbour, 0, "n1", "n2")
    poison = await insert_poison(pool, poison_stream, 200_000)  # empties the outbox first
    await pool.execute(
        "INSERT INTO outbox (position, topic) SELECT position, $2 FROM events WHERE stream_id = $1",
        neighbour,
        CHECKIN_TICKETS.name,
    )
    after = await append(pool, poison_stream, 1, "after-1", "after-2")
    later = await append(pool, neighbour, 2, "n3")
    relay = OutboxRelay(pool, publisher(kafka), service="t", topic_name=kafka.topic)

    assert await relay.publish_pending() == 5

    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0
    [parked] = await parked_records(pool)
    assert parked["position"] == poison
    assert "MessageSizeTooLarge" in str(parked["reason"])
    published = await on_kafka(kafka)
    assert [e.event_id for e in published if e.stream_id == neighbour] == [
        e.event_id for e in before + later
    ]
    assert [e.event_id for e in published if e.stream_id == poison_stream] == [
        e.event_id for e in after
    ]
    await pool.execute("DELETE FROM parked_outbox")
