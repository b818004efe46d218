"""The relay puts a record on the partition aiokafka's ``DefaultPartitioner`` (what a plain
``send()`` uses) picks for its key: its own murmur2 gives aiokafka's value for every key
length, and a key's partition is the same whether it was computed or remembered."""

from __future__ import annotations

import random

import pytest
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2

from runtime.kafka import _Placement, murmur2

pytestmark = pytest.mark.unit


def test_murmur2_is_aiokafkas_for_every_length_and_byte() -> None:
    draw = random.Random(13)
    keys = [bytes(draw.randrange(256) for _ in range(length)) for length in range(80)] * 5
    keys += [b"", b"\x00", b"\xff" * 3, b"\xff" * 7, b"\x80" * 43]
    keys += [f"ticket-{draw.getrandbits(128):032x}".encode() for _ in range(200)]
    assert [murmur2(key) for key in keys] == [aiokafka_murmur2(key) for key in keys]


@pytest.mark.parametrize(
    "partitions", [[0], [0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]]
)
def test_a_key_goes_where_the_default_partitioner_puts_it_each_time(partitions: list[int]) -> None:
    placement = _Placement("t", partitions)
    keys = [f"ticket-{n}".encode() for n in range(300)]
    expected = [("t", DefaultPartitioner()(key, partitions, partitions)) for key in keys]

    assert [placement.of(key) for key in keys] == expected
    assert [placement.of(key) for key in keys] == expected  # remembered: the same
