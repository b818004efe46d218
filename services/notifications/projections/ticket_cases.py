"""Read model ``ticket_cases``: the case each check-in ticket opened or joined (cases' intake);
a queue callback names it."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from contracts.events.cases import CaseOpened, ContactAttached
from runtime.consumer import EventHandler, ReceivedEvent

TABLES = ("ticket_cases",)


async def on_case_contact(
    conn: asyncpg.Connection, event: ReceivedEvent[CaseOpened | ContactAttached]
) -> None:
    contact = event.payload
    if contact.source.ticket_id is None:
        return
    await conn.execute(
        """INSERT INTO ticket_cases (ticket_id, case_id) VALUES ($1, $2)
           ON CONFLICT (ticket_id) DO NOTHING""",
        contact.source.ticket_id,
        contact.case_id,
    )


handlers: dict[type, EventHandler] = {CaseOpened: on_case_contact, ContactAttached: on_case_contact}


async def case_of_ticket(conn: asyncpg.Connection, ticket_id: UUID) -> UUID | None:
    return await conn.fetchval(  # type: ignore[no-any-return]
        "SELECT case_id FROM ticket_cases WHERE ticket_id = $1", ticket_id
    )
