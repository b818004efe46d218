"""Campaigns over the real paths: tags and cases through the cases service's API (its events
on Kafka feed notifications' read models), preferences and consent through notifications' API,
the campaign's SMS and WeChat messages through the sandbox provider processes, time through
the shared clock and the durable timers."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from contracts.events.notifications import MessageChannel
from contracts.events.notifications_campaigns import NOTIFICATIONS_CAMPAIGNS
from runtime.eventstore import CommandContext
from runtime.scheduler import OffsetClock, schedule
from runtime.settings import ServiceSettings
from services.notifications.application.campaigns import BATCH_TIMER, batch_timer_id, run_batch
from services.notifications.application.messages import SERVICE_ACTOR
from tests.conftest import auth, eventually
from tests.integration.conftest import RunningService
from tests.integration.kafka_tools import standing_still
from tests.integration.notifications.conftest import Sandboxes, in_marketing_hours, wiring_of
from tests.integration.test_rebuild import cli

pytestmark = pytest.mark.integration

Stack = dict[str, RunningService]


def phone() -> str:
    return f"+86139{random.randint(10_000_000, 99_999_999)}"


async def set_preferences(
    stack: Stack, token: Callable[..., str], account: str, **preferences: Any
) -> None:
    answer = await stack["notifications"].client.put(
        f"/recipients/{account}/preferences",
        json=preferences,
        headers=auth(token("agent")),
    )
    assert answer.status_code == 200, answer.text


async def tag(stack: Stack, token: Callable[..., str], account: str, name: str) -> None:
    answer = await stack["cases"].client.post(
        f"/accounts/{account}/tags", json={"tag": name}, headers=auth(token("supervisor"))
    )
    assert answer.status_code == 201, answer.text


async def open_case(
    stack: Stack, token: Callable[..., str], account: str, case_type: str
) -> dict[str, Any]:
    answer = await stack["cases"].client.post(
        "/cases",
        json={
            "account_ref": account,
            "case_type": case_type,
            "channel": "phone",
            "language": {"tag": "zh-CN"},
        },
        headers=auth(token("agent")),
    )
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def read_models_see(
    stack: Stack, name: str, members: int, cases: list[str], consents: list[str]
) -> None:
    """Wait until notifications' read models caught up with the tags, cases and preferences."""
    pool = stack["notifications"].runtime.pool

    async def probe() -> bool:
        tagged = await pool.fetchval(
            "SELECT count(*) FROM campaign_tag_members WHERE tag = $1", name
        )
        known = await pool.fetchval(
            "SELECT count(*) FROM campaign_account_cases WHERE case_id::text = ANY($1)", cases
        )
        prefs = await pool.fetchval(
            "SELECT count(*) FROM recipient_preferences WHERE recipient_ref = ANY($1)",
            [f"account:{a}" for a in consents],
        )
        return tagged == members and known == len(cases) and prefs == len(consents)

    await eventually(probe, within=120)


async def campaign(stack: Stack, token: Callable[..., str], campaign_id: str) -> dict[str, Any]:
    answer = await stack["notifications"].client.get(
        f"/campaigns/{campaign_id}", headers=auth(token("supervisor"))
    )
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def fire(stack: Stack) -> None:
    timers = stack["notifications"].runtime.timers
    assert timers is not None
    await timers.fire_due()


def start_body(name: str, channel: str, rate: int) -> dict[str, Any]:
    return {
        "name": "Wallet back: November",
        "tag": name,
        "channel": channel,
        "contents": [
            {"language": "zh-CN", "title": "钱包已恢复", "body": "本月使用钱包支付享九折。"},
            {"language": "en", "title": "Your wallet is back", "body": "10% off this month."},
        ],
        "default_language": "en",
        "rate_per_minute": rate,
    }


