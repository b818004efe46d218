"""The event store: load an aggregate's events, append new ones with their outbox rows.

Appends happen inside the caller's transaction, so a command's events, its outbox rows, its
idempotency record and (for consumers) its inbox row commit together or not at all.
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import asyncpg

from contracts import REGISTRY, Envelope, EventPayload, TraceContext
from runtime.aggregate import AggregateType
from runtime.context import CommandContext
from runtime.errors import ConcurrencyConflict, FrontdeskError
from runtime.privacy import Privacy
from runtime.telemetry import current_trace_carrier

__all__ = [
    "AggregateType",
    "Alongside",
    "CommandContext",
    "EventStore",
    "EventTooLarge",
    "RecordedEvent",
    "execute",
]

# The largest envelope (JSON, UTF-8) an append accepts: well under Kafka's max message size
# (KafkaSettings.max_message_bytes, 1 MiB), so every stored event can be published.
EVENT_MAX_BYTES = 262_144


class EventTooLarge(FrontdeskError):
    """An event larger than the store accepts: the command fails, nothing is written."""

    status = 413
    title = "Event too large"


S = TypeVar("S")

OUTBOX_CHANNEL = "frontdesk_outbox"

_APPEND = f"""
WITH appended AS (
    INSERT INTO events (event_id, stream_type, stream_id, stream_version, event_type,
                        schema_version, occurred_at, envelope, subject_id)
    SELECT event_id, stream_type, stream_id, stream_version, event_type, schema_version,
           occurred_at, envelope, subject_id
    FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::text[], $6::int[],
                $7::timestamptz[], $8::text[]::jsonb[], $10::text[])
         WITH ORDINALITY AS e(event_id, stream_type, stream_id, stream_version, event_type,
                              schema_version, occurred_at, envelope, subject_id, n)
    ORDER BY n  -- positions follow the order of the events
    RETURNING position
), queued AS (
    INSERT INTO outbox (position, topic) SELECT position, $9 FROM appended RETURNING position
)
SELECT pg_notify('{OUTBOX_CHANNEL}', ''), (SELECT count(*) FROM queued)
"""


_PARAMETER = re.compile(r"\$(\d+)")
_APPEND_PARAMETERS = 10


@dataclass(frozen=True)
class Alongside:
    """Writes that go in an append's own statement, one round trip instead of one more: common
    table expressions (``name AS (INSERT ... RETURNING 1), ...``), each data-modifying (run
    once, whether anything reads it or not), named apart from the append's ``appended`` and
    ``queued``, their parameters numbered from $1; and the arguments. They see the database
    as the append's statement does (not its new rows), and fail with it."""

    ctes: str
    arguments: tuple[Any, ...]


@functools.lru_cache(maxsize=64)
def _append_with(ctes: tuple[str, ...]) -> str:
    """``_APPEND`` with the writes of ``ctes`` among its expressions, their parameters
    renumbered after the append's and each other's."""
    if not ctes:
        return _APPEND
    offset = _APPEND_PARAMETERS
    renumbered = []
    for text in ctes:

        def shifted(found: re.Match[str], by: int = offset) -> str:
            return f"${int(found[1]) + by}"

        renumbered.append(_PARAMETER.sub(shifted, text))
        offset += max((int(number) for number in _PARAMETER.findall(text)), default=0)
    head, tail = _APPEND.split("\nSELECT pg_notify", 1)
    return f"{head}, {', '.join(renumbered)}\nSELECT pg_notify{tail}"


# What a fold reads of each event: its payload, and the whole envelope only when it carries
# sealed personal data (revealing needs its event id and key reference) — see ``payloads``.
FOLD_COLUMNS = """stream_version, event_type, schema_version, envelope->'payload' AS payload,
CASE WHEN jsonb_typeof(envelope->'personal_data') = 'object' THEN envelope::text END AS sealed"""


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


class Clock(Protocol):
    def now(self) -> datetime: ...


class _WallClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class InlineApplication(Protocol):
    """A projection applied by the commands that append its events (runtime/inline.py)."""

    async def apply(
        self,
        conn: asyncpg.Connection,
        envelopes: Sequence[Envelope],
        events: Sequence[EventPayload],
        previous_version: int,
    ) -> bool: ...


