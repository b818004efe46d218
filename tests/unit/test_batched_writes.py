"""runtime.batched_writes: a projection's writes are sent in their order, a run of one
statement as one executemany, and every read sees the writes queued before it."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.batched_writes import BatchedWrites, NotYet, WritesFailed

pytestmark = pytest.mark.unit


class Recorder:
    """Stands in for asyncpg's connection: records what reaches it."""

    def __init__(self, failing: str | None = None) -> None:
        self.sent: list[tuple[str, str, Any]] = []
        self.failing = failing

    async def execute(self, sql: str, *args: Any) -> str:
        self._check(sql)
        self.sent.append(("execute", sql, args))
        return "INSERT 0 1"

    async def executemany(self, sql: str, args: list[tuple[Any, ...]]) -> None:
        self._check(sql)
        self.sent.append(("executemany", sql, list(args)))

    async def fetchval(self, sql: str, *args: Any, column: int = 0) -> Any:
        self.sent.append(("fetchval", sql, args))
        return len(self.sent)

    async def copy_records_to_table(self, table: str, records: list[Any]) -> None:
        self.sent.append(("copy", table, records))

    def is_closed(self) -> bool:
        return False

    def _check(self, sql: str) -> None:
        if sql == self.failing:
            raise ValueError(f"refused: {sql}")


def writes_over(recorder: Recorder) -> BatchedWrites:
    return BatchedWrites(recorder, (ConnectionError,))  # type: ignore[arg-type]


async def test_runs_of_one_statement_go_together_and_reads_see_what_came_before() -> None:
    recorder = Recorder()
    writes = writes_over(recorder)
    conn = writes.connection
    await conn.execute("A", 1)
    await conn.execute("A", 2)
    await conn.execute("B", 3)
    assert recorder.sent == []  # nothing sent yet
    await conn.fetchval("READ")
    await conn.execute("A", 4)
    await writes.flush()
    assert recorder.sent == [
        ("executemany", "A", [(1,), (2,)]),
        ("execute", "B", (3,)),
        ("fetchval", "READ", ()),
        ("execute", "A", (4,)),
    ]


async def test_a_script_and_any_other_call_flush_first() -> None:
    recorder = Recorder()
    writes = writes_over(recorder)
    conn = writes.connection
    await conn.execute("A", 1)
    await conn.execute("SET LOCAL x = 1")
    await conn.execute("A", 2)
    await conn.copy_records_to_table("t", records=[(1,)])
    assert conn.is_closed() is False
    assert [call[:2] for call in recorder.sent] == [
        ("execute", "A"),
        ("execute", "SET LOCAL x = 1"),
        ("execute", "A"),
        ("copy", "t"),
    ]


async def test_a_failing_write_names_the_records_whose_writes_it_carried() -> None:
    writes = writes_over(Recorder(failing="BAD"))
    conn = writes.connection
    writes.position = 0
    await conn.execute("A", 1)
    writes.position = 1
    await conn.execute("BAD", 2)
    writes.position = 2
    await conn.execute("BAD", 3)
    with pytest.raises(WritesFailed) as failed:
        await writes.flush()
    assert failed.value.positions == frozenset({1, 2})
    assert "refused: BAD" in str(failed.value.error)


async def test_while_collecting_writes_wait_and_nothing_reaches_the_connection() -> None:
    """A rebuild runs handlers ahead of their transaction: their writes are queued, anything
    needing the connection raises NotYet, and what a handler queued before it is dropped."""
    recorder = Recorder()
    writes = BatchedWrites(recorder, (ConnectionError,), collecting=True)  # type: ignore[arg-type]
    conn = writes.connection
    await conn.execute("A", 1)
    kept = writes.mark()
    await conn.execute("A", 2)  # the next handler's first write, then it reads
    with pytest.raises(NotYet):
        await conn.fetchval("READ")
    with pytest.raises(NotYet):
        await conn.execute("SET LOCAL x = 1")
    with pytest.raises(NotYet):
        async with conn.transaction():
            pass
    with pytest.raises(NotYet):
        await writes.flush()
    assert writes.refused  # known even to a caller whose handler caught it
    assert recorder.sent == []
    writes.forget_after(kept)
    writes.collecting = False  # its turn, in the transaction
    await conn.execute("A", 3)
    await writes.flush()
    assert recorder.sent == [("executemany", "A", [(1,), (3,)])]


