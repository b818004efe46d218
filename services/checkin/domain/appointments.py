"""Appointments: bookable slots per site and queue, with a capacity. Pure; no I/O, no clock.

A **slot** is the aggregate (stream ``slot-<site>-<queue>-<start UTC>``): it holds every booking
of that slot, so capacity is decided on one stream and two concurrent bookings of the last place
conflict there (exactly one wins; the other decides again and is refused: full).

Slots follow each other from the start of each opening period of the site's local day
(around-the-clock sites: from local midnight), ``appointment_slot_minutes`` long, and only
whole slots that end by closing time. A queue without ``appointment_slot_minutes`` takes no
appointments. A booked visitor may check in from ``slot_start - early`` to
``slot_end + grace``; after that the appointment is missed and its place released.

A booked appointment is **reminded** before it starts, at each lead time of the check-in
setting ``appointment_reminders_minutes`` (default 24 hours and 2 hours before) whose moment
is still ahead when it is booked: booked 5 hours ahead, only the 2-hour reminder comes. Each
reminder is appended once, and only while the appointment is booked and its slot has not
started (``next_reminder``, ``RemindAppointment``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from uuid import UUID

from contracts.base import EventPayload
from contracts.events.checkin import AppointmentRef
from contracts.events.checkin_appointments import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentCheckedIn,
    AppointmentMissed,
    AppointmentReminderDue,
)
from contracts.vocabulary import ServiceQueue
from runtime.aggregate import AggregateType
from runtime.errors import NotFound, RuleViolation
from services.checkin.domain.sites import Site


def slot_stream(site_id: str, queue: ServiceQueue, start: datetime) -> str:
    return f"slot-{site_id}-{queue.value}-{start.astimezone(UTC):%Y%m%dT%H%MZ}"


# -- the grid of a day ----------------------------------------------------------------------


def slot_grid(site: Site, queue: ServiceQueue, day: date) -> list[tuple[datetime, datetime]]:
    """The slots of a queue on a local day of the site, in UTC: whole slots within each
    opening period (DST-correct: the arithmetic is done in UTC)."""
    if not site.configured or not site.serves(queue):
        return []
    minutes = site.settings(queue).appointment_slot_minutes
    if not minutes:
        return []
    length = timedelta(minutes=minutes)
    if site.opening_hours:
        periods = site.periods(day)
    else:
        midnight = datetime.combine(day, time(0), tzinfo=site.zone)
        periods = [(midnight, datetime.combine(day + timedelta(days=1), time(0), tzinfo=site.zone))]
    slots = []
    for opens, closes in periods:
        start, end = opens.astimezone(UTC), closes.astimezone(UTC)
        while start + length <= end:
            slots.append((start, start + length))
            start += length
    return slots


def bookable_slot(
    site: Site, queue: ServiceQueue, start: datetime, now: datetime
) -> tuple[datetime, datetime]:
    """The slot starting at ``start`` if it may be booked now, else why not (409)."""
    if not site.configured:
        raise NotFound(f"no such site {site.site_id or ''}".strip())
    if not site.serves(queue):
        raise RuleViolation(f"site {site.site_id} does not serve {queue}")
    settings = site.settings(queue)
    if not settings.appointment_slot_minutes:
        raise RuleViolation(f"{queue} at {site.site_id} takes no appointments")
    day = site.local_day(start)
    local = start.astimezone(site.zone)
    slot = next((s for s in slot_grid(site, queue, day) if s[0] == start), None)
    if slot is None:
        raise RuleViolation(
            f"{local.isoformat()} is not the start of a {settings.appointment_slot_minutes}-minute "
            f"slot within the opening hours of {site.site_id}"
        )
    if start <= now:
        raise RuleViolation(f"the slot at {local.isoformat()} has already started")
    last_day = site.local_day(now) + timedelta(days=settings.appointment_horizon_days)
    if day > last_day:
        raise RuleViolation(
            f"slots can be booked up to {settings.appointment_horizon_days} days ahead "
            f"(until {last_day.isoformat()})"
        )
    if (queue, day) in site.closed:
        raise RuleViolation(f"{queue} is closed on {day.isoformat()}")
    return slot


@dataclass(frozen=True)
class SlotAvailability:
    start: datetime
    end: datetime
    capacity: int
    taken: int
    bookable: bool

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.taken) if self.bookable else 0


def day_slots(
    site: Site, queue: ServiceQueue, day: date, now: datetime, taken: dict[datetime, int]
) -> list[SlotAvailability]:
    """Every slot of the day with its free places; a past, full or out-of-horizon slot is
    listed with 0 free places."""
    capacity = site.settings(queue).appointment_capacity
    slots = []
    for start, end in slot_grid(site, queue, day):
        try:
            bookable_slot(site, queue, start, now)
            bookable = True
        except (RuleViolation, NotFound):
            bookable = False
        slots.append(SlotAvailability(start, end, capacity, taken.get(start, 0), bookable))
    return slots


# -- the slot aggregate ---------------------------------------------------------------------


class AppointmentStatus(StrEnum):
    BOOKED = "booked"
    CHECKED_IN = "checked_in"
    CANCELLED = "cancelled"
    MISSED = "missed"


HOLDS_A_PLACE = frozenset({AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN})


@dataclass(frozen=True)
class Booking:
    appointment_id: UUID
    customer_id: str
    status: AppointmentStatus
    check_in_from: datetime
    check_in_until: datetime
    booked_at: datetime
    ticket_id: UUID | None = None
    ended_at: datetime | None = None
    account_ref: str | None = None
    reminded: frozenset[int] = frozenset()  # the lead times (minutes) reminded already


@dataclass(frozen=True)
class Slot:
    site_id: str | None = None
    queue: ServiceQueue | None = None
    start: datetime | None = None
    end: datetime | None = None
    bookings: dict[UUID, Booking] = field(default_factory=dict)

    @property
    def taken(self) -> int:
        return sum(1 for b in self.bookings.values() if b.status in HOLDS_A_PLACE)

    def booking(self, appointment_id: UUID) -> Booking:
        found = self.bookings.get(appointment_id)
        if found is None:
            raise NotFound(f"appointment {appointment_id} not found")
        return found


@dataclass(frozen=True)
class SlotFacts:
    """What the application gathers for a slot's decision. For a booking: the site (its slot
    grid, opening hours, horizon, closures and the queue's capacity and check-in window) and
    the start of the person's other active booking in that queue on the slot's local day, if
    any. Other commands need none (``NO_FACTS``)."""

    site: Site = field(default_factory=Site)
    other_booking: datetime | None = None


NO_FACTS = SlotFacts()


@dataclass(frozen=True)
class BookAppointment:
    appointment_id: UUID
    site_id: str
    queue: ServiceQueue
    start: datetime
    customer_id: str
    at: datetime
    account_ref: str | None = None


@dataclass(frozen=True)
class CancelAppointment:
    appointment_id: UUID
    at: datetime
    by_staff: bool
    reason: str | None = None


@dataclass(frozen=True)
class CheckInAppointment:
    appointment_id: UUID
    ticket_id: UUID
    customer_id: str | None
    site_id: str
    queue: ServiceQueue
    at: datetime


@dataclass(frozen=True)
class MarkMissed:
    appointment_id: UUID
    at: datetime


@dataclass(frozen=True)
class RemindAppointment:
    """The reminder timer is due: remind the customer ``before_minutes`` ahead. The site's
    name and timezone are facts for the message (the slot does not hold them)."""

    appointment_id: UUID
    before_minutes: int
    at: datetime
    site_name: str
    timezone: str


SlotCommand = (
    BookAppointment | CancelAppointment | CheckInAppointment | MarkMissed | RemindAppointment
)


def next_reminder(
    slot_start: datetime, leads: Sequence[int], after: datetime, shorter_than: int | None = None
) -> tuple[int, datetime] | None:
    """The first reminder still to come: the longest lead time (shorter than
    ``shorter_than``, the one just sent) whose moment is after ``after``; None when none is
    left (booked too late for any, or the last one sent)."""
    for lead in sorted({lead for lead in leads if lead > 0}, reverse=True):
        if shorter_than is not None and lead >= shorter_than:
            continue
        due = slot_start - timedelta(minutes=lead)
        if due > after:
            return lead, due
    return None


def decide_slot(slot: Slot, facts: SlotFacts, command: SlotCommand) -> list[EventPayload]:
    match command:
        case BookAppointment():
            return _decide_booking(slot, facts, command)
        case CancelAppointment():
            booking = slot.booking(command.appointment_id)
            _require_booked(booking, "cancel")
            assert slot.start is not None
            if not command.by_staff and command.at >= slot.start:
                raise RuleViolation(
                    "the slot has started: it can no longer be cancelled online; "
                    "check in, or ask the reception"
                )
            return [
                AppointmentCancelled(
                    appointment_id=booking.appointment_id,
                    site_id=slot.site_id or "",
                    queue=slot.queue,  # type: ignore[arg-type]
                    slot_start=slot.start,
                    reason=command.reason,
                    cancelled_at=command.at,
                    customer_id=booking.customer_id,  # whose key seals the reason
                )
            ]
        case CheckInAppointment():
            booking = slot.booking(command.appointment_id)
            _require_booked(booking, "check in with")
            if command.customer_id != booking.customer_id:
                raise RuleViolation("this appointment is booked for another person")
            if command.site_id != slot.site_id or command.queue is not slot.queue:
                raise RuleViolation(f"this appointment is for {slot.queue} at {slot.site_id}")
            if command.at < booking.check_in_from:
                raise RuleViolation(
                    f"too early for this appointment: check in from "
                    f"{booking.check_in_from.isoformat()}"
                )
            if command.at > booking.check_in_until:
                raise RuleViolation(
                    f"this appointment's window ended at {booking.check_in_until.isoformat()}: "
                    "take a walk-in ticket or book again"
                )
            assert slot.start is not None
            return [
                AppointmentCheckedIn(
                    appointment_id=booking.appointment_id,
                    site_id=slot.site_id or "",
                    queue=slot.queue,  # type: ignore[arg-type]
                    slot_start=slot.start,
                    ticket_id=command.ticket_id,
                    checked_in_at=command.at,
                )
            ]
        case MarkMissed():
            booking = slot.booking(command.appointment_id)
            if booking.status is not AppointmentStatus.BOOKED:
                return []  # checked in or cancelled meanwhile: the timer is stale
            if command.at < booking.check_in_until:
                return []
            assert slot.start is not None
            return [
                AppointmentMissed(
                    appointment_id=booking.appointment_id,
                    site_id=slot.site_id or "",
                    queue=slot.queue,  # type: ignore[arg-type]
                    slot_start=slot.start,
                    check_in_until=booking.check_in_until,
                    missed_at=command.at,
                )
            ]
        case RemindAppointment():
            return _decide_reminder(slot, command)
    raise TypeError(f"unknown command {command!r}")


def _decide_reminder(slot: Slot, command: RemindAppointment) -> list[EventPayload]:
    """A reminder only for a booking still booked, before its slot starts, once per lead
    time: a cancelled, checked-in or missed appointment, or a stale timer, gets nothing."""
    booking = slot.booking(command.appointment_id)
    assert slot.start is not None
    assert slot.end is not None
    if booking.status is not AppointmentStatus.BOOKED or command.at >= slot.start:
        return []
    if command.before_minutes in booking.reminded:
        return []
    return [
        AppointmentReminderDue(
            appointment_id=booking.appointment_id,
            site_id=slot.site_id or "",
            site_name=command.site_name,
            timezone=command.timezone,
            queue=slot.queue,  # type: ignore[arg-type]
            slot_start=slot.start,
            slot_end=slot.end,
            customer_id=booking.customer_id,
            account_ref=booking.account_ref,
            before_minutes=command.before_minutes,
            due_at=command.at,
        )
    ]


def _decide_booking(slot: Slot, facts: SlotFacts, command: BookAppointment) -> list[EventPayload]:
    """Every booking rule: a bookable slot of the site (``bookable_slot``), one booking per
    person, queue and local day, one place per person in a slot, and the slot's capacity."""
    site, queue = facts.site, command.queue
    start, end = bookable_slot(site, queue, command.start, command.at)
    if facts.other_booking is not None:
        local = facts.other_booking.astimezone(site.zone)
        raise RuleViolation(
            f"this person already has an appointment in {queue} at {local.isoformat()}: "
            "one at a time per queue and day (cancel it to book another)"
        )
    if command.appointment_id in slot.bookings:
        raise RuleViolation(f"appointment {command.appointment_id} was already booked")
    if any(
        b.customer_id == command.customer_id and b.status in HOLDS_A_PLACE
        for b in slot.bookings.values()
    ):
        raise RuleViolation("this person already holds a place in this slot")
    settings = site.settings(queue)
    capacity = settings.appointment_capacity
    if slot.taken >= capacity:
        raise RuleViolation(
            f"the slot at {start.isoformat()} is full "
            f"({capacity} of {capacity} places booked): pick another"
        )
    return [
        AppointmentBooked(
            appointment_id=command.appointment_id,
            site_id=command.site_id,
            queue=queue,
            slot_start=start,
            slot_end=end,
            customer_id=command.customer_id,
            capacity=capacity,
            places_left=capacity - slot.taken - 1,
            check_in_from=start - timedelta(minutes=settings.appointment_early_minutes),
            check_in_until=end + timedelta(minutes=settings.appointment_grace_minutes),
            booked_at=command.at,
            account_ref=command.account_ref,
        )
    ]


