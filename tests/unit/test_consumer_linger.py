"""A group with ``linger_ms`` waits that long after a batch smaller than a poll's maximum before
FastStream polls again (so the records arriving meanwhile come as one batch); after a full
batch (a backlog) and for a group without it, the next poll follows at once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from contracts.events.checkin import TicketLeft
from contracts.topics import CHECKIN_TICKETS
from runtime.consumer import ConsumerGroup, ConsumerRunner, DeadLetter, Outcome, Record

pytestmark = pytest.mark.unit


class Runner(ConsumerRunner):
    """The runner with its batches and pauses recorded instead of handled and slept (the
    event loop is the test session's: its other tasks keep their own ``asyncio.sleep``)."""

    batches: list[int]
    pauses: list[float]

    async def handle_batch(self, records: Sequence[Record], **options: Any) -> list[Outcome]:
        self.batches.append(len(records))
        return [Outcome.APPLIED] * len(records)

    async def linger(self, seconds: float) -> None:
        self.pauses.append(seconds)


async def _no_dead_letters(letter: DeadLetter) -> None:
    raise AssertionError(letter)


def subscribed(linger_ms: int, max_records: int = 3) -> tuple[Runner, Callable[[Any], Any]]:
    async def handler(conn: Any, event: Any) -> None:
        return None

    group = ConsumerGroup(
        "tests.linger", [CHECKIN_TICKETS], {TicketLeft: handler}, linger_ms=linger_ms
    )
    runner = Runner(None, group, _no_dead_letters, max_records=max_records)  # type: ignore[arg-type]
    runner.batches, runner.pauses = [], []
    return runner, runner.handle_polled


def polled(count: int) -> tuple[Record, ...]:
    return tuple(Record(b"{}", b"k", "t", 0, offset) for offset in range(count))


async def test_a_small_batch_lingers_before_the_next_poll() -> None:
    runner, consume = subscribed(linger_ms=50)
    await consume(polled(2))
    assert runner.batches == [2]
    assert runner.pauses == [0.05]


async def test_a_full_batch_polls_again_at_once() -> None:
    runner, consume = subscribed(linger_ms=50, max_records=3)
    await consume(polled(3))
    assert runner.batches == [3]
    assert runner.pauses == []


async def test_without_linger_the_next_poll_follows_at_once() -> None:
    runner, consume = subscribed(linger_ms=0)
    await consume(polled(1))
    assert runner.batches == [1]
    assert runner.pauses == []
