"""The running service as the runtime's parts see it (audit, export, retention, timers).

``runtime.service.ServiceRuntime`` is the one implementation; the parts depend on this
protocol instead, so the composition root imports them and none of them imports it back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import asyncpg

from runtime.eventstore import EventStore
from runtime.privacy import Privacy
from runtime.scheduler import Clock
from runtime.settings import ServiceSettings

# (conn, subject id, the service's wiring) -> what the service holds about the person
ExportSubject = Callable[[asyncpg.Connection, str, Any], Awaitable[dict[str, Any]]]


class RunningService(Protocol):
    name: str
    settings: ServiceSettings
    clock: Clock
    store: EventStore
    privacy: Privacy
    wiring: Any  # the service's own settings and adapters (ServiceDefinition.wiring)

    @property
    def pool(self) -> asyncpg.Pool: ...

    @property
    def export_subject(self) -> ExportSubject: ...
