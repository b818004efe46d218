"""The bench's rows write to topics of their own: a service the later rows start reads its
topics from the earliest offset, so records a row left on one of them were consumed while
that service was measured (the consume rows' 100,000 on ``checkin.tickets`` raised check-in's
CPU per ticket from ~2.2 to ~3.1 ms in a full bench)."""

from __future__ import annotations

import pytest

from bench import pairs
from contracts import TopicSpec
from contracts.topics import TOPICS

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("topic", [pairs.RAW_TOPIC, pairs.RELAYED_TOPIC, pairs.CONSUMED_TOPIC])
def test_a_bench_row_writes_to_no_services_topic(topic: TopicSpec) -> None:
    assert topic.name not in TOPICS


def test_the_consume_rows_read_their_own_topic() -> None:
    group = pairs.bench_group("bench.check")
    assert [topic.name for topic in group.topics] == [pairs.CONSUMED_TOPIC.name]
