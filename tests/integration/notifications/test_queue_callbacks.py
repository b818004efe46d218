"""A phone caller who asks to be called back instead of holding, over real Kafka and
PostgreSQL, check-in driven through its API, the SMS sandbox provider process and the shared
clock: the caller is told by SMS that their place is kept; when an agent frees up, check-in
assigns the contact and notifications makes the callback due for that agent (their queue's
due list shows it); reached → completed. The other way: the contact re-offered (no second
callback), three unanswered attempts, "we tried", missed at the window's end, and cases
escalates the ticket's case."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from runtime.scheduler import OffsetClock
from runtime.settings import ServiceSettings
from services.cases.application.cases import case_id_for_ticket
from services.notifications.domain.queue_callbacks import queue_callback_id
from tests.conftest import auth, eventually
from tests.integration.conftest import RunningService
from tests.integration.notifications.conftest import Sandboxes
from tests.integration.notifications.test_callbacks import (
    answers_once,
    callback_answers,
    callback_view,
    sent_message,
)

pytestmark = pytest.mark.integration

Stack = dict[str, RunningService]
QUEUE = "account_security"


class PhoneLine:
    """One test's contact center: a site whose phone queue answers within 60 s, its agents
    (one call at a time) and callers coming in through the IVR."""

    def __init__(self, stack: Stack, token: Callable[..., str]) -> None:
        self.checkin = stack["checkin"].client
        self.token = token
        self.site_id = f"site-{uuid.uuid4().hex[:10]}"
        self.supervisor = auth(token("supervisor", sub=f"sup-{uuid.uuid4().hex[:6]}"))
        self.ivr = auth(token("service", sub="ivr-gateway"))
        self.accounts: dict[str, str] = {}

    async def configure(self) -> None:
        body = {
            "name": "Test contact center",
            "timezone": "Asia/Shanghai",
            "opening_hours": [],
            "queues": [
                {"queue": QUEUE, "answer_within_seconds": 60},
                {"queue": "general"},
            ],
            "estimate_margin_minutes": 5,
        }
        answer = await self.checkin.put(
            f"/sites/{self.site_id}", json=body, headers=self.supervisor
        )
        assert answer.status_code == 200, answer.text
        for desk in ("remote-1", "remote-2"):
            added = await self.checkin.post(
                f"/sites/{self.site_id}/desks", json={"desk_id": desk}, headers=self.supervisor
            )
            assert added.status_code == 201, added.text

    async def agent(self, name: str, desk: str = "remote-1") -> tuple[str, dict[str, str]]:
        agent_id = f"{name}-{uuid.uuid4().hex[:8]}"
        profile = {
            "queues": [QUEUE, "general"],
            "languages": [{"tag": "zh-CN", "dialect": "cmn"}],
            "limits": {"phone": 1, "chat": 1},
        }
        answer = await self.checkin.put(
            f"/agents/{agent_id}/profile", json=profile, headers=self.supervisor
        )
        assert answer.status_code == 200, answer.text
        headers = auth(self.token("agent", sub=agent_id))
        signed = await self.checkin.post(
            f"/agents/{agent_id}/sign-in",
            json={"site_id": self.site_id, "desk_id": desk},
            headers=headers,
        )
        assert signed.status_code == 200, signed.text
        return agent_id, headers

    async def call(self, phone: str) -> dict[str, Any]:
        account = f"acct-{uuid.uuid4().hex[:8]}"
        body = {
            "site_id": self.site_id,
            "channel": "phone",
            "ivr_selection": "1",
            "intake": {
                "problem_category": "account_suspended",
                "account_ref": account,
                "contact_phone": phone,
                "language": {"tag": "zh-CN"},
            },
        }
        answer = await self.checkin.post("/contacts", json=body, headers=self.ivr)
        assert answer.status_code == 201, answer.text
        self.accounts[answer.json()["ticket_id"]] = account
        return answer.json()  # type: ignore[no-any-return]

    async def ask_callback(self, ticket_id: str) -> None:
        answer = await self.checkin.post(
            f"/tickets/{ticket_id}/callback", json={}, headers=self.ivr
        )
        assert answer.status_code == 200, answer.text

    async def act(self, ticket_id: str, action: str, headers: dict[str, str]) -> None:
        answer = await self.checkin.post(f"/tickets/{ticket_id}/{action}", json={}, headers=headers)
        assert answer.status_code == 200, answer.text

    async def assigned(self, ticket_id: str, agent_id: str) -> None:
        async def probe() -> bool:
            answer = await self.checkin.get(f"/tickets/{ticket_id}", headers=self.supervisor)
            ticket = answer.json()
            return bool(ticket["status"] == "called" and ticket["agent_id"] == agent_id)

        await eventually(probe, within=90)


def fake_phone() -> str:
    return f"+8613{uuid.uuid4().int % 10**9:09d}"


async def events_of(stack: Stack, service: str, stream_id: str) -> list[str]:
    rows = await stack[service].runtime.pool.fetch(
        "SELECT event_type FROM events WHERE stream_id = $1 ORDER BY stream_version", stream_id
    )
    return [row["event_type"] for row in rows]


async def taken_by_notifications(stack: Stack, ticket_id: str, event_type: str, count: int) -> None:
    """Wait until notifications' check-in reaction took ``count`` events of the type."""
    ids = [
        row["event_id"]
        for row in await stack["checkin"].runtime.pool.fetch(
            "SELECT event_id FROM events WHERE stream_id = $1 AND event_type = $2",
            f"ticket-{ticket_id}",
            event_type,
        )
    ]
    assert len(ids) >= count

    async def taken() -> bool:
        seen = await stack["notifications"].runtime.pool.fetchval(
            """SELECT count(*) FROM consumer_inbox
               WHERE consumer_group = 'notifications.triggers' AND event_id = ANY($1::uuid[])""",
            ids,
        )
        return bool(seen >= count)

    await eventually(taken)


