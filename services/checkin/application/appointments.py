"""Appointments: use cases (book, cancel, reschedule, check in, remind, missed) and their
index.

Use cases run in the caller's transaction. Besides the slot's events they keep the command-side
``appointment_index`` in step (one row per appointment, a pure function of its slot's state):
it finds an appointment's slot, counts the places taken per slot, and holds the one active
booking per person, queue and day (a unique index, so two concurrent bookings of one person
cannot both pass). Capacity itself is decided on the slot's stream: of two concurrent bookings
of the last place, the second append conflicts, decides again on the fresh slot and is refused.

Two durable timers per booked appointment: the reminder (``appointment-reminder:<id>``, due at
the next lead time of ``appointment_reminders_minutes`` still ahead; when it fires it appends
the reminder and moves itself to the next lead, if any) and the missed timer (the end of the
grace window). Both are dropped when the appointment is cancelled, checked in or missed; a
reschedule cancels the old appointment (and its timers) and books the new one (with its own).

The ``appointments`` read model (the day's bookings of a site for the reception) is projected
from ``frontdesk.checkin.appointments`` by ``projections.appointments``; it is rebuildable.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from uuid import UUID

import asyncpg

from contracts.events.checkin import AppointmentRef
from contracts.vocabulary import ServiceQueue
from runtime.context import CommandContext
from runtime.errors import NotFound, RuleViolation
from runtime.eventstore import EventStore
from runtime.repository import Repository
from runtime.scheduler import Timer, cancel, schedule
from services.checkin.application.sites import load_site
from services.checkin.domain.appointments import (
    NO_FACTS,
    SLOT,
    AppointmentStatus,
    BookAppointment,
    CancelAppointment,
    CheckInAppointment,
    MarkMissed,
    RemindAppointment,
    Slot,
    SlotAvailability,
    SlotCommand,
    SlotFacts,
    appointment_ref,
    day_slots,
    decide_slot,
    next_reminder,
    slot_stream,
)

MISSED_TIMER = "appointment_missed"
REMINDER_TIMER = "appointment_reminder"
ONE_PER_DAY = "appointment_index_one_per_day"


def missed_timer_id(appointment_id: UUID) -> str:
    return f"appointment-missed:{appointment_id}"


def reminder_timer_id(appointment_id: UUID) -> str:
    return f"appointment-reminder:{appointment_id}"


def slots(store: EventStore) -> Repository[Slot]:
    return Repository(store, SLOT)


async def _change_slot(
    conn: asyncpg.Connection,
    store: EventStore,
    stream_id: str,
    facts: SlotFacts,
    command: SlotCommand,
    context: CommandContext,
) -> Slot:
    """Decide on the slot and append. Of two concurrent bookings of the last place, the second
    append conflicts; ``runtime.commands`` runs its request again on the fresh slot."""
    executed = await slots(store).execute(
        conn, stream_id, lambda slot: decide_slot(slot, facts, command), context
    )
    return executed.state


async def _index(conn: asyncpg.Connection, slot: Slot, appointment_id: UUID, day: date) -> None:
    booking = slot.bookings[appointment_id]
    assert slot.site_id is not None
    assert slot.queue is not None
    try:
        async with conn.transaction():
            await conn.execute(
                """INSERT INTO appointment_index (appointment_id, stream_id, site_id, queue,
                       slot_start, slot_end, service_day, customer_id, status, check_in_from,
                       check_in_until, booked_at, ticket_id, ended_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                   ON CONFLICT (appointment_id) DO UPDATE SET status = EXCLUDED.status,
                       ticket_id = EXCLUDED.ticket_id, ended_at = EXCLUDED.ended_at""",
                appointment_id,
                slot_stream(slot.site_id, slot.queue, slot.start),  # type: ignore[arg-type]
                slot.site_id,
                slot.queue.value,
                slot.start,
                slot.end,
                day,
                booking.customer_id,
                booking.status.value,
                booking.check_in_from,
                booking.check_in_until,
                booking.booked_at,
                booking.ticket_id,
                booking.ended_at,
            )
    except asyncpg.UniqueViolationError as error:
        if error.constraint_name == ONE_PER_DAY:
            raise RuleViolation(
                f"this person already has an appointment in {slot.queue} on {day.isoformat()}: "
                "one at a time per queue and day (cancel it to book another)"
            ) from None
        raise


async def book(
    conn: asyncpg.Connection,
    store: EventStore,
    *,
    appointment_id: UUID,
    site_id: str,
    queue: ServiceQueue,
    start: datetime,
    customer_id: str,
    now: datetime,
    context: CommandContext,
    reminders: Sequence[int] = (),
    account_ref: str | None = None,
) -> asyncpg.Record:
    """Book, and set the appointment's timers: its first reminder (of the lead times
    ``reminders`` in minutes, the longest still ahead; none when it names no account to reach
    the customer through) and its missed timer."""
    site = await load_site(conn, store, site_id)
    if not site.configured:
        raise NotFound(f"no such site {site_id}")
    day = site.local_day(start)
    facts = SlotFacts(
        site=site, other_booking=await _other_booking(conn, customer_id, site_id, queue, day)
    )
    command = BookAppointment(
        appointment_id=appointment_id,
        site_id=site_id,
        queue=queue,
        start=start,
        customer_id=customer_id,
        at=now,
        account_ref=account_ref,
    )
    slot = await _change_slot(
        conn, store, slot_stream(site_id, queue, start), facts, command, context
    )
    await _index(conn, slot, appointment_id, day)
    booking = slot.bookings[appointment_id]
    await schedule(
        conn,
        missed_timer_id(appointment_id),
        MISSED_TIMER,
        booking.check_in_until,
        {"appointment_id": str(appointment_id)},
        context,
    )
    if account_ref is not None:
        await _schedule_reminder(conn, slot, appointment_id, reminders, now, None, context)
    return await appointment_row(conn, appointment_id)


async def _schedule_reminder(
    conn: asyncpg.Connection,
    slot: Slot,
    appointment_id: UUID,
    reminders: Sequence[int],
    after: datetime,
    shorter_than: int | None,
    context: CommandContext,
) -> None:
    assert slot.start is not None
    upcoming = next_reminder(slot.start, reminders, after, shorter_than)
    if upcoming is None:
        return
    lead, due = upcoming
    await schedule(
        conn,
        reminder_timer_id(appointment_id),
        REMINDER_TIMER,
        due,
        {"appointment_id": str(appointment_id), "before_minutes": lead},
        context,
    )


async def _other_booking(
    conn: asyncpg.Connection, customer_id: str, site_id: str, queue: ServiceQueue, day: date
) -> datetime | None:
    """The slot start of the person's active booking in that queue on that local day."""
    held: datetime | None = await conn.fetchval(
        """SELECT slot_start FROM appointment_index WHERE customer_id = $1 AND site_id = $2
             AND queue = $3 AND service_day = $4 AND status = 'booked'""",
        customer_id,
        site_id,
        queue.value,
        day,
    )
    return held


