"""The floor's gauges, sampled when /metrics is scraped: promised callbacks by state, those
at risk (their window closes within 30 minutes and nobody has reached the person), and the
messages of the day by channel and status."""

from __future__ import annotations

import asyncpg

from runtime.metrics import Gauge, Sample


async def callbacks(conn: asyncpg.Connection) -> list[Sample]:
    rows = await conn.fetch(
        "SELECT status, count(*) AS n FROM callback_queue WHERE closed_at IS NULL GROUP BY status"
    )
    return [Sample(float(r["n"]), {"state": r["status"]}) for r in rows]


async def at_risk(conn: asyncpg.Connection) -> list[Sample]:
    at = await conn.fetchval(
        """SELECT count(*) FROM callback_queue
           WHERE status = 'scheduled' AND closed_at IS NULL
             AND window_end <= now() + interval '30 minutes'"""
    )
    return [Sample(float(at))]


async def messages_today(conn: asyncpg.Connection) -> list[Sample]:
    rows = await conn.fetch(
        """SELECT channel, status, count(*) AS n FROM notification_log
           WHERE requested_at >= date_trunc('day', now()) GROUP BY channel, status"""
    )
    return [Sample(float(r["n"]), {"channel": r["channel"], "status": r["status"]}) for r in rows]


GAUGES = [
    Gauge(
        "frontdesk.callbacks", "Promised callbacks not closed, by state", "{callback}", callbacks
    ),
    Gauge(
        "frontdesk.callbacks.at_risk",
        "Scheduled callbacks whose window closes within 30 minutes",
        "{callback}",
        at_risk,
    ),
    Gauge(
        "frontdesk.messages.today",
        "Messages requested today, by channel and status",
        "{message}",
        messages_today,
    ),
]
