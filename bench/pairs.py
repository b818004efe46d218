"""The benchmark pairs of ``make bench``: each measures Frontdesk's machinery and a raw baseline
doing the same work on the same machine. Every function returns a figure where more is better
(per second), or a latency in seconds where the row says so.

Only the runtime's public classes (EventStore, Repository, OutboxRelay, ConsumerRunner) and
raw drivers are used here; the services are reached through HTTP in ``bench/http_pairs.py``.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.stack import Namespace
from contracts import Actor, EventPayload, TopicSpec
from contracts.events.checkin import TicketLeft
from contracts.topics import CHECKIN_TICKETS
from runtime.aggregate import AggregateType, Snapshots
from runtime.consumer import ConsumerGroup, ConsumerRunner, ReceivedEvent
from runtime.db import create_pool, migrate
from runtime.eventstore import OUTBOX_CHANNEL, CommandContext, EventStore
from runtime.kafka import (
    EMPTY_POLL_MS,
    TransactionalPublisher,
    build_broker,
    ensure_topics,
    read_to_end,
    topic_partitions,
)
from runtime.relay import OutboxRelay
from runtime.repository import Repository

CONTEXT = CommandContext.new(Actor(id="bench", role="service"))


def event(n: int) -> TicketLeft:
    """A small event without personal data (a leaver's reason would need the key store; the
    bench compares the append path itself with its raw baseline)."""
    return TicketLeft(ticket_id=uuid.uuid4(), left_at=datetime.now(UTC))


async def until_empty(pool: asyncpg.Pool, query: str, *args: Any) -> None:
    """Poll ``query`` (a boolean) until it is true."""
    done = False
    while not done:
        done = bool(await pool.fetchval(query, *args))
        await asyncio.sleep(0 if done else 0.01)


async def until(condition: Callable[[], bool]) -> None:
    """Poll ``condition`` until it holds."""
    while not condition():  # noqa: ASYNC110 (state of another task's object, no event to wait on)
        await asyncio.sleep(0.01)


async def timed(count: int, work: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await work()
    return count / (time.perf_counter() - started)


@dataclass
class Scratch:
    """One scratch database (runtime migrations applied) and the bench's topics."""

    namespace: Namespace
    pool: asyncpg.Pool
    dsn: str

    @classmethod
    async def create(cls, namespace: Namespace) -> Scratch:
        dsn = await namespace.database("scratch")
        pool = await create_pool(dsn, max_size=4)
        await migrate(pool, [])
        await pool.execute("CREATE TABLE raw_rows (id uuid PRIMARY KEY, body jsonb NOT NULL)")
        await pool.execute(
            """CREATE TABLE bench_projection (
                   stream_id text PRIMARY KEY, events integer NOT NULL, last_reason text)"""
        )
        return cls(namespace, pool, dsn)

    def topic(self, name: str) -> str:
        return self.namespace.kafka.topic(name)


# -- (a) append vs a raw insert and vs python eventsourcing --------------------------------------


async def append(scratch: Scratch, count: int) -> float:
    """EventStore.append: one command = one transaction (a new stream each time)."""
    store = EventStore("bench")

    async def work() -> None:
        async with scratch.pool.acquire() as conn:
            for n in range(count):
                async with conn.transaction():
                    await store.append(conn, f"ticket-{uuid.uuid4()}", 0, [event(n)], CONTEXT)

    return await timed(count, work)


async def raw_insert(scratch: Scratch, count: int) -> float:
    """One autocommitted single-row INSERT of a similar JSON body."""
    body = event(0).model_dump(mode="json")

    async def work() -> None:
        async with scratch.pool.acquire() as conn:
            for _ in range(count):
                await conn.execute("INSERT INTO raw_rows VALUES ($1, $2)", uuid.uuid4(), body)

    return await timed(count, work)


def eventsourcing_available() -> str | None:
    """Why the python ``eventsourcing`` peer cannot run, or None."""
    try:
        import eventsourcing.postgres  # noqa: F401
    except ImportError as error:
        return f"not installed ({error.name}): pip install -e '.[bench]'"
    return None


_PEER: list[Any] = []


def _peer_aggregate() -> Any:
    """The peer's aggregate class, defined once (the library registers it by its topic)."""
    if not _PEER:
        from eventsourcing.domain import Aggregate, event

        class Ticket(Aggregate):
            @event("Left")
            def __init__(self, reason: str) -> None:
                self.reason = reason

        _PEER.append(Ticket)
    return _PEER[0]


