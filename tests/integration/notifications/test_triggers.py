# ruff: noqa: RUF001  (Chinese text uses full-width punctuation)
"""What triggers messages, over real Kafka and the sandbox SMS process: the ticket's number,
"N ahead" and "you are next" in the virtual queue, "please come to desk X" when called, and a
case decision with its explanation."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from contracts.events.cases import DecisionOutcome, DecisionRecorded
from contracts.events.checkin import TicketPositionChanged
from contracts.events.notifications import MessageChannel
from runtime.settings import ServiceSettings
from services.notifications.domain.labels import QUEUES
from tests.conftest import auth, eventually
from tests.integration.conftest import RunningService
from tests.integration.notifications.conftest import Sandboxes, publish, wiring_of
from tests.integration.notifications.test_delivery import fake_phone, issue_ticket

pytestmark = pytest.mark.integration

Stack = dict[str, RunningService]


async def sent_body(
    stack: Stack, token: Callable[..., str], sandboxes: Sandboxes, recipient: str, kind: str
) -> str:
    async def probe() -> Any:
        answer = await stack["notifications"].client.get(
            "/notifications", params={"recipient_ref": recipient}, headers=auth(token("agent"))
        )
        found = [m for m in answer.json() if m["kind"] == kind and m["status"] == "sent"]
        return found[0] if found else None

    message = await eventually(probe)
    [received] = await sandboxes.providers[MessageChannel(message["channel"])].amessages(
        message["notification_id"]
    )
    return received["body"]  # type: ignore[no-any-return]


async def test_ticket_messages_follow_the_queue(
    stack: Stack, settings: ServiceSettings, token: Callable[..., str], sandboxes: Sandboxes
) -> None:
    ticket = await issue_ticket(stack, token, fake_phone(), language="en")
    recipient = f"ticket:{ticket['ticket_id']}"
    issued = await sent_body(stack, token, sandboxes, recipient, "ticket_issued")
    assert issued.startswith(f"Your number is {ticket['number']}.")
    assert f" Queue: {QUEUES.label(ticket['queue'], 'en')}." in issued  # its name, not its code
    assert f"/tickets/{ticket['ticket_id']}" in issued

    # the virtual queue moves (as check-in publishes it)
    for ahead, version in ((3, 2), (0, 3)):
        await publish(
            settings,
            TicketPositionChanged(
                ticket_id=uuid.UUID(ticket["ticket_id"]),
                ahead=ahead,
                you_are_next=ahead == 0,
                expected_minutes=ahead * 5,
                at=datetime.now(UTC),
            ),
            f"ticket-{ticket['ticket_id']}",
            producer="checkin",
            privacy=stack["checkin"].runtime.privacy,
            stream_version=version,
        )
    position = await sent_body(stack, token, sandboxes, recipient, "queue_position")
    assert position.startswith(f"{ticket['number']}: 3 ahead of you.")
    ready = await sent_body(stack, token, sandboxes, recipient, "queue_next")
    assert ready == f"{ticket['number']}: you are next, please get ready."

    # called to a desk: a second "you are next", naming the desk (another trigger)
    called = await stack["checkin"].client.post(
        f"/tickets/{ticket['ticket_id']}/call",
        json={"desk_id": "7"},
        headers=auth(token("agent")),
    )
    assert called.status_code == 200, called.text

    async def desk_message() -> Any:
        answer = await stack["notifications"].client.get(
            "/notifications", params={"recipient_ref": recipient}, headers=auth(token("agent"))
        )
        nexts = [m for m in answer.json() if m["kind"] == "queue_next" and m["status"] == "sent"]
        return nexts if len(nexts) == 2 else None

    messages = await eventually(desk_message)
    bodies = [
        (await sandboxes.providers[MessageChannel.SMS].amessages(m["notification_id"]))[0]["body"]
        for m in messages
    ]
    assert f"{ticket['number']}: you are next, please come to desk 7." in bodies


async def test_a_case_decision_is_explained_to_the_person(
    stack: Stack, settings: ServiceSettings, token: Callable[..., str], sandboxes: Sandboxes
) -> None:
    account = f"acct-{uuid.uuid4().hex[:8]}"
    phone = fake_phone()
    ticket = await issue_ticket(stack, token, phone, account=account)
    # notifications has heard of the visit (and so knows the number to reach them at)
    await sent_body(stack, token, sandboxes, f"ticket:{ticket['ticket_id']}", "ticket_issued")
    case_id = uuid.uuid4()
    await publish(
        settings,
        DecisionRecorded(
            case_id=case_id,
            decision_id=uuid.uuid4(),
            account_ref=account,
            outcome=DecisionOutcome.RESTORED,
            reason_code="LOGIN_ANOMALY_3",
            policy_version=2,
            threshold=3,
            explanation="您的账号因 24 小时内 3 次异地登录被暂停；身份已核实，现已恢复。",
            explanation_language="zh-CN",
            decided_at=datetime.now(UTC),
        ),
        f"case-{case_id}",
        producer="cases",
        privacy=stack["cases"].runtime.privacy,
        stream_version=2,
    )
    body = await sent_body(stack, token, sandboxes, f"account:{account}", "case_decision")
    # the outcome in the customer's words, never its code
    assert body.startswith(f"您的案件 {str(case_id)[:8].upper()} 已有结果：已恢复。")
    assert "3 次异地登录" in body
    [received] = [
        m for m in await sandboxes.providers[MessageChannel.SMS].amessages() if m["body"] == body
    ]
    assert received["to"] == phone


async def test_per_recipient_rate_limit_defers_messages_it_does_not_drop_them(
    stack: Stack,
    settings: ServiceSettings,
    clock: Any,
    token: Callable[..., str],
    sandboxes: Sandboxes,
) -> None:
    from datetime import timedelta

    account = f"acct-{uuid.uuid4().hex[:8]}"
    ticket = await issue_ticket(stack, token, fake_phone(), account=account)
    await sent_body(stack, token, sandboxes, f"ticket:{ticket['ticket_id']}", "ticket_issued")
    original = wiring_of(stack).settings
    wiring_of(stack).settings = original.model_copy(update={"rate_limit_per_hour": 2})
    try:
        for n in range(3):
            case_id = uuid.uuid4()
            await publish(
                settings,
                DecisionRecorded(
                    case_id=case_id,
                    decision_id=uuid.uuid4(),
                    account_ref=account,
                    outcome=DecisionOutcome.DENIED,
                    reason_code=f"RULE_{n}",
                    policy_version=1,
                    explanation=f"Decision {n}.",
                    explanation_language="en",
                    decided_at=datetime.now(UTC),
                ),
                f"case-{case_id}",
                producer="cases",
                privacy=stack["cases"].runtime.privacy,
                stream_version=2,
            )

        async def statuses() -> Any:
            answer = await stack["notifications"].client.get(
                "/notifications",
                params={"recipient_ref": f"account:{account}"},
                headers=auth(token("agent")),
            )
            found = sorted(m["status"] for m in answer.json())
            return found if found == ["queued", "sent", "sent"] else None

        await eventually(statuses)
        clock.advance(timedelta(hours=1, minutes=1))
        timers = stack["notifications"].runtime.timers
        assert timers is not None
        await timers.fire_due()

        async def all_sent() -> Any:
            answer = await stack["notifications"].client.get(
                "/notifications",
                params={"recipient_ref": f"account:{account}"},
                headers=auth(token("agent")),
            )
            return (
                [m for m in answer.json() if m["status"] == "sent"]
                if all(m["status"] == "sent" for m in answer.json())
                else None
            )

        assert len(await eventually(all_sent)) == 3
    finally:
        wiring_of(stack).settings = original
