"""The ``appointments`` read model: the bookings of a site's day for the reception
(``GET /sites/{site_id}/appointments``), projected from ``frontdesk.checkin.appointments``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from contracts.events.checkin_appointments import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentCheckedIn,
    AppointmentMissed,
    AppointmentReminderDue,
)
from runtime.consumer import EventHandler, ReceivedEvent

TABLES = ("appointments",)


async def on_booked(conn: asyncpg.Connection, event: ReceivedEvent[AppointmentBooked]) -> None:
    e = event.payload
    await conn.execute(
        """INSERT INTO appointments (appointment_id, site_id, queue, slot_start, slot_end,
               customer_id, status, check_in_until, booked_at)
           VALUES ($1, $2, $3, $4, $5, $6, 'booked', $7, $8)
           ON CONFLICT (appointment_id) DO NOTHING""",
        e.appointment_id,
        e.site_id,
        e.queue.value,
        e.slot_start,
        e.slot_end,
        e.customer_id,
        e.check_in_until,
        e.booked_at,
    )


async def on_cancelled(
    conn: asyncpg.Connection, event: ReceivedEvent[AppointmentCancelled]
) -> None:
    e = event.payload
    await conn.execute(
        "UPDATE appointments SET status = 'cancelled', ended_at = $2 WHERE appointment_id = $1",
        e.appointment_id,
        e.cancelled_at,
    )


async def on_checked_in(
    conn: asyncpg.Connection, event: ReceivedEvent[AppointmentCheckedIn]
) -> None:
    e = event.payload
    await conn.execute(
        """UPDATE appointments SET status = 'checked_in', ended_at = $2, ticket_id = $3
           WHERE appointment_id = $1""",
        e.appointment_id,
        e.checked_in_at,
        e.ticket_id,
    )


async def on_missed(conn: asyncpg.Connection, event: ReceivedEvent[AppointmentMissed]) -> None:
    e = event.payload
    await conn.execute(
        "UPDATE appointments SET status = 'missed', ended_at = $2 WHERE appointment_id = $1",
        e.appointment_id,
        e.missed_at,
    )


async def on_reminded(
    conn: asyncpg.Connection, event: ReceivedEvent[AppointmentReminderDue]
) -> None:
    e = event.payload
    await conn.execute(
        """UPDATE appointments SET reminded_at = $2
           WHERE appointment_id = $1 AND (reminded_at IS NULL OR reminded_at < $2)""",
        e.appointment_id,
        e.due_at,
    )


async def day_bookings(
    conn: asyncpg.Connection, site_id: str, start: datetime, end: datetime
) -> list[asyncpg.Record]:
    """The bookings of a site whose slot starts in [start, end), in slot order."""
    return list(
        await conn.fetch(
            """SELECT appointment_id, queue, slot_start, slot_end, customer_id, status, ticket_id,
                   reminded_at
               FROM appointments WHERE site_id = $1 AND slot_start >= $2 AND slot_start < $3
               ORDER BY slot_start, appointment_id""",
            site_id,
            start,
            end,
        )
    )


handlers: dict[type[Any], EventHandler] = {
    AppointmentBooked: on_booked,
    AppointmentCancelled: on_cancelled,
    AppointmentCheckedIn: on_checked_in,
    AppointmentMissed: on_missed,
    AppointmentReminderDue: on_reminded,
}
