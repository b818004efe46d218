"""runtime.write_order: which queued writes commute, and the groups a batch sends them in.
The catalogue's answers are given here (``catalogue._TABLES``); PostgreSQL's own run of the
same writes, in both orders, is tests/integration/test_write_order.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import pytest

from runtime import catalogue as tables_known
from runtime import write_order
from runtime.catalogue import Table
from runtime.write_order import Footprint

pytestmark = pytest.mark.unit


class Write(NamedTuple):
    sql: str
    args: tuple[Any, ...]


FILE_NEW = (
    "INSERT INTO files (file_id, owner, status) VALUES ($1, $2, 'open') "
    "ON CONFLICT (file_id) DO NOTHING"
)
FILE_SET = "UPDATE files SET status = $2, version = version + 1 WHERE file_id = $1"
ENTRY = "INSERT INTO entries (entry_id, file_id) VALUES ($1, $2) ON CONFLICT (entry_id) DO NOTHING"
COUNT = "UPDATE tallies SET n = n + 1 WHERE day = $1"  # tallies: a second unique index
AUDIT = "INSERT INTO audited (id) VALUES ($1)"  # audited: a trigger
BY_OWNER = "UPDATE files SET status = $2 WHERE owner = $1"  # not by the key: any rows
SUBQUERY = "UPDATE files SET status = (SELECT max(status) FROM entries) WHERE file_id = $1"


@pytest.fixture(autouse=True)
def catalogue() -> Iterator[None]:
    tables, footprints = dict(tables_known._TABLES), dict(write_order._FOOTPRINTS)
    tables_known._TABLES.clear()
    write_order._FOOTPRINTS.clear()
    tables_known._TABLES.update(
        {
            "files": Table(("file_id",), reaches=False),
            "entries": Table(("entry_id",), reaches=False),
            "tallies": Table(None, reaches=False),
            "audited": Table(("id",), reaches=True),
        }
    )
    yield
    tables_known._TABLES.clear()
    tables_known._TABLES.update(tables)
    write_order._FOOTPRINTS.clear()
    write_order._FOOTPRINTS.update(footprints)


@pytest.mark.parametrize(
    ("sql", "found"),
    [
        (FILE_NEW, Footprint("files", (0,))),
        (FILE_SET, Footprint("files", (0,))),
        (ENTRY, Footprint("entries", (0,))),
        ("DELETE FROM files WHERE file_id = $1::uuid", Footprint("files", (0,))),
        ("INSERT INTO files VALUES ($1, $2)", Footprint("files", None)),  # no column list
        ("INSERT INTO files (owner, file_id) VALUES ($1, $2)", Footprint("files", (1,))),
        ("INSERT INTO files (file_id, owner) VALUES (gen_random_uuid(), $1)", None),
        (COUNT, Footprint("tallies", None)),
        (BY_OWNER, Footprint("files", None)),
        (SUBQUERY, None),
        (AUDIT, None),
        ("UPDATE files SET status = 'closed' WHERE file_id = $1", Footprint("files", (0,))),
        ("UPDATE files SET status = 'a) WHERE $2' WHERE file_id = $1", None),
        ("UPDATE files SET status = $2 WHERE file_id = $1 -- note", None),
        ("INSERT INTO files (file_id) VALUES ($1), ($2)", Footprint("files", None)),
        ("SELECT pg_notify('x', $1)", None),
        ("INSERT INTO elsewhere.files (file_id) VALUES ($1)", None),
        ("INSERT INTO files (file_id) VALUES ($1) RETURNING file_id", None),
    ],
)
async def test_a_statements_footprint(sql: str, found: Footprint | None) -> None:
    assert await write_order.footprint(None, sql) == found  # type: ignore[arg-type]


async def grouped(*writes: Write) -> list[list[tuple[str, tuple[Any, ...]]]]:
    groups = await write_order.grouped(None, writes)  # type: ignore[arg-type]
    return [[(write.sql, write.args) for write in group] for group in groups]


async def test_interleaved_writes_of_different_rows_go_in_one_group_per_statement() -> None:
    """A case's file made, its entry, then the file updated; the next case the same: three
    statements, three groups, each row's writes in their order."""
    writes = []
    for case in ("a", "b", "c"):
        writes += [
            Write(FILE_NEW, (case, "owner")),
            Write(ENTRY, (f"{case}-1", case)),
            Write(FILE_SET, (case, "served")),
        ]
    assert await grouped(*writes) == [
        [(FILE_NEW, ("a", "owner")), (FILE_NEW, ("b", "owner")), (FILE_NEW, ("c", "owner"))],
        [(ENTRY, ("a-1", "a")), (ENTRY, ("b-1", "b")), (ENTRY, ("c-1", "c"))],
        [(FILE_SET, ("a", "served")), (FILE_SET, ("b", "served")), (FILE_SET, ("c", "served"))],
    ]


async def test_one_rows_writes_keep_their_order() -> None:
    """Insert, update, then insert again for the same key (case-folded text): the second
    insert cannot join the first, it comes after the update."""
    assert await grouped(
        Write(FILE_NEW, ("a", "x")),
        Write(FILE_SET, ("A", "served")),
        Write(FILE_NEW, ("a", "y")),
        Write(FILE_NEW, ("b", "z")),
    ) == [
        [(FILE_NEW, ("a", "x"))],
        [(FILE_SET, ("A", "served"))],
        [(FILE_NEW, ("a", "y")), (FILE_NEW, ("b", "z"))],
    ]


async def test_a_write_of_any_rows_keeps_its_tables_order() -> None:
    assert await grouped(
        Write(FILE_NEW, ("a", "x")),
        Write(BY_OWNER, ("x", "closed")),
        Write(FILE_NEW, ("b", "x")),
        Write(ENTRY, ("e", "a")),
        Write(COUNT, ("mon",)),
        Write(ENTRY, ("f", "b")),
        Write(COUNT, ("tue",)),
    ) == [
        [(FILE_NEW, ("a", "x"))],
        [(BY_OWNER, ("x", "closed"))],
        [(FILE_NEW, ("b", "x"))],
        [(ENTRY, ("e", "a")), (ENTRY, ("f", "b"))],  # another table: moves past the rest
        [(COUNT, ("mon",)), (COUNT, ("tue",))],  # its table's order kept, one after the other
    ]


async def test_nothing_moves_past_a_barrier() -> None:
    assert await grouped(
        Write(ENTRY, ("e", "a")),
        Write(SUBQUERY, ("a",)),
        Write(ENTRY, ("f", "b")),
        Write(AUDIT, ("1",)),
        Write(AUDIT, ("2",)),
        Write(ENTRY, ("g", "c")),
    ) == [
        [(ENTRY, ("e", "a"))],
        [(SUBQUERY, ("a",))],
        [(ENTRY, ("f", "b"))],
        [(AUDIT, ("1",)), (AUDIT, ("2",))],  # neighbours of one statement still go together
        [(ENTRY, ("g", "c"))],
    ]


async def test_one_statement_is_one_group_as_queued() -> None:
    writes = [Write("anything at all", (n,)) for n in range(3)]
    assert await grouped(*writes) == [[("anything at all", (n,)) for n in range(3)]]