class EventStore:
    def __init__(
        self,
        producer: str,
        privacy: Privacy | None = None,
        clock: Clock | None = None,
        *,
        max_event_bytes: int = EVENT_MAX_BYTES,
    ) -> None:
        self.producer = producer
        self.max_event_bytes = max_event_bytes
        self.privacy = privacy or Privacy(None)
        # the service's clock: events are stamped with the time the service lives in, which
        # tests and simulations move (runtime/scheduler.py)
        self.clock: Clock = clock or _WallClock()
        # the service's inline projections, which its repositories apply after each append
        self.inline: Sequence[InlineApplication] = ()

    async def load(
        self, conn: asyncpg.Connection, stream_id: str, after_version: int = 0
    ) -> list[RecordedEvent]:
        """The stream's events after ``after_version`` (all of them by default), in order."""
        rows = await conn.fetch(
            "SELECT position, envelope::text AS envelope FROM events"
            " WHERE stream_id = $1 AND stream_version > $2 ORDER BY stream_version",
            stream_id,
            after_version,
        )
        return await self.recorded(rows)

    async def recorded(self, rows: Sequence[asyncpg.Record]) -> list[RecordedEvent]:
        """Rows of ``events`` (``position``, ``envelope``) as recorded events, revealed. The
        envelope may come as JSON text (``envelope::text``, as ``load`` reads it: pydantic parses
        and validates it in one pass, about a third of ``json.loads`` then validating) or as
        the pool's decoded JSON."""
        recorded = []
        for row in rows:
            raw = row["envelope"]
            envelope = (
                Envelope.model_validate_json(raw)
                if isinstance(raw, str)
                else Envelope.model_validate(raw)
            )
            payload = REGISTRY.decode(
                envelope.event_type, envelope.schema_version, await self.privacy.reveal(envelope)
            )
            recorded.append(RecordedEvent(row["position"], envelope, payload))
        return recorded

    async def payloads(self, rows: Sequence[asyncpg.Record]) -> list[EventPayload]:
        """Rows of ``FOLD_COLUMNS`` as the events' payloads, revealed, in order: what a fold
        needs, cheaper than ``recorded`` (no envelope is decoded or validated, except one that
        seals personal data, to reveal it)."""
        payloads = []
        for row in rows:
            data = row["payload"]
            if row["sealed"] is not None:
                data = await self.privacy.reveal(Envelope.model_validate_json(row["sealed"]))
            payloads.append(REGISTRY.decode(row["event_type"], row["schema_version"], data))
        return payloads

    async def append(
        self,
        conn: asyncpg.Connection,
        stream_id: str,
        expected_version: int,
        payloads: Sequence[EventPayload],
        context: CommandContext,
        *,
        occurred_at: datetime | None = None,
        alongside: Sequence[Alongside] = (),
    ) -> list[Envelope]:
        """Append events after ``expected_version`` (0 for a new stream), with the writes
        ``alongside`` in the same statement.

        Raises ConcurrencyConflict when another transaction appended to the stream first. Must
        run inside a transaction (the caller's), which also holds the outbox rows.
        """
        if not payloads:
            return []  # a decision that changes nothing
        if not conn.is_in_transaction():
            raise RuntimeError("append must run inside a transaction")
        occurred_at = occurred_at or self.clock.now()
        trace_context = context.trace or _trace_context()
        envelopes = []
        documents = []  # each envelope as JSON, serialized once (its size, then the row)
        subjects = []
        causation_id = context.causation_id
        for offset, payload in enumerate(payloads, start=1):
            event_id = uuid.uuid4()
            sealed, personal_data = await self.privacy.seal(event_id, payload)
            # whose data (what an erasure finds): sealed fields are named by their reference,
            # and without any the sealed payload is the payload as it was
            subjects.append(
                personal_data.subject_id
                if personal_data is not None
                else type(payload).data_subject_of(sealed)
            )
            envelope = Envelope(
                event_id=event_id,
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
                personal_data=personal_data,
                payload=sealed,
            )
            document = Envelope.__pydantic_serializer__.to_json(envelope)
            size = len(document)
            if size > self.max_event_bytes:
                raise EventTooLarge(
                    f"a {payload.event_type} event of {size} bytes exceeds the limit of "
                    f"{self.max_event_bytes} bytes; nothing was written"
                )
            envelopes.append(envelope)
            documents.append(document.decode())
        topics = {REGISTRY.topic_of(envelope.event_type).name for envelope in envelopes}
        if len(topics) != 1:
            raise ValueError(f"one stream, one topic: {stream_id} would go to {sorted(topics)}")
        try:
            # one round trip: the events, their outbox rows, and a wake-up for the relay
            # (NOTIFY is delivered at commit, and not at all on rollback)
            await conn.execute(
                _append_with(tuple(write.ctes for write in alongside)),
                [e.event_id for e in envelopes],
                [e.stream_type for e in envelopes],
                [e.stream_id for e in envelopes],
                [e.stream_version for e in envelopes],
                [e.event_type for e in envelopes],
                [e.schema_version for e in envelopes],
                [e.occurred_at for e in envelopes],
                documents,
                topics.pop(),
                subjects,
                *(argument for write in alongside for argument in write.arguments),
            )
        except asyncpg.UniqueViolationError as error:
            if error.constraint_name == "events_stream_version_unique":
                raise ConcurrencyConflict(
                    f"{stream_id} was changed by another request; reload and try again"
                ) from None
            raise
        return envelopes


async def execute(
    conn: asyncpg.Connection,
    store: EventStore,
    aggregate: AggregateType[S],
    stream_id: str,
    decide: Callable[[S], Sequence[EventPayload]],
    context: CommandContext,
) -> tuple[S, list[Envelope]]:
    """Deprecated: use ``runtime.repository.Repository.execute``."""
    history = await store.load(conn, stream_id)
    state = aggregate.fold([event.payload for event in history])
    new_events = list(decide(state))
    envelopes = await store.append(conn, stream_id, len(history), new_events, context)
    for event in new_events:
        state = aggregate.evolve(state, event)
    return state, envelopes
