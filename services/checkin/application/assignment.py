"""Remote contacts (phone, chat, email): they enter a queue, are assigned automatically, and
come back to the pool when the agent does not answer in time.

Who gets what is decided by the pure ``domain.assignment``; this module loads its inputs from
the command-side indexes, applies its plan to the ticket streams and keeps the timers.

**One dispatcher per site at a time.** Every assignment pass (``dispatch``) takes a
transaction-scoped advisory lock on the site *before it writes anything*, then reads the pool
and the agents' loads: two passes can never both give an agent's last free place away, and a
pass always sees the previous one's commit. The ticket streams keep their optimistic
concurrency: a contact that changed meanwhile (the caller hung up) is skipped in a savepoint
and the pass is scheduled again.

**When a pass runs:**

- a contact arrives through ``POST /contacts``: in its own transaction (the answer says who
  got it, or that it waits in the pool);
- an answer timer fires (``contact_answer``): the contact goes back to the pool and is
  reassigned in the same transaction;
- anything else that can free a place or add to the pool — an agent signs in, resumes,
  finishes a walk-in, gets a new profile; a remote contact ends, is transferred, parked,
  returned, unanswered, or was issued through ``POST /tickets``; the site's rules change: the
  reaction ``checkin.assignment`` schedules the site's dispatch timer (``contact_assignment``,
  one id per site, so a burst of events makes one pass). Its handler runs the pass with the
  runtime's clock, in the timer's transaction. The reaction is exactly-once through its inbox;
  the pass itself is idempotent (it only offers waiting contacts to agents with room).

**Unanswered.** Each assignment schedules ``contact-answer:<ticket>`` at ``answer_by`` (the
queue's answer window for the contact's kind: ``answer_windows``, else
``answer_within_seconds``). Still only offered then: ``checkin.contact_unanswered``
(back to the pool, arrival time kept, so it keeps its place), the agent is set on a break
(reason ``missed contact <number>``; as contact centers do, so that no more contacts go to
someone who is not there; resuming makes them available again), and the pass reassigns it to
someone else (``previous_agent_id``).

**An agent steps away** (a break, a sign-out: ``step_away``): the contacts offered to them and
not answered go back to the pool at once (``contact_unanswered`` with ``reason``), keeping
their place, and the pass offers them to the others in the same transaction.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from contracts.events.checkin import (
    ContactUnanswered,
    TicketCompleted,
    TicketIssued,
    TicketLeft,
    TicketNoShow,
    TicketParked,
    TicketReturned,
    TicketTransferred,
    UnansweredReason,
)
from contracts.events.checkin_agents import (
    CHECKIN_AGENTS,
    AgentProfileSet,
    AgentSignedIn,
    AgentStatus,
    AgentStatusChanged,
    ChannelLimits,
)
from contracts.events.checkin_sites import CHECKIN_SITES, SiteConfigured
from contracts.topics import CHECKIN_TICKETS
from contracts.vocabulary import Channel, ServiceQueue
from runtime.consumer import ConsumerGroup, ReceivedEvent
from runtime.context import CommandContext
from runtime.errors import ConcurrencyConflict, RuleViolation
from runtime.eventstore import EventStore
from runtime.running import RunningService
from runtime.scheduler import Timer, TimerHandler, cancel_unless_firing, schedule
from services.checkin.application.agents import (
    change_agent,
    load_agent,
    present_agents,
    skills_of,
)
from services.checkin.application.sites import load_site
from services.checkin.application.ticket_index import waiting_of
from services.checkin.application.tickets import (
    IssueRequest,
    change_ticket,
    issue_ticket,
    load_ticket,
)
from services.checkin.application.waiting import TIME_FIELDS
from services.checkin.config import OWN_EVENTS_LINGER_MS
from services.checkin.domain.agents import Agent, AgentCommand, SignOut, TakeBreak
from services.checkin.domain.assignment import (
    CHANNEL_KIND,
    AgentLoad,
    Contact,
    answer_window,
    plan_assignments,
)
from services.checkin.domain.sites import Site
from services.checkin.domain.tickets import (
    REMOTE_CHANNELS,
    AssignContact,
    ExpireAssignment,
    HandBackContact,
    ReleaseContact,
    Ticket,
    TicketStatus,
)

ASSIGN_TIMER = "contact_assignment"
ANSWER_TIMER = "contact_answer"
ASSIGN_ATTEMPTS = 3
REMOTE = sorted(channel.value for channel in REMOTE_CHANNELS)

# Ticket events after which a remote contact may free an agent's place or (re)enter the pool.
ContactMove = (
    TicketIssued
    | TicketCompleted
    | TicketLeft
    | TicketNoShow
    | TicketTransferred
    | TicketParked
    | TicketReturned
    | ContactUnanswered
)
CONTACT_MOVES: tuple[type[ContactMove], ...] = (
    TicketIssued,
    TicketCompleted,
    TicketLeft,
    TicketNoShow,
    TicketTransferred,
    TicketParked,
    TicketReturned,
    ContactUnanswered,
)
AgentMove = AgentProfileSet | AgentSignedIn | AgentStatusChanged
AGENT_MOVES: tuple[type[AgentMove], ...] = (AgentProfileSet, AgentSignedIn, AgentStatusChanged)
PlaceFreed = ContactMove | AgentMove | SiteConfigured


def dispatch_timer_id(site_id: str) -> str:
    return f"assign-contacts:{site_id}"


def answer_timer_id(ticket_id: UUID) -> str:
    return f"contact-answer:{ticket_id}"


async def lock_site(conn: asyncpg.Connection, site_id: str) -> None:
    """Serialize the assignment passes of one site (released at commit or rollback)."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"checkin.assignment:{site_id}"
    )


