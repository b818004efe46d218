"""The batched consumer runner over real PostgreSQL (and Kafka for the live subscription and the
rebuild): several records per transaction and their inbox rows in one statement, without
losing exactly-once effects, order, dead letters or bounded retries; a failing record does
not poison its batch-mates."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from faststream.middlewares import AckPolicy

from contracts import Actor, Envelope, dead_letter_topic
from contracts.envelope import PersonalDataRef
from contracts.events.checkin import TicketLeft
from contracts.topics import CHECKIN_TICKETS
from runtime import consumer
from runtime.batched_writes import remembering
from runtime.consumer import (
    ConsumerGroup,
    ConsumerRunner,
    DeadLetter,
    Outcome,
    RebuildProgress,
    ReceivedEvent,
    Record,
)
from runtime.db import create_pool, migrate
from runtime.kafka import build_broker, ensure_topics
from runtime.privacy import Privacy
from runtime.settings import KafkaSettings, ServiceSettings
from tests.conftest import eventually
from tests.integration.kafka_tools import consumers_caught_up

pytestmark = pytest.mark.integration

TOPIC = "tests.batch"


@pytest_asyncio.fixture(loop_scope="session")
async def pool(databases: list[str], settings: ServiceSettings) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(settings.dsn("scratch"))
    await migrate(pool, [])
    await pool.execute(
        """CREATE TABLE IF NOT EXISTS batch_effects (
               seq bigserial PRIMARY KEY, grp text NOT NULL,
               stream_id text NOT NULL CHECK (stream_id NOT LIKE 'refused%'))"""
    )
    yield pool
    await pool.close()


def envelope(stream_id: str) -> Envelope:
    payload = TicketLeft(ticket_id=uuid.uuid4(), reason="x", left_at=datetime.now(UTC))
    return Envelope(
        event_id=uuid.uuid4(),
        event_type=payload.event_type,
        schema_version=payload.schema_version,
        occurred_at=datetime.now(UTC),
        stream_type="ticket",
        stream_id=stream_id,
        stream_version=1,
        correlation_id=uuid.uuid4(),
        producer="checkin",
        actor=Actor(id="t", role="agent"),
        payload=payload.model_dump(mode="json"),
    )


class Effects:
    """A handler writing one row per applied record (in order), failing on demand. As a
    ``projection`` (a group with read models) its writes are batched (runtime.batched_writes)
    and sent later; as a reaction each is sent at its call. A stream id starting with
    ``refused`` is refused by the table's CHECK: the write itself fails."""

    def __init__(self, pool: asyncpg.Pool, projection: bool = False) -> None:
        self.pool = pool
        self.projection = projection
        self.group = f"tests.b{uuid.uuid4().hex[:6]}"
        self.failures: dict[str, int] = {}
        self.infrastructure_failures: dict[str, int] = {}
        self.tries: dict[str, int] = {}
        self.letters: list[DeadLetter] = []
        self.reading: set[str] = set()  # their handler first reads how many rows came before
        self.careless: set[str] = set()  # ... and takes a failed read for "none"

    async def handler(self, conn: asyncpg.Connection, event: ReceivedEvent[TicketLeft]) -> None:
        stream = event.envelope.stream_id
        self.tries[stream] = self.tries.get(stream, 0) + 1
        if stream in self.reading:
            try:
                before = await conn.fetchval(
                    "SELECT count(*) FROM batch_effects WHERE grp = $1", self.group
                )
            except Exception:
                if stream not in self.careless:
                    raise
                before = "none"
            stream = f"{stream}@{before}"
        await conn.execute(
            "INSERT INTO batch_effects (grp, stream_id) VALUES ($1, $2)", self.group, stream
        )
        if self.infrastructure_failures.get(stream, 0):
            self.infrastructure_failures[stream] -= 1
            raise ConnectionResetError("database went away")
        if self.failures.get(stream, 0):
            self.failures[stream] -= 1
            raise ValueError(f"handler failed on {stream}")

    async def dead_letter(self, letter: DeadLetter) -> None:
        self.letters.append(letter)

    def runner(self, **options: Any) -> ConsumerRunner:
        group = ConsumerGroup(
            self.group,
            [CHECKIN_TICKETS],
            {TicketLeft: self.handler},
            read_models=("batch_effects",) if self.projection else (),
        )
        return ConsumerRunner(
            self.pool,
            group,
            self.dead_letter,
            max_attempts=3,
            retry_backoff=0.001,
            max_backoff=0.01,
            **options,
        )

    async def applied(self) -> list[str]:
        rows = await self.pool.fetch(
            "SELECT stream_id FROM batch_effects WHERE grp = $1 ORDER BY seq", self.group
        )
        return [row["stream_id"] for row in rows]

    async def inbox(self) -> dict[uuid.UUID, str]:
        rows = await self.pool.fetch(
            "SELECT event_id, outcome FROM consumer_inbox WHERE consumer_group = $1", self.group
        )
        return {row["event_id"]: row["outcome"] for row in rows}


