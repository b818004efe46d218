"""runtime.consumer's ``_Remembered``: what a replay's committed batches remembered of rows,
kept for the batches after them while every batch commits as it was collected."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.batched_writes import BatchedWrites
from runtime.consumer import _Collected, _Remembered

pytestmark = pytest.mark.unit


def run(remembered: dict[str, Any], *, applied: bool = True) -> _Collected:
    writes = BatchedWrites(None, (ConnectionError,))  # type: ignore[arg-type]
    for key, row in remembered.items():
        writes.remember(key, row)
    return _Collected(writes, len(remembered), len(remembered), applied=applied)


def test_a_batch_that_committed_as_collected_is_remembered_over_the_ones_before() -> None:
    memory = _Remembered()
    assert memory.settled([run({"a": 1, "b": 1})])
    assert memory.settled([run({"b": 2})])
    assert memory.rows == {"a": 1, "b": 2}


def test_the_batch_in_flight_is_seen_over_the_committed_ones() -> None:
    memory = _Remembered()
    memory.settled([run({"a": 1, "b": 1})])
    behind = memory.behind([run({"b": 2}, applied=False)])
    assert (behind["a"], behind["b"]) == (1, 2)
    assert memory.rows == {"a": 1, "b": 1}  # not before it committed


def test_a_batch_that_did_not_commit_as_collected_forgets_everything() -> None:
    """A record retried, dead-lettered or handled alone wrote through other writes than the
    ones collected: what it changed was not remembered."""
    memory = _Remembered()
    memory.settled([run({"a": 1})])
    assert not memory.settled([run({"b": 1}), None])  # a record handled alone
    assert memory.rows == {}
    memory.settled([run({"a": 1})])
    assert not memory.settled([run({"b": 1}, applied=False)])  # retried the ordinary way
    assert memory.rows == {}


def test_the_least_recently_remembered_rows_go_first_past_the_limit() -> None:
    memory = _Remembered(limit=2)
    memory.settled([run({"a": 1, "b": 1})])
    memory.settled([run({"a": 2})])  # a is the most recent now
    memory.settled([run({"c": 1})])
    assert memory.rows == {"a": 2, "c": 1}


def test_a_batch_with_a_savepoint_rolled_back_forgets_everything() -> None:
    """The rollback made the batch forget what it had remembered before the savepoint, not
    what it had written then: the rows behind it may be older than the database's."""
    memory = _Remembered()
    memory.settled([run({"a": 1})])
    batch = run({"a": 2})
    batch.writes.rolled_back = True
    assert not memory.settled([batch])
    assert memory.rows == {}
