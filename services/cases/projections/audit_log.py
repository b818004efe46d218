"""Who looked at a person's data (``personal_data_accesses``): the audit events of every
service, kept by cases (which owns the account timeline) for supervisors to list."""

from __future__ import annotations

from typing import Any

import asyncpg

from contracts import EventPayload
from contracts.events.audit import PersonalDataAccessed
from runtime.consumer import EventHandler, ReceivedEvent

TABLES = ("personal_data_accesses",)


async def on_personal_data_accessed(
    conn: asyncpg.Connection, event: ReceivedEvent[PersonalDataAccessed]
) -> None:
    access = event.payload
    actor = event.envelope.actor
    await conn.execute(
        """INSERT INTO personal_data_accesses (event_id, subject_id, service, resource,
               resource_id, fields, purpose, actor_id, actor_role, accessed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING""",
        event.envelope.event_id,
        access.subject_id,
        access.service,
        access.resource,
        access.resource_id,
        access.fields,
        access.purpose,
        actor.id if actor else None,
        actor.role if actor else None,
        access.accessed_at,
    )


handlers: dict[type[EventPayload], EventHandler] = {PersonalDataAccessed: on_personal_data_accessed}


# -- reads ------------------------------------------------------------------------------------


async def accesses_of(
    conn: asyncpg.Connection | asyncpg.Pool, subject_id: str, limit: int
) -> list[dict[str, Any]]:
    """Newest first."""
    rows = await conn.fetch(
        """SELECT service, resource, resource_id, fields, purpose, actor_id, actor_role,
                  accessed_at
           FROM personal_data_accesses WHERE subject_id = $1
           ORDER BY accessed_at DESC, event_id LIMIT $2""",
        subject_id,
        limit,
    )
    return [dict(row) for row in rows]


async def accesses_for_export(conn: asyncpg.Connection, subject_id: str) -> list[dict[str, Any]]:
    """Oldest first, without the staff member's id (the person's copy of their data)."""
    rows = await conn.fetch(
        """SELECT service, resource, resource_id, fields, purpose, actor_role, accessed_at
           FROM personal_data_accesses WHERE subject_id = $1 ORDER BY accessed_at""",
        subject_id,
    )
    return [dict(row) for row in rows]
