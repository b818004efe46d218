"""The outbox relay: publishes committed events to Kafka exactly once, in commit order per
aggregate.

One relay leads per service database (a PostgreSQL advisory lock), so replicas never publish
the same rows concurrently. It reads the outbox rows that are still there (not "after the last
position seen"), so a transaction that took a lower position but committed later is published
on the next pass instead of being skipped (PITFALLS 13).

Exactly once on Kafka, across a crash and a leader change: every batch is one Kafka
transaction under the service's stable transactional id (``Publisher``). Every record of a
batch is handed to the producer in position order (each with its own key and trace headers;
same key, same partition, so per-aggregate order holds), the acknowledgements are awaited,
the transaction commits, then the batch's rows are deleted (the DELETE runs while the batch is
sent, in a PostgreSQL transaction that commits only after the Kafka commit). Two things make
the gap between the Kafka commit and the PostgreSQL one harmless:

- taking over fences: a relay that starts publishing (a new leader, a restarted process, or
  this one after a failure) first registers the transactional id, which aborts the previous
  holder's open transaction and makes its every later send or commit fail
  (``RelayFenced``): a leader that lost its lock without knowing it cannot publish any more;
- then, before publishing, it reads the committed tail of the target partitions since the
  oldest pending row was recorded and deletes the rows whose event ids are already there
  (each record carries its event id in the ``event_id`` header; each record's Kafka timestamp
  is the database's clock when the relay read its row, so no record of a pending row is older
  than that row's ``recorded_at``).

Consumers read with ``isolation_level="read_committed"``: an aborted batch is never seen.

A record Kafka refuses for good (too large, invalid: ``RecordRefused``) cannot stop the relay:
it is set aside into ``parked_outbox`` (a metric and an error log line, never the payload) and
the rest keeps flowing. Operators list, retry or drop parked records with
``frontdesk parked list|retry|drop SERVICE [POSITION]``. Transient failures (Kafka down) keep
the rows and retry with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple, Protocol

import asyncpg
from asyncpg.transaction import Transaction
from opentelemetry import metrics
from opentelemetry.instrumentation.utils import suppress_instrumentation

from runtime.db import keeps_session_state
from runtime.eventstore import OUTBOX_CHANNEL
from runtime.telemetry import log_fields

log = logging.getLogger(__name__)
meter = metrics.get_meter("frontdesk.relay")
published_counter = meter.create_counter(
    "frontdesk.outbox.published", description="Events the relay published to Kafka"
)
failure_counter = meter.create_counter(
    "frontdesk.outbox.publish_failures", description="Relay passes that failed to publish"
)
parked_counter = meter.create_counter(
    "frontdesk.outbox.parked", description="Outbox records Kafka refused for good, set aside"
)
skipped_counter = meter.create_counter(
    "frontdesk.outbox.already_published",
    description="Outbox rows a new leader found already on Kafka and did not publish again",
)
# a record's timestamp is the database's clock when its row was read, never before the row's
# recorded_at; the take-over reads this much further back in case that clock stepped back
CLOCK_STEP_MARGIN = timedelta(seconds=5)
YIELD_EVERY = 50  # records handed to the producer between two turns of the event loop


class RecordRefused(Exception):
    """Kafka refuses this record for good (too large, invalid): retrying cannot help."""


class SendAgain(Exception):
    """Kafka did not take this record, for no fault known to be its own: the batch it was in
    was refused whole (it then goes again alone in its batch, so that exactly the refused
    record is parked), or Kafka refused a batch before it in its partition. It goes again in
    the next transaction."""


class RelayError(RuntimeError):
    pass


class RelayFenced(RelayError):
    """Another relay registered this service's transactional id since: it leads now, and
    nothing this one sends or commits reaches the topics."""


class OutboundRecord(NamedTuple):  # a tuple: a thousand of them a batch, built cheaply
    position: int
    topic: str
    key: bytes
    value: bytes
    headers: dict[str, str]
    trace_carrier: dict[str, str]
    timestamp_ms: int


class Publisher(Protocol):
    """The relay's side of Kafka: transactions under one stable transactional id per service
    (runtime.kafka.TransactionalPublisher)."""

    async def start(self) -> None:
        """Connect (a new producer each time) and register the transactional id: the previous
        holder's open transaction is aborted and it is fenced."""

    async def stop(self) -> None: ...

    async def begin(self) -> None: ...

    async def send(self, record: OutboundRecord) -> Awaitable[object]:
        """Hand one record to the producer (raises RecordRefused when Kafka refuses it for
        good); returns what ``acknowledged`` waits for."""

    async def acknowledged(self, sent: Sequence[Awaitable[object]]) -> list[Exception | None]:
        """Wait until Kafka answered for every record ``sent``: per record, None when it was
        acknowledged, RecordRefused when Kafka refuses it for good, SendAgain when it did not
        take it for another reason than the record itself, or the error."""

    async def commit(self) -> None:
        """Commit the transaction (raises RelayFenced when another relay took over)."""

    async def abort(self) -> None: ...

    async def published_event_ids(self, topics: Collection[str], since: datetime) -> set[str]:
        """The event ids of the committed records of ``topics`` timestamped ``since`` or later,
        up to the topics' current ends."""