async def test_a_campaign_that_respects_consent_and_can_be_cancelled(
    stack: Stack,
    token: Callable[..., str],
    clock: OffsetClock,
    sandboxes: Sandboxes,
) -> None:
    run = uuid.uuid4().hex[:8]
    name = f"wallet-{run}"
    sms = sandboxes.providers[MessageChannel.SMS]
    # targets (consented to marketing by SMS), in account order: a1, a2, a3
    targets = {f"acct-{run}-a{i}": phone() for i in (1, 2, 3)}
    for account, number in targets.items():
        await set_preferences(
            stack,
            token,
            account,
            channels=["sms"],
            phone=number,
            marketing_consent=["sms"],
            language={"tag": "zh-CN"},
        )
    # no consent on SMS: opted out, consented on WeChat only, never set any preference
    opted_out, wechat_only, silent = (f"acct-{run}-{k}" for k in ("n1", "n2", "n3"))
    await set_preferences(stack, token, opted_out, channels=["sms"], phone=phone())
    await set_preferences(
        stack,
        token,
        wechat_only,
        channels=["wechat"],
        wechat=f"wx-{run}",
        marketing_consent=["wechat"],
    )
    # consented, but with an open appeal: never marketed to
    appealing, appealing_phone = f"acct-{run}-x1", phone()
    await set_preferences(
        stack,
        token,
        appealing,
        channels=["sms"],
        phone=appealing_phone,
        marketing_consent=["sms"],
    )
    appeal = await open_case(stack, token, appealing, "account_suspension_appeal")
    # an open case that is not a complaint (a wallet reactivation) does not exclude a1
    service = await open_case(stack, token, f"acct-{run}-a1", "wallet_reactivation")
    everyone = [*targets, opted_out, wechat_only, silent, appealing]
    for account in everyone:
        await tag(stack, token, account, name)
    await read_models_see(
        stack,
        name,
        members=len(everyone),
        cases=[appeal["case_id"], service["case_id"]],
        consents=[*targets, opted_out, wechat_only, appealing],
    )

    # start: 1 per minute, by SMS; the same Idempotency-Key starts it once — in business
    # hours in Shanghai (marketing waits for the people's hours: test_campaign_followups.py)
    in_marketing_hours(clock)
    client = stack["notifications"].client
    supervisor = auth(token("supervisor", sub=f"sup-{run}"))
    headers = {**supervisor, "Idempotency-Key": f"campaign-{run}"}
    body = start_body(name, "sms", rate=1)
    started = await client.post("/campaigns", json=body, headers=headers)
    assert started.status_code == 201, started.text
    again = await client.post("/campaigns", json=body, headers=headers)
    assert again.json()["campaign_id"] == started.json()["campaign_id"]
    view = started.json()
    campaign_id = view["campaign_id"]
    assert view["status"] == "running"
    assert (view["members"], view["targeted"]) == (7, 3)
    assert (view["skipped_consent"], view["skipped_excluded"]) == (3, 1)
    assert (
        await stack["notifications"].runtime.pool.fetchval(
            "SELECT count(*) FROM events WHERE stream_id LIKE 'campaign-%' "
            "AND envelope->'payload'->>'tag' = $1",
            name,
        )
        == 1
    )

    # batch 1 (due at the start): a1 gets the campaign by SMS, in Chinese, with the opt-out
    await fire(stack)
    first = targets[f"acct-{run}-a1"]

    async def received(number: str) -> list[dict[str, Any]]:
        return [m for m in await sms.amessages() if m["to"] == number]

    [message] = await eventually(lambda: received(first))
    assert "本月使用钱包支付享九折" in message["body"]
    assert "退订" in message["body"]
    view = await campaign(stack, token, campaign_id)
    assert (view["processed"], view["requested"], view["remaining"]) == (1, 1, 2)

    # a2 withdraws consent before their batch: batch 2 (a minute later) skips them
    await set_preferences(
        stack,
        token,
        f"acct-{run}-a2",
        channels=["sms"],
        phone=targets[f"acct-{run}-a2"],
        marketing_consent=[],
    )
    clock.advance(timedelta(seconds=61))
    await fire(stack)
    view = await campaign(stack, token, campaign_id)
    assert (view["processed"], view["requested"], view["skipped_consent"]) == (2, 1, 4)

    # cancelled midway: a3 never gets anything, whatever the timers do later
    cancelled = await client.post(
        f"/campaigns/{campaign_id}/cancel", json={"reason": "wrong audience"}, headers=supervisor
    )
    assert cancelled.status_code == 200, cancelled.text
    view = cancelled.json()
    assert view["status"] == "cancelled"
    assert (view["requested"], view["remaining"]) == (1, 1)
    refused = await client.post(f"/campaigns/{campaign_id}/cancel", headers=supervisor)
    assert refused.status_code == 409
    assert "already cancelled" in refused.json()["detail"]
    # a batch timer that fires after the cancel (say it was already due) sends nothing
    pool = stack["notifications"].runtime.pool
    async with pool.acquire() as conn:
        await schedule(
            conn,
            batch_timer_id(uuid.UUID(campaign_id)),
            BATCH_TIMER,
            clock.now(),
            {"campaign_id": campaign_id, "correlation_id": str(uuid.uuid4())},
        )
    clock.advance(timedelta(minutes=5))
    await fire(stack)
    assert await received(targets[f"acct-{run}-a3"]) == []
    assert await received(targets[f"acct-{run}-a2"]) == []
    assert await received(appealing_phone) == []
    assert len(await received(first)) == 1

    # the message is an ordinary marketing notification; its receipt counts as delivered
    async def logged_once() -> list[Any]:
        # the message log is a projection (the provider got the message before it may show)
        return await pool.fetch(
            "SELECT notification_id, purpose, kind FROM notification_log WHERE campaign_id = $1",
            uuid.UUID(campaign_id),
        )

    [logged] = await eventually(logged_once)
    assert (logged["purpose"], logged["kind"]) == ("marketing", "campaign")
    receipt = await sms.receipt(message["message_id"])
    taken = await client.post(
        "/notifications/receipts",
        content=receipt["body"],
        headers={"X-Frontdesk-Signature": receipt["signature"]},
    )
    assert taken.status_code == 200, taken.text

    async def delivered() -> dict[str, Any] | None:
        current = await campaign(stack, token, campaign_id)
        return current if current["delivered"] == 1 else None

    view = await eventually(delivered)
    assert (view["sent"], view["delivered"], view["failed"]) == (1, 1, 0)

    # the list (read model of the campaigns topic) shows the same
    async def listed() -> dict[str, Any] | None:
        answer = await client.get("/campaigns", params={"tag": name}, headers=supervisor)
        rows = [c for c in answer.json() if c["status"] == "cancelled"]
        return rows[0] if rows else None

    summary = await eventually(listed)
    assert (summary["targeted"], summary["requested"], summary["delivered"]) == (3, 1, 1)
    assert summary["skipped_consent"] == 4


