"""A rebuild runs the cyclic garbage collector less often while it replays, and gives the
process its thresholds back when the last rebuild ends, however they overlap; a service process
runs it less often too, once its start-up is frozen."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from runtime.consumer import REPLAY_COLLECTION_THRESHOLD, _fewer_collections

pytestmark = pytest.mark.unit


@pytest.fixture
def thresholds() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield gc.get_threshold()
    gc.set_threshold(*before)


def test_overlapping_rebuilds_restore_the_thresholds_when_the_last_one_ends(
    thresholds: tuple[int, int, int],
) -> None:
    first, second = _fewer_collections(), _fewer_collections()
    first.__enter__()
    assert gc.get_threshold() == (REPLAY_COLLECTION_THRESHOLD, 10, 10)
    second.__enter__()
    first.__exit__(None, None, None)  # the first ends while the second still replays
    assert gc.get_threshold() == (REPLAY_COLLECTION_THRESHOLD, 10, 10)
    second.__exit__(None, None, None)
    assert gc.get_threshold() == thresholds


def test_a_failed_rebuild_restores_them_too(thresholds: tuple[int, int, int]) -> None:
    with pytest.raises(RuntimeError), _fewer_collections():
        raise RuntimeError("replay failed")
    assert gc.get_threshold() == thresholds


def test_a_service_process_freezes_start_up_and_collects_young_objects_less_often(
    thresholds: tuple[int, int, int],
) -> None:
    from runtime.service import SERVING_COLLECTION_THRESHOLD, settle_collector

    frozen = gc.get_freeze_count()
    try:
        settle_collector()
        assert gc.get_freeze_count() > frozen  # start-up's objects out of the collector's sight
        assert gc.get_threshold() == (SERVING_COLLECTION_THRESHOLD, 10, 10)
        with _fewer_collections():  # a rebuild in such a process still raises it
            assert gc.get_threshold() == (REPLAY_COLLECTION_THRESHOLD, 10, 10)
        assert gc.get_threshold() == (SERVING_COLLECTION_THRESHOLD, 10, 10)
    finally:
        gc.unfreeze()


async def test_a_command_of_the_cli_settles_the_collector_as_a_service_process_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``frontdesk rebuild`` and the other commands on a service run in a process of their own:
    start-up frozen out of the collector's sight there too, once the service is wired."""
    import runtime.service
    from runtime import cli

    steps: list[str] = []

    class Wired:
        def __init__(self, *args: object) -> None:
            steps.append("wired")

        async def connect_database(self) -> None:
            steps.append("connected")

        async def stop(self) -> None:
            steps.append("stopped")

    monkeypatch.setattr(runtime.service, "ServiceRuntime", Wired)
    monkeypatch.setattr(runtime.service, "settle_collector", lambda: steps.append("settled"))
    assert await cli._with_service("checkin", "migrate", None) == 0
    assert steps == ["wired", "connected", "settled", "stopped"]
