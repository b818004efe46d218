"""Campaign follow-ups over the real paths (Kafka, PostgreSQL, the sandbox provider processes,
the cases API for tags, the shared clock and the durable timers): marketing waits for each
person's hours in their own timezone; a batch skips who lost the tag or has no allowed hour;
a cancel withdraws the messages still waiting, and nothing goes out after it; a "TD" reply by
SMS withdraws consent (and the waiting message); the inbound webhook is signed and
idempotent; an organization's contact in its data export; retention of what campaigns and
organizations leave behind."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from contracts.events.notifications import MessageChannel
from contracts.events.verification_organizations import (
    OrganizationSubmitted,
    OrganizationVerified,
)
from runtime.retention import purge
from runtime.scheduler import OffsetClock, schedule
from runtime.settings import ServiceSettings
from services.notifications.adapters.http_provider import signature_of
from tests.conftest import auth, eventually
from tests.integration.conftest import RunningService
from tests.integration.notifications.conftest import (
    SETTINGS,
    Sandbox,
    Sandboxes,
    advance_to_local,
    publish,
)
from tests.integration.notifications.test_campaigns import (
    campaign,
    fire,
    phone,
    read_models_see,
    set_preferences,
    start_body,
    tag,
)

pytestmark = pytest.mark.integration

Stack = dict[str, RunningService]
SHANGHAI = "Asia/Shanghai"


async def untag(stack: Stack, token: Callable[..., str], account: str, name: str) -> None:
    answer = await stack["cases"].client.delete(
        f"/accounts/{account}/tags/{name}", headers=auth(token("supervisor"))
    )
    assert answer.status_code == 200, answer.text


async def received(sandbox: Sandbox, address: str) -> list[dict[str, Any]]:
    return [m for m in await sandbox.amessages() if m["to"] == address]


async def reply(sandbox: Sandbox, sender: str, text: str) -> dict[str, Any]:
    """The person answers from ``sender``: the sandbox makes the provider's signed report."""
    async with httpx.AsyncClient(timeout=60) as client:
        answer = await client.post(
            f"{sandbox.url}/sandbox/inbound", json={"from": sender, "text": text}
        )
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def deliver_inbound(stack: Stack, report: dict[str, Any]) -> httpx.Response:
    return await stack["notifications"].client.post(
        "/notifications/webhooks/inbound",
        content=report["body"].encode(),
        headers={"X-Frontdesk-Signature": report["signature"]},
    )


async def log_of(stack: Stack, campaign_id: str) -> dict[str, tuple[str, str | None]]:
    rows = await stack["notifications"].runtime.pool.fetch(
        """SELECT recipient_ref, status, withdrawn_reason FROM notification_log
           WHERE campaign_id = $1""",
        uuid.UUID(campaign_id),
    )
    return {r["recipient_ref"]: (r["status"], r["withdrawn_reason"]) for r in rows}


