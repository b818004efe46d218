"""Read model ``case_check_plans`` (frontdesk.cases.cases): the checks each opened case will
need, shown to agents as soon as the case opens (verify while you wait)."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from contracts import EventPayload
from contracts.events.cases import CaseOpened
from runtime.consumer import EventHandler, ReceivedEvent
from services.verification.domain.plans import required_checks

TABLES = ("case_check_plans",)


async def on_case_opened(conn: asyncpg.Connection, event: ReceivedEvent[CaseOpened]) -> None:
    opened = event.payload
    await conn.execute(
        """INSERT INTO case_check_plans (case_id, account_ref, case_type, required_checks,
               opened_at, correlation_id)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (case_id) DO NOTHING""",
        opened.case_id,
        opened.account_ref,
        opened.case_type.value,
        [check.value for check in required_checks(opened.case_type)],
        opened.opened_at,
        event.envelope.correlation_id,
    )


handlers: dict[type[EventPayload], EventHandler] = {CaseOpened: on_case_opened}


async def plan_of(pool: asyncpg.Pool, case_id: UUID) -> asyncpg.Record | None:
    return await pool.fetchrow(
        "SELECT case_id, case_type, required_checks, opened_at FROM case_check_plans "
        "WHERE case_id = $1",
        case_id,
    )
