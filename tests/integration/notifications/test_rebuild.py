"""The notifications read models are a function of the stream: after messages (sent, failed,
delivered), callbacks (scheduled, attempted, moved, missed) and preferences, dropping the read
models and replaying Kafka gives exactly the same rows."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from contracts.events.notifications import MessageChannel
from runtime.scheduler import OffsetClock
from runtime.settings import ServiceSettings
from tests.conftest import auth
from tests.integration.conftest import RunningService
from tests.integration.kafka_tools import standing_still
from tests.integration.notifications.conftest import Sandboxes
from tests.integration.notifications.test_callbacks import (
    callback_view,
    promise_callback,
    record,
)
from tests.integration.notifications.test_delivery import fake_phone, issue_ticket, message_of
from tests.integration.test_http import intake
from tests.integration.test_rebuild import cli

pytestmark = pytest.mark.integration

Stack = dict[str, RunningService]


async def test_rebuilt_read_models_equal_the_live_ones(
    stack: Stack,
    settings: ServiceSettings,
    clock: OffsetClock,
    token: Callable[..., str],
    sandboxes: Sandboxes,
    env_for_processes: dict[str, str],
) -> None:
    client = stack["notifications"].client
    staff = auth(token("agent"))
    # the callbacks' attempts below are recorded at once, which the person's quiet hours
    # (21:00-08:00 in Shanghai) refuse: move the shared clock (it only goes forward) to the
    # day, never depend on the hour the suite runs at
    local = clock.now().astimezone(ZoneInfo("Asia/Shanghai"))
    if not 9 <= local.hour < 13:
        ten = local.replace(hour=10, minute=0, second=0, microsecond=0)
        clock.advance((ten if ten > local else ten + timedelta(days=1)) - local)
    # preferences, a message on a preferred channel, delivered by receipt
    account = f"acct-{uuid.uuid4().hex[:8]}"
    answer = await client.put(
        f"/recipients/{account}/preferences",
        json={
            "channels": ["wechat", "sms"],
            "wechat": f"wx-{account}",
            "phone": "+8613900000001",
            "marketing_consent": ["wechat"],
            "timezone": "Asia/Shanghai",
        },
        headers=staff,
    )
    assert answer.status_code == 200, answer.text
    ticket = await issue_ticket(stack, token, fake_phone(), account=account)
    sent = await message_of(stack, token, f"ticket:{ticket['ticket_id']}")
    assert sent["channel"] == "wechat"
    receipt = await sandboxes.providers[MessageChannel.WECHAT].receipt(sent["provider_message_id"])
    await client.post(
        "/notifications/receipts",
        content=receipt["body"],
        headers={"X-Frontdesk-Signature": receipt["signature"]},
    )
    # a failed message
    await sandboxes.providers[MessageChannel.SMS].fail_next(1, status=422)
    failing = await issue_ticket(stack, token, fake_phone())
    await message_of(stack, token, f"ticket:{failing['ticket_id']}", status="failed")
    # a customer's own ticket: its case belongs to them
    body = intake(f"acct-{uuid.uuid4().hex[:8]}")
    mine = await stack["checkin"].client.post(
        "/tickets", json=body, headers=auth(token("customer", sub=f"cust-{account}"))
    )
    assert mine.status_code == 201, mine.text
    # callbacks: one kept, one moved and missed
    kept = await promise_callback(stack, settings, clock)
    await callback_view(stack, token, kept.callback_id)
    await record(stack, token, kept.callback_id, "no_answer")
    await record(stack, token, kept.callback_id, "reached")
    missed = await promise_callback(stack, settings, clock, hours=6)
    view = await callback_view(stack, token, missed.callback_id)
    await record(stack, token, missed.callback_id, "wrong_number")
    clock.advance(timedelta(hours=7))
    timers = stack["notifications"].runtime.timers
    assert timers is not None
    await timers.fire_due()
    assert view["status"] == "scheduled"

    async with standing_still(stack):  # nothing in flight, no timer fires meanwhile
        before = await cli(env_for_processes, "digest", "notifications")
        # every read model has rows, except the campaigns' (test_campaigns.py proves theirs)
        assert all(
            not value.startswith("0:") for table, value in before.items() if "campaign" not in table
        ), before
        reports = await cli(env_for_processes, "rebuild", "notifications")
        assert {report["group"] for report in reports} >= {
            "notifications.projections",
            "notifications.case_customers",
            "notifications.ticket_cases",
        }, reports
        after = await cli(env_for_processes, "digest", "notifications")
    assert after == before