def records(events: Sequence[Envelope | bytes], start: int = 0) -> list[Record]:
    return [
        Record(e if isinstance(e, bytes) else e.to_bytes(), b"k", TOPIC, 0, start + n)
        for n, e in enumerate(events)
    ]


@pytest.fixture(params=["reaction", "projection"])
def effects(pool: asyncpg.Pool, request: pytest.FixtureRequest) -> Effects:
    return Effects(pool, projection=request.param == "projection")


async def test_a_batch_commits_its_records_in_order_with_their_inbox_rows(
    effects: Effects,
) -> None:
    events = [envelope(f"s{n}") for n in range(20)]
    outcomes = await effects.runner().handle_batch(records(events))
    assert outcomes == [Outcome.APPLIED] * 20
    assert await effects.applied() == [f"s{n}" for n in range(20)]
    assert await effects.inbox() == {e.event_id: "applied" for e in events}


async def test_duplicates_in_the_batch_and_redeliveries_change_state_once(
    effects: Effects,
) -> None:
    runner = effects.runner()
    a, b, c = envelope("a"), envelope("b"), envelope("c")
    outcomes = await runner.handle_batch(records([a, b, a, c, b]))
    assert outcomes == [
        Outcome.APPLIED,
        Outcome.APPLIED,
        Outcome.DUPLICATE,
        Outcome.APPLIED,
        Outcome.DUPLICATE,
    ]
    # the whole batch again (a crash before the offsets committed): nothing changes
    again = await runner.handle_batch(records([a, b, c]))
    assert again == [Outcome.DUPLICATE] * 3
    assert await effects.applied() == ["a", "b", "c"]


async def test_a_failing_record_does_not_poison_its_batch_mates(effects: Effects) -> None:
    events = [envelope(f"s{n}") for n in range(6)]
    effects.failures["s2"] = 1_000  # always fails
    effects.failures["s4"] = 1  # fails once, in the batch
    outcomes = await effects.runner().handle_batch(records(events))
    assert outcomes == [
        Outcome.APPLIED,
        Outcome.APPLIED,
        Outcome.DEAD_LETTERED,
        Outcome.APPLIED,
        Outcome.APPLIED,
        Outcome.APPLIED,
    ]
    # every other record applied exactly once, in the records' order
    assert await effects.applied() == ["s0", "s1", "s3", "s4", "s5"]
    assert effects.tries["s2"] == 3  # exactly max_attempts, the batch's try included
    assert effects.tries["s4"] == 2  # once in the batch (rolled back), once alone
    [letter] = effects.letters
    assert (letter.offset, letter.attempts, letter.event_id) == (2, 3, str(events[2].event_id))
    assert "handler failed on s2" in letter.error
    inbox = await effects.inbox()
    assert inbox[events[2].event_id] == "dead_lettered"
    assert sum(outcome == "applied" for outcome in inbox.values()) == 5
    row = await effects.pool.fetchrow(
        "SELECT kafka_offset, attempts FROM dead_letters WHERE consumer_group = $1",
        effects.group,
    )
    assert row is not None
    assert (row["kafka_offset"], row["attempts"]) == (2, 3)


