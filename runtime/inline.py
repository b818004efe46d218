"""Projections written by the command that appends their events (issue 13, item 5).

A read model normally follows its events through Kafka: the command commits, the relay
publishes, the group's consumer applies. For the read model a person waits on right after a
write — the case file, once a ticket has opened a case — that path is the slowest part of
the flow (two hops and a relay). A group marked ``inline`` (``ConsumerGroup(inline=True)``)
is also applied by the command itself: the repository (``runtime/repository.py``) hands what
it appended to ``InlineProjection.apply``, which runs the group's handlers on it in the
command's own transaction, so the read model changes when the events commit.

It does so only where that equals what the consumer would do:

- **in order**: the group must already have passed the stream's previous event
  (``stream_positions``, written in the same transactions as the group's effects); a
  stream the consumer is still behind on (an event committed before the group became inline,
  one it could not apply, one it has not reached yet) is left to the consumer;
- **not during a rebuild**: the group's lock, which a rebuild holds exclusively, is tried
  shared; if the rebuild has it, the consumer applies the events after the rebuild;
- **exactly once**: the events' inbox rows (``outcome = 'inline'``, no Kafka offset yet) and the
  stream's position go in the same statement, so the consumer, reaching the published
  records, finds them applied and changes nothing;
- **never at the command's expense**: the handlers run in a savepoint; one that fails (a row
  of another stream not projected yet, a bug) rolls back only its own writes, and the
  consumer applies the events as before, with its retries and dead letters.

The group keeps its consumer and is rebuilt from Kafka like any projection; the consumer is
what guarantees the read model, the inline application only makes it early.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import asyncpg

from contracts import Envelope, EventPayload
from contracts.registry import REGISTRY
from runtime.batched_writes import BatchedWrites, WritesFailed
from runtime.consumer import (
    INFRASTRUCTURE_ERRORS,
    ConsumerGroup,
    Outcome,
    ReceivedEvent,
    describe_error,
    group_lock_key,
    processed_counter,
)
from runtime.telemetry import log_fields

log = logging.getLogger("frontdesk.inline")

NOT_PUBLISHED = -1  # the Kafka partition and offset in the inbox of an event not yet published

_APPLY = f"""
WITH ready AS (
    SELECT ($4::bigint = 0 OR EXISTS (
               SELECT FROM stream_positions
               WHERE consumer_group = $2 AND stream_id = $3 AND version >= $4))
           AND pg_try_advisory_xact_lock_shared($1) AS ready),
inbox AS (
    INSERT INTO consumer_inbox
        (consumer_group, event_id, topic, kafka_partition, kafka_offset, outcome)
    SELECT $2, e.event_id, e.topic, {NOT_PUBLISHED}, {NOT_PUBLISHED}, 'inline'
    FROM ready, unnest($5::uuid[], $6::text[]) AS e(event_id, topic)
    WHERE ready.ready
    ON CONFLICT DO NOTHING),
passed AS (
    INSERT INTO stream_positions (consumer_group, stream_id, version)
    SELECT $2, $3, $7 FROM ready WHERE ready.ready
    ON CONFLICT (consumer_group, stream_id) DO UPDATE
    SET version = GREATEST(stream_positions.version, EXCLUDED.version), passed_at = now())
SELECT ready FROM ready"""


class InlineProjection:
    """One inline group's application to what a command appended (see the module's text).
    ``topic_name``: the physical name of a registry topic in this environment (as the
    consumer's inbox rows name it)."""

    def __init__(self, group: ConsumerGroup, topic_name: Callable[[str], str]) -> None:
        if not group.rebuildable:
            raise ValueError(f"{group.name} is a reaction: only a projection is applied inline")
        self.group = group
        self.lock_key = group_lock_key(group.name)
        self._topics = {topic.name: topic_name(topic.name) for topic in group.topics}
        self._handlers = group.by_event_type

    async def apply(
        self,
        conn: asyncpg.Connection,
        envelopes: Sequence[Envelope],
        events: Sequence[EventPayload],
        previous_version: int,
    ) -> bool:
        """Inside the command's transaction, after its append of ``events`` (as ``envelopes``)
        to one stream whose version was ``previous_version``: apply them, or leave them to the
        consumer. True when they were applied here."""
        passed = [
            (envelope, event)
            for envelope, event in zip(envelopes, events, strict=True)
            if REGISTRY.topic_of(envelope.event_type).name in self._topics
        ]
        if not passed:
            return False
        handled = [
            (envelope, event, handler)
            for envelope, event in passed
            if (handler := self._handlers.get(envelope.event_type)) is not None
        ]
        last = passed[-1][0]
        try:
            async with conn.transaction():  # a savepoint: a failure here is not the command's
                ready = await conn.fetchval(
                    _APPLY,
                    self.lock_key,
                    self.group.name,
                    last.stream_id,
                    previous_version,
                    [envelope.event_id for envelope, _, _ in handled],
                    [self._physical(envelope) for envelope, _, _ in handled],
                    last.stream_version,
                )
                if not ready:
                    return False
                writes = BatchedWrites(conn, INFRASTRUCTURE_ERRORS)
                for position, (envelope, event, handler) in enumerate(handled):
                    writes.position = position
                    received = ReceivedEvent(
                        envelope, event, self._physical(envelope), NOT_PUBLISHED, NOT_PUBLISHED
                    )
                    await handler(writes.connection, received)
                await writes.flush()
        except INFRASTRUCTURE_ERRORS:
            raise
        except Exception as error:
            failure = error.error if isinstance(error, WritesFailed) else error
            log.warning(
                "left to the consumer",
                extra=log_fields(
                    group=self.group.name,
                    event_type=handled[0][0].event_type if handled else last.event_type,
                    error=describe_error(failure),
                ),
            )
            return False
        if handled:
            processed_counter.add(
                len(handled), {"group": self.group.name, "outcome": Outcome.APPLIED}
            )
        return True

    def _physical(self, envelope: Envelope) -> str:
        return self._topics[REGISTRY.topic_of(envelope.event_type).name]
