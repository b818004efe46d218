"""Verification hears what became of its one-time codes, over real Kafka and PostgreSQL.

Verification publishes ``code_delivery_requested`` (no code); the notifications service claims
the code from verification's in-process app at send time and hands it to an SMS sandbox
provider running as its own process (the real HTTP adapter). When that message fails — the
provider refuses it after the claim, or it goes stale before it could be claimed — the
notifications service appends ``notification_failed``; verification's
``verification.code_delivery_outcomes`` reaction records ``verification.code_delivery_failed``
on the session, which then says the code could not be delivered, and a new code can be asked
for at once (the failed one does not count) and works. Sent codes are recorded too, and the
read models rebuilt from Kafka equal the live ones.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio

from contracts.events.notifications import MessageChannel
from runtime.scheduler import OffsetClock
from sandboxes.account_platform import SandboxAccountFacts
from services.notifications.adapters.channels import ChannelAdapter, OutgoingMessage, SendResult
from services.notifications.adapters.http_provider import HttpProviderAdapter
from tests.conftest import auth, eventually
from tests.integration.conftest import RunningService
from tests.integration.kafka_tools import standing_still
from tests.integration.notifications.conftest import (
    SETTINGS,
    Sandbox,
    _start_provider,
    channels,
    code_claims,
)
from tests.integration.test_rebuild import cli
from tests.integration.test_retention_policies import forget, run_policies

pytestmark = pytest.mark.integration

Stack = dict[str, RunningService]


def registered_phone(account: str) -> str:
    """The phone the account platform's sandbox registers for ``account`` (it gives each one)."""
    phone = SandboxAccountFacts.sandbox_answers(account).facts.registered_phone
    assert phone is not None
    return phone


class ToOurPhones:
    """SMS to this module's accounts go to its own sandbox provider process (real HTTP
    adapter); anything else goes where it went before."""

    channel = MessageChannel.SMS

    def __init__(self, ours: ChannelAdapter, before: ChannelAdapter | None) -> None:
        self.ours, self.before = ours, before
        self.provider = ours.provider
        self.phones: set[str] = set()

    async def send(self, message: OutgoingMessage) -> SendResult:
        if message.to in self.phones or self.before is None:
            return await self.ours.send(message)
        return await self.before.send(message)


@pytest.fixture(scope="module")
def sms(stack: Stack) -> Iterator[tuple[Sandbox, ToOurPhones]]:
    sandbox = _start_provider(MessageChannel.SMS)
    before = channels(stack).adapters.get(MessageChannel.SMS)
    adapter = HttpProviderAdapter(
        MessageChannel.SMS, sandbox.url, SETTINGS.provider_api_key.get_secret_value()
    )
    router = ToOurPhones(adapter, before)
    channels(stack).adapters[MessageChannel.SMS] = router
    try:
        yield sandbox, router
    finally:
        if before is None:
            channels(stack).adapters.pop(MessageChannel.SMS, None)
        else:
            channels(stack).adapters[MessageChannel.SMS] = before
        sandbox.process.terminate()
        sandbox.process.wait(timeout=10)


@pytest_asyncio.fixture(loop_scope="session")
async def claims_in_process(stack: Stack) -> AsyncIterator[None]:
    """The notifications service claims codes from verification's in-process app."""
    previous = (code_claims(stack).base_url, code_claims(stack).transport)
    code_claims(stack).use(
        "http://verification", httpx.ASGITransport(app=stack["verification"].app)
    )
    try:
        yield
    finally:
        code_claims(stack).use(*previous)


