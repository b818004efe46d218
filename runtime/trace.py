"""``frontdesk trace <correlation-id>``: one flow across every service, in time order.

Reads every topic of the registry from the beginning (Kafka keeps them forever), keeps the
envelopes of the flow's correlation id, and asks each service's database which of its consumer
groups applied each event (their inboxes). Prints, per event: when, the producing service, the
event type and version, the stream (its type and a short fingerprint: stream ids can name an
account), the trace id (with a link when ``FRONTDESK_TRACE_URL`` is a template such as
``http://localhost:16686/trace/{trace_id}``) and the groups that applied it. Payloads are never
read: nothing personal is printed.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from pydantic import ValidationError

from contracts import TOPICS, Envelope
from runtime.context import correlation_uuid
from runtime.db import connect
from runtime.kafka import read_to_end
from runtime.settings import ServiceSettings


@dataclass
class TracedEvent:
    occurred_at: datetime
    service: str
    event_type: str
    schema_version: int
    stream_type: str
    stream: str  # a fingerprint of the stream id
    stream_version: int
    event_id: UUID
    trace_id: str | None
    topic: str
    applied_by: list[str] = field(default_factory=list)

    def as_json(self, trace_url: str | None = None) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "at": self.occurred_at.isoformat(),
            "service": self.service,
            "event": f"{self.event_type} v{self.schema_version}",
            "stream": f"{self.stream_type}:{self.stream}#{self.stream_version}",
            "event_id": str(self.event_id),
            "trace_id": self.trace_id,
            "topic": self.topic,
            "applied_by": self.applied_by,
        }
        if trace_url and self.trace_id:
            shown["trace"] = trace_url.format(trace_id=self.trace_id)
        return shown


def fingerprint(stream_id: str) -> str:
    return hashlib.sha256(stream_id.encode()).hexdigest()[:12]


async def events_of_flow(settings: ServiceSettings, correlation: str) -> list[TracedEvent]:
    """Every event of the flow on every registry topic, oldest first."""
    wanted = correlation_uuid(correlation)
    kafka = settings.kafka
    topics = [kafka.topic(spec.name) for spec in TOPICS.values()]
    found: list[TracedEvent] = []
    async for batch in read_to_end(kafka.bootstrap_servers, topics, batch_size=5000):
        for record in batch:
            if record.value is None:
                continue
            try:
                envelope = Envelope.from_bytes(record.value)
            except ValidationError:
                continue  # not an envelope: the dead-letter tooling's business
            if envelope.correlation_id == wanted:
                found.append(_traced(envelope, record.topic.removeprefix(kafka.topic_prefix)))
    found.sort(key=lambda e: (e.occurred_at, e.service, e.stream, e.stream_version))
    return found


def _traced(envelope: Envelope, topic: str) -> TracedEvent:
    trace_id = None
    if envelope.trace is not None:
        trace_id = envelope.trace.traceparent.split("-")[1]
    return TracedEvent(
        occurred_at=envelope.occurred_at,
        service=envelope.producer,
        event_type=envelope.event_type,
        schema_version=envelope.schema_version,
        stream_type=envelope.stream_type,
        stream=fingerprint(envelope.stream_id),
        stream_version=envelope.stream_version,
        event_id=envelope.event_id,
        trace_id=trace_id,
        topic=topic,
    )


async def mark_applied(
    settings: ServiceSettings, services: Sequence[str], events: list[TracedEvent]
) -> None:
    """Which consumer groups of each service applied each event (their inbox rows)."""
    ids = [event.event_id for event in events]
    by_id = {event.event_id: event for event in events}
    for service in services:
        try:
            conn = await connect(settings.dsn(service))
        except (OSError, asyncpg.PostgresError) as error:
            # a service's database out of reach: its groups are not listed, and it is said
            print(f"{service}: inbox not read ({type(error).__name__})", file=sys.stderr)
            continue
        try:
            rows = await conn.fetch(
                """SELECT event_id, consumer_group FROM consumer_inbox
                   WHERE event_id = ANY($1::uuid[]) AND outcome IN ('applied', 'inline')
                   ORDER BY consumer_group""",
                ids,
            )
        finally:
            await conn.close()
        for row in rows:
            by_id[row["event_id"]].applied_by.append(row["consumer_group"])


async def trace_flow(
    settings: ServiceSettings, services: Sequence[str], correlation: str
) -> list[dict[str, Any]]:
    events = await events_of_flow(settings, correlation)
    await mark_applied(settings, services, events)
    trace_url = os.environ.get("FRONTDESK_TRACE_URL")
    return [event.as_json(trace_url) for event in events]
