"""Durable timers over real PostgreSQL, driven by a manual clock (no sleeps)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest
import pytest_asyncio

from runtime.db import create_pool, migrate
from runtime.scheduler import (
    ManualClock,
    Timer,
    TimerRunner,
    cancel,
    cancel_unless_firing,
    schedule,
)
from runtime.settings import ServiceSettings

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(loop_scope="session")
async def pool(databases: list[str], settings: ServiceSettings) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(settings.dsn("scratch"))
    await migrate(pool, [])
    await pool.execute("DELETE FROM timers")
    await pool.execute(
        "CREATE TABLE IF NOT EXISTS timer_effects (timer_id text, fired_at timestamptz)"
    )
    await pool.execute("DELETE FROM timer_effects")
    yield pool
    await pool.close()


async def record(conn: asyncpg.Connection, timer: Timer, now: object) -> None:
    await conn.execute("INSERT INTO timer_effects VALUES ($1, $2)", timer.timer_id, now)


async def effects(pool: asyncpg.Pool) -> list[str]:
    return [
        r["timer_id"] for r in await pool.fetch("SELECT timer_id FROM timer_effects ORDER BY 1")
    ]


class Slow:
    """A handler that records its timer only once released: a runner stays in it meanwhile."""

    def __init__(self) -> None:
        self.started, self.release = asyncio.Event(), asyncio.Event()

    async def __call__(self, conn: asyncpg.Connection, timer: Timer, now: object) -> None:
        self.started.set()
        await self.release.wait()
        await record(conn, timer, now)


async def test_timers_fire_when_due_once_and_in_due_order(pool: asyncpg.Pool) -> None:
    clock = ManualClock()
    start = clock.now()
    async with pool.acquire() as conn:
        await schedule(conn, "b", "remind", start + timedelta(minutes=10))
        await schedule(conn, "a", "remind", start + timedelta(minutes=5))
        await schedule(conn, "later", "remind", start + timedelta(hours=1))
        await schedule(conn, "moved", "remind", start + timedelta(minutes=1))
        await schedule(conn, "moved", "remind", start + timedelta(hours=2))  # same id: moved
        await schedule(conn, "dropped", "remind", start + timedelta(minutes=1))
        assert await cancel(conn, "dropped")
    runner = TimerRunner(pool, {"remind": record}, clock)
    assert await runner.fire_due() == 0
    clock.advance(timedelta(minutes=30))
    assert await runner.fire_due() == 2
    assert await effects(pool) == ["a", "b"]
    assert await runner.fire_due() == 0  # fired once
    clock.advance(timedelta(hours=2))
    assert await runner.fire_due() == 2
    assert await effects(pool) == ["a", "b", "later", "moved"]


async def test_two_replicas_never_fire_the_same_timer_twice(pool: asyncpg.Pool) -> None:
    clock = ManualClock()
    async with pool.acquire() as conn:
        for n in range(40):
            await schedule(conn, f"t{n:02d}", "remind", clock.now())
    replicas = [TimerRunner(pool, {"remind": record}, clock) for _ in range(2)]
    counts = await asyncio.gather(*(replica.fire_due() for replica in replicas))
    assert sum(counts) == 40
    assert await effects(pool) == [f"t{n:02d}" for n in range(40)]


async def test_a_failing_handler_changes_nothing_and_is_retried_later(pool: asyncpg.Pool) -> None:
    clock = ManualClock()
    failures = {"left": 2}

    async def flaky(conn: asyncpg.Connection, timer: Timer, now: object) -> None:
        await record(conn, timer, now)
        if failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("downstream not ready")

    async with pool.acquire() as conn:
        await schedule(conn, "flaky", "flaky", clock.now())
    runner = TimerRunner(pool, {"flaky": flaky}, clock)
    assert await runner.fire_due() == 1
    assert await effects(pool) == []  # the effect rolled back with the failure
    row = await pool.fetchrow(
        "SELECT attempts, last_error, due_at FROM timers WHERE timer_id = 'flaky'"
    )
    assert row["attempts"] == 1
    assert "downstream not ready" in row["last_error"]
    assert row["due_at"] > clock.now()  # backed off
    clock.advance(timedelta(minutes=10))
    await runner.fire_due()
    clock.advance(timedelta(minutes=10))
    await runner.fire_due()
    assert await effects(pool) == ["flaky"]
    assert await pool.fetchval("SELECT count(*) FROM timers WHERE timer_id = 'flaky'") == 0


async def test_a_handler_can_reschedule_its_own_timer(pool: asyncpg.Pool) -> None:
    clock = ManualClock()

    async def every_hour(conn: asyncpg.Connection, timer: Timer, now: object) -> None:
        await record(conn, timer, now)
        if timer.payload["left"] > 1:
            await schedule(
                conn,
                timer.timer_id,
                timer.kind,
                timer.due_at + timedelta(hours=1),
                {"left": timer.payload["left"] - 1},
            )

    async with pool.acquire() as conn:
        await schedule(conn, "hourly", "hourly", clock.now(), {"left": 3})
    runner = TimerRunner(pool, {"hourly": every_hour}, clock)
    for _ in range(5):
        await runner.fire_due()
        clock.advance(timedelta(hours=1))
    assert await effects(pool) == ["hourly"] * 3


async def test_fire_due_returns_only_once_another_runners_timer_committed(
    pool: asyncpg.Pool,
) -> None:
    clock = ManualClock()
    slow = Slow()

    async with pool.acquire() as conn:
        await schedule(conn, "slow", "slow", clock.now())
    background = TimerRunner(pool, {"slow": slow}, clock)
    explicit = TimerRunner(pool, {"slow": slow}, clock)
    busy = asyncio.create_task(background.fire_due())
    await slow.started.wait()  # the background runner holds the timer
    waiting = asyncio.create_task(explicit.fire_due())
    await asyncio.sleep(0.3)
    assert not waiting.done()  # it waits for the other runner instead of returning early
    slow.release.set()
    assert await waiting == 0
    assert await busy == 1
    assert await effects(pool) == ["slow"]  # visible the moment fire_due returned


async def test_cancel_unless_firing_leaves_a_timer_being_fired_to_its_handler(
    pool: asyncpg.Pool,
) -> None:
    clock = ManualClock()
    async with pool.acquire() as firing, pool.acquire() as other:
        await schedule(firing, "in-flight", "remind", clock.now())
        await schedule(firing, "idle", "remind", clock.now())
        async with firing.transaction():  # a runner holds the row while its handler runs
            await firing.execute("SELECT 1 FROM timers WHERE timer_id = 'in-flight' FOR UPDATE")
            async with other.transaction():
                assert not await cancel_unless_firing(other, "in-flight")  # does not wait
                assert await cancel_unless_firing(other, "idle")
                assert await cancel_unless_firing(other, "never-scheduled")
        remaining = {r["timer_id"] for r in await other.fetch("SELECT timer_id FROM timers")}
    assert "in-flight" in remaining
    assert "idle" not in remaining
    await pool.execute("DELETE FROM timers WHERE timer_id = 'in-flight'")


async def test_a_held_runner_fires_nothing_on_its_own_but_fires_when_called(
    pool: asyncpg.Pool,
) -> None:
    clock = ManualClock()
    runner = TimerRunner(pool, {"remind": record}, clock, poll_interval=0.01)
    stop = asyncio.Event()
    async with runner.held():
        background = asyncio.create_task(runner.run(stop))
        async with pool.acquire() as conn:
            await schedule(conn, "held", "remind", clock.now())
        # the loop polls many times meanwhile; the timer stays until it is fired by hand
        for _ in range(20):
            await asyncio.sleep(0.01)
            assert await effects(pool) == []
        assert await runner.fire_due() == 1
    stop.set()
    await background
    assert await effects(pool) == ["held"]


async def test_a_hold_waits_for_the_loops_pass_and_that_pass_fires_nothing_more(
    pool: asyncpg.Pool,
) -> None:
    """A hold that begins while the loop is firing: the pass ends before its next timer, and
    the hold begins only then. Without that, a timer that became due inside the block (a
    campaign's first batch, scheduled by the very command the block was opened for) was
    fired by the pass already under way."""
    clock = ManualClock()
    slow = Slow()

    runner = TimerRunner(pool, {"remind": record, "slow": slow}, clock, poll_interval=0.01)
    stop = asyncio.Event()
    async with pool.acquire() as conn:
        await schedule(conn, "under-way", "slow", clock.now())
    background = asyncio.create_task(runner.run(stop))
    await slow.started.wait()  # the loop's pass is firing
    async with pool.acquire() as conn:
        await schedule(conn, "in-the-block", "remind", clock.now())  # due while it fires

    holding = asyncio.Event()

    async def hold_then_look() -> list[str]:
        async with runner.held():
            holding.set()
            seen = await effects(pool)
            for _ in range(20):  # the loop polls many times meanwhile
                await asyncio.sleep(0.01)
            assert await effects(pool) == seen
            assert await runner.fire_due() == 1
            return seen

    looking = asyncio.create_task(hold_then_look())
    try:
        await asyncio.sleep(0.1)
        assert not holding.is_set()  # the hold waits for the pass under way
        slow.release.set()
        assert await looking == ["under-way"]  # the pass ended before the timer due in the block
    finally:
        slow.release.set()
        stop.set()
        await background
    assert await effects(pool) == ["in-the-block", "under-way"]
