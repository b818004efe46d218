"""The one consumer runner of every service.

(Over 600 lines on purpose: batches, retries, dead letters and rebuild share one transaction
discipline, kept in one place.)

For each batch of Kafka records (what one poll returns): decode the envelopes, skip what this
group does not handle, then in ONE PostgreSQL transaction record the event ids in the group's
inbox (one statement) and apply each effect in order (a projection update, or the events a
reaction appends). A redelivered or republished event finds its id in the inbox and changes
nothing; the offsets commit after the transaction. A record that cannot be decoded, or whose handler
still fails after a bounded number of tries, goes to the group's dead-letter topic with the
error and the original bytes, and the group moves on. Infrastructure failures (the database is
gone) are retried without limit: they say nothing about the message.

The same code path replays a group's topics from the beginning to rebuild its read models.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import itertools
import logging
import math
import time
from collections import ChainMap, OrderedDict
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Hashable,
    Iterator,
    Mapping,
    MutableMapping,
    Sequence,
)
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, NamedTuple, Protocol, TypeVar, cast
from uuid import UUID

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from faststream.kafka import KafkaBroker
from faststream.kafka.subscriber.usecase import BatchSubscriber
from faststream.message import StreamMessage
from faststream.middlewares import AckPolicy
from opentelemetry import context as otel_context
from opentelemetry import metrics, propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind
from pydantic import ValidationError

from contracts import Envelope, EventPayload, TopicSpec, UnknownEventType, dead_letter_topic
from contracts.fields import STORED
from contracts.registry import REGISTRY
from runtime import positions
from runtime.batched_writes import BatchedWrites, WritesFailed
from runtime.db import keeps_session_state
from runtime.kafka import read_to_end
from runtime.privacy import Privacy, withheld
from runtime.telemetry import correlation_id_var, log_fields

log = logging.getLogger(__name__)
meter = metrics.get_meter("frontdesk.consumer")
tracer = trace.get_tracer("frontdesk.consumer")
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

PRUNE_POSITIONS_EVERY = 300.0  # seconds between removals of stream positions over an hour old


@dataclass(frozen=True)
class ReceivedEvent(Generic[P]):
    """A decoded event as a handler sees it: ``payload`` is the handler's payload class."""

    envelope: Envelope
    payload: P
    topic: str
    partition: int
    offset: int


EventHandler = Callable[[asyncpg.Connection, "ReceivedEvent[Any]"], Awaitable[None]]
RunWork = Callable[[asyncpg.Connection], Awaitable[None]]


@dataclass
class _Asked:
    """Work handlers asked for once per run under one key: the latest ask's ``work``, run in
    the context (trace, correlation id) of the record that asked last, which it is blamed on."""

    work: RunWork
    position: int
    context: Context
    correlation_id: str | None
    envelopes: list[Envelope]  # every record that asked: what the work writes, they caused


@dataclass
class _RunWork:
    """The work asked for during one run's handlers (``once_per_run``), by key."""

    asked: dict[Hashable, _Asked] = field(default_factory=dict)
    position: int = 0  # the record being handled: its place in the run
    envelope: Envelope | None = None


_run_work: ContextVar[_RunWork | None] = ContextVar("run_work", default=None)


async def once_per_run(conn: asyncpg.Connection, key: Hashable, work: RunWork) -> None:
    """For a handler whose effect depends only on the state its records leave (re-estimating a
    queue that moved): run ``work`` once per ``key`` per run of records (the records one
    transaction handles), after the run's handlers, in its transaction — the latest ask's
    ``work``, in the trace and correlation of the record that asked last (a failure is that
    record's); what it writes counts as caused by every record that asked. Called outside a
    consumer's run (a handler called directly), it runs ``work`` at once."""
    run = _run_work.get()
    if run is None or run.envelope is None:
        await work(conn)
        return
    earlier = run.asked.pop(key, None)  # asked again: it moves to the end of the run
    envelopes = [*(earlier.envelopes if earlier else ()), run.envelope]
    run.asked[key] = _Asked(
        work, run.position, otel_context.get_current(), correlation_id_var.get(), envelopes
    )


@dataclass(frozen=True)
class ConsumerGroup:
    """A consumer group: ``<service>.<purpose>``, its topics, and a handler per payload class
    (``{TicketIssued: on_ticket_issued}``); the event-type strings come from the registry.

    A group that owns read-model tables (``read_models``) is a projection: it can be rebuilt by
    truncating them and replaying its topics. A group without is a reaction (it appends events
    of its own) and is never replayed.

    ``inline``: a projection that the commands appending its events also apply, in their own
    transaction, where the group is caught up on the stream (runtime/inline.py); its consumer
    applies the rest and finds the others done.
    """

    name: str
    topics: Sequence[TopicSpec]
    handlers: Mapping[type[EventPayload], EventHandler]
    read_models: Sequence[str] = field(default_factory=tuple)
    description: str = ""
    inline: bool = False
    # live: after a batch smaller than a poll's maximum, wait this long before the next poll,
    # so that the records arriving meanwhile are handled together (one transaction, one offset
    # commit): fewer per record under load, at most this much later; 0: poll again at once
    linger_ms: int = 0
    # False: its handlers use no personal value. Its sealed payloads reach them as an erasure
    # leaves them (personal values None: ``runtime.privacy.withheld``): no key is asked for,
    # nothing is decrypted, and its records are decoded as they arrive
    reads_personal_data: bool = True

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


def _event_type(payload: type[EventPayload]) -> str:
    return payload.event_type


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


async def _polled_records(message: StreamMessage[Any]) -> Any:
    """A subscriber's decoder: the records of the poll (aiokafka ConsumerRecords), undecoded."""
    return message.raw_message


def group_lock_key(group: str) -> int:
    return 7_400_000 + sum(group.encode()) * 31 % 1_000_000


_ENVELOPE = Envelope.__pydantic_validator__  # ``Envelope.from_bytes`` without its wrappers