# -- arrival ----------------------------------------------------------------------------------


async def receive_contact(
    conn: asyncpg.Connection,
    store: EventStore,
    request: IssueRequest,
    context: CommandContext,
    now: datetime,
) -> Ticket:
    """A phone call, chat or email enters its queue (the same rules as any ticket: the site
    open, the queue not closed, the closing rule) and is offered at once if an agent has room;
    otherwise it waits in the pool."""
    if request.channel not in REMOTE_CHANNELS:
        raise RuleViolation(f"{request.channel} is not a remote contact: issue a ticket")
    await lock_site(conn, request.site_id)  # first: the pass below must not wait on itself
    ticket = await issue_ticket(conn, store, request, context, now)
    assert ticket.ticket_id is not None
    await dispatch(conn, store, request.site_id, now, context)
    ticket = await load_ticket(conn, store, ticket.ticket_id)
    if ticket.status is TicketStatus.WAITING and ticket.queue is not None:
        # nobody may take it yet; once it has waited relax_after_minutes, an agent of the
        # next best language or without the specialist skill may: offer the pool again then
        site = await load_site(conn, store, request.site_id)
        relax_at = now + timedelta(minutes=site.settings(ticket.queue).relax_after_minutes)
        await schedule(
            conn,
            f"contact-relax:{ticket.ticket_id}",
            ASSIGN_TIMER,
            relax_at,
            {"site_id": request.site_id},
            context,
        )
    return ticket


async def receive(
    conn: asyncpg.Connection,
    store: EventStore,
    request: IssueRequest,
    ivr_selection: str | None,
    context: CommandContext,
    now: datetime,
) -> Ticket:
    """``POST /contacts``: a phone call enters the queue its caller chose in the site's phone
    menu (``ivr_selection``), any other contact the queue it names."""
    if ivr_selection is not None:
        site = await load_site(conn, store, request.site_id)
        request = replace(request, queue=site.ivr_queue(ivr_selection))
    return await receive_contact(conn, store, request, context, now)


# -- the pass ---------------------------------------------------------------------------------


