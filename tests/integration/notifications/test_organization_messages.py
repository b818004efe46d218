# ruff: noqa: RUF001  (Chinese text uses full-width punctuation)
"""An organization's contact is told each step of its verification (BRIEF flow 7), over real
Kafka and PostgreSQL: verification's API is driven end to end (sandbox bank), notifications
hears its events and mails the contact in Chinese through the local SMTP server. The messages
are the organization's personal data (sealed with ``organization:<id>``'s key), not an
account's; erasing the organization forgets its contact here."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from contracts import Envelope
from contracts.events.notifications import NOTIFICATIONS_MESSAGES
from runtime.settings import ServiceSettings
from tests.conftest import auth, eventually
from tests.integration.conftest import RunningService
from tests.integration.kafka_tools import read_topic
from tests.integration.notifications.conftest import Sandboxes
from tests.integration.verification.conftest import SandboxIdp, sandbox_idp  # noqa: F401
from tests.integration.verification.test_organizations import brand, profile, verify_steps

pytestmark = pytest.mark.integration

Stack = dict[str, RunningService]

STEPS = [
    "organization_submitted",
    "organization_deposits_sent",
    "organization_deposit_confirmation_failed",
    "organization_deposits_confirmed",
    "organization_documents_approved",
    "organization_verified",
]


async def messages_to(
    stack: Stack, token: Callable[..., str], organization_id: str
) -> list[dict[str, Any]]:
    answer = await stack["notifications"].client.get(
        "/notifications",
        params={"recipient_ref": f"organization:{organization_id}"},
        headers=auth(token("agent")),
    )
    return answer.json()  # type: ignore[no-any-return]


async def test_the_contact_is_told_every_step_of_the_verification_in_their_language(
    stack: Stack,
    settings: ServiceSettings,
    token: Callable[..., str],
    sandboxes: Sandboxes,
    sandbox_idp: SandboxIdp,  # noqa: F811
) -> None:
    client = stack["verification"].client
    name = brand()
    domain = f"{name}.com"
    admin = auth(token("customer", sub=f"admin-{name}"))
    body = profile(domain)
    body["contact_email"] = f"contact-{uuid.uuid4().hex[:6]}@{domain}"
    submitted = await client.post("/verification/organizations", json=body, headers=admin)
    assert submitted.status_code == 201, submitted.text
    organization_id = submitted.json()["organization_id"]
    done = await verify_steps(
        stack, token, sandbox_idp, organization_id, admin, body["bank_account_number"]
    )
    assert done["status"] == "verified", done

    async def all_sent() -> Any:
        found = await messages_to(stack, token, organization_id)
        if sorted(m["kind"] for m in found) != sorted(STEPS):
            return None
        return found if all(m["status"] == "sent" for m in found) else None

    sent = await eventually(all_sent, within=120)
    assert {m["channel"] for m in sent} == {"email"}  # email first; SMS would be the fallback
    mails = {
        m["message_id"]: m
        for m in sandboxes.mailbox.list()
        if m["rcpt_to"] == [body["contact_email"]]
    }
    assert len(mails) == len(STEPS)  # one mail per step, each once
    by_kind = {m["kind"]: mails[m["provider_message_id"]] for m in sent}
    legal_name = body["legal_name"]
    assert by_kind["organization_submitted"]["subject"] == "机构认证申请已收到"
    deposits = by_kind["organization_deposits_sent"]["body"]
    assert deposits.startswith(
        f"我们已向 {legal_name} 尾号 {body['bank_account_number'][-4:]} 的账户打入两笔小额款项。"
    )
    assert "还可尝试 2 次" in by_kind["organization_deposit_confirmation_failed"]["body"]
    assert by_kind["organization_verified"]["body"] == (
        f"{legal_name} 已通过认证。认证域名：{domain}"
    )

    # the contact's addresses travel sealed with the organization's key, not an account's
    records = await read_topic(
        settings.kafka.bootstrap_servers, settings.kafka.topic(NOTIFICATIONS_MESSAGES.name)
    )
    requested = [
        envelope
        for envelope in (Envelope.from_bytes(r.value) for r in records if r.value)
        if envelope.event_type == "notifications.notification_requested"
        and envelope.payload["recipient_ref"] == f"organization:{organization_id}"
    ]
    assert len(requested) == len(STEPS)
    for envelope in requested:
        assert envelope.schema_version == 5  # v3 and up: sealed under subject_ref
        assert envelope.personal_data is not None
        assert envelope.personal_data.subject_id == f"organization:{organization_id}"
        assert envelope.payload["to_email"].startswith("pd1:")
        assert envelope.payload["variables"].startswith("pd1:")  # v5: the variables too
        assert legal_name not in envelope.model_dump_json()
        assert body["contact_email"] not in envelope.model_dump_json()


async def test_a_rejection_is_told_with_its_reasons_once(
    stack: Stack,
    token: Callable[..., str],
    sandboxes: Sandboxes,
    sandbox_idp: SandboxIdp,  # noqa: F811
) -> None:
    client = stack["verification"].client
    name = brand()
    admin = auth(token("customer", sub=f"admin-{name}"))
    body = profile(f"{name}.com")
    body["contact_email"] = f"contact-{uuid.uuid4().hex[:6]}@{name}.com"
    submitted = await client.post("/verification/organizations", json=body, headers=admin)
    organization_id = submitted.json()["organization_id"]
    rejected = await client.post(
        f"/verification/organizations/{organization_id}/rejection",
        json={"reasons": ["the business licence has expired"], "reason_code": "documents_rejected"},
        headers=auth(token("reviewer", sub="rev-org")),
    )
    assert rejected.status_code == 200, rejected.text

    async def told() -> Any:
        found = await messages_to(stack, token, organization_id)
        kinds = sorted(m["kind"] for m in found if m["status"] == "sent")
        return found if kinds == ["organization_rejected", "organization_submitted"] else None

    sent = await eventually(told, within=120)
    [rejection] = [m for m in sent if m["kind"] == "organization_rejected"]
    [mail] = [
        m for m in sandboxes.mailbox.list() if m["message_id"] == rejection["provider_message_id"]
    ]
    assert mail["subject"] == "机构认证未通过"
    # the reason as its label in the contact's language; the reviewer's English stays inside
    assert mail["body"].endswith("原因：营业执照或授权书未通过审核。")
    assert "the business licence has expired" not in mail["body"]