def decode_record(value: bytes | None) -> tuple[Envelope, str]:
    if value is None:
        raise PoisonMessage("empty record (tombstone)")
    try:
        envelope: Envelope = _ENVELOPE.validate_json(value)
    except ValidationError as error:
        first = error.errors()[0]
        if first["type"] == "json_invalid":
            raise PoisonMessage(f"not JSON: {first['msg']}") from None
        where = ".".join(str(part) for part in first["loc"]) or "record"
        raise PoisonMessage(
            f"not a Frontdesk envelope: {where}: {first['msg']} ({error.error_count()} errors)"
        ) from None
    return envelope, envelope.event_type


class _Current(NamedTuple):
    """An event type's current payload version and its model's validator: what
    ``REGISTRY.decode`` calls for a payload of that version, looked up once per runner."""

    version: int
    validator: Any  # pydantic_core.SchemaValidator


def _current(event_type: str) -> _Current | None:
    try:
        model = REGISTRY.definition(event_type).current
    except UnknownEventType:
        return None
    return _Current(model.schema_version, model.__pydantic_validator__)


def _unsealed(
    envelope: Envelope, current: _Current | None, reads_personal_data: bool
) -> EventPayload | None:
    """The payload decoded ahead of its turn when nothing in it is sealed, or when its reader
    reads no personal data (its sealed values withheld); None when it is sealed for a reader
    that reads them (revealed at its turn: an erasure in between wins), or when it cannot be
    read (it fails at its turn, in its place). At its ``current`` version, by the model's
    validator itself (as ``REGISTRY.decode`` does, without looking the version up per record)."""
    payload = envelope.payload
    if envelope.personal_data is not None:
        if reads_personal_data:
            return None
        payload = withheld(envelope)
    try:
        if current is not None and envelope.schema_version == current.version:
            return cast(EventPayload, current.validator.validate_python(payload, context=STORED))
        return REGISTRY.decode(envelope.event_type, envelope.schema_version, payload)
    except (UnknownEventType, ValidationError):
        return None


class Polled(Protocol):
    """What the runner reads of a Kafka record: a ``Record``, or aiokafka's ConsumerRecord as
    it was polled (a rebuild does not copy its records)."""

    @property
    def value(self) -> bytes | None: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def headers(self) -> Sequence[tuple[str, bytes]]: ...


@dataclass(frozen=True)
class Record:
    """A Kafka record as the runner reads it (aiokafka's ConsumerRecord has these fields)."""

    value: bytes | None
    key: bytes | None
    topic: str
    partition: int
    offset: int
    headers: Sequence[tuple[str, bytes]] = ()

    @classmethod
    def of(cls, record: Any) -> Record:
        return cls(
            record.value,
            record.key,
            record.topic,
            record.partition,
            record.offset,
            tuple(record.headers or ()),
        )


class _Pending(NamedTuple):
    """A decoded record this group handles, waiting for its turn in a batch (a tuple: a
    replay makes one per record)."""

    place: int  # its index in the batch
    record: Polled
    envelope: Envelope
    event_type: str
    handler: EventHandler
    # decoded ahead when nothing in it is sealed (a sealed one is revealed at its turn)
    payload: EventPayload | None = None


# a named tuple's own constructor is a Python function; this one is tuple's, in C (every
# field given)
_pending = functools.partial(tuple.__new__, _Pending)


@dataclass
class _Plan:
    """A batch decoded: the outcomes known already (records the group ignores), then what to
    do in order — a run of records for one transaction, or a record's index to handle alone
    (poison, or a second copy of an event in the batch). The last step is always a run."""

    outcomes: list[Outcome | None]
    steps: list[list[_Pending] | int]
    passed: list[Envelope]  # every decoded envelope: the stream positions the batch passes


@dataclass
class _Collected:
    """A replay's run handled ahead of its transaction (``ConsumerRunner._collect``): the
    writes its first ``done`` records queued; ``applied`` once its transaction committed with
    them (its records after ``done`` handled at their turn on the same writes)."""

    writes: BatchedWrites
    done: int
    length: int  # the run's records
    applied: bool = False

    @property
    def whole(self) -> bool:
        """Every record of its run was handled ahead."""
        return self.done == self.length


# rows a replay remembers across its batches (``_Remembered``); a case's file is about 2 KB
REPLAY_REMEMBERED = 20_000


class _Remembered:
    """What a replay's committed batches remembered of rows (``BatchedWrites.remember``), for
    the batches after them to look ``behind`` at: the replay's connection holds the group's
    lock, so nothing but the replay writes the group's tables, and a row a committed batch
    remembered is what a read would answer. At most ``limit`` rows; the least recently
    remembered is forgotten first (and read again when it is needed). A batch that did not
    commit as it was collected (a record retried, dead-lettered or handled alone, an event
    met twice), or in which a handler's savepoint was rolled back (what it had remembered
    before it was forgotten, not what it wrote), may have changed rows without remembering
    them: everything is forgotten."""

    def __init__(self, limit: int = REPLAY_REMEMBERED) -> None:
        # in the order last remembered (a dict whose first keys are deleted again and again
        # scans their empty slots to find the next first one: 390 µs a batch against 26)
        self.rows: OrderedDict[Hashable, Any] = OrderedDict()
        self.limit = limit

    def behind(self, collected: Sequence[_Collected | None]) -> MutableMapping[Hashable, Any]:
        """What the batch after ``collected`` (its transaction not committed yet) will read:
        ``collected``'s own rows over the committed ones."""
        layers = [item.writes.rows for item in reversed(collected) if item is not None]
        return ChainMap(*layers, self.rows) if layers else self.rows

    def settled(self, collected: Sequence[_Collected | None]) -> bool:
        """After a batch's transactions: remember what it remembered if it committed as it was
        collected (True); else forget everything (False)."""
        if not all(
            item is not None and item.applied and not item.writes.rolled_back for item in collected
        ):
            self.rows.clear()
            return False
        rows = self.rows
        for item in filter(None, collected):
            for key, row in item.writes.rows.items():
                rows[key] = row
                rows.move_to_end(key)  # the most recently remembered
        while len(rows) > self.limit:
            rows.popitem(last=False)
        return True


