"""runtime.set_based, what needs no database: which statements have a set-based form, how a
run is cut so that no statement touches a row twice, and the arrays it sends."""

from __future__ import annotations

import uuid

import pytest

from runtime.set_based import SetBased, Shape, shape

pytestmark = pytest.mark.unit

UPSERT = """INSERT INTO bench_projection VALUES ($1, 1, $2)
           ON CONFLICT (stream_id) DO UPDATE
           SET events = bench_projection.events + 1, last_reason = EXCLUDED.last_reason"""


def test_an_upsert_without_a_column_list() -> None:
    assert shape(UPSERT) == Shape(
        table="bench_projection",
        columns=None,
        row=["$1", "1", "$2"],
        rest="""ON CONFLICT (stream_id) DO UPDATE
           SET events = bench_projection.events + 1, last_reason = EXCLUDED.last_reason""",
        updates=True,
        target=["stream_id"],
    )


def test_an_insert_with_columns_casts_and_calls_that_does_nothing_on_a_conflict() -> None:
    parts = shape(
        """insert into case_notes (note_id, "case_id", body, at)
           values ($1::uuid, $2, coalesce($3, now()::text), now()) on conflict do nothing"""
    )
    assert parts is not None
    assert parts.columns == ["note_id", "case_id", "body", "at"]
    assert parts.row == ["$1::uuid", "$2", "coalesce($3, now()::text)", "now()"]
    assert (parts.updates, parts.target) == (False, None)


def test_plain_literals_in_the_row_and_after_it() -> None:
    """A quoted literal with nothing in it that the row's reading stops at (a quote, a comma, a
    parenthesis, ``$``) stays as it is: in ``INSERT … SELECT`` PostgreSQL types a bare
    literal by its column, as in ``VALUES``."""
    parts = shape(
        """INSERT INTO t (a, status, n, at) VALUES ($1, 'open', 1, '2026-12-04 10:00'::timestamptz)
           ON CONFLICT (a) DO UPDATE SET status = 'reopened'"""
    )
    assert parts is not None
    assert parts.row == ["$1", "'open'", "1", "'2026-12-04 10:00'::timestamptz"]
    assert (parts.updates, parts.target) == (True, ["a"])


def test_a_plain_insert() -> None:
    parts = shape("INSERT INTO t (a, b) VALUES ($1, $2)")
    assert parts == Shape("t", ["a", "b"], ["$1", "$2"], "", updates=False, target=None)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE t SET a = $1 WHERE b = $2",
        "INSERT INTO t (a) SELECT $1",
        "INSERT INTO t (a) VALUES ($1), ($2)",
        "INSERT INTO t (a, b) VALUES ($1, 'it''s')",
        "INSERT INTO t (a, b) VALUES ($1, 'a, b')",
        "INSERT INTO t (a, b) VALUES ($1, '$2')",
        "INSERT INTO t (a, b) VALUES ($1, E'open')",
        "INSERT INTO t (a, b) VALUES ($1, 'a) ON CONFLICT DO NOTHING --')",
        "INSERT INTO t (a, b) VALUES ($1, $2) ON CONFLICT (a) DO UPDATE SET b = 'x;'",
        "INSERT INTO t (a, b) VALUES ($1, $2) ON CONFLICT (a) DO UPDATE SET b = $2",
        "INSERT INTO t (a) VALUES ($1) RETURNING a",
        "INSERT INTO t (a) VALUES ($1) ON CONFLICT ON CONSTRAINT t_pkey DO UPDATE SET a = 1",
        "INSERT INTO t (a) VALUES ($1) ON CONFLICT (lower(a)) DO UPDATE SET a = EXCLUDED.a",
        "INSERT INTO t (a) VALUES ($1) -- a comment",
        "INSERT INTO t (a) VALUES ($1); DELETE FROM t",
        "INSERT INTO t (a, n) VALUES ($1, (SELECT count(*) FROM t))",
        "INSERT INTO t (a, n) VALUES ($1, (SELECT n FROM u LIMIT 1))",
        "INSERT INTO t (a, n) VALUES ($1, next_number($1))",
    ],
)
def test_statements_that_keep_their_rows_apart(sql: str) -> None:
    assert shape(sql) is None


def keyed(*key: int) -> SetBased:
    return SetBased("INSERT … unnest …", frozenset(), key or None)


def test_a_run_is_cut_before_a_key_already_in_its_piece() -> None:
    rows = [("a", 1), ("b", 2), ("a", 3), ("c", 4), ("b", 5), ("b", 6)]
    assert keyed(0).pieces(rows) == [rows[0:2], rows[2:5], rows[5:6]]


def test_keys_are_compared_as_postgresql_would_at_least() -> None:
    ticket = uuid.uuid4()
    rows = [(ticket, 1), (str(ticket).upper(), 2), (ticket.hex, 3), (str(ticket), 4)]
    assert keyed(0).pieces(rows) == [rows[0:1], rows[1:2], rows[2:3], rows[3:4]]


def test_a_key_of_two_parameters() -> None:
    rows = [("a", 1, "x"), ("a", 2, "y"), ("b", 1, "x"), ("a", 3, "x")]
    assert keyed(0, 2).pieces(rows) == [rows[0:3], rows[3:4]]


def test_rows_without_a_key_go_in_one_piece() -> None:
    rows = [("a",), ("a",), ("a",)]
    assert keyed().pieces(rows) == [rows]


def test_one_array_per_parameter_json_as_its_text() -> None:
    form = SetBased("…", frozenset({1}), None)
    rows = [("a", {"k": [1, 2]}), ("b", None), ("c", [1, "x"])]
    assert form.arrays(rows) == [["a", "b", "c"], ['{"k":[1,2]}', None, '[1,"x"]']]
