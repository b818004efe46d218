"""The one command path (runtime/repository.py) over real PostgreSQL: load, decide, append,
hooks in the same transaction, snapshots that never change the outcome."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import asyncpg
import pytest
import pytest_asyncio

from contracts import Actor, EventPayload
from contracts.events.audit import DataPurged
from contracts.events.checkin import TicketLeft
from runtime.aggregate import AggregateType, Snapshots
from runtime.commands import command
from runtime.context import CommandContext
from runtime.db import create_pool, migrate
from runtime.errors import ConcurrencyConflict
from runtime.eventstore import Alongside, EventStore
from runtime.keystore import KEYSTORE_MIGRATIONS, MasterKey, PostgresKeyStore
from runtime.privacy import Privacy
from runtime.repository import Executed, Loaded, Repository
from runtime.scheduler import ManualClock, Timer, TimerRunner, schedule
from runtime.settings import ServiceSettings

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Tally:
    purged: int = 0
    runs: int = 0
    last_policy: str | None = None


def evolve(state: Tally, event: EventPayload) -> Tally:
    assert isinstance(event, DataPurged)
    return replace(
        state, purged=state.purged + event.purged, runs=state.runs + 1, last_policy=event.policy
    )


TALLY = AggregateType[Tally]("tally", Tally, evolve)
SNAPSHOTTED = AggregateType[Tally]("tally", Tally, evolve, Snapshots(version=1, every=10))


def purged(count: int = 1, policy: str = "idempotency_keys") -> DataPurged:
    now = datetime.now(UTC)
    return DataPurged(
        service="test",
        policy=policy,
        description="test",
        retention_days=1,
        purged=count,
        older_than=now,
        purged_at=now,
    )


@pytest_asyncio.fixture(loop_scope="session")
async def pool(databases: list[str], settings: ServiceSettings) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(settings.dsn("scratch"))
    await migrate(pool, [])
    yield pool
    await pool.close()


def context() -> CommandContext:
    return CommandContext.new(Actor(id="tester", role="admin"))


async def test_execute_appends_runs_hooks_and_a_decision_without_events_appends_nothing(
    pool: asyncpg.Pool,
) -> None:
    seen: list[tuple[int, int]] = []

    async def hook(conn: asyncpg.Connection, executed: Executed[Tally], _: CommandContext) -> None:
        assert conn.is_in_transaction()
        seen.append((executed.before.runs, executed.state.runs))

    tallies = Repository(EventStore("test"), TALLY, after_append=[hook])
    stream = f"tally-{uuid.uuid4()}"
    first = await command(
        pool, lambda c: tallies.execute(c, stream, lambda s: [purged(2)], context())
    )
    assert (first.version, first.state.purged, first.changed) == (1, 2, True)
    nothing = await command(pool, lambda c: tallies.execute(c, stream, lambda s: [], context()))
    assert (nothing.version, nothing.changed, nothing.envelopes) == (1, False, [])
    assert seen == [(0, 1)]  # hooks run only after an append
    async with pool.acquire() as conn:
        loaded = await tallies.get(conn, stream)
    assert (loaded.version, loaded.state) == (
        1,
        Tally(purged=2, runs=1, last_policy="idempotency_keys"),
    )


async def test_snapshots_give_the_same_state_and_a_changed_fold_ignores_them(
    pool: asyncpg.Pool,
) -> None:
    plain = Repository(EventStore("test"), TALLY)
    snapshotted = Repository(EventStore("test"), SNAPSHOTTED)
    stream = f"tally-{uuid.uuid4()}"
    for n in range(25):

        async def purge(c: asyncpg.Connection, n: int = n) -> Executed[Tally]:
            return await snapshotted.execute(
                c, stream, lambda s: [purged(n + 1, f"policy-{n}")], context()
            )

        await command(pool, purge)
    async with pool.acquire() as conn:
        version = await conn.fetchval(
            "SELECT stream_version FROM snapshots WHERE stream_id = $1", stream
        )
        assert version == 20  # written when an append crossed 10 and 20
        from_snapshot = await snapshotted.get(conn, stream)
        from_events = await plain.get(conn, stream)
        assert from_snapshot == from_events
        assert from_snapshot.state == Tally(
            purged=sum(range(1, 26)), runs=25, last_policy="policy-24"
        )
        # a new fold version: the stored snapshot is not used
        changed = Repository(
            EventStore("test"),
            AggregateType[Tally]("tally", Tally, evolve, Snapshots(version=2, every=10)),
        )
        assert await changed.get(conn, stream) == from_events
        # an unreadable snapshot is ignored, never trusted
        await conn.execute(
            "UPDATE snapshots SET state = '\"garbage\"' WHERE stream_id = $1", stream
        )
        assert await snapshotted.get(conn, stream) == from_events


async def test_a_concurrent_append_is_retried_by_command_on_the_fresh_state(
    pool: asyncpg.Pool,
) -> None:
    tallies = Repository(EventStore("test"), TALLY)
    stream = f"tally-{uuid.uuid4()}"
    interfered = False

    async def act(conn: asyncpg.Connection) -> Executed[Tally]:
        nonlocal interfered
        loaded = await tallies.get(conn, stream)
        if not interfered:  # another request appends between our load and our append
            interfered = True
            await command(
                pool, lambda other: tallies.execute(other, stream, lambda s: [purged()], context())
            )
            await tallies.store.append(conn, stream, loaded.version, [purged(10)], context())
        return await tallies.execute(conn, stream, lambda s: [purged(10)], context())

    executed = await command(pool, act)
    assert (executed.version, executed.state.purged) == (2, 11)
    with pytest.raises(ConcurrencyConflict):
        async with pool.acquire() as conn, conn.transaction():
            await EventStore("test").append(conn, stream, 1, [purged()], context())


async def test_envelopes_carry_the_service_clock_and_timers_carry_the_flow(
    pool: asyncpg.Pool,
) -> None:
    clock = ManualClock(datetime(2031, 5, 6, 7, 8, tzinfo=UTC))
    tallies = Repository(EventStore("test", clock=clock), TALLY)
    stream = f"tally-{uuid.uuid4()}"
    flow = CommandContext.new(Actor(id="agent-7", role="agent"), uuid.uuid4())
    executed = await command(pool, lambda c: tallies.execute(c, stream, lambda s: [purged()], flow))
    assert executed.envelopes[0].occurred_at == clock.now()

    fired: list[CommandContext] = []

    async def on_due(conn: asyncpg.Connection, timer: Timer, now: datetime) -> None:
        fired.append(timer.context("test"))

    kind = f"flow-{uuid.uuid4().hex[:8]}"
    async with pool.acquire() as conn:
        await schedule(conn, f"t-{uuid.uuid4()}", kind, clock.now(), {}, flow)
    await TimerRunner(pool, {kind: on_due}, clock, service="test").fire_due()
    assert len(fired) == 1
    assert fired[0].correlation_id == flow.correlation_id
    assert fired[0].actor == Actor(id="test", role="service")


async def test_a_deadlock_victim_is_run_again_and_both_commands_succeed(
    pool: asyncpg.Pool,
) -> None:
    """Two commands lock the same two rows in opposite orders (as two reactions on two
    accounts may): PostgreSQL aborts one as the deadlock victim; ``command`` runs it again
    and both succeed, each once. The victim's next attempt may meet the other command
    head-on again (on a busy box it can start before the other has its second row) and be
    aborted again: every victim is run again and wrote nothing, whatever their number."""
    table = f"deadlock_{uuid.uuid4().hex[:8]}"
    await pool.execute(f"CREATE TABLE {table} (name text PRIMARY KEY, changes int NOT NULL)")
    await pool.execute(f"INSERT INTO {table} VALUES ('a', 0), ('b', 0)")
    both_hold_their_first = asyncio.Barrier(2)
    attempts: list[str] = []

    def locking(first: str, second: str) -> Callable[[asyncpg.Connection], Awaitable[None]]:
        async def act(conn: asyncpg.Connection) -> None:
            attempts.append(first)
            await conn.execute(f"UPDATE {table} SET changes = changes + 1 WHERE name = $1", first)
            if attempts.count(first) == 1:  # the first attempt meets the other head-on
                await both_hold_their_first.wait()
            await conn.execute(f"UPDATE {table} SET changes = changes + 1 WHERE name = $1", second)

        return act

    await asyncio.gather(command(pool, locking("a", "b")), command(pool, locking("b", "a")))
    assert len(attempts) >= 3, attempts  # at least one victim, run again
    assert {"a", "b"} <= set(attempts), attempts
    changes = dict(await pool.fetch(f"SELECT name, changes FROM {table}"))
    assert changes == {"a": 2, "b": 2}  # every command once: the victim wrote nothing
    await pool.execute(f"DROP TABLE {table}")


@dataclass(frozen=True)
class Leavers:
    left: int = 0
    reasons: tuple[str | None, ...] = ()


def evolve_leavers(state: Leavers, event: EventPayload) -> Leavers:
    assert isinstance(event, TicketLeft)
    return Leavers(state.left + 1, (*state.reasons, event.reason))


async def test_a_fold_reveals_sealed_personal_data_from_the_snapshot_on_and_from_the_start(
    pool: asyncpg.Pool, settings: ServiceSettings
) -> None:
    """A fold reads only the payloads of the events, and the envelope of those that seal
    personal data (runtime/eventstore.py, ``payloads``): the reasons come back in clear,
    with and without a snapshot, while the stored events hold none of them."""
    await migrate(pool, [KEYSTORE_MIGRATIONS], with_event_store=False)
    keys = PostgresKeyStore(pool, MasterKey(settings.master_key_bytes()))
    store = EventStore("test", Privacy(keys))
    plain = Repository(store, AggregateType[Leavers]("leavers", Leavers, evolve_leavers))
    snapshotted = Repository(
        store,
        AggregateType[Leavers]("leavers", Leavers, evolve_leavers, Snapshots(version=1, every=3)),
    )
    stream, account = f"leavers-{uuid.uuid4()}", f"acct-{uuid.uuid4().hex[:8]}"
    reasons = [f"reason {n} {uuid.uuid4().hex[:6]}" if n % 2 == 0 else None for n in range(7)]
    for reason in reasons:
        left = TicketLeft(
            ticket_id=uuid.uuid4(), reason=reason, left_at=datetime.now(UTC), account_ref=account
        )

        async def leave(c: asyncpg.Connection, left: TicketLeft = left) -> Executed[Leavers]:
            return await snapshotted.execute(c, stream, lambda s: [left], context())

        await command(pool, leave)
    expected = Leavers(len(reasons), tuple(reasons))
    async with pool.acquire() as conn:
        assert (
            await conn.fetchval("SELECT stream_version FROM snapshots WHERE stream_id = $1", stream)
            == 6
        )
        assert (await snapshotted.get(conn, stream)) == Loaded(expected, 7)
        assert (await plain.get(conn, stream)) == Loaded(expected, 7)
        stored = await conn.fetchval(
            "SELECT string_agg(envelope::text, ' ') FROM events WHERE stream_id = $1", stream
        )
    assert all(reason not in stored for reason in reasons if reason is not None)


async def test_a_new_stream_is_decided_on_the_initial_state_and_a_taken_one_conflicts(
    pool: asyncpg.Pool,
) -> None:
    """``execute(..., new=True)``: a command on a stream whose id it has just made decides on
    the initial state without reading the stream; were the id taken after all, the append
    fails as a conflict and nothing is written."""
    seen: list[int] = []

    async def hook(conn: asyncpg.Connection, executed: Executed[Tally], _: CommandContext) -> None:
        seen.append(executed.version)

    tally = Repository(EventStore("test"), TALLY, after_append=[hook])
    stream = f"tally-{uuid.uuid4()}"
    async with pool.acquire() as conn, conn.transaction():
        first = await tally.execute(conn, stream, lambda s: [purged()], context(), new=True)
    assert (first.before, first.version, seen) == (Tally(), 1, [1])
    assert first.state == Tally(purged=1, runs=1, last_policy="idempotency_keys")

    with pytest.raises(ConcurrencyConflict):
        async with pool.acquire() as conn, conn.transaction():
            await tally.execute(conn, stream, lambda s: [purged()], context(), new=True)
    async with pool.acquire() as conn:
        assert (await tally.get(conn, stream)).version == 1  # nothing of the second written
    assert seen == [1]


async def test_writes_with_the_append_go_in_its_statement_and_only_with_it(
    pool: asyncpg.Pool,
) -> None:
    """``Repository(with_append=...)``: each write made of the state before and after goes in
    the append's own statement (its parameters numbered after the append's and the other
    writes'); a decision without events writes none, and a conflicting append none either."""
    async with pool.acquire() as conn:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS tally_runs (stream_id text PRIMARY KEY, runs int);
               CREATE TABLE IF NOT EXISTS tally_moves (stream_id text, before int, after int)"""
        )
    stream = f"tally-{uuid.uuid4()}"

    def runs(before: Tally, after: Tally) -> Alongside:
        return Alongside(
            """kept_runs AS (INSERT INTO tally_runs (stream_id, runs) VALUES ($1, $2)
               ON CONFLICT (stream_id) DO UPDATE SET runs = EXCLUDED.runs RETURNING 1)""",
            (stream, after.runs),
        )

    def moves(before: Tally, after: Tally) -> Alongside | None:
        if after.purged > 2:
            return None  # a write may also not be wanted for a change
        return Alongside(
            """kept_move AS (INSERT INTO tally_moves VALUES ($1, $2, $3) RETURNING 1)""",
            (stream, before.purged, after.purged),
        )

    tally = Repository(EventStore("test"), TALLY, with_append=[runs, moves])
    await command(pool, lambda c: tally.execute(c, stream, lambda s: [purged()], context()))
    await command(pool, lambda c: tally.execute(c, stream, lambda s: [purged()], context()))
    await command(pool, lambda c: tally.execute(c, stream, lambda s: [], context()))
    await command(pool, lambda c: tally.execute(c, stream, lambda s: [purged()], context()))
    with pytest.raises(ConcurrencyConflict):
        async with pool.acquire() as conn, conn.transaction():
            await tally.execute(conn, stream, lambda s: [purged()], context(), new=True)
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT runs FROM tally_runs WHERE stream_id = $1", stream) == 3
        moved = await conn.fetch(
            "SELECT before, after FROM tally_moves WHERE stream_id = $1 ORDER BY after", stream
        )
        assert [tuple(row) for row in moved] == [(0, 1), (1, 2)]
        assert (await tally.get(conn, stream)).version == 3


class CountedPool:
    """The pool, counting the statements sent through it."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool, self.sent = pool, 0

    def __getattr__(self, name: str) -> object:
        method = getattr(self.pool, name)

        async def counted(*args: object, **kwargs: object) -> object:
            self.sent += 1
            return await method(*args, **kwargs)

        return counted