async def code_session(
    stack: Stack, token: Callable[..., str], router: ToOurPhones
) -> tuple[str, str]:
    """A session whose first check is a code to the registered phone (account, session id)."""
    account = f"acct-{uuid.uuid4().hex[:8]}"
    router.phones.add(registered_phone(account))
    started = await stack["verification"].client.post(
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
    return account, started.json()["verification_id"]


async def ask_for_code(stack: Stack, token: Callable[..., str], verification_id: str) -> str:
    requested = await stack["verification"].client.post(
        f"/verification/sessions/{verification_id}/possession-code",
        json={"channel": "sms"},
        headers=auth(token("agent")),
    )
    assert requested.status_code == 202, requested.text
    return str(requested.json()["delivery_id"])


async def delivery_reaches(
    stack: Stack, token: Callable[..., str], verification_id: str, delivery_id: str, status: str
) -> dict[str, Any]:
    """The session as shown once its latest code delivery got to ``status``."""

    async def probe() -> Any:
        shown = await stack["verification"].client.get(
            f"/verification/sessions/{verification_id}", headers=auth(token("agent"))
        )
        assert shown.status_code == 200, shown.text
        delivery = shown.json()["code_delivery"]
        if delivery and delivery["delivery_id"] == delivery_id and delivery["status"] == status:
            return shown.json()
        return None

    return await eventually(probe, within=180)  # type: ignore[no-any-return]


async def received_code(sandbox: Sandbox, phone: str, count: int) -> str:
    """The code in the ``count``-th SMS the sandbox provider received for ``phone``."""

    async def probe() -> Any:
        messages = [m for m in await sandbox.amessages() if m["to"] == phone]
        return messages if len(messages) >= count else None

    messages = await eventually(probe, within=180)
    found = re.search(r"\b(\d{6})\b", messages[count - 1]["body"])
    assert found is not None
    return found.group(1)


async def enter(stack: Stack, token: Callable[..., str], verification_id: str, code: str) -> Any:
    entered = await stack["verification"].client.post(
        f"/verification/sessions/{verification_id}/possession-code/verification",
        json={"code": code},
        headers=auth(token("agent")),
    )
    assert entered.status_code == 200, entered.text
    return entered.json()


async def test_a_code_the_provider_refused_shows_on_the_session_and_a_new_one_works(
    stack: Stack,
    token: Callable[..., str],
    sms: tuple[Sandbox, ToOurPhones],
    claims_in_process: None,
) -> None:
    sandbox, router = sms
    account, verification_id = await code_session(stack, token, router)
    phone = registered_phone(account)
    await sandbox.fail_next(1, 400)  # the provider refuses the next message: permanent
    first = await ask_for_code(stack, token, verification_id)

    shown = await delivery_reaches(stack, token, verification_id, first, "failed")
    delivery = shown["code_delivery"]
    assert delivery["failure"] == "failed_after_claim"
    assert delivery["reason"].startswith("the one-time code sent by sms could not be delivered")
    assert delivery["reason"].endswith("request a new code: 3 may still be requested")
    assert shown["codes_left"] == 3  # the failed one does not count
    possession = next(c for c in shown["checks"] if c["check"] == "possession_code")
    assert possession["failures"] == 0  # nor is it a failed attempt
    assert shown["status"] == "open"
    assert [m for m in await sandbox.amessages() if m["to"] == phone] == []

    # the event on the session's stream names the message, never the code or the address
    event = await stack["verification"].runtime.pool.fetchval(
        """SELECT envelope FROM events WHERE stream_id = $1
           AND event_type = 'verification.code_delivery_failed'""",
        f"verification-{verification_id}",
    )
    assert event is not None
    assert phone not in str(event)
    notification_id = event["payload"]["notification_id"]

    # the notifications service's own list comes from its own projection of the same event,
    # which may run after verification's consumer: wait until the message has left the queue
    async def message_ended() -> dict[str, Any] | None:
        messages = await stack["notifications"].client.get(
            "/notifications",
            params={"recipient_ref": f"account:{account}"},
            headers=auth(token("agent")),
        )
        found = [m for m in messages.json() if m["notification_id"] == notification_id]
        assert len(found) <= 1, found
        return found[0] if found and found[0]["status"] != "queued" else None

    message = await eventually(message_ended, within=180)
    assert message["status"] == "failed"  # the notifications service keeps its own reason
    assert "HTTP 400" in message["failure_reason"]

    # a new code, at once: it arrives and it works
    second = await ask_for_code(stack, token, verification_id)
    code = await received_code(sandbox, phone, 1)
    shown = await delivery_reaches(stack, token, verification_id, second, "sent")
    assert shown["codes_left"] == 2
    verdict = await enter(stack, token, verification_id, code)
    assert verdict["correct"] is True
    assert verdict["session"]["current_check"] == "knowledge_challenge"

    # the agents' list (read model) says where each session's latest code stands
    async def listed() -> Any:
        rows = await stack["verification"].client.get(
            "/verification/sessions", params={"account_ref": account}, headers=auth(token("agent"))
        )
        [row] = rows.json()
        return row if row["passed_checks"] == ["possession_code"] else None

    row = await eventually(listed, within=180)
    assert row["code_delivery_status"] == "sent"
    assert row["code_delivery_reason"] is None  # the latest code is fine
    assert (row["status"], row["outcome"]) == ("open", None)  # still checks to take


async def test_a_code_never_claimed_in_time_shows_on_the_session_and_a_new_one_works(
    stack: Stack,
    token: Callable[..., str],
    sms: tuple[Sandbox, ToOurPhones],
    clock: OffsetClock,
) -> None:
    sandbox, router = sms
    account, verification_id = await code_session(stack, token, router)
    phone = registered_phone(account)
    previous = (code_claims(stack).base_url, code_claims(stack).transport)
    code_claims(stack).use("http://127.0.0.1:9", None)  # verification unreachable: retried
    try:
        first = await ask_for_code(stack, token, verification_id)

        async def retrying() -> Any:
            return await stack["notifications"].runtime.pool.fetchval(
                """SELECT 1 FROM notification_log WHERE recipient_ref = $1
                   AND kind = 'one_time_code' AND attempts > 0""",
                f"account:{account}",
            )

        await eventually(retrying, within=180)
        clock.advance(timedelta(minutes=3))  # past claim_before (2 minutes)
        timers = stack["notifications"].runtime.timers
        assert timers is not None
        await timers.fire_due()
        shown = await delivery_reaches(stack, token, verification_id, first, "failed")
    finally:
        code_claims(stack).use(*previous)
    assert shown["code_delivery"]["failure"] == "claim_window_passed"
    assert "no code was created" in shown["code_delivery"]["reason"]
    assert shown["codes_left"] == 3

    code_claims(stack).use(
        "http://verification", httpx.ASGITransport(app=stack["verification"].app)
    )
    try:
        second = await ask_for_code(stack, token, verification_id)
        code = await received_code(sandbox, phone, 1)
        await delivery_reaches(stack, token, verification_id, second, "sent")
    finally:
        code_claims(stack).use(*previous)
    assert (await enter(stack, token, verification_id, code))["correct"] is True


async def test_read_models_with_code_outcomes_rebuilt_from_kafka_equal_the_live_ones(
    stack: Stack,
    token: Callable[..., str],
    sms: tuple[Sandbox, ToOurPhones],
    claims_in_process: None,
    env_for_processes: dict[str, str],
) -> None:
    sandbox, router = sms
    _, verification_id = await code_session(stack, token, router)
    await sandbox.fail_next(1, 400)
    first = await ask_for_code(stack, token, verification_id)
    await delivery_reaches(stack, token, verification_id, first, "failed")
    second = await ask_for_code(stack, token, verification_id)
    await delivery_reaches(stack, token, verification_id, second, "sent")

    async def projected() -> Any:
        return await stack["verification"].runtime.pool.fetchrow(
            """SELECT 1 FROM session_views WHERE verification_id = $1
               AND code_delivery_status = 'sent' AND codes_undelivered = 1""",
            uuid.UUID(verification_id),
        )

    await eventually(projected, within=180)
    async with standing_still(stack):  # nothing in flight, no timer fires meanwhile
        before = await cli(env_for_processes, "digest", "verification")
        reports = await cli(env_for_processes, "rebuild", "verification")
        assert {report["group"] for report in reports} == {
            "verification.case_plans",
            "verification.sessions",
            "verification.organizations",
        }  # the code-outcome reaction is not a projection: it is not replayed
        after = await cli(env_for_processes, "digest", "verification")
    assert after == before


async def test_the_message_and_delivery_pairs_go_with_the_retention_job(
    stack: Stack, clock: OffsetClock
) -> None:
    runtime = stack["verification"].runtime
    old, recent = uuid.uuid4(), uuid.uuid4()
    async with runtime.pool.acquire() as conn:
        for notification_id, age in ((old, timedelta(days=8)), (recent, timedelta(days=6))):
            await conn.execute(
                """INSERT INTO code_delivery_messages (notification_id, verification_id,
                       delivery_id, requested_at) VALUES ($1, $1, $1, now() - $2::interval)""",
                notification_id,
                age,
            )
    try:
        purged = await run_policies(stack["verification"], clock)
        assert purged["code_delivery_messages"] >= 1
        kept = await runtime.pool.fetch(
            "SELECT notification_id FROM code_delivery_messages WHERE notification_id = ANY($1)",
            [old, recent],
        )
        assert [row["notification_id"] for row in kept] == [recent]
    finally:
        await forget(
            stack["verification"], {("code_delivery_messages", "notification_id"): [old, recent]}
        )
