"""The outbox relay: publishes committed events to Kafka, in commit order per aggregate.

One relay leads per service database (a PostgreSQL advisory lock), so replicas never publish
the same rows concurrently. It reads the outbox rows that are still there (not "after the last
position seen"), so a transaction that took a lower position but committed later is published
on the next pass instead of being skipped. Rows are deleted only after Kafka acknowledged them;
a crash in between republishes them, and consumers de-duplicate on the event id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg
from opentelemetry import context as otel_context
from opentelemetry import metrics
from opentelemetry.instrumentation.utils import suppress_instrumentation

from runtime.eventstore import OUTBOX_CHANNEL
from runtime.telemetry import context_from_carrier, log_fields

log = logging.getLogger(__name__)
meter = metrics.get_meter("frontdesk.relay")
published_counter = meter.create_counter(
    "frontdesk.outbox.published", description="Events the relay published to Kafka"
)
failure_counter = meter.create_counter(
    "frontdesk.outbox.publish_failures", description="Relay passes that failed to publish"
)


@dataclass(frozen=True)
class OutboundRecord:
    position: int
    topic: str
    key: bytes
    value: bytes
    headers: dict[str, str]
    trace_carrier: dict[str, str]


Publish = Callable[[OutboundRecord], Awaitable[Awaitable[object]]]
"""Send one record; returns an awaitable that resolves when Kafka acknowledged it."""


def _relay_lock_key(service: str) -> int:
    return 7_300_000 + sum(service.encode())


class OutboxRelay:
    def __init__(
        self,
        pool: asyncpg.Pool,
        publish: Publish,
        *,
        service: str,
        batch_size: int = 200,
        poll_interval: float = 0.5,
        max_backoff: float = 5.0,
        topic_name: Callable[[str], str] = lambda name: name,
    ) -> None:
        self.topic_name = topic_name
        self.pool = pool
        self.publish = publish
        self.service = service
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.max_backoff = max_backoff
        self._wake = asyncio.Event()
        self.is_leader = False

    async def publish_pending(self) -> int:
        """One pass: publish what is in the outbox, oldest first; returns how many went out."""
        total = 0
        while True:
            with suppress_instrumentation():  # polling is not a flow worth a trace
                rows = await self.pool.fetch(
                    """SELECT o.position, o.topic, e.stream_id, e.event_id, e.event_type,
                              e.envelope
                       FROM outbox o JOIN events e USING (position)
                       ORDER BY o.position LIMIT $1""",
                    self.batch_size,
                )
            if not rows:
                return total
            records = [_record(row, self.topic_name) for row in rows]
            sent, failure = await self._send_in_order(records)
            with suppress_instrumentation():
                if sent:
                    await self.pool.execute(
                        "DELETE FROM outbox WHERE position = ANY($1::bigint[])",
                        [record.position for record in sent],
                    )
                if failure is not None:
                    # operators see which event is stuck, how often it failed, and why
                    await self.pool.execute(
                        "UPDATE outbox SET attempts = attempts + 1, last_error = $2 "
                        "WHERE position = $1",
                        records[len(sent)].position,
                        failure[:1000],
                    )
            if sent:
                published_counter.add(len(sent), {"service": self.service})
                total += len(sent)
            if failure is not None:
                raise RelayError(f"publishing position {records[len(sent)].position}: {failure}")

    async def _send_in_order(
        self, records: list[OutboundRecord]
    ) -> tuple[list[OutboundRecord], str | None]:
        """Send a batch; return the longest prefix Kafka acknowledged, and why it stopped."""
        acknowledgements = []
        failure: str | None = None
        for record in records:
            token = otel_context.attach(context_from_carrier(record.trace_carrier))
            try:
                acknowledgements.append(await self.publish(record))
            except Exception as error:
                failure = f"send: {type(error).__name__}: {error}"
                break
            finally:
                otel_context.detach(token)
        sent = []
        for record, acknowledgement in zip(records, acknowledgements, strict=False):
            try:
                await acknowledgement
            except Exception as error:
                failure = f"acknowledgement: {type(error).__name__}: {error}"
                break
            sent.append(record)
        if failure is not None:
            log.warning("relay publication failed", extra=log_fields(error=failure))
        return sent, failure

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Lead when the advisory lock is free; publish on NOTIFY or every poll interval."""
        while not stop.is_set():
            try:
                await self._lead(stop)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                log.warning("relay lost its database", extra=log_fields(error=repr(error)))
                await _sleep_or_stop(stop, 1.0)

    async def _lead(self, stop: asyncio.Event) -> None:
        async with self.pool.acquire() as conn:
            lock_key = _relay_lock_key(self.service)
            while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", lock_key):
                if await _sleep_or_stop(stop, 2.0):
                    return
            self.is_leader = True
            listener = self._on_notify
            await conn.add_listener(OUTBOX_CHANNEL, listener)
            log.info("outbox relay leading", extra=log_fields(service=self.service))
            backoff = self.poll_interval
            try:
                while not stop.is_set():
                    self._wake.clear()
                    try:
                        await self.publish_pending()
                        backoff = self.poll_interval
                    except RelayError as error:
                        failure_counter.add(1, {"service": self.service})
                        log.warning("outbox relay retrying", extra=log_fields(error=str(error)))
                        backoff = min(max(backoff * 2, 0.2), self.max_backoff)
                        await _sleep_or_stop(stop, backoff)
                        continue
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)
            finally:
                self.is_leader = False
                with contextlib.suppress(Exception):
                    await conn.remove_listener(OUTBOX_CHANNEL, listener)
                with contextlib.suppress(Exception):
                    await conn.execute("SELECT pg_advisory_unlock($1)", lock_key)


class RelayError(RuntimeError):
    pass


def _record(row: asyncpg.Record, topic_name: Callable[[str], str]) -> OutboundRecord:
    envelope = row["envelope"]
    trace = envelope.get("trace") or {}
    carrier = {k: v for k, v in trace.items() if k in ("traceparent", "tracestate") and v}
    return OutboundRecord(
        position=row["position"],
        topic=topic_name(row["topic"]),
        key=row["stream_id"].encode(),
        value=json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode(),
        headers={
            "event_id": str(row["event_id"]),
            "event_type": row["event_type"],
            "content-type": "application/json",
        },
        trace_carrier=carrier,
    )


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    return stop.is_set()
