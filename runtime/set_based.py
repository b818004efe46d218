"""A run of one ``INSERT … VALUES (…)`` as one set-based statement.

A projection's handler writes one row per event; ``BatchedWrites`` sends a run of copies of a
statement as one pipelined ``executemany``, so the round trips are few, but PostgreSQL still
binds, plans and runs the statement once per row: about 7 µs of its CPU a row for the bench's
upsert, the larger part of a rebuild's PostgreSQL time. The same rows as one statement,

    INSERT INTO t (a, b, c) SELECT _run.p1, 1, _run.p2
    FROM unnest($1::text[], $2::text[]) AS _run(p1, p2) ON CONFLICT (a) DO UPDATE …

cost PostgreSQL about half, and the Python side encodes two arrays instead of N rows.

The form is found once per statement text (``SetBased.of``), from the statement alone and
from what PostgreSQL says of it; it is used only where it changes nothing:

- an ``INSERT INTO t [(columns)] VALUES (one row)``, optionally followed by ``ON CONFLICT``,
  with no parameter after ``VALUES (…)`` (a ``DO UPDATE SET x = $3`` keeps the rows apart),
  no quote or comment in the row (an untyped literal could be typed differently in a
  ``SELECT``), no ``RETURNING``, and no call in the row but to functions that read no table
  (``coalesce``, ``now``…: a subquery would see the rows before it when they go one by one,
  not when they go together);
- every parameter of a plain type (``SCALARS``, or an enum); JSON goes as text, encoded as the
  pool's codec encodes it (``runtime.db.encode_json``), since asyncpg would read a JSON array
  as a dimension of the SQL array;
- rows applied one after the other may touch the same row; one statement may not
  (``ON CONFLICT DO UPDATE`` refuses to affect a row twice). For ``DO UPDATE`` the conflict
  target's columns are mapped to the parameters that fill them, and the run is cut before a
  row whose key already came in the same statement: each piece has distinct keys, and the
  pieces go in order. ``DO NOTHING`` and a plain ``INSERT`` need no cut (a row meeting an
  earlier one of its statement is skipped, or fails, as it would one statement later);
- the rewritten statement is prepared once in a savepoint: if PostgreSQL refuses it, the
  statement keeps ``executemany``.

Keys are compared by their text, case-folded: two keys PostgreSQL finds equal (a UUID given
once as text, once as ``UUID``) are equal here too; the reverse only cuts a run more often.
Should PostgreSQL still refuse a piece as touching a row twice, the statement goes back to
``executemany`` for the rest of the process and the failure is the batch's, as any other
write's: the runner retries it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from runtime.db import encode_json
from runtime.telemetry import log_fields

log = logging.getLogger(__name__)

SET_BASED_FROM = 4  # a run of at least this many rows goes as one statement

# parameter types whose Python values asyncpg encodes as one element of an array
SCALARS = frozenset(
    {
        "bool",
        "bytea",
        "date",
        "float4",
        "float8",
        "int2",
        "int4",
        "int8",
        "interval",
        "numeric",
        "text",
        "time",
        "timestamp",
        "timestamptz",
        "uuid",
        "varchar",
        "bpchar",
    }
)
JSON = frozenset({"json", "jsonb"})

_INSERT = re.compile(
    r"\s*INSERT\s+INTO\s+(?P<table>[A-Za-z_][\w.]*)\s*(?:\((?P<columns>[^()]*)\))?\s*VALUES\s*\(",
    re.IGNORECASE,
)
_CONFLICT = re.compile(
    r"ON\s+CONFLICT\s*(?:\((?P<target>[^()]*)\)\s*)?(?:WHERE\s+.*?)?DO\s+(?P<action>NOTHING|UPDATE)\b",
    re.IGNORECASE | re.DOTALL,
)
_PARAMETER = re.compile(r"\$(\d+)\b")
BARE_PARAMETER = re.compile(r"\$(\d+)(?:\s*::\s*[\w.\s]+)?")
_IDENTIFIER = re.compile(r'"?([A-Za-z_]\w*)"?')
UNSAFE = ("'", '"', "--", "/*", "$$", ";")  # text a statement's parts are not read through
CALL = re.compile(r"([A-Za-z_][\w.]*)\s*\(")
# what a row may call: functions that read no table (a subquery, or a function reading the
# table, would see the rows before it when they go one by one, and not when they go together)
PURE = frozenset({"coalesce", "nullif", "greatest", "least", "now"})


@dataclass(frozen=True)
class Shape:
    """What the statement's text says (``shape``): no database needed."""

    table: str
    columns: list[str] | None  # the INSERT's column list, None when it has none
    row: list[str]  # the VALUES row's expressions
    rest: str  # after the row: empty, or ON CONFLICT …
    updates: bool  # ON CONFLICT … DO UPDATE
    target: list[str] | None  # the conflict target's columns


