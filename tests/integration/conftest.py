"""The four services in this process, over the real Kafka and PostgreSQL, with HTTP clients."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from runtime.cli import definition_of
from runtime.scheduler import OffsetClock, TimerRunner
from runtime.service import ServiceRuntime, create_app
from runtime.settings import ServiceSettings
from tests.conftest import SERVICES

pytestmark = pytest.mark.integration


@dataclass
class RunningService:
    name: str
    app: FastAPI
    runtime: ServiceRuntime
    client: httpx.AsyncClient

    @property
    def timers(self) -> TimerRunner:
        """The service's durable timers (``await service.timers.fire_due()``); the stack
        fixture has started every service, so each has them."""
        timers = self.runtime.timers
        assert timers is not None, f"{self.name} has not started its timers"
        return timers


@pytest.fixture(scope="session")
def clock() -> OffsetClock:
    """The clock of every in-process service: real time, and tests may jump it forward
    (``clock.advance(timedelta(hours=4))``); then ``service.timers.fire_due()``."""
    return OffsetClock()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def stack(
    databases: list[str], settings: ServiceSettings, clock: OffsetClock
) -> AsyncIterator[dict[str, RunningService]]:
    running: dict[str, RunningService] = {}
    lifespans = []
    for name in SERVICES:
        app = create_app(definition_of(name), settings, clock)
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        lifespans.append(lifespan)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=f"http://{name}"
        )
        running[name] = RunningService(name, app, app.state.runtime, client)
    await asyncio.wait_for(
        asyncio.gather(*(s.runtime.kafka_connected.wait() for s in running.values())), 60
    )
    yield running
    for service in running.values():
        await service.client.aclose()
    for lifespan in reversed(lifespans):
        await lifespan.__aexit__(None, None, None)
