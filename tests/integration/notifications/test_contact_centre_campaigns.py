# ruff: noqa: RUF001  (full-width punctuation is correct in Chinese text)
"""Organizations' contact centres: campaigns (issue 16 item 2, docs/services/notifications.md
"Organizations' contact centres"), over the real paths — notifications' HTTP API, Kafka
(verification's organizations, cases' tags, the recipients topic), the local SMTP sandbox and
the SMS sandbox provider, the durable timers.

Two verified organizations A and B tag customers with the same tag name; the platform tags
one too. A's campaign reaches only A's tagged customers who consented to A (consent to the
platform's marketing is not consent to A's), once each, signed with A's legal name; its
unsubscribe link withdraws the consent to A alone. B's campaign with the same tag never
reaches A's customers. B's admin and the platform's admin get 404 on A's campaign and do not
see it in their lists; an organization not verified gets 409 and nothing is written.

The tags are put by the organizations' agents through cases' HTTP API.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from contracts.events.notifications import MessageChannel
from runtime.organizations import verified_organization as known_organization
from runtime.scheduler import OffsetClock
from tests.conftest import auth, eventually
from tests.integration.conftest import RunningService
from tests.integration.notifications.conftest import Sandboxes, in_marketing_hours
from tests.integration.notifications.test_campaigns import fire, set_preferences, start_body, tag
from tests.integration.organizations import verified_organization

pytestmark = pytest.mark.integration

Stack = dict[str, RunningService]
ONE_CLICK = {"Content-Type": "application/x-www-form-urlencoded"}
A_NAME = "深圳示例科技有限公司"
B_NAME = "Beispiel Handels GmbH"


async def tagged_by(
    stack: Stack, token: Callable[..., str], organization_id: uuid.UUID, account: str, name: str
) -> None:
    """The organization's agent tags a customer in its contact centre (cases' HTTP API; the
    event names the organization)."""
    answer = await stack["cases"].client.post(
        f"/accounts/{account}/tags",
        json={"tag": name},
        headers=auth(token("agent", org=organization_id)),
    )
    assert answer.status_code == 201, answer.text


async def consent_to(
    stack: Stack,
    token: Callable[..., str],
    organization_id: uuid.UUID,
    account: str,
    *channels: str,
) -> None:
    answer = await stack["notifications"].client.put(
        f"/recipients/{account}/organization-consent",
        json={"marketing_consent": list(channels)},
        headers=auth(token("agent", org=organization_id)),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["marketing_consent"] == sorted(channels)


async def known(stack: Stack, organization_id: uuid.UUID) -> bool:
    """Whether notifications and cases (where the organization's staff tag) both know the
    organization is verified."""
    for service in ("notifications", "cases"):
        async with stack[service].runtime.pool.acquire() as conn:
            if await known_organization(conn, organization_id) is None:
                return False
    return True


async def listed(stack: Stack, headers: dict[str, str], name: str) -> list[str]:
    answer = await stack["notifications"].client.get(
        "/campaigns", params={"tag": name}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    return [c["campaign_id"] for c in answer.json()]


async def test_an_organizations_campaign_reaches_only_its_own_consenting_tagged_customers(
    stack: Stack, token: Callable[..., str], clock: OffsetClock, sandboxes: Sandboxes
) -> None:
    run = uuid.uuid4().hex[:8]
    name = f"vip-{run}"
    client = stack["notifications"].client
    pool = stack["notifications"].runtime.pool
    org_a = await verified_organization(stack, A_NAME)
    org_b = await verified_organization(stack, B_NAME)
    for organization_id in (org_a, org_b):
        await eventually(partial(known, stack, organization_id), within=120)
    admin_a = auth(token("admin", org=org_a))
    admin_b = auth(token("admin", org=org_b))
    platform_admin = auth(token("admin"))

    # A's customers: a1 consented to A (and to the platform), a2 to the platform only;
    # B's: b1 consented to B, b2 to A only; the platform's: p1. Everyone by email and SMS.
    a1, a2, b1, b2, p1 = (f"acct-{run}-{k}" for k in ("a1", "a2", "b1", "b2", "p1"))
    email = {account: f"{account}@example.com" for account in (a1, a2, b1, b2, p1)}
    phone = {account: f"+86137{uuid.uuid4().int % 10**8:08d}" for account in email}
    for account, language, platform_consent in (
        (a1, "zh-CN", ["email"]),
        (a2, "en", ["email", "sms"]),
        (b1, "en", []),
        (b2, "en", []),
        (p1, "en", ["email", "sms"]),
    ):
        await set_preferences(
            stack,
            token,
            account,
            channels=["email", "sms"],
            email=email[account],
            phone=phone[account],
            marketing_consent=platform_consent,
            language={"tag": language},
        )
    await consent_to(stack, token, org_a, a1, "email", "sms")
    await consent_to(stack, token, org_b, b1, "sms")
    await consent_to(stack, token, org_a, b2, "email", "sms")
    # the same tag name in three contact centres
    await tagged_by(stack, token, org_a, a1, name)
    await tagged_by(stack, token, org_a, a2, name)
    await tagged_by(stack, token, org_b, b1, name)
    await tagged_by(stack, token, org_b, b2, name)
    await tag(stack, token, p1, name)

    async def read_models_caught_up() -> bool:
        members = await pool.fetchval(
            "SELECT count(*) FROM campaign_tag_members WHERE tag = $1", name
        )
        consents = await pool.fetchval(
            "SELECT count(*) FROM organization_consent WHERE recipient_ref = ANY($1)",
            [f"account:{a}" for a in (a1, b1, b2)],
        )
        prefs = await pool.fetchval(
            "SELECT count(*) FROM recipient_preferences WHERE recipient_ref = ANY($1)",
            [f"account:{a}" for a in email],
        )
        return (members, consents, prefs) == (5, 3, 5)

    await eventually(read_models_caught_up, within=120)

    # an organization's staff record consent to their own organization only; the platform's
    # staff have the preferences for theirs, and an organization's staff cannot set those
    refused = await client.put(
        f"/recipients/{p1}/organization-consent",
        json={"marketing_consent": ["sms"]},
        headers=auth(token("agent")),
    )
    assert refused.status_code == 403, refused.text
    closed = await client.put(
        f"/recipients/{a1}/preferences",
        json={"channels": ["sms"], "phone": phone[a1]},
        headers=admin_a,
    )
    assert closed.status_code == 403, closed.text

    # an organization not verified starts nothing (and records no consent): 409, nothing written
    unverified = uuid.uuid4()
    in_marketing_hours(clock)
    refused = await client.post(
        "/campaigns",
        json=start_body(name, "email", rate=120),
        headers=auth(token("admin", org=unverified)),
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["rule"] == "organization_not_verified"
    refused = await client.put(
        f"/recipients/{a1}/organization-consent",
        json={"marketing_consent": ["sms"]},
        headers=auth(token("agent", org=unverified)),
    )
    assert refused.status_code == 409, refused.text
    written = await pool.fetchval(
        """SELECT count(*) FROM events WHERE stream_id LIKE 'campaign-%'
           AND envelope->'payload'->>'tag' = $1""",
        name,
    )
    assert written == 0

    # A's email campaign: A's tag only (a1, a2), and only a1 consented to A
    started = await client.post(
        "/campaigns",
        json=start_body(name, "email", rate=120),
        headers={**admin_a, "Idempotency-Key": f"org-a-{run}"},
    )
    assert started.status_code == 201, started.text
    view = started.json()
    campaign_a = view["campaign_id"]
    assert view["organization_id"] == str(org_a)
    assert (view["members"], view["targeted"], view["skipped_consent"]) == (2, 1, 1)

    def mails_to(*accounts: str) -> list[dict[str, Any]]:
        wanted = {email[a] for a in accounts}
        return [m for m in sandboxes.mailbox.list() if m["rcpt_to"][0] in wanted]

    async def reached_a1() -> list[dict[str, Any]] | None:
        await fire(stack)
        return mails_to(a1) or None

    [mail] = await eventually(reached_a1, within=120)
    link = mail["list_unsubscribe"][1:-1]
    assert mail["body"] == f"【{A_NAME}】本月使用钱包支付享九折。\n退订请点击：{link}"

    async def completed(campaign_id: str, headers: dict[str, str]) -> dict[str, Any] | None:
        await fire(stack)
        answer = await client.get(f"/campaigns/{campaign_id}", headers=headers)
        assert answer.status_code == 200, answer.text
        current: dict[str, Any] = answer.json()
        return current if current["status"] == "completed" and current["sent"] == 1 else None

    done = await eventually(partial(completed, campaign_a, admin_a), within=120)
    assert (done["requested"], done["processed"]) == (1, 1)
    assert len(mails_to(a1)) == 1  # once
    assert mails_to(a2, b1, b2, p1) == []

    # another contact centre does not see A's campaign: 404, absent from its list
    for headers in (admin_b, platform_admin, auth(token("supervisor"))):
        hidden = await client.get(f"/campaigns/{campaign_a}", headers=headers)
        assert hidden.status_code == 404, hidden.text
        cancel = await client.post(f"/campaigns/{campaign_a}/cancel", headers=headers)
        assert cancel.status_code == 404, cancel.text
    assert campaign_a in await eventually(partial(listed, stack, admin_a, name), within=60)
    assert campaign_a not in await listed(stack, admin_b, name)
    assert campaign_a not in await listed(stack, platform_admin, name)
    # ... and A's own admin reaches its rules (completed, nothing waiting: nothing to cancel)
    finished = await client.post(f"/campaigns/{campaign_a}/cancel", headers=admin_a)
    assert finished.status_code == 409, finished.text

    # B's SMS campaign with the same tag name: B's customers only, b1 consented to B (b2
    # consented to A, not to B); signed with B's name, in b1's language
    sms = sandboxes.providers[MessageChannel.SMS]
    started = await client.post(
        "/campaigns",
        json=start_body(name, "sms", rate=120),
        headers={**admin_b, "Idempotency-Key": f"org-b-{run}"},
    )
    assert started.status_code == 201, started.text
    view = started.json()
    assert (view["members"], view["targeted"], view["skipped_consent"]) == (2, 1, 1)
    await eventually(partial(completed, view["campaign_id"], admin_b), within=120)
    texts = {a: [m for m in await sms.amessages() if m["to"] == phone[a]] for a in email}
    [b1_text] = texts.pop(b1)
    assert b1_text["body"] == f"From {B_NAME}:\n10% off this month.\nReply STOP to opt out."
    assert all(received == [] for received in texts.values()), texts
    assert view["campaign_id"] not in await listed(stack, admin_a, name)

    # A's unsubscribe link names A and withdraws the consent to A alone: the platform's stays
    signed = parse_qs(urlsplit(link).query)["token"][0]
    page = await client.get(
        f"/notifications/unsubscribe?token={signed}", headers={"Accept-Language": "zh-CN"}
    )
    assert page.status_code == 200, page.text
    assert f"不再通过电子邮件接收{A_NAME}的营销信息？" in page.text
    clicked = await client.post(
        f"/notifications/unsubscribe?token={signed}",
        content=b"List-Unsubscribe=One-Click",
        headers=ONE_CLICK,
    )
    assert clicked.status_code == 200, clicked.text
    assert f"no more marketing email from {A_NAME}." in clicked.text
    to_a = await client.get(
        f"/recipients/{a1}/organization-consent", headers=auth(token("agent", org=org_a))
    )
    assert to_a.json()["marketing_consent"] == ["sms"]
    prefs = await client.get(f"/recipients/{a1}/preferences", headers=auth(token("agent")))
    assert prefs.json()["marketing_consent"] == ["email"]
    to_b = await client.get(
        f"/recipients/{a1}/organization-consent", headers=auth(token("agent", org=org_b))
    )
    assert to_b.json()["marketing_consent"] == []
