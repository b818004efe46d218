"""Staff use cases: the specialist queues a member of staff works."""

from __future__ import annotations

import asyncpg

from runtime.context import CommandContext
from runtime.eventstore import EventStore
from services.cases.application import repositories
from services.cases.domain.staff_member import SetSkills, StaffMember, decide, staff_stream


async def set_skills(
    conn: asyncpg.Connection, store: EventStore, command: SetSkills, context: CommandContext
) -> StaffMember:
    executed = await repositories.staff(store).execute(
        conn, staff_stream(command.staff_id), lambda member: decide(member, command), context
    )
    return executed.state
