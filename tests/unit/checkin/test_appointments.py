"""Appointments, given/when/then: the slot grid (opening hours, time zone, DST), bookable slots
(past, outside hours, horizon, closed queue), capacity, cancel rules, check-in window, missed;
plus the walk-in screening step and the phone tie of the virtual queue."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from contracts.base import EventPayload
from contracts.events.checkin_appointments import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentCheckedIn,
    AppointmentMissed,
    AppointmentReminderDue,
)
from contracts.events.checkin_sites import OpeningHours, QueueSettings, SiteConfigured
from contracts.vocabulary import Channel, ServiceQueue
from runtime.errors import NotFound, RuleViolation
from runtime.settings import UnsafeSettings
from services.checkin.config import CheckinSettings, phone_ref
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
    SlotFacts,
    appointment_ref,
    bookable_slot,
    day_slots,
    decide_slot,
    next_reminder,
    slot_grid,
    slot_stream,
)
from services.checkin.domain.sites import SITE, Site
from services.checkin.domain.tickets import IssueTicket, Ticket, TicketFacts, decide
from tests.unit.checkin.fixtures import intake

pytestmark = pytest.mark.unit

Q = ServiceQueue.WALLET_PAYMENTS
SH = "Asia/Shanghai"
A1 = UUID("00000000-0000-4000-8000-0000000000a1")
A2 = UUID("00000000-0000-4000-8000-0000000000a2")
A3 = UUID("00000000-0000-4000-8000-0000000000a3")
TICKET = UUID("00000000-0000-4000-8000-0000000000f1")
MONDAY = date(2026, 11, 23)
# Monday 2026-11-23, 08:00 in Shanghai (00:00 UTC): before opening
NOW = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


def local(day: date, hh: int, mm: int = 0, zone: str = SH) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def site(
    *,
    zone: str = SH,
    hours: list[OpeningHours] | None = None,
    slot_minutes: int | None = 20,
    capacity: int = 2,
    horizon: int = 14,
) -> Site:
    weekdays = (
        hours
        if hours is not None
        else [OpeningHours(weekday=d, opens=time(9), closes=time(12)) for d in range(5)]
    )
    configured = SiteConfigured(
        site_id="sz-test",
        name="Test",
        timezone=zone,
        opening_hours=weekdays,
        queues=[
            QueueSettings(
                queue=Q,
                appointment_slot_minutes=slot_minutes,
                appointment_capacity=capacity,
                appointment_horizon_days=horizon,
            ),
            QueueSettings(queue=ServiceQueue.GENERAL),
        ],
        configured_at=NOW,
    )
    return SITE.fold([configured])


def book(
    appointment_id: UUID = A1,
    customer: str = "cust-1",
    start: datetime | None = None,
) -> BookAppointment:
    return BookAppointment(
        appointment_id=appointment_id,
        site_id="sz-test",
        queue=Q,
        start=start or local(MONDAY, 10),
        customer_id=customer,
        at=NOW,
    )


def booking(
    slot: Slot, command: BookAppointment, other: datetime | None = None
) -> list[EventPayload]:
    """Decide a booking on the test site (capacity 2, check in 30 min early to 10 min late)."""
    return decide_slot(slot, SlotFacts(site=site(), other_booking=other), command)


def given(*events: EventPayload) -> Slot:
    return SLOT.fold(list(events))


def booked(appointment_id: UUID = A1, customer: str = "cust-1") -> EventPayload:
    [event] = booking(Slot(), book(appointment_id, customer))
    return event


# -- the grid ---------------------------------------------------------------------------------


def test_slots_follow_each_other_within_opening_hours_in_local_time() -> None:
    grid = slot_grid(site(), Q, MONDAY)
    assert len(grid) == 9  # 09:00-12:00, 20 minutes each
    assert grid[0] == (local(MONDAY, 9), local(MONDAY, 9, 20))
    assert grid[-1][1] == local(MONDAY, 12)


def test_only_whole_slots_that_end_by_closing_time() -> None:
    hours = [OpeningHours(weekday=0, opens=time(9), closes=time(9, 50))]
    assert len(slot_grid(site(hours=hours), Q, MONDAY)) == 2


def test_no_slots_on_a_closed_day_or_for_a_queue_without_appointments() -> None:
    assert slot_grid(site(), Q, date(2026, 11, 28)) == []  # Saturday
    assert slot_grid(site(), ServiceQueue.GENERAL, MONDAY) == []
    assert slot_grid(site(), ServiceQueue.MINORS_FAMILY, MONDAY) == []  # not served


def test_a_site_open_around_the_clock_has_slots_from_local_midnight() -> None:
    grid = slot_grid(site(hours=[], slot_minutes=60), Q, MONDAY)
    assert len(grid) == 24
    assert grid[0][0] == local(MONDAY, 0)


def test_the_grid_is_right_across_a_dst_change() -> None:
    # Europe/Berlin leaves summer time on Sunday 2026-10-25: that day has 25 hours
    hours = [OpeningHours(weekday=6, opens=time(0), closes=time(23))]
    grid = slot_grid(
        site(zone="Europe/Berlin", hours=hours, slot_minutes=60), Q, date(2026, 10, 25)
    )
    assert len(grid) == 24  # 00:00 to 23:00 local is 24 real hours on that day
    assert all(end - start == timedelta(hours=1) for start, end in grid)


# -- bookable or not --------------------------------------------------------------------------


def test_a_future_slot_within_hours_and_horizon_is_bookable() -> None:
    assert bookable_slot(site(), Q, local(MONDAY, 10), NOW) == (
        local(MONDAY, 10),
        local(MONDAY, 10, 20),
    )


@pytest.mark.parametrize(
    ("start", "now", "why"),
    [
        (local(MONDAY, 10, 5), NOW, "not the start of a 20-minute slot"),
        (local(MONDAY, 13), NOW, "not the start"),  # after closing
        (local(MONDAY, 8, 40), NOW, "not the start"),  # before opening
        (local(date(2026, 11, 28), 10), NOW, "not the start"),  # Saturday: closed
        (local(MONDAY, 10), local(MONDAY, 10), "already started"),
        (local(MONDAY, 9), local(MONDAY, 10), "already started"),
        (local(date(2026, 12, 8), 10), NOW, "up to 14 days ahead"),
    ],
)
def test_slots_that_cannot_be_booked_say_why(start: datetime, now: datetime, why: str) -> None:
    with pytest.raises(RuleViolation, match=why):
        bookable_slot(site(), Q, start, now)


def test_no_booking_in_a_queue_without_appointments_or_at_an_unknown_site() -> None:
    with pytest.raises(RuleViolation, match="takes no appointments"):
        bookable_slot(site(), ServiceQueue.GENERAL, local(MONDAY, 10), NOW)
    with pytest.raises(NotFound):
        bookable_slot(Site(), Q, local(MONDAY, 10), NOW)


def test_no_booking_on_a_day_the_queue_is_closed() -> None:
    closed = Site(**{**site().__dict__, "closed": frozenset({(Q, MONDAY)})})
    with pytest.raises(RuleViolation, match="closed on 2026-11-23"):
        bookable_slot(closed, Q, local(MONDAY, 10), NOW)


def test_day_slots_show_free_places_and_past_slots_as_not_bookable() -> None:
    now = local(MONDAY, 9, 30)
    slots = day_slots(site(), Q, MONDAY, now, {local(MONDAY, 10): 1, local(MONDAY, 10, 20): 2})
    by_start = {slot.start: slot for slot in slots}
    assert not by_start[local(MONDAY, 9)].bookable
    assert by_start[local(MONDAY, 9)].free == 0
    assert by_start[local(MONDAY, 10)].free == 1
    assert by_start[local(MONDAY, 10, 20)].free == 0
    assert by_start[local(MONDAY, 11)].free == 2


# -- capacity ---------------------------------------------------------------------------------


def test_booking_records_the_window_and_the_places_left() -> None:
    [event] = booking(Slot(), book())
    assert isinstance(event, AppointmentBooked)
    assert event.places_left == 1
    assert event.check_in_from == local(MONDAY, 9, 30)
    assert event.check_in_until == local(MONDAY, 10, 30)


def test_a_full_slot_refuses_the_next_booking() -> None:
    slot = given(booked(A1, "cust-1"), booked(A2, "cust-2"))
    with pytest.raises(RuleViolation, match="is full"):
        booking(slot, book(A3, "cust-3"))


def test_a_cancelled_or_missed_place_is_free_again() -> None:
    slot = given(booked(A1, "cust-1"), booked(A2, "cust-2"))
    cancelled = decide_slot(slot, NO_FACTS, CancelAppointment(A1, NOW, by_staff=False))
    slot = given(booked(A1, "cust-1"), booked(A2, "cust-2"), *cancelled)
    assert slot.taken == 1
    [again] = booking(slot, book(A3, "cust-3"))
    assert isinstance(again, AppointmentBooked)
    assert again.places_left == 0


def test_one_person_one_place_per_slot() -> None:
    with pytest.raises(RuleViolation, match="already holds a place"):
        booking(given(booked(A1, "cust-1")), book(A2, "cust-1"))


def test_booking_decides_the_site_rules_and_one_booking_per_person_queue_and_day() -> None:
    with pytest.raises(RuleViolation, match="not the start"):
        booking(Slot(), book(start=local(MONDAY, 10, 5)))
    with pytest.raises(RuleViolation, match="already has an appointment"):
        booking(Slot(), book(start=local(MONDAY, 11)), other=local(MONDAY, 10))
    with pytest.raises(NotFound):
        decide_slot(Slot(), NO_FACTS, book())


# -- cancel -----------------------------------------------------------------------------------


def test_a_customer_cancels_before_the_slot_starts_staff_until_the_window_ends() -> None:
    slot = given(booked())
    with pytest.raises(RuleViolation, match="has started"):
        decide_slot(slot, NO_FACTS, CancelAppointment(A1, local(MONDAY, 10), by_staff=False))
    [event] = decide_slot(slot, NO_FACTS, CancelAppointment(A1, local(MONDAY, 10), by_staff=True))
    assert isinstance(event, AppointmentCancelled)


def test_cancel_twice_or_an_unknown_appointment() -> None:
    slot = given(
        booked(), *decide_slot(given(booked()), NO_FACTS, CancelAppointment(A1, NOW, False))
    )
    with pytest.raises(RuleViolation, match="that is cancelled"):
        decide_slot(slot, NO_FACTS, CancelAppointment(A1, NOW, by_staff=True))
    with pytest.raises(NotFound):
        decide_slot(slot, NO_FACTS, CancelAppointment(A2, NOW, by_staff=True))


# -- check-in window and missed -------------------------------------------------------------


def check_in(at: datetime, customer: str = "cust-1", queue: ServiceQueue = Q) -> CheckInAppointment:
    return CheckInAppointment(A1, TICKET, customer, "sz-test", queue, at)


@pytest.mark.parametrize("at", [local(MONDAY, 9, 30), local(MONDAY, 10, 5), local(MONDAY, 10, 30)])
def test_check_in_within_early_allowance_to_grace(at: datetime) -> None:
    [event] = decide_slot(given(booked()), NO_FACTS, check_in(at))
    assert isinstance(event, AppointmentCheckedIn)
    assert event.ticket_id == TICKET
    slot = given(booked(), event)
    assert slot.bookings[A1].status is AppointmentStatus.CHECKED_IN
    assert slot.taken == 1  # a checked-in visitor keeps the place
    ref = appointment_ref(slot, A1)
    assert (ref.slot_start, ref.slot_end) == (local(MONDAY, 10), local(MONDAY, 10, 30))


@pytest.mark.parametrize(
    ("command", "why"),
    [
        (check_in(local(MONDAY, 9, 29)), "too early"),
        (check_in(local(MONDAY, 10, 31)), "window ended"),
        (check_in(local(MONDAY, 10), customer="cust-2"), "another person"),
        (check_in(local(MONDAY, 10), queue=ServiceQueue.GENERAL), "is for wallet_payments"),
    ],
)
def test_check_in_refusals_say_why(command: CheckInAppointment, why: str) -> None:
    with pytest.raises(RuleViolation, match=why):
        decide_slot(given(booked()), NO_FACTS, command)


def test_missed_only_after_the_grace_window_and_only_when_still_booked() -> None:
    slot = given(booked())
    assert decide_slot(slot, NO_FACTS, MarkMissed(A1, local(MONDAY, 10, 29))) == []
    [event] = decide_slot(slot, NO_FACTS, MarkMissed(A1, local(MONDAY, 10, 30)))
    assert isinstance(event, AppointmentMissed)
    missed = given(booked(), event)
    assert missed.taken == 0
    checked = given(booked(), *decide_slot(slot, NO_FACTS, check_in(local(MONDAY, 10))))
    assert decide_slot(checked, NO_FACTS, MarkMissed(A1, local(MONDAY, 11))) == []  # stale timer
    with pytest.raises(RuleViolation, match="that is missed"):
        decide_slot(missed, NO_FACTS, check_in(local(MONDAY, 10, 20)))


def test_the_slot_stream_is_keyed_by_site_queue_and_utc_start() -> None:
    assert (
        slot_stream("sz-test", Q, local(MONDAY, 10))
        == "slot-sz-test-wallet_payments-20261123T0200Z"
    )


# -- walk-in screening ------------------------------------------------------------------------


def issue(channel: Channel, required: bool, by: str | None) -> list[EventPayload]:
    command = IssueTicket(
        ticket_id=TICKET,
        site_id="sz-test",
        queue=Q,
        sequence=1,
        channel=channel,
        # the virtual queue is for signed-in customers
        customer_id="cust-fake-0001" if channel is Channel.VIRTUAL_QUEUE else None,
        intake=intake(),
        at=NOW,
        screening_confirmed_by=by,
    )
    facts = TicketFacts(site=Site(screening_required=required))
    return decide(Ticket(), facts, command)


def test_a_walk_in_needs_the_screening_confirmed_where_the_site_requires_it() -> None:
    with pytest.raises(RuleViolation, match="security screening"):
        issue(Channel.WALK_IN, True, None)
    [event] = issue(Channel.WALK_IN, True, "staff-reception-07")
    assert event.screening_confirmed_by == "staff-reception-07"  # type: ignore[attr-defined]
    assert event.screened_at == NOW  # type: ignore[attr-defined]


def test_remote_channels_need_no_screening() -> None:
    [event] = issue(Channel.VIRTUAL_QUEUE, True, None)
    assert event.screening_confirmed_by is None  # type: ignore[attr-defined]
    [legacy] = issue(Channel.WALK_IN, False, None)
    assert legacy.screened_at is None  # type: ignore[attr-defined]


# -- the phone tie ----------------------------------------------------------------------------


def test_the_phone_becomes_a_keyed_hash_never_the_number() -> None:
    ref = phone_ref("k" * 32, "+8613800000000")
    assert ref.startswith("hmac:")
    assert "13800000000" not in ref
    assert ref == phone_ref("k" * 32, "+8613800000000")
    assert ref != phone_ref("other-key" * 4, "+8613800000000")
    assert ref != phone_ref("k" * 32, "+8613800000001")
    with pytest.raises(ValueError, match=r"E\.164"):
        phone_ref("k" * 32, "13800000000")


def test_production_refuses_the_development_phone_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDESK_ENV", "production")
    monkeypatch.delenv("FRONTDESK_CHECKIN_PHONE_KEY", raising=False)
    with pytest.raises(UnsafeSettings, match="PHONE_KEY"):
        CheckinSettings()
    monkeypatch.setenv("FRONTDESK_CHECKIN_PHONE_KEY", "a-real-secret-of-at-least-32-chars!!")
    assert CheckinSettings().env == "production"


# -- reminders --------------------------------------------------------------------------------

LEADS = (24 * 60, 2 * 60)


def remind(lead: int, at: datetime) -> RemindAppointment:
    return RemindAppointment(A1, lead, at, site_name="Test centre", timezone=SH)


def test_the_reminders_still_ahead_at_booking_come_longest_first() -> None:
    start = local(MONDAY, 10)
    day_before = start - timedelta(days=2)
    assert next_reminder(start, LEADS, day_before) == (1440, start - timedelta(hours=24))
    # after the 24-hour one: the 2-hour one; after that: none
    assert next_reminder(start, LEADS, start - timedelta(hours=24), 1440) == (
        120,
        start - timedelta(hours=2),
    )
    assert next_reminder(start, LEADS, start - timedelta(hours=2), 120) is None
    # booked five hours ahead: only the 2-hour one; booked within two hours: none
    assert next_reminder(start, LEADS, start - timedelta(hours=5)) == (
        120,
        start - timedelta(hours=2),
    )
    assert next_reminder(start, LEADS, start - timedelta(minutes=90)) is None
    assert next_reminder(start, (), day_before) is None


def test_a_booked_appointment_is_reminded_once_per_lead_before_it_starts() -> None:
    [booked_event] = booking(
        Slot(),
        BookAppointment(A1, "sz-test", Q, local(MONDAY, 10), "cust-1", NOW, account_ref="acct-1"),
    )
    slot = given(booked_event)
    at = local(MONDAY, 8)
    [event] = decide_slot(slot, NO_FACTS, remind(120, at))
    assert isinstance(event, AppointmentReminderDue)
    assert (event.account_ref, event.customer_id, event.before_minutes) == ("acct-1", "cust-1", 120)
    assert (event.slot_start, event.slot_end, event.due_at) == (
        local(MONDAY, 10),
        local(MONDAY, 10, 20),
        at,
    )
    assert (event.site_name, event.timezone, event.queue) == ("Test centre", SH, Q)
    reminded = given(booked_event, event)
    assert decide_slot(reminded, NO_FACTS, remind(120, at)) == []  # the timer fired twice
    assert reminded.taken == 1  # a reminder changes no place


def test_no_reminder_for_a_cancelled_checked_in_or_started_appointment() -> None:
    slot = given(booked())
    cancelled = given(
        booked(), *decide_slot(slot, NO_FACTS, CancelAppointment(A1, NOW, by_staff=False))
    )
    assert decide_slot(cancelled, NO_FACTS, remind(120, local(MONDAY, 8))) == []
    checked = given(booked(), *decide_slot(slot, NO_FACTS, check_in(local(MONDAY, 9, 40))))
    assert decide_slot(checked, NO_FACTS, remind(120, local(MONDAY, 9, 45))) == []
    assert decide_slot(slot, NO_FACTS, remind(120, local(MONDAY, 10))) == []  # too late
