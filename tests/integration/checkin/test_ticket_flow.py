"""The ticket lifecycle and routing over HTTP, with events on real Kafka and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from runtime.scheduler import OffsetClock
from tests.conftest import auth, eventually
from tests.integration.checkin.helpers import Desk, stream_events
from tests.integration.conftest import RunningService

pytestmark = pytest.mark.integration

CANTONESE = {"tag": "zh-HK", "dialect": "yue"}


async def post(
    service: RunningService, path: str, headers: dict[str, str], body: Any = None
) -> Any:
    return await service.client.post(path, json=body if body is not None else {}, headers=headers)


async def test_a_ticket_from_call_next_to_completed_with_who_and_when(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    checkin = stack["checkin"]
    desk = Desk(checkin.client, token)
    await desk.configure()
    agent_id, agent = await desk.agent("desk-1")
    ticket = await desk.issue()
    assert ticket["status"] == "waiting"
    assert ticket["estimate"]["ahead"] == 0
    assert ticket["estimate"]["agents_serving"] == 1
    ticket_id = ticket["ticket_id"]

    called = await post(checkin, f"/agents/{agent_id}/call-next", agent)
    assert called.status_code == 200, called.text
    assert called.json()["ticket_id"] == ticket_id
    assert called.json()["desk_id"] == "desk-1"
    assert called.json()["match"]["language"] == "exact"
    status = (await checkin.client.get(f"/agents/{agent_id}", headers=agent)).json()
    assert (status["status"], status["ticket_id"]) == ("serving", ticket_id)
    busy = await post(checkin, f"/agents/{agent_id}/call-next", agent)
    assert busy.status_code == 409
    assert f"is serving with ticket {ticket_id}" in busy.json()["detail"]

    # someone else's ticket: refused, nothing written
    other_id, other = await desk.agent("desk-2")
    stream = f"ticket-{ticket_id}"
    before = await stream_events(checkin.runtime.pool, stream)
    stolen = await post(checkin, f"/tickets/{ticket_id}/start", other)
    assert stolen.status_code == 409
    assert f"called by agent {agent_id}, not by you" in stolen.json()["detail"]
    early = await post(checkin, f"/tickets/{ticket_id}/complete", agent)
    assert early.status_code == 409
    assert early.json()["detail"] == "cannot complete a ticket that is called"
    assert await stream_events(checkin.runtime.pool, stream) == before

    assert (await post(checkin, f"/tickets/{ticket_id}/recall", agent)).json()["recalls"] == 1
    assert (await post(checkin, f"/tickets/{ticket_id}/start", agent)).json()["status"] == "serving"
    done = await post(checkin, f"/tickets/{ticket_id}/complete", agent, {"resolution": "restored"})
    assert done.json()["status"] == "completed"
    assert (await checkin.client.get(f"/agents/{agent_id}", headers=agent)).json()[
        "status"
    ] == "available"
    assert await stream_events(checkin.runtime.pool, stream) == [
        "checkin.ticket_issued",
        "checkin.ticket_called",
        "checkin.ticket_recalled",
        "checkin.ticket_serving_started",
        "checkin.ticket_completed",
    ]
    actors = await checkin.runtime.pool.fetch(
        "SELECT envelope->'actor'->>'id' AS actor FROM events WHERE stream_id = $1 "
        "ORDER BY stream_version",
        stream,
    )
    assert [row["actor"] for row in actors][1:] == [agent_id] * 4
    assert (await post(checkin, f"/agents/{agent_id}/call-next", agent)).status_code == 204
    assert other_id


async def test_call_next_routes_by_language_then_relaxes_after_the_limit(
    stack: dict[str, RunningService], token: Callable[..., str], clock: OffsetClock
) -> None:
    checkin = stack["checkin"]
    desk = Desk(checkin.client, token)
    await desk.configure(
        queues=[{"queue": "account_security", "relax_after_minutes": 20}, {"queue": "general"}]
    )
    mandarin_id, mandarin = await desk.agent("desk-1")
    elderly = await desk.issue(language=CANTONESE, accessibility=["elderly"])
    later = await desk.issue()
    first = await post(checkin, f"/agents/{mandarin_id}/call-next", mandarin)
    assert first.json()["ticket_id"] == later["ticket_id"]  # the Cantonese speaker waits
    await post(checkin, f"/tickets/{later['ticket_id']}/start", mandarin)
    await post(checkin, f"/tickets/{later['ticket_id']}/complete", mandarin)
    assert (await post(checkin, f"/agents/{mandarin_id}/call-next", mandarin)).status_code == 204

    clock.advance(timedelta(minutes=21))
    relaxed = await post(checkin, f"/agents/{mandarin_id}/call-next", mandarin)
    assert relaxed.json()["ticket_id"] == elderly["ticket_id"]
    match = relaxed.json()["match"]
    assert match["relaxed"] is True
    assert match["language"] == "dialect_relaxed"
    assert "nobody present speaks zh-HK/yue" in match["explanation"]
    assert match["priority_reasons"] == ["accessibility"]
    stored = await checkin.runtime.pool.fetchval(
        "SELECT envelope->'payload'->'match'->>'explanation' FROM events "
        "WHERE stream_id = $1 AND event_type = 'checkin.ticket_called'",
        f"ticket-{elderly['ticket_id']}",
    )
    assert "dialect relaxed" in stored


async def test_transfer_to_a_specialist_keeps_the_arrival_time(
    stack: dict[str, RunningService], token: Callable[..., str], clock: OffsetClock
) -> None:
    checkin = stack["checkin"]
    desk = Desk(checkin.client, token)
    await desk.configure()
    general_id, general = await desk.agent("desk-1")
    ticket = await desk.issue()
    await post(checkin, f"/agents/{general_id}/call-next", general)
    await post(checkin, f"/tickets/{ticket['ticket_id']}/start", general)
    clock.advance(timedelta(minutes=5))
    newer = await desk.issue(category="minor_spending_refund")
    moved = await post(
        checkin,
        f"/tickets/{ticket['ticket_id']}/transfer",
        general,
        {"to_queue": "minors_family", "required_skill": "minors_refunds", "reason": "minor"},
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["status"], moved.json()["queue"], moved.json()["transfers"]) == (
        "waiting",
        "minors_family",
        1,
    )
    assert (await checkin.client.get(f"/agents/{general_id}", headers=general)).json()[
        "status"
    ] == "available"
    specialist_id, specialist = await desk.agent(
        "desk-2", queues=["minors_family"], skills=["minors_refunds"]
    )
    first = await post(checkin, f"/agents/{specialist_id}/call-next", specialist)
    assert first.json()["ticket_id"] == ticket["ticket_id"]  # older arrival, ahead of `newer`
    assert first.json()["match"]["skill"] == "exact"
    assert newer["ticket_id"] != ticket["ticket_id"]


async def test_park_and_return_and_the_no_show_timer(
    stack: dict[str, RunningService], token: Callable[..., str], clock: OffsetClock
) -> None:
    checkin = stack["checkin"]
    desk = Desk(checkin.client, token)
    await desk.configure(queues=[{"queue": "account_security", "no_show_after_minutes": 5}])
    agent_id, agent = await desk.agent("desk-1", queues=["account_security"])
    ticket = await desk.issue()
    ticket_id = ticket["ticket_id"]
    parked = await post(checkin, f"/tickets/{ticket_id}/park", agent, {"reason": "fetching ID"})
    assert parked.json()["status"] == "parked"
    assert (await post(checkin, f"/agents/{agent_id}/call-next", agent)).status_code == 204
    assert (await post(checkin, f"/tickets/{ticket_id}/return", agent)).json()[
        "status"
    ] == "waiting"
    assert (await post(checkin, f"/agents/{agent_id}/call-next", agent)).json()[
        "ticket_id"
    ] == ticket_id

    clock.advance(timedelta(minutes=6))
    await checkin.timers.fire_due()
    seen = (await checkin.client.get(f"/tickets/{ticket_id}", headers=agent)).json()
    assert seen["status"] == "no_show"
    assert (await checkin.client.get(f"/agents/{agent_id}", headers=agent)).json()[
        "status"
    ] == "available"
    reason = await checkin.runtime.pool.fetchval(
        "SELECT envelope->'payload'->>'reason' FROM events WHERE stream_id = $1 "
        "AND event_type = 'checkin.ticket_no_show'",
        f"ticket-{ticket_id}",
    )
    assert reason == "not_at_desk_in_time"


async def test_customers_see_their_own_tickets_with_position_and_estimate(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    checkin = stack["checkin"]
    desk = Desk(checkin.client, token)
    await desk.configure()
    await desk.agent("desk-1")
    customer = f"cust-{uuid.uuid4().hex[:6]}"
    for _ in range(2):
        await desk.issue()
    mine = await desk.issue(customer=customer)
    own = auth(token("customer", sub=customer))
    seen = await checkin.client.get(f"/tickets/{mine['ticket_id']}", headers=own)
    assert seen.status_code == 200
    estimate = seen.json()["estimate"]
    assert estimate["ahead"] == 2
    assert estimate["low_minutes"] <= estimate["expected_minutes"] <= estimate["high_minutes"]
    assert estimate["expected_minutes"] > 0
    stranger = auth(token("customer", sub="cust-stranger"))
    assert (
        await checkin.client.get(f"/tickets/{mine['ticket_id']}", headers=stranger)
    ).status_code == 404
    listed = (await checkin.client.get("/customers/me/tickets", headers=own)).json()
    assert [t["ticket_id"] for t in listed] == [mine["ticket_id"]]
    left = await post(checkin, f"/tickets/{mine['ticket_id']}/leave", own, {"reason": "later"})
    assert left.json()["status"] == "left"


async def test_virtual_queue_one_active_ticket_and_position_notices(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    checkin = stack["checkin"]
    desk = Desk(checkin.client, token)
    await desk.configure()
    agent_id, agent = await desk.agent("desk-1")
    customer = f"cust-{uuid.uuid4().hex[:6]}"
    account = f"acct-{uuid.uuid4().hex[:6]}"
    walk_ins = [await desk.issue() for _ in range(2)]
    virtual = await desk.issue(channel="virtual_queue", customer=customer, account=account)
    again = await desk.issue(channel="virtual_queue", customer=customer, expect=409)
    assert f"already holds ticket {virtual['number']}" in again["detail"]
    same_account = await desk.issue(
        channel="virtual_queue", customer="cust-spouse", account=account, expect=409
    )
    assert "one active ticket at a time" in same_account["detail"]

    for ticket in walk_ins:
        called = await post(checkin, f"/agents/{agent_id}/call-next", agent)
        assert called.json()["ticket_id"] == ticket["ticket_id"]
        await post(checkin, f"/tickets/{ticket['ticket_id']}/start", agent)
        await post(checkin, f"/tickets/{ticket['ticket_id']}/complete", agent)

    async def told() -> list[int] | None:
        rows = await checkin.runtime.pool.fetch(
            """SELECT (envelope->'payload'->>'ahead')::int AS ahead FROM events
               WHERE stream_id = $1 AND event_type = 'checkin.ticket_position_changed'
               ORDER BY stream_version""",
            f"ticket-{virtual['ticket_id']}",
        )
        aheads = [row["ahead"] for row in rows]
        return aheads if aheads and aheads[-1] == 0 else None

    aheads = await eventually(told)
    assert aheads[-1] == 0  # "you are next"
    assert aheads == sorted(aheads, reverse=True)


async def test_an_escalated_case_raises_the_accounts_waiting_tickets(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    """Driven through the cases service: it opens a case from the ticket, a worker escalates
    it, cases publishes cases.case_escalated, check-in raises the account's waiting ticket."""
    checkin = stack["checkin"]
    desk = Desk(checkin.client, token)
    await desk.configure()
    agent_id, agent = await desk.agent("desk-1")
    account = f"acct-{uuid.uuid4().hex[:8]}"
    older = await desk.issue()
    repeat = await desk.issue(account=account)

    # the cases service opened a case from the ticket; a worker escalates it there
    async def case_of_ticket() -> Any:
        found = await stack["cases"].client.get(
            f"/cases?ticket_id={repeat['ticket_id']}", headers=agent
        )
        return found.json() if found.status_code == 200 else None

    [case] = await eventually(case_of_ticket)
    escalated = await stack["cases"].client.post(
        f"/cases/{case['case_id']}/escalation", json={}, headers=agent
    )
    assert escalated.status_code == 200, escalated.text

    async def raised() -> bool:
        ticket = await checkin.client.get(f"/tickets/{repeat['ticket_id']}", headers=agent)
        return bool(ticket.json()["escalated"])

    await eventually(raised)
    called = await post(checkin, f"/agents/{agent_id}/call-next", agent)
    assert called.json()["ticket_id"] == repeat["ticket_id"]  # ahead of the older walk-in
    assert called.json()["match"]["priority_reasons"] == ["escalated"]
    assert older["ticket_id"] != repeat["ticket_id"]


