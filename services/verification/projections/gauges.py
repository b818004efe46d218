"""The floor's gauges, sampled when /metrics is scraped: checks waiting for a reviewer and how
long the oldest has waited."""

from __future__ import annotations

import asyncpg

from runtime.metrics import Gauge, Sample


async def reviews_waiting(conn: asyncpg.Connection) -> list[Sample]:
    rows = await conn.fetch(
        "SELECT check_name, count(*) AS n FROM review_queue WHERE status = 'open' GROUP BY 1"
    )
    return [Sample(float(r["n"]), {"check": r["check_name"]}) for r in rows]


async def oldest_review(conn: asyncpg.Connection) -> list[Sample]:
    age = await conn.fetchval(
        """SELECT coalesce(extract(epoch FROM now() - min(requested_at)), 0)
           FROM review_queue WHERE status = 'open'"""
    )
    return [Sample(max(0.0, float(age or 0)))]


GAUGES = [
    Gauge(
        "frontdesk.verification.reviews_waiting",
        "Checks waiting for a reviewer, by check",
        "{check}",
        reviews_waiting,
    ),
    Gauge(
        "frontdesk.verification.review_oldest_age",
        "How long the oldest check has waited for a reviewer",
        "s",
        oldest_review,
    ),
]
