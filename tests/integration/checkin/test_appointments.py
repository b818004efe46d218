"""Appointments over real Kafka and PostgreSQL: capacity (and the race for the last place),
cancel frees a place, a booked visitor checking in within the window is called before earlier
walk-ins, a missed slot is released by the durable timer, the ``appointments`` read model
rebuilt from Kafka equals the live one; the walk-in screening step and the virtual queue's
phone tie."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from runtime.privacy import TOKEN_PREFIX
from runtime.scheduler import OffsetClock
from tests.conftest import auth, eventually
from tests.integration.checkin.helpers import Desk, fake_phone, stream_events
from tests.integration.conftest import RunningService
from tests.integration.kafka_tools import standing_still
from tests.integration.test_rebuild import cli

pytestmark = pytest.mark.integration

QUEUE = "wallet_payments"
SH = ZoneInfo("Asia/Shanghai")


def appointment_queue(capacity: int) -> dict[str, Any]:
    return {
        "queue": QUEUE,
        "appointment_slot_minutes": 20,
        "appointment_capacity": capacity,
        "appointment_early_minutes": 30,
        "appointment_grace_minutes": 10,
    }


def customer(token: Callable[..., str]) -> tuple[str, dict[str, str]]:
    sub = f"cust-{uuid.uuid4().hex[:8]}"
    return sub, auth(token("customer", sub=sub))


async def a_slot(checkin: RunningService, desk: Desk, clock: OffsetClock) -> str:
    """A bookable slot starting at least 35 minutes from now (so check-in is still too early)."""
    now = clock.now()
    for day in (now.astimezone(SH).date(), (now + timedelta(days=1)).astimezone(SH).date()):
        listed = await checkin.client.get(
            f"/sites/{desk.site_id}/queues/{QUEUE}/slots",
            params={"date": day.isoformat()},
            headers=desk.supervisor,
        )
        assert listed.status_code == 200, listed.text
        for slot in listed.json()["slots"]:
            start = datetime.fromisoformat(slot["start"])
            if slot["bookable"] and start - now >= timedelta(minutes=35):
                return str(slot["start"])
    raise AssertionError("no bookable slot found")


async def book(
    checkin: RunningService,
    headers: dict[str, str],
    site_id: str,
    start: str,
    *,
    customer_id: str | None = None,
    key: str | None = None,
) -> Any:
    body: dict[str, Any] = {"site_id": site_id, "queue": QUEUE, "slot_start": start}
    if customer_id:
        body["customer_id"] = customer_id
    extra = {"Idempotency-Key": key} if key else {}
    return await checkin.client.post("/appointments", json=body, headers={**headers, **extra})


async def free_places(checkin: RunningService, desk: Desk, start: str) -> int:
    day = datetime.fromisoformat(start).astimezone(SH).date()
    listed = await checkin.client.get(
        f"/sites/{desk.site_id}/queues/{QUEUE}/slots",
        params={"date": day.isoformat()},
        headers=desk.supervisor,
    )
    [slot] = [s for s in listed.json()["slots"] if s["start"] == start]
    return int(slot["capacity"]) - int(slot["booked"])


async def test_capacity_the_last_place_race_cancel_and_who_sees_what(
    stack: dict[str, RunningService], token: Callable[..., str], clock: OffsetClock
) -> None:
    checkin = stack["checkin"]
    desk = Desk(checkin.client, token)
    await desk.configure(queues=[appointment_queue(capacity=3), {"queue": "general"}], desks=1)
    start = await a_slot(checkin, desk, clock)
    (c1, h1), (_, h2), (_, h3), (_, h4), (_, h5) = [customer(token) for _ in range(5)]

    first = await book(checkin, h1, desk.site_id, start)
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "booked"
    assert first.json()["customer_id"] == c1
    assert (await book(checkin, h2, desk.site_id, start)).status_code == 201
    assert await free_places(checkin, desk, start) == 1

    # two customers race for the last place: exactly one wins
    racing = await asyncio.gather(
        book(checkin, h3, desk.site_id, start), book(checkin, h4, desk.site_id, start)
    )
    assert sorted(r.status_code for r in racing) == [201, 409], [r.text for r in racing]
    assert "full" in next(r for r in racing if r.status_code == 409).json()["detail"]
    full = await book(checkin, h5, desk.site_id, start)
    assert full.status_code == 409
    assert "full" in full.json()["detail"]
    assert await free_places(checkin, desk, start) == 0

    # a customer sees only their own appointments
    mine = first.json()["appointment_id"]
    assert (await checkin.client.get(f"/appointments/{mine}", headers=h2)).status_code == 404
    assert (
        await checkin.client.post(f"/appointments/{mine}/cancel", json={}, headers=h2)
    ).status_code == 404
    own = await checkin.client.get("/customers/me/appointments", headers=h1)
    assert [a["appointment_id"] for a in own.json()] == [mine]

    # cancel frees a place; the next booking (with a key, retried) takes it once
    cancelled = await checkin.client.post(
        f"/appointments/{mine}/cancel", json={"reason": "cannot come"}, headers=h1
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert await free_places(checkin, desk, start) == 1
    sealed = await checkin.runtime.pool.fetchrow(  # the customer's words travel sealed (issue 12)
        "SELECT envelope->'payload'->>'reason' AS reason, envelope->'personal_data' AS ref "
        "FROM events WHERE event_type = 'checkin.appointment_cancelled' "
        "AND envelope->'payload'->>'appointment_id' = $1",
        mine,
    )
    assert sealed["reason"].startswith(TOKEN_PREFIX)
    assert sealed["ref"]["subject_id"] == f"customer:{c1}"
    again = await checkin.client.post(f"/appointments/{mine}/cancel", json={}, headers=h1)
    assert again.status_code == 409
    key = str(uuid.uuid4())
    taken = await book(checkin, h5, desk.site_id, start, key=key)
    retried = await book(checkin, h5, desk.site_id, start, key=key)
    assert taken.status_code == retried.status_code == 201
    assert taken.json()["appointment_id"] == retried.json()["appointment_id"]
    assert await free_places(checkin, desk, start) == 0

    # one active booking per person, queue and day
    later = (datetime.fromisoformat(start) + timedelta(minutes=20)).isoformat()
    if (
        datetime.fromisoformat(later).astimezone(SH).date()
        == datetime.fromisoformat(start).astimezone(SH).date()
    ):
        second = await book(checkin, h2, desk.site_id, later)
        assert second.status_code == 409
        assert "one at a time" in second.json()["detail"]

    # staff book for a customer; a customer cannot book for someone else
    agent_headers = auth(token("agent", sub="agent-booking"))
    no_customer = await book(checkin, agent_headers, desk.site_id, later)
    assert no_customer.status_code == 403
    # (someone with no booking yet: the fourth customer may have won the race above)
    c6, _ = customer(token)
    for_c6 = await book(checkin, agent_headers, desk.site_id, later, customer_id=c6)
    assert for_c6.status_code == 201, for_c6.text
    assert for_c6.json()["customer_id"] == c6
    assert (await book(checkin, h3, desk.site_id, later, customer_id=c1)).status_code == 403

    # refused: outside the grid, a queue without appointments
    odd = (datetime.fromisoformat(start) + timedelta(minutes=5)).isoformat()
    assert (await book(checkin, h3, desk.site_id, odd)).status_code == 409
    general = await checkin.client.post(
        "/appointments",
        json={"site_id": desk.site_id, "queue": "general", "slot_start": start},
        headers=h3,
    )
    assert general.status_code == 409
    assert "takes no appointments" in general.json()["detail"]


async def test_a_booked_visitor_is_called_before_earlier_walk_ins_and_a_missed_slot_is_released(
    stack: dict[str, RunningService],
    token: Callable[..., str],
    clock: OffsetClock,
    env_for_processes: dict[str, str],
) -> None:
    checkin = stack["checkin"]
    desk = Desk(checkin.client, token)
    await desk.configure(queues=[appointment_queue(capacity=2)], desks=1)
    agent_id, agent = await desk.agent("desk-1", queues=[QUEUE])
    start = await a_slot(checkin, desk, clock)
    (_, hv), (_, ha) = customer(token), customer(token)
    booked = (await book(checkin, hv, desk.site_id, start)).json()
    missed = (await book(checkin, ha, desk.site_id, start)).json()

    def check_in_body(appointment_id: str) -> dict[str, Any]:
        return {
            "site_id": desk.site_id,
            "appointment_id": appointment_id,
            "intake": {
                "problem_category": "wallet_reactivation",
                "account_ref": f"acct-{uuid.uuid4().hex[:8]}",
                "language": {"tag": "zh-CN"},
            },
        }

    early = await checkin.client.post(
        "/tickets", json=check_in_body(booked["appointment_id"]), headers=hv
    )
    assert early.status_code == 409
    assert "too early" in early.json()["detail"]
    other = await checkin.client.post(
        "/tickets", json=check_in_body(booked["appointment_id"]), headers=ha
    )
    assert other.status_code == 404  # someone else's appointment does not exist for them

    # 25 minutes into the 20-minute slot: within the 10-minute grace window
    slot_start = datetime.fromisoformat(start)
    clock.advance(slot_start + timedelta(minutes=25) - clock.now())
    walk_ins = [await desk.issue(category="wallet_reactivation") for _ in range(2)]
    ticket = await checkin.client.post(
        "/tickets", json=check_in_body(booked["appointment_id"]), headers=hv
    )
    assert ticket.status_code == 201, ticket.text
    assert ticket.json()["queue"] == QUEUE
    called = await checkin.client.post(f"/agents/{agent_id}/call-next", json={}, headers=agent)
    assert called.status_code == 200, called.text
    assert called.json()["ticket_id"] == ticket.json()["ticket_id"]
    assert "appointment" in called.json()["match"]["priority_reasons"]
    arrived = datetime.fromisoformat(ticket.json()["issued_at"])
    assert all(datetime.fromisoformat(w["issued_at"]) < arrived for w in walk_ins)
    issued = await checkin.runtime.pool.fetchval(
        """SELECT envelope->'payload'->'appointment'->>'appointment_id' FROM events
           WHERE stream_id = $1 AND event_type = 'checkin.ticket_issued'""",
        f"ticket-{ticket.json()['ticket_id']}",
    )
    assert issued == booked["appointment_id"]
    twice = await checkin.client.post(
        "/tickets", json=check_in_body(booked["appointment_id"]), headers=hv
    )
    assert twice.status_code == 409  # checked in already
    status = await checkin.client.get(f"/appointments/{booked['appointment_id']}", headers=hv)
    assert status.json()["status"] == "checked_in"
    assert status.json()["ticket_id"] == ticket.json()["ticket_id"]

    # the other visitor never came: after the grace window the timer releases the place
    assert await free_places(checkin, desk, start) == 0
    clock.advance(timedelta(minutes=6))
    await checkin.timers.fire_due()
    gone = await checkin.client.get(f"/appointments/{missed['appointment_id']}", headers=ha)
    assert gone.json()["status"] == "missed"
    assert await free_places(checkin, desk, start) == 1
    stream = await checkin.runtime.pool.fetchval(
        "SELECT stream_id FROM appointment_index WHERE appointment_id = $1",
        uuid.UUID(missed["appointment_id"]),
    )
    assert await stream_events(checkin.runtime.pool, stream) == [
        "checkin.appointment_booked",
        "checkin.appointment_booked",
        "checkin.appointment_checked_in",
        "checkin.appointment_missed",
    ]
    late = await checkin.client.post(
        "/tickets", json=check_in_body(missed["appointment_id"]), headers=ha
    )
    assert late.status_code == 409

    # the reception's day view (projected), then rebuilt from Kafka: the same
    async def projected() -> Any:
        answer = await checkin.client.get(
            f"/sites/{desk.site_id}/appointments",
            params={"date": slot_start.astimezone(SH).date().isoformat()},
            headers=desk.supervisor,
        )
        counts = answer.json()["counts"]
        return counts if counts == {"checked_in": 1, "missed": 1} else None

    await eventually(projected)

    async with standing_still(stack):  # nothing in flight, no timer fires meanwhile
        before = await cli(env_for_processes, "digest", "checkin")
        assert not before["appointments"].startswith("0:"), before
        await cli(env_for_processes, "rebuild", "checkin")
        assert await cli(env_for_processes, "digest", "checkin") == before


async def test_walk_ins_need_the_screening_confirmed_where_the_site_requires_it(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    checkin = stack["checkin"]
    desk = Desk(checkin.client, token)
    body = {
        "name": "Screened center",
        "timezone": "Asia/Shanghai",
        "queues": [{"queue": "account_security"}],
        "screening_required": True,
    }
    configured = await checkin.client.put(
        f"/sites/{desk.site_id}", json=body, headers=desk.supervisor
    )
    assert configured.status_code == 200, configured.text
    assert configured.json()["screening_required"] is True
    ticket: dict[str, Any] = {
        "site_id": desk.site_id,
        "intake": {
            "problem_category": "account_suspended",
            "account_ref": f"acct-{uuid.uuid4().hex[:8]}",
            "language": {"tag": "zh-CN"},
        },
    }
    refused = await checkin.client.post("/tickets", json=ticket, headers=desk.supervisor)
    assert refused.status_code == 409
    assert "screening" in refused.json()["detail"]
    _, visitor = customer(token)
    walked_in = await checkin.client.post("/tickets", json=ticket, headers=visitor)
    assert walked_in.status_code == 409  # a customer cannot walk themself in past security
    self_confirmed = await checkin.client.post(
        "/tickets", json={**ticket, "screening_confirmed": True}, headers=visitor
    )
    assert self_confirmed.status_code == 403
    reception = auth(token("agent", sub="reception-07"))
    issued = await checkin.client.post(
        "/tickets", json={**ticket, "screening_confirmed": True}, headers=reception
    )
    assert issued.status_code == 201, issued.text
    payload = await checkin.runtime.pool.fetchval(
        """SELECT envelope->'payload' FROM events
           WHERE stream_id = $1 AND event_type = 'checkin.ticket_issued'""",
        f"ticket-{issued.json()['ticket_id']}",
    )
    assert payload["screening_confirmed_by"] == "reception-07"
    assert payload["screened_at"] is not None


async def test_the_virtual_queue_is_tied_to_a_verified_phone_by_its_keyed_hash(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    checkin = stack["checkin"]
    desk = Desk(checkin.client, token)
    await desk.configure(desks=1)
    phone = fake_phone()
    (first, _), (second, _) = customer(token), customer(token)
    held = await desk.issue(channel="virtual_queue", customer=first, phone=phone)
    # another customer id, another account, the same phone: refused (no hoarding)
    await desk.issue(channel="virtual_queue", customer=second, phone=phone, expect=409)
    # the same number is fine once the first ticket ended
    await checkin.client.post(
        f"/tickets/{held['ticket_id']}/leave", json={}, headers=desk.supervisor
    )
    await desk.issue(channel="virtual_queue", customer=second, phone=phone)

    person_ref = await checkin.runtime.pool.fetchval(
        "SELECT person_ref FROM ticket_index WHERE ticket_id = $1", uuid.UUID(held["ticket_id"])
    )
    assert person_ref.startswith("hmac:")
    assert phone[1:] not in person_ref
    envelope = await checkin.runtime.pool.fetchval(
        "SELECT envelope::text FROM events WHERE stream_id = $1",
        f"ticket-{held['ticket_id']}",
    )
    assert phone not in envelope  # the phone itself travels only encrypted

    def joining(contact_phone: str | None) -> dict[str, Any]:
        intake: dict[str, Any] = {
            "problem_category": "account_suspended",
            "account_ref": f"acct-{uuid.uuid4().hex[:8]}",
            "language": {"tag": "zh-CN"},
        }
        if contact_phone:
            intake["contact_phone"] = contact_phone
        return {"site_id": desk.site_id, "channel": "virtual_queue", "intake": intake}

    # a sign-in that proved no phone number: no place in the virtual queue
    unverified = auth(token("customer", sub=f"cust-{uuid.uuid4().hex[:8]}"))
    no_phone = await checkin.client.post("/tickets", json=joining(phone), headers=unverified)
    assert no_phone.status_code == 403
    assert "verified" in no_phone.json()["detail"]
    # a verified number, but notices asked to go to another one: refused, nothing written
    verified = auth(token("customer", sub=f"cust-{uuid.uuid4().hex[:8]}", phone=fake_phone()))
    other = await checkin.client.post("/tickets", json=joining(fake_phone()), headers=verified)
    assert other.status_code == 409
    assert "tied to the phone number verified" in other.json()["detail"]
    # the verified number is the contact phone when none is given
    joined = await checkin.client.post("/tickets", json=joining(None), headers=verified)
    assert joined.status_code == 201, joined.text
