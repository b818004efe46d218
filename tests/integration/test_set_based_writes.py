"""A projection's run of one INSERT sent as one set-based statement (runtime.set_based, through
runtime.batched_writes) leaves its tables exactly as the same writes sent row by row do, on
real PostgreSQL: upserts that touch a row several times in one run, DO NOTHING, JSON values
that are arrays, enums, constants, defaults; statements without such a form keep
``executemany``; a form PostgreSQL refuses leaves the transaction usable."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from runtime import set_based
from runtime.batched_writes import BatchedWrites, WritesFailed
from runtime.db import create_pool
from runtime.settings import ServiceSettings

pytestmark = pytest.mark.integration

TABLES = """
DO $$ BEGIN CREATE TYPE {schema}_mood AS ENUM ('calm', 'busy'); EXCEPTION
  WHEN duplicate_object THEN NULL; END $$;
CREATE TABLE {table} (
    stream_id text PRIMARY KEY,
    events integer NOT NULL,
    last_reason text,
    details jsonb,
    mood {schema}_mood,
    seen_at timestamptz NOT NULL DEFAULT now(),
    note text DEFAULT 'none'
)"""


@pytest_asyncio.fixture(loop_scope="session")
async def pool(databases: list[str], settings: ServiceSettings) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(settings.dsn("scratch"))
    yield pool
    await pool.close()


async def twin_tables(pool: asyncpg.Pool) -> tuple[str, str]:
    """Two empty tables of the same shape: one written set-based, one row by row."""
    suffix = uuid.uuid4().hex[:8]
    names = (f"sets_{suffix}", f"rows_{suffix}")
    for name in names:
        await pool.execute(TABLES.format(schema="sets", table=name))
    return names


async def through_batched_writes(
    pool: asyncpg.Pool, sql: str, rows: Sequence[tuple[Any, ...]]
) -> None:
    async with pool.acquire() as conn, conn.transaction():
        writes = BatchedWrites(conn, (OSError,))
        for position, row in enumerate(rows):
            writes.position = position
            await writes.connection.execute(sql, *row)
        await writes.flush()


async def row_by_row(pool: asyncpg.Pool, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        for row in rows:
            await conn.execute(sql, *row)


async def contents(pool: asyncpg.Pool, table: str) -> list[dict[str, Any]]:
    return [
        dict(record)
        for record in await pool.fetch(
            f"SELECT stream_id, events, last_reason, details, mood, note FROM {table} "
            "ORDER BY stream_id"
        )
    ]


async def both_ways(
    pool: asyncpg.Pool, statement: str, rows: Sequence[tuple[Any, ...]]
) -> tuple[str, list[dict[str, Any]]]:
    """Write ``rows`` with ``statement`` ({table}) both ways; the set-based statement's text,
    and the tables' contents once found equal."""
    sets, one_by_one = await twin_tables(pool)
    await through_batched_writes(pool, statement.format(table=sets), rows)
    await row_by_row(pool, statement.format(table=one_by_one), rows)
    written = await contents(pool, sets)
    assert written == await contents(pool, one_by_one)
    return statement.format(table=sets), written


def reasons(*stream_ids: str) -> list[tuple[str, str]]:
    return [(stream_id, f"reason {index}") for index, stream_id in enumerate(stream_ids)]


async def test_an_upsert_touching_rows_several_times_in_a_run(pool: asyncpg.Pool) -> None:
    upsert = """INSERT INTO {table} VALUES ($1, 1, $2)
                ON CONFLICT (stream_id) DO UPDATE
                SET events = {table}.events + 1, last_reason = EXCLUDED.last_reason"""
    sql, written = await both_ways(pool, upsert, reasons("a", "b", "a", "c", "a", "b", "d", "e"))
    assert set_based._FORMS[sql] is not None  # it went set-based
    assert [(row["stream_id"], row["events"]) for row in written] == [
        ("a", 3),
        ("b", 2),
        ("c", 1),
        ("d", 1),
        ("e", 1),
    ]
    assert written[0]["last_reason"] == "reason 4"


async def test_do_nothing_json_enums_constants_and_defaults(pool: asyncpg.Pool) -> None:
    insert = """INSERT INTO {table} (stream_id, events, details, mood, seen_at)
                VALUES ($1, 7, $2::jsonb, $3, coalesce($4, now()))
                ON CONFLICT (stream_id) DO NOTHING"""
    at = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
    rows = [
        ("a", {"steps": [1, 2], "by": "agent"}, "calm", at),
        ("b", [1, "two", None], "busy", None),
        ("a", {"later": True}, "busy", at),  # skipped: "a" is there
        ("c", None, None, at),
        ("d", "just text", "calm", None),
    ]
    sql, written = await both_ways(pool, insert, rows)
    assert set_based._FORMS[sql] is not None
    assert [row["details"] for row in written] == [
        {"steps": [1, 2], "by": "agent"},
        [1, "two", None],
        None,
        "just text",
    ]
    assert {row["note"] for row in written} == {"none"}  # the default, as row by row


