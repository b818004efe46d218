"""An idle group's poll waits for records, and an empty poll is followed by the next one at
once (``runtime.consumer.long_polls``): FastStream's own batch subscriber sleeps after an empty
poll, which delayed a record reaching an idle group and made every idle group wake its process
100 times a second."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import ConsumerStoppedError
from faststream.kafka import KafkaBroker
from faststream.kafka.subscriber import usecase
from faststream.middlewares import AckPolicy

from contracts.events.checkin import TicketLeft
from contracts.topics import CHECKIN_TICKETS
from runtime.consumer import ConsumerGroup, ConsumerRunner, DeadLetter, Outcome, Record

pytestmark = pytest.mark.unit

FIRST, SECOND = TopicPartition("checkin.tickets", 0), TopicPartition("checkin.tickets", 1)


class Consumer:
    """What a subscriber's poll uses of aiokafka's consumer: ``getmany``, answering the polls
    it was given in turn, then stopped."""

    def __init__(self, *polls: dict[TopicPartition, list[Any]]) -> None:
        self.polls = list(polls)
        self.asked: list[tuple[int, int | None]] = []

    async def getmany(
        self, *partitions: TopicPartition, timeout_ms: int = 0, max_records: int | None = None
    ) -> dict[TopicPartition, list[Any]]:
        self.asked.append((timeout_ms, max_records))
        if not self.polls:
            raise ConsumerStoppedError
        return self.polls.pop(0)


class Runner(ConsumerRunner):
    """The runner with the batches it was handed recorded."""

    batches: list[list[Any]]

    async def handle_batch(self, records: Sequence[Record], **options: Any) -> list[Outcome]:
        self.batches.append([record.value for record in records])
        return [Outcome.APPLIED] * len(records)


async def _no_dead_letters(letter: DeadLetter) -> None:
    raise AssertionError(letter)


async def _left(conn: Any, event: Any) -> None:
    return None


def subscribed(**options: Any) -> tuple[Runner, Any]:
    """A runner subscribed to a broker that is never connected, and its FastStream
    subscriber."""
    group = ConsumerGroup("tests.poll", [CHECKIN_TICKETS], {TicketLeft: _left})
    runner = Runner(None, group, _no_dead_letters, **options)  # type: ignore[arg-type]
    runner.batches = []
    broker = KafkaBroker("127.0.0.1:9")
    runner.subscribe(broker, AckPolicy.NACK_ON_ERROR)
    [subscriber] = broker.subscribers
    return runner, subscriber


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The pauses FastStream's subscriber module asks for, recorded instead of slept (only
    that module's ``anyio`` is replaced: the session's event loop sleeps as before)."""
    asked: list[float] = []

    async def sleep(seconds: float) -> None:
        asked.append(seconds)

    monkeypatch.setattr(usecase, "anyio", SimpleNamespace(sleep=sleep))
    return asked


async def test_faststreams_own_batch_poll_sleeps_after_an_empty_poll(sleeps: list[float]) -> None:
    """What ``long_polls`` replaces, as the pinned FastStream does it: when this fails,
    FastStream no longer pauses and ``long_polls`` can go."""
    _, subscriber = subscribed(poll_timeout_ms=1000)
    consumer = Consumer({})
    assert await usecase.BatchSubscriber.get_msg(subscriber, consumer) == ()  # type: ignore[arg-type]
    assert sleeps == [1.0]


async def test_an_empty_poll_is_followed_by_the_next_at_once(sleeps: list[float]) -> None:
    _, subscriber = subscribed(poll_timeout_ms=1000, max_records=200)
    consumer = Consumer({})
    assert await subscriber.get_msg(consumer) == ()
    assert consumer.asked == [(1000, 200)]
    assert sleeps == []


async def test_a_poll_hands_on_every_partitions_records_in_one_batch() -> None:
    _, subscriber = subscribed()
    consumer = Consumer({FIRST: ["a", "b"], SECOND: ["c"]})
    assert await subscriber.get_msg(consumer) == ("a", "b", "c")


async def test_the_subscriptions_loop_polls_again_after_an_empty_poll_and_hands_on_records(
    sleeps: list[float],
) -> None:
    """FastStream's consume loop, as it runs a group: the empty poll is passed over without a
    pause, the records of the next poll reach the runner as one batch, a stopped consumer
    ends the loop."""
    runner, subscriber = subscribed(poll_timeout_ms=500, max_records=50)
    record = Record(b"{}", b"k", "checkin.tickets", 0, 7)
    handed: list[Any] = []

    async def consume_one(polled: Any) -> None:
        handed.append(polled)
        await runner.handle_polled(polled)

    subscriber.consume_one = consume_one
    subscriber.running = True
    consumer = Consumer({}, {FIRST: [record, record]})
    await subscriber._run_consume_loop(consumer)
    assert consumer.asked == [(500, 50)] * 3  # empty, two records, stopped
    assert sleeps == []
    assert handed == [(record, record)]
    assert runner.batches == [[b"{}", b"{}"]]


def test_only_a_batch_subscriber_can_long_poll() -> None:
    from runtime.consumer import long_polls

    broker = KafkaBroker("127.0.0.1:9")
    single = broker.subscriber("checkin.tickets", group_id="tests.single")
    with pytest.raises(TypeError, match="batch subscriber"):
        long_polls(single)