async def test_marketing_waits_for_each_persons_hours_and_a_td_reply_withdraws_it(
    stack: Stack,
    token: Callable[..., str],
    clock: OffsetClock,
    sandboxes: Sandboxes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    run = uuid.uuid4().hex[:8]
    name = f"night-{run}"
    sms = sandboxes.providers[MessageChannel.SMS]
    # in account order: a Shanghai sleeper, someone in Paris (afternoon there), someone whose
    # quiet hours cover every marketing hour, someone untagged before their batch, and a
    # Shanghai sleeper who will reply "TD" before the morning
    sleeper, parisian, never, gone, stopper = (
        f"acct-{run}-{k}" for k in ("a-sleeper", "b-paris", "c-never", "d-gone", "e-stopper")
    )
    phones = {account: phone() for account in (sleeper, parisian, never, gone, stopper)}
    extra: dict[str, dict[str, Any]] = {
        parisian: {"timezone": "Europe/Paris", "language": {"tag": "fr-FR"}},
        never: {"timezone": SHANGHAI, "quiet_hours": {"start": "07:00", "end": "22:00"}},
        sleeper: {"timezone": SHANGHAI},
    }
    for account, number in phones.items():
        await set_preferences(
            stack,
            token,
            account,
            channels=["sms"],
            phone=number,
            marketing_consent=["sms"],
            **extra.get(account, {}),
        )
        await tag(stack, token, account, name)
    await read_models_see(stack, name, len(phones), [], list(phones))

    # 22:00 in Shanghai (15:00 in Paris); everyone is targeted at the start
    advance_to_local(clock, SHANGHAI, 22)
    client = stack["notifications"].client
    supervisor = auth(token("supervisor"))
    timers = stack["notifications"].runtime.timers
    assert timers is not None
    pool = stack["notifications"].runtime.pool
    async with timers.held():  # the first batch runs when this test says, not before
        started = await client.post(
            "/campaigns", json=start_body(name, "sms", rate=6000), headers=supervisor
        )
        assert started.status_code == 201, started.text
        campaign_id = started.json()["campaign_id"]
        assert started.json()["targeted"] == 5
        # one loses the tag before the batch runs
        await untag(stack, token, gone, name)

        async def untagged_seen() -> bool:
            return not await pool.fetchval(
                "SELECT 1 FROM campaign_tag_members WHERE tag = $1 AND account_ref = $2",
                name,
                gone,
            )

        await eventually(untagged_seen)
        await fire(stack)

    # Paris is awake: sent at once (in English: no French content); Shanghai sleeps
    [paris_message] = await eventually(lambda: received(sms, phones[parisian]))
    assert "10% off this month." in paris_message["body"]
    for account in (sleeper, never, gone, stopper):
        assert await received(sms, phones[account]) == []
    view = await campaign(stack, token, campaign_id)
    assert view["status"] == "completed"
    assert (view["requested"], view["skipped_untagged"], view["skipped_hours"]) == (3, 1, 1)

    async def two_waiting() -> dict[str, Any] | None:
        current = await campaign(stack, token, campaign_id)
        return current if (current["waiting"], current["sent"]) == (2, 1) else None

    await eventually(two_waiting)
    # the waiting messages are due at 09:00 Shanghai the next morning
    not_before = await pool.fetch(
        """SELECT envelope->'payload'->>'not_before' AS at FROM events
           WHERE event_type = 'notifications.notification_requested'
             AND envelope->'payload'->>'campaign_id' = $1
             AND envelope->'payload'->>'not_before' IS NOT NULL""",
        campaign_id,
    )
    assert len(not_before) == 2
    assert {row["at"][11:16] for row in not_before} == {"01:00"}  # 09:00 UTC+8

    # the stopper replies "td" to the SMS number: consent on SMS withdrawn, with a reason
    report = await reply(sms, phones[stopper], " td ")
    answer = await deliver_inbound(stack, report)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"opt_out": True, "accounts": 1, "duplicate": False}
    again = await deliver_inbound(stack, report)  # the provider delivers it twice
    assert again.json() == {"opt_out": True, "accounts": 1, "duplicate": True}
    prefs = await client.get(f"/recipients/{stopper}/preferences", headers=supervisor)
    assert prefs.json()["marketing_consent"] == []
    [withdrawal] = await pool.fetch(
        """SELECT envelope FROM events WHERE stream_id = $1
           AND envelope->'payload'->>'set_by' = 'inbound:sms'""",
        f"recipient-{stopper}",
    )
    assert withdrawal["envelope"]["payload"]["reason"] == "inbound opt-out reply TD on sms"

    # the morning: the sleeper gets it at nine, once; the stopper's message is withdrawn
    advance_to_local(clock, SHANGHAI, 9, 1)
    await fire(stack)
    [morning] = await eventually(lambda: received(sms, phones[sleeper]))
    assert "退订" in morning["body"] or "STOP" in morning["body"]
    assert await received(sms, phones[stopper]) == []

    async def settled() -> dict[str, tuple[str, str | None]] | None:
        # the message log follows the withdrawal and the morning's send (a projection)
        logged = await log_of(stack, campaign_id)
        stopped = logged.get(f"account:{stopper}", ("",))[0] == "withdrawn"
        sleeper_status = logged.get(f"account:{sleeper}", ("queued",))[0]
        return logged if stopped and sleeper_status != "queued" else None

    logged = await eventually(settled)
    assert logged[f"account:{stopper}"] == ("withdrawn", "consent_withdrawn")
    assert logged[f"account:{sleeper}"][0] == "sent"

    async def counted() -> dict[str, Any] | None:
        current = await campaign(stack, token, campaign_id)
        return current if current["waiting"] == 0 else None

    view = await eventually(counted)
    assert (view["sent"], view["waiting"], view["withdrawn"]) == (2, 0, 1)
    assert len(await received(sms, phones[sleeper])) == 1

    # no log record names a number or what a person wrote
    for record in caplog.records:
        text = f"{record.getMessage()} {record.__dict__}"
        for number in phones.values():
            assert number not in text, f"a phone number in a log record of {record.name}"


