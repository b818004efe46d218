"""The one consumer runner of every service.

For each Kafka record: decode the envelope, skip what this group does not handle, then in ONE
PostgreSQL transaction record the event id in the group's inbox and apply the effect (a
projection update, or the events a reaction appends). A redelivered or republished event finds
its id in the inbox and changes nothing. A record that cannot be decoded, or whose handler
still fails after a bounded number of tries, goes to the group's dead-letter topic with the
error and the original bytes, and the group moves on. Infrastructure failures (the database is
gone) are retried without limit: they say nothing about the message.

The same code path replays a group's topics from the beginning to rebuild its read models.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

import asyncpg
from aiokafka import AIOKafkaConsumer
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.middlewares import AckPolicy
from opentelemetry import metrics
from pydantic import ValidationError

from contracts import Envelope, EventPayload, TopicSpec, UnknownEventType, dead_letter_topic
from contracts.registry import REGISTRY
from runtime.kafka import topic_partitions
from runtime.privacy import Privacy
from runtime.telemetry import correlation_id_var, log_fields

log = logging.getLogger(__name__)
meter = metrics.get_meter("frontdesk.consumer")
processed_counter = meter.create_counter(
    "frontdesk.consumer.processed", description="Records handled, by group and outcome"
)
dead_letter_counter = meter.create_counter(
    "frontdesk.consumer.dead_lettered", description="Records sent to a dead-letter topic"
)

INFRASTRUCTURE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,  # includes ConnectionDoesNotExistError
    asyncpg.exceptions.OperatorInterventionError,  # admin/crash shutdown, cannot connect now
    asyncpg.TooManyConnectionsError,
)


P = TypeVar("P", bound=EventPayload, covariant=True)


@dataclass(frozen=True)
class ReceivedEvent(Generic[P]):
    """A decoded event as a handler sees it: ``payload`` is the handler's payload class."""

    envelope: Envelope
    payload: P
    topic: str
    partition: int
    offset: int


EventHandler = Callable[[asyncpg.Connection, "ReceivedEvent[Any]"], Awaitable[None]]


@dataclass(frozen=True)
class ConsumerGroup:
    """A consumer group: ``<service>.<purpose>``, its topics, and a handler per payload class
    (``{TicketIssued: on_ticket_issued}``); the event-type strings come from the registry.

    A group that owns read-model tables (``read_models``) is a projection: it can be rebuilt by
    truncating them and replaying its topics. A group without is a reaction (it appends events
    of its own) and is never replayed.
    """

    name: str
    topics: Sequence[TopicSpec]
    # keys: payload classes (wire-name strings are accepted until every service has moved)
    handlers: Mapping[Any, EventHandler]
    read_models: Sequence[str] = field(default_factory=tuple)
    description: str = ""

    @property
    def rebuildable(self) -> bool:
        return bool(self.read_models)

    @property
    def by_event_type(self) -> dict[str, EventHandler]:
        """The handlers keyed by the wire name of their event type."""
        return {_event_type(payload): handler for payload, handler in self.handlers.items()}

    @property
    def event_types(self) -> list[str]:
        return sorted(self.by_event_type)


def _event_type(payload: type[EventPayload] | str) -> str:
    # a wire name is accepted while services move to payload classes
    return payload if isinstance(payload, str) else payload.event_type


