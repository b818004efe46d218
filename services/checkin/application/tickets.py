"""Tickets: issue, change, call the next one, the no-show timer.

Each use case gathers the facts its rules depend on once (the site, the person's active
ticket, the agent called to), then runs the one command path: the ticket repository loads
the ticket, the pure ``domain.tickets.decide`` applies every rule and returns the events, and
the repository appends them. Its after-append hooks, in the same transaction, keep what
follows a ticket in step: the agent's serving status and the no-show timer
(``follow_ticket``), then the command-side ``ticket_index`` (``application.ticket_index``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg
from opentelemetry import metrics

from contracts.events.checkin import (
    AppointmentRef,
    Intake,
    NoShowReason,
    RoutingMatch,
    TicketIssued,
)
from contracts.vocabulary import Channel, ServiceQueue
from runtime.context import CommandContext
from runtime.eventstore import EventStore
from runtime.repository import AfterAppend, Executed, Repository
from runtime.scheduler import Timer, cancel, schedule
from services.checkin.application.agents import (
    change_agent,
    load_agent,
    present_agents,
    skills_of,
)
from services.checkin.application.appointments import booked_queue
from services.checkin.application.appointments import check_in as check_in_appointment
from services.checkin.application.estimates import (
    arrivals_since,
    estimate_new_ticket,
    facts_arguments,
)
from services.checkin.application.sites import load_site, load_site_and_number
from services.checkin.application.ticket_index import (
    active_ticket,
    index_ticket_hook,
    indexed_with_append,
    next_sequence,
    waiting_of,
)
from services.checkin.config import phone_ref
from services.checkin.domain.agents import BeginServing, EndServing, require_free_to_call
from services.checkin.domain.routing import (
    DEFAULT_POLICY,
    AgentSkills,
    RoutingPolicy,
    WaitingTicket,
    choose_next,
)
from services.checkin.domain.sites import Site
from services.checkin.domain.tickets import (
    NO_FACTS,
    REMOTE_CHANNELS,
    TICKET,
    CallTicket,
    Command,
    IssueTicket,
    MarkNoShow,
    RecallTicket,
    Ticket,
    TicketFacts,
    TicketStatus,
    decide,
    virtual_queue_phone,
)

NO_SHOW_TIMER = "ticket_no_show"


def ticket_stream(ticket_id: UUID) -> str:
    return f"ticket-{ticket_id}"


def no_show_timer_id(ticket_id: UUID) -> str:
    return f"no-show:{ticket_id}"


def tickets(store: EventStore) -> Repository[Ticket]:
    hooks: list[AfterAppend[Ticket]] = [follow_ticket(store), index_ticket_hook]
    return Repository(store, TICKET, after_append=hooks, with_append=[indexed_with_append])


async def load_ticket(conn: asyncpg.Connection, store: EventStore, ticket_id: UUID) -> Ticket:
    return await tickets(store).state(conn, ticket_stream(ticket_id))


async def change_ticket(
    conn: asyncpg.Connection,
    store: EventStore,
    ticket_id: UUID,
    command: Command,
    context: CommandContext,
    facts: TicketFacts = NO_FACTS,
) -> Ticket:
    """Apply a ticket command that needs no facts beyond the ticket (or the ones given)."""
    executed = await tickets(store).execute(
        conn, ticket_stream(ticket_id), lambda ticket: decide(ticket, facts, command), context
    )
    return executed.state


# -- issuing ----------------------------------------------------------------------------------


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
    verified_phone: str | None = None  # a customer joining the virtual queue: their number


async def issue_ticket(
    conn: asyncpg.Connection,
    store: EventStore,
    request: IssueRequest,
    context: CommandContext,
    now: datetime,
    phone_key: str | None = None,
    site: Site | None = None,
    admit: Callable[[Site], None] | None = None,
) -> Ticket:
    """Issue a ticket. The facts: the site (open? the queue closed for the day? closing
    soon?), the person's active ticket (virtual queue), the queue's estimate with this ticket
    in it; ``decide`` applies the rules. A virtual-queue place is tied to a phone number:
    ``person_ref`` is its keyed hash (``config.phone_ref`` with ``phone_key``). ``site``: the
    site as this transaction already read it (else it is read here, with the number).
    ``admit(site)`` refuses a caller who may not issue at the site (it raises; the transaction
    rolls back, so nothing is written)."""
    person_ref = request.person_ref
    if request.channel is Channel.VIRTUAL_QUEUE and phone_key is not None:
        phone = virtual_queue_phone(request.intake, request.verified_phone)
        person_ref = phone_ref(phone_key, phone) if phone else None
    held = None
    if request.channel is Channel.VIRTUAL_QUEUE:
        held = await active_ticket(
            conn, request.intake.account_ref, person_ref, request.customer_id
        )
    # the key its personal data is sealed with, before the queue's number is taken: the
    # number's row stays locked until this transaction ends, and the queue's other issues wait
    await store.privacy.prepare(
        TicketIssued.data_subject_of({"intake": {"account_ref": request.intake.account_ref}}),
        request.intake,
    )
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
    # remote contacts wait in the assignment pool, not in the line the estimate describes; a
    # ticket of the line reads the queue's estimate facts in the statement taking its number
    in_line = request.channel not in REMOTE_CHANNELS
    facts = None
    if site is None:
        site, sequence, facts = await load_site_and_number(
            conn,
            store,
            request.site_id,
            request.queue.value,
            now,
            facts_arguments(request.site_id, request.queue, now, arrivals_since(draft, now))
            if in_line
            else None,
        )
    else:
        sequence = await next_sequence(
            conn, request.site_id, request.queue.value, site.local_day(now)
        )
    if admit is not None:
        admit(site)
    day = site.local_day(now)
    estimate = (
        None
        if not in_line or not site.serves(request.queue)
        else await estimate_new_ticket(
            conn, site, request.site_id, request.queue, now, draft, request.intake, row=facts
        )
    )
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
        person_ref=person_ref,
        screening_confirmed_by=request.screening_confirmed_by,
        owner_agent_id=request.owner_agent_id,
        verified_phone=request.verified_phone,
    )
    facts = TicketFacts(site=site, active_ticket=held)
    executed = await tickets(store).execute(
        conn,
        ticket_stream(ticket_id),
        lambda ticket: decide(ticket, facts, command),
        context,
        new=request.ticket_id is None,  # an id made just above: no stream to read
    )
    return executed.state


async def issue(
    conn: asyncpg.Connection,
    store: EventStore,
    request: IssueRequest,
    appointment_id: UUID | None,
    *,
    staff: bool,
    queue_given: bool,
    context: CommandContext,
    now: datetime,
    phone_key: str,
    admit: Callable[[Site], None],
) -> Ticket:
    """``POST /tickets``: issue a ticket; with an appointment, check the booking in first (in
    the same transaction), in the queue it was booked in unless another was named.
    ``admit(site)`` refuses a caller who may not issue at the site (it raises) on the site the
    command reads; the site it saw is the one the ticket is issued at. Without an appointment
    the site is read with the queue's number, in one round trip (``load_site_and_number``),
    so the refusal comes after the number (rolled back with the rest: nothing is written but,
    as for any refused issue, the subject's first key in the key store, which holds no data)."""
    if appointment_id is None:
        return await issue_ticket(conn, store, request, context, now, phone_key, admit=admit)
    site = await load_site(conn, store, request.site_id)
    admit(site)
    booked = await booked_queue(conn, appointment_id, request.customer_id, staff=staff)
    queue = request.queue if queue_given else booked
    ticket_id = uuid.uuid4()
    appointment = await check_in_appointment(
        conn,
        store,
        appointment_id,
        ticket_id=ticket_id,
        customer_id=request.customer_id,
        site_id=request.site_id,
        queue=queue,
        now=now,
        context=context,
    )
    request = replace(request, ticket_id=ticket_id, appointment=appointment, queue=queue)
    return await issue_ticket(conn, store, request, context, now, phone_key, site)


# -- the desk ---------------------------------------------------------------------------------


async def call_ticket(
    conn: asyncpg.Connection,
    store: EventStore,
    ticket_id: UUID,
    command: CallTicket,
    context: CommandContext,
) -> Ticket:
    """Call a ticket to a desk; the agent called to is a fact of the rule (signed in)."""
    agent = await load_agent(conn, store, command.agent_id)
    facts = TicketFacts(agent=agent)
    return await change_ticket(conn, store, ticket_id, command, context, facts)


async def recall_ticket(
    conn: asyncpg.Connection,
    store: EventStore,
    ticket_id: UUID,
    agent_id: str,
    at: datetime,
    override: bool,
    context: CommandContext,
) -> Ticket:
    """Call again, up to the queue's ``max_recalls`` (a setting of the ticket's site)."""
    ticket = await load_ticket(conn, store, ticket_id)
    site = await load_site(conn, store, ticket.site_id or "")
    max_recalls = site.settings(ticket.queue).max_recalls if ticket.queue else 0
    command = RecallTicket(agent_id=agent_id, at=at, max_recalls=max_recalls, override=override)
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
    require_free_to_call(agent, agent_id)
    assert agent.site_id is not None
    assert agent.desk_id is not None
    site = await load_site(conn, store, agent.site_id)
    present = [skills_of(row) for row in await present_agents(conn, agent.site_id)]
    me = AgentSkills(agent_id, agent.queues, agent.specialist_skills, agent.languages)
    waiting = [
        waiting_of(row, site)
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
    facts = TicketFacts(agent=agent)
    ticket = await change_ticket(conn, store, pick.ticket.ticket_id, command, context, facts)
    return ticket, pick.match


# -- what follows a ticket --------------------------------------------------------------------


ESTIMATE_ERROR = metrics.get_meter("frontdesk.checkin").create_histogram(
    "frontdesk.queue.estimate_error",
    unit="s",
    description="How far the first estimate was from the wait a ticket had until its first call",
    explicit_bucket_boundaries_advisory=[60, 120, 300, 600, 900, 1200, 1800, 2700, 3600, 5400],
)


def record_estimate_error(ticket: Ticket) -> None:
    """The honesty of the estimates, measured: |actual wait - first expected wait| per queue."""
    estimate, issued, called = ticket.first_estimate, ticket.issued_at, ticket.called_at
    if estimate is None or issued is None or called is None or ticket.queue is None:
        return
    waited = (called - issued).total_seconds()
    ESTIMATE_ERROR.record(
        abs(waited - estimate.expected_minutes * 60),
        {"site": ticket.site_id or "", "queue": ticket.queue.value},
    )


def follow_ticket(store: EventStore) -> AfterAppend[Ticket]:
    """After-append hook: a walk-in called to an agent makes the agent serving and starts the
    no-show timer; leaving ``called`` drops the timer; ending (or going back to waiting)
    frees the agent. Agents without a profile are not tracked."""

    async def hook(
        conn: asyncpg.Connection, executed: Executed[Ticket], context: CommandContext
    ) -> None:
        before, after = executed.before, executed.state
        ticket_id = after.ticket_id
        assert ticket_id is not None
        walk_in = after.channel not in REMOTE_CHANNELS
        called = after.status is TicketStatus.CALLED and before.status is not TicketStatus.CALLED
        if called and before.first_called_at is None:
            record_estimate_error(after)
        if called and after.agent_id and after.called_at and walk_in:
            agent = await load_agent(conn, store, after.agent_id)
            if agent.known:
                begin = BeginServing(ticket_id, after.called_at)
                await change_agent(conn, store, after.agent_id, begin, context)
            site = await load_site(conn, store, after.site_id or "")
            if site.configured:  # a site never configured has no automatic no-show
                assert after.queue is not None
                minutes = site.settings(after.queue).no_show_after_minutes
                await schedule(
                    conn,
                    no_show_timer_id(ticket_id),
                    NO_SHOW_TIMER,
                    after.called_at + timedelta(minutes=minutes),
                    {"ticket_id": str(ticket_id), "called_at": after.called_at.isoformat()},
                    context,
                )
        if before.status is TicketStatus.CALLED and after.status is not TicketStatus.CALLED:
            await cancel(conn, no_show_timer_id(ticket_id))
        ended_for_agent = before.agent_id is not None and (
            after.status in {TicketStatus.WAITING, TicketStatus.PARKED} or after.is_final
        )
        was_at_desk = before.status in {TicketStatus.CALLED, TicketStatus.SERVING}
        if ended_for_agent and walk_in and was_at_desk:
            assert before.agent_id is not None
            agent = await load_agent(conn, store, before.agent_id)
            if agent.known:
                reason = f"ticket {after.status.value}"
                end = EndServing(ticket_id, _transition_time(after), reason=reason)
                await change_agent(conn, store, before.agent_id, end, context)

    return hook


def _transition_time(ticket: Ticket) -> datetime:
    candidates = [
        ticket.ended_at,
        ticket.serving_started_at,
        ticket.called_at,
        ticket.parked_at,
        ticket.arrival_at,
    ]
    return max(moment for moment in candidates if moment is not None)


# -- the no-show timer ------------------------------------------------------------------------


async def no_show_due(
    conn: asyncpg.Connection, store: EventStore, timer: Timer, now: datetime
) -> Ticket | None:
    """A ticket still called (not at the desk) when its timer fires becomes a no-show; the
    timer acts for the service in the flow of the call that started it."""
    ticket_id = UUID(timer.payload["ticket_id"])
    called_at = datetime.fromisoformat(timer.payload["called_at"])
    ticket = await load_ticket(conn, store, ticket_id)
    if ticket.status is not TicketStatus.CALLED or ticket.called_at != called_at:
        return None  # served, left, parked, or called again since: the timer is stale
    command = MarkNoShow(at=now, reason=NoShowReason.NOT_AT_DESK_IN_TIME)
    return await change_ticket(conn, store, ticket_id, command, timer.context("checkin"))
