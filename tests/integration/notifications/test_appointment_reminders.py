"""Appointment reminders end to end, over HTTP and real Kafka: check-in's reminder timer
appends ``checkin.appointment_reminder_due`` once for a booked appointment, and
notifications sends the customer one ``appointment_reminder`` in their language with the time
at the site; a cancelled appointment gets none, a rescheduled one only for its new time. A
reminder held for the person's quiet hours is dropped, unsent, once the person is erased.

Time: the services' shared clock is moved to just after the 2-hour reminder of the later slot
(the 24-hour one was already past at booking), and the timers are fired; nothing waits for
real time."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from contracts.events.notifications import MessageChannel
from runtime.privacy import TOKEN_PREFIX
from runtime.scheduler import OffsetClock
from services.notifications.domain.messages import RECIPIENT_ERASED
from services.notifications.domain.templates import format_time
from tests.conftest import auth, eventually
from tests.integration.checkin.helpers import Desk
from tests.integration.checkin.test_appointments import QUEUE, SH, appointment_queue
from tests.integration.checkin.test_reschedule import two_slots
from tests.integration.conftest import RunningService
from tests.integration.kafka_tools import settled
from tests.integration.notifications.conftest import Sandboxes
from tests.integration.notifications.test_delivery import fake_phone

pytestmark = pytest.mark.integration

Stack = dict[str, RunningService]
LEAD = timedelta(
    hours=2
)  # the shorter default lead (FRONTDESK_CHECKIN_APPOINTMENT_REMINDERS_MINUTES)


async def two_slots_after_the_reminder_lead(
    checkin: RunningService, desk: Desk, clock: OffsetClock
) -> tuple[str, str]:
    """Two consecutive bookable slots starting more than 2 h 10 min from now (and less than
    24 hours: only their 2-hour reminder is still ahead)."""
    first, second = await two_slots(checkin, desk, clock, after=LEAD + timedelta(minutes=10))
    assert datetime.fromisoformat(second) - clock.now() < timedelta(hours=23)
    return first, second


async def a_customer(
    stack: Stack, token: Callable[..., str], clock: OffsetClock
) -> tuple[str, dict[str, str]]:
    """A customer and their account, whose preferences say: SMS, English, and quiet hours
    far from the next hours (so that the reminder is not held for them)."""
    sub, account = f"cust-{uuid.uuid4().hex[:8]}", f"acct-{uuid.uuid4().hex[:8]}"
    quiet_from = (clock.now() + timedelta(hours=8)).astimezone(SH)
    quiet_until = quiet_from + timedelta(minutes=1)
    prefs = await stack["notifications"].client.put(
        f"/recipients/{account}/preferences",
        json={
            "channels": ["sms"],
            "phone": fake_phone(),
            "language": {"tag": "en"},
            "timezone": "Asia/Shanghai",
            "quiet_hours": {"start": f"{quiet_from:%H:%M}", "end": f"{quiet_until:%H:%M}"},
        },
        headers=auth(token("agent")),
    )
    assert prefs.status_code == 200, prefs.text
    return account, auth(token("customer", sub=sub))


async def book(
    checkin: RunningService, headers: dict[str, str], site: str, start: str, account: str
) -> Any:
    booked = await checkin.client.post(
        "/appointments",
        json={"site_id": site, "queue": QUEUE, "slot_start": start, "account_ref": account},
        headers=headers,
    )
    assert booked.status_code == 201, booked.text
    return booked.json()


async def reminders_of(checkin: RunningService, appointments: list[str]) -> list[str]:
    rows = await checkin.runtime.pool.fetch(
        """SELECT envelope->'payload'->>'appointment_id' AS appointment FROM events
           WHERE event_type = 'checkin.appointment_reminder_due'
             AND envelope->'payload'->>'appointment_id' = ANY($1::text[])
           ORDER BY position""",
        appointments,
    )
    return [row["appointment"] for row in rows]


async def reminder_messages(stack: Stack, token: Callable[..., str], account: str) -> list[Any]:
    answer = await stack["notifications"].client.get(
        "/notifications",
        params={"recipient_ref": f"account:{account}"},
        headers=auth(token("agent")),
    )
    assert answer.status_code == 200, answer.text
    return [m for m in answer.json() if m["kind"] == "appointment_reminder"]


async def test_a_booked_appointment_is_reminded_once_a_cancelled_or_moved_one_not_at_its_old_time(
    stack: Stack, token: Callable[..., str], clock: OffsetClock, sandboxes: Sandboxes
) -> None:
    checkin = stack["checkin"]
    desk = Desk(checkin.client, token)
    await desk.configure(queues=[appointment_queue(capacity=3)], desks=1)
    first, second = await two_slots_after_the_reminder_lead(checkin, desk, clock)
    (kept_account, kept), (moved_account, mover), (cancelled_account, canceller) = [
        await a_customer(stack, token, clock) for _ in range(3)
    ]
    kept_booking = await book(checkin, kept, desk.site_id, first, kept_account)
    old_booking = await book(checkin, mover, desk.site_id, first, moved_account)
    dropped = await book(checkin, canceller, desk.site_id, first, cancelled_account)
    cancelled = await checkin.client.post(
        f"/appointments/{dropped['appointment_id']}/cancel", json={}, headers=canceller
    )
    assert cancelled.status_code == 200, cancelled.text
    moved = await checkin.client.post(
        f"/appointments/{old_booking['appointment_id']}/reschedule",
        json={"slot_start": second},
        headers=mover,
    )
    assert moved.status_code == 201, moved.text
    new_booking = moved.json()
    everyone = [
        kept_booking["appointment_id"],
        old_booking["appointment_id"],
        dropped["appointment_id"],
        new_booking["appointment_id"],
    ]

    # nothing is due yet
    await checkin.timers.fire_due()
    assert await reminders_of(checkin, everyone) == []

    # just after the 2-hour reminder of the later slot (and so of the earlier one): fire
    clock.advance(datetime.fromisoformat(second) - LEAD + timedelta(seconds=5) - clock.now())
    await checkin.timers.fire_due()
    await checkin.timers.fire_due()  # a second pass finds nothing more to do
    reminded = await reminders_of(checkin, everyone)
    assert sorted(reminded) == sorted(
        [kept_booking["appointment_id"], new_booking["appointment_id"]]
    )

    # notifications sends each reminder once, in English, with the time at the site
    async def sent(account: str) -> Any:
        messages = await reminder_messages(stack, token, account)
        return messages if messages and all(m["status"] == "sent" for m in messages) else None

    for account, start in ((kept_account, first), (moved_account, second)):
        [message] = await eventually(lambda account=account: sent(account))  # type: ignore[misc]
        [sms] = await sandboxes.providers[MessageChannel.SMS].amessages(message["notification_id"])
        local = format_time(datetime.fromisoformat(start).astimezone(SH), "en")
        assert sms["body"].startswith(
            f"Reminder: your appointment for wallet and payments at Test service center is on "
            f"{local} (local time)."
        ), sms["body"]

    # once, even after everything settled and the timers were asked again
    await checkin.timers.fire_due()
    await settled(stack)
    assert sorted(await reminders_of(checkin, everyone)) == sorted(reminded)
    assert len(await reminder_messages(stack, token, kept_account)) == 1
    assert len(await reminder_messages(stack, token, moved_account)) == 1
    assert await reminder_messages(stack, token, cancelled_account) == []


async def test_a_reminder_held_for_quiet_hours_is_dropped_once_the_person_is_erased(
    stack: Stack, token: Callable[..., str], clock: OffsetClock, sandboxes: Sandboxes
) -> None:
    """The message's variables are sealed under the person's key: once they are erased, the
    queued reminder has no text and no address left; the sender drops it (failed, saying
    why) instead of failing on it, and the message view shows no text of it."""
    checkin, notifications = stack["checkin"], stack["notifications"]
    desk = Desk(checkin.client, token)
    await desk.configure(queues=[appointment_queue(capacity=1)], desks=1)
    start, _ = await two_slots_after_the_reminder_lead(checkin, desk, clock)
    reminder_at = datetime.fromisoformat(start) - LEAD
    quiet_from = (reminder_at - timedelta(minutes=5)).astimezone(SH)
    quiet_until = (reminder_at + timedelta(minutes=30)).astimezone(SH)
    account, customer = await a_customer(stack, token, clock)
    prefs = await notifications.client.put(
        f"/recipients/{account}/preferences",
        json={
            "channels": ["sms"],
            "phone": fake_phone(),
            "language": {"tag": "de"},
            "timezone": "Asia/Shanghai",
            "quiet_hours": {"start": f"{quiet_from:%H:%M}", "end": f"{quiet_until:%H:%M}"},
        },
        headers=auth(token("agent")),
    )
    assert prefs.status_code == 200, prefs.text
    booking = await book(checkin, customer, desk.site_id, start, account)
    clock.advance(reminder_at + timedelta(seconds=5) - clock.now())
    await checkin.timers.fire_due()
    assert await reminders_of(checkin, [booking["appointment_id"]]) == [booking["appointment_id"]]

    async def queued() -> Any:
        messages = await reminder_messages(stack, token, account)
        return messages[0] if messages else None

    message = await eventually(queued)
    assert message["status"] == "queued"  # held until the quiet hours end
    sealed = await notifications.runtime.pool.fetchval(
        """SELECT envelope->'payload'->>'variables' FROM events
           WHERE event_type = 'notifications.notification_requested' AND stream_id = $1""",
        f"notification-{message['notification_id']}",
    )
    assert sealed.startswith(TOKEN_PREFIX)
    assert "Test service center" not in sealed

    erased = await stack["cases"].client.post(
        f"/privacy/subjects/account:{account}/erasure",
        json={"reason": "the person asked"},
        headers=auth(token("supervisor")),
    )
    assert erased.status_code == 202, erased.text
    keystore = notifications.runtime.privacy.keystore
    assert keystore is not None

    async def key_gone() -> bool:
        return await keystore.key(f"account:{account}", 1) is None

    await eventually(key_gone)

    # the quiet hours end: the sender finds nothing to send and drops the message
    clock.advance(quiet_until + timedelta(minutes=1) - clock.now())
    await notifications.timers.fire_due()

    async def dropped() -> Any:
        answer = await notifications.client.get(
            f"/notifications/{message['notification_id']}", headers=auth(token("agent"))
        )
        assert answer.status_code == 200, answer.text
        return answer.json() if answer.json()["status"] == "failed" else None

    view = await eventually(dropped)
    assert view["failure_reason"] == RECIPIENT_ERASED
    assert "Test service center" not in str(view)
    assert await sandboxes.providers[MessageChannel.SMS].amessages(message["notification_id"]) == []