class Outcome(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    DEAD_LETTERED = "dead_lettered"


def describe_error(error: BaseException) -> str:
    """What went wrong, without the values involved: validation errors quote their input, and
    an input can be personal data. Goes to logs, dead-letter headers and the dead_letters table.
    """
    if isinstance(error, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc']) or 'value'}: {item['msg']}"
            for item in error.errors(include_input=False, include_url=False)[:5]
        )
        return f"{error.title} invalid: {problems}"
    return f"{type(error).__name__}: {error}"[:500]


class PoisonMessage(Exception):
    """A record that can never be processed as it is (not an envelope, unknown version)."""


@dataclass(frozen=True)
class DeadLetter:
    consumer_group: str
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    error: str
    attempts: int
    event_id: str | None


DeadLetterPublisher = Callable[[DeadLetter], Awaitable[None]]


def broker_dead_letter_publisher(
    broker: KafkaBroker, topic_name: Callable[[str], str] = lambda name: name
) -> DeadLetterPublisher:
    async def publish(letter: DeadLetter) -> None:
        await broker.publish(
            letter.value or b"",
            topic_name(dead_letter_topic(letter.consumer_group).name),
            key=letter.key,
            headers={
                "x-consumer-group": letter.consumer_group,
                "x-original-topic": letter.topic,
                "x-original-partition": str(letter.partition),
                "x-original-offset": str(letter.offset),
                "x-error": letter.error[:2000],
                "x-attempts": str(letter.attempts),
            },
        )

    return publish


def group_lock_key(group: str) -> int:
    return 7_400_000 + sum(group.encode()) * 31 % 1_000_000


def decode_record(value: bytes | None) -> tuple[Envelope, str]:
    if value is None:
        raise PoisonMessage("empty record (tombstone)")
    try:
        envelope = Envelope.from_bytes(value)
    except ValidationError as error:
        first = error.errors()[0]
        if first["type"] == "json_invalid":
            raise PoisonMessage(f"not JSON: {first['msg']}") from None
        where = ".".join(str(part) for part in first["loc"]) or "record"
        raise PoisonMessage(
            f"not a Frontdesk envelope: {where}: {first['msg']} ({error.error_count()} errors)"
        ) from None
    return envelope, envelope.event_type


class ConsumerRunner:
    def __init__(
        self,
        pool: asyncpg.Pool,
        group: ConsumerGroup,
        dead_letters: DeadLetterPublisher,
        *,
        max_attempts: int = 5,
        retry_backoff: float = 0.2,
        max_backoff: float = 5.0,
        topic_name: Callable[[str], str] = lambda name: name,
        privacy: Privacy | None = None,
    ) -> None:
        self.topic_name = topic_name
        self.privacy = privacy or Privacy(None)
        self.pool = pool
        self.group = group
        self.dead_letters = dead_letters
        self.max_attempts = max_attempts
        self.retry_backoff = retry_backoff
        self.max_backoff = max_backoff
        self.lock_key = group_lock_key(group.name)
        self._handlers = group.by_event_type

    # -- the live subscription -------------------------------------------------------------

    def subscribe(self, broker: KafkaBroker, ack_policy: AckPolicy) -> None:
        """Register this group with FastStream. Offsets commit only after ``handle_record``
        returned, i.e. after the effect committed or the record was dead-lettered."""
        if ack_policy is AckPolicy.ACK_FIRST:
            raise ValueError("ACK_FIRST commits before processing and loses events on a crash")

        async def consume(message: KafkaMessage) -> None:
            record = message.raw_message
            assert not isinstance(record, tuple), "one record per call (batch consumption is off)"
            await self.handle_record(
                record.value, record.key, record.topic, record.partition, record.offset
            )

        consume.__name__ = self.group.name.replace(".", "_")
        broker.subscriber(
            *[self.topic_name(topic.name) for topic in self.group.topics],
            group_id=self.topic_name(self.group.name),  # namespaced like the topics
            auto_offset_reset="earliest",
            ack_policy=ack_policy,
            title=self.group.name,
            description=self.group.description or f"Handles {', '.join(self.group.event_types)}.",
        )(consume)

    # -- one record ------------------------------------------------------------------------

    async def handle_record(
        self,
        value: bytes | None,
        key: bytes | None,
        topic: str,
        partition: int,
        offset: int,
        *,
        conn: asyncpg.Connection | None = None,
    ) -> Outcome:
        attempts = 0
        event_id: str | None = None
        while True:
            attempts += 1
            try:
                envelope, event_type = decode_record(value)
                event_id = str(envelope.event_id)
                handler = self._handlers.get(event_type)
                if handler is None:
                    outcome = Outcome.IGNORED
                else:
                    revealed = await self.privacy.reveal(envelope)
                    try:
                        payload = REGISTRY.decode(event_type, envelope.schema_version, revealed)
                    except (UnknownEventType, ValidationError) as error:
                        raise PoisonMessage(
                            f"cannot read {event_type}: {describe_error(error)}"
                        ) from None
                    received = ReceivedEvent(envelope, payload, topic, partition, offset)
                    outcome = await self._apply(received, handler, conn)
                processed_counter.add(1, {"group": self.group.name, "outcome": outcome})
                return outcome
            except PoisonMessage as error:
                return await self._dead_letter(
                    topic, partition, offset, key, value, str(error), attempts, event_id, conn
                )
            except INFRASTRUCTURE_ERRORS as error:
                attempts -= 1  # the message is not at fault: retry without counting
                log.warning(
                    "consumer waiting for infrastructure",
                    extra=log_fields(group=self.group.name, error=describe_error(error)),
                )
                await asyncio.sleep(self.max_backoff)
            except Exception as error:
                if attempts >= self.max_attempts:
                    return await self._dead_letter(
                        topic,
                        partition,
                        offset,
                        key,
                        value,
                        describe_error(error),
                        attempts,
                        event_id,
                        conn,
                    )
                delay = min(self.retry_backoff * 2 ** (attempts - 1), self.max_backoff)
                log.warning(
                    "consumer retrying",
                    extra=log_fields(
                        group=self.group.name,
                        topic=topic,
                        partition=partition,
                        offset=offset,
                        attempt=attempts,
                        error=describe_error(error),
                    ),
                )
                await asyncio.sleep(delay)

    async def _apply(
        self,
        received: ReceivedEvent,
        handler: EventHandler,
        conn: asyncpg.Connection | None,
    ) -> Outcome:
        token = correlation_id_var.set(str(received.envelope.correlation_id))
        try:
            if conn is not None:
                return await self._apply_on(conn, received, handler)
            async with self.pool.acquire() as own:
                return await self._apply_on(own, received, handler)
        finally:
            correlation_id_var.reset(token)

    async def _apply_on(
        self, conn: asyncpg.Connection, received: ReceivedEvent, handler: EventHandler
    ) -> Outcome:
        async with conn.transaction():
            # the group's lock is shared between records and held exclusively by a rebuild;
            # taken in the same statement as the inbox insert (one round trip)
            fresh = await conn.fetchval(
                """WITH locked AS (SELECT pg_advisory_xact_lock_shared($6))
                   INSERT INTO consumer_inbox
                       (consumer_group, event_id, topic, kafka_partition, kafka_offset)
                   SELECT $1, $2, $3, $4, $5 FROM locked
                   ON CONFLICT DO NOTHING RETURNING true""",
                self.group.name,
                received.envelope.event_id,
                received.topic,
                received.partition,
                received.offset,
                self.lock_key,
            )
            if not fresh:
                return Outcome.DUPLICATE
            await handler(conn, received)
        return Outcome.APPLIED

    async def _dead_letter(
        self,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        value: bytes | None,
        error: str,
        attempts: int,
        event_id: str | None,
        conn: asyncpg.Connection | None,
    ) -> Outcome:
        letter = DeadLetter(
            self.group.name, topic, partition, offset, key, value, error, attempts, event_id
        )
        while True:
            try:
                await self.dead_letters(letter)
                await self._record_dead_letter(letter, conn)
                break
            except Exception as failure:  # Kafka or PostgreSQL away: keep trying
                log.warning(
                    "dead-letter publication failed, retrying",
                    extra=log_fields(group=self.group.name, error=repr(failure)),
                )
                await asyncio.sleep(self.max_backoff)
        dead_letter_counter.add(1, {"group": self.group.name, "topic": topic})
        processed_counter.add(1, {"group": self.group.name, "outcome": Outcome.DEAD_LETTERED})
        log.error(
            "record dead-lettered",
            extra=log_fields(
                group=self.group.name,
                topic=topic,
                partition=partition,
                offset=offset,
                event_id=event_id,
                attempts=attempts,
                error=error[:500],
                dead_letter_topic=dead_letter_topic(self.group.name).name,
            ),
        )
        return Outcome.DEAD_LETTERED

    async def _record_dead_letter(
        self, letter: DeadLetter, conn: asyncpg.Connection | None
    ) -> None:
        async def record(db: asyncpg.Connection) -> None:
            async with db.transaction():
                await db.execute(
                    """INSERT INTO dead_letters (consumer_group, topic, kafka_partition,
                           kafka_offset, event_id, error, attempts)
                       VALUES ($1, $2, $3, $4, $5::uuid, $6, $7) ON CONFLICT DO NOTHING""",
                    letter.consumer_group,
                    letter.topic,
                    letter.partition,
                    letter.offset,
                    letter.event_id,
                    letter.error,
                    letter.attempts,
                )
                if letter.event_id is not None:
                    await db.execute(
                        """INSERT INTO consumer_inbox (consumer_group, event_id, topic,
                               kafka_partition, kafka_offset, outcome)
                           VALUES ($1, $2::uuid, $3, $4, $5, 'dead_lettered')
                           ON CONFLICT DO NOTHING""",
                        letter.consumer_group,
                        letter.event_id,
                        letter.topic,
                        letter.partition,
                        letter.offset,
                    )

        if conn is not None:
            await record(conn)
        else:
            async with self.pool.acquire() as own:
                await record(own)

    # -- rebuild ---------------------------------------------------------------------------

    async def rebuild(self, bootstrap_servers: str) -> dict[str, Any]:
        """Drop this group's read models and replay its topics from the beginning up to the
        end offsets seen at the start. Live consumers of the group wait meanwhile."""
        if not self.group.rebuildable:
            raise ValueError(f"{self.group.name} is a reaction, not a projection")
        counts: dict[str, int] = {outcome: 0 for outcome in Outcome}
        async with self.pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock($1)", self.lock_key)
            try:
                async with conn.transaction():
                    tables = ", ".join(self.group.read_models)
                    await conn.execute(f"TRUNCATE {tables}")
                    await conn.execute(
                        "DELETE FROM consumer_inbox WHERE consumer_group = $1", self.group.name
                    )
                    await conn.execute(
                        "DELETE FROM dead_letters WHERE consumer_group = $1", self.group.name
                    )
                consumer = AIOKafkaConsumer(
                    bootstrap_servers=bootstrap_servers,
                    group_id=None,
                    enable_auto_commit=False,
                    auto_offset_reset="earliest",
                )
                partitions = await topic_partitions(
                    bootstrap_servers, [self.topic_name(topic.name) for topic in self.group.topics]
                )
                await consumer.start()
                try:
                    consumer.assign(partitions)
                    await consumer.seek_to_beginning(*partitions)
                    end = await consumer.end_offsets(partitions)
                    remaining = {tp for tp in partitions if end[tp] > 0}
                    while remaining:
                        batches = await consumer.getmany(*remaining, timeout_ms=1000)
                        for tp, records in batches.items():
                            for record in records:
                                if record.offset >= end[tp]:
                                    break
                                outcome = await self.handle_record(
                                    record.value,
                                    record.key,
                                    record.topic,
                                    record.partition,
                                    record.offset,
                                    conn=conn,
                                )
                                counts[outcome] += 1
                        for tp in list(remaining):
                            if await consumer.position(tp) >= end[tp]:
                                remaining.discard(tp)
                finally:
                    await consumer.stop()
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", self.lock_key)
        log.info("rebuild finished", extra=log_fields(group=self.group.name, **counts))
        return {"group": self.group.name, **counts}
