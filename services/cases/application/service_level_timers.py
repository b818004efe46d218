"""Durable timers that mirror a case's running service-level clocks (an after-append hook of
the case repository, in the same transaction as the events). Their ids are deterministic, and
each carries the context of the command that scheduled it (``runtime/scheduler.py``)."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from contracts.events.cases import (
    ServiceLevelBreached,
    ServiceLevelKind,
    ServiceLevelsScheduled,
    ServiceLevelWarning,
)
from runtime.context import CommandContext
from runtime.repository import Executed
from runtime.scheduler import cancel, schedule
from services.cases.domain.case import Case

SERVICE_LEVEL_TIMER = "cases.service_level"
_CLOCK_EVENTS = (ServiceLevelsScheduled, ServiceLevelWarning, ServiceLevelBreached)


def timer_id(case_id: UUID, kind: ServiceLevelKind, warning: bool) -> str:
    return f"sla:{case_id}:{kind.value}:{'warning' if warning else 'breach'}"


async def keep_service_level_timers(
    conn: asyncpg.Connection, executed: Executed[Case], context: CommandContext
) -> None:
    if not any(isinstance(event, _CLOCK_EVENTS) for event in executed.events):
        return
    case = executed.state
    assert case.case_id is not None
    for kind in ServiceLevelKind:
        target = case.target(kind)
        running = (
            target is not None
            and case.active
            and not case.sla_paused
            and (kind, target.due_at) not in case.breached
        )
        if not running:
            await cancel(conn, timer_id(case.case_id, kind, False))
            await cancel(conn, timer_id(case.case_id, kind, True))
            continue
        assert target is not None
        base = {
            "case_id": str(case.case_id),
            "kind": kind.value,
            "due_at": target.due_at.isoformat(),
        }
        await schedule(
            conn,
            timer_id(case.case_id, kind, False),
            SERVICE_LEVEL_TIMER,
            target.due_at,
            {**base, "warning": False},
            context,
        )
        if (kind, target.due_at) in case.warned or target.warn_at >= target.due_at:
            await cancel(conn, timer_id(case.case_id, kind, True))
        else:
            await schedule(
                conn,
                timer_id(case.case_id, kind, True),
                SERVICE_LEVEL_TIMER,
                target.warn_at,
                {**base, "warning": True},
                context,
            )