async def test_what_a_handler_remembers_follows_the_writes_it_goes_with() -> None:
    """A batch keeps what its handlers remember of rows (the case file read back by each event
    of a case); collecting ahead, a handler that did not finish takes back what it remembered
    along with its writes."""
    recorder = Recorder()
    writes = BatchedWrites(recorder, (ConnectionError,), collecting=True)  # type: ignore[arg-type]
    assert writes.remembered("file-a") is None
    await writes.connection.execute("NEW FILE", "a")
    writes.remember("file-a", {"status": "open"})
    finished = writes.mark()  # the next handler
    await writes.connection.execute("SET FILE", "a", "served")
    writes.remember("file-a", {"status": "served"})
    writes.remember("file-b", {"status": "open"})
    assert writes.remembered("file-a") == {"status": "served"}
    writes.forget_after(finished)  # it met NotYet further on: it runs again at its turn
    assert writes.remembered("file-a") == {"status": "open"}
    assert writes.remembered("file-b") is None
    writes.collecting = False
    await writes.flush()
    assert recorder.sent == [("execute", "NEW FILE", ("a",))]


class Savepoint:
    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc: object) -> None:
        return None


async def test_a_savepoint_rolled_back_forgets_what_was_remembered() -> None:
    recorder = Recorder()
    recorder.transaction = Savepoint  # type: ignore[attr-defined]
    writes = writes_over(recorder)
    writes.remember("file-a", {"status": "open"})

    async def handler() -> None:
        async with writes.connection.transaction():
            writes.remember("file-a", {"status": "served"})
            raise RuntimeError("the handler's savepoint is rolled back")

    with pytest.raises(RuntimeError):
        await handler()
    assert writes.remembered("file-a") is None  # read again: the database says


async def test_a_batch_looks_behind_it_at_what_earlier_batches_remembered() -> None:
    """A rebuild's batch finds the rows its committed batches remembered (``behind``) unless
    it remembered a newer one itself; only its own are its ``rows``."""
    committed = {"file-a": {"status": "open"}, "file-b": {"status": "open"}}
    writes = BatchedWrites(Recorder(), (ConnectionError,), collecting=True, behind=committed)  # type: ignore[arg-type]
    assert writes.remembered("file-a") == {"status": "open"}
    writes.remember("file-a", {"status": "served"})
    assert writes.remembered("file-a") == {"status": "served"}
    assert writes.remembered("file-b") == {"status": "open"}
    assert writes.remembered("file-c") is None
    assert dict(writes.rows) == {"file-a": {"status": "served"}}
    assert committed["file-a"] == {"status": "open"}  # behind it, nothing changes


async def test_a_savepoint_rolled_back_stops_looking_behind() -> None:
    """Rolled-back writes may have changed rows remembered behind the batch, as well."""
    recorder = Recorder()
    recorder.transaction = Savepoint  # type: ignore[attr-defined]
    writes = BatchedWrites(recorder, (ConnectionError,), behind={"file-a": {"status": "open"}})  # type: ignore[arg-type]

    async def handler() -> None:
        async with writes.connection.transaction():
            raise RuntimeError("the handler's savepoint is rolled back")

    with pytest.raises(RuntimeError):
        await handler()
    assert writes.remembered("file-a") is None
    assert writes.rolled_back  # a replay forgets what its batches remembered


async def test_a_row_forgotten_in_the_batch_is_not_found_behind_it() -> None:
    """What the batch remembered, even None (read it again), is newer than what is behind."""
    writes = BatchedWrites(Recorder(), (ConnectionError,), behind={"file-a": {"status": "open"}})  # type: ignore[arg-type]
    writes.remember("file-a", None)
    assert writes.remembered("file-a") is None
