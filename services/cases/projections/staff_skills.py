"""Staff skills (``staff_skills``): the specialist queues each member of staff works, and the
reads that join them with the cases they hold."""

from __future__ import annotations

from typing import Any

import asyncpg

from contracts import EventPayload
from contracts.events.cases_accounts import StaffSkillsSet
from contracts.vocabulary import ServiceQueue
from runtime.consumer import EventHandler, ReceivedEvent

TABLES = ("staff_skills",)


async def on_staff_skills(conn: asyncpg.Connection, event: ReceivedEvent[StaffSkillsSet]) -> None:
    skills = event.payload
    await conn.execute(
        """INSERT INTO staff_skills (staff_id, queues, active, updated_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (staff_id) DO UPDATE SET queues = EXCLUDED.queues,
               active = EXCLUDED.active, updated_at = EXCLUDED.updated_at""",
        skills.staff_id,
        [q.value for q in skills.queues],
        skills.active,
        skills.set_at,
    )


handlers: dict[type[EventPayload], EventHandler] = {StaffSkillsSet: on_staff_skills}


# -- reads ------------------------------------------------------------------------------------


async def candidates(
    conn: asyncpg.Connection | asyncpg.Pool, queue: ServiceQueue
) -> list[dict[str, Any]]:
    """Active staff with the queue's skill, fewest unresolved cases first (ties by id)."""
    rows = await conn.fetch(
        """SELECT s.staff_id, count(v.case_id) AS open_cases
           FROM staff_skills s
           LEFT JOIN case_views v ON v.assignee_id = s.staff_id
                AND v.status NOT IN ('resolved', 'closed', 'merged')
           WHERE s.active AND $1 = ANY(s.queues)
           GROUP BY s.staff_id ORDER BY open_cases, s.staff_id LIMIT 20""",
        queue.value,
    )
    return [dict(row) for row in rows]


async def staff_with_open_cases(conn: asyncpg.Connection | asyncpg.Pool) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT s.staff_id, s.queues, s.active, count(v.case_id) AS open_cases
           FROM staff_skills s
           LEFT JOIN case_views v ON v.assignee_id = s.staff_id
                AND v.status NOT IN ('resolved', 'closed', 'merged')
           GROUP BY s.staff_id, s.queues, s.active ORDER BY s.staff_id"""
    )
    return [dict(row) for row in rows]
