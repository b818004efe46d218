"""The durable timers verification schedules, by kind (each carries the context of the
command that scheduled it: ``timer.context("verification")``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

import asyncpg

from runtime.eventstore import EventStore
from runtime.running import RunningService
from runtime.scheduler import Timer, TimerHandler
from services.verification.application.media import MEDIA_PURGE_TIMER, on_media_purge_timer
from services.verification.application.organizations import DEPOSITS_TIMER, on_deposits_timer
from services.verification.application.sessions import (
    COOLDOWN_TIMER,
    EXPIRY_TIMER,
    on_cooldown_timer,
    on_expiry_timer,
)

StoreTimer = Callable[[EventStore, asyncpg.Connection, Timer, datetime], Awaitable[None]]


def timer_handlers(runtime: RunningService) -> dict[str, TimerHandler]:
    def bound(handler: StoreTimer) -> TimerHandler:
        async def fire(conn: asyncpg.Connection, timer: Timer, now: datetime) -> None:
            await handler(runtime.store, conn, timer, now)

        return fire

    return {
        EXPIRY_TIMER: bound(on_expiry_timer),
        COOLDOWN_TIMER: bound(on_cooldown_timer),
        DEPOSITS_TIMER: bound(on_deposits_timer),
        MEDIA_PURGE_TIMER: bound(on_media_purge_timer),
    }