async def dispatch(
    conn: asyncpg.Connection,
    store: EventStore,
    site_id: str,
    now: datetime,
    context: CommandContext,
) -> list[Ticket]:
    """Offer the site's pool to its agents with room; returns the contacts assigned."""
    await lock_site(conn, site_id)
    pool_rows = await conn.fetch(
        """SELECT * FROM ticket_index
           WHERE site_id = $1 AND status = 'waiting' AND channel = ANY($2::text[])""",
        site_id,
        REMOTE,
    )
    if not pool_rows:
        return []
    agent_rows = await present_agents(conn, site_id)
    if not agent_rows:
        return []
    site = await load_site(conn, store, site_id)
    agents = await _loads(conn, agent_rows)
    pool = await _contacts(conn, site, site_id, pool_rows)
    queues = {contact.ticket.queue for contact in pool}
    rules = {queue: site.settings(queue).assignment_rules for queue in queues}
    cursors = {
        ServiceQueue(row["queue"]): row["agent_id"]
        for row in await conn.fetch(
            "SELECT queue, agent_id FROM assignment_cursors WHERE site_id = $1", site_id
        )
    }
    present = [agent.skills for agent in agents]
    plan = plan_assignments(pool, agents, rules, cursors, present, now)
    assigned: list[Ticket] = []
    for assignment in plan:
        contact, choice = assignment.contact, assignment.choice
        queue = contact.ticket.queue
        answer_by = now + answer_window(site.settings(queue), contact.channel)
        command = AssignContact(
            agent_id=choice.agent_id,
            desk_id=choice.desk_id,
            rule=choice.rule,
            answer_by=answer_by,
            at=now,
            match=choice.match,
        )
        ticket_id = contact.ticket.ticket_id
        ticket = await _assign(conn, store, ticket_id, command, context)
        if ticket is None:
            continue  # no longer waiting (the caller hung up): its place stays free
        await schedule(
            conn,
            answer_timer_id(ticket_id),
            ANSWER_TIMER,
            answer_by,
            {"ticket_id": str(ticket_id)},
            context,
        )
        await conn.execute(
            """INSERT INTO assignment_cursors (site_id, queue, agent_id, assigned_at)
               VALUES ($1, $2, $3, $4)
               ON CONFLICT (site_id, queue) DO UPDATE
               SET agent_id = EXCLUDED.agent_id, assigned_at = EXCLUDED.assigned_at""",
            site_id,
            queue.value,
            choice.agent_id,
            now,
        )
        assigned.append(ticket)
    return assigned


async def _assign(
    conn: asyncpg.Connection,
    store: EventStore,
    ticket_id: UUID,
    command: AssignContact,
    context: CommandContext,
) -> Ticket | None:
    """Append the assignment in a savepoint. A conflict means another command on the contact
    committed first (an estimate announced, the caller hung up): decide again on the fresh
    stream, which either assigns or finds it no longer waiting (None)."""
    for attempt in range(1, ASSIGN_ATTEMPTS + 1):
        try:
            async with conn.transaction():
                return await change_ticket(conn, store, ticket_id, command, context)
        except ConcurrencyConflict:
            if attempt == ASSIGN_ATTEMPTS:
                raise
        except RuleViolation:
            return None
    return None  # pragma: no cover


async def _loads(conn: asyncpg.Connection, agent_rows: list[asyncpg.Record]) -> list[AgentLoad]:
    """The present agents with their active remote contacts (offered or being served)."""
    ids = [row["agent_id"] for row in agent_rows]
    active: dict[str, dict[str, int]] = defaultdict(dict)
    for row in await conn.fetch(
        """SELECT agent_id, channel, count(*) AS n FROM ticket_index
           WHERE agent_id = ANY($1::text[]) AND status IN ('called', 'serving')
             AND channel = ANY($2::text[])
           GROUP BY agent_id, channel""",
        ids,
        REMOTE,
    ):
        kind = CHANNEL_KIND[Channel(row["channel"])]
        active[row["agent_id"]][kind] = active[row["agent_id"]].get(kind, 0) + row["n"]
    return [
        AgentLoad(
            skills=skills_of(row),
            limits=ChannelLimits.model_validate(row["limits"]),
            desk_id=row["desk_id"],
            available=row["status"] == AgentStatus.AVAILABLE.value,
            active=active.get(row["agent_id"], {}),
        )
        for row in agent_rows
    ]