# how long a replay decodes or handles records before the event loop turns: the previous
# batch's transaction waits for a turn at each of its round trips (BEGIN, COPY, the writes,
# COMMIT), so the loop turns often; by time, since a record's cost depends on its handler
TURN_SECONDS = 0.000_025

# records a replay decodes, handles and commits at once: 250 used ~11 % less CPU a record than
# 500 (16 alternated rebuilds of 100,000 records; docs/performance-history.md, session 12), the
# batch's objects staying in the processor's caches
REPLAY_BATCH = 250

_INBOX_COLUMNS = ("consumer_group", "event_id", "topic", "kafka_partition", "kafka_offset")


class _AlreadyInInbox(Exception):
    """A replay's inbox rows could not be copied in: one of its events was applied before."""


class _RecordFailed(Exception):
    """A record of a run failed in its own handling (not the database's availability)."""

    def __init__(self, position: int, error: BaseException) -> None:
        super().__init__(describe_error(error))
        self.position, self.error = position, error


def _blame(failed: WritesFailed) -> Exception:
    """Batched writes that failed together: one record's are its failure; several records'
    (one statement sent for all of them) blame nobody, so each is tried in its own
    transaction."""
    if len(failed.positions) == 1:
        [position] = failed.positions
        return _RecordFailed(position, failed.error)
    return RuntimeError(f"batched writes failed: {describe_error(failed.error)}")


def long_polls(subscriber: Any) -> None:
    """A FastStream batch subscriber whose empty poll is followed by the next poll at once.

    FastStream 0.7.8's ``BatchSubscriber.get_msg`` polls (``consumer.getmany(timeout_ms=
    batch_timeout_ms, ...)``) and, when the poll came back empty, sleeps ``batch_timeout_ms``
    before the next one. ``getmany`` is a long poll: it returns as soon as aiokafka's fetcher
    (which long-polls the broker on its own) has a record. The sleep is the only thing that
    delays a record reaching an idle group, so the timeout had to be short (10 ms), and every
    idle group woke the process 100 times a second: 5 % of a core per idle service. Without
    the sleep the timeout delays nothing and an idle group wakes once per timeout.
    FastStream has no option for this; its consume loop calls ``get_msg`` and hands on what
    is not empty, so this replaces that one method of the subscriber (the version is pinned,
    and ``tests/unit/test_consumer_poll.py`` checks the method it replaces)."""
    if not isinstance(subscriber, BatchSubscriber):
        raise TypeError(f"a batch subscriber is expected, not {type(subscriber).__name__}")
    # what the subscriber was given: its poll's timeout and its batch's size
    timeout_ms, max_records = subscriber.batch_timeout_ms, subscriber.max_records

    async def get_msg(consumer: AIOKafkaConsumer) -> tuple[ConsumerRecord[Any, Any], ...]:
        polled = await consumer.getmany(timeout_ms=timeout_ms, max_records=max_records)
        return tuple(itertools.chain.from_iterable(polled.values()))

    subscriber.get_msg = get_msg  # type: ignore[method-assign]