async def find_appointment(conn: asyncpg.Connection, appointment_id: UUID) -> asyncpg.Record | None:
    """An appointment's index row, if it exists."""
    return await conn.fetchrow(
        "SELECT * FROM appointment_index WHERE appointment_id = $1", appointment_id
    )


async def customer_appointments(conn: asyncpg.Connection, customer_id: str) -> list[asyncpg.Record]:
    """A customer's appointments, latest slot first (at most 50)."""
    return list(
        await conn.fetch(
            """SELECT * FROM appointment_index WHERE customer_id = $1
               ORDER BY slot_start DESC LIMIT 50""",
            customer_id,
        )
    )


async def appointment_row(conn: asyncpg.Connection, appointment_id: UUID) -> asyncpg.Record:
    row = await find_appointment(conn, appointment_id)
    if row is None:
        raise NotFound(f"appointment {appointment_id} not found")
    return row


async def _change(
    conn: asyncpg.Connection,
    store: EventStore,
    appointment_id: UUID,
    command: SlotCommand,
    context: CommandContext,
) -> Slot:
    row = await appointment_row(conn, appointment_id)
    slot = await _change_slot(conn, store, row["stream_id"], NO_FACTS, command, context)
    await _index(conn, slot, appointment_id, row["service_day"])
    if slot.bookings[appointment_id].status is not AppointmentStatus.BOOKED:
        await cancel(conn, missed_timer_id(appointment_id))
        await cancel(conn, reminder_timer_id(appointment_id))
    return slot


async def cancel_appointment(
    conn: asyncpg.Connection,
    store: EventStore,
    appointment_id: UUID,
    *,
    by_staff: bool,
    reason: str | None,
    now: datetime,
    context: CommandContext,
) -> asyncpg.Record:
    command = CancelAppointment(appointment_id, now, by_staff=by_staff, reason=reason)
    await _change(conn, store, appointment_id, command, context)
    return await appointment_row(conn, appointment_id)