async def _contacts(
    conn: asyncpg.Connection,
    site: Site,
    site_id: str,
    pool_rows: list[asyncpg.Record],
) -> list[Contact]:
    accounts = sorted({row["account_ref"] for row in pool_rows})
    last_served = {
        row["account_ref"]: row["agent_id"]
        for row in await conn.fetch(
            """SELECT DISTINCT ON (account_ref) account_ref, agent_id FROM ticket_index
               WHERE account_ref = ANY($1::text[]) AND serving_started_at IS NOT NULL
                 AND agent_id IS NOT NULL
               ORDER BY account_ref, serving_started_at DESC""",
            accounts,
        )
    }
    return [
        Contact(
            ticket=waiting_of(row, site),
            channel=Channel(row["channel"]),
            site_id=site_id,
            last_served_by=last_served.get(row["account_ref"]),
            owner_agent_id=row["owner_agent_id"],
        )
        for row in pool_rows
    ]


# -- timers -----------------------------------------------------------------------------------


async def schedule_dispatch(
    conn: asyncpg.Connection, site_id: str, due_at: datetime, context: CommandContext
) -> None:
    await schedule(
        conn,
        dispatch_timer_id(site_id),
        ASSIGN_TIMER,
        due_at,
        {"site_id": site_id},
        context,
    )


async def expire_assignment(
    conn: asyncpg.Connection,
    store: EventStore,
    ticket_id: UUID,
    now: datetime,
    context: CommandContext,
) -> Ticket | None:
    """The answer timer: a contact still only offered goes back to the pool, the agent who did
    not answer goes on a break, and the pool is offered again. None when it was answered (or
    ended, or reassigned with a later deadline) meanwhile."""
    row = await conn.fetchrow(
        "SELECT site_id, number FROM ticket_index WHERE ticket_id = $1", ticket_id
    )
    if row is None:
        return None
    await lock_site(conn, row["site_id"])
    before = await load_ticket(conn, store, ticket_id)
    ticket = await change_ticket(conn, store, ticket_id, ExpireAssignment(at=now), context)
    if not (before.status is TicketStatus.CALLED and ticket.status is TicketStatus.WAITING):
        return None
    missed_by = before.agent_id
    assert missed_by is not None
    agent = await load_agent(conn, store, missed_by)
    if agent.status is AgentStatus.AVAILABLE:
        reason = f"missed contact {row['number']}"
        await change_agent(conn, store, missed_by, TakeBreak(at=now, reason=reason), context)
        # on a break now: what else was offered to them goes back at once too
        await release_offered(conn, store, missed_by, UnansweredReason.AGENT_ON_BREAK, now, context)
    await dispatch(conn, store, row["site_id"], now, context)
    return await load_ticket(conn, store, ticket_id)


# -- an agent steps away ----------------------------------------------------------------------


async def step_away(
    conn: asyncpg.Connection,
    store: EventStore,
    agent_id: str,
    command: AgentCommand,
    now: datetime,
    context: CommandContext,
) -> Agent:
    """Any agent command, and when it takes the agent away (a break, signing out) the remote
    contacts offered to them and not yet answered go back to the pool at once — keeping their
    place, since their arrival time never changes — and the pool is offered to the others in
    the same transaction. Contacts already answered (``serving``) stay with an agent on a
    break; an agent who signs out hands them back to their queue (``HandBackContact``: ahead
    of everyone who came after them, for the next agent with their language and skill).

    The site's assignment lock is taken before anything is written, like every pass (no
    lock-order deadlock with a pass or an answer timer of the same site)."""
    row = await conn.fetchrow("SELECT site_id FROM agent_index WHERE agent_id = $1", agent_id)
    site_id = row["site_id"] if row is not None else None
    if site_id is not None:
        await lock_site(conn, site_id)
    agent = await change_agent(conn, store, agent_id, command, context)
    if site_id is None or agent.status not in {AgentStatus.ON_BREAK, AgentStatus.OFFLINE}:
        return agent
    reason = (
        UnansweredReason.AGENT_SIGNED_OUT
        if isinstance(command, SignOut)
        else UnansweredReason.AGENT_ON_BREAK
    )
    released = await release_offered(conn, store, agent_id, reason, now, context)
    handed_back = isinstance(command, SignOut) and await hand_back_answered(
        conn, store, agent_id, now, context
    )
    if released or handed_back:
        await dispatch(conn, store, site_id, now, context)
    return agent


