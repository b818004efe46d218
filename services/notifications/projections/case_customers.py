"""Read model ``case_customers``: which customer each case belongs to (a customer sees their
own callbacks)."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from contracts.events.cases import CaseOpened
from runtime.consumer import EventHandler, ReceivedEvent

TABLES = ("case_customers",)


async def on_case_opened(conn: asyncpg.Connection, event: ReceivedEvent[CaseOpened]) -> None:
    opened = event.payload
    if opened.customer_id is None:
        return
    await conn.execute(
        """INSERT INTO case_customers (case_id, customer_id) VALUES ($1, $2)
           ON CONFLICT (case_id) DO NOTHING""",
        opened.case_id,
        opened.customer_id,
    )


handlers: dict[type, EventHandler] = {CaseOpened: on_case_opened}


async def customer_of_case(conn: asyncpg.Connection, case_id: UUID) -> str | None:
    return await conn.fetchval(  # type: ignore[no-any-return]
        "SELECT customer_id FROM case_customers WHERE case_id = $1", case_id
    )