def _relay_lock_key(service: str) -> int:
    return 7_300_000 + sum(service.encode())


class OutboxRelay:
    def __init__(
        self,
        pool: asyncpg.Pool,
        publisher: Publisher,
        *,
        service: str,
        batch_size: int = 1000,
        batch_bytes: int = 4 * 1024 * 1024,
        poll_interval: float = 0.5,
        max_backoff: float = 5.0,
        topic_name: Callable[[str], str] = lambda name: name,
    ) -> None:
        self.topic_name = topic_name
        self.pool = pool
        self.publisher = publisher
        self.service = service
        self.batch_size = batch_size
        self.batch_bytes = batch_bytes
        self.poll_interval = poll_interval
        self.max_backoff = max_backoff
        self._wake = asyncio.Event()
        self.is_leader = False
        self.taken_over = False  # fenced every earlier relay and skipped what they published
        self.waiting = False  # leading, between passes, for a NOTIFY or the poll interval

    async def publish_pending(self) -> int:
        """One pass: publish what is in the outbox, oldest first, a batch (one Kafka
        transaction) at a time; returns how many went out. Takes over first when it has not
        yet, or failed since. Refused records are parked; a transient failure raises
        RelayError after the rows of the batch's committed records are deleted.

        The pass is a pipeline: while a batch is sent, acknowledged and committed, the next
        batch is read and this batch's rows are deleted in a PostgreSQL transaction that
        commits once Kafka committed (and is rolled back otherwise); that commit runs while
        the next batch is handed over, which commits on Kafka only after it, so at most one
        committed batch is ever undeleted (unless PostgreSQL itself crashes: that commit does
        not wait for the WAL flush, and the take-over after it skips the rows whose deletes
        it lost). Within a pass the reads go forward from the last
        batch read (after a batch a refusal aborted, from the oldest row again: its rows not
        parked go before what follows them); the pass ends at the first batch that is not
        full, and every pass starts again from the oldest row still there (a transaction that
        took a lower position but committed later goes out in the next pass, which its NOTIFY
        starts)."""
        if not self.taken_over:
            await self.take_over()
        total = 0
        reading: asyncio.Task[list[asyncpg.Record]] | None = None
        settling: asyncio.Task[int] | None = None  # the batch before: its delete commits
        try:
            rows = await self._read(after=0)
            while rows:
                if self._full(rows):
                    reading = asyncio.create_task(self._read(after=rows[-1]["position"]))
                outcome = await self._send_batch(rows, settling)
                if settling is not None:  # done already if this batch committed
                    total += await settling
                    settling = None
                if outcome.deletion is not None:  # went out whole: settled meanwhile
                    settling = asyncio.create_task(self._settled(outcome))
                    rows, reading = (await reading if reading is not None else []), None
                    continue
                total += await self._settled(outcome)
                if outcome.failure is not None:
                    self.taken_over = False  # the commit's fate may be unknown: look first
                    if outcome.fenced:
                        raise RelayFenced(outcome.failure)
                    raise RelayError(f"publishing position {outcome.failed[0]}: {outcome.failure}")
                if outcome.left:
                    # rows of this batch stay (a refusal aborted it): they go before the later
                    # rows of their keys, so the pass reads from the oldest row again
                    await _dropped(reading)
                    reading = asyncio.create_task(self._read(after=0))
                rows, reading = (await reading if reading is not None else []), None
            if settling is not None:
                total += await settling
                settling = None
            return total
        finally:
            await _dropped(reading)  # read ahead for a batch that will not be sent now
            if settling is not None:  # failing on the way: the batch before still settles
                await asyncio.wait([settling])
                if not settling.cancelled():
                    settling.exception()  # retrieved: what is raised already counts more

    async def _settled(self, outcome: _Outcome) -> int:
        try:
            with suppress_instrumentation():
                return await self._settle_counted(outcome)
        finally:
            if outcome.deletion is not None:  # the settlement never reached it
                await outcome.deletion.roll_back()

    async def _read(self, after: int) -> list[asyncpg.Record]:
        """The next batch of outbox rows after position ``after``: at most ``batch_size``
        rows and, past its first row, about ``batch_bytes`` of envelopes (as stored: a large
        compressed one counts less); with what a record needs (the envelope as PostgreSQL
        writes jsonb out, its stored trace context as text)."""
        with suppress_instrumentation():  # polling is not a flow worth a trace
            rows: list[asyncpg.Record] = await self.pool.fetch(
                """SELECT position, topic, attempts, stream_id, event_id::text AS event_id,
                          event_type, convert_to(envelope::text, 'UTF8') AS value,
                          envelope #>> '{trace,traceparent}' AS traceparent,
                          envelope #>> '{trace,tracestate}' AS tracestate,
                          (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS read_ms,
                          upto
                   FROM (SELECT o.position, o.topic, o.attempts, e.stream_id, e.event_id,
                                e.event_type, e.envelope, pg_column_size(e.envelope) AS size,
                                sum(pg_column_size(e.envelope)) OVER (ORDER BY o.position)
                                    AS upto
                         FROM outbox o JOIN events e USING (position)
                         WHERE o.position > $2
                         ORDER BY o.position LIMIT $1) batch
                   WHERE upto - size < $3
                   ORDER BY position""",
                self.batch_size,
                after,
                self.batch_bytes,
            )
        return rows

    def _full(self, rows: list[asyncpg.Record]) -> bool:
        """Whether this batch stopped at a bound (more rows may follow it right away)."""
        return len(rows) == self.batch_size or rows[-1]["upto"] >= self.batch_bytes

    async def _settle_counted(self, outcome: _Outcome) -> int:
        await self._settle(outcome)
        if outcome.sent:
            published_counter.add(len(outcome.sent), {"service": self.service})
        return len(outcome.sent)

    async def take_over(self) -> None:
        """Fence every earlier relay of this service (a fresh producer registers the
        transactional id), then delete the outbox rows whose events are already on Kafka:
        published by a relay that died, or failed, between its commit and its delete."""
        with contextlib.suppress(Exception):
            await self.publisher.stop()  # a failed or fenced producer is not reused
        try:
            await self.publisher.start()
        except Exception as error:
            raise RelayError(f"taking over: {type(error).__name__}: {error}") from error
        with suppress_instrumentation():
            pending = await self.pool.fetch(
                """SELECT o.topic, min(e.recorded_at) AS oldest
                   FROM outbox o JOIN events e USING (position) GROUP BY o.topic"""
            )
        if pending:
            since = min(row["oldest"] for row in pending) - CLOCK_STEP_MARGIN
            topics = {self.topic_name(row["topic"]) for row in pending}
            try:
                on_kafka = await self.publisher.published_event_ids(topics, since)
            except Exception as error:
                raise RelayError(f"reading {sorted(topics)}: {error!r}") from error
            skipped = await self.pool.fetchval(
                """WITH done AS (
                       DELETE FROM outbox o USING events e
                       WHERE o.position = e.position AND e.event_id = ANY($1::uuid[])
                       RETURNING 1)
                   SELECT count(*) FROM done""",
                list(on_kafka),
            )
            if skipped:
                skipped_counter.add(skipped, {"service": self.service})
                log.warning(
                    "outbox rows already on Kafka not published again",
                    extra=log_fields(service=self.service, rows=skipped),
                )
        self.taken_over = True

    async def _send_batch(
        self, rows: list[asyncpg.Record], before: Awaitable[int] | None = None
    ) -> _Outcome:
        """One transaction: hand every record to the producer in order (the batch's rows are
        deleted meanwhile, uncommitted), await every acknowledgement and the settlement of
        the batch ``before`` (its raising aborts this one and is raised), commit. When anything
        but a refusal at send fails, nothing of the batch is visible (aborted) or its fate is
        unknown (the commit failed): then nothing counts as sent, the delete is rolled back,
        and the next take-over sorts out what Kafka has."""
        outcome = _Outcome()
        try:
            await self.publisher.begin()
        except Exception as error:
            outcome.fail(rows[0]["position"], f"begin: {type(error).__name__}: {error}", error)
            return outcome
        with suppress_instrumentation():
            deletion = _Deletion(self.pool, [row["position"] for row in rows])
        try:
            await self._hand_over(rows, outcome, before)
        finally:
            if outcome.complete(len(rows)):
                outcome.deletion = deletion
            else:
                await deletion.roll_back()
        if outcome.failure is not None:
            log.warning("relay publication failed", extra=log_fields(error=outcome.failure))
        return outcome

    async def _hand_over(
        self, rows: list[asyncpg.Record], outcome: _Outcome, before: Awaitable[int] | None
    ) -> None:
        """Send, await the acknowledgements, commit (or abort); the outcome says what."""
        pending: list[tuple[OutboundRecord, Awaitable[object]]] = []
        topics: dict[str, str] = {}
        for count, row in enumerate(rows):
            if count % YIELD_EVERY == 0:
                # handing a record over does not suspend: let the producer's sender, the read
                # ahead and the delete start their round trips meanwhile
                await asyncio.sleep(0)
            try:
                record = _record(row, topics, self.topic_name)
            except (TypeError, ValueError, AttributeError, KeyError) as error:  # malformed row
                outcome.park(row["position"], row, f"serialize: {error}")
                continue
            try:
                pending.append((record, await self.publisher.send(record)))
            except RecordRefused as error:
                outcome.park(record.position, row, f"send: {error}")
            except Exception as error:
                # transient (Kafka away): send nothing after it, so the order per key holds
                outcome.fail(record.position, f"send: {type(error).__name__}: {error}", error)
                break
        acknowledged = []
        answers = await self.publisher.acknowledged([ack for _, ack in pending])
        for (record, _), answer in zip(pending, answers, strict=True):
            if answer is None:
                acknowledged.append(record.position)
            elif isinstance(answer, RecordRefused):
                [row] = [row for row in rows if row["position"] == record.position]
                outcome.park(record.position, row, f"ack: {answer}")
            elif isinstance(answer, SendAgain):
                outcome.left = True  # neither parked nor failed: it goes again
            else:
                outcome.fail(record.position, f"ack: {type(answer).__name__}: {answer}", answer)
        if len(acknowledged) < len(pending):
            # a refusal or a failure at acknowledgement: the transaction cannot commit; the
            # rows not parked stay and go out again in the next transaction
            outcome.left = True
            with contextlib.suppress(Exception):
                await self.publisher.abort()
        else:
            if before is not None:
                try:
                    await before  # the batch before is deleted before this one commits
                except BaseException:
                    with contextlib.suppress(Exception):
                        await self.publisher.abort()
                    raise
            try:
                await self.publisher.commit()
            except Exception as error:
                position = acknowledged[0] if acknowledged else rows[0]["position"]
                outcome.fail(position, f"commit: {type(error).__name__}: {error}", error)
            else:
                outcome.sent = acknowledged

    async def _settle(self, outcome: _Outcome) -> None:
        """Delete what Kafka has; move what it refused to parked_outbox; count a failure.
        A batch that went out whole commits the delete that ran while it was sent."""
        deletion, outcome.deletion = outcome.deletion, None
        if deletion is not None:
            await deletion.commit(outcome.parked)
            self._parked(outcome)
            return
        async with self.pool.acquire() as conn, conn.transaction():
            await _park(conn, outcome.parked)
            done = outcome.sent + [position for position, _, _ in outcome.parked]
            if done:
                await conn.execute("DELETE FROM outbox WHERE position = ANY($1::bigint[])", done)
            if outcome.failure is not None:
                # operators see which event is stuck, how often it failed, and why
                await conn.execute(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = $2 "
                    "WHERE position = $1",
                    outcome.failed[0],
                    outcome.failure[:1000],
                )
        self._parked(outcome)

    def _parked(self, outcome: _Outcome) -> None:
        for position, row, reason in outcome.parked:
            parked_counter.add(1, {"service": self.service, "event_type": row["event_type"]})
            log.error(
                "outbox record parked: Kafka refuses it for good",
                extra=log_fields(
                    service=self.service,
                    position=position,
                    event_id=str(row["event_id"]),
                    event_type=row["event_type"],
                    topic=row["topic"],
                    reason=reason[:300],
                ),
            )

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

    async def _wait_for_work(self, stop: asyncio.Event) -> None:
        """Until a NOTIFY, the poll interval or the stop, whichever comes first."""
        waits = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
        self.waiting = True
        try:
            await asyncio.wait(waits, timeout=self.poll_interval, return_when="FIRST_COMPLETED")
        finally:
            self.waiting = False
            for wait in waits:
                wait.cancel()

    async def _lead(self, stop: asyncio.Event) -> None:
        async with self.pool.acquire() as conn:
            keeps_session_state(conn)  # the leadership's lock and LISTEN
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
                    except RelayFenced as error:
                        # another replica leads (this one lost its lock without noticing)
                        log.warning("outbox relay fenced", extra=log_fields(error=str(error)))
                        await _sleep_or_stop(stop, 1.0)
                        return
                    except RelayError as error:
                        failure_counter.add(1, {"service": self.service})
                        log.warning("outbox relay retrying", extra=log_fields(error=str(error)))
                        backoff = min(max(backoff * 2, 0.2), self.max_backoff)
                        await _sleep_or_stop(stop, backoff)
                        continue
                    await self._wait_for_work(stop)
            finally:
                self.is_leader = False
                self.taken_over = False
                with contextlib.suppress(Exception):
                    await self.publisher.stop()
                with contextlib.suppress(Exception):
                    await conn.remove_listener(OUTBOX_CHANNEL, listener)
                with contextlib.suppress(Exception):
                    await conn.execute("SELECT pg_advisory_unlock($1)", lock_key)


