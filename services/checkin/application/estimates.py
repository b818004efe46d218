"""Wait estimates: the facts a queue's estimates are computed from (who waits, who serves,
how long services took lately, how accurate past estimates were), gathered from the
command-side indexes and the estimate-accuracy read model; the arithmetic is the pure
``domain.estimates``.

Cost in the queue's length n: a new ticket's estimate (``estimate_new_ticket``, every issue)
reads the counts of who waits per problem category (``queue_waiting``) and only the tickets
that arrived within its own priority head start (the only ones that may stand behind it), so
it is O(1) for a ticket without priority and O(arrivals in the last 45 minutes at most) for
one with; every other fact is bounded by time windows or sample limits, never by n. A whole
queue's estimates (``estimate_queue``: re-estimation as the queue moves, a ticket's live
estimate) sort the waiting tickets once and sum the work ahead as they go: O(n log n).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from contracts.events.checkin import Intake, WaitEstimate
from contracts.events.checkin_sites import QueueSettings
from contracts.vocabulary import Channel, ServiceQueue
from services.checkin.application.ticket_index import waiting_of
from services.checkin.domain.estimates import (
    Capacity,
    RangeCalibration,
    ServiceTimes,
    WorkAhead,
    calibrate,
    estimate_wait,
    remaining_minutes,
    service_times,
)
from services.checkin.domain.routing import (
    DEFAULT_POLICY,
    RoutingPolicy,
    WaitingTicket,
    head_start,
    queue_order,
    queue_place,
)
from services.checkin.domain.sites import Site
from services.checkin.domain.tickets import REMOTE_CHANNELS

SERVICE_SAMPLE_WINDOW = timedelta(hours=3)
SERVICE_SAMPLES_PER_CATEGORY = 30
CALIBRATION_PAIRS = 200  # the most recent estimate outcomes a queue's range is calibrated on
# the channels of the line desks call from (remote contacts wait in the assignment pool)
LINE_CHANNELS = [c.value for c in Channel if c not in REMOTE_CHANNELS]


# Every fact of a queue's estimates in one round trip (one row of arrays): recent service
# times, the agents present for the queue, the queues with people waiting at the site (an
# agent's share), what the present agents are serving, the calibration's recent outcomes
# (tickets still waiting past their estimate, then tickets first called in the window, each an
# index range, migrations/0006); and, for a new ticket (its 7th argument not NULL), who waits per
# problem category and the tickets that arrived since then (the only ones that may stand behind
# it). The statement is the function ``checkin_queue_facts`` (migrations/0009), so that issuing
# a ticket reads them in the statement that takes its number (``sites.load_site_and_number``).
QUEUE_FACTS = "SELECT * FROM checkin_queue_facts($1, $2, $3, $4, $5, $6, $7)"


# the columns of an arrived ticket, as ``waiting_of`` reads them
_ARRIVED = (
    "problem_category",
    "ticket_id",
    "number",
    "queue",
    "arrival_at",
    "language",
    "dialect",
    "required_skill",
    "accessibility",
    "escalated",
    "appointment_start",
    "appointment_end",
)


def facts_arguments(
    site_id: str, queue: ServiceQueue, now: datetime, arrived_since: datetime | None
) -> tuple[object, ...]:
    """The first seven arguments of ``checkin_queue_facts``, in order."""
    return (
        site_id,
        queue.value,
        now - SERVICE_SAMPLE_WINDOW,
        now,
        CALIBRATION_PAIRS,
        LINE_CHANNELS,
        arrived_since,
    )


async def _fetch_facts(
    conn: asyncpg.Connection,
    site_id: str,
    queue: ServiceQueue,
    now: datetime,
    arrived_since: datetime | None,
) -> asyncpg.Record:
    return await conn.fetchrow(QUEUE_FACTS, *facts_arguments(site_id, queue, now, arrived_since))


def _service_times(
    services: Sequence[tuple[str, float]], settings: QueueSettings
) -> tuple[dict[str, ServiceTimes], ServiceTimes]:
    """(problem category, minutes) of the recent services, the most recent first."""
    by_category: dict[str, list[float]] = defaultdict(list)
    for category, minutes in services:
        if len(by_category[category]) < SERVICE_SAMPLES_PER_CATEGORY:
            by_category[category].append(float(minutes))
    everything = [float(minutes) for _, minutes in services[:SERVICE_SAMPLES_PER_CATEGORY]]
    overall = service_times(everything, settings.default_service_minutes)
    per_category = {
        category: service_times(samples, settings.default_service_minutes)
        for category, samples in by_category.items()
    }
    return per_category, overall


def _capacity(
    facts: asyncpg.Record,
    queue: ServiceQueue,
    times: dict[str, ServiceTimes],
    overall: ServiceTimes,
    now: datetime,
) -> Capacity:
    """The shares of the present agents' time this queue gets, free now or busy for a while."""
    if not facts["agents"]:
        return Capacity()
    busy_queues = set(facts["busy_queues"])
    serving = {agent_id: (category, since) for agent_id, category, since in facts["serving"]}
    free: list[float] = []
    busy: list[tuple[float, float]] = []
    for agent_id, queues in facts["agents"]:
        contended = [q for q in queues if q in busy_queues] or [queue.value]
        share = 1.0 / max(1, len(set(contended) | {queue.value}))
        current = serving.get(agent_id)
        if current is None:
            free.append(share)
        else:
            category, since = current
            elapsed = (now - since).total_seconds() / 60
            busy.append((share, remaining_minutes(times.get(category, overall), elapsed)))
    return Capacity(free_shares=tuple(free), busy=tuple(busy))


