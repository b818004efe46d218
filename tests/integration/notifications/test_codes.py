"""One-time codes from verification, over real Kafka and PostgreSQL: verification publishes
``code_delivery_requested`` (no code), notifications queues the message and claims the code
from verification's in-process app at send time, the SMS sandbox process receives it, and
verification accepts it. The code is in no Kafka record, no row of the notifications database
and no log record; a duplicated event gives one message and one claim; a crash after the
claim, and a delivery too late to claim, fail the message with the reason."""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from aiokafka.structs import TopicPartition

from contracts import TOPICS, Envelope
from contracts.events.notifications import MessageChannel
from contracts.topics import VERIFICATION_SESSIONS
from runtime.scheduler import OffsetClock
from runtime.settings import ServiceSettings
from sandboxes.account_platform import SandboxAccountFacts
from tests.conftest import auth, eventually
from tests.integration.conftest import RunningService
from tests.integration.kafka_tools import read_topic
from tests.integration.notifications.conftest import Sandboxes, channels, code_claims
from tests.integration.notifications.test_delivery import (
    CrashAfterProviderAccepted,
    committed_past,
)

pytestmark = pytest.mark.integration

Stack = dict[str, RunningService]


@pytest_asyncio.fixture(loop_scope="session")
async def claims_in_process(stack: Stack) -> AsyncIterator[None]:
    """Point the notifications service's claim client at verification's in-process app (the
    stack serves no ports); restore it afterwards."""
    previous = (code_claims(stack).base_url, code_claims(stack).transport)
    code_claims(stack).use(
        "http://verification", httpx.ASGITransport(app=stack["verification"].app)
    )
    try:
        yield
    finally:
        code_claims(stack).use(*previous)


def leaks(code: str) -> re.Pattern[str]:
    """The code as a value of its own (not six digits inside a UUID, a base64 token or the
    microseconds of a timestamp)."""
    return re.compile(rf"(?<![0-9A-Za-z._-]){code}(?![0-9A-Za-z_-])")


async def code_session(stack: Stack, token: Callable[..., str]) -> tuple[str, str, str]:
    """A session whose only check is a code to the registered phone; the code requested.
    Returns (account, verification id, delivery id)."""
    client = stack["verification"].client
    account = f"acct-{uuid.uuid4().hex[:8]}"
    started = await client.post(
        "/verification/sessions",
        json={
            "account_ref": account,
            "purpose": "wallet_reactivation",
            "risk_level": "low",
            "person_role": "holder",
        },
        headers=auth(token("agent")),
    )
    assert started.status_code == 201, started.text
    assert started.json()["current_check"] == "possession_code"
    verification_id = started.json()["verification_id"]
    requested = await client.post(
        f"/verification/sessions/{verification_id}/possession-code",
        json={"channel": "sms"},
        headers=auth(token("agent")),
    )
    assert requested.status_code == 202, requested.text
    return account, verification_id, requested.json()["delivery_id"]


async def code_message(
    stack: Stack, token: Callable[..., str], account: str, status: str
) -> dict[str, Any]:
    async def probe() -> Any:
        answer = await stack["notifications"].client.get(
            "/notifications",
            params={"recipient_ref": f"account:{account}"},
            headers=auth(token("agent")),
        )
        found = [m for m in answer.json() if m["kind"] == "one_time_code" and m["status"] == status]
        return found[0] if found else None

    return await eventually(probe, within=120)  # type: ignore[no-any-return]


async def enter(stack: Stack, token: Callable[..., str], verification_id: str, code: str) -> Any:
    entered = await stack["verification"].client.post(
        f"/verification/sessions/{verification_id}/possession-code/verification",
        json={"code": code},
        headers=auth(token("agent")),
    )
    assert entered.status_code == 200, entered.text
    return entered.json()


