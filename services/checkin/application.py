"""Check-in use cases: load, decide, append — each inside the caller's transaction.

Besides the events, a use case keeps the command-side indexes (``ticket_index``,
``agent_index``) in step in the same transaction: each row is a pure function of one
aggregate's state, so what routing reads is never behind what was decided.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID

import asyncpg

from contracts.events.checkin import (
    AppointmentRef,
    Intake,
    NoShowReason,
    RoutingMatch,
    WaitEstimate,
)
from contracts.events.checkin_agents import AgentStatus, ChannelLimits
from contracts.events.checkin_sites import QueueSettings
from contracts.vocabulary import Channel, LanguagePreference, ServiceQueue
from runtime.errors import NotFound, RuleViolation
from runtime.eventstore import CommandContext, EventStore, execute
from runtime.scheduler import cancel, schedule
from services.checkin.domain.agents import (
    AGENT,
    Agent,
    AgentCommand,
    BeginServing,
    EndServing,
    decide_agent,
)
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
    AgentSkills,
    RoutingPolicy,
    WaitingTicket,
    choose_next,
    queue_order,
)
from services.checkin.domain.sites import SITE, Site, SiteCommand, decide_site
from services.checkin.domain.tickets import (
    REMOTE_CHANNELS,
    TICKET,
    CallTicket,
    Command,
    IssueTicket,
    MarkNoShow,
    RecordEstimate,
    RecordPosition,
    Ticket,
    TicketStatus,
    decide,
    estimate_shifted,
    position_notice_due,
)

NO_SHOW_TIMER = "ticket_no_show"
SERVICE_SAMPLE_WINDOW = timedelta(hours=3)
SERVICE_SAMPLES_PER_CATEGORY = 30
CALIBRATION_PAIRS = 200  # the most recent estimate outcomes a queue's range is calibrated on


def ticket_stream(ticket_id: UUID) -> str:
    return f"ticket-{ticket_id}"


def site_stream(site_id: str) -> str:
    return f"site-{site_id}"


def agent_stream(agent_id: str) -> str:
    return f"agent-{agent_id}"


# -- sites ------------------------------------------------------------------------------------


async def load_site(conn: asyncpg.Connection, store: EventStore, site_id: str) -> Site:
    history = await store.load(conn, site_stream(site_id))
    return SITE.fold([event.payload for event in history])


async def change_site(
    conn: asyncpg.Connection,
    store: EventStore,
    site_id: str,
    command: SiteCommand,
    context: CommandContext,
) -> Site:
    site, _ = await execute(
        conn, store, SITE, site_stream(site_id), lambda s: decide_site(s, command), context
    )
    return site


# -- agents -----------------------------------------------------------------------------------


async def load_agent(conn: asyncpg.Connection, store: EventStore, agent_id: str) -> Agent:
    agent, _ = await _agent_and_version(conn, store, agent_id)
    return agent


async def _agent_and_version(
    conn: asyncpg.Connection, store: EventStore, agent_id: str
) -> tuple[Agent, int]:
    """An agent's stream grows all day (two status events per visitor), so its index row,
    written in the same transaction as every append, serves as the snapshot: the state after
    ``version``. A stream without a row (no profile yet) is folded."""
    row = await conn.fetchrow("SELECT * FROM agent_index WHERE agent_id = $1", agent_id)
    if row is not None:
        return _agent_of(row), row["version"]
    history = await store.load(conn, agent_stream(agent_id))
    return AGENT.fold([event.payload for event in history]), len(history)


def _agent_of(row: asyncpg.Record) -> Agent:
    return Agent(
        agent_id=row["agent_id"],
        queues=frozenset(ServiceQueue(q) for q in row["queues"]),
        specialist_skills=frozenset(row["skills"]),
        languages=tuple(LanguagePreference.model_validate(x) for x in row["languages"]),
        limits=ChannelLimits.model_validate(row["limits"]),
        status=AgentStatus(row["status"]),
        site_id=row["site_id"],
        desk_id=row["desk_id"],
        remote=row["remote"],
        ticket_id=row["ticket_id"],
        status_since=row["status_since"],
    )


async def change_agent(
    conn: asyncpg.Connection,
    store: EventStore,
    agent_id: str,
    command: AgentCommand,
    context: CommandContext,
) -> Agent:
    agent, version = await _agent_and_version(conn, store, agent_id)
    events = decide_agent(agent, command)
    if not events:
        return agent
    await store.append(conn, agent_stream(agent_id), version, events, context)
    for event in events:
        agent = AGENT.evolve(agent, event)
    await index_agent(conn, agent, version + len(events))
    return agent


async def index_agent(conn: asyncpg.Connection, agent: Agent, version: int) -> None:
    await conn.execute(
        """INSERT INTO agent_index (agent_id, site_id, desk_id, remote, status, queues, skills,
               languages, limits, ticket_id, status_since, version)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
           ON CONFLICT (agent_id) DO UPDATE SET site_id = EXCLUDED.site_id,
               desk_id = EXCLUDED.desk_id, remote = EXCLUDED.remote, status = EXCLUDED.status,
               queues = EXCLUDED.queues, skills = EXCLUDED.skills,
               languages = EXCLUDED.languages, limits = EXCLUDED.limits,
               ticket_id = EXCLUDED.ticket_id, status_since = EXCLUDED.status_since,
               version = EXCLUDED.version""",
        agent.agent_id,
        agent.site_id,
        agent.desk_id,
        agent.remote,
        agent.status.value,
        sorted(q.value for q in agent.queues),
        sorted(agent.specialist_skills),
        [language.model_dump() for language in agent.languages],
        agent.limits.model_dump(),
        agent.ticket_id,
        agent.status_since,
        version,
    )


def _skills_of(row: asyncpg.Record) -> AgentSkills:
    return AgentSkills(
        agent_id=row["agent_id"],
        queues=frozenset(ServiceQueue(q) for q in row["queues"]),
        specialist_skills=frozenset(row["skills"]),
        languages=tuple(LanguagePreference.model_validate(x) for x in row["languages"]),
    )


async def present_agents(conn: asyncpg.Connection, site_id: str) -> list[asyncpg.Record]:
    """Agents signed in at the site and not on break."""
    return await conn.fetch(  # type: ignore[no-any-return]
        "SELECT * FROM agent_index WHERE site_id = $1 AND status IN ('available', 'serving') "
        "ORDER BY agent_id",
        site_id,
    )


# -- tickets ----------------------------------------------------------------------------------


async def load_ticket(conn: asyncpg.Connection, store: EventStore, ticket_id: UUID) -> Ticket:
    history = await store.load(conn, ticket_stream(ticket_id))
    return TICKET.fold([event.payload for event in history])


async def index_ticket(conn: asyncpg.Connection, ticket: Ticket) -> None:
    assert ticket.ticket_id is not None
    assert ticket.language is not None
    appointment = ticket.appointment
    await conn.execute(
        """INSERT INTO ticket_index (ticket_id, site_id, queue, number, status, channel,
               problem_category, language, dialect, required_skill, accessibility, escalated,
               appointment_start, appointment_end, arrival_at, account_ref, customer_id,
               person_ref, agent_id, desk_id, last_agent_id, called_at, first_called_at,
               serving_started_at, answer_by, ended_at, estimate, ahead_told, service_day)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                   $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29)
           ON CONFLICT (ticket_id) DO UPDATE SET queue = EXCLUDED.queue,
               status = EXCLUDED.status, required_skill = EXCLUDED.required_skill,
               escalated = EXCLUDED.escalated, agent_id = EXCLUDED.agent_id,
               desk_id = EXCLUDED.desk_id, last_agent_id = EXCLUDED.last_agent_id,
               called_at = EXCLUDED.called_at, first_called_at = EXCLUDED.first_called_at,
               serving_started_at = EXCLUDED.serving_started_at,
               answer_by = EXCLUDED.answer_by, ended_at = EXCLUDED.ended_at,
               estimate = EXCLUDED.estimate, ahead_told = EXCLUDED.ahead_told""",
        ticket.ticket_id,
        ticket.site_id,
        ticket.queue.value if ticket.queue else None,
        ticket.number,
        ticket.status.value,
        ticket.channel.value if ticket.channel else None,
        ticket.problem_category.value if ticket.problem_category else None,
        ticket.language.tag,
        ticket.language.dialect,
        ticket.required_skill,
        bool(ticket.accessibility_needs),
        ticket.escalated,
        appointment.slot_start if appointment else None,
        appointment.slot_end if appointment else None,
        ticket.arrival_at,
        ticket.account_ref,
        ticket.customer_id,
        ticket.person_ref,
        ticket.agent_id,
        ticket.desk_id,
        ticket.last_agent_id,
        ticket.called_at,
        ticket.first_called_at,
        ticket.serving_started_at,
        ticket.answer_by,
        ticket.ended_at,
        ticket.estimate.model_dump(mode="json") if ticket.estimate else None,
        ticket.ahead_told,
        ticket.service_day,
    )


async def next_sequence(conn: asyncpg.Connection, site_id: str, queue: str, day: date) -> int:
    """The next number of a queue on a local day of a site (restarts at local midnight)."""
    return await conn.fetchval(  # type: ignore[no-any-return]
        """INSERT INTO ticket_counters (site_id, queue, day, last_number)
           VALUES ($1, $2, $3, 1)
           ON CONFLICT (site_id, queue, day)
           DO UPDATE SET last_number = ticket_counters.last_number + 1
           RETURNING last_number""",
        site_id,
        queue,
        day,
    )


@dataclass(frozen=True)
class IssueRequest:
    site_id: str
    queue: ServiceQueue
    channel: Channel
    customer_id: str | None
    intake: Intake
    appointment: AppointmentRef | None = None
    person_ref: str | None = None
    ticket_id: UUID | None = None
    screening_confirmed_by: str | None = None
    owner_agent_id: str | None = None  # remote contact: the customer's owning agent


async def issue_ticket(
    conn: asyncpg.Connection,
    store: EventStore,
    request: IssueRequest,
    context: CommandContext,
    now: datetime,
) -> Ticket:
    """Issue a ticket: the site must be open and the queue not closed for the day; a virtual
    queue holder may hold one active ticket per person and account."""
    site = await load_site(conn, store, request.site_id)
    _check_site_accepts(site, request.queue, now)
    if request.channel is Channel.VIRTUAL_QUEUE:
        await _check_one_active_ticket(conn, request)
    day = site.local_day(now)
    sequence = await next_sequence(conn, request.site_id, request.queue.value, day)
    ticket_id = request.ticket_id or uuid.uuid4()
    draft = WaitingTicket(
        ticket_id=ticket_id,
        number="",
        queue=request.queue,
        arrival_at=now,
        language=request.intake.language,
        accessibility=bool(request.intake.accessibility_needs),
        appointment_start=request.appointment.slot_start if request.appointment else None,
        appointment_end=request.appointment.slot_end if request.appointment else None,
    )
    remote = request.channel in REMOTE_CHANNELS  # no estimate: see estimate_queue
    estimates = (
        {}
        if remote
        else await estimate_queue(
            conn, site, request.site_id, request.queue, now, extra=(draft, request.intake)
        )
    )
    estimate = estimates.get(ticket_id)
    _check_served_before_closing(site, request.queue, estimate, now)
    command = IssueTicket(
        ticket_id=ticket_id,
        site_id=request.site_id,
        queue=request.queue,
        sequence=sequence,
        channel=request.channel,
        customer_id=request.customer_id,
        intake=request.intake,
        at=now,
        service_day=day,
        estimate=estimate,
        appointment=request.appointment,
        person_ref=request.person_ref,
        screening_required=site.screening_required,
        screening_confirmed_by=request.screening_confirmed_by,
        owner_agent_id=request.owner_agent_id,
    )
    ticket, _ = await execute(
        conn, store, TICKET, ticket_stream(ticket_id), lambda s: decide(s, command), context
    )
    if request.channel is Channel.VIRTUAL_QUEUE:
        await _index_virtual_ticket(conn, ticket)
    else:
        await index_ticket(conn, ticket)
    return ticket


# The unique partial indexes of migrations/0005 that hold "one active virtual-queue ticket per
# person, account and customer", and what each means for the person refused.
ONE_VIRTUAL_TICKET = {
    "ticket_index_one_virtual_per_person": "this phone number",
    "ticket_index_one_virtual_per_account": "this account",
    "ticket_index_one_virtual_per_customer": "this customer",
}


async def _index_virtual_ticket(conn: asyncpg.Connection, ticket: Ticket) -> None:
    """Index a new virtual-queue ticket. ``_check_one_active_ticket`` already refused a second
    active ticket, but two joins at the same moment can both pass that check; the database
    then refuses the second (it waits for the first to commit): 409, and the caller's
    transaction rolls back, so nothing of it is written (a savepoint keeps the transaction
    usable until the refusal reaches it)."""
    try:
        async with conn.transaction():
            await index_ticket(conn, ticket)
    except asyncpg.UniqueViolationError as error:
        holder = ONE_VIRTUAL_TICKET.get(error.constraint_name or "")
        if holder is None:
            raise
        raise RuleViolation(
            f"{holder} already holds an active place in the virtual queue (taken at the same "
            "moment by another request): one active ticket at a time"
        ) from None


def _check_site_accepts(site: Site, queue: ServiceQueue, now: datetime) -> None:
    if not site.serves(queue):
        raise RuleViolation(f"site {site.site_id} does not serve {queue}")
    if site.queue_closed_today(queue, now):
        reopening = site.next_opening(now, queue)
        when = f"; it opens again at {reopening.isoformat()}" if reopening else ""
        raise RuleViolation(f"{queue} is closed for today at {site.site_id}{when}")
    if not site.is_open(now):
        reopening = site.next_opening(now, queue)
        when = f"; it opens at {reopening.isoformat()}" if reopening else ""
        raise RuleViolation(f"site {site.site_id} is closed now{when}")


def _check_served_before_closing(
    site: Site, queue: ServiceQueue, estimate: WaitEstimate | None, now: datetime
) -> None:
    """Closing rule: a person who cannot be served before closing is told so, with the next
    opening and the alternatives, instead of being given a number that will not be called.
    The test is the upper end of the estimated range plus one service."""
    closes = site.closes_at(now)
    if closes is None or estimate is None:
        return
    service = timedelta(minutes=site.settings(queue).default_service_minutes)
    if now + timedelta(minutes=estimate.high_minutes) + service <= closes:
        return
    reopening = site.next_opening(closes, queue)
    when = f"; it opens again at {reopening.isoformat()}" if reopening else ""
    raise RuleViolation(
        f"{queue} cannot serve you before closing at {closes.isoformat()} (the wait is "
        f"estimated at {estimate.low_minutes}-{estimate.high_minutes} min){when}; "
        "alternatives: book an appointment, or ask for a callback"
    )


async def _check_one_active_ticket(conn: asyncpg.Connection, request: IssueRequest) -> None:
    row = await conn.fetchrow(
        """SELECT number, status FROM ticket_index
           WHERE status IN ('waiting', 'called', 'serving', 'parked')
             AND (account_ref = $1 OR ($2::text IS NOT NULL AND person_ref = $2)
                  OR ($3::text IS NOT NULL AND customer_id = $3))
           LIMIT 1""",
        request.intake.account_ref,
        request.person_ref,
        request.customer_id,
    )
    if row is not None:
        raise RuleViolation(
            f"this person or account already holds ticket {row['number']} ({row['status']}): "
            "one active ticket at a time"
        )


async def change_ticket(
    conn: asyncpg.Connection,
    store: EventStore,
    ticket_id: UUID,
    command: Command,
    context: CommandContext,
) -> Ticket:
    """Apply a ticket command, then keep the agent's status, the timers and the index in step
    (all in the caller's transaction)."""
    stream = ticket_stream(ticket_id)
    history = await store.load(conn, stream)
    before = TICKET.fold([event.payload for event in history])
    events = decide(before, command)
    if not events:
        return before
    await store.append(conn, stream, len(history), events, context)
    ticket = before
    for event in events:
        ticket = TICKET.evolve(ticket, event)
    await _after_transition(conn, store, before, ticket, context)
    await index_ticket(conn, ticket)
    return ticket


async def _after_transition(
    conn: asyncpg.Connection,
    store: EventStore,
    before: Ticket,
    after: Ticket,
    context: CommandContext,
) -> None:
    ticket_id = after.ticket_id
    assert ticket_id is not None
    at = _transition_time(after)
    walk_in = after.channel not in REMOTE_CHANNELS
    newly_called = after.status is TicketStatus.CALLED and before.status is not TicketStatus.CALLED
    if newly_called and after.agent_id and after.called_at and walk_in:
        agent = await load_agent(conn, store, after.agent_id)
        if agent.known:  # an agent without a profile is not tracked (legacy direct call)
            if agent.status is AgentStatus.OFFLINE:
                raise RuleViolation(f"agent {after.agent_id} must sign in at a desk first")
            await change_agent(
                conn, store, after.agent_id, BeginServing(ticket_id, after.called_at), context
            )
        site = await load_site(conn, store, after.site_id or "")
        if site.configured:  # legacy (unconfigured) sites have no automatic no-show
            assert after.queue is not None
            minutes = site.settings(after.queue).no_show_after_minutes
            await schedule(
                conn,
                f"no-show:{ticket_id}",
                NO_SHOW_TIMER,
                after.called_at + timedelta(minutes=minutes),
                {"ticket_id": str(ticket_id), "called_at": after.called_at.isoformat()},
            )
    if before.status is TicketStatus.CALLED and after.status is not TicketStatus.CALLED:
        await cancel(conn, f"no-show:{ticket_id}")
    ended_for_agent = before.agent_id is not None and (
        after.status in {TicketStatus.WAITING, TicketStatus.PARKED} or after.is_final
    )
    if ended_for_agent and walk_in and before.status in {TicketStatus.CALLED, TicketStatus.SERVING}:
        assert before.agent_id is not None
        agent = await load_agent(conn, store, before.agent_id)
        if agent.known:
            await change_agent(
                conn,
                store,
                before.agent_id,
                EndServing(ticket_id, at, reason=f"ticket {after.status.value}"),
                context,
            )


def _transition_time(ticket: Ticket) -> datetime:
    candidates = [
        ticket.ended_at,
        ticket.serving_started_at,
        ticket.called_at,
        ticket.parked_at,
        ticket.arrival_at,
    ]
    return max(moment for moment in candidates if moment is not None)


async def call_ticket(
    conn: asyncpg.Connection,
    store: EventStore,
    ticket_id: UUID,
    command: CallTicket,
    context: CommandContext,
) -> Ticket:
    return await change_ticket(conn, store, ticket_id, command, context)


async def call_next(
    conn: asyncpg.Connection,
    store: EventStore,
    agent_id: str,
    now: datetime,
    context: CommandContext,
    policy: RoutingPolicy = DEFAULT_POLICY,
) -> tuple[Ticket, RoutingMatch] | None:
    """The best ticket for the agent's desk, called, and why it was chosen; None when nobody
    the agent may serve is waiting."""
    agent = await load_agent(conn, store, agent_id)
    if not agent.known:
        raise NotFound("no such agent (a supervisor sets the agent's profile first)")
    if agent.status is not AgentStatus.AVAILABLE:
        detail = f" with ticket {agent.ticket_id}" if agent.ticket_id else ""
        raise RuleViolation(f"cannot call next: agent {agent_id} is {agent.status}{detail}")
    assert agent.site_id is not None
    assert agent.desk_id is not None
    site = await load_site(conn, store, agent.site_id)
    present = [_skills_of(row) for row in await present_agents(conn, agent.site_id)]
    me = AgentSkills(agent_id, agent.queues, agent.specialist_skills, agent.languages)
    waiting = [
        _waiting_of(row, site)
        for row in await conn.fetch(
            """SELECT * FROM ticket_index WHERE site_id = $1 AND status = 'waiting'
                 AND channel = ANY($2::text[]) AND queue = ANY($3::text[])""",
            agent.site_id,
            [c.value for c in Channel if c not in REMOTE_CHANNELS],
            [q.value for q in agent.queues],
        )
    ]
    pick = choose_next(me, waiting, present, now, policy)
    if pick is None:
        return None
    command = CallTicket(desk_id=agent.desk_id, agent_id=agent_id, at=now, match=pick.match)
    ticket = await change_ticket(conn, store, pick.ticket.ticket_id, command, context)
    return ticket, pick.match


def _waiting_of(row: asyncpg.Record, site: Site) -> WaitingTicket:
    queue = ServiceQueue(row["queue"])
    return WaitingTicket(
        ticket_id=row["ticket_id"],
        number=row["number"],
        queue=queue,
        arrival_at=row["arrival_at"],
        language=LanguagePreference(tag=row["language"], dialect=row["dialect"]),
        required_skill=row["required_skill"],
        accessibility=row["accessibility"],
        escalated=row["escalated"],
        appointment_start=row["appointment_start"],
        appointment_end=row["appointment_end"],
        relax_after=timedelta(minutes=site.settings(queue).relax_after_minutes),
    )


# -- estimates --------------------------------------------------------------------------------


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
    waiting = [_waiting_of(row, site) for row in rows]
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


async def reestimate(
    conn: asyncpg.Connection,
    store: EventStore,
    site_id: str,
    queue: ServiceQueue,
    now: datetime,
    context: CommandContext,
) -> int:
    """Re-estimate a configured site's queue as it moved: announce estimates that shifted by
    more than the margin, and "N ahead" / "you are next" to virtual-queue holders. Returns how
    many events were appended."""
    site = await load_site(conn, store, site_id)
    if not site.configured:
        return 0  # legacy sites: the estimate given at issue is all there is
    estimates = await estimate_queue(conn, site, site_id, queue, now)
    rows = {
        row["ticket_id"]: row
        for row in await conn.fetch(
            "SELECT ticket_id, channel, estimate, ahead_told FROM ticket_index "
            "WHERE ticket_id = ANY($1::uuid[])",
            list(estimates),
        )
    }
    appended = 0
    for ticket_id, estimate in estimates.items():
        row = rows[ticket_id]
        commands: list[Command] = []
        told = WaitEstimate.model_validate(row["estimate"]) if row["estimate"] else None
        if estimate_shifted(told, estimate, site.estimate_margin_minutes):
            commands.append(RecordEstimate(estimate, site.estimate_margin_minutes))
        if row["channel"] == Channel.VIRTUAL_QUEUE.value and position_notice_due(
            row["ahead_told"], estimate.ahead
        ):
            commands.append(RecordPosition(estimate.ahead, estimate.expected_minutes, now))
        for command in commands:
            await change_ticket(conn, store, ticket_id, command, context)
            appended += 1
    return appended


# -- timers -----------------------------------------------------------------------------------


async def expire_call(
    conn: asyncpg.Connection,
    store: EventStore,
    ticket_id: UUID,
    called_at: datetime,
    now: datetime,
) -> Ticket | None:
    """The no-show timer: a ticket still called (not at the desk) becomes a no-show."""
    ticket = await load_ticket(conn, store, ticket_id)
    if ticket.status is not TicketStatus.CALLED or ticket.called_at != called_at:
        return None  # served, left, parked, or called again since: the timer is stale
    context = CommandContext.new(None)
    command = MarkNoShow(at=now, reason=NoShowReason.NOT_AT_DESK_IN_TIME)
    return await change_ticket(conn, store, ticket_id, command, context)