def _recent_outcomes(outcomes: Sequence[tuple[float, float, int]]) -> list[tuple[float, float]]:
    """(expected, actual) minutes of the queue's recent estimates at issue, from the
    estimate-accuracy read model: tickets still waiting longer than they were told (their wait
    so far is a lower bound of the actual; leaving them out would bias the range towards the
    short waits that end first), then tickets first called in the sample window, the most
    recent first."""
    ordered = sorted(outcomes, key=lambda outcome: outcome[2])  # the still waiting first
    return [(float(expected), float(actual)) for expected, actual, _ in ordered][:CALIBRATION_PAIRS]


def _queue_facts_of(
    facts: asyncpg.Record, site: Site, queue: ServiceQueue, now: datetime
) -> QueueFacts:
    times, overall = _service_times(facts["services"], site.settings(queue))
    capacity = _capacity(facts, queue, times, overall, now)
    calibration = calibrate(_recent_outcomes(facts["outcomes"]), overall.mean)
    return QueueFacts(queue, times, overall, capacity, calibration)


@dataclass(frozen=True)
class QueueFacts:
    """What every estimate of a queue at one moment shares: service times per problem
    category, the agents' capacity and the range's calibration."""

    queue: ServiceQueue
    times: Mapping[str, ServiceTimes]
    overall: ServiceTimes
    capacity: Capacity
    calibration: RangeCalibration | None

    def times_of(self, category: str) -> ServiceTimes:
        return self.times.get(category, self.overall)

    def estimate(self, work: WorkAhead, category: str, now: datetime) -> WaitEstimate:
        own = self.times_of(category)
        return estimate_wait(work, self.capacity, own, now, self.calibration)


async def queue_facts(
    conn: asyncpg.Connection, site: Site, site_id: str, queue: ServiceQueue, now: datetime
) -> QueueFacts:
    facts = await _fetch_facts(conn, site_id, queue, now, None)
    return _queue_facts_of(facts, site, queue, now)


