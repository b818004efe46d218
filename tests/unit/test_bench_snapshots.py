"""The bench's "flat in history" row measures snapshots only if its aggregate's snapshot reads
back: an unreadable one is silently folded from the events (runtime/repository.py), and the
row then measured a full fold while calling it a snapshot."""

from __future__ import annotations

import pytest

from bench.pairs import SNAPSHOTTED, event

pytestmark = pytest.mark.unit


def test_the_bench_aggregates_snapshot_reads_back() -> None:
    state = SNAPSHOTTED.fold([event(n) for n in range(3)], SNAPSHOTTED.initial())
    assert SNAPSHOTTED.load_state(SNAPSHOTTED.dump_state(state)) == state