async def due_list(stack: Stack, agent_id: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    answer = await stack["notifications"].client.get(
        f"/queues/{QUEUE}/callbacks", params={"agent_id": agent_id}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def attempt(
    stack: Stack, callback_id: uuid.UUID, outcome: str, headers: dict[str, str]
) -> dict[str, Any]:
    answer = await stack["notifications"].client.post(
        f"/callbacks/{callback_id}/attempts", json={"outcome": outcome}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def a_caller_waiting_for_a_callback(
    stack: Stack, token: Callable[..., str], sandboxes: Sandboxes, line: PhoneLine
) -> tuple[str, str, dict[str, str], uuid.UUID, str]:
    """The line's only agent is on a call; a second caller waits in the pool, asks to be
    called back and is told so by SMS. Returns the busy call, the agent, their headers, the
    callback id and the caller's phone."""
    await line.configure()
    agent_id, agent_h = await line.agent("li")
    busy = await line.call(fake_phone())
    assert busy["agent_id"] == agent_id
    phone = fake_phone()
    caller = await line.call(phone)
    assert (caller["status"], caller["in_pool"]) == ("waiting", True)
    ticket_id = caller["ticket_id"]
    # the case cases opens for the call is known here before the turn comes
    pool = stack["notifications"].runtime.pool
    await eventually(
        lambda: pool.fetchval(
            "SELECT case_id FROM ticket_cases WHERE ticket_id = $1", uuid.UUID(ticket_id)
        )
    )
    await line.ask_callback(ticket_id)

    # told by SMS, in Chinese, that the place is kept and we will call back
    told = await sent_message(stack, token, f"ticket:{ticket_id}", "queue_callback_requested")
    [sms] = await eventually(
        lambda: sandboxes.providers[told["channel"]].amessages(told["notification_id"])
    )
    assert sms["to"] == phone
    assert caller["number"] in sms["body"]
    assert "轮到您时我们会给您回电" in sms["body"]

    # pending: waiting for the turn, not in anyone's due list yet
    callback_id = queue_callback_id(uuid.UUID(ticket_id))
    view = await callback_view(stack, token, callback_id)
    assert view["status"] == "waiting_turn"
    assert view["ticket_id"] == ticket_id
    assert not [c for c in await due_list(stack, agent_id, agent_h) if c["ticket_id"]]
    return busy["ticket_id"], agent_id, agent_h, callback_id, phone


async def test_the_caller_is_called_back_when_their_turn_comes_and_reached(
    stack: Stack,
    settings: ServiceSettings,
    clock: OffsetClock,
    token: Callable[..., str],
    sandboxes: Sandboxes,
) -> None:
    line = PhoneLine(stack, token)
    busy, agent_id, agent_h, callback_id, phone = await a_caller_waiting_for_a_callback(
        stack, token, sandboxes, line
    )
    ticket_id = str((await callback_view(stack, token, callback_id))["ticket_id"])

    # the agent finishes the call they were on: check-in offers them the waiting caller
    await line.act(busy, "start", agent_h)
    await line.act(busy, "complete", agent_h)
    await line.assigned(ticket_id, agent_id)

    # the callback is due now, for this agent, in their queue's due list
    async def listed() -> dict[str, Any] | None:
        found = [c for c in await due_list(stack, agent_id, agent_h) if c["ticket_id"] == ticket_id]
        # listed once requested; due once the scheduled event is projected too
        return found[0] if found and found[0]["due_at"] else None

    due = await eventually(listed)
    assert due["callback_id"] == str(callback_id)
    assert due["agent_id"] == agent_id
    assert due["phone"] == phone
    assert due["case_id"] == str(case_id_for_ticket(uuid.UUID(ticket_id)))
    assert datetime.fromisoformat(due["due_at"]) <= clock.now()
    view = await callback_view(stack, token, callback_id)
    assert view["status"] == "scheduled"
    window = datetime.fromisoformat(view["window_end"]) - datetime.fromisoformat(
        view["window_start"]
    )
    assert window == timedelta(minutes=15)

    # the agent calls: reached → completed, and cases hears it
    kept = await attempt(stack, callback_id, "reached", agent_h)
    assert kept["status"] == "completed"
    answers = await answers_once(settings, callback_id, "notifications.callback_completed")
    types = [e.event_type for e in answers]
    assert types.count("notifications.callback_requested") == 1
    assert "notifications.callback_completed" in types

    async def off_the_due_list() -> bool:
        listed = await due_list(stack, agent_id, agent_h)
        return not [c for c in listed if c["ticket_id"] == ticket_id]

    await eventually(off_the_due_list)  # the projection follows the completed event

    # the agent serves the caller; the ticket's end changes nothing more, the window's end
    # neither
    await line.act(ticket_id, "start", agent_h)
    await line.act(ticket_id, "complete", agent_h)
    stream = f"callback-{callback_id}"
    await taken_by_notifications(stack, ticket_id, "checkin.ticket_completed", 1)
    clock.advance(timedelta(minutes=16))
    timers = stack["notifications"].runtime.timers
    assert timers is not None
    await timers.fire_due()
    assert (await events_of(stack, "notifications", stream))[-1] == (
        "notifications.callback_completed"
    )
    assert (await events_of(stack, "notifications", stream)).count(
        "notifications.callback_completed"
    ) == 1


async def test_a_callback_nobody_answers_is_retried_told_and_missed_once(
    stack: Stack,
    settings: ServiceSettings,
    clock: OffsetClock,
    token: Callable[..., str],
    sandboxes: Sandboxes,
) -> None:
    line = PhoneLine(stack, token)
    busy, agent_id, agent_h, callback_id, phone = await a_caller_waiting_for_a_callback(
        stack, token, sandboxes, line
    )
    ticket_id = str((await callback_view(stack, token, callback_id))["ticket_id"])
    await line.act(busy, "start", agent_h)
    await line.act(busy, "complete", agent_h)
    await line.assigned(ticket_id, agent_id)

    async def due_now() -> bool:
        return bool((await callback_view(stack, token, callback_id))["status"] == "scheduled")

    await eventually(due_now)

    # the agent does not take the contact in check-in within its answer window: check-in
    # offers it to the colleague who just signed in — the callback stays the one it was
    await line.agent("wang", "remote-2")
    clock.advance(timedelta(seconds=61))
    checkin_timers = stack["checkin"].runtime.timers
    assert checkin_timers is not None
    await checkin_timers.fire_due()

    async def offered_twice() -> bool:
        found = await events_of(stack, "checkin", f"ticket-{ticket_id}")
        return found.count("checkin.contact_assigned") >= 2

    await eventually(offered_twice)
    await taken_by_notifications(stack, ticket_id, "checkin.contact_assigned", 2)
    stream = f"callback-{callback_id}"
    assert (await events_of(stack, "notifications", stream)).count(
        "notifications.callback_requested"
    ) == 1

    # three attempts, nobody answers, each after the spacing (5 min)
    for _ in range(3):
        view = await attempt(stack, callback_id, "no_answer", agent_h)
        wait = datetime.fromisoformat(view["due_at"]) - clock.now()
        if wait > timedelta():
            clock.advance(wait)
    assert view["attempts"] == 3

    # then the caller is told we tried, by SMS, with the hotline
    account = line.accounts[ticket_id]
    tried = await sent_message(stack, token, f"account:{account}", "callback_unreachable")
    [note] = await sandboxes.providers[tried["channel"]].amessages(tried["notification_id"])
    assert note["to"] == phone
    assert "400-000-0000" in note["body"]

    # the window ends: missed once, with the ticket's case, which cases escalates
    clock.advance(datetime.fromisoformat(view["window_end"]) - clock.now() + timedelta(seconds=1))
    timers = stack["notifications"].runtime.timers
    assert timers is not None
    await timers.fire_due()
    await timers.fire_due()

    async def missed() -> Any:
        answers = await callback_answers(settings, callback_id)
        return [e for e in answers if e.event_type == "notifications.callback_missed"]

    [event] = await eventually(missed)
    case_id = case_id_for_ticket(uuid.UUID(ticket_id))
    assert event.payload["case_id"] == str(case_id)
    assert event.payload["attempts"] == 3

    async def escalated() -> bool:
        found = await events_of(stack, "cases", f"case-{case_id}")
        return "cases.case_escalated" in found

    await eventually(escalated)
    assert (await events_of(stack, "notifications", stream)).count(
        "notifications.callback_missed"
    ) == 1