async def test_a_write_that_fails_blames_its_own_record_even_when_sent_later(
    effects: Effects,
) -> None:
    # a projection's writes travel together: the refused one fails when the batch's writes
    # are sent, and still only its record is retried and dead-lettered
    events = [envelope(name) for name in ("s0", "s1", "refused-2", "s3", "s4")]
    outcomes = await effects.runner().handle_batch(records(events))
    assert outcomes == [
        Outcome.APPLIED,
        Outcome.APPLIED,
        Outcome.DEAD_LETTERED,
        Outcome.APPLIED,
        Outcome.APPLIED,
    ]
    assert await effects.applied() == ["s0", "s1", "s3", "s4"]
    [letter] = effects.letters
    assert (letter.offset, letter.attempts) == (2, 3)
    assert "batch_effects_stream_id_check" in letter.error


async def test_an_undecodable_record_is_dead_lettered_at_its_place(effects: Effects) -> None:
    events: list[Envelope | bytes] = [envelope("a"), b"\x00not json", envelope("b")]
    other = envelope("ignored").model_copy(update={"event_type": "checkin.ticket_called"})
    outcomes = await effects.runner().handle_batch(records([*events, other]))
    assert outcomes == [
        Outcome.APPLIED,
        Outcome.DEAD_LETTERED,
        Outcome.APPLIED,
        Outcome.IGNORED,
    ]
    assert await effects.applied() == ["a", "b"]
    [letter] = effects.letters
    assert letter.attempts == 1
    assert "not JSON" in letter.error
    assert other.event_id not in await effects.inbox()


async def test_infrastructure_failures_are_retried_without_counting_attempts(
    effects: Effects,
) -> None:
    events = [envelope(f"s{n}") for n in range(3)]
    effects.infrastructure_failures["s1"] = 5  # more than max_attempts
    outcomes = await effects.runner().handle_batch(records(events))
    assert outcomes == [Outcome.APPLIED] * 3
    assert await effects.applied() == ["s0", "s1", "s2"]
    assert effects.letters == []
    assert effects.tries["s1"] == 6


async def test_the_live_subscription_consumes_in_batches_and_commits_after_the_effects(
    effects: Effects, settings: ServiceSettings
) -> None:
    kafka = settings.kafka.model_copy(
        update={"topic_prefix": f"{settings.kafka.topic_prefix}{uuid.uuid4().hex[:8]}."}
    )
    await ensure_topics(kafka, [CHECKIN_TICKETS, dead_letter_topic(effects.group)])
    topic = kafka.topic(CHECKIN_TICKETS.name)
    events = [envelope(f"live-{n % 7}") for n in range(60)]
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka.bootstrap_servers, enable_idempotence=True, acks="all"
    )
    await producer.start()
    try:  # all published before the group starts: its first polls return many at once
        for event in events:
            await producer.send_and_wait(topic, event.to_bytes(), key=event.stream_id.encode())
    finally:
        await producer.stop()

    sizes: list[int] = []

    class Measured(ConsumerRunner):
        async def handle_batch(self, records: Sequence[Record], **kwargs: Any) -> list[Outcome]:
            sizes.append(len(records))
            return await super().handle_batch(records, **kwargs)

    broker = build_broker(kafka, "batch-test", None)
    group = ConsumerGroup(effects.group, [CHECKIN_TICKETS], {TicketLeft: effects.handler})
    runner = Measured(effects.pool, group, effects.dead_letter, topic_name=kafka.topic)
    runner.subscribe(broker, AckPolicy.ACK)

    class Runtime:  # what consumers_caught_up reads
        pool = effects.pool
        settings = ServiceSettings().model_copy(update={"kafka": kafka})
        groups = [group]

    await broker.start()
    try:
        await eventually(lambda: consumers_caught_up([Runtime()]), within=60)
    finally:
        await broker.stop()
    applied = await effects.applied()
    assert sorted(applied) == sorted(e.stream_id for e in events)
    for key in {e.stream_id for e in events}:  # per-key order: the order of publication
        mine = [e for e in events if e.stream_id == key]
        seqs = await effects.pool.fetch(
            """SELECT i.event_id FROM consumer_inbox i WHERE consumer_group = $1
               AND event_id = ANY($2::uuid[]) ORDER BY kafka_offset""",
            effects.group,
            [e.event_id for e in mine],
        )
        assert [row["event_id"] for row in seqs] == [e.event_id for e in mine]
    assert sum(sizes) >= len(events)
    assert max(sizes) > 1, sizes  # batched, not one record per transaction


