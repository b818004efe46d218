# ruff: noqa: RUF001  (Chinese text uses full-width punctuation)
"""A phone or chat contact offered to an agent is told, by SMS, that an agent is about to
contact them, never to go to a window (issue 16, flow 5): over real Kafka, from check-in's
assignment to the sandbox SMS."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from tests.conftest import auth
from tests.integration.checkin.helpers import fake_phone
from tests.integration.checkin.test_assignment import ContactCenter
from tests.integration.conftest import RunningService
from tests.integration.notifications.conftest import Sandboxes
from tests.integration.notifications.test_triggers import sent_body

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("channel", "tag", "told"),
    [
        ("chat_web", "zh-CN", "：轮到您了，请准备好。客服马上会与您联系，请保持电话或对话畅通。"),
        (
            "phone",
            "en",
            ": you are next, please get ready. An agent is about to contact you; "
            "please stay reachable.",
        ),
    ],
)
async def test_a_remote_contact_offered_to_an_agent_is_told_it_is_about_to_be_contacted(
    stack: dict[str, RunningService],
    token: Callable[..., str],
    sandboxes: Sandboxes,
    channel: str,
    tag: str,
    told: str,
) -> None:
    center = ContactCenter(stack["checkin"].client, token)
    await center.configure()
    # an agent who speaks the contact's language (routing matches languages first)
    await center.remote_agent(
        "li", "desk-1", limits={"chat": 1, "phone": 1}, languages=[{"tag": tag}]
    )
    answer = await center.client.post(
        "/contacts",
        json={
            "site_id": center.site_id,
            "channel": channel,
            "intake": {
                "problem_category": "account_suspended",
                "account_ref": f"acct-{uuid.uuid4().hex[:8]}",
                "contact_phone": fake_phone(),
                "language": {"tag": tag},
            },
        },
        headers=auth(token("service", sub="chat-gateway")),
    )
    assert answer.status_code == 201, answer.text
    contact = answer.json()
    assert contact["status"] == "called", contact
    body = await sent_body(stack, token, sandboxes, f"ticket:{contact['ticket_id']}", "queue_next")
    assert body == f"{contact['number']}{told}"
    assert "窗口" not in body
    assert "desk" not in body
