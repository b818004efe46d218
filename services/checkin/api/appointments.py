"""HTTP API of appointments: free places per slot, book, cancel, my appointments, the day's
bookings of a site. A customer books and sees only their own appointments (404 for anyone
else's); an agent or supervisor books for a customer. Creating requests honour
Idempotency-Key. Checking in with an appointment is ``POST /tickets`` with ``appointment_id``.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg
from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.fields import Identifier
from contracts.vocabulary import ServiceQueue as Queue
from runtime.auth import STAFF_ROLES, Forbidden, Principal, require_roles
from runtime.commands import IdempotencyKey, command, fingerprint, idempotent
from runtime.errors import NotFound
from runtime.limits import RateLimited
from runtime.service import Runtime, ServiceRuntime
from services.checkin.api.roles import ID, SiteId, ViewerRoles, context_of, require_works_at
from services.checkin.application import appointments
from services.checkin.application.sites import load_site
from services.checkin.projections import appointments as bookings
from services.checkin.wiring import Wiring

router = APIRouter()

AppointmentId = Annotated[UUID, Path(description="Appointment id")]
BookerRoles = require_roles("customer", "agent", "supervisor", "admin")


class SlotView(BaseModel):
    start: AwareDatetime
    end: AwareDatetime
    local_start: str = Field(description="Start in the site's local time (ISO 8601).")
    capacity: int
    booked: int
    free: int = Field(description="Places that can still be booked now (0 when not bookable).")
    bookable: bool = Field(description="False for a started slot or one beyond the horizon.")


class SlotsView(BaseModel):
    site_id: str
    queue: Queue
    date: date
    timezone: str
    slots: list[SlotView]


class BookRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site_id: str = Field(min_length=1, max_length=64, pattern=ID)
    queue: Queue
    slot_start: AwareDatetime = Field(description="Start of the slot, as listed by /slots.")
    customer_id: str | None = Field(
        default=None, max_length=200, description="Staff only: the customer it is for."
    )
    account_ref: Identifier | None = Field(
        default=None,
        description="The platform account the appointment is about (as a ticket's intake "
        "names it): the customer is reminded before it starts through that account's message "
        "preferences (channels, language). Without it, no reminder is sent.",
    )


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(default=None, max_length=200)


class RescheduleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slot_start: AwareDatetime = Field(description="Start of the new slot, as listed by /slots.")


class AppointmentView(BaseModel):
    appointment_id: UUID
    site_id: str
    queue: Queue
    slot_start: AwareDatetime
    slot_end: AwareDatetime
    customer_id: str
    status: str = Field(description="booked | checked_in | cancelled | missed")
    check_in_from: AwareDatetime
    check_in_until: AwareDatetime
    booked_at: AwareDatetime
    ticket_id: UUID | None = None
    ended_at: AwareDatetime | None = None


def _view(row: asyncpg.Record) -> AppointmentView:
    return AppointmentView(**{k: row[k] for k in AppointmentView.model_fields})


async def _visible(
    runtime: ServiceRuntime, principal: Principal, appointment_id: UUID
) -> asyncpg.Record:
    async with runtime.pool.acquire() as conn:
        row = await appointments.find_appointment(conn, appointment_id)
    if row is None or (not principal.is_staff and row["customer_id"] != principal.id):
        raise NotFound(f"appointment {appointment_id} not found")  # no hint that it exists
    return row


@router.get(
    "/sites/{site_id}/queues/{queue}/slots",
    response_model=SlotsView,
    tags=["appointments"],
    summary="Bookable slots and their free places",
)
async def list_slots(
    site_id: SiteId,
    queue: Queue,
    runtime: Runtime,
    principal: Annotated[Principal, ViewerRoles],
    day: Annotated[
        date | None, Query(alias="date", description="Local day; default: today at the site.")
    ] = None,
) -> SlotsView:
    now = runtime.clock.now()
    async with runtime.pool.acquire() as conn:
        the_day, timezone, slots = await appointments.availability(
            conn, runtime.store, site_id, queue, day, now
        )
    return SlotsView(
        site_id=site_id,
        queue=queue,
        date=the_day,
        timezone=timezone,
        slots=[
            SlotView(
                start=slot.start,
                end=slot.end,
                local_start=slot.start.astimezone(ZoneInfo(timezone)).isoformat(),
                capacity=slot.capacity,
                booked=slot.taken,
                free=slot.free,
                bookable=slot.bookable,
            )
            for slot in slots
        ],
    )


@router.post(
    "/appointments",
    status_code=201,
    response_model=AppointmentView,
    tags=["appointments"],
    summary="Book a place in a slot",
    dependencies=[RateLimited("customer")],
)
async def book_appointment(
    body: BookRequest,
    runtime: Runtime,
    wiring: Wiring,
    principal: Annotated[Principal, BookerRoles],
    idempotency_key: IdempotencyKey = None,
) -> object:
    """A customer books for themself; an agent or supervisor for a customer (``customer_id``).
    409 when the slot is full, has started, is outside the opening hours or the horizon, the
    queue takes no appointments, or the person already has one in that queue that day. With
    ``account_ref`` the customer is reminded before the slot (24 h and 2 h by default)."""
    if principal.is_staff:
        if body.customer_id is None:
            raise Forbidden("staff book for a customer: name the customer_id")
        customer_id = body.customer_id
    else:
        if body.customer_id not in (None, principal.id):
            raise Forbidden("customers book only for themselves")
        customer_id = principal.id
    context = context_of(principal)
    appointment_id = uuid.uuid4()

    async def act(conn: asyncpg.Connection) -> tuple[int, Any]:
        row = await appointments.book(
            conn,
            runtime.store,
            appointment_id=appointment_id,
            site_id=body.site_id,
            queue=body.queue,
            start=body.slot_start,
            customer_id=customer_id,
            now=runtime.clock.now(),
            context=context,
            reminders=wiring.settings.appointment_reminders_minutes,
            account_ref=body.account_ref,
        )
        return 201, _view(row)

    return await idempotent(
        runtime.pool, f"book-appointment:{principal.id}", idempotency_key, fingerprint(body), act
    )


@router.get(
    "/appointments/{appointment_id}",
    response_model=AppointmentView,
    tags=["appointments"],
    summary="An appointment",
)
async def get_appointment(
    appointment_id: AppointmentId,
    runtime: Runtime,
    principal: Annotated[Principal, ViewerRoles],
) -> AppointmentView:
    return _view(await _visible(runtime, principal, appointment_id))


@router.post(
    "/appointments/{appointment_id}/cancel",
    response_model=AppointmentView,
    tags=["appointments"],
    summary="Cancel an appointment (frees its place)",
    dependencies=[RateLimited("customer")],
)
async def cancel_appointment(
    appointment_id: AppointmentId,
    body: CancelRequest,
    runtime: Runtime,
    principal: Annotated[Principal, require_roles("customer", "agent", "supervisor", "admin")],
) -> AppointmentView:
    """A customer cancels their own until the slot starts; staff until it is checked in or
    missed."""
    await _visible(runtime, principal, appointment_id)
    context = context_of(principal)
    now = runtime.clock.now()
    row = await command(
        runtime.pool,
        lambda conn: appointments.cancel_appointment(
            conn,
            runtime.store,
            appointment_id,
            by_staff=principal.is_staff,
            reason=body.reason,
            now=now,
            context=context,
        ),
    )
    return _view(row)


@router.post(
    "/appointments/{appointment_id}/reschedule",
    status_code=201,
    response_model=AppointmentView,
    tags=["appointments"],
    summary="Move an appointment to another slot in one step",
    dependencies=[RateLimited("customer")],
)
async def reschedule_appointment(
    appointment_id: AppointmentId,
    body: RescheduleRequest,
    runtime: Runtime,
    wiring: Wiring,
    principal: Annotated[Principal, BookerRoles],
    idempotency_key: IdempotencyKey = None,
) -> object:
    """The booking moves to another slot of the same queue, atomically: the new appointment
    (201) is booked under the booking rules and the old one cancelled ("rescheduled") in the
    same transaction; a 409 (the new slot full or started, the old one no longer cancellable)
    changes nothing, the old place is kept. A customer moves only their own (404 otherwise)."""
    await _visible(runtime, principal, appointment_id)
    context = context_of(principal)
    new_appointment_id = uuid.uuid4()

    async def act(conn: asyncpg.Connection) -> tuple[int, Any]:
        row = await appointments.reschedule(
            conn,
            runtime.store,
            appointment_id,
            new_appointment_id=new_appointment_id,
            start=body.slot_start,
            by_staff=principal.is_staff,
            now=runtime.clock.now(),
            context=context,
            reminders=wiring.settings.appointment_reminders_minutes,
        )
        return 201, _view(row)

    return await idempotent(
        runtime.pool,
        f"reschedule-appointment:{principal.id}:{appointment_id}",
        idempotency_key,
        fingerprint(body),
        act,
    )


@router.get(
    "/customers/me/appointments",
    response_model=list[AppointmentView],
    tags=["appointments"],
    summary="My appointments",
)
async def my_appointments(
    runtime: Runtime, principal: Annotated[Principal, require_roles("customer")]
) -> list[AppointmentView]:
    """The caller's own appointments, latest slot first (at most 50)."""
    async with runtime.pool.acquire() as conn:
        rows = await appointments.customer_appointments(conn, principal.id)
    return [_view(row) for row in rows]


@router.get(
    "/sites/{site_id}/appointments",
    tags=["appointments"],
    summary="The day's appointments at a site (reception)",
)
async def site_appointments(
    site_id: SiteId,
    runtime: Runtime,
    principal: Annotated[Principal, require_roles(*STAFF_ROLES)],
    day: Annotated[date | None, Query(alias="date")] = None,
) -> dict[str, Any]:
    """From the ``appointments`` read model (projected, may lag a moment): each booking of
    the local day with its status, and counts per status."""
    now = runtime.clock.now()
    async with runtime.pool.acquire() as conn:
        site = await load_site(conn, runtime.store, site_id)
        if not site.configured:
            raise NotFound(f"no such site {site_id}")
        require_works_at(principal, site, f"no such site {site_id}")  # an organization's
        the_day = day or site.local_day(now)
        rows = await bookings.day_bookings(
            conn,
            site_id,
            _local_midnight(the_day, site.timezone),
            _local_midnight(the_day + timedelta(days=1), site.timezone),
        )
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return {
        "site_id": site_id,
        "date": the_day.isoformat(),
        "counts": counts,
        "appointments": [dict(row) for row in rows],
    }


def _local_midnight(day: date, timezone: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone))