async def rebuild_runner(
    effects: Effects,
    settings: ServiceSettings,
    published: list[Envelope],
    reads_personal_data: bool = True,
    **options: Any,
) -> tuple[KafkaSettings, ConsumerRunner]:
    """``published`` on a tickets topic of its own (one key, in order), and a runner of the
    effects' group over it (``options``: the runner's), ready to rebuild."""
    kafka = settings.kafka.model_copy(
        update={"topic_prefix": f"{settings.kafka.topic_prefix}{uuid.uuid4().hex[:8]}."}
    )
    await ensure_topics(kafka, [CHECKIN_TICKETS])
    topic = kafka.topic(CHECKIN_TICKETS.name)
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all")
    await producer.start()
    try:
        for event in published:
            await producer.send_and_wait(topic, event.to_bytes(), key=b"one-key")
    finally:
        await producer.stop()
    group = ConsumerGroup(
        effects.group,
        [CHECKIN_TICKETS],
        {TicketLeft: effects.handler},
        read_models=("x",),
        reads_personal_data=reads_personal_data,
    )
    await effects.pool.execute("CREATE TABLE IF NOT EXISTS x (id int)")
    runner = ConsumerRunner(
        effects.pool, group, effects.dead_letter, topic_name=kafka.topic, **options
    )
    return kafka, runner


async def test_a_rebuild_commits_in_batches_and_reports_its_progress(
    effects: Effects, settings: ServiceSettings
) -> None:
    events = [envelope(f"rb-{n}") for n in range(25)]
    kafka, runner = await rebuild_runner(effects, settings, events)
    seen: list[RebuildProgress] = []
    report = await runner.rebuild(kafka.bootstrap_servers, commit_every=10, progress=seen.append)
    assert report["applied"] == 25
    assert await effects.applied() == [e.stream_id for e in events]
    assert seen[-1].records == seen[-1].total == 25
    assert all(p.records <= 10 * (n + 1) for n, p in enumerate(seen))  # at most 10 a commit
    assert report["records_per_second"] > 0


async def test_a_rebuild_applies_an_event_published_twice_once(
    effects: Effects, settings: ServiceSettings
) -> None:
    """A replay copies its inbox rows in, taking every record as new; a second copy of an
    event in a later batch makes that copy fail, and the batch is applied the ordinary way."""
    events = [envelope(f"twice-{n}") for n in range(12)]
    published = [*events, events[3], *[envelope(f"after-{n}") for n in range(4)]]
    kafka, runner = await rebuild_runner(effects, settings, published)
    report = await runner.rebuild(kafka.bootstrap_servers, commit_every=5)
    assert (report["applied"], report["duplicate"]) == (16, 1)
    expected = [e.stream_id for e in published]
    del expected[12]  # the second copy of events[3]
    assert await effects.applied() == expected
    assert len(await effects.inbox()) == 16