async def test_a_code_reaches_the_phone_once_verification_accepts_it_and_nothing_keeps_it(
    stack: Stack,
    settings: ServiceSettings,
    token: Callable[..., str],
    sandboxes: Sandboxes,
    claims_in_process: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    claims_before = code_claims(stack).claims
    account, verification_id, delivery_id = await code_session(stack, token)

    sent = await code_message(stack, token, account, "sent")
    assert sent["purpose"] == "one_time_code"
    sms = sandboxes.providers[MessageChannel.SMS]
    [received] = await sms.amessages(sent["notification_id"])
    phone = SandboxAccountFacts.sandbox_answers(account).facts.registered_phone
    assert received["to"] == phone  # the destination came with the claim, not from an event
    found = re.search(r"\b(\d{6})\b", received["body"])
    assert found is not None, "the message carries the code"
    code = found.group(1)
    assert code_claims(stack).claims == claims_before + 1

    verdict = await enter(stack, token, verification_id, code)
    assert verdict["correct"] is True

    # the same code_delivery_requested is delivered again: still one message, one claim
    raw = await stack["verification"].runtime.pool.fetchval(
        """SELECT envelope FROM events WHERE event_type = 'verification.code_delivery_requested'
           AND envelope->'payload'->>'delivery_id' = $1""",
        delivery_id,
    )
    envelope = Envelope.model_validate(raw)
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka.bootstrap_servers, enable_idempotence=True
    )
    await producer.start()
    try:
        record = await producer.send_and_wait(
            settings.kafka.topic(VERIFICATION_SESSIONS.name),
            json.dumps(raw).encode(),
            key=envelope.stream_id.encode(),
        )
    finally:
        await producer.stop()
    tp = TopicPartition(record.topic, record.partition)
    await eventually(
        lambda: committed_past(settings, "notifications.code_deliveries", tp, record.offset),
        within=120,
    )
    timers = stack["notifications"].runtime.timers
    assert timers is not None
    await timers.fire_due()
    answer = await stack["notifications"].client.get(
        "/notifications",
        params={"recipient_ref": f"account:{account}"},
        headers=auth(token("agent")),
    )
    assert [m["kind"] for m in answer.json()] == ["one_time_code"]
    assert len(await sms.amessages(sent["notification_id"])) == 1
    assert code_claims(stack).claims == claims_before + 1

    # nowhere in the log, in Kafka or in the notifications database
    pattern = leaks(code)
    for topic in TOPICS.values():
        for kafka_record in await read_topic(
            settings.kafka.bootstrap_servers, settings.kafka.topic(topic.name)
        ):
            assert not pattern.search((kafka_record.value or b"").decode("utf-8", "replace")), (
                f"the code is in a record of {topic.name}"
            )
    pool = stack["notifications"].runtime.pool
    tables = await pool.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
    )
    for table in tables:
        rows = await pool.fetch(f'SELECT t::text AS row FROM "{table["tablename"]}" t')
        for row in rows:
            assert not pattern.search(row["row"]), f"the code is in {table['tablename']}"
    for log_record in caplog.records:
        assert not pattern.search(f"{log_record.getMessage()} {log_record.__dict__}"), (
            f"the code is in a log record of {log_record.name}"
        )


