"""/readyz answers whatever is down: each check is bounded, and they run side by side."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from runtime.service import ServiceRuntime

pytestmark = pytest.mark.unit


class Hanging:
    """A database or broker that never answers."""

    async def fetchval(self, *args: Any) -> Any:
        await asyncio.Event().wait()

    async def ping(self, timeout: float) -> bool:  # noqa: ASYNC109 (the broker's signature)
        await asyncio.Event().wait()
        return True


class Connected:
    def is_set(self) -> bool:
        return True


async def test_readiness_says_unavailable_instead_of_waiting() -> None:
    runtime: Any = object.__new__(ServiceRuntime)
    runtime._pool = Hanging()
    runtime.broker = Hanging()
    runtime.kafka_connected = Connected()
    # the outer deadline only keeps a broken build from hanging the suite
    checks = await asyncio.wait_for(runtime.readiness(within=0.05), timeout=60)
    assert checks == {
        "database": "unavailable: TimeoutError",
        "kafka": "unavailable",
        "outbox_pending": None,
    }
