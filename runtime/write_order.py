"""Which of a batch's queued writes may go together, and in what order.

``BatchedWrites`` sends a run of copies of one statement as one ``executemany`` or one
set-based statement. A projection's handlers write several tables per event, and its events
interleave: a case's file is inserted, its contact, its timeline entry, then the next event of
the case updates the file, then the next case is inserted… In the queue's order no two
neighbours were copies of one statement, so a batch sent one statement per write: a round
trip each. A rebuild of the case file ran at ~2,000 records/s against ~40,000 for a
projection that writes one table.

Most of those writes commute: each touches one row of a table, named by its primary key, and
two writes on different rows of a table, or on tables that know nothing of each other, give the
same result in either order. ``grouped`` moves each write back to the latest earlier copy of
its statement when every write it moves past commutes with it, and keeps every other order.

A write's ``footprint``, found once per statement text from the text and the catalogue:

- ``INSERT INTO t … VALUES (one row) [ON CONFLICT …]``, ``UPDATE t SET … WHERE pk = $n [AND
  …]`` and ``DELETE FROM t WHERE pk = $n [AND …]``, where the primary key's columns are each
  given by a parameter, touch one row: their key is those parameters' values;
- a table whose rows meet beyond their key (a unique index or an exclusion constraint
  besides the primary key, a key column of another type than ``KEY_TYPES``) has no keys: its
  writes keep their order among themselves, and still commute with other tables' writes; one
  whose writes may reach other tables (a trigger, a rule, row security, a foreign key either
  way) is a barrier (below);
- a subquery, a call (other than to functions that read no table), a quote, a comment or
  anything else the text does not say plainly makes the statement a barrier: nothing moves
  past it, either way.

The catalogue is asked once per table for the process (``runtime.catalogue``).

Keys are compared by their text, case-folded, as ``runtime.set_based`` compares them: two
values PostgreSQL finds equal are equal here too; values whose text may differ for one row
(timestamps, numbers with a fraction) are not taken as keys at all.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg

from runtime.catalogue import table
from runtime.set_based import (
    BARE_PARAMETER,
    CALL,
    LITERAL,
    PURE,
    UNSAFE,
    UPDATE,
    key_text,
    row_end,
    split_row,
)

_CONFLICT = re.compile(r"\bON\s+CONFLICT\s*\(", re.IGNORECASE)

_INSERT = re.compile(
    r"\s*INSERT\s+INTO\s+(?P<table>[A-Za-z_]\w*)\s*(?:\((?P<columns>[^()]*)\))?\s*VALUES\s*\(",
    re.IGNORECASE,
)
_DELETE = re.compile(
    r"\s*DELETE\s+FROM\s+(?P<table>[A-Za-z_]\w*)\s+WHERE\s+(?P<where>.*?)\s*",
    re.IGNORECASE | re.DOTALL,
)
_EQUALS = re.compile(r"(?:[A-Za-z_]\w*\.)?([A-Za-z_]\w*)\s*=\s*\$(\d+)(?:\s*::\s*\w+)?")
_WORD = re.compile(r"\b(SELECT|FROM|USING|RETURNING|WITH)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Footprint:
    """Where a statement writes: ``table`` and the parameters (0-based) that give its row's
    key, or None when it may touch any row of the table."""

    table: str
    key: tuple[int, ...] | None


class Queued(Protocol):
    """A queued write (``runtime.batched_writes``)."""

    @property
    def sql(self) -> str: ...
    @property
    def args(self) -> tuple[Any, ...]: ...


_FOOTPRINTS: dict[str, Footprint | None] = {}  # None: a barrier


def _plain(text: str) -> bool:
    """No comment, subquery or call to a function that may read a table; no quote but
    around a plain literal (``'open'``)."""
    text = _CONFLICT.sub(" ", LITERAL.sub("''", text))
    if any(unsafe in text.replace("''", "") for unsafe in UNSAFE) or _WORD.search(text):
        return False
    return all(call.lower() in PURE for call in CALL.findall(text))


def _insert_key(sql: str, columns: str | None, start: int, key: tuple[str, ...]) -> dict[str, int]:
    """An ``INSERT … VALUES (…)``'s parameters per key column, read from its row."""
    end = row_end(sql, start)
    if end is None or columns is None:
        return {}
    rest = sql[end + 1 :]
    if rest.strip() and not re.match(r"\s*ON\s+CONFLICT\b", rest, re.IGNORECASE):
        return {}  # a second row, or anything else
    names = [name.strip().lower() for name in columns.split(",")]
    values = split_row(sql[start:end])
    if len(names) != len(values):
        return {}
    given = {}
    for name, value in zip(names, values, strict=True):
        bare = BARE_PARAMETER.fullmatch(value)
        if name in key and bare is not None:
            given[name] = int(bare.group(1)) - 1
    return given


