"""A run of one ``INSERT … VALUES (…)``, or of one ``UPDATE … WHERE pk = $n``, as one
set-based statement.

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
  no comment and no quote but around a plain literal (``'open'``: ``LITERAL``; in
  ``INSERT … SELECT`` PostgreSQL types a bare literal by its column, as in ``VALUES``), no
  ``RETURNING``, and no call in the row but to functions that read no table (``coalesce``,
  ``now``…: a subquery would see the rows before it when they go one by one, not when they
  go together);
- an ``UPDATE t SET … WHERE pk = $n [AND …]`` whose ``runtime.write_order`` footprint names
  the one row it touches (a plain statement, the primary key given whole, a table whose writes
  reach no other: no trigger, rule, row security or foreign key), with key parameters of a
  type whose values have one text each (``UPDATE_KEYS``), as ``UPDATE t SET … FROM
  unnest(…) AS _run(…) WHERE pk = _run.pn``. A row of the table met by two rows of one
  ``UPDATE … FROM`` is updated once, silently: the run is cut before a key already in its
  piece, as for ``DO UPDATE`` below;
- a plain table without a trigger of its own, a rule or row security (``runtime.catalogue``'s
  ``watched``: what they do for each row may read the table); the ``UPDATE``'s footprint says
  the same;
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
from uuid import UUID

import asyncpg

from runtime.catalogue import table
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
UPDATE = re.compile(
    r"\s*UPDATE\s+(?P<table>[A-Za-z_]\w*)\s+SET\s+(?P<sets>.*?)\s+WHERE\s+(?P<where>.*?)\s*",
    re.IGNORECASE | re.DOTALL,
)
# key parameter types whose Python values have one text per value the key compares by
# (``key_text``): rows of one key in one ``UPDATE … FROM`` would update it once, silently
UPDATE_KEYS = frozenset({"text", "varchar", "uuid", "int2", "int4", "int8"})
UNSAFE = ("'", '"', "--", "/*", "$$", ";")  # text a statement's parts are not read through
# a plain literal (``'open'``, ``'1'::int``): no quote, comma, parenthesis or ``$`` inside, so
# the parts around it read as they would without it
LITERAL = re.compile(r"(?<![\w'])'[\w\s.:-]*'(?!')(?:::\w+)?")
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
    plain_row, plain_rest = LITERAL.sub("0", row), LITERAL.sub("0", rest)
    if any(unsafe in plain_row or unsafe in plain_rest for unsafe in UNSAFE):
        return None
    if re.search(r"\bSELECT\b", plain_row, re.IGNORECASE) or any(
        call.lower() not in PURE for call in CALL.findall(plain_row)
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
        conflict = _CONFLICT.match(plain_rest)
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
    async def of(
        cls, conn: asyncpg.Connection, sql: str, row_key: tuple[int, ...] | None = None
    ) -> SetBased | None:
        """The form of ``sql``, or None; asks PostgreSQL inside a savepoint of the open
        transaction, so that a refusal leaves it as it was. ``row_key``: for an ``UPDATE``,
        the parameters naming the one row each copy touches (``runtime.write_order``'s
        footprint: a plain statement on a table whose writes reach no other, its primary key
        given whole by ``column = $n`` conditions); without it an ``UPDATE`` has no form."""
        parts = shape(sql)
        update = UPDATE.fullmatch(sql) if parts is None and row_key is not None else None
        if parts is None and update is None:
            return None
        try:
            async with conn.transaction():
                if update is not None:
                    assert row_key is not None
                    return await cls._prepared_update(conn, sql, update, row_key)
                assert parts is not None
                return await cls._prepared(conn, sql, parts)
        except asyncpg.PostgresError as error:
            log.info(
                "set-based form refused",
                extra=log_fields(
                    table=(parts.table if parts is not None else update and update["table"]),
                    error=type(error).__name__,
                ),
            )
            return None

    @classmethod
    async def _prepared(cls, conn: asyncpg.Connection, sql: str, parts: Shape) -> SetBased | None:
        parameters = (await conn.prepare(sql)).get_parameters()
        if not _all_used(parameters, ", ".join(parts.row)):
            return None
        known = await table(conn, parts.table)
        if known is None or known.watched:
            return None  # not a plain table, or its rows seen one by one by what it runs
        run = await _run(conn, parameters)
        if run is None:
            return None
        key = None
        if parts.updates:
            key = await _key(conn, parts)
            if key is None:
                return None
        row = ", ".join(run.elements(expression) for expression in parts.row)
        columns = f" ({', '.join(parts.columns)})" if parts.columns is not None else ""
        rewritten = f"INSERT INTO {parts.table}{columns} SELECT {row} {run.source} {parts.rest}"
        await conn.prepare(rewritten.strip())  # PostgreSQL takes it, or the savepoint rolls back
        return cls(rewritten.strip(), run.json, key)

    @classmethod
    async def _prepared_update(
        cls, conn: asyncpg.Connection, sql: str, update: re.Match[str], row_key: tuple[int, ...]
    ) -> SetBased | None:
        """``UPDATE t SET … WHERE pk = $1`` as ``UPDATE t SET … FROM unnest(…) AS _run(…)
        WHERE pk = _run.p1``: each piece's keys distinct (``pieces``), so each row of the
        table meets one row of the run at most, as it meets one copy of the statement."""
        parameters = (await conn.prepare(sql)).get_parameters()
        if not _all_used(parameters, f"{update['sets']} {update['where']}"):
            return None
        if any(parameters[index].name not in UPDATE_KEYS for index in row_key):
            return None
        run = await _run(conn, parameters)
        if run is None:
            return None
        rewritten = (
            f"UPDATE {update['table']} SET {run.elements(update['sets'])} "
            f"{run.source} WHERE {run.elements(update['where'])}"
        )
        await conn.prepare(rewritten)  # PostgreSQL takes it, or the savepoint is rolled back
        return cls(rewritten, run.json, row_key)

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


def _all_used(parameters: Sequence[Any], text: str) -> bool:
    """Every parameter of the statement appears in ``text`` (the parts rewritten)."""
    used = {int(number) for number in _PARAMETER.findall(text)}
    return bool(parameters) and used == set(range(1, len(parameters) + 1))


@dataclass(frozen=True)
class _Run:
    """The run's rows as a relation: ``source`` (``FROM unnest(…) AS _run(p1, …)``, one array
    per parameter) and ``json``, the parameters sent as text."""

    source: str
    json: frozenset[int]

    def elements(self, text: str) -> str:
        """``text`` with each parameter ``$n`` as the run's column ``_run.pn``."""

        def element(match: re.Match[str]) -> str:
            index = int(match.group(1)) - 1
            return f"_run.p{index + 1}" + ("::pg_catalog.jsonb" if index in self.json else "")

        return _PARAMETER.sub(element, text)


