"""Cases use cases."""

from __future__ import annotations

import uuid
from uuid import UUID

import asyncpg

from runtime.eventstore import CommandContext, EventStore, execute
from services.cases.domain import CASE, Case, OpenCase, decide_open

_CASES_NAMESPACE = uuid.UUID("6f1c3f0e-4a52-4b7e-9f0a-2d7c9b1e5a10")


def case_stream(case_id: UUID) -> str:
    return f"case-{case_id}"


def case_id_for_ticket(ticket_id: UUID) -> UUID:
    """The case a check-in ticket opens: derived, so a replayed ticket maps to the same case."""
    return uuid.uuid5(_CASES_NAMESPACE, f"ticket:{ticket_id}")


async def open_case(
    conn: asyncpg.Connection, store: EventStore, command: OpenCase, context: CommandContext
) -> Case:
    case, _ = await execute(
        conn,
        store,
        CASE,
        case_stream(command.case_id),
        lambda state: decide_open(state, command),
        context,
    )
    return case
