"""Kafka set-up shared by every service: a durable broker, topics, the relay's transactional
publisher, and reading topics to their end."""

from __future__ import annotations

import asyncio
import logging
import struct
import time
from collections.abc import (
    AsyncGenerator,
    Awaitable,
    Callable,
    Collection,
    Iterable,
    Sequence,
)
from dataclasses import replace
from datetime import datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka import errors as kafka_errors
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.middlewares import AckPolicy
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags, TraceState

from contracts import TopicSpec
from runtime.relay import OutboundRecord, RecordRefused, RelayFenced, SendAgain
from runtime.settings import KafkaSettings, UnsafeSettings
from runtime.telemetry import log_fields

log = logging.getLogger(__name__)
_TOPIC_ALREADY_EXISTS = 36
BATCH_BYTES = 256 * 1024  # a relay batch's records per partition, at most (but one record)


def build_broker(
    settings: KafkaSettings, client_id: str, tracer_provider: TracerProvider | None
) -> KafkaBroker:
    """A FastStream Kafka broker whose producer is idempotent with acks=all.

    Refuses to build with unsafe settings (see KafkaSettings.durability_problems).
    """
    problems = settings.durability_problems()
    if problems:
        raise UnsafeSettings("; ".join(problems))
    return KafkaBroker(
        # FastStream takes a string as ONE host: a cluster's comma-separated list must be split
        [server.strip() for server in settings.bootstrap_servers.split(",")],
        client_id=client_id,
        enable_idempotence=settings.enable_idempotence,
        acks="all",
        request_timeout_ms=15_000,
        # explicit, and equal to every topic's max.message.bytes (ensure_topics); the broker's
        # message.max.bytes is set to at least this in deploy/kafka/server.properties.template
        max_request_size=settings.max_message_bytes,
        middlewares=[KafkaTelemetryMiddleware(tracer_provider=tracer_provider)],
        graceful_timeout=15.0,
        logger=logging.getLogger(f"frontdesk.kafka.{client_id}"),  # our JSON handler
        # FastStream's own "Received"/"Processed" lines know no event, trace or correlation
        # id: debug level; the runner logs "event applied" with all three instead
        log_level=logging.DEBUG,
    )


def consumer_ack_policy(settings: KafkaSettings) -> AckPolicy:
    policy = AckPolicy(settings.consumer_ack_policy)
    if policy is AckPolicy.ACK_FIRST:
        raise UnsafeSettings("consumers must not commit offsets before processing")
    return policy


def assert_durable(broker: KafkaBroker) -> None:
    """Check what the broker really built: every subscriber commits only after processing."""
    for subscriber in broker.subscribers:
        policy = getattr(subscriber, "ack_policy", None)
        if policy is None:
            config = getattr(subscriber, "_outer_config", None) or getattr(
                subscriber, "config", None
            )
            policy = getattr(config, "ack_policy", None)
        if policy is AckPolicy.ACK_FIRST:
            raise UnsafeSettings(f"subscriber {subscriber} commits before processing")


# Errors that say "this record, never": retrying the same bytes cannot succeed. Anything else
# (timeouts, a broker away, a closed producer) is transient and retried with the row kept.
REFUSED_FOR_GOOD: tuple[type[Exception], ...] = (
    kafka_errors.MessageSizeTooLargeError,
    kafka_errors.RecordTooLargeError,
    kafka_errors.RecordListTooLargeError,
    kafka_errors.CorruptRecordException,
    kafka_errors.InvalidTopicError,
    kafka_errors.InvalidTimestampError,
    kafka_errors.UnsupportedForMessageFormatError,
    kafka_errors.PolicyViolationError,
)


def relay_transactional_id(settings: KafkaSettings, service: str) -> str:
    """One stable transactional id per service relay (namespaced like the topics): whichever
    replica leads registers it, fencing the one before."""
    return f"{settings.topic_prefix}frontdesk.{service}.relay"