async def _run(conn: asyncpg.Connection, parameters: Sequence[Any]) -> _Run | None:
    """The relation of a run of rows of these parameters; None when one of them is not of a
    plain type (``SCALARS``, an enum, JSON)."""
    arrays, json = [], set()
    for index, kind in enumerate(parameters):
        if kind.name in JSON:
            arrays.append(f"${index + 1}::pg_catalog.text[]")
            json.add(index)
        elif kind.kind == "scalar" and (kind.name in SCALARS or await _is_enum(conn, kind)):
            arrays.append(f'${index + 1}::"{kind.schema}"."{kind.name}"[]')
        else:
            return None
    names = ", ".join(f"p{index + 1}" for index in range(len(parameters)))
    return _Run(f"FROM unnest({', '.join(arrays)}) AS _run({names})", frozenset(json))


# each statement's set-based form (None: it has none), found once per process
_FORMS: dict[str, SetBased | None] = {}


async def sent(
    conn: asyncpg.Connection,
    sql: str,
    rows: list[tuple[Any, ...]],
    row_key: tuple[int, ...] | None = None,
) -> bool:
    """Send a run of ``sql`` set-based; False (nothing sent) when the statement has no such
    form. Its form is found on its first run (``SetBased.of``; ``row_key`` as there). Should
    PostgreSQL find two keys of one piece to be one row, the statement goes row by row from
    then on and the error is raised: the batch fails as after any write, and the runner
    retries it."""
    try:
        form = _FORMS[sql]
    except KeyError:
        form = _FORMS[sql] = await SetBased.of(conn, sql, row_key)
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
    """A row's key as text, case-folded and without hyphens (the module's text), so that a
    UUID given as ``UUID`` and as text are one key; the values of a key of several columns
    joined by a character no text parameter holds. Two keys PostgreSQL finds different may be
    one here (``a-b`` and ``ab``): a run is only cut more often, an order only kept."""
    if len(key) == 1:
        return _text(row[key[0]])
    return "\x00".join(_text(row[position]) for position in key)


def _text(value: Any) -> str:
    if type(value) is UUID:  # its 32 hex digits (str() spells them out in Python: 4x slower)
        return f"{value.int:032x}"
    return str(value).casefold().replace("-", "")


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