async def test_a_statement_without_a_set_based_form_keeps_its_rows_apart(
    pool: asyncpg.Pool,
) -> None:
    upsert = """INSERT INTO {table} (stream_id, events, last_reason) VALUES ($1, 1, $2)
                ON CONFLICT (stream_id) DO UPDATE SET events = {table}.events + 1,
                last_reason = $2"""
    sql, written = await both_ways(pool, upsert, reasons("a", "a", "b", "a", "c"))
    assert set_based._FORMS[sql] is None  # the text says no
    assert [row["events"] for row in written] == [3, 1, 1]


async def test_a_form_postgresql_refuses_leaves_the_transaction_usable(
    pool: asyncpg.Pool,
) -> None:
    """``DEFAULT`` is a row's word, not a SELECT's: PostgreSQL refuses the set-based form
    when it is prepared (in a savepoint), the statement keeps ``executemany`` and its batch
    commits."""
    insert = "INSERT INTO {table} (stream_id, events, note) VALUES ($1, $2, DEFAULT)"
    sql, written = await both_ways(pool, insert, [("a", 1), ("b", 2), ("c", 3), ("d", 4)])
    assert set_based.shape(sql) is not None  # the text allows it: PostgreSQL said no
    assert set_based._FORMS[sql] is None
    assert [(row["stream_id"], row["note"]) for row in written] == [
        ("a", "none"),
        ("b", "none"),
        ("c", "none"),
        ("d", "none"),
    ]


async def test_keys_postgresql_finds_equal_send_the_statement_back_to_its_rows(
    pool: asyncpg.Pool,
) -> None:
    """Two timestamps of one instant, written in two zones, are one key to PostgreSQL and two
    to Python: the piece is refused as touching a row twice, the batch fails as any write
    would, and its retry (the runner's) goes row by row, as the statement does from then on."""
    sets, _ = await twin_tables(pool)
    await pool.execute(f"ALTER TABLE {sets} ADD UNIQUE (seen_at)")
    upsert = f"""INSERT INTO {sets} (stream_id, events, seen_at) VALUES ($1, 1, $2)
                 ON CONFLICT (seen_at) DO UPDATE SET events = {sets}.events + 1"""
    at = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
    rows = [
        ("a", at),
        ("b", at + timedelta(minutes=1)),
        ("c", at.astimezone(timezone(timedelta(hours=8)))),
        ("d", at + timedelta(minutes=2)),
    ]
    with pytest.raises(WritesFailed) as failed:
        await through_batched_writes(pool, upsert, rows)
    assert isinstance(failed.value.error, asyncpg.CardinalityViolationError)
    assert failed.value.positions == frozenset(range(4))
    assert set_based._FORMS[upsert] is None
    await through_batched_writes(pool, upsert, rows)  # the retry
    assert [
        (record["stream_id"], record["events"])
        for record in await pool.fetch(f"SELECT * FROM {sets} ORDER BY stream_id")
    ] == [("a", 2), ("b", 1), ("d", 1)]


async def test_plain_literals_go_set_based_typed_by_their_columns(pool: asyncpg.Pool) -> None:
    """A bare literal in the row of ``INSERT … SELECT`` takes its column's type (an enum, JSON,
    a timestamp), as in ``VALUES``; one in ``ON CONFLICT … DO UPDATE`` stays where it was."""
    insert = """INSERT INTO {table} (stream_id, events, mood, details, seen_at, note)
                VALUES ($1, 1, 'busy', '7', '2026-12-04 01:30Z', 'set')
                ON CONFLICT (stream_id) DO UPDATE SET events = {table}.events + 1,
                    mood = 'calm', note = EXCLUDED.note"""
    rows = [("a",), ("b",), ("a",), ("c",), ("d",)]
    sql, written = await both_ways(pool, insert, rows)
    assert set_based._FORMS[sql] is not None
    assert [(row["stream_id"], row["events"], row["mood"]) for row in written] == [
        ("a", 2, "calm"),
        ("b", 1, "busy"),
        ("c", 1, "busy"),
        ("d", 1, "busy"),
    ]
    assert {row["details"] for row in written} == {7}
    assert {row["note"] for row in written} == {"set"}


