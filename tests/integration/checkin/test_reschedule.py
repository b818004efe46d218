"""One-step reschedule over HTTP: an appointment moves to another slot atomically, under the
booking rules; a refused move (the new slot full) changes nothing and the person keeps their
place; a customer moves only their own appointment."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from runtime.scheduler import OffsetClock
from tests.integration.checkin.helpers import Desk
from tests.integration.checkin.test_appointments import (
    QUEUE,
    SH,
    appointment_queue,
    book,
    customer,
    free_places,
)
from tests.integration.conftest import RunningService

pytestmark = pytest.mark.integration


async def two_slots(
    checkin: RunningService,
    desk: Desk,
    clock: OffsetClock,
    *,
    after: timedelta = timedelta(hours=1),
) -> list[str]:
    """The first two bookable slots that start at least ``after`` from now (today or
    tomorrow at the site)."""
    now = clock.now()
    found: list[str] = []
    for day in (now.astimezone(SH).date(), (now + timedelta(days=1)).astimezone(SH).date()):
        listed = await checkin.client.get(
            f"/sites/{desk.site_id}/queues/{QUEUE}/slots",
            params={"date": day.isoformat()},
            headers=desk.supervisor,
        )
        assert listed.status_code == 200, listed.text
        found += [
            str(slot["start"])
            for slot in listed.json()["slots"]
            if slot["bookable"] and datetime.fromisoformat(slot["start"]) - now >= after
        ]
    assert len(found) >= 2, found
    return found[:2]


async def test_an_appointment_moves_to_another_slot_in_one_step_or_not_at_all(
    stack: dict[str, RunningService], token: Callable[..., str], clock: OffsetClock
) -> None:
    checkin = stack["checkin"]
    desk = Desk(checkin.client, token)
    await desk.configure(queues=[appointment_queue(capacity=1), {"queue": "general"}], desks=1)
    first, second = await two_slots(checkin, desk, clock)
    (_, mine), (_, other) = customer(token), customer(token)
    booked = await book(checkin, mine, desk.site_id, first)
    assert booked.status_code == 201, booked.text
    appointment = booked.json()["appointment_id"]
    taken = await book(checkin, other, desk.site_id, second)
    assert taken.status_code == 201, taken.text

    # the new slot is full: refused, and the old place is kept
    refused = await checkin.client.post(
        f"/appointments/{appointment}/reschedule", json={"slot_start": second}, headers=mine
    )
    assert refused.status_code == 409, refused.text
    assert "full" in refused.json()["detail"]
    kept = await checkin.client.get(f"/appointments/{appointment}", headers=mine)
    assert kept.json()["status"] == "booked"
    assert await free_places(checkin, desk, first) == 0

    # someone else's appointment: 404, nothing moves
    foreign = await checkin.client.post(
        f"/appointments/{taken.json()['appointment_id']}/reschedule",
        json={"slot_start": first},
        headers=mine,
    )
    assert foreign.status_code == 404

    # the other person cancels: the move goes through, in one step
    cancelled = await checkin.client.post(
        f"/appointments/{taken.json()['appointment_id']}/cancel", json={}, headers=other
    )
    assert cancelled.status_code == 200, cancelled.text
    key = {"Idempotency-Key": f"move-{appointment}"}
    moved = await checkin.client.post(
        f"/appointments/{appointment}/reschedule",
        json={"slot_start": second},
        headers={**mine, **key},
    )
    assert moved.status_code == 201, moved.text
    assert moved.json()["status"] == "booked"
    assert moved.json()["slot_start"] == second
    assert moved.json()["appointment_id"] != appointment
    again = await checkin.client.post(
        f"/appointments/{appointment}/reschedule",
        json={"slot_start": second},
        headers={**mine, **key},
    )
    assert again.json() == moved.json()
    old = await checkin.client.get(f"/appointments/{appointment}", headers=mine)
    assert old.json()["status"] == "cancelled"
    assert await free_places(checkin, desk, first) == 1
    assert await free_places(checkin, desk, second) == 0
    mine_now = await checkin.client.get("/customers/me/appointments", headers=mine)
    booked_now = [a for a in mine_now.json() if a["status"] == "booked"]
    assert [a["appointment_id"] for a in booked_now] == [moved.json()["appointment_id"]]
