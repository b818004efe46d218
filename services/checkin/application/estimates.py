"""Wait estimates: the facts a queue's estimates are computed from (who waits, who serves,
how long services took lately, how accurate past estimates were), gathered from the
command-side indexes and the estimate-accuracy read model; the arithmetic is the pure
``domain.estimates``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from contracts.events.checkin import Intake, WaitEstimate
from contracts.events.checkin_sites import QueueSettings
from contracts.vocabulary import Channel, ServiceQueue
from services.checkin.application.agents import present_agents
from services.checkin.application.ticket_index import waiting_of
from services.checkin.domain.estimates import (
    Capacity,
    ServiceTimes,
    calibrate,
    estimate_wait,
    remaining_minutes,
    service_times,
)
from services.checkin.domain.routing import (
    DEFAULT_POLICY,
    RoutingPolicy,
    WaitingTicket,
    queue_order,
)
from services.checkin.domain.sites import Site
from services.checkin.domain.tickets import REMOTE_CHANNELS

SERVICE_SAMPLE_WINDOW = timedelta(hours=3)
SERVICE_SAMPLES_PER_CATEGORY = 30
CALIBRATION_PAIRS = 200  # the most recent estimate outcomes a queue's range is calibrated on


async def _service_times(
    conn: asyncpg.Connection,
    site_id: str,
    queue: ServiceQueue,
    settings: QueueSettings,
    now: datetime,
) -> tuple[dict[str, ServiceTimes], ServiceTimes]:
    rows = await conn.fetch(
        """SELECT problem_category,
                  extract(epoch FROM ended_at - serving_started_at) / 60.0 AS minutes
           FROM ticket_index
           WHERE site_id = $1 AND queue = $2 AND status = 'completed'
             AND ended_at > $3 AND ended_at <= $4 AND serving_started_at IS NOT NULL
           ORDER BY ended_at DESC LIMIT 500""",
        site_id,
        queue.value,
        now - SERVICE_SAMPLE_WINDOW,
        now,
    )
    by_category: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        if len(by_category[row["problem_category"]]) < SERVICE_SAMPLES_PER_CATEGORY:
            by_category[row["problem_category"]].append(float(row["minutes"]))
    everything = [float(row["minutes"]) for row in rows[:SERVICE_SAMPLES_PER_CATEGORY]]
    overall = service_times(everything, settings.default_service_minutes)
    per_category = {
        category: service_times(samples, settings.default_service_minutes)
        for category, samples in by_category.items()
    }
    return per_category, overall


async def _capacity(
    conn: asyncpg.Connection,
    site_id: str,
    queue: ServiceQueue,
    times: dict[str, ServiceTimes],
    overall: ServiceTimes,
    now: datetime,
) -> Capacity:
    agents = [row for row in await present_agents(conn, site_id) if queue.value in row["queues"]]
    if not agents:
        return Capacity()
    busy_queues = {
        row["queue"]
        for row in await conn.fetch(
            "SELECT DISTINCT queue FROM ticket_index WHERE site_id = $1 AND status = 'waiting'",
            site_id,
        )
    }
    serving = {
        row["agent_id"]: row
        for row in await conn.fetch(
            """SELECT agent_id, problem_category, coalesce(serving_started_at, called_at) AS since
               FROM ticket_index WHERE site_id = $1 AND status IN ('called', 'serving')
                 AND agent_id = ANY($2::text[])""",
            site_id,
            [row["agent_id"] for row in agents],
        )
    }
    free: list[float] = []
    busy: list[tuple[float, float]] = []
    for row in agents:
        contended = [q for q in row["queues"] if q in busy_queues] or [queue.value]
        share = 1.0 / max(1, len(set(contended) | {queue.value}))
        current = serving.get(row["agent_id"])
        if current is None:
            free.append(share)
        else:
            category_times = times.get(current["problem_category"], overall)
            elapsed = (now - current["since"]).total_seconds() / 60
            busy.append((share, remaining_minutes(category_times, elapsed)))
    return Capacity(free_shares=tuple(free), busy=tuple(busy))


async def estimate_queue(
    conn: asyncpg.Connection,
    site: Site,
    site_id: str,
    queue: ServiceQueue,
    now: datetime,
    *,
    extra: tuple[WaitingTicket, Intake] | None = None,
    policy: RoutingPolicy = DEFAULT_POLICY,
) -> dict[UUID, WaitEstimate]:
    """Estimates of every waiting walk-in and virtual-queue ticket of a queue (and ``extra``,
    one being issued). Remote contacts (phone, chat, email) are not in that line — desks never
    call them, the assignment engine offers them to agents' free places — and get no estimate:
    a wait in the pool depends on per-channel concurrency the fluid model does not describe."""
    settings = site.settings(queue)
    rows = await conn.fetch(
        """SELECT * FROM ticket_index WHERE site_id = $1 AND queue = $2 AND status = 'waiting'
             AND channel = ANY($3::text[])""",
        site_id,
        queue.value,
        [c.value for c in Channel if c not in REMOTE_CHANNELS],
    )
    waiting = [waiting_of(row, site) for row in rows]
    category = {row["ticket_id"]: row["problem_category"] for row in rows}
    if extra is not None:
        waiting.append(extra[0])
        category[extra[0].ticket_id] = extra[1].problem_category.value
    times, overall = await _service_times(conn, site_id, queue, settings, now)
    capacity = await _capacity(conn, site_id, queue, times, overall, now)
    calibration = calibrate(await _recent_outcomes(conn, site_id, queue, now), overall.mean)
    ordered = queue_order(waiting, now, policy)
    estimates: dict[UUID, WaitEstimate] = {}
    ahead: list[ServiceTimes] = []
    for ticket in ordered:
        own = times.get(category[ticket.ticket_id], overall)
        estimates[ticket.ticket_id] = estimate_wait(ahead, capacity, own, now, calibration)
        ahead.append(own)
    return estimates


async def _recent_outcomes(
    conn: asyncpg.Connection, site_id: str, queue: ServiceQueue, now: datetime
) -> list[tuple[float, float]]:
    """(expected, actual) minutes of the queue's recent estimates at issue, from the
    estimate-accuracy read model: tickets first called in the sample window, plus tickets
    still waiting longer than they were told (their wait so far is a lower bound of the
    actual; leaving them out would bias the range towards the short waits that end first)."""
    rows = await conn.fetch(
        """SELECT (first_estimate ->> 'expected_minutes')::float AS expected,
                  extract(epoch FROM coalesce(first_called_at, $4) - issued_at) / 60.0 AS actual
           FROM queue_tickets
           WHERE site_id = $1 AND queue = $2 AND first_estimate IS NOT NULL
             AND issued_at <= $4
             AND (first_called_at > $3 AND first_called_at <= $4
                  OR status = 'waiting' AND first_called_at IS NULL
                     AND issued_at + make_interval(
                           mins => (first_estimate ->> 'expected_minutes')::int) < $4)
           ORDER BY coalesce(first_called_at, $4) DESC LIMIT $5""",
        site_id,
        queue.value,
        now - SERVICE_SAMPLE_WINDOW,
        now,
        CALIBRATION_PAIRS,
    )
    return [(float(row["expected"]), float(row["actual"])) for row in rows]