async def test_a_rebuild_handler_that_reads_sees_every_write_before_it(
    effects: Effects, settings: ServiceSettings
) -> None:
    """A replay runs a batch's handlers ahead of its transaction, their writes held back; a
    handler that reads must not: it waits for its turn and sees every earlier write, of its
    batch and of the batches before."""
    events = [envelope(f"rd-{n}") for n in range(23)]
    effects.reading = {"rd-7", "rd-13", "rd-20"}
    effects.careless = {"rd-13"}  # even one that swallows the refusal waits for its turn
    kafka, runner = await rebuild_runner(effects, settings, events)
    report = await runner.rebuild(kafka.bootstrap_servers, commit_every=5)
    assert report["applied"] == 23
    expected = [f"rd-{n}@{n}" if f"rd-{n}" in effects.reading else f"rd-{n}" for n in range(23)]
    assert await effects.applied() == expected


async def test_a_rebuild_dead_letters_a_failing_record_and_applies_the_rest_once(
    effects: Effects, settings: ServiceSettings
) -> None:
    """A handler failing while its batch is handled ahead fails again at its turn: retried
    in its own transaction, then dead-lettered; its batch-mates' effects once, in order."""
    events = [envelope(f"rf-{n}") for n in range(12)]
    effects.failures["rf-6"] = 1_000  # always fails
    effects.failures["rf-2"] = 1  # fails once, ahead of its transaction
    kafka, runner = await rebuild_runner(
        effects, settings, events, max_attempts=3, retry_backoff=0.001, max_backoff=0.01
    )
    report = await runner.rebuild(kafka.bootstrap_servers, commit_every=5)
    assert (report["applied"], report["dead_lettered"]) == (11, 1)
    assert await effects.applied() == [e.stream_id for e in events if e.stream_id != "rf-6"]
    [letter] = effects.letters
    assert (letter.event_id, letter.attempts) == (str(events[6].event_id), 3)
    inbox = await effects.inbox()
    assert inbox[events[6].event_id] == "dead_lettered"
    assert sum(outcome == "applied" for outcome in inbox.values()) == 11


async def test_a_rebuild_logs_its_counts_not_a_line_per_record(
    effects: Effects, settings: ServiceSettings, caplog: pytest.LogCaptureFixture
) -> None:
    """A replay's records are history: no ``event applied`` line each (a line cost more than
    handling the record), one ``rebuild finished`` with the counts."""
    events = [envelope(f"lg-{n}") for n in range(12)]
    kafka, runner = await rebuild_runner(effects, settings, events)
    with caplog.at_level(logging.INFO, logger="runtime.consumer"):
        report = await runner.rebuild(kafka.bootstrap_servers, commit_every=5)
    assert report["applied"] == 12
    messages = [r.getMessage() for r in caplog.records if r.name == "runtime.consumer"]
    assert "event applied" not in messages
    assert messages.count("rebuild finished") == 1


async def test_an_idle_groups_long_poll_hands_on_a_record_as_it_arrives(
    pool: asyncpg.Pool, settings: ServiceSettings
) -> None:
    """The poll's timeout (a minute here) delays no record: a record reaching an idle group
    is handled while its poll is under way, long before the timeout (runtime.consumer's
    ``long_polls``; the services' FRONTDESK_KAFKA_CONSUMER_POLL_TIMEOUT_MS)."""
    effects = Effects(pool, projection=True)
    kafka = settings.kafka.model_copy(
        update={"topic_prefix": f"{settings.kafka.topic_prefix}{uuid.uuid4().hex[:8]}."}
    )
    await ensure_topics(kafka, [CHECKIN_TICKETS, dead_letter_topic(effects.group)])
    broker = build_broker(kafka, "long-poll-test", None)
    runner = effects.runner(topic_name=kafka.topic, poll_timeout_ms=60_000)
    runner.subscribe(broker, AckPolicy.ACK)
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all")
    await broker.start()
    await producer.start()
    try:
        for stream_id in ("first", "second"):  # the second reaches a group idle in its poll
            event = envelope(stream_id)
            await producer.send_and_wait(
                kafka.topic(CHECKIN_TICKETS.name), event.to_bytes(), key=stream_id.encode()
            )

            async def applied(stream_id: str = stream_id) -> bool:
                return stream_id in await effects.applied()

            await eventually(applied, within=30)  # half the poll's timeout
    finally:
        await producer.stop()
        await broker.stop()