def _require_booked(booking: Booking, action: str) -> None:
    if booking.status is not AppointmentStatus.BOOKED:
        raise RuleViolation(f"cannot {action} an appointment that is {booking.status.value}")


def evolve_slot(slot: Slot, event: EventPayload) -> Slot:
    match event:
        case AppointmentBooked():
            booking = Booking(
                appointment_id=event.appointment_id,
                customer_id=event.customer_id,
                status=AppointmentStatus.BOOKED,
                check_in_from=event.check_in_from,
                check_in_until=event.check_in_until,
                booked_at=event.booked_at,
                account_ref=event.account_ref,
            )
            return replace(
                slot,
                site_id=event.site_id,
                queue=event.queue,
                start=event.slot_start,
                end=event.slot_end,
                bookings={**slot.bookings, event.appointment_id: booking},
            )
        case AppointmentCancelled():
            return _set(slot, event.appointment_id, AppointmentStatus.CANCELLED, event.cancelled_at)
        case AppointmentCheckedIn():
            slot = _set(
                slot, event.appointment_id, AppointmentStatus.CHECKED_IN, event.checked_in_at
            )
            booking = replace(slot.bookings[event.appointment_id], ticket_id=event.ticket_id)
            return replace(slot, bookings={**slot.bookings, event.appointment_id: booking})
        case AppointmentMissed():
            return _set(slot, event.appointment_id, AppointmentStatus.MISSED, event.missed_at)
        case AppointmentReminderDue():
            reminded = slot.bookings[event.appointment_id]
            reminded = replace(reminded, reminded=reminded.reminded | {event.before_minutes})
            return replace(slot, bookings={**slot.bookings, event.appointment_id: reminded})
    return slot


def _set(slot: Slot, appointment_id: UUID, status: AppointmentStatus, at: datetime) -> Slot:
    booking = replace(slot.bookings[appointment_id], status=status, ended_at=at)
    return replace(slot, bookings={**slot.bookings, appointment_id: booking})


def appointment_ref(slot: Slot, appointment_id: UUID) -> AppointmentRef:
    """What the ticket carries: the slot, its end extended by the grace window (routing serves
    the visitor ahead of walk-ins within it)."""
    booking = slot.booking(appointment_id)
    assert slot.start is not None
    return AppointmentRef(
        appointment_id=appointment_id, slot_start=slot.start, slot_end=booking.check_in_until
    )


SLOT = AggregateType[Slot]("slot", Slot, evolve_slot)