async def test_a_cancel_withdraws_the_waiting_messages_and_nothing_goes_out_after_it(
    stack: Stack, token: Callable[..., str], clock: OffsetClock, sandboxes: Sandboxes
) -> None:
    run = uuid.uuid4().hex[:8]
    name = f"cancel-{run}"
    sms = sandboxes.providers[MessageChannel.SMS]
    accounts = [f"acct-{run}-{i}" for i in range(3)]
    phones = {account: phone() for account in accounts}
    for account in accounts:
        await set_preferences(
            stack,
            token,
            account,
            channels=["sms"],
            phone=phones[account],
            marketing_consent=["sms"],
            timezone=SHANGHAI,
        )
        await tag(stack, token, account, name)
    await read_models_see(stack, name, len(accounts), [], accounts)
    advance_to_local(clock, SHANGHAI, 23)
    client = stack["notifications"].client
    supervisor = auth(token("supervisor"))
    started = await client.post(
        "/campaigns", json=start_body(name, "sms", rate=1), headers=supervisor
    )
    campaign_id = started.json()["campaign_id"]
    # two batches a minute apart: two messages requested, both waiting for 09:00
    await fire(stack)
    clock.advance(timedelta(seconds=61))
    await fire(stack)
    view = await campaign(stack, token, campaign_id)
    assert (view["processed"], view["requested"], view["remaining"]) == (2, 2, 1)

    cancelled = await client.post(
        f"/campaigns/{campaign_id}/cancel", json={"reason": "wrong offer"}, headers=supervisor
    )
    assert cancelled.status_code == 200, cancelled.text
    view = cancelled.json()
    assert view["status"] == "cancelled"
    assert (view["requested"], view["remaining"], view["withdrawn_by_cancel"]) == (2, 1, 2)
    pool = stack["notifications"].runtime.pool
    withdrawn = await pool.fetch(
        """SELECT envelope->'payload'->>'reason' AS reason FROM events
           WHERE event_type = 'notifications.notification_withdrawn'
             AND envelope->'payload'->>'campaign_id' = $1""",
        campaign_id,
    )
    assert [row["reason"] for row in withdrawn] == ["campaign_cancelled"] * 2
    [cancel_event] = await pool.fetch(
        """SELECT envelope->'payload' AS payload FROM events
           WHERE stream_id = $1 AND event_type = 'notifications.campaign_cancelled'""",
        f"campaign-{campaign_id}",
    )
    assert (cancel_event["payload"]["withdrawn"], cancel_event["payload"]["not_reached"]) == (
        2,
        1,
    )

    # no send timer is left; a stale one that fires anyway (say it was due) sends nothing
    async def both_logged() -> list[Any] | None:
        # the message log is a projection: wait for both messages, or the checks below
        # would pass on fewer
        rows = await pool.fetch(
            """SELECT notification_id FROM notification_log WHERE campaign_id = $1""",
            uuid.UUID(campaign_id),
        )
        return rows if len(rows) == 2 else None

    message_ids = await eventually(both_logged)
    assert not await pool.fetchval(
        "SELECT count(*) FROM timers WHERE timer_id = ANY($1::text[])",
        [f"notification.send:{row['notification_id']}" for row in message_ids],
    )
    async with pool.acquire() as conn:
        for row in message_ids:
            await schedule(
                conn,
                f"notification.send:{row['notification_id']}",
                "notification.send",
                clock.now(),
                {"notification_id": str(row["notification_id"]), "correlation_id": run_uuid()},
            )
    advance_to_local(clock, SHANGHAI, 10)
    await fire(stack)
    for account in accounts:
        assert await received(sms, phones[account]) == [], account

    async def counted() -> dict[str, Any] | None:
        # the message log (a projection) follows the withdrawals a moment later
        current = await campaign(stack, token, campaign_id)
        return current if (current["withdrawn"], current["waiting"]) == (2, 0) else None

    view = await eventually(counted)
    assert (view["sent"], view["waiting"], view["withdrawn"]) == (0, 0, 2)
    refused = await client.post(f"/campaigns/{campaign_id}/cancel", headers=supervisor)
    assert refused.status_code == 409
    assert "already cancelled" in refused.json()["detail"]


