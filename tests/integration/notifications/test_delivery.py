"""Messages over the real channel paths: the sandbox provider processes over HTTP (httpx), the
local SMTP server, real Kafka and PostgreSQL. One message per (trigger, recipient, kind),
sent once even when the trigger is delivered twice and the service crashes between the
provider's answer and its own commit; retries with backoff, fallback to the next channel,
delivery receipts by webhook."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition

from contracts import Envelope
from contracts.events.notifications import MessageChannel
from contracts.topics import CHECKIN_TICKETS
from runtime.scheduler import OffsetClock
from runtime.settings import ServiceSettings
from services.notifications.adapters.channels import ChannelAdapter, OutgoingMessage, SendResult
from tests.conftest import auth, eventually
from tests.integration.conftest import RunningService
from tests.integration.notifications.conftest import Sandboxes, channels
from tests.integration.test_http import intake

pytestmark = pytest.mark.integration

Stack = dict[str, RunningService]


class SimulatedCrash(Exception):
    """The process dies after the provider accepted the message, before our commit."""


class CrashAfterProviderAccepted:
    """The real adapter, then a crash: for messages to ``to`` only, ``times`` times."""

    def __init__(self, inner: ChannelAdapter, to: str, times: int = 1) -> None:
        self.inner, self.to, self.left = inner, to, times
        self.channel, self.provider = inner.channel, inner.provider
        self.calls = 0

    async def send(self, message: OutgoingMessage) -> SendResult:
        result = await self.inner.send(message)
        if message.to == self.to:
            self.calls += 1
            if self.left > 0:
                self.left -= 1
                raise SimulatedCrash("between the provider's answer and the commit")
        return result


@pytest.fixture
def crashing(stack: Stack, sandboxes: Sandboxes) -> Iterator[Callable[[MessageChannel, str], Any]]:
    installed: dict[MessageChannel, ChannelAdapter] = {}

    def install(channel: MessageChannel, to: str) -> CrashAfterProviderAccepted:
        inner = channels(stack).adapters[channel]
        installed[channel] = inner
        wrapper = CrashAfterProviderAccepted(inner, to)
        channels(stack).adapters[channel] = wrapper
        return wrapper

    yield install
    for channel, inner in installed.items():
        channels(stack).adapters[channel] = inner


def fake_phone() -> str:
    return f"+86138{random.randint(10_000_000, 99_999_999)}"


async def issue_ticket(
    stack: Stack,
    token: Callable[..., str],
    phone: str,
    account: str | None = None,
    language: str = "zh-CN",
) -> dict[str, Any]:
    body = intake(account or f"acct-{uuid.uuid4().hex[:8]}")
    body["intake"]["contact_phone"] = phone
    body["intake"]["language"] = {"tag": language, "dialect": None}
    created = await stack["checkin"].client.post(
        "/tickets", json=body, headers=auth(token("agent"))
    )
    assert created.status_code == 201, created.text
    return created.json()  # type: ignore[no-any-return]


async def message_of(
    stack: Stack, token: Callable[..., str], recipient_ref: str, status: str = "sent"
) -> dict[str, Any]:
    async def probe() -> Any:
        answer = await stack["notifications"].client.get(
            "/notifications",
            params={"recipient_ref": recipient_ref},
            headers=auth(token("agent")),
        )
        found = [m for m in answer.json() if m["status"] == status]
        return found[0] if found else None

    return await eventually(probe)  # type: ignore[no-any-return]


async def stream_events(stack: Stack, notification_id: str) -> list[str]:
    rows = await stack["notifications"].runtime.pool.fetch(
        "SELECT event_type FROM events WHERE stream_id = $1 ORDER BY stream_version",
        f"notification-{notification_id}",
    )
    return [row["event_type"] for row in rows]


async def fire(stack: Stack) -> None:
    timers = stack["notifications"].runtime.timers
    assert timers is not None
    await timers.fire_due()


async def committed_past(
    settings: ServiceSettings, group: str, tp: TopicPartition, offset: int
) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka.bootstrap_servers)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(settings.kafka.topic(group))
    finally:
        await admin.close()
    committed = offsets.get(tp)
    return committed is not None and committed.offset > offset


async def test_a_message_is_sent_once_despite_a_duplicated_event_and_a_crash_mid_send(
    stack: Stack,
    settings: ServiceSettings,
    token: Callable[..., str],
    sandboxes: Sandboxes,
    crashing: Callable[[MessageChannel, str], CrashAfterProviderAccepted],
) -> None:
    phone = fake_phone()
    crash = crashing(MessageChannel.SMS, phone)
    ticket = await issue_ticket(stack, token, phone)

    # the first send reached the provider, then the process "died" before committing; the
    # durable timer fired again and asked the provider again with the same idempotency key
    sent = await message_of(stack, token, f"ticket:{ticket['ticket_id']}")
    assert crash.calls == 2
    sms = sandboxes.providers[MessageChannel.SMS]
    [received] = await sms.amessages(sent["notification_id"])
    assert received["requests"] == 2  # asked twice ...
    assert received["message_id"] == sent["provider_message_id"]  # ... one message
    assert received["idempotency_key"] == f"{sent['notification_id']}:sms"
    assert received["to"] == phone
    assert received["body"].startswith(f"您的号码是 {ticket['number']}。")

    # the ticket_issued event is delivered again (the relay republished it)
    raw = await stack["checkin"].runtime.pool.fetchval(
        "SELECT envelope FROM events WHERE stream_id = $1 AND stream_version = 1",
        f"ticket-{ticket['ticket_id']}",
    )
    envelope = Envelope.model_validate(raw)
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka.bootstrap_servers, enable_idempotence=True
    )
    await producer.start()
    try:
        record = await producer.send_and_wait(
            settings.kafka.topic(CHECKIN_TICKETS.name),
            json.dumps(raw).encode(),
            key=envelope.stream_id.encode(),
        )
    finally:
        await producer.stop()
    tp = TopicPartition(record.topic, record.partition)
    await eventually(
        lambda: committed_past(settings, "notifications.triggers", tp, record.offset), within=60
    )

    # still one message decided, one send recorded, one message at the provider
    assert await stream_events(stack, sent["notification_id"]) == [
        "notifications.notification_requested",
        "notifications.notification_sent",
    ]
    answer = await stack["notifications"].client.get(
        "/notifications",
        params={"recipient_ref": f"ticket:{ticket['ticket_id']}"},
        headers=auth(token("agent")),
    )
    assert len(answer.json()) == 1
    assert len(await sms.amessages(sent["notification_id"])) == 1
    await fire(stack)
    assert (await sms.amessages(sent["notification_id"]))[0]["requests"] == 2


async def test_email_goes_over_smtp_once_even_after_a_crash_mid_send(
    stack: Stack,
    token: Callable[..., str],
    sandboxes: Sandboxes,
    crashing: Callable[[MessageChannel, str], CrashAfterProviderAccepted],
) -> None:
    account = f"acct-{uuid.uuid4().hex[:8]}"
    email = f"{account}@example.com"
    prefs = await stack["notifications"].client.put(
        f"/recipients/{account}/preferences",
        json={"channels": ["email"], "email": email, "language": {"tag": "fr"}},
        headers=auth(token("agent")),
    )
    assert prefs.status_code == 200, prefs.text
    crashing(MessageChannel.EMAIL, email)
    ticket = await issue_ticket(stack, token, fake_phone(), account=account, language="fr")

    sent = await message_of(stack, token, f"ticket:{ticket['ticket_id']}")
    assert sent["channel"] == "email"
    [mail] = [m for m in sandboxes.mailbox.list() if m["rcpt_to"] == [email]]
    assert mail["receptions"] == 2  # the SMTP server saw it twice, delivered it once
    assert mail["message_id"] == sent["provider_message_id"]
    assert mail["subject"] == "Votre numéro"
    assert mail["body"].startswith(f"Votre numéro est {ticket['number']}.")


async def test_transient_failures_back_off_then_the_next_channel_takes_over(
    stack: Stack,
    clock: OffsetClock,
    token: Callable[..., str],
    sandboxes: Sandboxes,
) -> None:
    account = f"acct-{uuid.uuid4().hex[:8]}"
    prefs = await stack["notifications"].client.put(
        f"/recipients/{account}/preferences",
        json={"channels": ["qq", "wechat"], "qq": f"qq-{account}", "wechat": f"wx-{account}"},
        headers=auth(token("agent")),
    )
    assert prefs.status_code == 200, prefs.text
    qq = sandboxes.providers[MessageChannel.QQ]
    await qq.fail_next(50, status=503)
    try:
        ticket = await issue_ticket(stack, token, fake_phone(), account=account)
        recipient = f"ticket:{ticket['ticket_id']}"
        pool = stack["notifications"].runtime.pool

        async def retries() -> list[Any]:
            return await pool.fetch(
                """SELECT envelope->'payload' AS p FROM events
                   WHERE event_type = 'notifications.notification_attempt_failed'
                     AND stream_id = (SELECT 'notification-' || notification_id
                                      FROM notification_log WHERE recipient_ref = $1)
                   ORDER BY stream_version""",
                recipient,
            )

        for attempt in range(1, 4):

            async def failed_attempts(a: int = attempt) -> list[Any] | None:
                return await _at_least(retries, a)

            rows = await eventually(failed_attempts)
            clock.advance(timedelta(minutes=3))
            await fire(stack)
        payloads = [json.loads(r["p"]) if isinstance(r["p"], str) else r["p"] for r in rows]
        delays = [(_t(p["retry_at"]) - _t(p["failed_at"])).total_seconds() for p in payloads[:3]]
        assert 15 <= delays[0] < 30
        assert 30 <= delays[1] < 60
        assert 60 <= delays[2] < 120

        # after 4 failures on QQ: a failed event naming the fallback, then sent on WeChat
        sent = await message_of(stack, token, recipient)
        assert sent["channel"] == "wechat"
        assert await stream_events(stack, sent["notification_id"]) == [
            "notifications.notification_requested",
            "notifications.notification_attempt_failed",
            "notifications.notification_attempt_failed",
            "notifications.notification_attempt_failed",
            "notifications.notification_failed",
            "notifications.notification_sent",
        ]
        assert await qq.amessages(sent["notification_id"]) == []
        [wechat] = await sandboxes.providers[MessageChannel.WECHAT].amessages(
            sent["notification_id"]
        )
        assert wechat["to"] == f"wx-{account}"

        # the message's own page shows the channel it fell back from, and why
        async def one() -> Any:
            answer = await stack["notifications"].client.get(
                f"/notifications/{sent['notification_id']}", headers=auth(token("agent"))
            )
            assert answer.status_code == 200, answer.text
            shown = answer.json()
            return shown if shown["status"] == "sent" else None

        shown = await eventually(one)
        assert shown["channel"] == "wechat"
        [gave_up] = shown["fallbacks"]
        assert (gave_up["channel"], gave_up["attempts"], gave_up["next_channel"]) == (
            "qq",
            4,
            "wechat",
        )
        assert "503" in gave_up["reason"]
        assert sent["fallbacks"] == shown["fallbacks"]  # the recipient's list shows it too
    finally:
        await qq.fail_next(0)


async def _at_least(probe: Callable[[], Any], count: int) -> list[Any] | None:
    rows = await probe()
    return rows if len(rows) >= count else None


def _t(value: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(value)


async def test_a_permanent_refusal_falls_back_at_once_and_the_last_channel_fails_finally(
    stack: Stack, token: Callable[..., str], sandboxes: Sandboxes
) -> None:
    sms = sandboxes.providers[MessageChannel.SMS]
    await sms.fail_next(1, status=400)
    ticket = await issue_ticket(stack, token, fake_phone())
    failed = await message_of(stack, token, f"ticket:{ticket['ticket_id']}", status="failed")
    assert failed["failure_reason"] == "http-sms: HTTP 400"
    assert failed["attempts"] == 1
    # the last channel gave up, with nothing left to fall back to
    [gave_up] = failed["fallbacks"]
    assert gave_up["channel"] == "sms"
    assert (gave_up["reason"], gave_up["next_channel"]) == ("http-sms: HTTP 400", None)
    unknown = await stack["notifications"].client.get(
        f"/notifications/{uuid.uuid4()}", headers=auth(token("agent"))
    )
    assert unknown.status_code == 404


async def test_delivery_receipts_by_webhook_update_the_status(
    stack: Stack, token: Callable[..., str], sandboxes: Sandboxes
) -> None:
    ticket = await issue_ticket(stack, token, fake_phone())
    recipient = f"ticket:{ticket['ticket_id']}"
    sent = await message_of(stack, token, recipient)
    receipt = await sandboxes.providers[MessageChannel.SMS].receipt(sent["provider_message_id"])
    client = stack["notifications"].client

    forged = await client.post(
        "/notifications/receipts",
        content=receipt["body"],
        headers={"X-Frontdesk-Signature": "sha256=" + "0" * 64},
    )
    assert forged.status_code == 401
    taken = await client.post(
        "/notifications/receipts",
        content=receipt["body"],
        headers={"X-Frontdesk-Signature": receipt["signature"]},
    )
    assert taken.status_code == 200, taken.text
    assert taken.json() == {"notification_id": sent["notification_id"]}
    delivered = await message_of(stack, token, recipient, status="delivered")
    assert delivered["delivered_at"] is not None
    # the provider retries its webhook: nothing changes
    again = await client.post(
        "/notifications/receipts",
        content=receipt["body"],
        headers={"X-Frontdesk-Signature": receipt["signature"]},
    )
    assert again.status_code == 200
    assert (await stream_events(stack, sent["notification_id"]))[-1] == (
        "notifications.notification_delivered"
    )
    assert (await stream_events(stack, sent["notification_id"])).count(
        "notifications.notification_delivered"
    ) == 1