async def test_updates_by_primary_key_go_set_based_one_row_per_piece(pool: asyncpg.Pool) -> None:
    """``UPDATE … WHERE pk = $1``: a run as ``UPDATE … FROM unnest(…)``, cut before a key
    already in its piece, so that a row updated twice in the run is updated twice, in order
    (a row met twice in one ``UPDATE … FROM`` would be updated once)."""
    sets, one_by_one = await twin_tables(pool)
    for table in (sets, one_by_one):
        await pool.executemany(
            f"INSERT INTO {table} (stream_id, events) VALUES ($1, 0)",
            [(name,) for name in "abcde"],
        )
    update = """UPDATE {table} SET events = events + $2, last_reason = $3,
                    details = $4, mood = coalesce($5, mood), note = 'updated'
                WHERE stream_id = $1"""
    rows = [
        ("a", 1, "first", {"n": 1}, "calm"),
        ("b", 2, "first", [1, "two"], None),
        ("a", 10, "second", None, None),
        ("c", 3, None, "text", "busy"),
        ("zz", 4, "no such row", None, None),
        ("a", 100, "third", {"n": 3}, "busy"),
        ("d", 5, "first", None, None),
    ]
    await through_batched_writes(pool, update.format(table=sets), rows)
    await row_by_row(pool, update.format(table=one_by_one), rows)
    written = await contents(pool, sets)
    assert written == await contents(pool, one_by_one)
    form = set_based._FORMS[update.format(table=sets)]
    assert form is not None
    assert form.key == (0,)
    assert [(row["stream_id"], row["events"], row["last_reason"]) for row in written] == [
        ("a", 111, "third"),
        ("b", 2, "first"),
        ("c", 3, None),
        ("d", 5, "first"),
        ("e", 0, None),
    ]
    assert written[0]["details"] == {"n": 3}
    assert written[0]["mood"] == "busy"


@pytest.mark.parametrize(
    "update",
    [
        # not by the primary key: may touch several rows, each met by several of the run
        "UPDATE {table} SET events = events + 1 WHERE last_reason = $1",
        # a subquery: it would see the run's earlier rows one by one, not together
        "UPDATE {table} SET events = (SELECT count(*) FROM {table}) WHERE stream_id = $1",
    ],
)
async def test_updates_that_keep_their_rows_apart(pool: asyncpg.Pool, update: str) -> None:
    sets, one_by_one = await twin_tables(pool)
    for table in (sets, one_by_one):
        await pool.executemany(
            f"INSERT INTO {table} (stream_id, events, last_reason) VALUES ($1, 0, $1)",
            [(name,) for name in "abc"],
        )
    rows = [("a",), ("b",), ("a",), ("c",), ("a",)]
    await through_batched_writes(pool, update.format(table=sets), rows)
    await row_by_row(pool, update.format(table=one_by_one), rows)
    assert await contents(pool, sets) == await contents(pool, one_by_one)
    assert set_based._FORMS.get(update.format(table=sets)) is None


async def test_an_update_of_a_table_with_a_trigger_keeps_its_rows_apart(
    pool: asyncpg.Pool,
) -> None:
    """A trigger may read the table: its rows go one by one, as the trigger expects."""
    sets, _ = await twin_tables(pool)
    await pool.execute(
        f"""CREATE FUNCTION {sets}_count() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN NEW.events := (SELECT count(*) FROM {sets} WHERE events > 0); RETURN NEW; END $$;
            CREATE TRIGGER {sets}_counted BEFORE UPDATE ON {sets}
            FOR EACH ROW EXECUTE FUNCTION {sets}_count()"""
    )
    await pool.executemany(
        f"INSERT INTO {sets} (stream_id, events) VALUES ($1, 0)", [(n,) for n in "abcd"]
    )
    update = f"UPDATE {sets} SET last_reason = $2 WHERE stream_id = $1"
    await through_batched_writes(pool, update, [(n, "x") for n in "abcd"])
    assert set_based._FORMS.get(update) is None


async def test_an_insert_into_a_table_with_a_trigger_keeps_its_rows_apart(
    pool: asyncpg.Pool,
) -> None:
    """An ``AFTER`` trigger that reads the table sees the rows up to its own when they go one
    by one, and all of them when they go together: its table's inserts keep ``executemany``,
    and write what they wrote row by row."""
    sets, one_by_one = await twin_tables(pool)
    for table in (sets, one_by_one):
        await pool.execute(
            f"""CREATE FUNCTION {table}_seen() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN UPDATE {table} SET events = (SELECT count(*) FROM {table})
                      WHERE stream_id = NEW.stream_id;
                      RETURN NULL; END $$;
                CREATE TRIGGER {table}_counted AFTER INSERT ON {table}
                FOR EACH ROW EXECUTE FUNCTION {table}_seen()"""
        )
    insert = "INSERT INTO {table} (stream_id, events) VALUES ($1, 0)"
    rows = [(name,) for name in "abcde"]
    await through_batched_writes(pool, insert.format(table=sets), rows)
    await row_by_row(pool, insert.format(table=one_by_one), rows)
    written = await contents(pool, sets)
    assert written == await contents(pool, one_by_one)
    assert [row["events"] for row in written] == [1, 2, 3, 4, 5]
    assert set_based._FORMS[insert.format(table=sets)] is None