async def test_a_transient_provider_error_after_the_claim_is_retried_at_once(
    stack: Stack,
    token: Callable[..., str],
    sandboxes: Sandboxes,
    claims_in_process: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    sms = sandboxes.providers[MessageChannel.SMS]
    claims_before = code_claims(stack).claims
    await sms.fail_next(1, 503)
    account, verification_id, _ = await code_session(stack, token)
    sent = await code_message(stack, token, account, "sent")
    [received] = await sms.amessages(sent["notification_id"])
    retried = [r for r in caplog.records if r.getMessage().startswith("one-time code send failed")]
    assert len(retried) == 1  # the injected 503; the retry, with the same key, went through
    assert retried[0].__dict__["fields"]["reason"].endswith("HTTP 503")
    assert code_claims(stack).claims == claims_before + 1  # one claim: the code was kept in memory
    events = await stack["notifications"].runtime.pool.fetch(
        "SELECT event_type FROM events WHERE stream_id = $1 ORDER BY stream_version",
        f"notification-{sent['notification_id']}",
    )
    assert [e["event_type"] for e in events] == [
        "notifications.notification_requested",
        "notifications.notification_sent",
    ]
    code = re.search(r"\b(\d{6})\b", received["body"]).group(1)  # type: ignore[union-attr]
    assert (await enter(stack, token, verification_id, code))["correct"] is True


async def test_a_crash_after_the_claim_fails_the_message_saying_a_new_code_is_needed(
    stack: Stack, token: Callable[..., str], sandboxes: Sandboxes, claims_in_process: None
) -> None:
    account = f"acct-{uuid.uuid4().hex[:8]}"
    phone = SandboxAccountFacts.sandbox_answers(account).facts.registered_phone
    assert phone is not None
    inner = channels(stack).adapters[MessageChannel.SMS]
    crash = CrashAfterProviderAccepted(inner, phone)
    channels(stack).adapters[MessageChannel.SMS] = crash
    try:
        client = stack["verification"].client
        started = await client.post(
            "/verification/sessions",
            json={
                "account_ref": account,
                "purpose": "wallet_reactivation",
                "risk_level": "low",
                "person_role": "holder",
            },
            headers=auth(token("agent")),
        )
        verification_id = started.json()["verification_id"]
        requested = await client.post(
            f"/verification/sessions/{verification_id}/possession-code",
            json={"channel": "sms"},
            headers=auth(token("agent")),
        )
        assert requested.status_code == 202, requested.text
        # the provider accepted, the process "died" before its commit; the timer fired again
        # and the claim was refused: the code exists nowhere any more to be sent again
        failed = await code_message(stack, token, account, "failed")
    finally:
        channels(stack).adapters[MessageChannel.SMS] = inner
    assert crash.calls == 1
    assert "one-time code not claimed" in failed["failure_reason"]
    assert "already claimed" in failed["failure_reason"]
    assert "new code" in failed["failure_reason"]
    events = await stack["notifications"].runtime.pool.fetch(
        "SELECT event_type FROM events WHERE stream_id = $1 ORDER BY stream_version",
        f"notification-{failed['notification_id']}",
    )
    assert [e["event_type"] for e in events] == [
        "notifications.notification_requested",
        "notifications.notification_failed",
    ]
    # verification can be asked for a new code, which then arrives
    again = await stack["verification"].client.post(
        f"/verification/sessions/{verification_id}/possession-code",
        json={"channel": "sms"},
        headers=auth(token("agent")),
    )
    assert again.status_code == 202, again.text


async def test_a_delivery_not_sent_before_claim_before_fails_as_stale(
    stack: Stack,
    token: Callable[..., str],
    sandboxes: Sandboxes,
    clock: OffsetClock,
) -> None:
    previous = (code_claims(stack).base_url, code_claims(stack).transport)
    code_claims(stack).use("http://127.0.0.1:9", None)  # verification unreachable: transient
    try:
        account, _, _ = await code_session(stack, token)

        async def retrying() -> Any:
            rows = await stack["notifications"].runtime.pool.fetch(
                """SELECT l.attempts FROM notification_log l WHERE l.recipient_ref = $1
                   AND l.kind = 'one_time_code' AND l.attempts > 0""",
                f"account:{account}",
            )
            return rows or None

        await eventually(retrying, within=120)
        clock.advance(timedelta(minutes=3))  # past claim_before (2 minutes)
        timers = stack["notifications"].runtime.timers
        assert timers is not None
        await timers.fire_due()
        failed = await code_message(stack, token, account, "failed")
    finally:
        code_claims(stack).use(*previous)
    assert "stale" in failed["failure_reason"]
    assert "new code" in failed["failure_reason"]
    sms = sandboxes.providers[MessageChannel.SMS]
    assert await sms.amessages(failed["notification_id"]) == []
