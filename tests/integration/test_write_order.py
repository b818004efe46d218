"""A batch's writes sent in groups (runtime.write_order, through runtime.batched_writes) leave
the tables exactly as the same writes sent one by one in their order do, on real PostgreSQL:
rows written several times, tables with a second unique index, a trigger, a statement with a
subquery, in a long interleaved run; and the catalogue says what ``write_order`` relies on."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from runtime import catalogue, write_order
from runtime.batched_writes import BatchedWrites
from runtime.catalogue import Table
from runtime.db import create_pool
from runtime.settings import ServiceSettings
from runtime.write_order import Footprint

pytestmark = pytest.mark.integration

SCHEMA = """
CREATE TABLE files_{s} (file_id text PRIMARY KEY, owner text, status text,
                        version integer NOT NULL DEFAULT 0, notes jsonb NOT NULL DEFAULT '[]');
CREATE TABLE entries_{s} (entry_id uuid PRIMARY KEY, file_id text, at integer);
CREATE TABLE tallies_{s} (id serial PRIMARY KEY, day text UNIQUE, n integer NOT NULL);
CREATE TABLE audited_{s} (id integer PRIMARY KEY, file_id text);
CREATE FUNCTION audit_{s}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE files_{s} SET status = 'audited' WHERE file_id = NEW.file_id;
  RETURN NEW;
END $$;
CREATE TRIGGER audit_{s} AFTER INSERT ON audited_{s} FOR EACH ROW EXECUTE FUNCTION audit_{s}();
CREATE TABLE slots_{s} (id integer PRIMARY KEY, during int4range,
                        EXCLUDE USING gist (during WITH &&));
CREATE TABLE guarded_{s} (id integer PRIMARY KEY);
ALTER TABLE guarded_{s} ENABLE ROW LEVEL SECURITY;
"""

STATEMENTS = {
    "new": "INSERT INTO files_{s} (file_id, owner, status) VALUES ($1, $2, 'open') "
    "ON CONFLICT (file_id) DO UPDATE SET owner = EXCLUDED.owner",
    "set": "UPDATE files_{s} SET status = $2, version = version + 1, notes = notes || $3::jsonb "
    "WHERE file_id = $1",
    "gone": "DELETE FROM files_{s} WHERE file_id = $1",
    "entry": "INSERT INTO entries_{s} (entry_id, file_id, at) VALUES ($1, $2, $3) "
    "ON CONFLICT (entry_id) DO NOTHING",
    "tally": "INSERT INTO tallies_{s} (day, n) VALUES ($1, 1) "
    "ON CONFLICT (day) DO UPDATE SET n = tallies_{s}.n + 1",
    "audit": "INSERT INTO audited_{s} (id, file_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    "by_owner": "UPDATE files_{s} SET status = $2 WHERE owner = $1",
    "counted": "UPDATE files_{s} SET version = (SELECT count(*) FROM entries_{s} e "
    "WHERE e.file_id = files_{s}.file_id) WHERE file_id = $1",
}


@pytest_asyncio.fixture(loop_scope="session")
async def pool(databases: list[str], settings: ServiceSettings) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(settings.dsn("scratch"))
    yield pool
    await pool.close()


async def tables(pool: asyncpg.Pool) -> str:
    suffix = uuid.uuid4().hex[:8]
    await pool.execute(SCHEMA.format(s=suffix))
    return suffix


def a_busy_batch(seed: int, length: int, kinds: list[str]) -> list[tuple[str, tuple[Any, ...]]]:
    """Writes as interleaved as a projection's: few files, written again and again."""
    chance = random.Random(seed)
    files = [f"File-{n}" for n in range(6)] + [f"file-{n}" for n in range(3)]  # case-folded
    entries = [uuid.UUID(int=chance.getrandbits(128)) for _ in range(8)]
    batch: list[tuple[str, tuple[Any, ...]]] = []
    for at in range(length):
        kind = chance.choice(kinds)
        file_id = chance.choice(files)
        args: tuple[Any, ...] = {
            "new": (file_id, chance.choice(["ann", "bo"])),
            "set": (file_id, f"s{at}", f"[{at}]"),
            "gone": (file_id,),
            "entry": (chance.choice(entries), file_id, at),
            "tally": (chance.choice(["mon", "tue"]),),
            "audit": (at, file_id),
            "by_owner": (chance.choice(["ann", "bo"]), f"o{at}"),
            "counted": (file_id,),
        }[kind]
        batch.append((kind, args))
    return batch