async def reschedule(
    conn: asyncpg.Connection,
    store: EventStore,
    appointment_id: UUID,
    *,
    new_appointment_id: UUID,
    start: datetime,
    by_staff: bool,
    now: datetime,
    context: CommandContext,
    reminders: Sequence[int] = (),
) -> asyncpg.Record:
    """Move a booking to the slot at ``start`` (same site, queue and person) in one step: the
    old place is cancelled ("rescheduled") and the new one booked in the caller's transaction,
    under the same rules as cancelling and booking. A refused booking (full, started, beyond
    the horizon, …) rolls the cancellation back with it: the person keeps their old place.
    The old appointment's reminder goes with it; the new one is reminded for its own time."""
    old = await appointment_row(conn, appointment_id)
    if old["slot_start"] == start:
        raise RuleViolation("the appointment is already in that slot")
    command = CancelAppointment(appointment_id, now, by_staff=by_staff, reason="rescheduled")
    cancelled = await _change(conn, store, appointment_id, command, context)
    return await book(
        conn,
        store,
        appointment_id=new_appointment_id,
        site_id=old["site_id"],
        queue=ServiceQueue(old["queue"]),
        start=start,
        customer_id=old["customer_id"],
        now=now,
        context=context,
        reminders=reminders,
        account_ref=cancelled.bookings[appointment_id].account_ref,
    )


async def booked_queue(
    conn: asyncpg.Connection, appointment_id: UUID, customer_id: str | None, *, staff: bool
) -> ServiceQueue:
    """The queue an appointment is booked in; a customer's view: only their own exist."""
    row = await conn.fetchrow(
        "SELECT queue, customer_id FROM appointment_index WHERE appointment_id = $1",
        appointment_id,
    )
    if row is None or (not staff and row["customer_id"] != customer_id):
        raise NotFound(f"appointment {appointment_id} not found")
    return ServiceQueue(row["queue"])


async def check_in(
    conn: asyncpg.Connection,
    store: EventStore,
    appointment_id: UUID,
    *,
    ticket_id: UUID,
    customer_id: str | None,
    site_id: str,
    queue: ServiceQueue,
    now: datetime,
    context: CommandContext,
) -> AppointmentRef:
    """The booked visitor arrived: record it on the slot (in the ticket's transaction) and
    return what the ticket carries so that routing serves it within its window."""
    command = CheckInAppointment(appointment_id, ticket_id, customer_id, site_id, queue, now)
    slot = await _change(conn, store, appointment_id, command, context)
    return appointment_ref(slot, appointment_id)


async def missed_due(
    conn: asyncpg.Connection, store: EventStore, timer: Timer, now: datetime
) -> None:
    """The missed-appointment timer: a booking not checked in by the end of its grace window
    is missed; its place is released."""
    appointment_id = UUID(timer.payload["appointment_id"])
    row = await conn.fetchrow(
        "SELECT status FROM appointment_index WHERE appointment_id = $1", appointment_id
    )
    if row is None or row["status"] != AppointmentStatus.BOOKED.value:
        return  # cancelled or checked in meanwhile
    command = MarkMissed(appointment_id, now)
    await _change(conn, store, appointment_id, command, timer.context("checkin"))


async def reminder_due(
    conn: asyncpg.Connection,
    store: EventStore,
    timer: Timer,
    now: datetime,
    reminders: Sequence[int],
) -> None:
    """The reminder timer: remind the customer (if the appointment is still booked and has
    not started), then set the timer for the next, shorter lead time still ahead."""
    appointment_id = UUID(timer.payload["appointment_id"])
    lead = int(timer.payload["before_minutes"])
    row = await conn.fetchrow(
        "SELECT status, site_id FROM appointment_index WHERE appointment_id = $1",
        appointment_id,
    )
    if row is None or row["status"] != AppointmentStatus.BOOKED.value:
        return  # cancelled, checked in or missed meanwhile
    site = await load_site(conn, store, row["site_id"])
    context = timer.context("checkin")
    command = RemindAppointment(
        appointment_id, lead, now, site.name or site.site_id or row["site_id"], site.timezone
    )
    slot = await _change(conn, store, appointment_id, command, context)
    await _schedule_reminder(conn, slot, appointment_id, reminders, now, lead, context)


async def availability(
    conn: asyncpg.Connection,
    store: EventStore,
    site_id: str,
    queue: ServiceQueue,
    day: date | None,
    now: datetime,
) -> tuple[date, str, list[SlotAvailability]]:
    site = await load_site(conn, store, site_id)
    if not site.configured:
        raise NotFound(f"no such site {site_id}")
    day = day or site.local_day(now)
    rows = await conn.fetch(
        """SELECT slot_start, count(*) AS taken FROM appointment_index
           WHERE site_id = $1 AND queue = $2 AND service_day = $3
             AND status IN ('booked', 'checked_in')
           GROUP BY slot_start""",
        site_id,
        queue.value,
        day,
    )
    taken = {row["slot_start"]: row["taken"] for row in rows}
    return day, site.timezone, day_slots(site, queue, day, now, taken)