async def test_a_ticket_waiting_for_its_number_counts_the_issue_that_held_it_ahead(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    """The queue's estimate facts are read in the statement that takes the ticket's number,
    after it (migrations/0009): an issue that waited for the number sees the ticket of the
    issue that held it, committed meanwhile, ahead of it."""
    checkin = stack["checkin"]
    desk = Desk(checkin.client, token)
    await desk.configure()
    first = await desk.issue()  # the queue's counter and its waiting count exist now
    assert first["place"]["ahead"] == 0
    async with checkin.runtime.pool.acquire() as other, other.transaction():
        # another issue of the queue: its number taken, its ticket waiting, not committed yet
        await other.execute(
            "UPDATE ticket_counters SET last_number = last_number + 1 "
            "WHERE site_id = $1 AND queue = $2",
            desk.site_id,
            first["queue"],
        )
        await other.execute(
            "UPDATE queue_waiting SET waiting = waiting + 1 WHERE site_id = $1 AND queue = $2 "
            "AND channel = 'walk_in' AND problem_category = 'account_suspended'",
            desk.site_id,
            first["queue"],
        )
        issuing = asyncio.create_task(desk.issue())

        async def waits_for_the_number() -> bool:
            return bool(
                await checkin.runtime.pool.fetchval(
                    """SELECT count(*) FROM pg_stat_activity
                       WHERE datname = current_database() AND wait_event_type = 'Lock'
                         AND query LIKE '%ticket_counters%'"""
                )
            )

        await eventually(waits_for_the_number)
    third = await issuing
    assert third["number"].endswith("003")
    assert third["place"] == {"ahead": 2, "you_are_next": False}
