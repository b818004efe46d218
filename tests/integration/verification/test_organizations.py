"""Organization verification over real Kafka and PostgreSQL: end to end with the sandbox bank,
an impersonation blocked, deposits that expire (BRIEF flows 7 and 8)."""

from __future__ import annotations

import base64
import random
import string
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from contracts.events.verification_organizations import VERIFICATION_ORGANIZATIONS
from contracts.events.verification_protected_domains import VERIFICATION_PROTECTED_DOMAINS
from runtime.scheduler import OffsetClock
from tests.conftest import auth, eventually
from tests.integration.conftest import RunningService
from tests.integration.verification.conftest import SandboxIdp, events_on_topic

pytestmark = pytest.mark.integration

Stack = dict[str, RunningService]
VALID_CODES = ["91350100M000100Y43", "9144030071526726XG", "91110000802100433B"]


def brand() -> str:
    return "".join(random.choices(string.ascii_lowercase, k=9))


def profile(domain: str, contact_domain: str | None = None) -> dict[str, Any]:
    return {
        "legal_name": f"{domain} Trading Co., Ltd.",
        "unified_social_credit_code": random.choice(VALID_CODES),
        "legal_representative_name": "Fake Representative",
        "legal_representative_id_ref": f"doc-{uuid.uuid4().hex[:8]}",
        "bank_name": "Sandbox Bank",
        "bank_account_number": "".join(random.choices(string.digits, k=16)),
        "contact_name": "Fake Contact",
        "contact_phone": "+8613800000002",
        "contact_email": f"service@{contact_domain or domain}",
        "official_domains": [domain],
    }


async def org_events(stack: Stack, organization_id: str) -> list[str]:
    return [
        e.event_type
        for e in await events_on_topic(stack, VERIFICATION_ORGANIZATIONS.name)
        if e.payload.get("organization_id") == organization_id
    ]


async def verify_steps(
    stack: Stack,
    token: Callable[..., str],
    sandbox: SandboxIdp,
    organization_id: str,
    admin: dict[str, str],
    account_number: str,
) -> dict[str, Any]:
    """Deposits confirmed (one wrong try first), documents approved, phone confirmed."""
    client = stack["verification"].client
    base = f"/verification/organizations/{organization_id}"
    sent = await client.post(f"{base}/deposits", headers=admin)
    assert sent.status_code == 202, sent.text
    assert sent.json()["deposits"] == "sent"
    amounts = [credit.amount_cents for credit in sandbox.bank.statement(account_number)[-2:]]
    assert len(amounts) == 2
    assert all(1 <= amount <= 99 for amount in amounts)
    assert amounts[0] != amounts[1]
    wrong = [a % 99 + 1 for a in amounts]
    if sorted(wrong) == sorted(amounts):
        wrong = [amounts[0], amounts[0]]
    failed = await client.post(
        f"{base}/deposits/confirmation", json={"amounts_cents": wrong}, headers=admin
    )
    assert failed.json()["deposit_attempts"] == 1
    confirmed = await client.post(
        f"{base}/deposits/confirmation", json={"amounts_cents": amounts[::-1]}, headers=admin
    )
    assert confirmed.json()["deposits"] == "confirmed", confirmed.text
    licence = base64.b64encode(b"%PDF-fake-business-licence").decode()
    uploaded = await client.post(
        f"{base}/documents",
        json={
            "kind": "business_licence",
            "content_type": "application/pdf",
            "content_base64": licence,
        },
        headers=admin,
    )
    assert uploaded.status_code == 201, uploaded.text
    reviewer = auth(token("reviewer", sub="rev-org"))
    early = await client.post(
        f"{base}/phone-confirmation", json={"confirmed": True, "note": "called"}, headers=reviewer
    )
    assert early.status_code == 409  # documents first
    docs = await client.post(
        f"{base}/document-review",
        json={
            "approved": True,
            "reason": "licence matches the register",
            "document_refs": [uploaded.json()["media_id"]],
        },
        headers=reviewer,
    )
    assert docs.status_code == 200, docs.text
    phone = await client.post(
        f"{base}/phone-confirmation",
        json={"confirmed": True, "note": "switchboard confirmed the contact's role"},
        headers=reviewer,
    )
    assert phone.status_code == 200, phone.text
    return phone.json()  # type: ignore[no-any-return]


