"""Raw rates for the capacity model in docs/operations.md (not a test; run by hand).

    python -m tests.scale.measure --bootstrap 127.0.0.1:29092,... --pg-port 25432

Measures, on whatever cluster it is pointed at: PostgreSQL commits/s of the shape of a command
(one transaction appending an event row and an outbox row), at 1 and 8 connections; Kafka
produce records/s with the services' producer settings (acks=all, idempotent, ~1 KB values,
keyed) into a topic with the cluster's replication; and consume records/s of one partition.
Prints one JSON object. The figures depend on the box: say which box and how loaded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

VALUE = json.dumps({"payload": "x" * 900, "event_id": str(uuid.uuid4())}).encode()


async def pg_commits(dsn: str, connections: int, seconds: float) -> float:
    pool = await asyncpg.create_pool(dsn, min_size=connections, max_size=connections)
    assert pool is not None
    async with pool.acquire() as conn:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS measure_events (position bigserial PRIMARY KEY, "
            "stream_id uuid, payload jsonb);"
            "CREATE TABLE IF NOT EXISTS measure_outbox (position bigint PRIMARY KEY)"
        )
    done = 0
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal done
        while time.monotonic() < deadline:
            async with pool.acquire() as conn, conn.transaction():
                position = await conn.fetchval(
                    "INSERT INTO measure_events (stream_id, payload) VALUES ($1, $2) "
                    "RETURNING position",
                    uuid.uuid4(),
                    VALUE.decode(),
                )
                await conn.execute("INSERT INTO measure_outbox VALUES ($1)", position)
            done += 1

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(connections)))
    rate = done / (time.monotonic() - started)
    async with pool.acquire() as conn:
        await conn.execute("DROP TABLE measure_events; DROP TABLE measure_outbox")
    await pool.close()
    return rate


async def kafka_rates(bootstrap: str, records: int, replicas: int) -> dict[str, float]:
    topic = f"measure.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics(
        [
            NewTopic(
                topic,
                6,
                replicas,
                topic_configs={"min.insync.replicas": str(min(2, replicas))},
            )
        ]
    )
    try:
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5
        )
        await producer.start()
        # like the relay: a batch of sends in flight, then wait for every acknowledgement
        started = time.monotonic()
        for batch in range(0, records, 200):
            futures = [
                await producer.send(topic, VALUE, key=str(i % 500).encode())
                for i in range(batch, min(records, batch + 200))
            ]
            await asyncio.gather(*futures)
        produce = records / (time.monotonic() - started)
        await producer.stop()
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        await consumer.start()
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        end = (await consumer.end_offsets([partition]))[partition]
        seen = 0
        started = time.monotonic()
        while seen < end:
            batches = await consumer.getmany(partition, timeout_ms=1000, max_records=500)
            seen += sum(len(batch) for batch in batches.values())
        consume = seen / (time.monotonic() - started)
        await consumer.stop()
    finally:
        await admin.delete_topics([topic])
        await admin.close()
    return {"produce_records_per_s": produce, "consume_records_per_s_one_partition": consume}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", default="127.0.0.1:19092")
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--pg-port", type=int, default=55432)
    parser.add_argument("--database", default="checkin")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    password = os.environ.get("PGPASSWORD", "frontdesk")
    dsn = f"postgresql://frontdesk:{password}@127.0.0.1:{args.pg_port}/{args.database}"
    result: dict[str, object] = {
        "load_average": os.getloadavg(),
        "cpus": os.cpu_count(),
        "pg_commits_per_s_1_connection": await pg_commits(dsn, 1, args.seconds),
        "pg_commits_per_s_8_connections": await pg_commits(dsn, 8, args.seconds),
    }
    result |= await kafka_rates(args.bootstrap, args.records, args.replicas)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
