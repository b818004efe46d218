"""PostgreSQL: the connection pool and the migrations every service applies on start."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg
from pydantic_core import from_json, to_json

from runtime.telemetry import log_fields

log = logging.getLogger(__name__)

RUNTIME_MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_LOCK = 7_200_001


def encode_json(value: Any) -> str:
    """How a JSON parameter's Python value becomes its text: pydantic-core's encoder, about
    four times as fast as ``json.dumps`` (a projection's rebuild encodes several values per
    event). Compact; non-ASCII as it is; a value JSON has no form for is refused, as by
    ``json.dumps``, but for the ones pydantic knows (a UUID, a datetime: their JSON text)."""
    return to_json(value).decode()


decode_json = from_json  # a JSON column's text as Python values (as ``json.loads``, faster)


async def _init_connection(conn: asyncpg.Connection) -> None:
    for name in ("jsonb", "json"):
        await conn.set_type_codec(
            name, encoder=encode_json, decoder=decode_json, schema="pg_catalog"
        )


class Connection(asyncpg.Connection):
    """A pool connection that is reset in full on release only when it took session state.

    asyncpg resets every connection it takes back (``pg_advisory_unlock_all(); CLOSE ALL;
    UNLISTEN *; RESET ALL``): one round trip per request and per consumer batch. Frontdesk's
    session state is rare and known: a session advisory lock (the relay's leadership, a
    rebuild, the migrations) and the relay's LISTEN; each caller says so with
    ``keeps_session_state`` before taking it. Nothing sets session variables (``SET`` without
    ``LOCAL``), and cursors live only inside transactions. An open transaction is still always
    rolled back on release (asyncpg does that before asking for the reset query)."""

    _session_state = False

    def keep_session_state(self) -> None:
        self._session_state = True

    def get_reset_query(self) -> str:
        if not self._session_state:
            return ""
        self._session_state = False
        return super().get_reset_query()  # type: ignore[no-any-return]


def keeps_session_state(conn: asyncpg.Connection) -> None:
    """The pool connection ``conn`` is about to take state that outlives a transaction (a
    session advisory lock, LISTEN): reset it in full when it goes back to the pool."""
    mark = getattr(conn, "keep_session_state", None)  # through the pool's proxy
    if mark is not None:
        mark()


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        command_timeout=30,
        connection_class=Connection,
    )
    assert pool is not None
    return pool


async def drop_database(admin: asyncpg.Connection, name: str, *, tries: int = 5) -> None:
    """``DROP DATABASE … WITH (FORCE)`` that an autovacuum worker cannot refuse.

    FORCE ends the database's other sessions, and PostgreSQL 15 checks the right to end each
    of them as ``pg_terminate_backend`` does: an autovacuum worker working in the database at
    that moment is a process of no role, which only a superuser or a member of
    ``pg_signal_backend`` may end, so the drop fails ("must be a member of the role whose
    process is being terminated"). A plain ``DROP DATABASE`` asks autovacuum workers to stop
    and waits for them; it refuses only while a session is connected, which FORCE ends. So:
    FORCE, and after that refusal the plain drop, a few times."""
    for attempt in range(tries):
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except asyncpg.InsufficientPrivilegeError:
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
                return
            except asyncpg.ObjectInUseError:
                if attempt == tries - 1:
                    raise


async def connect(dsn: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(dsn, command_timeout=30)
    await _init_connection(conn)
    return conn


def migration_files(folders: Sequence[Path]) -> list[tuple[str, Path]]:
    """(name, path) of every .sql file, the runtime's first, each folder in name order."""
    found = []
    for folder in folders:
        prefix = folder.parent.name if folder.name == "migrations" else folder.name
        found += [(f"{prefix}/{path.name}", path) for path in sorted(folder.glob("*.sql"))]
    return found


async def migrate(
    pool: asyncpg.Pool, folders: Sequence[Path], *, with_event_store: bool = True
) -> list[str]:
    """Apply the migrations not applied yet, each in its own transaction, one migrator at a
    time (replicas starting together wait on an advisory lock). Returns what was applied."""
    applied: list[str] = []
    async with pool.acquire() as conn:
        keeps_session_state(conn)
        await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
        try:
            await conn.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                       name text PRIMARY KEY, checksum text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            done = {
                row["name"]: row["checksum"]
                for row in await conn.fetch("SELECT name, checksum FROM schema_migrations")
            }
            chosen = [RUNTIME_MIGRATIONS, *folders] if with_event_store else list(folders)
            for name, path in migration_files(chosen):
                sql = path.read_text()
                checksum = hashlib.sha256(sql.encode()).hexdigest()
                if name in done:
                    if done[name] != checksum:
                        raise RuntimeError(f"migration {name} changed after it was applied")
                    continue
                async with conn.transaction():
                    await conn.execute(sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)",
                        name,
                        checksum,
                    )
                applied.append(name)
                log.info("migration applied", extra=log_fields(migration=name))
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)
    return applied
