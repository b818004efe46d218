"""Benchmark: what the event store, the relay and the consumer runner cost, as ratios against
raw PostgreSQL and Kafka baselines measured in the same run on the same machine.

    .venv/bin/python -m bench.outbox [--events 2000]

Needs the infrastructure (`bash deploy/infra.sh up`). Works in a namespace of its own (database
``bench_<id>``, topics ``bench-<id>.``) and removes it afterwards. Prints a JSON report; the
ratios are the claims (e.g. append_vs_raw_insert = 0.5 means half the raw single-row commit
rate), the absolute rates only describe this run's machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from datetime import UTC, datetime

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from contracts import Actor, Envelope
from contracts.events.checkin import TicketLeft
from contracts.topics import CHECKIN_TICKETS
from runtime.consumer import ConsumerGroup, ConsumerRunner, ReceivedEvent
from runtime.db import create_pool, migrate
from runtime.eventstore import CommandContext, EventStore
from runtime.kafka import (
    build_broker,
    delete_namespace_topics,
    ensure_topics,
    kafka_publisher,
    topic_partitions,
)
from runtime.relay import OutboxRelay
from runtime.settings import KafkaSettings, ServiceSettings

CONTEXT = CommandContext.new(Actor(id="bench", role="service"))


def event(n: int) -> TicketLeft:
    return TicketLeft(ticket_id=uuid.uuid4(), reason=f"bench {n}", left_at=datetime.now(UTC))


async def rate(count: int, work) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    await work()
    return count / (time.perf_counter() - started)


async def read_all(kafka: KafkaSettings, topic: str, count: int) -> list:  # type: ignore[type-arg]
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap_servers, group_id=None)
    await consumer.start()
    try:
        partitions = await topic_partitions(kafka.bootstrap_servers, [topic])
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        records: list = []  # type: ignore[type-arg]
        while len(records) < count:
            for batch in (await consumer.getmany(timeout_ms=1000)).values():
                records += batch
        return records
    finally:
        await consumer.stop()


async def main(count: int) -> dict[str, object]:
    run = uuid.uuid4().hex[:8]
    base = ServiceSettings()
    settings = base.model_copy(
        update={
            "database_prefix": f"bench_{run}_",
            "kafka": base.kafka.model_copy(update={"topic_prefix": f"bench-{run}."}),
        }
    )
    kafka = settings.kafka
    admin = await asyncpg.connect(base.dsn("postgres"))
    await admin.execute(f'CREATE DATABASE "bench_{run}_scratch"')
    pool = await create_pool(settings.dsn("scratch"), max_size=4)
    report: dict[str, object] = {"events": count}
    try:
        await migrate(pool, [])
        await pool.execute("CREATE TABLE raw_rows (id uuid PRIMARY KEY, body jsonb NOT NULL)")
        body = event(0).model_dump(mode="json")

        # 1. one command = one transaction: raw insert+commit vs append (event + outbox + notify)
        async def raw_inserts() -> None:
            async with pool.acquire() as conn:
                for _ in range(count):
                    await conn.execute("INSERT INTO raw_rows VALUES ($1, $2)", uuid.uuid4(), body)

        store = EventStore("checkin")

        async def appends() -> None:
            async with pool.acquire() as conn:
                for n in range(count):
                    async with conn.transaction():
                        await store.append(conn, f"ticket-{uuid.uuid4()}", 0, [event(n)], CONTEXT)

        raw_insert = await rate(count, raw_inserts)
        append = await rate(count, appends)

        # 2. to Kafka: raw idempotent producer (acks=all) vs the relay draining the outbox
        await ensure_topics(kafka, [CHECKIN_TICKETS])
        topic = kafka.topic(CHECKIN_TICKETS.name)
        raw_topic_spec = CHECKIN_TICKETS.__class__(
            name=f"{CHECKIN_TICKETS.name}.raw",
            producer="bench",
            stream_type="raw",
            description="raw baseline",
        )
        await ensure_topics(kafka, [raw_topic_spec])
        raw_topic = kafka.topic(raw_topic_spec.name)
        payload = Envelope(
            event_id=uuid.uuid4(),
            event_type="checkin.ticket_left",
            schema_version=1,
            occurred_at=datetime.now(UTC),
            stream_type="ticket",
            stream_id="x",
            stream_version=1,
            correlation_id=uuid.uuid4(),
            producer="bench",
            payload=body,
        ).to_bytes()
        producer = AIOKafkaProducer(
            bootstrap_servers=kafka.bootstrap_servers, enable_idempotence=True, acks="all"
        )
        await producer.start()

        async def raw_produce() -> None:
            futures = [
                await producer.send(raw_topic, payload, key=str(n).encode()) for n in range(count)
            ]
            await asyncio.gather(*futures)

        raw_publish = await rate(count, raw_produce)
        await producer.stop()
        broker = build_broker(kafka, "bench", None)
        await broker.connect()
        relay = OutboxRelay(
            pool, kafka_publisher(broker), service="bench", topic_name=kafka.topic, batch_size=500
        )
        relay_publish = await rate(count, relay.publish_pending)

        # 3. consuming: raw read + one insert-and-commit per record vs the consumer runner
        #    (inbox row + effect in one transaction, envelope decoded and upcast)
        records = await read_all(kafka, topic, count)
        await pool.execute("CREATE TABLE effects (stream_id text PRIMARY KEY)")

        async def raw_consume() -> None:
            async with pool.acquire() as conn:
                for record in records:
                    await conn.execute(
                        "INSERT INTO raw_rows VALUES ($1, $2)",
                        uuid.uuid4(),
                        json.loads(record.value),
                    )

        async def effect(conn: asyncpg.Connection, received: ReceivedEvent) -> None:
            await conn.execute("INSERT INTO effects VALUES ($1)", received.envelope.stream_id)

        runner = ConsumerRunner(
            pool,
            ConsumerGroup("bench.consumer", [CHECKIN_TICKETS], {"checkin.ticket_left": effect}),
            dead_letters=lambda letter: asyncio.sleep(0),
        )

        async def runner_consume() -> None:
            async with pool.acquire() as conn:
                for r in records:
                    await runner.handle_record(
                        r.value, r.key, r.topic, r.partition, r.offset, conn=conn
                    )

        raw_consumed = await rate(count, raw_consume)
        runner_consumed = await rate(count, runner_consume)
        await broker.stop()
        report |= {
            "per_second": {
                "raw_insert_commit": round(raw_insert),
                "append_event_with_outbox": round(append),
                "raw_idempotent_produce": round(raw_publish),
                "relay_publish": round(relay_publish),
                "raw_consume_insert_commit": round(raw_consumed),
                "consumer_runner": round(runner_consumed),
            },
            "ratios": {
                "append_vs_raw_insert": round(append / raw_insert, 3),
                "relay_vs_raw_produce": round(relay_publish / raw_publish, 3),
                "consumer_runner_vs_raw_consume": round(runner_consumed / raw_consumed, 3),
            },
        }
    finally:
        await pool.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "bench_{run}_scratch" WITH (FORCE)')
        await admin.close()
        await delete_namespace_topics(kafka)
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=2000)
    arguments = parser.parse_args()
    print(json.dumps(asyncio.run(main(arguments.events)), indent=2))