async def test_an_organization_is_verified_end_to_end_and_an_impersonator_is_blocked(
    stack: Stack, token: Callable[..., str], sandbox_idp: SandboxIdp
) -> None:
    client = stack["verification"].client
    name = brand()
    domain = f"{name}.com"
    admin = auth(token("customer", sub=f"admin-{name}"))
    body = profile(domain)
    submitted = await client.post("/verification/organizations", json=body, headers=admin)
    assert submitted.status_code == 201, submitted.text
    org = submitted.json()
    assert await staff_flags(client, token, org["organization_id"]) == []
    assert org["bank_account_last4"] == body["bank_account_number"][-4:]
    other = auth(token("customer", sub="someone-else"))
    hidden = await client.get(
        f"/verification/organizations/{org['organization_id']}", headers=other
    )
    assert hidden.status_code == 404

    done = await verify_steps(
        stack, token, sandbox_idp, org["organization_id"], admin, body["bank_account_number"]
    )
    assert done["status"] == "verified", done
    types = await eventually(
        lambda: _having(
            org_events(stack, org["organization_id"]), "verification.organization_verified"
        )
    )
    assert types[:2] == ["verification.organization_submitted", "verification.deposits_sent"]
    assert "verification.deposit_confirmation_failed" in types

    async def domain_verified() -> Any:
        return await stack["verification"].runtime.pool.fetchval(
            "SELECT organization_id FROM verified_domains WHERE domain = $1", domain
        )

    await eventually(domain_verified)

    # BRIEF flow 8: someone poses as the company's staff with a look-alike domain
    impostor_domain = f"sh-{domain}"
    impostor_admin = auth(token("customer", sub=f"admin-impostor-{name}"))
    impostor_body = profile(impostor_domain)
    impostor = await client.post(
        "/verification/organizations", json=impostor_body, headers=impostor_admin
    )
    assert impostor.status_code == 201, impostor.text
    impostor_id = impostor.json()["organization_id"]
    assert "open_flags" not in impostor.json()  # a flag is never told to the one it flags
    [flag] = await staff_flags(client, token, impostor_id)
    assert flag["domain"] == impostor_domain
    assert flag["resembles"] == domain
    assert "brand_embedded" in flag["techniques"]
    blocked = await verify_steps(
        stack, token, sandbox_idp, impostor_id, impostor_admin, impostor_body["bank_account_number"]
    )
    assert blocked["status"] == "submitted"  # every step done, but the flag blocks it
    assert await staff_flags(client, token, impostor_id) == [flag]
    seen_by_impostor = await client.get(
        f"/verification/organizations/{impostor_id}", headers=impostor_admin
    )
    assert seen_by_impostor.status_code == 200
    assert "open_flags" not in seen_by_impostor.json()
    flagged = await eventually(
        lambda: _having(org_events(stack, impostor_id), "verification.lookalike_domain_flagged")
    )
    assert "verification.organization_verified" not in flagged

    async def listed() -> Any:
        flags = await client.get("/verification/lookalike-flags", headers=auth(token("reviewer")))
        return [f for f in flags.json() if f["flag_id"] == flag["flag_id"]]

    await eventually(listed)
    rejected = await client.post(
        f"/verification/organizations/{impostor_id}/rejection",
        json={
            "reasons": [f"{impostor_domain} imitates {domain}, verified for another organization"]
        },
        headers=auth(token("reviewer", sub="rev-org")),
    )
    assert rejected.json()["status"] == "rejected"
    taken = await client.post("/verification/organizations", json=profile(domain), headers=other)
    assert taken.status_code == 409
    assert "already verified for another organization" in taken.json()["detail"]


async def staff_flags(
    client: Any, token: Callable[..., str], organization_id: str
) -> list[dict[str, Any]]:
    """The organization's open look-alike flags as a reviewer sees them."""
    shown = await client.get(
        f"/verification/organizations/{organization_id}", headers=auth(token("reviewer"))
    )
    assert shown.status_code == 200, shown.text
    return shown.json()["open_flags"]  # type: ignore[no-any-return]