@dataclass
class _Outcome:
    sent: list[int] = field(default_factory=list)
    parked: list[tuple[int, asyncpg.Record, str]] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    failure: str | None = None
    fenced: bool = False
    left: bool = False  # rows neither sent nor parked nor failed: sent again right away
    deletion: _Deletion | None = None  # the batch's rows, deleted but not yet committed

    def complete(self, rows: int) -> bool:
        """Every row of the batch went out (committed) or was parked, nothing failed."""
        return self.failure is None and len(self.sent) + len(self.parked) == rows

    def park(self, position: int, row: asyncpg.Record, reason: str) -> None:
        self.parked.append((position, row, reason))

    def fail(self, position: int, reason: str, error: BaseException) -> None:
        self.failed.append(position)
        self.failure = self.failure or reason
        self.fenced = self.fenced or isinstance(error, RelayFenced)


class _Deletion:
    """A batch's DELETE, run in a PostgreSQL transaction of its own while the batch is sent:
    committed (with the batch's parked rows) once Kafka committed, rolled back otherwise. So
    only the commit follows the Kafka commit, not the statement."""

    def __init__(self, pool: asyncpg.Pool, positions: list[int]) -> None:
        self._pool = pool
        self._conn: asyncpg.Connection | None = None  # to release, whatever happened
        self._transaction: Transaction | None = None  # to roll back, unless committed
        self._deleted = asyncio.create_task(self._delete(positions))

    async def _delete(self, positions: list[int]) -> tuple[asyncpg.Connection, Transaction]:
        conn = self._conn = await self._pool.acquire()
        transaction = self._transaction = conn.transaction()
        await transaction.start()
        # its commit waits for no WAL flush: a delete that PostgreSQL loses in a crash of its
        # own brings rows back whose records Kafka has, and the take-over that follows any
        # lost connection deletes them without publishing them again
        await conn.execute("SET LOCAL synchronous_commit TO off")
        await conn.execute("DELETE FROM outbox WHERE position = ANY($1::bigint[])", positions)
        return conn, transaction

    async def commit(self, parked: list[tuple[int, asyncpg.Record, str]]) -> None:
        """Raises what the delete raised; the rows then stay (the take-over skips them)."""
        try:
            conn, transaction = await self._deleted
            await _park(conn, parked)
            await transaction.commit()
            self._transaction = None
        finally:
            await self._release()

    async def roll_back(self) -> None:
        await asyncio.wait([self._deleted])
        if not self._deleted.cancelled():
            self._deleted.exception()  # retrieved: the batch's own outcome is what counts
        await self._release()

    async def _release(self) -> None:
        conn, self._conn = self._conn, None
        transaction, self._transaction = self._transaction, None
        if conn is None:
            return
        try:
            if transaction is not None:
                with contextlib.suppress(Exception):  # the pool's reset rolls back anyway
                    await transaction.rollback()
        finally:
            await self._pool.release(conn)


