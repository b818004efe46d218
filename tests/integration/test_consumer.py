"""The consumer runner over real Kafka (via FastStream) and PostgreSQL: exactly-once effects,
dead letters, bounded retries."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from faststream.middlewares import AckPolicy

from contracts import Actor, Envelope, dead_letter_topic
from contracts.events.checkin import TicketLeft
from contracts.topics import CHECKIN_TICKETS
from runtime.consumer import ConsumerGroup, ConsumerRunner, Outcome, ReceivedEvent, Record
from runtime.consumer import broker_dead_letter_publisher as dead_letter_publisher
from runtime.db import create_pool, migrate
from runtime.kafka import build_broker, ensure_topics
from runtime.settings import KafkaSettings, ServiceSettings
from tests.conftest import eventually
from tests.integration.kafka_tools import read_topic

pytestmark = pytest.mark.integration


class RecordingRunner(ConsumerRunner):
    """The real runner, remembering each record's outcome so a test can wait for it."""

    outcomes: list[tuple[int, Outcome]]

    async def handle_batch(self, records: Sequence[Record], **kwargs: Any) -> list[Outcome]:
        outcomes = await super().handle_batch(records, **kwargs)
        self.outcomes += [(r.offset, o) for r, o in zip(records, outcomes, strict=True)]
        return outcomes


@pytest_asyncio.fixture(loop_scope="session")
async def pool(databases: list[str], settings: ServiceSettings) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(settings.dsn("scratch"))
    await migrate(pool, [])
    await pool.execute(
        """CREATE TABLE IF NOT EXISTS effects (
               stream_id text PRIMARY KEY, applied integer NOT NULL)"""
    )
    yield pool
    await pool.close()


def envelope(stream_id: str, version: int = 1) -> Envelope:
    payload = TicketLeft(ticket_id=uuid.uuid4(), reason="x", left_at=datetime.now(UTC))
    return Envelope(
        event_id=uuid.uuid4(),
        event_type=payload.event_type,
        schema_version=payload.schema_version,
        occurred_at=datetime.now(UTC),
        stream_type="ticket",
        stream_id=stream_id,
        stream_version=version,
        correlation_id=uuid.uuid4(),
        producer="checkin",
        actor=Actor(id="t", role="agent"),
        payload=payload.model_dump(mode="json"),
    )


class Harness:
    def __init__(self, pool: asyncpg.Pool, kafka: KafkaSettings, failures: dict[str, int]):
        self.pool, self.kafka, self.failures = pool, kafka, failures
        self.group_name = f"tests.g{uuid.uuid4().hex[:6]}"
        self.topic = kafka.topic(CHECKIN_TICKETS.name)

    async def effect(self, conn: asyncpg.Connection, event: ReceivedEvent) -> None:
        stream = event.envelope.stream_id
        if self.failures.get(stream, 0) != 0:
            self.failures[stream] -= 1
            raise ValueError(f"handler failed on {stream}")
        await conn.execute(
            """INSERT INTO effects VALUES ($1, 1)
               ON CONFLICT (stream_id) DO UPDATE SET applied = effects.applied + 1""",
            stream,
        )

    async def applied(self, stream: str) -> int | None:
        return await self.pool.fetchval(  # type: ignore[no-any-return]
            "SELECT applied FROM effects WHERE stream_id = $1", stream
        )


@pytest_asyncio.fixture(loop_scope="session")
async def harness(
    pool: asyncpg.Pool, settings: ServiceSettings
) -> AsyncIterator[tuple[Harness, RecordingRunner, Any]]:
    kafka = settings.kafka.model_copy(
        update={"topic_prefix": f"{settings.kafka.topic_prefix}{uuid.uuid4().hex[:8]}."}
    )
    failures: dict[str, int] = {}
    harness = Harness(pool, kafka, failures)
    group = ConsumerGroup(
        name=harness.group_name,
        topics=[CHECKIN_TICKETS],
        handlers={TicketLeft: harness.effect},
    )
    await ensure_topics(kafka, [CHECKIN_TICKETS, dead_letter_topic(group.name)])
    broker = build_broker(kafka, "consumer-test", None)
    runner = RecordingRunner(
        pool,
        group,
        dead_letter_publisher(broker, kafka.topic),
        max_attempts=3,
        retry_backoff=0.01,
        topic_name=kafka.topic,
    )
    runner.outcomes = []
    runner.subscribe(broker, AckPolicy.ACK)
    await broker.start()
    yield harness, runner, broker
    await broker.stop()


