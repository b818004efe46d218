"""Remote contacts over real Kafka and PostgreSQL: calls and chats enter their queues through
``POST /contacts``, are assigned by the queue's rules within each agent's limits, wait in the
pool when the team is full, go to an agent as soon as a place frees up (a contact finished, an
agent signed in), and an unanswered chat is reassigned to someone else when its answer timer
fires. The check-in read models rebuilt from Kafka equal the live ones."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from runtime.scheduler import OffsetClock
from tests.conftest import auth, eventually
from tests.integration.checkin.helpers import Desk
from tests.integration.conftest import RunningService
from tests.integration.kafka_tools import standing_still
from tests.integration.test_rebuild import cli

pytestmark = pytest.mark.integration

MANDARIN = {"tag": "zh-CN", "dialect": "cmn"}
CANTONESE = {"tag": "zh-HK", "dialect": "yue"}


class ContactCenter(Desk):
    """A site whose agents work remote positions with channel limits."""

    async def remote_agent(
        self,
        name: str,
        desk: str,
        *,
        limits: dict[str, int],
        languages: list[dict[str, Any]] | None = None,
        sign_in: bool = True,
    ) -> tuple[str, dict[str, str]]:
        agent_id = f"{name}-{uuid.uuid4().hex[:8]}"  # the name fixes the id order
        profile = {
            "queues": ["account_security", "general"],
            "languages": languages or [MANDARIN],
            "limits": limits,
        }
        response = await self.client.put(
            f"/agents/{agent_id}/profile", json=profile, headers=self.supervisor
        )
        assert response.status_code == 200, response.text
        headers = auth(self.token("agent", sub=agent_id))
        if sign_in:
            await self.sign_in(agent_id, desk, headers)
        return agent_id, headers

    async def sign_in(self, agent_id: str, desk: str, headers: dict[str, str]) -> None:
        signed = await self.client.post(
            f"/agents/{agent_id}/sign-in",
            json={"site_id": self.site_id, "desk_id": desk},
            headers=headers,
        )
        assert signed.status_code == 200, signed.text

    async def contact(
        self,
        channel: str,
        *,
        account: str | None = None,
        language: dict[str, Any] | None = None,
        expect: int = 201,
        key: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        body = {
            "site_id": self.site_id,
            "channel": channel,
            "intake": {
                "problem_category": "account_suspended",
                "account_ref": account or f"acct-{uuid.uuid4().hex[:8]}",
                "language": language or {"tag": "zh-CN"},
            },
            **extra,
        }
        gateway = auth(self.token("service", sub="chat-gateway"))
        headers = {**gateway, "Idempotency-Key": key} if key else gateway
        response = await self.client.post("/contacts", json=body, headers=headers)
        assert response.status_code == expect, response.text
        return response.json()  # type: ignore[no-any-return]

    async def ticket(self, ticket_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/tickets/{ticket_id}", headers=self.supervisor)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def assigned_to(self, ticket_id: str, agent_id: str) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            ticket = await self.ticket(ticket_id)
            ok = ticket["status"] == "called" and ticket["agent_id"] == agent_id
            return ticket if ok else None

        return await eventually(probe, within=90)


async def post(service: RunningService, path: str, headers: dict[str, str]) -> Any:
    response = await service.client.post(path, json={}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _json(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value)


async def assignments(service: RunningService, ticket_id: str) -> list[dict[str, Any]]:
    rows = await service.runtime.pool.fetch(
        """SELECT event_type, envelope -> 'payload' AS payload FROM events
           WHERE stream_id = $1 AND event_type IN ('checkin.contact_assigned',
                 'checkin.contact_unanswered') ORDER BY stream_version""",
        f"ticket-{ticket_id}",
    )
    return [{"type": row["event_type"], **_json(row["payload"])} for row in rows]


async def test_contacts_follow_the_rules_and_limits_wait_in_the_pool_and_are_reassigned(
    stack: dict[str, RunningService],
    token: Callable[..., str],
    clock: OffsetClock,
    env_for_processes: dict[str, str],
) -> None:
    checkin = stack["checkin"]
    center = ContactCenter(checkin.client, token)
    rules = ["last_agent", "fewest_active", "round_robin"]
    await center.configure(
        queues=[
            {"queue": "account_security", "assignment_rules": rules, "answer_within_seconds": 60},
            {"queue": "general"},
        ]
    )
    li, li_h = await center.remote_agent("li", "desk-1", limits={"phone": 1, "chat": 2})
    wang, wang_h = await center.remote_agent("wang", "desk-2", limits={"phone": 1, "chat": 1})

    # two chats: a tie on fewest active goes round robin (li first by id), then fewest active
    c1 = await center.contact("chat_wechat")
    assert (c1["status"], c1["agent_id"], c1["in_pool"]) == ("called", li, False)
    c2 = await center.contact("chat_qq")
    assert (c2["status"], c2["agent_id"]) == ("called", wang)
    assert [a["rule"] for a in await assignments(checkin, c1["ticket_id"])] == ["round_robin"]
    assert [a["rule"] for a in await assignments(checkin, c2["ticket_id"])] == ["fewest_active"]
    assert c1["answer_by"] is not None

    # wang answers and finishes c2; the same customer writes again: last agent first
    await post(checkin, f"/tickets/{c2['ticket_id']}/start", wang_h)
    await post(checkin, f"/tickets/{c2['ticket_id']}/complete", wang_h)
    returning = (await center.ticket(c2["ticket_id"]))["ticket_id"]
    account = await checkin.runtime.pool.fetchval(
        "SELECT account_ref FROM ticket_index WHERE ticket_id = $1", uuid.UUID(returning)
    )
    c3 = await center.contact("chat_web", account=account)
    assert c3["agent_id"] == wang
    assert [a["rule"] for a in await assignments(checkin, c3["ticket_id"])] == ["last_agent"]

    # a call from the IVR (1: account & security): tie 1-1, round robin after wang -> li
    p1 = await center.contact("phone", ivr_selection="1")
    assert (p1["queue"], p1["agent_id"]) == ("account_security", li)
    # li has one chat place left, wang none
    c4 = await center.contact("chat_wechat")
    assert c4["agent_id"] == li
    # the team is full: the pool
    c5 = await center.contact("chat_qq")
    c6 = await center.contact("chat_web")
    assert (c5["status"], c5["in_pool"], c5["agent_id"]) == ("waiting", True, None)
    assert (c6["status"], c6["in_pool"]) == ("waiting", True)

    mine = (await checkin.client.get("/agents/me/contacts", headers=li_h)).json()
    assert mine["active"] == {"phone": 1, "chat": 2, "email": 0}
    assert mine["limits"]["chat"] == 2
    assert {c["ticket_id"] for c in mine["contacts"]} == {
        c1["ticket_id"],
        p1["ticket_id"],
        c4["ticket_id"],
    }
    assert all(c["status"] == "called" and c["answer_by"] for c in mine["contacts"])

    # li finishes c1: the pool's oldest (c5) goes to li; c6 still waits
    await post(checkin, f"/tickets/{c1['ticket_id']}/start", li_h)
    await post(checkin, f"/tickets/{c1['ticket_id']}/complete", li_h)
    await center.assigned_to(c5["ticket_id"], li)
    assert (await center.ticket(c6["ticket_id"]))["status"] == "waiting"

    # zhao signs in: c6 goes to zhao
    zhao, zhao_h = await center.remote_agent("zhao", "desk-3", limits={"phone": 1, "chat": 3})
    await center.assigned_to(c6["ticket_id"], zhao)

    # everyone answers what they were given, except li, who does not answer c5
    for ticket_id, headers in (
        (c3["ticket_id"], wang_h),
        (p1["ticket_id"], li_h),
        (c4["ticket_id"], li_h),
        (c6["ticket_id"], zhao_h),
    ):
        await post(checkin, f"/tickets/{ticket_id}/start", headers)
    clock.advance(timedelta(seconds=61))
    assert checkin.runtime.timers is not None
    await checkin.runtime.timers.fire_due()

    history = await assignments(checkin, c5["ticket_id"])
    assert [h["type"] for h in history] == [
        "checkin.contact_assigned",
        "checkin.contact_unanswered",
        "checkin.contact_assigned",
    ]
    assert history[1]["agent_id"] == li
    assert (history[2]["agent_id"], history[2]["previous_agent_id"]) == (zhao, li)
    reassigned = await center.ticket(c5["ticket_id"])
    assert (reassigned["status"], reassigned["agent_id"]) == ("called", zhao)
    # the agent who missed it is on a break (saying why) until they resume
    li_now = (await checkin.client.get(f"/agents/{li}", headers=li_h)).json()
    assert li_now["status"] == "on_break"
    reason = await checkin.runtime.pool.fetchval(
        """SELECT envelope -> 'payload' ->> 'reason' FROM events WHERE stream_id = $1
           ORDER BY stream_version DESC LIMIT 1""",
        f"agent-{li}",
    )
    assert reason == f"missed contact {c5['number']}"
    # answered contacts were not touched by their timers
    for ticket_id in (c3["ticket_id"], p1["ticket_id"], c4["ticket_id"], c6["ticket_id"]):
        assert (await center.ticket(ticket_id))["status"] == "serving"
    zhao_contacts = (await checkin.client.get("/agents/me/contacts", headers=zhao_h)).json()
    assert zhao_contacts["active"]["chat"] == 2

    # the limits were never exceeded at any moment: replay the assignments in order
    rows = await checkin.runtime.pool.fetch(
        """SELECT stream_id, event_type, envelope -> 'payload' AS payload FROM events
           WHERE stream_id = ANY($1::text[]) ORDER BY position""",
        [f"ticket-{c[key]}" for c in (c1, c2, c3, p1, c4, c5, c6) for key in ("ticket_id",)],
    )
    limits = {li: {"phone": 1, "chat": 2}, wang: {"phone": 1, "chat": 1}, zhao: {"chat": 3}}
    holder: dict[str, tuple[str, str]] = {}
    load: dict[tuple[str, str], int] = {}
    for row in rows:
        payload = _json(row["payload"])
        if row["event_type"] == "checkin.contact_assigned":
            kind = "phone" if payload["channel"] == "phone" else "chat"
            key = (payload["agent_id"], kind)
            load[key] = load.get(key, 0) + 1
            assert load[key] <= limits[key[0]][kind], (key, load)
            holder[row["stream_id"]] = key
        elif row["event_type"] in ("checkin.contact_unanswered", "checkin.ticket_completed"):
            key = holder.pop(row["stream_id"])
            load[key] -= 1

    # the read models rebuilt from Kafka equal the live ones
    async with standing_still(stack):  # nothing in flight, no timer fires meanwhile
        live = await cli(env_for_processes, "digest", "checkin")
        await cli(env_for_processes, "rebuild", "checkin")
        assert await cli(env_for_processes, "digest", "checkin") == live


async def test_owner_language_and_entry_rules(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    checkin = stack["checkin"]
    center = ContactCenter(checkin.client, token)
    await center.configure(
        queues=[
            {"queue": "account_security", "assignment_rules": ["owner_agent", "fewest_active"]},
            {"queue": "general", "assignment_rules": ["most_free_capacity"]},
        ]
    )
    wong, _ = await center.remote_agent(
        "wong", "desk-1", limits={"chat": 3, "email": 2}, languages=[CANTONESE]
    )
    chen, _ = await center.remote_agent("chen", "desk-2", limits={"chat": 3, "email": 2})
    # a customer asking in Cantonese gets the Cantonese speaker, even if the owner is chen
    yue = await center.contact("chat_web", language=CANTONESE, owner_agent_id=chen)
    assert yue["agent_id"] == wong
    # the owning agent first (fewest active would have chosen chen too: take wong as owner)
    owned = await center.contact("email", owner_agent_id=wong)
    assert owned["agent_id"] == wong
    assert [a["rule"] for a in await assignments(checkin, owned["ticket_id"])] == ["owner_agent"]
    # general: the most free places for the channel (chen: 2 emails free, wong: 1)
    general = await center.contact("email", queue="general")
    assert (general["queue"], general["agent_id"]) == ("general", chen)

    # idempotent: the same key gives the same contact and writes once
    key = f"contact-{uuid.uuid4().hex}"
    first = await center.contact("email", key=key, account="acct-idem")
    again = await center.contact("email", key=key, account="acct-idem")
    assert first == again
    count = await checkin.runtime.pool.fetchval(
        "SELECT count(*) FROM ticket_index WHERE account_ref = 'acct-idem' AND site_id = $1",
        center.site_id,
    )
    assert count == 1

    # bad input is 422; only staff and gateways may name an owner; walk-ins are tickets
    await center.contact("chat_qq", ivr_selection="1", expect=422)
    await center.contact("phone", ivr_selection="7", expect=409)  # not in the standard menu
    await center.contact("walk_in", expect=422)
    customer = auth(token("customer", sub=f"cust-{uuid.uuid4().hex[:6]}"))
    body = {
        "site_id": center.site_id,
        "channel": "chat_web",
        "owner_agent_id": chen,
        "intake": {
            "problem_category": "other",
            "account_ref": "acct-self",
            "language": {"tag": "zh-CN"},
        },
    }
    refused = await checkin.client.post("/contacts", json=body, headers=customer)
    assert refused.status_code == 403
    del body["owner_agent_id"]
    own_chat = await checkin.client.post("/contacts", json=body, headers=customer)
    assert own_chat.status_code == 201, own_chat.text
    assert own_chat.json()["queue"] == "general"
    walk_in_agent = await checkin.client.get("/agents/me/contacts", headers=auth(token("customer")))
    assert walk_in_agent.status_code == 403


async def test_simultaneous_arrivals_never_break_a_limit(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    checkin = stack["checkin"]
    center = ContactCenter(checkin.client, token)
    await center.configure(queues=[{"queue": "account_security"}, {"queue": "general"}])
    li, _ = await center.remote_agent("li", "desk-1", limits={"chat": 2, "phone": 1})
    wang, _ = await center.remote_agent("wang", "desk-2", limits={"chat": 2, "phone": 1})

    arrivals = await asyncio.gather(
        *(center.contact("chat_wechat" if n % 2 else "phone") for n in range(12))
    )
    offered = [c for c in arrivals if c["status"] == "called"]
    pooled = [c for c in arrivals if c["in_pool"]]
    assert len(offered) == 6  # 2 chats + 1 call each
    assert len(pooled) == 6
    for agent_id in (li, wang):
        mine = [c for c in offered if c["agent_id"] == agent_id]
        assert sorted(c["channel"] for c in mine) == ["chat_wechat", "chat_wechat", "phone"]
    rows = await checkin.runtime.pool.fetch(
        """SELECT agent_id, count(*) AS n FROM ticket_index WHERE site_id = $1
             AND status = 'called' GROUP BY agent_id""",
        center.site_id,
    )
    assert {row["agent_id"]: row["n"] for row in rows} == {li: 3, wang: 3}


async def test_a_pooled_contact_relaxes_its_language_after_the_limit(
    stack: dict[str, RunningService], token: Callable[..., str], clock: OffsetClock
) -> None:
    checkin = stack["checkin"]
    center = ContactCenter(checkin.client, token)
    await center.configure(
        queues=[{"queue": "account_security", "relax_after_minutes": 20}, {"queue": "general"}]
    )
    li, _ = await center.remote_agent("li", "desk-1", limits={"chat": 3})
    chat = await center.contact("chat_web", language=CANTONESE)
    assert chat["in_pool"]  # nobody speaks Cantonese, and it has not waited yet
    due = await checkin.runtime.pool.fetchval(
        "SELECT due_at FROM timers WHERE timer_id = $1", f"contact-relax:{chat['ticket_id']}"
    )
    assert due - datetime.fromisoformat(chat["issued_at"]) == timedelta(minutes=20)
    clock.advance(timedelta(minutes=21))
    assert checkin.runtime.timers is not None
    await checkin.runtime.timers.fire_due()
    offered = await center.assigned_to(chat["ticket_id"], li)
    assert offered["status"] == "called"
    called = await checkin.runtime.pool.fetchval(
        """SELECT envelope -> 'payload' -> 'match' FROM events WHERE stream_id = $1
             AND event_type = 'checkin.ticket_called'""",
        f"ticket-{chat['ticket_id']}",
    )
    match = _json(called)
    assert (match["language"], match["relaxed"]) == ("dialect_relaxed", True)


async def test_a_site_answers_the_phone_with_its_own_menu(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    center = ContactCenter(stack["checkin"].client, token)
    configured = await center.configure(
        queues=[{"queue": "wallet_payments"}, {"queue": "general"}],
        ivr_menu={"8": "wallet_payments", "9": "general"},
        desks=0,
    )
    assert configured["ivr_menu"] == {"8": "wallet_payments", "9": "general"}
    call = await center.contact("phone", ivr_selection="8")
    assert call["queue"] == "wallet_payments"
    refused = await center.contact("phone", ivr_selection="1", expect=409)
    assert "the menu is 8 wallet_payments, 9 general" in refused["detail"]
    # a menu leading to a queue the site does not serve is refused, nothing changes
    bad = await center.client.put(
        f"/sites/{center.site_id}",
        json={
            "name": "Test service center",
            "timezone": "Asia/Shanghai",
            "queues": [{"queue": "general"}],
            "ivr_menu": {"1": "account_security"},
        },
        headers=center.supervisor,
    )
    assert bad.status_code == 409
    assert "not served here" in bad.json()["detail"]