async def eventsourcing_saves(scratch: Scratch, count: int) -> float:
    """The python ``eventsourcing`` library on the same PostgreSQL: ``count`` sequential saves
    of a new aggregate with one event (its own thread: the library is synchronous)."""
    from eventsourcing.application import Application

    ticket = _peer_aggregate()
    settings = scratch.namespace.settings
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": f"{settings.database_prefix}scratch",
        "POSTGRES_HOST": settings.pg_host,
        "POSTGRES_PORT": str(settings.pg_port),
        "POSTGRES_USER": settings.pg_user,
        "POSTGRES_PASSWORD": settings.pg_password.get_secret_value(),
        "CREATE_TABLE": "y",
    }

    def work() -> float:
        app: Application[uuid.UUID] = Application(env=env)
        try:
            app.save(ticket(reason="warm-up"))
            started = time.perf_counter()
            for n in range(count):
                app.save(ticket(reason=f"bench {n}"))
            return count / (time.perf_counter() - started)
        finally:
            app.close()

    return await asyncio.to_thread(work)


# -- (b) relay vs a raw idempotent producer ------------------------------------------------------

RAW_TOPIC = TopicSpec(
    name="bench.raw", producer="bench", stream_type="raw", description="raw baseline"
)
# the relay row's: it publishes the same events at every repetition, and the consume rows
# count one event per record of theirs
RELAYED_TOPIC = TopicSpec(
    name="bench.relayed", producer="bench", stream_type="ticket", description="relay row"
)
# the consume rows': on the tickets topic, the check-in service the later rows start would
# consume its 100,000 records while they measure it (its new groups begin at the earliest)
CONSUMED_TOPIC = TopicSpec(
    name="bench.consumed", producer="bench", stream_type="ticket", description="consume rows"
)


async def fill_outbox(scratch: Scratch, count: int) -> None:
    store = EventStore("bench")
    async with scratch.pool.acquire() as conn:
        for first in range(0, count, 200):
            async with conn.transaction():
                for n in range(first, min(first + 200, count)):
                    await store.append(conn, f"ticket-{uuid.uuid4()}", 0, [event(n)], CONTEXT)


async def last_events(scratch: Scratch, count: int) -> None:
    """Make sure the scratch store holds at least ``count`` events, none of them still in the
    outbox (appended here if there are too few, their outbox rows removed)."""
    if await scratch.pool.fetchval("SELECT count(*) FROM events") < count:
        last = await scratch.pool.fetchval("SELECT coalesce(max(position), 0) FROM events")
        await fill_outbox(scratch, count)
        await scratch.pool.execute("DELETE FROM outbox WHERE position > $1", last)


