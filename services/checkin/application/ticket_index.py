"""The command-side ticket index: one row per ticket, a pure function of its state.

Written by an after-append hook of the ticket repository (``application.tickets``) in the
same transaction as every append, so what routing, estimates, assignment and the
one-active-ticket rule read is never behind what was decided. The same statement keeps
``queue_waiting`` (how many tickets wait per site, queue, channel and problem category: what a
new ticket's estimate reads instead of the whole queue) in step, from the ticket's state
before and after. ``ticket_counters`` hands out the daily numbers of a queue.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from contracts.vocabulary import Channel, LanguagePreference, ServiceQueue
from runtime.context import CommandContext
from runtime.errors import RuleViolation
from runtime.eventstore import Alongside
from runtime.repository import Executed
from services.checkin.domain.routing import WaitingTicket
from services.checkin.domain.sites import Site
from services.checkin.domain.tickets import ActiveTicket, Ticket, TicketStatus

# The unique partial indexes of migrations/0005 that hold "one active virtual-queue ticket per
# person, account and customer", and what each means for the person refused.
ONE_VIRTUAL_TICKET = {
    "ticket_index_one_virtual_per_person": "this phone number",
    "ticket_index_one_virtual_per_account": "this account",
    "ticket_index_one_virtual_per_customer": "this customer",
}


async def index_ticket_hook(
    conn: asyncpg.Connection, executed: Executed[Ticket], context: CommandContext
) -> None:
    """After-append hook: keep the ticket's row in step with its state. A new ticket's row
    went with its append (``indexed_with_append``), but a virtual-queue one's."""
    before, after = executed.before, executed.state
    if before.status is not TicketStatus.NOT_ISSUED:
        await index_ticket(conn, after, waiting_moves(before, after))
    elif after.channel is Channel.VIRTUAL_QUEUE:
        await _index_virtual_ticket(conn, after, waiting_moves(before, after))


WaitingKey = tuple[str, str, str, str]  # site, queue, channel, problem category


def _waiting_key(ticket: Ticket) -> WaitingKey | None:
    if ticket.status is not TicketStatus.WAITING:
        return None
    if not (ticket.site_id and ticket.queue and ticket.channel and ticket.problem_category):
        return None
    return ticket.site_id, ticket.queue.value, ticket.channel.value, ticket.problem_category.value


def waiting_moves(before: Ticket, after: Ticket) -> list[tuple[WaitingKey, int]]:
    """How a change of a ticket changes the counts of who waits: -1 where it stopped waiting,
    +1 where it started (a transfer does both), in the order of the keys (a transaction locks
    the rows in one order, so two transfers never deadlock)."""
    was, now = _waiting_key(before), _waiting_key(after)
    if was == now:
        return []
    moves = ([(was, -1)] if was else []) + ([(now, 1)] if now else [])
    return sorted(moves)


async def _index_virtual_ticket(
    conn: asyncpg.Connection, ticket: Ticket, counted: list[tuple[WaitingKey, int]]
) -> None:
    """Index a new virtual-queue ticket. ``decide`` already refused a second active ticket,
    but two joins at the same moment can both pass that check; the database then refuses the
    second (it waits for the first to commit): 409, and the caller's transaction rolls back,
    so nothing of it is written (a savepoint keeps the transaction usable until the refusal
    reaches it)."""
    try:
        async with conn.transaction():
            await index_ticket(conn, ticket, counted)
    except asyncpg.UniqueViolationError as error:
        holder = ONE_VIRTUAL_TICKET.get(error.constraint_name or "")
        if holder is None:
            raise
        raise RuleViolation(
            f"{holder} already holds an active place in the virtual queue (taken at the same "
            "moment by another request): one active ticket at a time"
        ) from None


# the ticket's row, and the counts of who waits changed by a move (``waiting_moves``)
INDEX_CTES = """indexed AS (
           INSERT INTO ticket_index (ticket_id, site_id, queue, number, status, channel,
               problem_category, language, dialect, required_skill, accessibility, escalated,
               appointment_start, appointment_end, arrival_at, account_ref, customer_id,
               person_ref, agent_id, desk_id, last_agent_id, called_at, first_called_at,
               serving_started_at, answer_by, ended_at, estimate, ahead_told, service_day,
               owner_agent_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                   $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30)
           ON CONFLICT (ticket_id) DO UPDATE SET queue = EXCLUDED.queue,
               status = EXCLUDED.status, required_skill = EXCLUDED.required_skill,
               escalated = EXCLUDED.escalated, agent_id = EXCLUDED.agent_id,
               desk_id = EXCLUDED.desk_id, last_agent_id = EXCLUDED.last_agent_id,
               called_at = EXCLUDED.called_at, first_called_at = EXCLUDED.first_called_at,
               serving_started_at = EXCLUDED.serving_started_at,
               answer_by = EXCLUDED.answer_by, ended_at = EXCLUDED.ended_at,
               estimate = EXCLUDED.estimate, ahead_told = EXCLUDED.ahead_told
           RETURNING 1
        ), counted AS (
           INSERT INTO queue_waiting (site_id, queue, channel, problem_category, waiting)
           SELECT * FROM unnest($31::text[], $32::text[], $33::text[], $34::text[], $35::int[])
           ON CONFLICT (site_id, queue, channel, problem_category)
           DO UPDATE SET waiting = greatest(queue_waiting.waiting + EXCLUDED.waiting, 0)
           RETURNING 1
        )"""


