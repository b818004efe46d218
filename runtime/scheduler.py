"""Time: a clock that tests control, and durable timers that fire exactly once.

Use ``schedule(conn, timer_id, kind, due_at, payload)`` inside a command's transaction (the
timer exists if and only if the command committed), ``cancel(conn, timer_id)`` to drop it.
A service declares a handler per timer kind; the ``TimerRunner`` fires due timers, each in one
transaction with its effect (typically: load an aggregate, decide with ``now``, append), and
deletes it in that same transaction. Several replicas share the work through
``FOR UPDATE SKIP LOCKED``; a crash before commit leaves the timer to fire again. A handler may
schedule the same id again (a repeating timer). A failing handler is retried with backoff.

Tests drive time with ``ManualClock`` and call ``TimerRunner.fire_due()`` — no sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import asyncpg
from opentelemetry import metrics, trace
from opentelemetry.instrumentation.utils import suppress_instrumentation

from contracts import Actor
from runtime.context import CommandContext
from runtime.telemetry import context_from_carrier, correlation_id_var, log_fields

tracer = trace.get_tracer("frontdesk.timers")

log = logging.getLogger(__name__)
fired_counter = metrics.get_meter("frontdesk.timers").create_counter(
    "frontdesk.timers.fired", description="Timers fired, by kind and outcome"
)


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to (tests, simulations)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 23, 1, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment


class OffsetClock:
    """Real time plus an offset that only grows: for a running system under test, where time
    must flow (Kafka, timeouts) and also jump ahead (an SLA due in four hours)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta():
            raise ValueError("time does not go back")
        self.offset += delta
        return self.now()


@dataclass(frozen=True)
class Timer:
    timer_id: str
    kind: str
    due_at: datetime
    payload: dict[str, Any]
    attempts: int
    scheduled_by: dict[str, Any] | None = None  # the scheduling command's context, as JSON

    def context(self, service: str) -> CommandContext:
        """The context what this timer fires runs in: the service acts, in the flow (the
        correlation id and trace) of the command that scheduled the timer."""
        if self.scheduled_by is None:
            return CommandContext.of_service(service)
        scheduled = CommandContext.from_json(self.scheduled_by)
        return CommandContext(
            actor=Actor(id=service, role="service"),
            correlation_id=scheduled.correlation_id,
            trace=scheduled.trace,
        )


TimerHandler = Callable[[asyncpg.Connection, Timer, datetime], Awaitable[None]]


async def schedule(
    conn: asyncpg.Connection,
    timer_id: str,
    kind: str,
    due_at: datetime,
    payload: Mapping[str, Any] | None = None,
    context: CommandContext | None = None,
) -> None:
    """Create the timer, or move it to the new due time (same id). The timer carries
    ``context`` (by default the current flow's correlation id and trace) to what it fires."""
    scheduled_by = (context or CommandContext.new(None)).to_json()
    await conn.execute(
        """INSERT INTO timers (timer_id, kind, due_at, payload, context)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (timer_id) DO UPDATE
           SET kind = EXCLUDED.kind, due_at = EXCLUDED.due_at, payload = EXCLUDED.payload,
               context = EXCLUDED.context, attempts = 0, last_error = NULL""",
        timer_id,
        kind,
        due_at,
        dict(payload or {}),
        scheduled_by,
    )


async def cancel(conn: asyncpg.Connection, timer_id: str) -> bool:
    return await conn.execute("DELETE FROM timers WHERE timer_id = $1", timer_id) != "DELETE 0"


async def cancel_unless_firing(conn: asyncpg.Connection, timer_id: str) -> bool:
    """Cancel a timer unless a runner is firing it right now; False then (its handler runs).

    ``cancel`` would wait for the firing transaction to end, which deadlocks when that handler
    itself waits for a lock the caller holds. True when the timer was cancelled or did not
    exist (nothing left to fire)."""
    held = await conn.fetchval(
        "SELECT timer_id FROM timers WHERE timer_id = $1 FOR UPDATE SKIP LOCKED", timer_id
    )
    if held is None:
        return await conn.fetchval("SELECT 1 FROM timers WHERE timer_id = $1", timer_id) is None
    await cancel(conn, timer_id)
    return True