async def contents(pool: asyncpg.Pool, suffix: str) -> dict[str, list[dict[str, Any]]]:
    return {
        table: [dict(row) for row in await pool.fetch(f"SELECT * FROM {table}_{suffix} ORDER BY 1")]
        for table in ("files", "entries", "tallies", "audited")
    }


async def both_ways(pool: asyncpg.Pool, batch: list[tuple[str, tuple[Any, ...]]]) -> int:
    """``batch`` through a projection's batch and one by one; how many groups it went in,
    once the tables are found equal."""
    grouped, one_by_one = await tables(pool), await tables(pool)
    async with pool.acquire() as conn, conn.transaction():
        writes = BatchedWrites(conn, (OSError,))
        for position, (kind, args) in enumerate(batch):
            writes.position = position
            await writes.connection.execute(STATEMENTS[kind].format(s=grouped), *args)
        sent = await write_order.grouped(conn, writes._queued)
        await writes.flush()
    async with pool.acquire() as conn, conn.transaction():
        for kind, args in batch:
            await conn.execute(STATEMENTS[kind].format(s=one_by_one), *args)
    assert await contents(pool, grouped) == await contents(pool, one_by_one)
    return len(sent)


async def test_writes_in_groups_end_as_they_do_one_by_one(pool: asyncpg.Pool) -> None:
    for seed in range(6):
        await both_ways(pool, a_busy_batch(seed, 300, list(STATEMENTS)))


async def test_writes_by_key_go_in_few_groups(pool: asyncpg.Pool) -> None:
    """Without barriers, the run goes in a few groups per statement (a row's writes in their
    order still split them)."""
    for seed in range(3):
        batch = a_busy_batch(seed, 300, ["new", "set", "entry", "tally"])
        assert await both_ways(pool, batch) < len(batch) // 3


async def test_what_the_catalogue_says_of_a_table(pool: asyncpg.Pool) -> None:
    suffix = await tables(pool)
    async with pool.acquire() as conn:
        assert await catalogue.table(conn, f"files_{suffix}") == Table(("file_id",), False)
        assert await catalogue.table(conn, f"tallies_{suffix}") == Table(None, False)
        # a trigger of its own, row security: writes that reach further, rows seen one by one
        assert await catalogue.table(conn, f"audited_{suffix}") == Table(("id",), True, True)
        assert await catalogue.table(conn, f"slots_{suffix}") == Table(None, False)
        assert await catalogue.table(conn, f"guarded_{suffix}") == Table(("id",), True, True)
        assert await catalogue.table(conn, f"nowhere_{suffix}") is None

        def footprint(kind: str) -> Any:
            return write_order.footprint(conn, STATEMENTS[kind].format(s=suffix))

        assert await footprint("new") == Footprint(f"files_{suffix}", (0,))
        assert await footprint("set") == Footprint(f"files_{suffix}", (0,))
        assert await footprint("tally") == Footprint(f"tallies_{suffix}", None)
        assert await footprint("by_owner") == Footprint(f"files_{suffix}", None)
        assert await footprint("audit") is None
        assert await footprint("counted") is None


async def test_a_catalogue_refusal_is_a_barrier_and_leaves_the_batch_usable(
    pool: asyncpg.Pool,
) -> None:
    async with pool.acquire() as conn, conn.transaction():
        assert await catalogue.table(conn, "not a name") is None  # to_regclass refuses it
        assert await conn.fetchval("SELECT 1") == 1