async def relay(scratch: Scratch, count: int) -> float:
    """OutboxRelay (constructor and run() only) draining ``count`` outbox rows to Kafka, timed
    from the moment the leading relay is woken with them (the rows are in the outbox, as the
    raw producer's records are in memory) until the outbox is empty: its producer's start and
    its take-over (once per leadership) are outside, as the raw producer's start is. It polls
    once an hour, so only the NOTIFY sent after the clock starts wakes it.

    The rows are those of the store's last ``count`` events, the very records ``raw_produce``
    sends; every repetition queues them again (appended once, before any clock: a fresh bulk
    of appends right before the relay's clock would leave PostgreSQL busy writing it out
    during the relay's measurement and never during the raw producer's). What another row
    left in the outbox is removed first: only ``count`` records may be counted as ``count``.
    They go to a topic of their own (``RELAYED_TOPIC``), as the raw producer's do."""
    await last_events(scratch, count)
    kafka = scratch.namespace.kafka
    await ensure_topics(kafka, [RELAYED_TOPIC])
    await scratch.pool.execute("DELETE FROM outbox")
    relayed = kafka.topic(RELAYED_TOPIC.name)
    relay = OutboxRelay(
        scratch.pool,
        TransactionalPublisher(kafka, "bench"),
        service="bench",
        poll_interval=3600,
        topic_name=lambda name: relayed,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        await until(lambda: relay.waiting)  # taken over, its first pass found nothing
        await scratch.pool.execute(
            """INSERT INTO outbox (position, topic)
               SELECT position, $2 FROM events ORDER BY position DESC LIMIT $1""",
            count,
            CHECKIN_TICKETS.name,
        )
        started = time.perf_counter()
        await scratch.pool.execute("SELECT pg_notify($1, '')", OUTBOX_CHANNEL)
        await until_empty(scratch.pool, "SELECT count(*) = 0 FROM outbox")
        elapsed = time.perf_counter() - started
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    return count / elapsed


async def relayed_records(
    scratch: Scratch, count: int
) -> list[tuple[bytes, bytes, list[tuple[str, bytes]]]]:
    """The key, value and headers of ``count`` records exactly as the relay sends them: the
    stream id, the envelope as PostgreSQL writes it out, the event id, type, content type and
    correlation headers (the bench's events carry no stored trace, so no ``traceparent``).
    Read from the scratch store's last ``count`` events, those ``relay`` publishes."""
    await last_events(scratch, count)
    rows = await scratch.pool.fetch(
        """SELECT stream_id, event_id::text AS event_id, event_type,
                  convert_to(envelope::text, 'UTF8') AS value
           FROM events ORDER BY position DESC LIMIT $1""",
        count,
    )
    return [
        (
            row["stream_id"].encode(),
            row["value"],
            [
                ("event_id", row["event_id"].encode()),
                ("event_type", row["event_type"].encode()),
                ("content-type", b"application/json"),
                ("correlation_id", row["event_id"].encode()),
            ],
        )
        for row in rows
    ]


async def raw_produce(scratch: Scratch, count: int) -> float:
    """An aiokafka producer, idempotent with acks=all, sending the same bytes as the relay:
    ``count`` records with the relay's keys, envelopes and headers (built before the clock
    starts), each awaited into the producer's buffer, then every acknowledgement."""
    kafka = scratch.namespace.kafka
    await ensure_topics(kafka, [RAW_TOPIC])
    records = await relayed_records(scratch, count)
    topic = scratch.topic(RAW_TOPIC.name)
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka.bootstrap_servers, enable_idempotence=True, acks="all"
    )
    await producer.start()
    try:

        async def work() -> None:
            sent = [
                await producer.send(topic, value, key=key, headers=headers)
                for key, value, headers in records
            ]
            await asyncio.gather(*sent)

        return await timed(count, work)
    finally:
        await producer.stop()


# -- (c) consumer runner and rebuild vs a raw consume --------------------------------------------


