"""Kafka set-up shared by every service: a durable broker, topics, and the relay's publisher."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Iterable
from dataclasses import replace

from aiokafka import TopicPartition
from aiokafka import errors as kafka_errors
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.middlewares import AckPolicy
from opentelemetry.sdk.trace import TracerProvider

from contracts import TopicSpec
from runtime.relay import OutboundRecord, Publish, RecordRefused
from runtime.settings import KafkaSettings, UnsafeSettings
from runtime.telemetry import log_fields

log = logging.getLogger(__name__)
_TOPIC_ALREADY_EXISTS = 36


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


def kafka_publisher(broker: KafkaBroker) -> Publish:
    """The relay's publisher: sends through FastStream (so the telemetry middleware injects
    the re-attached trace context into the Kafka headers) without waiting per record. Kafka's
    permanent refusals come out as RecordRefused, at send or at acknowledgement."""

    async def publish(record: OutboundRecord) -> Awaitable[object]:
        try:
            acknowledgement = await broker.publish(
                record.value,
                record.topic,
                key=record.key,
                headers=record.headers,
                correlation_id=record.headers.get("event_id"),
                no_confirm=True,
            )
        except REFUSED_FOR_GOOD as error:
            raise RecordRefused(f"{type(error).__name__}: {error}") from error
        return _refusals_as_record_refused(acknowledgement)

    return publish


async def _refusals_as_record_refused(acknowledgement: Awaitable[object]) -> object:
    try:
        return await acknowledgement
    except REFUSED_FOR_GOOD as error:
        raise RecordRefused(f"{type(error).__name__}: {error}") from error


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
