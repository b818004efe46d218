"""Sites, desks, queues closed for the day, local-midnight numbering, agents signing in, on
break and out: over HTTP, with the events and read models on real Kafka and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from contracts.envelope import Actor
from contracts.events.checkin_sites import DeskKind
from runtime.context import CommandContext
from runtime.scheduler import OffsetClock
from services.checkin.application.sites import change_site, load_site
from services.checkin.domain.sites import AddDesk
from tests.conftest import auth, eventually
from tests.integration.checkin.helpers import Desk, stream_events
from tests.integration.conftest import RunningService

pytestmark = pytest.mark.integration


async def test_a_queue_closed_for_the_day_issues_nothing_and_says_when_it_opens(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    checkin = stack["checkin"]
    desk = Desk(checkin.client, token)
    await desk.configure()
    closed = await checkin.client.post(
        f"/sites/{desk.site_id}/queues/general/close",
        json={"reason": "specialist off sick"},
        headers=desk.supervisor,
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["closed_today"] == ["general"]
    before = await checkin.runtime.pool.fetchval("SELECT count(*) FROM ticket_index")
    refused = await desk.issue(category="other", expect=409)
    assert "general is closed for today" in refused["detail"]
    assert await checkin.runtime.pool.fetchval("SELECT count(*) FROM ticket_index") == before
    # other queues still issue
    await desk.issue(category="account_suspended")
    again = await checkin.client.post(
        f"/sites/{desk.site_id}/queues/general/close", json={}, headers=desk.supervisor
    )
    assert again.status_code == 409
    assert "already closed" in again.json()["detail"]
    opened = await checkin.client.post(
        f"/sites/{desk.site_id}/queues/general/open", headers=desk.supervisor
    )
    assert opened.status_code == 200
    assert (await desk.issue(category="other"))["number"] == "G001"
    agent = auth(token("agent"))
    forbidden = await checkin.client.post(
        f"/sites/{desk.site_id}/queues/general/close", json={}, headers=agent
    )
    assert forbidden.status_code == 403


async def test_outside_opening_hours_the_answer_names_the_next_opening(
    stack: dict[str, RunningService], token: Callable[..., str], clock: OffsetClock
) -> None:
    desk = Desk(stack["checkin"].client, token)
    local = clock.now().astimezone(ZoneInfo("Asia/Shanghai"))
    tomorrow = (local.weekday() + 1) % 7
    await desk.configure(opening_hours=[{"weekday": tomorrow, "opens": "09:00", "closes": "17:00"}])
    refused = await desk.issue(expect=409)
    assert "is closed now; it opens at" in refused["detail"]
    site = (await desk.client.get(f"/sites/{desk.site_id}", headers=desk.supervisor)).json()
    assert site["open_now"] is False
    opening = datetime.fromisoformat(site["next_opening"]).astimezone(ZoneInfo("Asia/Shanghai"))
    assert (opening.weekday(), opening.hour) == (tomorrow, 9)


async def test_numbers_restart_at_the_sites_local_midnight(
    stack: dict[str, RunningService], token: Callable[..., str], clock: OffsetClock
) -> None:
    """Shanghai is UTC+8: its midnight is 16:00 UTC. The day of a number is the local day."""
    desk = Desk(stack["checkin"].client, token)
    await desk.configure(timezone="Asia/Shanghai")
    first = await desk.issue()
    second = await desk.issue()
    assert (first["number"], second["number"]) == ("A001", "A002")
    zone = ZoneInfo("Asia/Shanghai")
    local_now = clock.now().astimezone(zone)
    assert first["service_day"] == local_now.date().isoformat()
    next_midnight = datetime.combine(
        local_now.date() + timedelta(days=1), datetime.min.time(), zone
    )
    clock.advance(next_midnight - clock.now() + timedelta(seconds=5))
    after = await desk.issue()
    assert after["number"] == "A001"
    assert after["service_day"] == next_midnight.date().isoformat()
    # 16:00:05 UTC: a UTC day would not have turned yet, the Shanghai day has
    assert clock.now().astimezone(UTC).hour == 16


async def test_a_site_first_met_unconfigured_numbers_on_its_own_day_once_it_has_a_time_zone(
    stack: dict[str, RunningService], token: Callable[..., str], clock: OffsetClock
) -> None:
    """A ticket reads its site with the queue's number in one statement, the number taken for
    the day the site's kept state says (``load_site_and_number``). When the site's events
    since then change that day, the number is taken again for the site's own day, and the one
    taken for the old day is not used up."""
    checkin = stack["checkin"]
    desk = Desk(checkin.client, token)
    now = clock.now()
    evening = datetime.combine(now.astimezone(UTC).date(), time(20), UTC)  # Shanghai: 04:00
    clock.advance(evening - now if evening > now else evening + timedelta(days=1) - now)
    utc_day = clock.now().astimezone(UTC).date()
    first = await desk.issue()  # a site nobody configured: UTC
    assert (first["number"], first["service_day"]) == ("A001", utc_day.isoformat())
    await desk.configure(timezone="Asia/Shanghai")
    shanghai_day = clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date()
    assert shanghai_day != utc_day
    second = await desk.issue()
    assert (second["number"], second["service_day"]) == ("A001", shanghai_day.isoformat())
    counters = await checkin.runtime.pool.fetch(
        """SELECT day, last_number FROM ticket_counters
           WHERE site_id = $1 AND queue = 'account_security' ORDER BY day""",
        desk.site_id,
    )
    assert [(row["day"], row["last_number"]) for row in counters] == [
        (utc_day, 1),
        (shanghai_day, 1),
    ]


async def test_agents_sign_in_at_a_desk_take_breaks_and_sign_out_as_events(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    checkin = stack["checkin"]
    desk = Desk(checkin.client, token)
    await desk.configure(desks=2)
    remote = await checkin.client.post(
        f"/sites/{desk.site_id}/desks",
        json={"desk_id": "remote-kl", "kind": "remote_position", "location": "Kuala Lumpur, MY"},
        headers=desk.supervisor,
    )
    assert remote.status_code == 201
    agent_id, headers = await desk.agent(None, languages=[{"tag": "zh-HK", "dialect": "yue"}])
    unknown_desk = await checkin.client.post(
        f"/agents/{agent_id}/sign-in",
        json={"site_id": desk.site_id, "desk_id": "nope"},
        headers=headers,
    )
    assert unknown_desk.status_code == 409
    assert "has no desk nope" in unknown_desk.json()["detail"]
    signed = await checkin.client.post(
        f"/agents/{agent_id}/sign-in",
        json={"site_id": desk.site_id, "desk_id": "remote-kl"},
        headers=headers,
    )
    assert signed.json()["status"] == "available"
    assert signed.json()["remote"] is True
    other, other_headers = await desk.agent(None)
    taken = await checkin.client.post(
        f"/agents/{other}/sign-in",
        json={"site_id": desk.site_id, "desk_id": "remote-kl"},
        headers=other_headers,
    )
    assert taken.status_code == 409
    assert f"taken by agent {agent_id}" in taken.json()["detail"]
    not_me = await checkin.client.post(f"/agents/{agent_id}/break", json={}, headers=other_headers)
    assert not_me.status_code == 403
    on_break = await checkin.client.post(
        f"/agents/{agent_id}/break", json={"reason": "lunch"}, headers=headers
    )
    assert on_break.json()["status"] == "on_break"
    refused = await checkin.client.post(f"/agents/{agent_id}/break", json={}, headers=headers)
    assert refused.status_code == 409
    assert (await checkin.client.post(f"/agents/{agent_id}/resume", headers=headers)).json()[
        "status"
    ] == "available"
    out = await checkin.client.post(f"/agents/{agent_id}/sign-out", headers=headers)
    assert out.json()["status"] == "offline"
    assert await stream_events(checkin.runtime.pool, f"agent-{agent_id}") == [
        "checkin.agent_profile_set",
        "checkin.agent_signed_in",
        "checkin.agent_status_changed",
        "checkin.agent_status_changed",
        "checkin.agent_signed_out",
    ]

    async def projected() -> bool:
        row = await checkin.runtime.pool.fetchrow(
            "SELECT status, site_id FROM agent_states WHERE agent_id = $1", agent_id
        )
        return row is not None and row["status"] == "offline" and row["site_id"] is None

    await eventually(projected)


async def test_a_queue_stops_issuing_when_the_forecast_runs_past_closing(
    stack: dict[str, RunningService], token: Callable[..., str], clock: OffsetClock
) -> None:
    """A zone where it is about noon now; the site closes in 40 minutes; one agent, 15-minute
    services: the third person could not be served before closing and is told so."""
    now = clock.now()
    offset = 12 - now.hour  # Etc/GMT-N is UTC+N
    zone = f"Etc/GMT{'-' if offset >= 0 else '+'}{abs(offset)}" if offset else "UTC"
    local = now.astimezone(ZoneInfo(zone))
    closes = (local + timedelta(minutes=40)).time().replace(second=0, microsecond=0)
    desk = Desk(stack["checkin"].client, token)
    await desk.configure(
        timezone=zone,
        opening_hours=[
            {"weekday": local.weekday(), "opens": "00:00", "closes": closes.isoformat()}
        ],
        queues=[{"queue": "account_security", "default_service_minutes": 15}],
    )
    await desk.agent("desk-1", queues=["account_security"])
    await desk.issue()
    refused = None
    for _ in range(4):
        answer = await desk.client.post(
            "/tickets",
            json={
                "site_id": desk.site_id,
                "intake": {
                    "problem_category": "account_suspended",
                    "account_ref": f"acct-late-{uuid.uuid4().hex[:8]}",
                    "language": {"tag": "zh-CN"},
                },
            },
            headers=desk.supervisor,
        )
        if answer.status_code == 409:
            refused = answer.json()["detail"]
            break
    assert refused is not None
    assert "cannot serve you before closing" in refused
    assert "it opens again at" in refused
    assert "book an appointment, or ask for a callback" in refused


async def test_a_site_read_again_is_brought_up_to_date_and_a_rolled_back_change_is_not_kept(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    """``load_site`` keeps the last state it read: a later change is folded in, and a state
    read inside a transaction that rolled back is not served afterwards, even once another
    event took its version."""
    checkin = stack["checkin"]
    desk = Desk(checkin.client, token)
    await desk.configure()
    runtime = checkin.runtime
    context = CommandContext.new(Actor(id="supervisor-1", role="supervisor"))
    at = datetime.now(UTC)

    async def add(desk_id: str) -> None:
        async with runtime.pool.acquire() as conn, conn.transaction():
            await change_site(
                conn, runtime.store, desk.site_id, AddDesk(desk_id, DeskKind.COUNTER, at), context
            )

    async def desks() -> set[str]:
        async with runtime.pool.acquire() as conn:
            return set((await load_site(conn, runtime.store, desk.site_id)).desks)

    before = await desks()
    await add("kept-1")
    assert await desks() == before | {"kept-1"}

    class RolledBack(Exception):
        pass

    async def add_read_and_roll_back() -> None:
        async with runtime.pool.acquire() as conn, conn.transaction():
            await change_site(
                conn,
                runtime.store,
                desk.site_id,
                AddDesk("rolled-back", DeskKind.COUNTER, at),
                context,
            )
            assert "rolled-back" in (await load_site(conn, runtime.store, desk.site_id)).desks
            raise RolledBack

    with pytest.raises(RolledBack):
        await add_read_and_roll_back()
    assert await desks() == before | {"kept-1"}
    await add("kept-2")  # takes the version the rolled-back event had
    assert await desks() == before | {"kept-1", "kept-2"}