async def test_a_batchs_keys_come_from_the_key_store_in_one_round_trip(
    pool: asyncpg.Pool, settings: ServiceSettings
) -> None:
    """``load`` (a consumer batch's sealed records, runtime/consumer.py ``_load_keys``) asks
    once for every key; ``key`` then finds them; an erased one stays out, as ``key`` says."""
    await migrate(pool, [KEYSTORE_MIGRATIONS], with_event_store=False)
    master = MasterKey(settings.master_key_bytes())
    writer = PostgresKeyStore(pool, master)
    subjects = [f"account:acct-{uuid.uuid4().hex[:8]}" for _ in range(4)]
    made = {subject: await writer.current_key(subject) for subject in subjects}
    assert await writer.erase(subjects[-1])
    counted = CountedPool(pool)
    reader = PostgresKeyStore(counted, master)  # type: ignore[arg-type]
    await reader.load([(subject, 1) for subject in subjects] + [(subjects[0], 1)])
    assert counted.sent == 1
    for subject in subjects[:-1]:
        assert await reader.key(subject, 1) == made[subject]
    assert counted.sent == 1  # each found where ``load`` put it
    assert await reader.key(subjects[-1], 1) is None  # erased: asked, and still none
    await reader.load([(subject, 1) for subject in subjects[:-1]])
    assert counted.sent == 2  # what it holds is not asked again