class NoKeys(Privacy):
    """A key store that must not be reached (every call fails as if it were down)."""

    def __init__(self) -> None:
        super().__init__(None)
        self.asked = 0

    async def load_keys(self, envelopes: Any) -> None:
        self.asked += 1
        raise ConnectionRefusedError("key store down")

    async def reveal(self, envelope: Envelope) -> dict[str, Any]:
        self.asked += 1
        raise ConnectionRefusedError("key store down")


def sealed(stream_id: str) -> Envelope:
    """A ticket left whose reason is sealed under its account's key."""
    plain = envelope(stream_id)
    return plain.model_copy(
        update={
            "payload": {**plain.payload, "reason": "pd1:sealed", "account_ref": "acct-1"},
            "personal_data": PersonalDataRef(
                subject_id="account:acct-1", key_version=1, fields=["reason"]
            ),
        }
    )


async def test_a_group_that_reads_no_personal_data_never_reaches_the_key_store(
    effects: Effects, settings: ServiceSettings
) -> None:
    """Live and replayed from Kafka, its sealed records are applied with their personal values
    withheld (``None``), with the key store down: it is never asked. A group that reads them
    would fail on each record here (``test_a_rebuild_dead_letters_…`` shows how)."""
    reasons: list[str | None] = []
    handler = effects.handler

    async def recording(conn: asyncpg.Connection, event: ReceivedEvent[TicketLeft]) -> None:
        reasons.append(event.payload.reason)
        await handler(conn, event)

    effects.handler = recording  # type: ignore[method-assign]
    events = [sealed(f"wh-{n}") for n in range(12)]
    privacy = NoKeys()
    live = ConsumerRunner(
        effects.pool,
        ConsumerGroup(
            effects.group, [CHECKIN_TICKETS], {TicketLeft: recording}, reads_personal_data=False
        ),
        effects.dead_letter,
        privacy=privacy,
    )
    outcomes = await live.handle_batch(records(events[:4]))
    assert outcomes == [Outcome.APPLIED] * 4
    kafka, runner = await rebuild_runner(
        effects, settings, events, reads_personal_data=False, privacy=privacy
    )
    report = await runner.rebuild(kafka.bootstrap_servers, commit_every=5)
    assert report["applied"] == 12
    # the live batch's rows, then the replay's (it empties its own table only), in order
    assert await effects.applied() == [e.stream_id for e in [*events[:4], *events]]
    assert reasons == [None] * 16
    assert privacy.asked == 0
    assert effects.letters == []