async def waiting_line(
    conn: asyncpg.Connection, site_id: str, queue: ServiceQueue
) -> list[asyncpg.Record]:
    """The index rows of the queue's waiting walk-in and virtual-queue tickets. Remote
    contacts (phone, chat, email) are not in that line — desks never call them, the
    assignment engine offers them to agents' free places — and get no estimate: a wait in the
    pool depends on per-channel concurrency the fluid model does not describe."""
    return await conn.fetch(  # type: ignore[no-any-return]
        """SELECT * FROM ticket_index WHERE site_id = $1 AND queue = $2 AND status = 'waiting'
             AND channel = ANY($3::text[])""",
        site_id,
        queue.value,
        LINE_CHANNELS,
    )


def estimate_line(
    rows: Sequence[asyncpg.Record],
    site: Site,
    facts: QueueFacts,
    now: datetime,
    policy: RoutingPolicy = DEFAULT_POLICY,
) -> dict[UUID, WaitEstimate]:
    """Every waiting ticket's estimate, in one pass down the queue's order."""
    relax_after = timedelta(minutes=site.settings(facts.queue).relax_after_minutes)
    waiting = [waiting_of(row, site, relax_after) for row in rows]
    category = {row["ticket_id"]: row["problem_category"] for row in rows}
    estimates: dict[UUID, WaitEstimate] = {}
    work = WorkAhead()
    for ticket in queue_order(waiting, now, policy):
        estimates[ticket.ticket_id] = facts.estimate(work, category[ticket.ticket_id], now)
        work = work.plus(facts.times_of(category[ticket.ticket_id]))
    return estimates


async def estimate_queue(
    conn: asyncpg.Connection,
    site: Site,
    site_id: str,
    queue: ServiceQueue,
    now: datetime,
    *,
    policy: RoutingPolicy = DEFAULT_POLICY,
) -> dict[UUID, WaitEstimate]:
    """Estimates of every waiting walk-in and virtual-queue ticket of a queue."""
    rows = await waiting_line(conn, site_id, queue)
    facts = await queue_facts(conn, site, site_id, queue, now)
    return estimate_line(rows, site, facts, now, policy)


def arrivals_since(
    ticket: WaitingTicket, now: datetime, policy: RoutingPolicy = DEFAULT_POLICY
) -> datetime:
    """The arrivals a new ticket's estimate reads: those within its priority head start."""
    return now - head_start(ticket, now, policy)


async def estimate_new_ticket(
    conn: asyncpg.Connection,
    site: Site,
    site_id: str,
    queue: ServiceQueue,
    now: datetime,
    ticket: WaitingTicket,
    intake: Intake,
    policy: RoutingPolicy = DEFAULT_POLICY,
    row: asyncpg.Record | None = None,
) -> WaitEstimate:
    """The estimate of a ticket being issued now, the same as ``estimate_queue`` would give it
    with the ticket in the queue, without reading the queue: every waiting ticket is ahead of
    it except those whose place in the queue's order comes after its own, and those can only
    be tickets that arrived within its priority head start (an older ticket has waited longer
    than any head start the new one has). So: the counts per problem category of who waits,
    minus those few. ``row``: the facts as the statement that took the ticket's number read
    them (``checkin_queue_facts`` with ``arrivals_since``), else they are read here."""
    place = queue_place(ticket, now, policy)
    if row is None:
        row = await _fetch_facts(conn, site_id, queue, now, arrivals_since(ticket, now, policy))
    facts = _queue_facts_of(row, site, queue, now)
    counts = {category: waiting for category, waiting in row["waiting"]}
    for values in row["arrived"]:
        arrived = dict(zip(_ARRIVED, values, strict=True))
        if queue_place(waiting_of(arrived, site), now, policy) >= place:  # behind the new one
            category = arrived["problem_category"]
            counts[category] = counts.get(category, 0) - 1
    work = WorkAhead()
    for category, count in sorted(counts.items()):
        work = work.plus(facts.times_of(category), count)
    return facts.estimate(work, intake.problem_category.value, now)
