"""The floor's gauges, sampled when /metrics is scraped: people waiting, the longest wait and
the share served within the queue's service level today, per site, queue and channel."""

from __future__ import annotations

import asyncpg

from runtime.metrics import Gauge, Sample


async def waiting(conn: asyncpg.Connection) -> list[Sample]:
    rows = await conn.fetch(
        """SELECT site_id, queue, channel, count(*) AS waiting FROM queue_tickets
           WHERE status = 'waiting' GROUP BY site_id, queue, channel"""
    )
    return [
        Sample(
            float(r["waiting"]),
            {"site": r["site_id"], "queue": r["queue"], "channel": r["channel"]},
        )
        for r in rows
    ]


async def longest_wait(conn: asyncpg.Connection) -> list[Sample]:
    rows = await conn.fetch(
        """SELECT site_id, queue, extract(epoch FROM now() - min(issued_at)) AS longest
           FROM queue_tickets WHERE status = 'waiting' GROUP BY site_id, queue"""
    )
    return [
        Sample(max(0.0, float(r["longest"])), {"site": r["site_id"], "queue": r["queue"]})
        for r in rows
    ]


async def served_within_target(conn: asyncpg.Connection) -> list[Sample]:
    """Of today's tickets called (first call since midnight UTC), the share called within the
    queue's ``service_level_minutes`` (queues without one are left out)."""
    rows = await conn.fetch(
        """SELECT t.site_id, t.queue,
                  avg(CASE WHEN t.first_called_at - t.issued_at
                            <= make_interval(mins => (s.queues -> t.queue
                                                      ->> 'service_level_minutes')::int)
                           THEN 1.0 ELSE 0.0 END) AS share
           FROM queue_tickets t JOIN sites s ON s.site_id = t.site_id
           WHERE t.first_called_at >= date_trunc('day', now())
             AND s.queues -> t.queue ->> 'service_level_minutes' IS NOT NULL
           GROUP BY t.site_id, t.queue"""
    )
    return [Sample(float(r["share"]), {"site": r["site_id"], "queue": r["queue"]}) for r in rows]


GAUGES = [
    Gauge(
        "frontdesk.queue.waiting", "People waiting, by site, queue and channel", "{person}", waiting
    ),
    Gauge(
        "frontdesk.queue.longest_wait",
        "How long the longest-waiting person has waited, by site and queue",
        "s",
        longest_wait,
    ),
    Gauge(
        "frontdesk.queue.served_within_target",
        "Share of today's called tickets called within the queue's service level",
        "1",
        served_within_target,
    ),
]