class ConsumerRunner:
    """Handles a group's records in batches: one transaction for a run of records, their inbox
    rows inserted in one statement (a record whose event id is already there is a duplicate and
    changes nothing), then each handler in the records' order.

    A record whose handler fails rolls back its batch-mates' effects too: they are committed
    again without it, and it is retried alone (its try in the batch counts as its first), then
    dead-lettered after ``max_attempts``; the records after it follow in order. A record that
    cannot be decoded is dead-lettered at its place. Failures of the database itself are
    retried without limit and counted against no record.

    Handlers must keep their effects inside the transaction they are given (external calls
    belong to timers): a batch that rolls back runs them again.
    """

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
        max_records: int = 200,
        poll_timeout_ms: int = 1000,
    ) -> None:
        self.topic_name = topic_name
        self.privacy = privacy or Privacy(None)
        self.pool = pool
        self.group = group
        self.dead_letters = dead_letters
        self.max_attempts = max_attempts
        self.retry_backoff = retry_backoff
        self.max_backoff = max_backoff
        # a batch is what one poll returns, up to max_records; a poll returns as soon as a
        # record is there, and an idle group's poll wakes every poll_timeout_ms (the services
        # take FRONTDESK_KAFKA_CONSUMER_POLL_TIMEOUT_MS; see ``long_polls``)
        self.max_records = max_records
        self.poll_timeout_ms = poll_timeout_ms
        self.lock_key = group_lock_key(group.name)
        self._handlers = group.by_event_type
        self._current = {event_type: _current(event_type) for event_type in self._handlers}
        self._positions_pruned = time.monotonic()

    # -- the live subscription -------------------------------------------------------------

    def subscribe(self, broker: KafkaBroker, ack_policy: AckPolicy) -> None:
        """Register this group with FastStream as a batch subscriber. The offsets of a batch
        commit (``consumer.commit()``, the positions after the batch) only after
        ``handle_batch`` returned, i.e. after every effect committed or its record was
        dead-lettered; a cancelled batch is not acknowledged."""
        if ack_policy is AckPolicy.ACK_FIRST:
            raise ValueError("ACK_FIRST commits before processing and loses events on a crash")

        async def consume(raw: Any) -> None:
            await self.handle_polled(raw)

        consume.__name__ = self.group.name.replace(".", "_")
        subscriber = broker.subscriber(
            *[self.topic_name(topic.name) for topic in self.group.topics],
            group_id=self.topic_name(self.group.name),  # namespaced like the topics
            auto_offset_reset="earliest",
            # the relay publishes in transactions: an aborted batch is never seen
            isolation_level="read_committed",
            ack_policy=ack_policy,
            batch=True,
            max_records=self.max_records,
            batch_timeout_ms=self.poll_timeout_ms,
            # the handler's argument is the polled records as they are: FastStream's default
            # decoder would parse every value as JSON (the runner decodes envelopes itself),
            # and asking for ``message: KafkaMessage`` resolves it in a worker thread per batch
            decoder=_polled_records,
            title=self.group.name,
            description=self.group.description or f"Handles {', '.join(self.group.event_types)}.",
        )
        subscriber(consume)
        long_polls(subscriber)

    # -- records ---------------------------------------------------------------------------

    async def handle_polled(self, polled: Any) -> None:
        """What one poll of the live subscription returned (FastStream's handler)."""
        records = polled if isinstance(polled, tuple) else (polled,)
        await self.handle_batch([Record.of(record) for record in records], traced=True)
        if self.group.linger_ms and 0 < len(records) < self.max_records:
            # the next poll gathers what arrives meanwhile
            await self.linger(self.group.linger_ms / 1000)

    async def linger(self, seconds: float) -> None:
        """The pause after a small batch (``ConsumerGroup.linger_ms``)."""
        await asyncio.sleep(seconds)

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
        """One record, as a batch of one."""
        [outcome] = await self.handle_batch(
            [Record(value, key, topic, partition, offset)], conn=conn
        )
        return outcome

    async def handle_batch(
        self,
        records: Sequence[Record],
        *,
        conn: asyncpg.Connection | None = None,
        traced: bool = False,
    ) -> list[Outcome]:
        """Handle records in their order (Kafka's order within each partition); return each
        one's outcome. ``conn``: run on this connection (a rebuild holds the group's lock on
        it) instead of the pool's. ``traced``: each record's handling becomes a span of the
        trace its headers carry (the live path; FastStream's own span is the batch's)."""
        return await self._execute(await self._plan(records), records, conn, traced)

    async def _plan(self, records: Sequence[Polled], *, aside: bool = False) -> _Plan:
        """Decode a batch (CPU only, no I/O). ``aside``: let the event loop turn every
        ``TURN_SECONDS`` — a rebuild decodes a batch while the previous batch's statements
        run, and each of their round trips needs a turn."""
        outcomes: list[Outcome | None] = [None] * len(records)
        steps: list[list[_Pending] | int] = []
        run: list[_Pending] = []
        in_run: set[int] = set()  # event ids as integers (a UUID hashes in Python)
        passed: list[Envelope] = []
        ignored = 0
        handlers, current = self._handlers, self._current
        reads_personal_data = self.group.reads_personal_data
        clock = time.perf_counter
        turn = clock() + TURN_SECONDS if aside else math.inf
        for index, record in enumerate(records):
            if clock() >= turn:
                await asyncio.sleep(0)
                turn = clock() + TURN_SECONDS
            try:
                envelope, event_type = decode_record(record.value)
                passed.append(envelope)
            except PoisonMessage:
                envelope = None
            handler = None if envelope is None else handlers.get(event_type)
            if envelope is not None and handler is None:
                outcomes[index] = Outcome.IGNORED
                ignored += 1
                continue
            if envelope is not None and handler is not None:
                event_id = envelope.event_id.int
                if event_id not in in_run:
                    payload = _unsealed(envelope, current[event_type], reads_personal_data)
                    run.append(_pending((index, record, envelope, event_type, handler, payload)))
                    in_run.add(event_id)
                    continue
            # poison (dead-lettered alone at its place) or the same event twice in one batch
            # (its first copy's inbox row is not committed yet): the run so far goes first
            steps += [run, index]
            run, in_run = [], set()
        steps.append(run)
        if ignored:
            processed_counter.add(ignored, {"group": self.group.name, "outcome": Outcome.IGNORED})
        return _Plan(outcomes, steps, passed)

    async def _execute(
        self,
        plan: _Plan,
        records: Sequence[Polled],
        conn: asyncpg.Connection | None,
        traced: bool,
        *,
        replay: bool = False,
        collected: Sequence[_Collected | None] = (),
    ) -> list[Outcome]:
        """Carry out a plan in its order; ``replay``: a rebuild's (see ``_apply``), whose runs
        may have been ``collected`` ahead (one per step of the plan)."""
        outcomes = plan.outcomes
        *steps, last = plan.steps
        ahead = list(collected) or [None] * len(plan.steps)
        if not replay:  # a replay's were loaded when it was collected
            await self._load_keys(plan)
        for step, ready in zip(steps, ahead, strict=False):
            if isinstance(step, int):
                outcomes[step] = await self._alone(records[step], conn, traced)
            else:
                await self._run(step, outcomes, conn, traced, replay=replay, collected=ready)
        assert isinstance(last, list)
        # live, the positions passed (runtime/positions.py) go with the batch's last run when
        # it commits at once: everything before it is done, everything in it commits with them
        # (a rebuild's positions would say nothing new)
        along = plan.passed if conn is None else []
        recorded = await self._run(
            last, outcomes, conn, traced, passed=along, replay=replay, collected=ahead[-1]
        )
        assert all(outcome is not None for outcome in outcomes)
        if conn is None:
            await self._record_passed([] if recorded else plan.passed)
        return outcomes  # type: ignore[return-value]

    async def _load_keys(self, plan: _Plan) -> None:
        """The keys of the batch's sealed records, in one round trip before they are revealed
        at their turn (each would ask for its own). Advisory: should the key store fail here,
        each record asks again at its turn, where a failure is handled as any other."""
        sealed = [
            pending.envelope
            for step in plan.steps
            if not isinstance(step, int)
            for pending in step
            if pending.payload is None and pending.envelope.personal_data is not None
        ]
        if not sealed:
            return
        try:
            await self.privacy.load_keys(sealed)
        except INFRASTRUCTURE_ERRORS as error:
            log.warning(
                "keys not loaded ahead",
                extra=log_fields(group=self.group.name, error=describe_error(error)),
            )

    async def _record_passed(self, passed: Sequence[Envelope]) -> None:
        """After the batch committed: how far the group got in each stream (unless its
        transaction recorded it), for reads that wait for a client's writes
        (runtime/positions.py); now and then, forget old positions. Advisory: a failure here
        only makes such a read wait longer."""
        try:
            await positions.record_passed(self.pool, self.group.name, passed)
            if time.monotonic() - self._positions_pruned > PRUNE_POSITIONS_EVERY:
                self._positions_pruned = time.monotonic()
                await positions.forget_old(self.pool, self.group.name)
                await positions.forget_old_causes(self.pool)
        except INFRASTRUCTURE_ERRORS as error:
            log.warning(
                "stream positions not recorded",
                extra=log_fields(group=self.group.name, error=describe_error(error)),
            )

    async def _run(
        self,
        run: Sequence[_Pending],
        outcomes: list[Outcome | None],
        conn: asyncpg.Connection | None,
        traced: bool,
        *,
        passed: Sequence[Envelope] = (),
        replay: bool = False,
        collected: _Collected | None = None,
    ) -> bool:
        """A run of records in one transaction; on a record's failure, the ones before it
        again without it, then it alone (its try here counted), then the rest. ``passed``:
        stream positions to record in the run's transaction if it commits whole; returns
        whether they were. ``collected``: what its first try may use (``_collect``)."""
        while run:
            ahead, collected = collected, None
            try:
                async with self._connection(conn) as db:
                    done = await self._apply(db, run, traced, passed, replay=replay, ahead=ahead)
            except _RecordFailed as failed:
                passed = ()
                await self._run(run[: failed.position], outcomes, conn, traced, replay=replay)
                culprit = run[failed.position]
                poison = isinstance(failed.error, PoisonMessage)
                outcomes[culprit.place] = await self._alone(
                    culprit.record, conn, traced, tried=0 if poison else 1, error=failed.error
                )
                run = run[failed.position + 1 :]
                continue
            except INFRASTRUCTURE_ERRORS as error:
                await self._wait_for_infrastructure(error)
                continue
            except Exception:  # e.g. at COMMIT: no record to blame, so each in its own
                for pending in run:
                    outcomes[pending.place] = await self._alone(pending.record, conn, traced)
                return False
            for pending, outcome in zip(run, done, strict=True):
                outcomes[pending.place] = outcome
            for outcome in set(done):
                processed_counter.add(
                    done.count(outcome), {"group": self.group.name, "outcome": outcome}
                )
            return bool(passed)
        return False

    async def _alone(
        self,
        record: Polled,
        conn: asyncpg.Connection | None,
        traced: bool,
        *,
        tried: int = 0,
        error: BaseException | None = None,
    ) -> Outcome:
        """One record in its own transaction, retried up to ``max_attempts`` (``tried`` of them
        already spent in a batch), then dead-lettered."""
        attempts = tried
        event_id: str | None = None
        if error is not None and attempts:
            if attempts >= self.max_attempts:
                return await self._dead_letter(record, describe_error(error), attempts, None, conn)
            await self._back_off(record, attempts, error)
        while True:
            attempts += 1
            try:
                envelope, event_type = decode_record(record.value)
                event_id = str(envelope.event_id)
                handler = self._handlers.get(event_type)
                if handler is None:
                    outcome = Outcome.IGNORED
                else:
                    pending = _Pending(0, record, envelope, event_type, handler)
                    async with self._connection(conn) as db:
                        [outcome] = await self._apply(db, [pending], traced)
                processed_counter.add(1, {"group": self.group.name, "outcome": outcome})
                return outcome
            except _RecordFailed as failed:
                if isinstance(failed.error, PoisonMessage):
                    return await self._dead_letter(
                        record, str(failed.error), attempts, event_id, conn
                    )
                if attempts >= self.max_attempts:
                    return await self._dead_letter(
                        record, describe_error(failed.error), attempts, event_id, conn
                    )
                await self._back_off(record, attempts, failed.error)
            except PoisonMessage as poison:
                return await self._dead_letter(record, str(poison), attempts, event_id, conn)
            except INFRASTRUCTURE_ERRORS as failure:
                attempts -= 1  # the message is not at fault: retry without counting
                await self._wait_for_infrastructure(failure)
            except Exception as failure:  # at COMMIT: still this record's
                if attempts >= self.max_attempts:
                    return await self._dead_letter(
                        record, describe_error(failure), attempts, event_id, conn
                    )
                await self._back_off(record, attempts, failure)

    async def _back_off(self, record: Polled, attempts: int, error: BaseException) -> None:
        delay = min(self.retry_backoff * 2 ** (attempts - 1), self.max_backoff)
        log.warning(
            "consumer retrying",
            extra=log_fields(
                group=self.group.name,
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                attempt=attempts,
                error=describe_error(error),
            ),
        )
        await asyncio.sleep(delay)

    async def _wait_for_infrastructure(self, error: BaseException) -> None:
        log.warning(
            "consumer waiting for infrastructure",
            extra=log_fields(group=self.group.name, error=describe_error(error)),
        )
        await asyncio.sleep(self.max_backoff)

    @asynccontextmanager
    async def _connection(self, conn: asyncpg.Connection | None) -> AsyncIterator[Any]:
        if conn is not None:
            yield conn
        else:
            async with self.pool.acquire() as own:
                yield own

    async def _apply(
        self,
        conn: asyncpg.Connection,
        run: Sequence[_Pending],
        traced: bool,
        passed: Sequence[Envelope] = (),
        *,
        replay: bool = False,
        ahead: _Collected | None = None,
    ) -> list[Outcome]:
        """One transaction: the group's shared lock, every inbox row and the stream positions
        ``passed`` in one statement, then the handler of each record whose row was new. Raises
        ``_RecordFailed`` naming the record whose decoding or handler failed (the transaction
        is rolled back).

        ``replay``: a rebuild's run (its connection holds the group's lock; the group's inbox
        was emptied when it started, so a row is there only if this replay wrote it): the
        inbox rows are copied in (``COPY``, several times cheaper than an insert that checks
        each row), every record taken as new; if one of them is not (a copy of an event
        published twice, applied earlier in the replay), the copy fails on the inbox's key,
        nothing ran yet, and the run is applied again the ordinary way (without what was
        collected ``ahead``: its duplicates change nothing)."""
        if replay:
            try:
                return await self._apply_copied(conn, run, traced, ahead)
            except _AlreadyInInbox:
                pass
        streams, versions = positions.latest_versions(passed)
        async with conn.transaction():
            # the group's lock is shared between batches and held exclusively by a rebuild
            fresh = {
                row[0]
                for row in await conn.fetch(
                    f"""WITH locked AS (SELECT pg_advisory_xact_lock_shared($1)),
                       passed AS ({positions.passed_statement(2, 7, 8)})
                       INSERT INTO consumer_inbox
                           (consumer_group, event_id, topic, kafka_partition, kafka_offset)
                       SELECT $2, r.event_id, r.topic, r.kafka_partition, r.kafka_offset
                       FROM locked, unnest($3::uuid[], $4::text[], $5::int[], $6::bigint[])
                           AS r(event_id, topic, kafka_partition, kafka_offset)
                       ON CONFLICT DO NOTHING RETURNING event_id""",
                    self.lock_key,
                    self.group.name,
                    [pending.envelope.event_id for pending in run],
                    [pending.record.topic for pending in run],
                    [pending.record.partition for pending in run],
                    [pending.record.offset for pending in run],
                    streams,
                    versions,
                )
            }
            return await self._effects(conn, run, traced, fresh)

    async def _apply_copied(
        self,
        conn: asyncpg.Connection,
        run: Sequence[_Pending],
        traced: bool,
        ahead: _Collected | None,
    ) -> list[Outcome]:
        """``_apply`` of a replay: the inbox rows copied in (see there)."""
        async with conn.transaction():
            try:
                await conn.copy_records_to_table(
                    "consumer_inbox",
                    columns=_INBOX_COLUMNS,
                    records=[
                        (
                            self.group.name,
                            pending.envelope.event_id,
                            pending.record.topic,
                            pending.record.partition,
                            pending.record.offset,
                        )
                        for pending in run
                    ],
                )
            except asyncpg.UniqueViolationError:
                raise _AlreadyInInbox from None
            outcomes = await self._effects(conn, run, traced, None, ahead, quiet=True)
        if ahead is not None:
            ahead.applied = True  # committed with what was collected: what it remembered holds
        return outcomes

    async def _effects(
        self,
        conn: asyncpg.Connection,
        run: Sequence[_Pending],
        traced: bool,
        fresh: set[UUID] | None,
        ahead: _Collected | None = None,
        *,
        quiet: bool = False,
    ) -> list[Outcome]:
        """Inside a run's transaction, after its inbox rows: each handler of a record whose
        row was new (``fresh``; None: all of them), in order; those ``ahead`` had theirs run
        already (every record of a replay is new), their writes queued. ``quiet``: no
        ``event applied`` line per record (a replay's)."""
        # a projection's writes go together (runtime.batched_writes); a reaction's
        # appends keep the connection as it is
        writes = BatchedWrites(conn, INFRASTRUCTURE_ERRORS) if self.group.rebuildable else None
        start = 0
        if ahead is not None:
            writes, start = ahead.writes, ahead.done
        outcomes = [Outcome.APPLIED] * start
        causes: list[tuple[Envelope, list[positions.Position]]] = []
        asked = _RunWork()
        token = _run_work.set(asked)
        try:
            for position in range(start, len(run)):
                pending = run[position]
                if fresh is not None and pending.envelope.event_id not in fresh:
                    outcomes.append(Outcome.DUPLICATE)
                    continue
                asked.position, asked.envelope = position, pending.envelope
                try:
                    if writes is None:  # a reaction: what it appends, for reads after writes
                        caused = positions.start_attempt()
                        await self._handle(conn, pending, traced)
                        causes.append((pending.envelope, caused))
                    else:
                        writes.position = position
                        await self._handle(writes.connection, pending, traced, quiet=quiet)
                except INFRASTRUCTURE_ERRORS:
                    raise
                except WritesFailed as failed:
                    raise _blame(failed) from failed.error
                except Exception as error:
                    raise _RecordFailed(position, error) from error
                outcomes.append(Outcome.APPLIED)
        finally:
            _run_work.reset(token)
        await self._asked_work(conn, writes, asked, causes)
        if writes is not None:
            try:
                await writes.flush()
            except WritesFailed as failed:
                raise _blame(failed) from failed.error
        positions.attempt_writes.set(None)
        await positions.record_caused(conn, causes)
        return outcomes

    async def _asked_work(
        self,
        conn: asyncpg.Connection,
        writes: BatchedWrites | None,
        asked: _RunWork,
        causes: list[tuple[Envelope, list[positions.Position]]],
    ) -> None:
        """The work the run's handlers asked for once per run (``once_per_run``), in the
        order of their latest asks; a failure is the last asker's."""
        for once in asked.asked.values():
            context_token = otel_context.attach(once.context)
            correlation_token = correlation_id_var.set(once.correlation_id)
            try:
                if writes is None:
                    caused = positions.start_attempt()
                    await once.work(conn)
                    causes.extend((envelope, caused) for envelope in once.envelopes)
                else:
                    writes.position = once.position
                    await once.work(writes.connection)
            except INFRASTRUCTURE_ERRORS:
                raise
            except WritesFailed as failed:
                raise _blame(failed) from failed.error
            except Exception as error:
                raise _RecordFailed(once.position, error) from error
            finally:
                correlation_id_var.reset(correlation_token)
                otel_context.detach(context_token)

    async def _collect(
        self,
        plan: _Plan,
        conn: asyncpg.Connection,
        behind: MutableMapping[Hashable, Any] | None = None,
    ) -> list[_Collected | None]:
        """A replay's handlers run ahead of their transactions, while the previous batch's
        statements run: each run's writes are queued, not sent (``BatchedWrites.collecting``),
        so that the transaction is left with statements only. Sealed payloads are revealed
        here, with the batch's keys loaded first (one round trip to the key store, while the
        previous batch's statements run): a replay is history, and a rebuild's process keeps
        the keys it loaded for its run whether revealed now or a batch later. A run's
        collection stops at a record whose payload cannot be read, whose handler needs the
        connection (a read must see what was written before it) or fails: its partial writes
        are dropped and it runs at its turn with the ones after it, in the transaction, as
        it would have. Handlers keep their effects inside their transaction (the class's
        text), so running one again is safe.

        ``behind``: the rows the replay's batches before this one remembered
        (``_Remembered``), for its first run and each run after it, up to a record handled
        alone (what that one changes is not remembered)."""
        collected: list[_Collected | None] = []
        await self._load_keys(plan)
        clock = time.perf_counter
        turn = clock() + TURN_SECONDS
        for step in plan.steps:
            if isinstance(step, int):
                collected.append(None)
                behind = None
                continue
            writes = BatchedWrites(conn, INFRASTRUCTURE_ERRORS, collecting=True, behind=behind)
            if behind is not None:
                behind = ChainMap(writes.rows, behind)
            connection = writes.connection
            done = 0
            for position, (_, record, envelope, event_type, handler, payload) in enumerate(step):
                if payload is None:
                    payload = await self._revealed_ahead(envelope, event_type)
                    if payload is None:
                        break
                mark = writes.mark()
                writes.position = position
                # ``_handle``'s untraced, quiet path, spelled out: a call less per record
                token = correlation_id_var.set(str(envelope.correlation_id))
                try:
                    await handler(
                        connection,
                        ReceivedEvent(
                            envelope, payload, record.topic, record.partition, record.offset
                        ),
                    )
                except Exception:  # NotYet, or a failure it meets again at its turn
                    writes.forget_after(mark)
                    break
                finally:
                    correlation_id_var.reset(token)
                if writes.refused:  # it caught NotYet and went on without its read
                    writes.forget_after(mark)
                    break
                done += 1
                if clock() >= turn:
                    await asyncio.sleep(0)
                    turn = clock() + TURN_SECONDS
            writes.collecting = False
            collected.append(_Collected(writes, done, len(step), applied=not step))
        return collected

    async def _revealed_ahead(self, envelope: Envelope, event_type: str) -> EventPayload | None:
        """A replay's sealed payload revealed for ``_collect`` (its keys loaded with the batch);
        None when it cannot be read here, for whatever reason (the key store down as well): it
        is revealed at its turn, in its place, where a failure is handled as any other."""
        if envelope.personal_data is None or not self.group.reads_personal_data:
            return None  # decoded in ``_plan`` already, if it could be
        try:
            revealed = await self.privacy.reveal(envelope)
            return REGISTRY.decode(event_type, envelope.schema_version, revealed)
        except Exception:  # the record's turn meets it again
            return None

    async def _handle(
        self, conn: asyncpg.Connection, pending: _Pending, traced: bool, *, quiet: bool = False
    ) -> None:
        """A record's handler, with its correlation id (and, ``traced``, its span) current;
        then its ``event applied`` line unless ``quiet``: a replay's records are history, and
        a line each cost more than handling them (the rebuild logs its counts at the end)."""
        envelope, record = pending.envelope, pending.record
        token = correlation_id_var.set(str(envelope.correlation_id))
        try:
            payload = pending.payload
            if payload is None:
                # decrypted at its turn, not when the batch arrived: an erasure in between wins
                revealed = (
                    await self.privacy.reveal(envelope)
                    if self.group.reads_personal_data
                    else withheld(envelope)
                )
                try:
                    payload = REGISTRY.decode(pending.event_type, envelope.schema_version, revealed)
                except (UnknownEventType, ValidationError) as error:
                    raise PoisonMessage(
                        f"cannot read {pending.event_type}: {describe_error(error)}"
                    ) from None
            received = ReceivedEvent(
                envelope, payload, record.topic, record.partition, record.offset
            )
            if not traced:
                await pending.handler(conn, received)
                if not quiet:
                    self._applied(envelope, record)
                return
            carrier = {name: value.decode(errors="replace") for name, value in record.headers}
            with tracer.start_as_current_span(
                f"{record.topic} process",
                context=propagate.extract(carrier),
                kind=SpanKind.CONSUMER,
                attributes={
                    "messaging.system": "kafka",
                    "messaging.operation": "process",
                    "messaging.destination.name": record.topic,
                    "messaging.consumer.group.name": self.group.name,
                    "messaging.kafka.destination.partition": record.partition,
                    "messaging.kafka.message.offset": record.offset,
                    "messaging.message.id": str(envelope.event_id),
                },
            ):
                await pending.handler(conn, received)
                self._applied(envelope, record)
        finally:
            correlation_id_var.reset(token)

    def _applied(self, envelope: Envelope, record: Polled) -> None:
        """One line per applied event, inside its span: the formatter adds its trace id and
        correlation id, so a flow is followed through every service's log by one id."""
        if not log.isEnabledFor(logging.INFO):  # its fields cost more than the check
            return
        log.info(
            "event applied",
            extra=log_fields(
                group=self.group.name,
                event_id=str(envelope.event_id),
                event_type=envelope.event_type,
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
            ),
        )

    async def _dead_letter(
        self,
        record: Polled,
        error: str,
        attempts: int,
        event_id: str | None,
        conn: asyncpg.Connection | None,
    ) -> Outcome:
        if event_id is None and record.value is not None:
            try:
                event_id = str(decode_record(record.value)[0].event_id)
            except PoisonMessage:
                event_id = None
        topic, partition, offset = record.topic, record.partition, record.offset
        letter = DeadLetter(
            self.group.name,
            topic,
            partition,
            offset,
            record.key,
            record.value,
            error,
            attempts,
            event_id,
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

    async def rebuild(
        self,
        bootstrap_servers: str,
        *,
        commit_every: int = REPLAY_BATCH,
        progress: Callable[[RebuildProgress], None] | None = None,
    ) -> dict[str, Any]:
        """Drop this group's read models and replay its topics from the beginning up to the
        end offsets seen at the start, committing every ``commit_every`` records (one batch,
        as live) while holding the group's lock: live consumers of the group wait meanwhile.
        ``progress`` is told after each commit.

        Python and PostgreSQL overlap: Kafka opens while the tables are emptied, and each
        batch is decoded and its handlers run (``_collect``: writes queued, not sent) while
        the previous one's statements run on the one connection that holds the lock (so the
        transactions stay in order); the decoding lets the event loop turn every
        ``TURN_SECONDS``, since each of those statements needs a turn to be sent.
        The replay's transactions commit without waiting for their WAL to reach the disk
        (``synchronous_commit = off``: a crash of the server loses at most the last few, as
        if the rebuild had stopped there — it is run again); one durable commit at the end
        makes all of them durable before the lock is released."""
        if not self.group.rebuildable:
            raise ValueError(f"{self.group.name} is a reaction, not a projection")
        with _fewer_collections():
            return await self._replay(bootstrap_servers, commit_every, progress)

    async def _replay(
        self,
        bootstrap_servers: str,
        commit_every: int,
        progress: Callable[[RebuildProgress], None] | None,
    ) -> dict[str, Any]:
        counts: dict[str, int] = {outcome: 0 for outcome in Outcome}
        started = time.monotonic()
        done = 0
        topics = [self.topic_name(topic.name) for topic in self.group.topics]
        extent: list[int] = []
        reading = read_to_end(
            bootstrap_servers,
            topics,
            batch_size=commit_every,
            open_transactions=False,  # what commits later, live consumers apply
            extent=extent.append,
        )
        in_flight: asyncio.Task[list[Outcome]] | None = None
        flying: list[_Collected | None] = []  # what the batch in flight was collected with
        remembered = _Remembered(REPLAY_REMEMBERED)

        async def settle() -> bool:
            """The batch in flight done; whether the rows it was collected with held."""
            nonlocal done, in_flight
            if in_flight is None:
                return True
            outcomes, in_flight = await in_flight, None
            held = remembered.settled(flying)
            for outcome in outcomes:
                counts[outcome] += 1
            done += len(outcomes)
            if progress is not None:
                progress(RebuildProgress(self.group.name, done, extent[0], started))
            return held

        async with self.pool.acquire() as conn:
            keeps_session_state(conn)
            await conn.execute("SELECT pg_advisory_lock($1)", self.lock_key)
            first = asyncio.ensure_future(anext(reading, None))  # Kafka opens meanwhile
            try:
                await conn.execute("SET synchronous_commit = off")
                async with conn.transaction():
                    tables = ", ".join(self.group.read_models)
                    await conn.execute(f"TRUNCATE {tables}")
                    await conn.execute(
                        "DELETE FROM consumer_inbox WHERE consumer_group = $1", self.group.name
                    )
                    if self.group.inline:
                        # what the group had passed is gone with its tables: its commands
                        # must not apply a stream's next event before the replay or the
                        # consumer has applied the ones before it again (runtime/inline.py)
                        await conn.execute(
                            "DELETE FROM stream_positions WHERE consumer_group = $1",
                            self.group.name,
                        )
                    await conn.execute(
                        "DELETE FROM dead_letters WHERE consumer_group = $1", self.group.name
                    )
                polled = await first
                while polled is not None:
                    batch = polled  # aiokafka's records as they are: nothing copied
                    # while the previous batch's statements run: decoded, handled ahead
                    plan = await self._plan(batch, aside=True)
                    if not all(item is not None and item.whole for item in flying):
                        # the batch in flight has records to handle at their turn: what they
                        # remember is known once they ran
                        await settle()
                    behind = remembered.behind(flying if in_flight is not None else ())
                    collected = await self._collect(plan, conn, behind)
                    if not await settle():
                        # the rows it was collected with did not hold: each record at its turn,
                        # reading what it needs (nothing it remembers is kept)
                        collected = []
                    flying = collected
                    in_flight = asyncio.create_task(
                        self._execute(plan, batch, conn, False, replay=True, collected=collected)
                    )
                    polled = await anext(reading, None)
                await settle()
                if progress is not None and done != sum(extent):
                    # the extent counted transaction markers too: the replay is complete
                    progress(RebuildProgress(self.group.name, done, done, started))
                # a durable commit (a transaction id makes it write its commit record) flushes
                # the WAL of every commit before it
                await conn.execute("SET synchronous_commit = on")
                async with conn.transaction():
                    await conn.execute("SELECT pg_current_xact_id()")
            finally:
                for task in (first, in_flight):
                    if task is not None and not task.done():
                        task.cancel()
                        await asyncio.gather(task, return_exceptions=True)
                await reading.aclose()
                await conn.execute("SELECT pg_advisory_unlock($1)", self.lock_key)
        seconds = time.monotonic() - started
        log.info("rebuild finished", extra=log_fields(group=self.group.name, **counts))
        return {
            "group": self.group.name,
            **counts,
            "seconds": round(seconds, 3),
            "records_per_second": round(done / seconds) if seconds > 0 else None,
        }


REPLAY_COLLECTION_THRESHOLD = 20_000  # allocations between two young collections


class _Replays:
    """The rebuilds running in this process, and the collector's thresholds before them."""

    running = 0
    thresholds = gc.get_threshold()


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """While a rebuild runs: the cyclic garbage collector runs after 20,000 new objects
    instead of 700. A replay allocates a dozen objects per record, nearly none in cycles
    (reference counting frees them), so by default the collector ran every ~60 records and
    now and then walked every object of the process: half the replay's CPU. The thresholds
    come back when the last rebuild running in the process ends."""
    if _Replays.running == 0:
        _Replays.thresholds = gc.get_threshold()
        young, older, oldest = _Replays.thresholds
        gc.set_threshold(max(young, REPLAY_COLLECTION_THRESHOLD), older, oldest)
    _Replays.running += 1
    try:
        yield
    finally:
        _Replays.running -= 1
        if _Replays.running == 0:
            gc.set_threshold(*_Replays.thresholds)


@dataclass(frozen=True)
class RebuildProgress:
    """Where a rebuild stands: records replayed of the total, since ``started`` (monotonic)."""

    group: str
    records: int
    total: int
    started: float

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def rate(self) -> float:
        """Records per second so far."""
        return self.records / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def seconds_left(self) -> float | None:
        if self.rate <= 0:
            return None
        return max(self.total - self.records, 0) / self.rate