async def _park(conn: asyncpg.Connection, parked: list[tuple[int, asyncpg.Record, str]]) -> None:
    for position, row, reason in parked:
        await conn.execute(
            """INSERT INTO parked_outbox (position, topic, event_id, event_type,
                                          stream_id, reason, attempts)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (position) DO UPDATE
               SET reason = EXCLUDED.reason, attempts = EXCLUDED.attempts,
                   parked_at = now()""",
            position,
            row["topic"],
            row["event_id"],
            row["event_type"],
            row["stream_id"],
            reason[:1000],
            row["attempts"] + 1,
        )


# -- operators: parked records (frontdesk parked list|retry|drop SERVICE [POSITION]) ---------


async def parked_records(pool: asyncpg.Pool) -> list[dict[str, object]]:
    rows = await pool.fetch(
        """SELECT p.position, p.topic, p.event_id, p.event_type, p.stream_id, p.reason,
                  p.attempts, p.parked_at, octet_length(e.envelope::text) AS bytes
           FROM parked_outbox p JOIN events e USING (position) ORDER BY p.position"""
    )
    return [
        {
            **dict(row),
            "event_id": str(row["event_id"]),
            "parked_at": row["parked_at"].isoformat(),
        }
        for row in rows
    ]


async def retry_parked(pool: asyncpg.Pool, position: int | None = None) -> int:
    """Put parked records (one, or all) back into the outbox; returns how many. The relay
    publishes them on its next pass (parking them again if Kafka still refuses)."""
    async with pool.acquire() as conn, conn.transaction():
        moved = await conn.fetch(
            """DELETE FROM parked_outbox WHERE $1::bigint IS NULL OR position = $1
               RETURNING position, topic, attempts""",
            position,
        )
        await conn.executemany(
            """INSERT INTO outbox (position, topic, attempts) VALUES ($1, $2, $3)
               ON CONFLICT DO NOTHING""",
            [(row["position"], row["topic"], row["attempts"]) for row in moved],
        )
        if moved:
            await conn.execute(f"SELECT pg_notify('{OUTBOX_CHANNEL}', '')")
    return len(moved)


