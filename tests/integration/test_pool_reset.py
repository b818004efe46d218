"""The pool resets a connection in full only when it took session state (runtime/db.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio

from runtime.db import create_pool, keeps_session_state
from runtime.settings import ServiceSettings

pytestmark = pytest.mark.integration

LOCK = 7_999_123


@pytest_asyncio.fixture(loop_scope="session")
async def pool(databases: list[str], settings: ServiceSettings) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(settings.dsn("scratch"), min_size=1, max_size=1)  # one connection
    yield pool
    await pool.close()


async def _locks_held(pool: asyncpg.Pool) -> int:
    return await pool.fetchval(  # type: ignore[no-any-return]
        """SELECT count(*) FROM pg_locks
           WHERE locktype = 'advisory' AND objid = $1 AND pid = pg_backend_pid()""",
        LOCK,
    )


@pytest.mark.asyncio(loop_scope="session")
async def test_a_connection_that_took_a_session_lock_is_released_without_it(
    pool: asyncpg.Pool,
) -> None:
    async with pool.acquire() as conn:
        keeps_session_state(conn)
        await conn.execute("SELECT pg_advisory_lock($1)", LOCK)
        await conn.execute("LISTEN frontdesk_test_channel")
        # released without unlocking, as a cancelled unlock would leave it
    assert await _locks_held(pool) == 0
    listening = await pool.fetchval("SELECT count(*) FROM pg_listening_channels()")
    assert listening == 0


@pytest.mark.asyncio(loop_scope="session")
async def test_an_open_transaction_is_still_rolled_back_on_release(pool: asyncpg.Pool) -> None:
    await pool.execute("CREATE TABLE IF NOT EXISTS reset_probe (n int)")
    async with pool.acquire() as conn:
        await conn.execute("BEGIN")
        await conn.execute("INSERT INTO reset_probe VALUES (1)")
    assert await pool.fetchval("SELECT count(*) FROM reset_probe") == 0
    assert await pool.fetchval("SELECT pg_current_xact_id_if_assigned()") is None