class TransactionalPublisher:
    """The relay's Publisher (runtime.relay): an aiokafka transactional producer, idempotent
    with acks=all, under the service's transactional id; a new producer at every start.

    Records go out through aiokafka's batch API, which skips ``send()``'s per-record metadata
    wait, partitioning, accumulator and future: each record is appended, in the order it is
    handed over, to the open batch of its partition (the one aiokafka's ``DefaultPartitioner``
    picks for ``send()``, the murmur2 of the key, computed here once per key and transaction:
    a key lands where it always did), and the records of a batch share its one
    acknowledgement. A partition has at
    most one batch in flight: its open batch goes to the producer as soon as the one before
    is acknowledged (the first at once, so Kafka's round trips overlap the handing over, as
    ``send()``'s accumulator fills a batch while the one before is in flight), when it is
    full, or when the transaction's records are all handed over.

    Kafka judges a batch whole. A record larger than ``max_request_size`` is refused here,
    before it joins one, as ``send()`` refuses it. When the broker refuses a batch of several
    records for good, they come back as ``SendAgain`` and the next time each goes in a batch
    of its own, so that exactly the refused one is parked; the records behind a refused or
    failed batch in its partition are not sent (``SendAgain``: the producer numbered the
    refused batch for idempotence, so whatever followed it would be out of sequence), and a
    transaction with a refusal is aborted and followed by a fresh producer.

    Each record goes out in a producer span of the trace its command stored (the relay makes
    that trace current), whose context is injected into the record's headers. Kafka's
    permanent refusals come out as RecordRefused, a newer holder of the id as RelayFenced."""

    def __init__(self, settings: KafkaSettings, service: str) -> None:
        self.settings = settings
        self.service = service
        self.transactional_id = relay_transactional_id(settings, service)
        self._producer: AIOKafkaProducer | None = None
        self._fenced = False
        self._tracer = trace.get_tracer("frontdesk.relay")
        self._stored: tuple[str | None, str | None] = (None, None)  # the last record's trace
        self._parent = Context()  # ... parsed
        self._placements: dict[str, _Placement] = {}  # a topic's, asked once per transaction
        self._open: dict[tuple[str, int], _Batch] = {}  # (topic, partition): being filled
        self._flying: dict[tuple[str, int], asyncio.Future[object]] = {}  # the last one sent
        self._batches: dict[asyncio.Future[object], _Batch] = {}  # this transaction's
        self._alone: set[int] = set()  # positions of records of a batch the broker refused
        self._refused = False  # the broker refused a batch in this transaction

    async def start(self) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=[s.strip() for s in self.settings.bootstrap_servers.split(",")],
            client_id=f"{self.service}-relay",
            transactional_id=self.transactional_id,
            enable_idempotence=True,
            acks="all",
            request_timeout_ms=15_000,
            max_request_size=self.settings.max_message_bytes,
            max_batch_size=BATCH_BYTES,
        )
        try:
            await producer.start()  # registers the id: the previous holder is fenced
        except BaseException:
            await producer.stop()
            raise
        self._producer, self._fenced = producer, False

    async def stop(self) -> None:
        self._forget()
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()

    def _live(self) -> AIOKafkaProducer:
        if self._fenced:
            raise RelayFenced(f"{self.transactional_id} is held by a newer relay")
        if self._producer is None:
            raise RuntimeError("the relay's producer is not started")
        return self._producer

    async def begin(self) -> None:
        self._forget()
        await self._live().begin_transaction()

    def _forget(self) -> None:
        """Drop what an earlier transaction left (batches never handed to the producer)."""
        for batch in self._open.values():
            batch.delivered.cancel()
        self._open.clear()
        self._flying.clear()
        self._batches.clear()
        self._placements.clear()
        self._refused = False

    async def send(self, record: OutboundRecord) -> Awaitable[object]:
        producer = self._live()
        event_id = record.headers.get("event_id", "")
        headers = [(name, value.encode()) for name, value in record.headers.items()]
        headers.append(("correlation_id", event_id.encode()))
        headers += self._publish_span(record, event_id)
        size = DefaultRecordBatchBuilder.estimate_size_in_bytes(record.key, record.value, headers)
        if size > self.settings.max_message_bytes:  # what send() checks, in its words
            error = kafka_errors.MessageSizeTooLargeError(
                f"The message is {size} bytes when serialized which is larger than the "
                f"maximum request size ({self.settings.max_message_bytes})"
            )
            raise RecordRefused(f"{type(error).__name__}: {error}")
        placement = self._placements.get(record.topic)
        if placement is None:
            partitions = sorted(await producer.partitions_for(record.topic))
            placement = self._placements[record.topic] = _Placement(record.topic, partitions)
        where = placement.of(record.key)
        alone = record.position in self._alone
        batch = self._open.get(where)
        if batch is not None and alone:  # what came before it goes first
            await self._submit(self._open.pop(where))
            batch = None
        if batch is None:
            batch = self._open[where] = self._new_batch(producer, where)
        if not batch.append(record, headers):  # full: it goes, a new one takes the record
            await self._submit(self._open.pop(where))
            batch = self._open[where] = self._new_batch(producer, where)
            batch.append(record, headers)  # a batch takes its first record whatever its size
        if alone:
            self._alone.discard(record.position)
            await self._submit(self._open.pop(where))
        elif (flying := self._flying.get(where)) is None or flying.done():
            await self._submit(self._open.pop(where))
        return batch.delivered

    def _new_batch(self, producer: AIOKafkaProducer, where: tuple[str, int]) -> _Batch:
        batch = _Batch(where, producer.create_batch())
        self._batches[batch.delivered] = batch
        return batch

    async def _submit(self, batch: _Batch) -> None:
        """Hand a batch to the producer once its partition's batch before it is answered (in
        this transaction: aiokafka adds the partition to it, and numbers the batch for
        idempotence when its sender takes it); after a refusal or a failure there it is not
        sent: its records go again."""
        before = self._flying.get(batch.where)
        if before is not None:
            if not before.done():
                await asyncio.wait([before])
            if before.cancelled() or before.exception() is not None:
                batch.delivered.set_exception(
                    SendAgain("not sent: Kafka did not take a batch before it in its partition")
                )
                return
        self._flying[batch.where] = batch.delivered
        try:
            sent = await self._live().send_batch(
                batch.builder, batch.where[0], partition=batch.where[1]
            )
        except Exception as error:
            batch.delivered.set_exception(error)
            if isinstance(error, kafka_errors.ProducerFenced):
                raise self._fence(error) from error
            raise
        sent.add_done_callback(batch.answered)

    def _publish_span(self, record: OutboundRecord, event_id: str) -> list[tuple[str, bytes]]:
        """A producer span, child of the trace the record's command stored, started and ended
        at once; returns the W3C headers of its context (the stored ones when the span records
        nothing: no tracing SDK, or not sampled)."""
        stored = (record.trace_carrier.get("traceparent"), record.trace_carrier.get("tracestate"))
        if stored != self._stored:  # the events of one command share their stored trace
            self._stored, self._parent = stored, _stored_context(*stored)
        span = self._tracer.start_span(
            f"{record.topic} publish",
            context=self._parent,
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation": "publish",
                "messaging.destination.name": record.topic,
                "messaging.message.id": event_id,
            },
        )
        span.end()
        context = span.get_span_context()
        if not context.is_valid:
            return []
        headers = [("traceparent", _traceparent(context).encode())]
        if context.trace_state:
            headers.append(("tracestate", context.trace_state.to_header().encode()))
        return headers

    async def acknowledged(self, sent: Sequence[Awaitable[object]]) -> list[Exception | None]:
        """Hand the open batches to the producer, then one wait for them all; each record's
        answer is its batch's."""
        batches, self._open = list(self._open.values()), {}
        # each waits for its partition's batch in flight: together, not one after the other
        await asyncio.gather(*(self._submit(batch) for batch in batches), return_exceptions=True)
        # the batches' own futures: a few, shared by a thousand records
        futures = {ack: asyncio.ensure_future(ack) for ack in dict.fromkeys(sent)}
        unanswered = {future for future in futures.values() if not future.done()}
        if unanswered:
            await asyncio.wait(unanswered)
        answers = {ack: self._answer(future) for ack, future in futures.items()}
        return [answers[ack] for ack in sent]

    def _answer(self, future: asyncio.Future[object]) -> Exception | None:
        if future.cancelled():
            return RuntimeError("the record's delivery was cancelled")
        error = future.exception()
        if error is None:
            return None
        if isinstance(error, REFUSED_FOR_GOOD):
            self._refused = True
            batch = self._batches.get(future)
            if batch is not None and len(batch.positions) > 1:
                self._alone.update(batch.positions)
                return SendAgain(
                    f"{type(error).__name__} for a batch of {len(batch.positions)} records: "
                    "each goes again, alone"
                )
            return RecordRefused(f"{type(error).__name__}: {error}")
        if isinstance(error, kafka_errors.ProducerFenced):
            return self._fence(error)
        return error if isinstance(error, Exception) else RuntimeError(repr(error))

    async def commit(self) -> None:
        try:
            await self._live().commit_transaction()
        except kafka_errors.ProducerFenced as error:
            raise self._fence(error) from error

    async def abort(self) -> None:
        refused = self._refused
        try:
            await self._live().abort_transaction()
        except kafka_errors.ProducerFenced as error:
            raise self._fence(error) from error
        if refused:
            # the producer numbered the refused batch, the broker did not take it: a new
            # producer (the same transactional id) starts the partitions' sequences afresh
            await self.stop()
            await self.start()

    def _fence(self, error: Exception) -> RelayFenced:
        self._fenced = True
        return RelayFenced(f"{self.transactional_id}: {error}")

    async def published_event_ids(self, topics: Collection[str], since: datetime) -> set[str]:
        found = set()
        async for batch in read_to_end(self.settings.bootstrap_servers, topics, since=since):
            for record in batch:
                event_id = dict(record.headers or ()).get("event_id")
                if event_id is not None:
                    found.add(event_id.decode())
        return found