async def drop_parked(pool: asyncpg.Pool, position: int) -> bool:
    """Give up publishing one parked record (the event stays in the store)."""
    dropped = await pool.fetchval(
        "DELETE FROM parked_outbox WHERE position = $1 RETURNING position", position
    )
    return dropped is not None


def _record(
    row: asyncpg.Record, topics: dict[str, str], topic_name: Callable[[str], str]
) -> OutboundRecord:
    topic = topics.get(row["topic"])
    if topic is None:
        topic = topics[row["topic"]] = topic_name(row["topic"])
    carrier = {"traceparent": row["traceparent"]} if row["traceparent"] else {}
    if carrier and row["tracestate"]:
        carrier["tracestate"] = row["tracestate"]
    return OutboundRecord(
        position=row["position"],
        topic=topic,
        key=row["stream_id"].encode(),
        value=row["value"],  # the envelope as PostgreSQL writes jsonb out, UTF-8
        headers={
            "event_id": row["event_id"],
            "event_type": row["event_type"],
            "content-type": "application/json",
        },
        trace_carrier=carrier,
        timestamp_ms=row["read_ms"],
    )


async def _dropped(reading: asyncio.Task[list[asyncpg.Record]] | None) -> None:
    if reading is not None:
        reading.cancel()
        await asyncio.wait([reading])
        if not reading.cancelled():
            reading.exception()  # retrieved: raised already, or not worth raising


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    return stop.is_set()