def row_end(sql: str, start: int) -> int | None:
    """The index of the parenthesis closing the row opened before ``start``."""
    depth = 1
    for index in range(start, len(sql)):
        if sql[index] == "(":
            depth += 1
        elif sql[index] == ")":
            depth -= 1
            if depth == 0:
                return index
    return None


def split_row(row: str) -> list[str]:
    """The row's expressions: split at the commas outside parentheses."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(row):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(row[start:index].strip())
            start = index + 1
    parts.append(row[start:].strip())
    return parts


def _names(text: str) -> list[str] | None:
    names = []
    for part in text.split(","):
        match = _IDENTIFIER.fullmatch(part.strip())
        if match is None:
            return None
        names.append(match.group(1).lower())
    return names


def shape(sql: str) -> Shape | None:
    """The statement's parts, or None when it is not a one-row ``INSERT … VALUES`` that a
    set-based form can replace (the module's text)."""
    head = _INSERT.match(sql)
    if head is None:
        return None
    end = row_end(sql, head.end())
    if end is None:
        return None
    row, rest = sql[head.end() : end], sql[end + 1 :].strip()
    if any(unsafe in row or unsafe in rest for unsafe in UNSAFE):
        return None
    if re.search(r"\bSELECT\b", row, re.IGNORECASE) or any(
        call.lower() not in PURE for call in CALL.findall(row)
    ):
        return None
    if "$" in rest or re.search(r"\bRETURNING\b", rest, re.IGNORECASE):
        return None
    columns = None
    if head.group("columns") is not None:
        columns = _names(head.group("columns"))
        if columns is None:
            return None
    updates, target = False, None
    if rest:
        conflict = _CONFLICT.match(rest)
        if conflict is None:
            return None  # a second row, or anything else
        updates = conflict.group("action").upper() == "UPDATE"
        if conflict.group("target") is not None:
            target = _names(conflict.group("target"))
        if updates and target is None:
            return None  # ON CONSTRAINT, or an expression: which parameters make the key?
    return Shape(head.group("table"), columns, split_row(row), rest, updates, target)


@dataclass(frozen=True)
class SetBased:
    """A statement's set-based form: ``sql`` takes one array per parameter; ``json``: the
    parameters sent as text; ``key``: the parameters whose values identify the row a
    ``DO UPDATE`` may touch (None: any rows may share a statement)."""

    sql: str
    json: frozenset[int]
    key: tuple[int, ...] | None

    @classmethod
    async def of(cls, conn: asyncpg.Connection, sql: str) -> SetBased | None:
        """The form of ``sql``, or None; asks PostgreSQL inside a savepoint of the open
        transaction, so that a refusal leaves it as it was."""
        parts = shape(sql)
        if parts is None:
            return None
        try:
            async with conn.transaction():
                return await cls._prepared(conn, sql, parts)
        except asyncpg.PostgresError as error:
            log.info(
                "set-based form refused",
                extra=log_fields(table=parts.table, error=type(error).__name__),
            )
            return None

    @classmethod
    async def _prepared(cls, conn: asyncpg.Connection, sql: str, parts: Shape) -> SetBased | None:
        parameters = (await conn.prepare(sql)).get_parameters()
        used = {int(number) for number in _PARAMETER.findall(", ".join(parts.row))}
        if not parameters or used != set(range(1, len(parameters) + 1)):
            return None
        arrays, json = [], set()
        for index, kind in enumerate(parameters):
            if kind.name in JSON:
                arrays.append(f"${index + 1}::pg_catalog.text[]")
                json.add(index)
            elif kind.kind == "scalar" and (kind.name in SCALARS or await _is_enum(conn, kind)):
                arrays.append(f'${index + 1}::"{kind.schema}"."{kind.name}"[]')
            else:
                return None
        key = None
        if parts.updates:
            key = await _key(conn, parts)
            if key is None:
                return None

        def element(match: re.Match[str]) -> str:
            index = int(match.group(1)) - 1
            return f"_run.p{index + 1}" + ("::pg_catalog.jsonb" if index in json else "")

        row = ", ".join(_PARAMETER.sub(element, expression) for expression in parts.row)
        names = ", ".join(f"p{index + 1}" for index in range(len(parameters)))
        columns = f" ({', '.join(parts.columns)})" if parts.columns is not None else ""
        rewritten = (
            f"INSERT INTO {parts.table}{columns} SELECT {row} "
            f"FROM unnest({', '.join(arrays)}) AS _run({names}) {parts.rest}"
        ).strip()
        await conn.prepare(rewritten)  # PostgreSQL takes it, or the savepoint is rolled back
        return cls(rewritten, frozenset(json), key)

    def pieces(self, rows: Sequence[tuple[Any, ...]]) -> list[Sequence[tuple[Any, ...]]]:
        """The run cut so that no piece holds two rows of one key (in their order)."""
        if self.key is None:
            return [rows]
        keys = [key_text(row, self.key) for row in rows]
        if len(set(keys)) == len(keys):  # the usual run: every row its own key
            return [rows]
        pieces: list[Sequence[tuple[Any, ...]]] = []
        seen: set[str] = set()
        start = 0
        for index, key in enumerate(keys):
            if key in seen:
                pieces.append(rows[start:index])
                seen, start = set(), index
            seen.add(key)
        pieces.append(rows[start:])
        return pieces

    def arrays(self, rows: Sequence[tuple[Any, ...]]) -> list[list[Any]]:
        """One array per parameter, for ``sql``."""
        columns = [list(column) for column in zip(*rows, strict=True)]
        for index in self.json:
            columns[index] = [
                None if value is None else encode_json(value) for value in columns[index]
            ]
        return columns


# each statement's set-based form (None: it has none), found once per process
_FORMS: dict[str, SetBased | None] = {}


async def sent(conn: asyncpg.Connection, sql: str, rows: list[tuple[Any, ...]]) -> bool:
    """Send a run of ``sql`` set-based; False (nothing sent) when the statement has no such
    form. Its form is found on its first run (``SetBased.of``). Should PostgreSQL find two
    keys of one piece to be one row, the statement goes row by row from then on and the
    error is raised: the batch fails as after any write, and the runner retries it."""
    try:
        form = _FORMS[sql]
    except KeyError:
        form = _FORMS[sql] = await SetBased.of(conn, sql)
    if form is None:
        return False
    for piece in form.pieces(rows):
        try:
            if len(piece) == 1:
                await conn.execute(sql, *piece[0])
            else:
                await conn.execute(form.sql, *form.arrays(piece))
        except asyncpg.CardinalityViolationError:
            _FORMS[sql] = None
            log.warning("set-based form dropped: two keys of one run were one row")
            raise
    return True


def key_text(row: tuple[Any, ...], key: tuple[int, ...]) -> str:
    """A row's key as text, case-folded (the module's text); the values of a key of several
    columns joined by a character no text parameter holds."""
    if len(key) == 1:
        return str(row[key[0]]).casefold()
    return "\x00".join(str(row[position]) for position in key).casefold()


async def _is_enum(conn: asyncpg.Connection, kind: Any) -> bool:
    return bool(await conn.fetchval("SELECT typtype = 'e' FROM pg_type WHERE oid = $1", kind.oid))


async def _key(conn: asyncpg.Connection, parts: Shape) -> tuple[int, ...] | None:
    """The parameters that fill the conflict target's columns; a column filled by an
    expression without parameters is the same in every row and adds nothing."""
    columns = parts.columns
    if columns is None:  # the table's columns, in their order
        columns = [
            name.lower()
            for name in await conn.fetchval(
                """SELECT array_agg(attname ORDER BY attnum) FROM pg_attribute
                   WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped""",
                parts.table,
            )
        ]
    assert parts.target is not None
    key = []
    for column in parts.target:
        if column not in columns or columns.index(column) >= len(parts.row):
            return None  # filled by its default: the same in every row
        expression = parts.row[columns.index(column)]
        bare = BARE_PARAMETER.fullmatch(expression)
        if bare is not None:
            key.append(int(bare.group(1)) - 1)
        elif "$" in expression:
            return None
    return tuple(key) or None  # no key varies: every row would be a piece of its own