async def test_an_event_delivered_twice_changes_state_once(
    harness: tuple[Harness, RecordingRunner, Any],
) -> None:
    h, runner, broker = harness
    event = envelope(f"ticket-{uuid.uuid4()}")
    for _ in range(2):  # e.g. the relay republished it after a crash
        await broker.publish(event.to_bytes(), h.topic, key=event.stream_id.encode())
    await eventually(lambda: _count(runner, 2))
    assert [outcome for _, outcome in runner.outcomes] == [Outcome.APPLIED, Outcome.DUPLICATE]
    assert await h.applied(event.stream_id) == 1
    inbox = await h.pool.fetchval(
        "SELECT count(*) FROM consumer_inbox WHERE consumer_group = $1 AND event_id = $2",
        h.group_name,
        event.event_id,
    )
    assert inbox == 1


async def test_undecodable_record_goes_to_the_dead_letter_topic_and_the_group_moves_on(
    harness: tuple[Harness, RecordingRunner, Any],
) -> None:
    h, runner, broker = harness
    key = f"ticket-{uuid.uuid4()}"
    garbage = b"\x00not json at all"
    good = envelope(key)
    await broker.publish(garbage, h.topic, key=key.encode())
    await broker.publish(good.to_bytes(), h.topic, key=key.encode())
    await eventually(lambda: h.applied(key))
    assert [o for _, o in runner.outcomes[-2:]] == [Outcome.DEAD_LETTERED, Outcome.APPLIED]
    letters = await read_topic(
        h.kafka.bootstrap_servers, h.kafka.topic(dead_letter_topic(h.group_name).name)
    )
    [letter] = [r for r in letters if r.key == key.encode()]
    headers = {name: value.decode() for name, value in letter.headers}
    assert letter.value == garbage  # the original bytes, untouched
    assert "not JSON" in headers["x-error"]
    assert headers["x-original-topic"] == h.topic
    assert headers["x-consumer-group"] == h.group_name
    row = await h.pool.fetchrow(
        "SELECT error, attempts FROM dead_letters WHERE consumer_group = $1", h.group_name
    )
    assert row is not None
    assert row["attempts"] == 1


async def test_a_handler_that_keeps_failing_is_dead_lettered_after_bounded_tries(
    harness: tuple[Harness, RecordingRunner, Any],
) -> None:
    h, runner, broker = harness
    poison, after = envelope(f"ticket-{uuid.uuid4()}"), envelope(f"ticket-{uuid.uuid4()}")
    h.failures[poison.stream_id] = 1_000
    for event in (poison, after):
        await broker.publish(event.to_bytes(), h.topic, key=b"same-partition")
    await eventually(lambda: h.applied(after.stream_id))
    assert await h.applied(poison.stream_id) is None
    assert h.failures[poison.stream_id] == 1_000 - 3  # exactly max_attempts tries
    row = await h.pool.fetchrow(
        "SELECT error, attempts, event_id FROM dead_letters "
        "WHERE consumer_group = $1 AND event_id = $2",
        h.group_name,
        poison.event_id,
    )
    assert row is not None
    assert row["attempts"] == 3
    assert "handler failed" in row["error"]
    letters = await read_topic(
        h.kafka.bootstrap_servers, h.kafka.topic(dead_letter_topic(h.group_name).name)
    )
    assert any(
        Envelope.from_bytes(r.value).event_id == poison.event_id
        for r in letters
        if r.key == b"same-partition"
    )
    # redelivered later, the dead-lettered event is not retried nor dead-lettered again
    outcome = await runner.handle_record(poison.to_bytes(), None, h.topic, 0, 10**9)
    assert outcome is Outcome.DUPLICATE


async def test_a_transient_failure_is_retried_in_place_and_applied_once(
    harness: tuple[Harness, RecordingRunner, Any],
) -> None:
    h, _, broker = harness
    event = envelope(f"ticket-{uuid.uuid4()}")
    h.failures[event.stream_id] = 2
    await broker.publish(event.to_bytes(), h.topic, key=event.stream_id.encode())
    assert await eventually(lambda: h.applied(event.stream_id)) == 1
    assert h.failures[event.stream_id] == 0
    assert (
        await h.pool.fetchval(
            "SELECT count(*) FROM dead_letters WHERE event_id = $1", event.event_id
        )
        == 0
    )


async def test_event_types_the_group_does_not_handle_are_skipped_without_writing(
    harness: tuple[Harness, RecordingRunner, Any],
) -> None:
    h, runner, _ = harness
    other = envelope("ticket-x").model_copy(update={"event_type": "checkin.ticket_called"})
    outcome = await runner.handle_record(other.to_bytes(), None, h.topic, 0, 1)
    assert outcome is Outcome.IGNORED
    assert (
        await h.pool.fetchval(
            "SELECT count(*) FROM consumer_inbox WHERE event_id = $1", other.event_id
        )
        == 0
    )


async def _count(runner: RecordingRunner, n: int) -> bool:
    return len(runner.outcomes) >= n