def run_uuid() -> str:
    return str(uuid.uuid4())


async def test_the_inbound_webhook_is_signed_and_only_an_opt_out_changes_consent(
    stack: Stack, token: Callable[..., str], sandboxes: Sandboxes
) -> None:
    run = uuid.uuid4().hex[:8]
    sms, wechat = (sandboxes.providers[c] for c in (MessageChannel.SMS, MessageChannel.WECHAT))
    shared = phone()  # a family's number, on two accounts
    parent, child = f"acct-{run}-parent", f"acct-{run}-child"
    for account in (parent, child):
        await set_preferences(
            stack,
            token,
            account,
            channels=["wechat", "sms"],
            phone=shared,
            wechat=f"wx-{account}",
            marketing_consent=["sms", "wechat"],
        )
    await read_models_see(stack, "no-such-tag", 0, [], [parent, child])
    client = stack["notifications"].client

    # a forged report is refused
    report = await reply(sms, shared, "TD")
    forged = await client.post(
        "/notifications/webhooks/inbound",
        content=report["body"].encode(),
        headers={
            "X-Frontdesk-Signature": signature_of(
                SETTINGS.webhook_secret.get_secret_value(), b"something else"
            )
        },
    )
    assert forged.status_code == 401
    # any other reply changes nothing
    chat = await deliver_inbound(stack, await reply(sms, shared, "what is this offer?"))
    assert chat.json() == {"opt_out": False, "accounts": 0, "duplicate": False}
    # "退订" by SMS: both accounts on that number lose SMS consent, keep WeChat's
    answer = await deliver_inbound(stack, await reply(sms, shared.replace("+", "00"), "退订"))
    assert answer.json() == {"opt_out": True, "accounts": 2, "duplicate": False}
    # "STOP" on WeChat from the child's open id: only the child's WeChat consent
    answer = await deliver_inbound(stack, await reply(wechat, f"wx-{child}", "Stop"))
    assert answer.json()["accounts"] == 1
    staff = auth(token("agent"))
    consents = {
        account: (await client.get(f"/recipients/{account}/preferences", headers=staff)).json()[
            "marketing_consent"
        ]
        for account in (parent, child)
    }
    assert consents == {parent: ["wechat"], child: []}
    # a repeated opt-out from someone already opted out: a new reply id, nothing to change
    answer = await deliver_inbound(stack, await reply(sms, shared, "TD"))
    assert answer.json() == {"opt_out": True, "accounts": 0, "duplicate": False}
    # the table of replies keeps neither the number nor the text
    rows = await stack["notifications"].runtime.pool.fetch(
        "SELECT t::text AS row FROM inbound_replies t"
    )
    assert not [r for r in rows if shared.removeprefix("+") in r["row"] or "退订" in r["row"]]


