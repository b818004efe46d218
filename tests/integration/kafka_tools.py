"""Reading real Kafka topics back in tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient

from runtime.kafka import read_to_end, topic_partitions


async def read_topic(bootstrap_servers: str, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    """Every committed record of ``topic`` from the beginning to its current end, partition by
    partition."""
    records: list[ConsumerRecord[bytes, bytes]] = []
    async for batch in read_to_end(bootstrap_servers, [topic]):
        records += batch
    return records


async def topics_described(bootstrap_servers: str, topics: list[str]) -> None:
    """Wait until the cluster describes ``topics`` (created a moment ago, they may not be known
    everywhere yet: Kafka error 3), as a relay's take-over reads their partitions."""
    from tests.conftest import eventually

    async def described() -> bool:
        try:
            await topic_partitions(bootstrap_servers, topics)
        except RuntimeError:
            return False
        return True

    await eventually(described, within=30, interval=0.2)


async def _appended(runtimes: list[Any]) -> list[int]:
    """How far each service's event store has come (its highest position)."""
    return [
        await runtime.pool.fetchval("SELECT coalesce(max(position), 0) FROM events")
        for runtime in runtimes
    ]


async def _outboxes_empty(runtimes: list[Any]) -> bool:
    for runtime in runtimes:
        if await runtime.pool.fetchval("SELECT count(*) FROM outbox"):
            return False
    return True


async def consumers_caught_up(runtimes: list[Any]) -> bool:
    """Nothing is in flight anywhere: every outbox published, every consumer group's committed
    offsets at the end of its topics, and no service appended an event while this was being
    checked (a reaction appends in the transaction that handles its record, before the offset
    commits; a timer or a reaction to a record checked earlier shows as a moved position).
    The check a test needs before comparing state, e.g. live read models with rebuilt ones."""
    before = await _appended(runtimes)
    if not await _outboxes_empty(runtimes):
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
    finally:
        await consumer.stop()
        await admin.close()
    return await _outboxes_empty(runtimes) and await _appended(runtimes) == before


async def settled(stack: dict[str, Any], *, within: float = 120.0) -> None:
    """Wait until nothing is in flight in any service of the stack (``consumers_caught_up``
    twice in a row, with a deadline on that state, never on time)."""
    from tests.conftest import eventually

    runtimes = [service.runtime for service in stack.values()]

    async def twice() -> bool:
        return await consumers_caught_up(runtimes) and await consumers_caught_up(runtimes)

    await eventually(twice, within=within, interval=0.2)


@contextlib.asynccontextmanager
async def standing_still(stack: dict[str, Any]) -> AsyncIterator[None]:
    """Every service's timers held, then nothing in flight: the read models stand still while
    a test digests them, rebuilds them and digests them again. Without the hold, a timer due
    in between (an answer window, a no-show, a campaign batch) changes the live state after
    the first digest, and the rebuild, which replays it, differs for no fault of its own."""
    async with contextlib.AsyncExitStack() as holds:
        for service in stack.values():
            if service.runtime.timers is not None:
                await holds.enter_async_context(service.runtime.timers.held())
        await settled(stack)
        yield
