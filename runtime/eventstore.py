"""The event store: load an aggregate's events, append new ones with their outbox rows.

Appends happen inside the caller's transaction, so a command's events, its outbox rows, its
idempotency record and (for consumers) its inbox row commit together or not at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar
from uuid import UUID

import asyncpg

from contracts import REGISTRY, Actor, Envelope, EventPayload, TraceContext, decode_payload
from runtime.errors import ConcurrencyConflict
from runtime.telemetry import correlation_id_var, current_trace_carrier

S = TypeVar("S")

OUTBOX_CHANNEL = "frontdesk_outbox"


@dataclass(frozen=True)
class CommandContext:
    """Who asked, and which flow this belongs to; stamped on every event the command appends."""

    actor: Actor | None
    correlation_id: UUID
    causation_id: UUID | None = None

    @classmethod
    def new(cls, actor: Actor | None, correlation_id: UUID | None = None) -> CommandContext:
        return cls(actor=actor, correlation_id=correlation_id or uuid.uuid4())

    @classmethod
    def caused_by(cls, envelope: Envelope, service: str) -> CommandContext:
        """Context of a reaction to ``envelope``: same correlation, caused by that event."""
        return cls(
            actor=Actor(id=service, role="service"),
            correlation_id=envelope.correlation_id,
            causation_id=envelope.event_id,
        )


@dataclass(frozen=True)
class RecordedEvent:
    position: int
    envelope: Envelope
    payload: EventPayload


def _trace_context() -> TraceContext | None:
    carrier = current_trace_carrier()
    if "traceparent" not in carrier:
        return None
    return TraceContext(traceparent=carrier["traceparent"], tracestate=carrier.get("tracestate"))


class EventStore:
    def __init__(self, producer: str) -> None:
        self.producer = producer

    async def load(self, conn: asyncpg.Connection, stream_id: str) -> list[RecordedEvent]:
        rows = await conn.fetch(
            "SELECT position, envelope FROM events WHERE stream_id = $1 ORDER BY stream_version",
            stream_id,
        )
        recorded = []
        for row in rows:
            envelope = Envelope.model_validate(row["envelope"])
            recorded.append(RecordedEvent(row["position"], envelope, decode_payload(envelope)))
        return recorded

    async def append(
        self,
        conn: asyncpg.Connection,
        stream_id: str,
        expected_version: int,
        payloads: Sequence[EventPayload],
        context: CommandContext,
        *,
        occurred_at: datetime | None = None,
    ) -> list[Envelope]:
        """Append events after ``expected_version`` (0 for a new stream).

        Raises ConcurrencyConflict when another transaction appended to the stream first. Must
        run inside a transaction (the caller's), which also holds the outbox rows.
        """
        if not conn.is_in_transaction():
            raise RuntimeError("append must run inside a transaction")
        occurred_at = occurred_at or datetime.now(UTC)
        trace_context = _trace_context()
        envelopes = []
        causation_id = context.causation_id
        for offset, payload in enumerate(payloads, start=1):
            envelope = Envelope(
                event_id=uuid.uuid4(),
                event_type=payload.event_type,
                schema_version=payload.schema_version,
                occurred_at=occurred_at,
                stream_type=payload.stream_type,
                stream_id=stream_id,
                stream_version=expected_version + offset,
                correlation_id=context.correlation_id,
                causation_id=causation_id,
                producer=self.producer,
                actor=context.actor,
                trace=trace_context,
                payload=payload.model_dump(mode="json"),
            )
            envelopes.append(envelope)
        try:
            async with conn.transaction():  # a savepoint: a conflict leaves the caller's tx usable
                for envelope in envelopes:
                    position = await conn.fetchval(
                        """INSERT INTO events (event_id, stream_type, stream_id, stream_version,
                               event_type, schema_version, occurred_at, envelope)
                           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING position""",
                        envelope.event_id,
                        envelope.stream_type,
                        envelope.stream_id,
                        envelope.stream_version,
                        envelope.event_type,
                        envelope.schema_version,
                        envelope.occurred_at,
                        envelope.model_dump(mode="json"),
                    )
                    await conn.execute(
                        "INSERT INTO outbox (position, topic) VALUES ($1, $2)",
                        position,
                        REGISTRY.topic_of(envelope.event_type).name,
                    )
        except asyncpg.UniqueViolationError as error:
            if error.constraint_name == "events_stream_version_unique":
                raise ConcurrencyConflict(
                    f"{stream_id} was changed by another request; reload and try again"
                ) from None
            raise
        await conn.execute(f"NOTIFY {OUTBOX_CHANNEL}")
        return envelopes


@dataclass(frozen=True)
class AggregateType(Generic[S]):
    """How an aggregate folds its events: ``evolve(state, event) -> state`` from ``initial``."""

    name: str
    initial: Callable[[], S]
    evolve: Callable[[S, EventPayload], S]

    def fold(self, events: Sequence[EventPayload]) -> S:
        state = self.initial()
        for event in events:
            state = self.evolve(state, event)
        return state


async def execute(
    conn: asyncpg.Connection,
    store: EventStore,
    aggregate: AggregateType[S],
    stream_id: str,
    decide: Callable[[S], Sequence[EventPayload]],
    context: CommandContext,
) -> tuple[S, list[Envelope]]:
    """Load the aggregate, decide, append: the one way a command changes state.

    ``decide`` is pure: it sees the current state and returns the new events or raises
    RuleViolation. Returns the new state and the appended envelopes.
    """
    history = await store.load(conn, stream_id)
    state = aggregate.fold([event.payload for event in history])
    new_events = list(decide(state))
    envelopes = await store.append(conn, stream_id, len(history), new_events, context)
    for event in new_events:
        state = aggregate.evolve(state, event)
    correlation_id_var.set(str(context.correlation_id))
    return state, envelopes
