"""Appointment reminders (checkin.appointment_reminder_due): what the message says and when
it goes. Pure, no I/O.

A reminder is a service message (about the person's own appointment), so a marketing opt-out
never blocks it. It respects the person's quiet hours where it can: due in them, it is held
until they end, if that is still ``REMINDER_MARGIN`` before the appointment starts; otherwise
it goes at once (better an early reminder than none for an appointment the person is about to
travel to). The time is shown in the site's timezone, where the appointment takes place.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from contracts.events.checkin_appointments import AppointmentReminderDue
from contracts.events.notifications import HoursWindow
from services.notifications.domain.hours import DEFAULT_QUIET, Availability

REMINDER_MARGIN = timedelta(minutes=30)
DEFAULT_LANGUAGE = "zh-CN"  # a person who set no language: the service centres' own


def reminder_variables(due: AppointmentReminderDue) -> dict[str, str]:
    """The ``appointment_reminder`` template's variables: when, which service, where."""
    return {
        "start": due.slot_start.isoformat(),
        "queue": due.queue.value,
        "site": due.site_name,
    }


def reminder_not_before(
    due: AppointmentReminderDue, quiet: HoursWindow | None, timezone: str | None
) -> datetime | None:
    """When a reminder due now may go: None (at once) outside the person's quiet hours (their
    own, else the default 21:00-08:00, in their timezone, else the site's), or when holding it
    would bring it closer than ``REMINDER_MARGIN`` to the start; else the end of the quiet
    hours."""
    hours = Availability(timezone=timezone or due.timezone, quiet=quiet or DEFAULT_QUIET)
    if not hours.is_quiet(due.due_at):
        return None
    allowed = hours.allowed_intervals(due.due_at, due.slot_start - REMINDER_MARGIN)
    return allowed[0][0] if allowed else None
