"""Reading real Kafka topics back in tests."""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient

from runtime.kafka import topic_partitions


async def read_topic(bootstrap_servers: str, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of ``topic`` from the beginning to its current end, partition by partition."""
    partitions = await topic_partitions(bootstrap_servers, [topic])
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        records: list[ConsumerRecord[bytes, bytes]] = []
        remaining = {tp for tp in partitions if end[tp] > 0}
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=1000)
            for tp, batch in batches.items():
                records += [record for record in batch if record.offset < end[tp]]
            for tp in list(remaining):
                if await consumer.position(tp) >= end[tp]:
                    remaining.discard(tp)
        return records
    finally:
        await consumer.stop()


async def consumers_caught_up(runtimes: list[Any]) -> bool:
    """Every outbox published, and every consumer group's committed offsets at the end of its
    topics: nothing is in flight anywhere (the check a test needs before comparing state)."""
    for runtime in runtimes:
        if await runtime.pool.fetchval("SELECT count(*) FROM outbox"):
            return False
    kafka = runtimes[0].settings.kafka
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap_servers, group_id=None)
    await admin.start()
    await consumer.start()
    try:
        for runtime in runtimes:
            for group in runtime.groups:
                topics = [kafka.topic(topic.name) for topic in group.topics]
                partitions = await topic_partitions(kafka.bootstrap_servers, topics)
                end = await consumer.end_offsets(partitions)
                committed = await admin.list_consumer_group_offsets(kafka.topic(group.name))
                for partition in partitions:
                    if end[partition] == 0:
                        continue
                    offset = committed.get(partition)
                    if offset is None or offset.offset < end[partition]:
                        return False
        return True
    finally:
        await consumer.stop()
        await admin.close()
