"""Metrics, scraped the Prometheus way: ``GET /metrics`` on every service.

One choice for the whole project: OpenTelemetry meters (counters and histograms where the code
acts: records processed, events published, timers fired, HTTP requests by route template),
exported by the OpenTelemetry SDK's Prometheus reader. Names follow the OpenTelemetry
conventions where they exist (``http.server.request.duration``, ``messaging.*``); Prometheus
sees them with dots as underscores and the unit as a suffix.

What is a state rather than an act — the outbox backlog and the age of its oldest row, how late
the durable timers are, each consumer group's lag, and the floor (people waiting, promises
due) — is sampled when scraped: a ``Gauge`` has an async probe over the service's database
(or Kafka); ``/metrics`` runs every probe of the service within a bounded time, keeps the
samples, and the observable gauges report them. Labels are bounded: services, groups, topics,
partitions, sites, queues, channels, kinds — never an account, a ticket or a person.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

from runtime.consumer import ConsumerGroup
from runtime.kafka import topic_partitions
from runtime.settings import KafkaSettings
from runtime.telemetry import log_fields

log = logging.getLogger(__name__)

Attributes = Mapping[str, str | int | float | bool]


@dataclass(frozen=True)
class Sample:
    value: float
    attributes: Attributes = field(default_factory=dict)


Probe = Callable[[asyncpg.Connection], Awaitable[Iterable[Sample]]]


@dataclass(frozen=True)
class Gauge:
    """A state sampled at scrape time: ``probe(conn)`` returns its samples."""

    name: str
    description: str
    unit: str
    probe: Probe


class _Samples:
    """The latest samples of every gauge, per service (several services may share a process:
    the integration tests run all four in one)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_gauge: dict[str, dict[str, list[Sample]]] = {}
        self._instruments: set[str] = set()

    def keep(self, service: str, gauge: str, samples: list[Sample]) -> None:
        with self._lock:
            self._by_gauge.setdefault(gauge, {})[service] = samples

    def observations(self, gauge: str) -> list[Observation]:
        with self._lock:
            services = dict(self._by_gauge.get(gauge, {}))
        return [
            Observation(sample.value, {"service": service, **sample.attributes})
            for service, samples in sorted(services.items())
            for sample in samples
        ]

    def declare(self, gauge: Gauge) -> None:
        with self._lock:
            if gauge.name in self._instruments:
                return
            self._instruments.add(gauge.name)

        def observe(options: CallbackOptions) -> Iterable[Observation]:
            return self.observations(gauge.name)

        meter = metrics.get_meter("frontdesk")
        meter.create_observable_gauge(
            gauge.name, callbacks=[observe], unit=gauge.unit, description=gauge.description
        )


SAMPLES = _Samples()


async def sample(
    service: str, pool: asyncpg.Pool, gauges: Sequence[Gauge], *, per_probe: float = 2.0
) -> None:
    """Run every gauge's probe (each within ``per_probe`` seconds) and keep what it found; a
    probe that fails or times out keeps its previous samples and is logged."""
    for gauge in gauges:
        SAMPLES.declare(gauge)
    async with asyncio.timeout(per_probe * max(1, len(gauges))):
        for gauge in gauges:
            try:
                async with asyncio.timeout(per_probe), pool.acquire() as conn:
                    samples = list(await gauge.probe(conn))
            except Exception as error:
                log.warning(
                    "metric probe failed",
                    extra=log_fields(gauge=gauge.name, error=type(error).__name__),
                )
                continue
            SAMPLES.keep(service, gauge.name, samples)


def keep_samples(service: str, gauge: Gauge, samples: Iterable[Sample]) -> None:
    """Samples found without the database (e.g. Kafka consumer lag)."""
    SAMPLES.declare(gauge)
    SAMPLES.keep(service, gauge.name, list(samples))


# -- the runtime's own gauges -----------------------------------------------------------------


async def _outbox(conn: asyncpg.Connection) -> list[Sample]:
    return [Sample(float(await conn.fetchval("SELECT count(*) FROM outbox")))]


async def _outbox_age(conn: asyncpg.Connection) -> list[Sample]:
    age = await conn.fetchval(
        """SELECT coalesce(extract(epoch FROM now() - min(e.recorded_at)), 0)
           FROM outbox o JOIN events e ON e.position = o.position"""
    )
    return [Sample(float(age or 0))]


def timer_gauges(now: Callable[[], Any]) -> list[Gauge]:
    """Timers due and how late the oldest due one is, by the service's own clock."""

    async def due(conn: asyncpg.Connection) -> list[Sample]:
        rows = await conn.fetch(
            "SELECT kind, count(*) AS due FROM timers WHERE due_at <= $1 GROUP BY kind",
            now(),
        )
        return [Sample(float(row["due"]), {"kind": row["kind"]}) for row in rows]

    async def lateness(conn: asyncpg.Connection) -> list[Sample]:
        late = await conn.fetchval(
            "SELECT coalesce(extract(epoch FROM $1 - min(due_at)), 0) FROM timers"
            " WHERE due_at <= $1",
            now(),
        )
        return [Sample(max(0.0, float(late or 0)))]

    return [
        Gauge("frontdesk.timers.due", "Durable timers due and not fired yet", "{timer}", due),
        Gauge(
            "frontdesk.timers.lateness",
            "How late the oldest due timer is (0 when none is due)",
            "s",
            lateness,
        ),
    ]


OUTBOX_GAUGES = [
    Gauge(
        "frontdesk.outbox.pending",
        "Outbox rows written and not yet acknowledged by Kafka",
        "{event}",
        _outbox,
    ),
    Gauge(
        "frontdesk.outbox.oldest_age",
        "Age of the oldest outbox row not yet published (0 when empty)",
        "s",
        _outbox_age,
    ),
]

CONSUMER_LAG = Gauge(
    "messaging.kafka.consumer.lag",
    "Records on a partition that the consumer group has not committed yet (end - committed)",
    "{message}",
    lambda conn: _no_samples(),
)

RELAY_LEADER = Gauge(
    "frontdesk.relay.leader",
    "1 when this replica leads the outbox relay of its database",
    "1",
    lambda conn: _no_samples(),
)


async def _no_samples() -> list[Sample]:
    return []


async def consumer_lag(kafka: KafkaSettings, groups: Sequence[ConsumerGroup]) -> list[Sample]:
    """End offset minus committed offset, per consumer group and partition (a group that has
    committed nothing yet lags by the whole partition)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap_servers, group_id=None)
    await admin.start()
    await consumer.start()
    try:
        samples = []
        for group in groups:
            topics = [kafka.topic(topic.name) for topic in group.topics]
            partitions = await topic_partitions(kafka.bootstrap_servers, topics)
            ends = await consumer.end_offsets(partitions)
            committed = await admin.list_consumer_group_offsets(kafka.topic(group.name))
            for partition in partitions:
                done = committed.get(partition)
                position = done.offset if done is not None and done.offset >= 0 else 0
                samples.append(
                    Sample(
                        float(max(ends[partition] - position, 0)),
                        {
                            "messaging.consumer.group.name": group.name,
                            "messaging.destination.name": partition.topic.removeprefix(
                                kafka.topic_prefix
                            ),
                            "messaging.destination.partition.id": str(partition.partition),
                        },
                    )
                )
        return samples
    finally:
        await consumer.stop()
        await admin.close()


def _unprefixed(kafka: KafkaSettings, topic: str) -> str:
    return topic.removeprefix(kafka.topic_prefix)


def render_metrics() -> tuple[bytes, str]:
    """The Prometheus text exposition of every meter and gauge of this process."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
