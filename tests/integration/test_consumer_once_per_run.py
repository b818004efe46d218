"""``once_per_run``: work a handler asks for per record (re-estimating a queue that moved) runs
once per key per run of records, after the run's handlers and in its transaction, as the latest
ask made it; a failure of that work is the last asker's (retried alone, the others committed
again without it); outside a consumer's run it runs at once."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio

from contracts.events.checkin import TicketLeft
from contracts.topics import CHECKIN_TICKETS
from runtime.consumer import (
    ConsumerGroup,
    ConsumerRunner,
    DeadLetter,
    Outcome,
    ReceivedEvent,
    Record,
    once_per_run,
)
from runtime.db import create_pool, migrate
from runtime.settings import ServiceSettings
from tests.integration.test_consumer_batch import envelope

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(loop_scope="session")
async def pool(databases: list[str], settings: ServiceSettings) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(settings.dsn("scratch"))
    await migrate(pool, [])
    await pool.execute(
        """CREATE TABLE IF NOT EXISTS once_effects (
               seq bigserial PRIMARY KEY, grp text NOT NULL, what text NOT NULL)"""
    )
    yield pool
    await pool.close()


class Queues:
    """A handler that writes a row per record and asks, per record, for the work of the key its
    stream id starts with ("a1" asks for "a"); the work writes "key:the asker's stream"."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.group = f"tests.o{uuid.uuid4().hex[:6]}"
        self.failing: dict[str, int] = {}  # the work asked by this stream fails this often

    async def handler(self, conn: asyncpg.Connection, event: ReceivedEvent[TicketLeft]) -> None:
        stream = event.envelope.stream_id
        await self.write(conn, stream)

        async def work(db: asyncpg.Connection) -> None:
            if self.failing.get(stream, 0):
                self.failing[stream] -= 1
                raise ValueError(f"the work asked by {stream} failed")
            await self.write(db, f"{stream[0]}:{stream}")

        await once_per_run(conn, stream[0], work)

    async def write(self, conn: asyncpg.Connection, what: str) -> None:
        await conn.execute("INSERT INTO once_effects (grp, what) VALUES ($1, $2)", self.group, what)

    def runner(self) -> ConsumerRunner:
        async def dead_letter(letter: DeadLetter) -> None:
            raise AssertionError(letter.error)

        group = ConsumerGroup(self.group, [CHECKIN_TICKETS], {TicketLeft: self.handler})
        return ConsumerRunner(
            self.pool, group, dead_letter, max_attempts=3, retry_backoff=0.001, max_backoff=0.01
        )

    async def written(self) -> list[str]:
        rows = await self.pool.fetch(
            "SELECT what FROM once_effects WHERE grp = $1 ORDER BY seq", self.group
        )
        return [row["what"] for row in rows]


def records(*streams: str) -> list[Record]:
    return [
        Record(envelope(stream).to_bytes(), b"k", "tests.once", 0, offset)
        for offset, stream in enumerate(streams)
    ]


async def test_the_work_runs_once_per_key_per_run_as_the_latest_ask_made_it(
    pool: asyncpg.Pool,
) -> None:
    queues = Queues(pool)
    outcomes = await queues.runner().handle_batch(records("a1", "b1", "a2", "a3"))
    assert outcomes == [Outcome.APPLIED] * 4
    # every handler first, then each key's work once, in the order of the latest asks
    assert await queues.written() == ["a1", "b1", "a2", "a3", "b:b1", "a:a3"]


async def test_a_failing_work_is_the_last_askers_failure(pool: asyncpg.Pool) -> None:
    queues = Queues(pool)
    queues.failing["a3"] = 1  # fails once, in the batch
    outcomes = await queues.runner().handle_batch(records("a1", "a2", "a3"))
    assert outcomes == [Outcome.APPLIED] * 3
    # the run rolled back; a1 and a2 committed again without a3 (their work as a2 asked it),
    # then a3 alone, its work as it asked it
    assert await queues.written() == ["a1", "a2", "a:a2", "a3", "a:a3"]


async def test_outside_a_run_the_work_runs_at_once(pool: asyncpg.Pool) -> None:
    queues = Queues(pool)
    event = envelope("c1")
    async with pool.acquire() as conn:
        await queues.handler(
            conn, ReceivedEvent(event, TicketLeft.model_validate(event.payload), "t", 0, 0)
        )
    assert await queues.written() == ["c1", "c:c1"]