async def test_a_protected_brand_is_guarded_although_it_has_no_verified_organization_here(
    stack: Stack, token: Callable[..., str], sandbox_idp: SandboxIdp
) -> None:
    """The seeds' exact case: sh-byd.com is flagged against the protected byd.com (seeded at
    start-up), silently for the claimant; an operator protects another brand over HTTP."""
    client = stack["verification"].client
    reviewer, operator = auth(token("reviewer")), auth(token("admin", sub="op-1"))
    listed = await client.get("/verification/protected-domains", headers=reviewer)
    assert {"domain": "byd.com", "brand": "BYD", "source": "seed"} in listed.json()
    impostor = auth(token("customer", sub=f"admin-sh-byd-{brand()}"))
    submitted = await client.post(
        "/verification/organizations", json=profile("sh-byd.com"), headers=impostor
    )
    assert submitted.status_code == 201, submitted.text
    assert "open_flags" not in submitted.json()
    [flag] = await staff_flags(client, token, submitted.json()["organization_id"])
    assert (flag["domain"], flag["resembles"]) == ("sh-byd.com", "byd.com")
    assert "brand_embedded" in flag["techniques"]

    name = brand()
    refused = await client.post(
        "/verification/protected-domains",
        json={"domain": f"{name}.com", "brand": name.title()},
        headers=reviewer,
    )
    assert refused.status_code == 403  # operators only
    added = await client.post(
        "/verification/protected-domains",
        json={"domain": f"{name}.com", "brand": name.title()},
        headers=operator,
    )
    assert added.status_code == 201, added.text
    assert added.json() == {"domain": f"{name}.com", "brand": name.title(), "source": "operator"}
    lookalike = await client.post(
        "/verification/organizations", json=profile(f"{name}-official.com"), headers=impostor
    )
    [flag] = await staff_flags(client, token, lookalike.json()["organization_id"])
    assert flag["resembles"] == f"{name}.com"
    removed = await client.post(
        f"/verification/protected-domains/{name}.com/removal",
        json={"reason": "the brand is no longer at risk"},
        headers=operator,
    )
    assert removed.status_code == 200, removed.text
    assert f"{name}.com" not in [entry["domain"] for entry in removed.json()]
    unflagged = await client.post(
        "/verification/organizations", json=profile(f"{name}-shop.com"), headers=impostor
    )
    assert await staff_flags(client, token, unflagged.json()["organization_id"]) == []

    async def published() -> set[str] | None:
        # the relay publishes after the commands answer: wait for the removal on Kafka too
        events = await events_on_topic(stack, VERIFICATION_PROTECTED_DOMAINS.name)
        types = {e.event_type for e in events if e.payload["domain"] == f"{name}.com"}
        return types if "verification.protected_domain_removed" in types else None

    assert await eventually(published) == {
        "verification.protected_domain_added",
        "verification.protected_domain_removed",
    }


async def _having(found: Any, event_type: str) -> list[str] | None:
    types = await found
    return types if event_type in types else None


async def test_a_contact_email_on_a_lookalike_domain_blocks_until_a_reviewer_clears_it(
    stack: Stack, token: Callable[..., str], sandbox_idp: SandboxIdp
) -> None:
    client = stack["verification"].client
    name = brand()
    domain = f"{name}.com"
    swapped = f"{name[1]}{name[0]}{name[2:]}.com" if name[0] != name[1] else f"{name}{name[-1]}.com"
    admin = auth(token("customer", sub=f"admin-{name}"))
    body = profile(domain, contact_domain=swapped)
    org = (await client.post("/verification/organizations", json=body, headers=admin)).json()
    [flag] = await staff_flags(client, token, org["organization_id"])
    assert flag["source"] == "contact_email"
    assert flag["domain"] == swapped
    done = await verify_steps(
        stack, token, sandbox_idp, org["organization_id"], admin, body["bank_account_number"]
    )
    assert done["status"] == "submitted"
    cleared = await client.post(
        f"/verification/organizations/{org['organization_id']}/flags/{flag['flag_id']}/clearance",
        json={"reason": "typo in the form; the contact confirmed the official address by phone"},
        headers=auth(token("reviewer", sub="rev-org")),
    )
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["status"] == "verified"


async def test_deposits_expire_by_timer_and_can_be_sent_again(
    stack: Stack, token: Callable[..., str], sandbox_idp: SandboxIdp, clock: OffsetClock
) -> None:
    client = stack["verification"].client
    name = brand()
    admin = auth(token("customer", sub=f"admin-{name}"))
    body = profile(f"{name}.cn")
    bad = dict(body, unified_social_credit_code="91350100M000100Y44")
    refused = await client.post("/verification/organizations", json=bad, headers=admin)
    assert refused.status_code == 422
    assert "check character" in refused.text
    org = (await client.post("/verification/organizations", json=body, headers=admin)).json()
    base = f"/verification/organizations/{org['organization_id']}"
    assert (await client.post(f"{base}/deposits", headers=admin)).status_code == 202
    again = await client.post(f"{base}/deposits", headers=admin)
    assert again.status_code == 409
    clock.advance(timedelta(days=1, minutes=1))  # deposits expire after a day here
    await stack["verification"].timers.fire_due()
    late = await client.post(
        f"{base}/deposits/confirmation", json={"amounts_cents": [1, 2]}, headers=admin
    )
    assert late.status_code == 409
    assert "expired" in late.json()["detail"]
    resent = await client.post(f"{base}/deposits", headers=admin)
    assert resent.status_code == 202, resent.text
    assert resent.json()["deposits"] == "sent"
    amounts = [c.amount_cents for c in sandbox_idp.bank.statement(body["bank_account_number"])[-2:]]
    wrong = [amounts[0], amounts[0]]  # two different amounts were sent: never this pair
    answers = []
    for _ in range(3):
        response = await client.post(
            f"{base}/deposits/confirmation", json={"amounts_cents": wrong}, headers=admin
        )
        answers.append(response.json())
    assert [a["deposit_attempts"] for a in answers] == [1, 2, 3]
    assert answers[-1]["status"] == "rejected"
    assert answers[-1]["reasons"] == ["the micro-deposit amounts were not confirmed in 3 attempts"]