async def test_a_campaign_runs_to_completion_at_its_rate_and_the_read_models_rebuild(
    stack: Stack,
    token: Callable[..., str],
    clock: OffsetClock,
    sandboxes: Sandboxes,
    settings: ServiceSettings,
    env_for_processes: dict[str, str],
) -> None:
    run = uuid.uuid4().hex[:8]
    name = f"qidian-{run}"
    wechat = sandboxes.providers[MessageChannel.WECHAT]
    accounts = [f"acct-{run}-{i}" for i in range(4)]
    for account in accounts:
        await set_preferences(
            stack,
            token,
            account,
            channels=["wechat"],
            wechat=f"wx-{account}",
            marketing_consent=["wechat"],
            language={"tag": "fr-FR"},
        )
        await tag(stack, token, account, name)
    # an open case that is no complaint does not exclude; the same kind, escalated, does
    calm = await open_case(stack, token, accounts[0], "other")
    escalated = await open_case(stack, token, accounts[3], "other")
    answer = await stack["cases"].client.post(
        f"/cases/{escalated['case_id']}/escalation", json={}, headers=auth(token("supervisor"))
    )
    assert answer.status_code == 200, answer.text
    pool = stack["notifications"].runtime.pool
    await read_models_see(
        stack, name, len(accounts), [calm["case_id"], escalated["case_id"]], accounts
    )

    async def escalation_seen() -> bool:
        return bool(
            await pool.fetchval(
                "SELECT escalated FROM campaign_account_cases WHERE case_id = $1",
                uuid.UUID(escalated["case_id"]),
            )
        )

    await eventually(escalation_seen)
    supervisor = auth(token("admin"))
    in_marketing_hours(clock)
    started = await stack["notifications"].client.post(
        "/campaigns", json=start_body(name, "wechat", rate=120), headers=supervisor
    )
    assert started.status_code == 201, started.text
    campaign_id = started.json()["campaign_id"]
    assert started.json()["targeted"] == 3
    assert started.json()["skipped_excluded"] == 1
    # 120 per minute: 2 targets every second; two batches
    await fire(stack)
    clock.advance(timedelta(seconds=1))
    await fire(stack)

    async def completed() -> dict[str, Any] | None:
        view = await campaign(stack, token, campaign_id)
        return view if view["status"] == "completed" and view["sent"] == 3 else None

    view = await eventually(completed)
    assert (view["requested"], view["remaining"], view["failed"]) == (3, 0, 0)
    for account in accounts[:3]:
        [message] = [m for m in await wechat.amessages() if m["to"] == f"wx-{account}"]
        # no French content: the whole message is in the default language, English
        assert "10% off this month." in message["body"]
        assert "Reply STOP" in message["body"]
    assert [m for m in await wechat.amessages() if m["to"] == f"wx-{accounts[3]}"] == []
    # no more batches once completed
    assert not await pool.fetchval(
        "SELECT 1 FROM timers WHERE timer_id = $1", batch_timer_id(uuid.UUID(campaign_id))
    )

    # the read models are a function of the stream
    tables = ("campaigns", "campaign_tag_members", "campaign_account_cases")
    async with standing_still(stack):  # nothing in flight, no timer fires meanwhile
        before = await cli(env_for_processes, "digest", "notifications")
        for group in ("notifications.campaigns", "notifications.campaign_audience"):
            await cli(env_for_processes, "rebuild", "notifications", "--group", group)
        after = await cli(env_for_processes, "digest", "notifications")
    assert {t: after[t] for t in tables} == {t: before[t] for t in tables}
    assert all(not before[t].startswith("0:") for t in tables)
    assert settings.kafka.topic(NOTIFICATIONS_CAMPAIGNS.name)


