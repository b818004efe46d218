"""What check-in holds about a person, for their copy of their data (runtime/export.py).

Their tickets as the index keeps them (site, queue, number, channel, status, times). The
intake they gave — problem, phone, their own words — comes from the runtime with the events
recorded about them, decrypted.
"""

from __future__ import annotations

from typing import Any

import asyncpg


async def export_subject(
    conn: asyncpg.Connection, subject_id: str, wiring: object
) -> dict[str, Any]:
    kind, _, ref = subject_id.partition(":")
    if kind != "account":
        return {}
    rows = await conn.fetch(
        """SELECT ticket_id::text, site_id, queue, number, channel, status, problem_category,
                  language, arrival_at, called_at, serving_started_at, ended_at
           FROM ticket_index WHERE account_ref = $1 ORDER BY arrival_at""",
        ref,
    )
    return {
        "tickets": [
            {
                key: value.isoformat() if hasattr(value, "isoformat") else value
                for key, value in dict(row).items()
            }
            for row in rows
        ]
    }