async def test_flow_7_over_http_only_the_company_reads_its_deposits_on_its_bank_statement(
    stack: Stack, token: Callable[..., str], sandbox_idp: SandboxIdp
) -> None:
    """BRIEF flow 7 as a company and a reviewer do it, through HTTP only: the company learns
    the two amounts from its own bank's statement (the sandbox bank over real HTTP,
    authenticated as the account holder), never from Frontdesk."""
    client = stack["verification"].client
    name = brand()
    admin = auth(token("customer", sub=f"admin-{name}"))
    body = profile(f"{name}.com")
    account = body["bank_account_number"]
    registered = await client.post("/verification/organizations", json=body, headers=admin)
    assert registered.status_code == 201, registered.text
    base = f"/verification/organizations/{registered.json()['organization_id']}"
    documents = []
    for kind, content in (
        ("business_licence", b"%PDF-fake-business-licence"),
        ("authorization_letter", b"%PDF-fake-letter-sealed-by-the-legal-representative"),
    ):
        uploaded = await client.post(
            f"{base}/documents",
            json={"kind": kind, "content_type": "application/pdf",
                  "content_base64": base64.b64encode(content).decode()},
            headers=admin,
        )  # fmt: skip
        assert uploaded.status_code == 201, uploaded.text
        documents.append(uploaded.json()["media_id"])
    sent = await client.post(f"{base}/deposits", headers=admin)
    assert sent.status_code == 202, sent.text
    assert "amounts_cents" not in sent.text

    credential = sandbox_idp.bank.holder_credential(account)  # the company's own bank login
    async with httpx.AsyncClient(base_url=sandbox_idp.bank_url, timeout=30) as bank:
        path = f"/v1/accounts/{account}/statement"
        assert (await bank.get(path)).status_code == 401
        statement = await bank.get(path, headers={"Authorization": f"Bearer {credential}"})
    assert statement.status_code == 200, statement.text
    deposits = [
        entry
        for entry in statement.json()["entries"]
        if entry["direction"] == "credit" and entry["description"].startswith("Frontdesk")
    ]
    assert len(deposits) == 2
    amounts = [entry["amount_cents"] for entry in deposits]

    confirmed = await client.post(
        f"{base}/deposits/confirmation", json={"amounts_cents": amounts}, headers=admin
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["deposits"] == "confirmed"
    reviewer = auth(token("reviewer", sub="rev-flow-7"))
    reviewed = await client.post(
        f"{base}/document-review",
        json={"approved": True, "document_refs": documents,
              "reason": "licence matches the register; letter sealed by the representative"},
        headers=reviewer,
    )  # fmt: skip
    assert reviewed.status_code == 200, reviewed.text
    assert reviewed.json()["status"] == "submitted"
    called = await client.post(
        f"{base}/phone-confirmation",
        json={"confirmed": True, "note": "the switchboard put us through to the contact"},
        headers=reviewer,
    )
    assert called.status_code == 200, called.text
    shown = await client.get(base, headers=admin)
    assert shown.json()["status"] == "verified"
    organization_id = registered.json()["organization_id"]
    types = await eventually(
        lambda: _having(org_events(stack, organization_id), "verification.organization_verified")
    )
    assert types[:2] == ["verification.organization_submitted", "verification.deposits_sent"]
    published = await events_on_topic(stack, VERIFICATION_ORGANIZATIONS.name)
    for envelope in published:
        if envelope.payload.get("organization_id") == organization_id:
            assert "amounts" not in str(envelope.payload)
            assert "switchboard" not in str(envelope.payload)  # the note travels sealed