class TimerRunner:
    def __init__(
        self,
        pool: asyncpg.Pool,
        handlers: Mapping[str, TimerHandler],
        clock: Clock,
        *,
        poll_interval: float = 1.0,
        max_backoff: timedelta = timedelta(minutes=5),
        service: str = "frontdesk",
    ) -> None:
        self.service = service
        self._holds = 0
        self._background_pass = asyncio.Lock()  # held while the loop fires on its own
        self.pool = pool
        self.handlers = handlers
        self.clock = clock
        self.poll_interval = poll_interval
        self.max_backoff = max_backoff

    async def fire_due(
        self, limit: int = 1000, *, settle_seconds: float = 30.0, yield_to_holds: bool = False
    ) -> int:
        """Fire every timer due by the clock's now (up to ``limit``); returns how many this
        runner fired. Returns only once no timer due at the call is left — also those another
        runner (a replica, the background loop) was firing at that moment — so a caller that
        moved the clock sees every effect when this returns. With ``yield_to_holds`` (the
        background loop's pass) it stops before the next timer once a hold begins."""
        cutoff = self.clock.now()
        fired = 0
        deadline = asyncio.get_running_loop().time() + settle_seconds
        while fired < limit:
            if yield_to_holds and self._holds:
                return fired
            now = self.clock.now()
            async with self.pool.acquire() as conn:
                outcome = await self._fire_one(conn, now)
            if outcome is not None:
                fired += 1
                continue
            with suppress_instrumentation():
                in_flight = await self.pool.fetchval(
                    "SELECT count(*) FROM timers WHERE due_at <= $1 AND kind = ANY($2::text[])",
                    cutoff,
                    list(self.handlers),
                )
            if not in_flight or asyncio.get_running_loop().time() > deadline:
                return fired
            await asyncio.sleep(0.05)  # another runner holds them: wait for its commit
        return fired

    async def _fire_one(self, conn: asyncpg.Connection, now: datetime) -> str | None:
        failed: tuple[Timer, BaseException] | None = None
        async with conn.transaction():
            with suppress_instrumentation():
                row = await conn.fetchrow(
                    """SELECT timer_id, kind, due_at, payload, attempts,
                              context AS scheduled_by FROM timers
                       WHERE due_at <= $1 AND kind = ANY($2::text[])
                       ORDER BY due_at LIMIT 1 FOR UPDATE SKIP LOCKED""",
                    now,
                    list(self.handlers),
                )
            if row is None:
                return None
            timer = Timer(**dict(row))
            await conn.execute("DELETE FROM timers WHERE timer_id = $1", timer.timer_id)
            try:
                async with conn.transaction():  # the handler's effect, or nothing
                    with _in_flow_of(timer, self.service):
                        await self.handlers[timer.kind](conn, timer, now)
            except Exception as error:
                failed = (timer, error)
                await self._retry_later(conn, timer, error, now)
        outcome = "failed" if failed else "fired"
        fired_counter.add(1, {"kind": timer.kind, "outcome": outcome})
        return outcome

    async def _retry_later(
        self, conn: asyncpg.Connection, timer: Timer, error: BaseException, now: datetime
    ) -> None:
        delay = min(timedelta(seconds=2 ** min(timer.attempts, 16)), self.max_backoff)
        await conn.execute(
            """INSERT INTO timers (timer_id, kind, due_at, payload, attempts, last_error, context)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (timer_id) DO NOTHING""",
            timer.timer_id,
            timer.kind,
            now + delay,
            timer.payload,
            timer.attempts + 1,
            f"{type(error).__name__}: {error}"[:1000],
            timer.scheduled_by,
        )
        log.warning(
            "timer failed, retrying",
            extra=log_fields(
                timer_id=timer.timer_id,
                kind=timer.kind,
                attempt=timer.attempts + 1,
                error=type(error).__name__,
            ),
        )

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """Hold the background loop: nothing fires on its own until the block ends, while
        ``fire_due`` still fires when called (an operator's maintenance window; a test that
        decides the moment a batch runs, as a manual clock decides the time).

        A pass the loop had begun ends first, before its next timer: without that wait, a
        timer that becomes due inside the block (a campaign's first batch, scheduled by the
        command the block was opened for) could still be fired by that pass."""
        self._holds += 1
        try:
            async with self._background_pass:
                pass
            yield
        finally:
            self._holds -= 1

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                if not self._holds:
                    async with self._background_pass:
                        await self.fire_due(yield_to_holds=True)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                log.warning("timers waiting for the database", extra=log_fields(error=repr(error)))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.poll_interval)


@contextlib.contextmanager
def _in_flow_of(timer: Timer, service: str) -> Iterator[None]:
    """Fire a timer inside the flow that scheduled it: its correlation id for the log lines
    and the events it causes, and a span in the scheduling command's trace."""
    context = timer.context(service)
    token = correlation_id_var.set(str(context.correlation_id))
    parent = (
        context_from_carrier(context.trace.model_dump(exclude_none=True)) if context.trace else None
    )
    try:
        with tracer.start_as_current_span(
            f"timer {timer.kind}", context=parent, attributes={"frontdesk.timer.kind": timer.kind}
        ):
            yield
    finally:
        correlation_id_var.reset(token)