async def hand_back_answered(
    conn: asyncpg.Connection,
    store: EventStore,
    agent_id: str,
    now: datetime,
    context: CommandContext,
) -> bool:
    """Hand the remote contacts the agent answered and did not finish back to their queues
    (the caller holds the site's lock and offers the pool again). True when any went back."""
    rows = await conn.fetch(
        """SELECT ticket_id FROM ticket_index
           WHERE agent_id = $1 AND status = 'serving' AND channel = ANY($2::text[])
           ORDER BY called_at, ticket_id""",
        agent_id,
        REMOTE,
    )
    command = HandBackContact(agent_id=agent_id, at=now)
    for row in rows:
        await change_ticket(conn, store, row["ticket_id"], command, context)
    return bool(rows)


async def release_offered(
    conn: asyncpg.Connection,
    store: EventStore,
    agent_id: str,
    reason: UnansweredReason,
    now: datetime,
    context: CommandContext,
) -> list[Ticket]:
    """Put the contacts offered to the agent and not answered back into the pool
    (``contact_unanswered`` with ``reason``) and drop their answer timers. The caller holds
    the site's lock and offers the pool again.

    A contact whose answer timer is being fired at this very moment (its row locked by the
    timer runner, which then waits for the site's lock we hold) is left to that timer: it
    returns the contact as soon as we commit. Waiting for that row instead would deadlock."""
    rows = await conn.fetch(
        """SELECT ticket_id FROM ticket_index
           WHERE agent_id = $1 AND status = 'called' AND answer_by IS NOT NULL
             AND channel = ANY($2::text[])
           ORDER BY called_at, ticket_id""",
        agent_id,
        REMOTE,
    )
    released: list[Ticket] = []
    for row in rows:
        ticket_id = row["ticket_id"]
        if not await _take_answer_timer(conn, ticket_id):
            continue
        command = ReleaseContact(agent_id=agent_id, at=now, reason=reason)
        ticket = await _release(conn, store, ticket_id, command, context)
        if ticket is not None:
            released.append(ticket)
    return released


async def _take_answer_timer(conn: asyncpg.Connection, ticket_id: UUID) -> bool:
    """Drop the contact's answer timer unless a runner is firing it right now (False: its
    handler, waiting for the site lock we hold, returns the contact right after us)."""
    return await cancel_unless_firing(conn, answer_timer_id(ticket_id))


async def _release(
    conn: asyncpg.Connection,
    store: EventStore,
    ticket_id: UUID,
    command: ReleaseContact,
    context: CommandContext,
) -> Ticket | None:
    """Append the release in a savepoint; a conflict (the agent answered at that moment) is
    decided again on the fresh stream. None when it is no longer offered to the agent."""
    for attempt in range(1, ASSIGN_ATTEMPTS + 1):
        try:
            async with conn.transaction():
                before = await load_ticket(conn, store, ticket_id)
                ticket = await change_ticket(conn, store, ticket_id, command, context)
                back = before.status is TicketStatus.CALLED
                return ticket if back and ticket.status is TicketStatus.WAITING else None
        except ConcurrencyConflict:
            if attempt == ASSIGN_ATTEMPTS:
                raise
    return None  # pragma: no cover


