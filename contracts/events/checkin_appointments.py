"""Appointments: bookable slots per site and queue, with a capacity.

Published by the check-in service on ``frontdesk.checkin.appointments``, keyed by the slot's
stream id ``slot-<site_id>-<queue>-<start, UTC, YYYYMMDDTHHMMZ>``. A slot is one aggregate that
holds all its bookings, so two concurrent bookings of its last place conflict on one stream and
exactly one wins. An appointment's life: booked -> (reminded before it starts) -> checked in (a
ticket was issued for it) | cancelled | missed (not checked in by the end of the slot's grace
window; the place is released).

Only ids travel here (the customer id, the account ref, the ticket id): no name, phone or
free text.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import AwareDatetime, Field

from contracts.base import EventPayload, PersonalData
from contracts.fields import FreeText200, Identifier
from contracts.registry import REGISTRY
from contracts.topics import TopicSpec, register_topic
from contracts.vocabulary import ServiceQueue

CHECKIN_APPOINTMENTS = register_topic(
    TopicSpec(
        name="frontdesk.checkin.appointments",
        producer="checkin",
        stream_type="slot",
        description="Every change of an appointment slot: booked, cancelled, checked in, missed.",
    )
)


@REGISTRY.event("checkin.appointment_booked", version=1, topic=CHECKIN_APPOINTMENTS)
class AppointmentBooked(EventPayload):
    """A place in a slot was booked for a customer (by themself, or by staff for them). A
    visitor checking in within the slot's window is served ahead of walk-ins."""

    appointment_id: UUID
    site_id: str
    queue: ServiceQueue
    slot_start: AwareDatetime
    slot_end: AwareDatetime = Field(description="End of the slot (without the grace window).")
    customer_id: str = Field(description="Id of the customer the appointment is for.")
    capacity: int = Field(ge=1, description="Places in the slot when it was booked.")
    places_left: int = Field(ge=0, description="Places left in the slot after this booking.")
    check_in_from: AwareDatetime = Field(description="Earliest check-in (early allowance).")
    check_in_until: AwareDatetime = Field(
        description="Latest check-in: the slot's end plus its grace window; then it is missed."
    )
    booked_at: AwareDatetime
    account_ref: Identifier | None = Field(
        default=None,
        description="Platform account the appointment is about, when the booking named it: "
        "the customer is reminded through that account's message preferences. Absent on "
        "bookings made before check-in wrote it (and then no reminder is sent).",
    )


@REGISTRY.event("checkin.appointment_cancelled", version=1, topic=CHECKIN_APPOINTMENTS)
class AppointmentCancelled(EventPayload):
    """The appointment was cancelled; its place is free again. The reason is free text (the
    customer's or the reception's words) that may speak of the person: it is sealed under the
    customer's key (events written before it was sealed read as written)."""

    data_subject = ("customer", "customer_id")

    appointment_id: UUID
    site_id: str
    queue: ServiceQueue
    slot_start: AwareDatetime
    reason: FreeText200 | None = PersonalData(
        "Why the appointment was cancelled, in the customer's or staff's words.", default=None
    )
    cancelled_at: AwareDatetime
    customer_id: str | None = Field(
        default=None, description="The customer it was booked for: whose key seals the reason."
    )

    @classmethod
    def data_subject_of(cls, payload: dict[str, Any]) -> str | None:
        """``customer:<id>``; before producers named the customer, the appointment's own."""
        if payload.get("customer_id"):
            return f"customer:{payload['customer_id']}"
        return f"appointment:{payload['appointment_id']}"


@REGISTRY.event("checkin.appointment_reminder_due", version=1, topic=CHECKIN_APPOINTMENTS)
class AppointmentReminderDue(EventPayload):
    """A booked appointment starts in ``before_minutes``: the customer is to be reminded
    (notifications sends the message, in their language, on their channels). Appended by the
    appointment's reminder timer only while the appointment is still booked and its slot has
    not started, at most once per appointment and lead time: a cancelled, checked-in or
    rescheduled appointment gets no reminder (a rescheduled one's new appointment gets its
    own)."""

    appointment_id: UUID
    site_id: str
    site_name: str = Field(max_length=200, description="The service centre's name.")
    timezone: str = Field(max_length=64, description="IANA timezone of the site.")
    queue: ServiceQueue
    slot_start: AwareDatetime
    slot_end: AwareDatetime
    customer_id: str = Field(description="Id of the customer the appointment is for.")
    account_ref: Identifier | None = Field(
        default=None, description="The booking's account, whose preferences reach the customer."
    )
    before_minutes: int = Field(ge=1, le=7 * 24 * 60, description="Lead time of this reminder.")
    due_at: AwareDatetime


@REGISTRY.event("checkin.appointment_checked_in", version=1, topic=CHECKIN_APPOINTMENTS)
class AppointmentCheckedIn(EventPayload):
    """The booked visitor arrived within the slot's window and got a ticket (whose
    ``ticket_issued.appointment`` names this appointment)."""

    appointment_id: UUID
    site_id: str
    queue: ServiceQueue
    slot_start: AwareDatetime
    ticket_id: UUID
    checked_in_at: AwareDatetime


@REGISTRY.event("checkin.appointment_missed", version=1, topic=CHECKIN_APPOINTMENTS)
class AppointmentMissed(EventPayload):
    """Nobody checked in for the appointment by the end of the slot's grace window: the place
    is released."""

    appointment_id: UUID
    site_id: str
    queue: ServiceQueue
    slot_start: AwareDatetime
    check_in_until: AwareDatetime
    missed_at: AwareDatetime
