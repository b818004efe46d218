"""What PostgreSQL's catalogue says of a table, for the writes a batch may send together
(``runtime.write_order``, ``runtime.set_based``).

Asked once per table for the process (as ``runtime.set_based`` keeps its forms): a service's
process writes one database, whose tables change with a migration, which the service is
restarted for.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import asyncpg

from runtime.telemetry import log_fields

log = logging.getLogger(__name__)

# key column types whose values have one text per value (``str()``, case-folded)
KEY_TYPES = frozenset({"text", "varchar", "uuid", "int2", "int4", "int8", "date", "bool"})


@dataclass(frozen=True)
class Table:
    """What the catalogue says of a table: its primary key's columns when writes naming them
    touch that row only (None: its writes keep their order), whether its writes may reach
    other tables (a barrier), and whether something runs for each of its rows that may read
    it (``watched``: a trigger of its own, a rule or row security; ``runtime.set_based``
    keeps such a table's rows apart)."""

    key: tuple[str, ...] | None
    reaches: bool
    watched: bool = False


_TABLES: dict[str, Table | None] = {}


async def table(conn: asyncpg.Connection, name: str) -> Table | None:
    """The catalogue's answer for ``name``, once per process; None: not a plain table (or
    not known: a barrier is always safe)."""
    if name in _TABLES:
        return _TABLES[name]
    try:
        async with conn.transaction():  # a savepoint: a refusal leaves the batch's as it was
            row = await _catalogue(conn, name)
    except asyncpg.PostgresError as error:
        log.warning(
            "table not looked up: its writes keep their order",
            extra=log_fields(table=name, error=type(error).__name__),
        )
        row = None
    known = None
    if row is not None and row["plain"]:
        keyed = row["key"] and row["key_types"] and not row["other_unique"]
        known = Table(
            tuple(row["key"]) if keyed else None, bool(row["reaches"]), bool(row["watched"])
        )
    _TABLES[name] = known
    return known


async def _catalogue(conn: asyncpg.Connection, name: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT c.relkind = 'r' AS plain,
                  c.relhastriggers OR c.relhasrules OR c.relrowsecurity
                  OR EXISTS (SELECT FROM pg_constraint f
                             WHERE f.contype = 'f' AND (f.conrelid = c.oid OR f.confrelid = c.oid))
                      AS reaches,
                  c.relhasrules OR c.relrowsecurity
                  OR EXISTS (SELECT FROM pg_trigger t
                             WHERE t.tgrelid = c.oid AND NOT t.tgisinternal) AS watched,
                  (SELECT count(*) FROM pg_index u
                   WHERE u.indrelid = c.oid AND (u.indisunique OR u.indisexclusion)
                         AND NOT u.indisprimary) AS other_unique,
                  (SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_index p
                   JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY (p.indkey)
                   WHERE p.indrelid = c.oid AND p.indisprimary) AS key,
                  (SELECT bool_and(t.typname = ANY ($2::text[])) FROM pg_index p
                   JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY (p.indkey)
                   JOIN pg_type t ON t.oid = a.atttypid
                   WHERE p.indrelid = c.oid AND p.indisprimary) AS key_types
           FROM pg_class c WHERE c.oid = to_regclass($1)""",
        name,
        sorted(KEY_TYPES),
    )