class Tally(Effects):
    """A projection counting each stream's events in one row, read back and written again by
    each event, as a case's file is: remembered (runtime.batched_writes) once read or
    written, so that a replay's later batches find it instead of reading it."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        super().__init__(pool, projection=True)
        self.reads = 0

    async def handler(self, conn: asyncpg.Connection, event: ReceivedEvent[TicketLeft]) -> None:
        stream, key = event.envelope.stream_id, ("tally", event.envelope.stream_id)
        batch = remembering(conn)
        counted = batch.remembered(key) if batch is not None else None
        if counted is None:
            counted = await conn.fetchval(
                "SELECT n FROM batch_tallies WHERE grp = $1 AND stream_id = $2", self.group, stream
            )
            self.reads += 1
        await conn.execute(
            """INSERT INTO batch_tallies (grp, stream_id, n) VALUES ($1, $2, $3)
               ON CONFLICT (grp, stream_id) DO UPDATE SET n = EXCLUDED.n""",
            self.group,
            stream,
            (counted or 0) + 1,
        )
        event_id = str(event.envelope.event_id)
        if self.failures.get(event_id, 0):
            self.failures[event_id] -= 1
            raise ValueError(f"handler failed on {event_id}")
        if batch is not None:
            batch.remember(key, (counted or 0) + 1)

    async def tallies(self) -> dict[str, int]:
        rows = await self.pool.fetch(
            "SELECT stream_id, n FROM batch_tallies WHERE grp = $1", self.group
        )
        return {row["stream_id"]: row["n"] for row in rows}


@pytest_asyncio.fixture(loop_scope="session")
async def tally(pool: asyncpg.Pool) -> Tally:
    await pool.execute(
        """CREATE TABLE IF NOT EXISTS batch_tallies (
               grp text, stream_id text, n int NOT NULL, PRIMARY KEY (grp, stream_id))"""
    )
    return Tally(pool)


async def test_a_rebuilds_later_batches_find_what_the_earlier_ones_remembered(
    tally: Tally, settings: ServiceSettings
) -> None:
    """A stream's row is read once in a whole replay, not once a batch: each batch looks
    behind it at what the committed ones remembered."""
    events = [envelope(f"tl-{n % 3}") for n in range(30)]
    kafka, runner = await rebuild_runner(tally, settings, events)
    report = await runner.rebuild(kafka.bootstrap_servers, commit_every=4)
    assert report["applied"] == 30
    assert await tally.tallies() == {"tl-0": 10, "tl-1": 10, "tl-2": 10}
    assert tally.reads == 3  # each stream's first event: nothing remembered yet


async def test_a_batch_that_did_not_commit_as_collected_makes_the_rebuild_read_again(
    tally: Tally, settings: ServiceSettings
) -> None:
    """A record that fails ahead of its transaction and at its turn sends its batch-mates
    through other writes, and itself alone: what they wrote was not remembered, so what was
    remembered before is forgotten and the batches after read their rows again."""
    events = [envelope(f"tf-{n % 3}") for n in range(30)]
    tally.failures[str(events[13].event_id)] = 2  # ahead, at its turn; then alone, it passes
    kafka, runner = await rebuild_runner(
        tally, settings, events, max_attempts=3, retry_backoff=0.001, max_backoff=0.01
    )
    report = await runner.rebuild(kafka.bootstrap_servers, commit_every=4)
    assert (report["applied"], report["dead_lettered"]) == (30, 0)
    assert await tally.tallies() == {"tf-0": 10, "tf-1": 10, "tf-2": 10}
    assert tally.reads > 3


async def test_a_batch_handled_partly_at_its_turn_is_waited_for_before_the_next_is_collected(
    tally: Tally, settings: ServiceSettings
) -> None:
    """A record failing ahead of its transaction (once) runs at its turn with the ones after
    it, on the same writes: the next batch is collected once they ran, and still finds what
    they remembered."""
    events = [envelope(f"tp-{n % 3}") for n in range(30)]
    tally.failures[str(events[13].event_id)] = 1
    kafka, runner = await rebuild_runner(tally, settings, events)
    report = await runner.rebuild(kafka.bootstrap_servers, commit_every=4)
    assert report["applied"] == 30
    assert await tally.tallies() == {"tp-0": 10, "tp-1": 10, "tp-2": 10}
    assert tally.reads == 3


async def test_a_row_forgotten_past_the_replays_limit_is_read_again(
    tally: Tally, settings: ServiceSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The replay remembers its most recent rows only: a stream whose row was let go is read
    back at its turn, and every tally still ends right."""
    monkeypatch.setattr(consumer, "REPLAY_REMEMBERED", 1)
    events = [envelope(f"tk-{n % 3}") for n in range(30)]
    kafka, runner = await rebuild_runner(tally, settings, events)
    report = await runner.rebuild(kafka.bootstrap_servers, commit_every=4)
    assert report["applied"] == 30
    assert await tally.tallies() == {"tk-0": 10, "tk-1": 10, "tk-2": 10}
    assert tally.reads > 3