async def test_an_organizations_contact_is_in_its_export_and_goes_after_its_verification_ended(
    stack: Stack,
    token: Callable[..., str],
    clock: OffsetClock,
    settings: ServiceSettings,
    sandboxes: Sandboxes,
) -> None:
    organization = uuid.uuid4()
    subject = f"organization:{organization}"
    contact_phone = phone()
    stream = f"organization-{organization}"
    privacy = stack["verification"].runtime.privacy
    now = clock.now()
    await publish(
        settings,
        OrganizationSubmitted(
            organization_id=organization,
            legal_name="Fake Widgets Co., Ltd.",
            unified_social_credit_code="91350100M000100Y43",
            legal_representative_name="Fake Person",
            bank_name="Fake Bank",
            bank_account_number="6222000000000000",
            bank_account_last4="0000",
            contact_name="Fake Contact",
            contact_phone=contact_phone,
            contact_email=f"contact-{organization.hex[:8]}@widgets.example",
            contact_email_domain="widgets.example",
            official_domains=["widgets.example"],
            submitted_by="admin-fake",
            submitted_at=now,
        ),
        stream,
        producer="verification",
        privacy=privacy,
    )
    await publish(
        settings,
        OrganizationVerified(
            organization_id=organization,
            legal_name="Fake Widgets Co., Ltd.",
            verified_domains=["widgets.example"],
            reasons=["all checks passed"],
            verified_at=now,
        ),
        stream,
        producer="verification",
        privacy=privacy,
        stream_version=2,
    )
    pool = stack["notifications"].runtime.pool

    async def ended() -> Any:
        return await pool.fetchval(
            "SELECT ended_at FROM organization_contacts WHERE organization_id = $1", organization
        )

    await eventually(ended)

    async def exported() -> Any:
        """The person's copy once the submission's message is in it too: the message comes
        from another consumer group (``notifications.organization_messages``) than the
        contact's row, and may come later."""
        answer = await stack["notifications"].client.get(
            f"/privacy/subjects/{subject}/data", headers=auth(token("service"))
        )
        assert answer.status_code == 200, answer.text
        data = answer.json()["data"]
        return data if data["messages"] else None

    data = await eventually(exported)
    [contact] = data["organization_contacts"]
    assert (contact["phone"], contact["legal_name"]) == (contact_phone, "Fake Widgets Co., Ltd.")
    assert contact["ended_at"] is not None
    assert {m["kind"] for m in data["messages"]} >= {"organization_submitted"}

    # retention: 90 days after the verification ended the contact goes; one ended recently
    # and one still under way stay. (Moved back in time by hand: the database's clock rules.)
    ongoing = uuid.uuid4()
    async with pool.acquire() as conn:
        await conn.execute(
            """UPDATE organization_contacts SET ended_at = now() - interval '91 days'
               WHERE organization_id = $1""",
            organization,
        )
        await conn.execute(
            """INSERT INTO organization_contacts (organization_id, subject_id, legal_name,
                   phone, email, submitted_at)
               VALUES ($1, $2, 'Ongoing Co.', '+8613800000009', NULL, now() - interval '1 year')""",
            ongoing,
            f"organization:{ongoing}",
        )
    runtime = stack["notifications"].runtime
    async with pool.acquire() as conn, conn.transaction():
        purged = await purge(conn, runtime, runtime.definition.retention, clock.now())
    assert purged["ended_organization_contacts"] >= 1
    left = await pool.fetch(
        "SELECT organization_id FROM organization_contacts WHERE organization_id = ANY($1)",
        [organization, ongoing],
    )
    assert [row["organization_id"] for row in left] == [ongoing]
    await pool.execute("DELETE FROM organization_contacts WHERE organization_id = $1", ongoing)


async def test_the_audience_snapshot_of_a_long_ended_campaign_goes_and_a_running_ones_stays(
    stack: Stack, clock: OffsetClock
) -> None:
    """campaign_targets are timed by the campaign's end (campaigns read model); rows written
    by hand here are removed again (the rebuild tests compare read models with the stream)."""
    runtime = stack["notifications"].runtime
    ended, running = uuid.uuid4(), uuid.uuid4()
    async with runtime.pool.acquire() as conn:
        for campaign_id, finished in ((ended, "40 days"), (running, None)):
            await conn.execute(
                """INSERT INTO campaigns (campaign_id, name, tag, channel, status,
                       rate_per_minute, members, targeted, skipped_consent, skipped_excluded,
                       started_by, started_at, finished_at)
                   VALUES ($1, 'old', 'old-tag', 'sms', $2, 1, 1, 1, 0, 0, 'sup',
                       now() - interval '60 days',
                       CASE WHEN $3::text IS NULL THEN NULL ELSE now() - $3::text::interval END)""",
                campaign_id,
                "completed" if finished else "running",
                finished,
            )
            await conn.execute(
                """INSERT INTO campaign_targets (campaign_id, position, account_ref)
                   VALUES ($1, 0, 'acct-retention')""",
                campaign_id,
            )
        await conn.execute(
            """INSERT INTO inbound_replies (channel, message_id, opt_out, accounts, received_at)
               VALUES ('sms', $1, true, 1, now() - interval '100 days')""",
            f"old-{ended}",
        )
    try:
        async with runtime.pool.acquire() as conn, conn.transaction():
            purged = await purge(conn, runtime, runtime.definition.retention, clock.now())
        assert purged["ended_campaign_targets"] >= 1
        assert purged["inbound_replies"] >= 1
        left = await runtime.pool.fetch(
            "SELECT campaign_id FROM campaign_targets WHERE campaign_id = ANY($1)",
            [ended, running],
        )
        assert [row["campaign_id"] for row in left] == [running]
    finally:
        async with runtime.pool.acquire() as conn:
            await conn.execute(
                "DELETE FROM campaign_targets WHERE campaign_id = ANY($1)", [ended, running]
            )
            await conn.execute(
                "DELETE FROM campaigns WHERE campaign_id = ANY($1)", [ended, running]
            )