async def fill_topic(scratch: Scratch, count: int) -> None:
    """``count`` envelopes on the consume rows' topic (appended and relayed like a service
    does)."""
    await fill_outbox(scratch, count)
    kafka = scratch.namespace.kafka
    await ensure_topics(kafka, [CONSUMED_TOPIC])
    consumed = kafka.topic(CONSUMED_TOPIC.name)
    relay = OutboxRelay(
        scratch.pool,
        TransactionalPublisher(kafka, "bench"),
        service="bench",
        topic_name=lambda name: consumed,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        await until_empty(scratch.pool, "SELECT count(*) = 0 FROM outbox")
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def projection(conn: asyncpg.Connection, received: ReceivedEvent[TicketLeft]) -> None:
    """A typical projection: one upsert per event."""
    await conn.execute(
        """INSERT INTO bench_projection VALUES ($1, 1, $2)
           ON CONFLICT (stream_id) DO UPDATE
           SET events = bench_projection.events + 1, last_reason = EXCLUDED.last_reason""",
        received.envelope.stream_id,
        received.payload.reason,
    )


def bench_group(name: str) -> ConsumerGroup:
    return ConsumerGroup(
        name, [CONSUMED_TOPIC], {TicketLeft: projection}, read_models=("bench_projection",)
    )


async def records_on(scratch: Scratch, topic: str) -> int:
    """How many records ``topic`` holds (its end offsets also count the relay's transaction
    markers, which no consumer receives)."""
    kafka = scratch.namespace.kafka
    return sum([len(batch) async for batch in read_to_end(kafka.bootstrap_servers, [topic])])


async def raw_consume(scratch: Scratch, count: int) -> float:
    """A raw aiokafka consumer reading the consume rows' topic (``raw_read``)."""
    kafka = scratch.namespace.kafka
    return await raw_read(kafka.bootstrap_servers, [scratch.topic(CONSUMED_TOPIC.name)])


async def raw_read(bootstrap_servers: str, topics: list[str]) -> float:
    """Records per second of a raw aiokafka consumer reading ``topics`` from the beginning (no
    processing), committed records only, as the runner reads them. Timed from its start, as
    the runner's rebuild and live rows are: finding the partitions, connecting, then reading
    (how many records to wait for is counted before, by reading the topics once: that read is
    not the consumer's)."""
    total = sum([len(batch) async for batch in read_to_end(bootstrap_servers, topics)])
    started = time.perf_counter()
    partitions = await topic_partitions(bootstrap_servers, topics)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
        fetch_max_wait_ms=EMPTY_POLL_MS,  # as read_to_end: no fetch of an empty topic held
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        seen = 0
        while seen < total:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                seen += len(records)
        return seen / (time.perf_counter() - started)
    finally:
        await consumer.stop()


async def rebuild(scratch: Scratch, count: int) -> float:
    """ConsumerRunner.rebuild of a one-upsert projection over the same topic."""
    runner = ConsumerRunner(
        scratch.pool,
        bench_group(f"bench.rebuild{uuid.uuid4().hex[:4]}"),
        lambda letter: asyncio.sleep(0),
        topic_name=scratch.namespace.kafka.topic,
    )
    started = time.perf_counter()
    report = await runner.rebuild(scratch.namespace.kafka.bootstrap_servers)
    elapsed = time.perf_counter() - started
    return sum(report[outcome] for outcome in ("applied", "duplicate", "ignored")) / elapsed


async def runner_live(scratch: Scratch, count: int) -> float:
    """The live path: a new consumer group subscribed through FastStream (batches, inbox,
    effect, offsets committed after), from the first record to the last one applied."""
    kafka = scratch.namespace.kafka
    group = bench_group(f"bench.live{uuid.uuid4().hex[:6]}")
    topic = scratch.topic(CONSUMED_TOPIC.name)
    total = await records_on(scratch, topic)
    broker = build_broker(kafka, "bench-live", None)
    runner = ConsumerRunner(
        scratch.pool, group, lambda letter: asyncio.sleep(0), topic_name=kafka.topic
    )
    runner.subscribe(broker, _ack())
    started = time.perf_counter()
    await broker.start()
    try:
        await until_empty(
            scratch.pool,
            "SELECT count(*) >= $2 FROM consumer_inbox WHERE consumer_group = $1",
            group.name,
            total,
        )
        return total / (time.perf_counter() - started)
    finally:
        await broker.stop()


def _ack() -> Any:
    from faststream.middlewares import AckPolicy

    return AckPolicy.ACK


# -- (d) command latency vs stream length --------------------------------------------------------


@dataclass
class Counted:
    events: int = 0
    last: str = ""


def _count(state: Counted, payload: Any) -> Counted:
    return Counted(state.events + 1, getattr(payload, "reason", None) or "")


PLAIN = AggregateType("bench_counter", Counted, _count)
# the interval the services' long-lived streams keep (runtime.aggregate.Snapshots: the default)
SNAPSHOTTED = AggregateType("bench_counter", Counted, _count, snapshots=Snapshots(1, every=20))


async def long_stream(scratch: Scratch, length: int) -> str:
    stream = f"counter-{uuid.uuid4()}"
    store = EventStore("bench")
    async with scratch.pool.acquire() as conn:
        for first in range(0, length, 500):
            async with conn.transaction():
                size = min(500, length - first)
                await store.append(conn, stream, first, [event(n) for n in range(size)], CONTEXT)
    return stream


async def command_latencies(
    scratch: Scratch, stream: str, aggregate: AggregateType[Counted], commands: int
) -> tuple[float, float]:
    """Median seconds of ``Repository.execute`` (load, decide one event, append), each in its
    own transaction, on ``stream`` and on a new stream, alternated command by command (which
    goes first alternates too): the disk's commit latency on this shared box changes from one
    second to the next, and both medians see the same moments of it."""
    repository = Repository(EventStore("bench"), aggregate)
    latencies: dict[str | None, list[float]] = {stream: [], None: []}
    async with scratch.pool.acquire() as conn:
        for n in range(commands):

            def decide(state: Counted, n: int = n) -> list[EventPayload]:
                return [event(n)]

            for target in (stream, None) if n % 2 == 0 else (None, stream):
                started = time.perf_counter()
                async with conn.transaction():
                    await repository.execute(
                        conn, target or f"counter-{uuid.uuid4()}", decide, CONTEXT
                    )
                latencies[target].append(time.perf_counter() - started)
    return statistics.median(latencies[stream]), statistics.median(latencies[None])


def smoke() -> bool:
    return os.environ.get("BENCH_SMOKE", "") not in ("", "0")