class _Placement:
    """Where a topic's records go in one transaction: its partitions, asked once, and each
    key's partition, the one aiokafka's ``DefaultPartitioner`` picks (the murmur2 of the key
    over the sorted partitions), computed once per key: an aggregate's events share it."""

    def __init__(self, topic: str, partitions: list[int]) -> None:
        self._wheres = [(topic, partition) for partition in partitions]
        self._of: dict[bytes, tuple[str, int]] = {}

    def of(self, key: bytes) -> tuple[str, int]:
        """The (topic, partition) of a record with this key."""
        where = self._of.get(key)
        if where is None:
            wheres = self._wheres
            where = self._of[key] = wheres[(murmur2(key) & 0x7FFFFFFF) % len(wheres)]
        return where


_M = 0x5BD1E995  # murmur2's mixing constant
_MASK = 0xFFFFFFFF


def murmur2(key: bytes) -> int:
    """Kafka's murmur2 of a key (its Java client's ``Utils.murmur2``, aiokafka's
    ``partitioner.murmur2``): the same value in half the Python steps (the 4-byte words
    unpacked at once, masked only where a product can pass 32 bits). aiokafka's took ~7 µs
    of a record's ~13 µs of hand-over for the relay's 43-byte keys; this one ~2-3 µs."""
    length = len(key)
    h = 0x9747B28C ^ length
    words = length >> 2
    if words:
        for k in struct.unpack_from(f"<{words}I", key):
            k = (k * _M) & _MASK
            k ^= k >> 24
            h = ((h * _M) ^ (k * _M)) & _MASK
    tail = length & 3
    if tail:
        end = length - tail
        if tail == 3:
            h ^= key[end + 2] << 16
        if tail >= 2:
            h ^= key[end + 1] << 8
        h = ((h ^ key[end]) * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    return h ^ (h >> 15)


class _Batch:
    """The records of one transaction for one partition, in the order handed over: one
    aiokafka BatchBuilder, one acknowledgement (``delivered``) for them all."""

    def __init__(self, where: tuple[str, int], builder: BatchBuilder) -> None:
        self.where = where
        self.builder = builder
        self.positions: list[int] = []
        self.delivered: asyncio.Future[object] = asyncio.get_running_loop().create_future()

    def append(self, record: OutboundRecord, headers: list[tuple[str, bytes]]) -> bool:
        """Whether the batch took the record (False: it is full)."""
        taken = self.builder.append(
            timestamp=record.timestamp_ms, key=record.key, value=record.value, headers=headers
        )
        if taken is None:
            return False
        self.positions.append(record.position)
        return True

    def answered(self, sent: asyncio.Future[object]) -> None:
        if self.delivered.done():
            return
        if sent.cancelled():
            self.delivered.cancel()
        elif (error := sent.exception()) is not None:
            self.delivered.set_exception(error)
        else:
            self.delivered.set_result(sent.result())


def _stored_context(traceparent: str | None, tracestate: str | None) -> Context:
    """The context of the span a command stored with its event (W3C ``traceparent``, parsed
    here: the propagator's extract per record cost more than the rest of a send); an empty
    context when none was stored or it does not parse (the span is then a trace's root)."""
    if (
        not traceparent
        or len(traceparent) != 55
        or traceparent[:3] != "00-"
        or traceparent[35] != "-"
        or traceparent[52] != "-"
    ):
        return Context()
    try:
        stored = SpanContext(
            trace_id=int(traceparent[3:35], 16),
            span_id=int(traceparent[36:52], 16),
            is_remote=True,
            trace_flags=TraceFlags(int(traceparent[53:55], 16)),
            trace_state=TraceState.from_header([tracestate]) if tracestate else None,
        )
    except ValueError:
        return Context()
    return trace.set_span_in_context(NonRecordingSpan(stored)) if stored.is_valid else Context()


def _traceparent(context: SpanContext) -> str:
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


async def topic_partitions(bootstrap_servers: str, topics: Iterable[str]) -> list[TopicPartition]:
    """Every partition of ``topics``, asked of the cluster (not of a client's cached metadata,
    which does not know a topic created a moment ago)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=15_000)
    await admin.start()
    try:
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    partitions = []
    for topic in described:
        if topic["error_code"] != 0:
            raise RuntimeError(f"topic {topic['topic']}: Kafka error {topic['error_code']}")
        partitions += [TopicPartition(topic["topic"], p["partition"]) for p in topic["partitions"]]
    return sorted(partitions)


EMPTY_POLL_MS = 5  # how long ``read_to_end`` waits for records before it looks at its ends


async def read_to_end(
    bootstrap_servers: str,
    topics: Collection[str],
    *,
    since: datetime | None = None,
    batch_size: int = 1000,
    stall_seconds: float = 60.0,
    open_transactions: bool = True,
    extent: Callable[[int], None] | None = None,
) -> AsyncGenerator[list[ConsumerRecord[bytes, bytes]], None]:
    """The committed records of ``topics`` (every partition, each in its order), in batches:
    from the beginning, or from the first record timestamped ``since`` or later, up to the
    ends the topics have when it starts (an aborted transaction is skipped; one still open
    there is waited for, unless ``open_transactions`` is False: then the end is where the
    committed records end). ``extent`` is told how many offsets lie between the beginnings
    and those ends (records and transaction markers: a progress total). Raises TimeoutError
    after ``stall_seconds`` without progress."""
    partitions = await topic_partitions(bootstrap_servers, topics)
    servers = [server.strip() for server in bootstrap_servers.split(",")]
    consumer = AIOKafkaConsumer(
        bootstrap_servers=servers,
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
        max_poll_records=batch_size,
        auto_offset_reset="earliest",
        # the broker answers a fetch at once when it has nothing: the history ends where it
        # ended at the start, and a fetch held for aiokafka's 500 ms would hold up the seek
        # behind it (an empty topic's replay took 0.5 s) and a partition's last records
        fetch_max_wait_ms=EMPTY_POLL_MS,
    )
    await consumer.start()
    try:
        # assigned first, so that the client asks for the topics' metadata now: asked for
        # offsets of partitions it does not know, it would sleep its retry backoff (100 ms)
        consumer.assign(partitions)
        if open_transactions:
            ends = await _high_watermarks(servers, partitions)
        else:  # the last stable offsets, as a read_committed consumer is told them
            ends = await consumer.end_offsets(partitions)
        if extent is not None:
            beginnings = await consumer.beginning_offsets(partitions)
            extent(sum(ends[tp] - beginnings[tp] for tp in partitions))
        await consumer.seek_to_beginning(*partitions)
        if since is not None:
            starts = await consumer.offsets_for_times(
                {tp: int(since.timestamp() * 1000) for tp in partitions}
            )
            for tp in partitions:
                found = starts.get(tp)
                consumer.seek(tp, found.offset if found is not None else ends[tp])
        remaining = {tp for tp in partitions if await consumer.position(tp) < ends[tp]}
        progress = time.monotonic()
        while remaining:
            # a short wait: a partition whose last offsets are transaction markers reaches its
            # end while a poll returns nothing, and would keep a longer poll waiting in vain
            # (a relayed topic ends so: 50 ms here were a tenth of a 20,000-record rebuild)
            polled = await consumer.getmany(
                *remaining, timeout_ms=EMPTY_POLL_MS, max_records=batch_size
            )
            batch: list[ConsumerRecord[bytes, bytes]] = []
            for tp, records in polled.items():
                if records and records[-1].offset < ends[tp]:  # nearly always: no test each
                    batch += records
                else:
                    batch += [record for record in records if record.offset < ends[tp]]
            if batch:
                yield batch
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
                    progress = time.monotonic()
            if batch:
                progress = time.monotonic()
            elif time.monotonic() - progress > stall_seconds:
                raise TimeoutError(f"reading {sorted(topics)} made no progress")
    finally:
        await consumer.stop()


async def _high_watermarks(
    servers: list[str], partitions: list[TopicPartition]
) -> dict[TopicPartition, int]:
    """Where each partition ends, open transactions included."""
    consumer = AIOKafkaConsumer(bootstrap_servers=servers, enable_auto_commit=False)
    await consumer.start()
    try:
        ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        return ends
    finally:
        await consumer.stop()


async def delete_namespace_topics(settings: KafkaSettings) -> list[str]:
    """Delete every topic of a namespace (``FRONTDESK_KAFKA_TOPIC_PREFIX``): test runs and
    benchmarks clean up after themselves. Refuses the empty namespace."""
    if not settings.topic_prefix:
        raise ValueError("refusing to delete topics without a namespace prefix")
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        topics = [t for t in await admin.list_topics() if t.startswith(settings.topic_prefix)]
        if topics:
            await admin.delete_topics(topics)
    finally:
        await admin.close()
    return topics


async def ensure_topics(settings: KafkaSettings, specs: Iterable[TopicSpec]) -> list[str]:
    """Create missing topics with the environment's partitions, replication factor and
    min.insync.replicas, the registry's retention and unclean leader election off; re-apply
    that configuration to existing ones (their partitions and replicas are never changed).
    Returns the names created."""
    specs = [replace(spec, name=settings.topic(spec.name)) for spec in specs]
    bootstrap_servers = settings.bootstrap_servers
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=15_000)
    await admin.start()
    created: list[str] = []
    try:
        existing = set(await admin.list_topics())
        missing = [spec for spec in specs if spec.name not in existing]
        if missing:
            response = await admin.create_topics(
                [
                    NewTopic(
                        spec.name,
                        settings.partitions_of(spec),
                        settings.replication_factor,
                        topic_configs=settings.topic_config(spec),
                    )
                    for spec in missing
                ]
            )
            for topic, code, *_ in response.topic_errors:
                if code not in (0, _TOPIC_ALREADY_EXISTS):
                    raise RuntimeError(f"creating topic {topic} failed with Kafka error {code}")
                if code == 0:
                    created.append(topic)
        present = [spec for spec in specs if spec.name in existing]
        if present:
            await admin.alter_configs(
                [
                    ConfigResource(ConfigResourceType.TOPIC, spec.name, settings.topic_config(spec))
                    for spec in present
                ]
            )
    finally:
        await admin.close()
    if created:
        log.info("topics created", extra=log_fields(topics=created))
    return created