def timers(runtime: RunningService) -> dict[str, TimerHandler]:
    """``contact_answer``: the answer window ended. ``contact_assignment``: offer a site's
    pool again (``assign-contacts:<site>`` from the reaction, ``contact-relax:<ticket>`` when a
    pooled contact's requirement may relax). Each acts for the service in the flow of the
    command that scheduled it."""

    async def answer_due(conn: asyncpg.Connection, timer: Timer, now: datetime) -> None:
        ticket_id = UUID(timer.payload["ticket_id"])
        await expire_assignment(conn, runtime.store, ticket_id, now, timer.context("checkin"))

    async def dispatch_due(conn: asyncpg.Connection, timer: Timer, now: datetime) -> None:
        site_id = timer.payload["site_id"]
        await dispatch(conn, runtime.store, site_id, now, timer.context("checkin"))

    return {ANSWER_TIMER: answer_due, ASSIGN_TIMER: dispatch_due}


# -- the reaction -----------------------------------------------------------------------------


async def _site_of_event(conn: asyncpg.Connection, payload: PlaceFreed) -> str | None:
    if isinstance(payload, SiteConfigured):
        return payload.site_id
    if isinstance(payload, AgentProfileSet | AgentSignedIn | AgentStatusChanged):
        status = getattr(payload, "status", AgentStatus.AVAILABLE)
        if status is not AgentStatus.AVAILABLE:
            return None  # a break or a walk-in started: no place was freed
        row = await conn.fetchrow(
            "SELECT site_id FROM agent_index WHERE agent_id = $1", payload.agent_id
        )
        site_id = getattr(payload, "site_id", None) or (row["site_id"] if row else None)
        return site_id  # type: ignore[no-any-return]
    if isinstance(payload, TicketIssued):  # the event says where and how: no query
        return payload.site_id if payload.channel.value in REMOTE else None
    row = await conn.fetchrow(
        "SELECT site_id, channel FROM ticket_index WHERE ticket_id = $1", payload.ticket_id
    )
    if row is None or row["channel"] not in REMOTE:
        return None
    return row["site_id"]  # type: ignore[no-any-return]


def _moment(event: ReceivedEvent[PlaceFreed]) -> datetime:
    """When the place freed up: the event's own time (the timer fires at once, or as soon as
    the runner polls, with the runtime's clock)."""
    for name in (*TIME_FIELDS, "set_at", "configured_at"):
        value = getattr(event.payload, name, None)
        if isinstance(value, datetime):
            return value
    return event.envelope.occurred_at


def assignment_group(runtime: RunningService) -> ConsumerGroup:
    async def on_move(conn: asyncpg.Connection, event: ReceivedEvent[PlaceFreed]) -> None:
        site_id = await _site_of_event(conn, event.payload)
        if site_id is None:
            return
        context = CommandContext.caused_by(event.envelope, "checkin")
        await schedule_dispatch(conn, site_id, _moment(event), context)

    return ConsumerGroup(
        name="checkin.assignment",
        topics=[CHECKIN_TICKETS, CHECKIN_AGENTS, CHECKIN_SITES],
        handlers={payload: on_move for payload in (*CONTACT_MOVES, *AGENT_MOVES, SiteConfigured)},
        description="Offers waiting remote contacts again when an agent's place frees up.",
        linger_ms=OWN_EVENTS_LINGER_MS,
        reads_personal_data=False,  # offering a contact needs no phone, description or reason
    )


# -- queries ----------------------------------------------------------------------------------


async def agent_contacts(conn: asyncpg.Connection, agent_id: str) -> list[asyncpg.Record]:
    """The remote contacts offered to or being served by the agent, oldest first."""
    return await conn.fetch(  # type: ignore[no-any-return]
        """SELECT ticket_id, number, site_id, queue, channel, status, language, dialect,
                  called_at, answer_by, serving_started_at, arrival_at, desk_id
           FROM ticket_index
           WHERE agent_id = $1 AND status IN ('called', 'serving')
             AND channel = ANY($2::text[])
           ORDER BY called_at, ticket_id""",
        agent_id,
        REMOTE,
    )