def _where_key(where: str) -> dict[str, int]:
    """``a = $1 AND b = $2``: the parameter per column (nothing when it says anything else)."""
    given = {}
    for condition in re.split(r"\s+AND\s+", where.strip(), flags=re.IGNORECASE):
        equals = _EQUALS.fullmatch(condition.strip())
        if equals is None:
            return {}
        given[equals.group(1).lower()] = int(equals.group(2)) - 1
    return given


async def footprint(conn: asyncpg.Connection, sql: str) -> Footprint | None:
    """The statement's footprint (the module's text), once per statement text; None: a
    barrier."""
    if sql in _FOOTPRINTS:
        return _FOOTPRINTS[sql]
    _FOOTPRINTS[sql] = found = await _footprint(conn, sql)
    return found


async def _footprint(conn: asyncpg.Connection, sql: str) -> Footprint | None:
    insert, update, delete = _INSERT.match(sql), UPDATE.fullmatch(sql), _DELETE.fullmatch(sql)
    head = insert or update or delete
    if head is None:
        return None
    body = sql[insert.end() :] if insert is not None else sql[head.end("table") :]
    if not _plain(body):
        return None
    known = await table(conn, head.group("table"))
    if known is None or known.reaches:
        return None
    name = head.group("table").lower()
    if known.key is None:
        return Footprint(name, None)
    if insert is not None:
        given = _insert_key(sql, insert.group("columns"), insert.end(), known.key)
    else:
        given = _where_key(head.group("where"))
    if set(given) != set(known.key):  # a key column not given, or a condition on others
        return Footprint(name, None)
    return Footprint(name, tuple(given[column] for column in known.key))


async def grouped(conn: asyncpg.Connection, queued: Sequence[Queued]) -> list[list[Any]]:
    """The writes in groups of one statement each, in an order giving the same result as
    ``queued``'s (the module's text): a write joins the latest group of its statement that
    comes after every earlier write it does not commute with."""
    statements = {write.sql for write in queued}
    if len(statements) == 1:  # one statement: one group, as queued
        return [list(queued)]
    footprints = {sql: await footprint(conn, sql) for sql in statements}
    groups: list[list[Any]] = []
    latest: dict[str, int] = {}  # statement → its latest group
    rows: dict[tuple[str, str], int] = {}  # (table, key) → latest group writing that row
    tables: dict[str, int] = {}  # table → latest group writing it
    unkeyed: dict[str, int] = {}  # table → latest group writing it without a key
    barrier = -1  # the latest group of a statement nothing moves past
    for write in queued:
        found = footprints[write.sql]
        if found is None:  # after everything, and everything after it
            if not groups or groups[-1][0].sql != write.sql:
                groups.append([])
            groups[-1].append(write)
            barrier = len(groups) - 1
            continue
        written, key = found.table, found.key
        if key is None:
            after = max(barrier, tables.get(written, -1))
        else:
            row = (written, key_text(write.args, key))
            after = max(barrier, unkeyed.get(written, -1), rows.get(row, -1))
        place = latest.get(write.sql, -1)
        if place < 0 or place < after:
            groups.append([])
            place = latest[write.sql] = len(groups) - 1
        groups[place].append(write)
        if tables.get(written, -1) < place:
            tables[written] = place
        if key is None:
            if unkeyed.get(written, -1) < place:
                unkeyed[written] = place
        else:
            rows[row] = place
    return groups