def index_arguments(ticket: Ticket, counted: list[tuple[WaitingKey, int]]) -> tuple[Any, ...]:
    """The arguments of ``INDEX_CTES`` for the ticket's state."""
    assert ticket.ticket_id is not None
    assert ticket.language is not None
    appointment = ticket.appointment
    return (
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
        ticket.owner_agent_id,
        [key[0] for key, _ in counted],
        [key[1] for key, _ in counted],
        [key[2] for key, _ in counted],
        [key[3] for key, _ in counted],
        [delta for _, delta in counted],
    )


def indexed_with_append(before: Ticket, after: Ticket) -> Alongside | None:
    """A new ticket's row in its append's own statement (``Repository(with_append=...)``: one
    round trip fewer per issue); None for every other change (the hook writes them, after
    ``follow_ticket``) and for a new virtual-queue ticket (the hook writes it inside a
    savepoint, which its unique indexes may refuse)."""
    if before.status is not TicketStatus.NOT_ISSUED or after.channel is Channel.VIRTUAL_QUEUE:
        return None
    return Alongside(INDEX_CTES, index_arguments(after, waiting_moves(before, after)))


async def index_ticket(
    conn: asyncpg.Connection, ticket: Ticket, counted: list[tuple[WaitingKey, int]]
) -> None:
    """The ticket's row, and the counts of who waits changed by ``counted``: one statement."""
    await conn.execute(
        f"""WITH {INDEX_CTES}
        SELECT (SELECT count(*) FROM indexed), (SELECT count(*) FROM counted)""",
        *index_arguments(ticket, counted),
    )


# a queue's next number on a site's local day (numbers restart at local midnight)
NEXT_NUMBER = """INSERT INTO ticket_counters (site_id, queue, day, last_number)
VALUES ({site}, {queue}, {day}, 1)
ON CONFLICT (site_id, queue, day) DO UPDATE SET last_number = ticket_counters.last_number + 1
RETURNING last_number"""


async def next_sequence(conn: asyncpg.Connection, site_id: str, queue: str, day: date) -> int:
    """The next number of a queue on a local day of a site (restarts at local midnight)."""
    return await conn.fetchval(  # type: ignore[no-any-return]
        NEXT_NUMBER.format(site="$1", queue="$2", day="$3"), site_id, queue, day
    )


async def active_ticket(
    conn: asyncpg.Connection, account_ref: str, person_ref: str | None, customer_id: str | None
) -> ActiveTicket | None:
    """An active ticket of the person, account or customer, if any (one at a time)."""
    row = await conn.fetchrow(
        """SELECT number, status FROM ticket_index
           WHERE status IN ('waiting', 'called', 'serving', 'parked')
             AND (account_ref = $1 OR ($2::text IS NOT NULL AND person_ref = $2)
                  OR ($3::text IS NOT NULL AND customer_id = $3))
           LIMIT 1""",
        account_ref,
        person_ref,
        customer_id,
    )
    return ActiveTicket(row["number"], TicketStatus(row["status"])) if row else None


async def customer_ticket_ids(conn: asyncpg.Connection, customer_id: str) -> list[UUID]:
    """A customer's tickets, newest first (at most 20)."""
    rows = await conn.fetch(
        "SELECT ticket_id FROM ticket_index WHERE customer_id = $1 ORDER BY arrival_at DESC "
        "LIMIT 20",
        customer_id,
    )
    return [row["ticket_id"] for row in rows]


def waiting_of(
    row: Mapping[str, Any], site: Site, relax_after: timedelta | None = None
) -> WaitingTicket:
    """A waiting ticket as routing sees it, from its index row (``relax_after``: its queue's,
    when the caller already knows it)."""
    queue = ServiceQueue(row["queue"])
    if relax_after is None:
        relax_after = timedelta(minutes=site.settings(queue).relax_after_minutes)
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
        relax_after=relax_after,
    )