async def test_a_cancel_racing_a_batch_waits_for_it_and_nothing_is_requested_twice(
    stack: Stack, token: Callable[..., str], clock: OffsetClock, sandboxes: Sandboxes
) -> None:
    """The batch holds its timer's row while it runs (as the timer runner does); a cancel
    arriving then waits for the batch to commit, and counts that batch's message as requested;
    running the same batch again changes nothing."""
    run = uuid.uuid4().hex[:8]
    name = f"race-{run}"
    accounts = [f"acct-{run}-{i}" for i in range(3)]
    for account in accounts:
        await set_preferences(
            stack, token, account, channels=["sms"], phone=phone(), marketing_consent=["sms"]
        )
        await tag(stack, token, account, name)
    await read_models_see(stack, name, len(accounts), [], accounts)
    supervisor = auth(token("supervisor"))
    client = stack["notifications"].client
    in_marketing_hours(clock)
    started = await client.post(
        "/campaigns", json=start_body(name, "sms", rate=1), headers=supervisor
    )
    assert started.status_code == 201, started.text
    campaign_id = uuid.UUID(started.json()["campaign_id"])
    await fire(stack)  # batch 1 (due at once); batch 2 is due in a minute
    assert (await campaign(stack, token, str(campaign_id)))["processed"] == 1

    runtime = stack["notifications"].runtime
    timer_id = batch_timer_id(campaign_id)
    batch = await runtime.pool.acquire()
    transaction = batch.transaction()
    await transaction.start()
    try:
        # the firing batch: its timer row locked and deleted, its effect not yet committed
        assert await batch.fetchval("SELECT 1 FROM timers WHERE timer_id = $1 FOR UPDATE", timer_id)
        await batch.execute("DELETE FROM timers WHERE timer_id = $1", timer_id)
        context = CommandContext(actor=SERVICE_ACTOR, correlation_id=uuid.uuid4())
        await run_batch(
            batch,
            runtime.store,
            campaign_id,
            context,
            clock.now() + timedelta(minutes=1),
            wiring_of(stack).settings,
        )
        cancelling = asyncio.create_task(
            client.post(f"/campaigns/{campaign_id}/cancel", headers=supervisor)
        )

        async def cancel_waits() -> bool:
            return bool(
                await runtime.pool.fetchval(
                    """SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'
                       AND query LIKE 'DELETE FROM timers%'"""
                )
            )

        await eventually(cancel_waits)
        assert not cancelling.done()
        await transaction.commit()
    except BaseException:
        await transaction.rollback()
        raise
    finally:
        await runtime.pool.release(batch)
    cancelled = await cancelling
    assert cancelled.status_code == 200, cancelled.text
    view = cancelled.json()
    assert (view["status"], view["processed"], view["requested"], view["remaining"]) == (
        "cancelled",
        2,
        2,
        1,
    )
    assert not await runtime.pool.fetchval("SELECT 1 FROM timers WHERE timer_id = $1", timer_id)
    # the same batch again (a crash and a retry, a stale timer): nothing new
    async with runtime.pool.acquire() as conn, conn.transaction():
        await run_batch(
            conn, runtime.store, campaign_id, context, clock.now(), wiring_of(stack).settings
        )
    requested = await runtime.pool.fetchval(
        """SELECT count(*) FROM events WHERE event_type = 'notifications.notification_requested'
           AND envelope->'payload'->>'campaign_id' = $1""",
        str(campaign_id),
    )
    assert requested == 2
    events = await runtime.pool.fetch(
        "SELECT event_type FROM events WHERE stream_id = $1 ORDER BY stream_version",
        f"campaign-{campaign_id}",
    )
    assert [e["event_type"].removeprefix("notifications.") for e in events] == [
        "campaign_started",
        "campaign_progressed",
        "campaign_progressed",
        "campaign_cancelled",
    ]
