"""Staff reads of a person's data in verification and notifications are audit events, and the
supervisor's list of who looked (cases.audit_log) shows them with their reason."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from runtime.scheduler import OffsetClock
from tests.conftest import auth, eventually
from tests.integration.conftest import RunningService
from tests.integration.verification.test_organizations import brand, profile

pytestmark = pytest.mark.integration

Stack = dict[str, RunningService]


def callback_request(
    account: str, customer: str, case_id: str, clock: OffsetClock
) -> dict[str, Any]:
    start = clock.now() + timedelta(days=2)  # within the year an agent's promise may reach
    return {
        "case_id": case_id,
        "account_ref": account,
        "customer_id": customer,
        "queue": "minors_family",
        "recipient_role": "holder",
        "phone": "+8613800000077",
        "timezone": "Asia/Shanghai",
        "language": {"tag": "zh-CN"},
        "window_start": start.isoformat(),
        "window_end": (start + timedelta(hours=35)).isoformat(),
    }


async def accesses_of(stack: Stack, token: Callable[..., str], subject: str) -> list[Any]:
    response = await stack["cases"].client.get(
        f"/privacy/subjects/{subject}/accesses", headers=auth(token("supervisor"))
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_a_reviewer_opening_a_verification_and_a_specialist_listing_callbacks_are_listed(
    stack: Stack, token: Callable[..., str], clock: OffsetClock
) -> None:
    account, customer = f"acct-{uuid.uuid4().hex[:8]}", f"cust-{uuid.uuid4().hex[:8]}"
    subject, case_id = f"account:{account}", str(uuid.uuid4())
    verification = stack["verification"].client
    started = await verification.post(
        "/verification/sessions",
        json={
            "account_ref": account,
            "purpose": "account_recovery",
            "risk_level": "high",
            "person_role": "holder",
            "person_ref": customer,
            "case_id": case_id,
        },
        headers=auth(token("agent")),
    )
    assert started.status_code == 201, started.text
    verification_id = started.json()["verification_id"]
    # the person taking the checks reads their own session: not audited
    own = await verification.get(
        f"/verification/sessions/{verification_id}",
        headers=auth(token("customer", sub=customer)),
    )
    assert own.status_code == 200
    opened = await verification.get(
        f"/verification/sessions/{verification_id}",
        headers=auth(token("reviewer", sub="reviewer-audited")),
    )
    assert opened.status_code == 200, opened.text

    notifications = stack["notifications"].client
    created = await notifications.post(
        "/callbacks",
        json=callback_request(account, customer, case_id, clock),
        headers=auth(token("specialist", sub="specialist-audited")),
    )
    assert created.status_code == 201, created.text
    callback_id = created.json()["callback_id"]
    own_callback = await notifications.get(
        f"/callbacks/{callback_id}", headers=auth(token("customer", sub=customer))
    )
    assert own_callback.status_code == 200

    async def listed_with_phone() -> list[Any]:
        response = await notifications.get(
            "/queues/minors_family/callbacks",
            headers=auth(token("specialist", sub="specialist-audited")),
        )
        assert response.status_code == 200, response.text
        return [c for c in response.json() if c["callback_id"] == callback_id]

    [listed] = await eventually(listed_with_phone)
    assert listed["phone"] == "+8613800000077"

    async def both_listed() -> list[Any] | None:
        accesses = await accesses_of(stack, token, subject)
        services = {a["service"] for a in accesses}
        return accesses if {"verification", "notifications"} <= services else None

    accesses = await eventually(both_listed)
    [session_read] = [a for a in accesses if a["resource"] == "verification_session"]
    assert (session_read["actor_id"], session_read["actor_role"]) == (
        "reviewer-audited",
        "reviewer",
    )
    assert session_read["resource_id"] == verification_id
    assert session_read["purpose"] == f"case:{case_id}"
    assert "person_ref" in session_read["fields"]
    callback_reads = [
        a for a in accesses if a["service"] == "notifications" and a["resource"] == "callback"
    ]
    assert callback_reads
    assert all(a["resource_id"] == callback_id for a in callback_reads)
    assert {(a["actor_id"], a["actor_role"]) for a in callback_reads} == {
        ("specialist-audited", "specialist")
    }
    assert all(a["purpose"] == f"case:{case_id}" for a in callback_reads)
    assert any("phone" in a["fields"] for a in callback_reads)
    # the customer's own reads are not there
    assert all(a["actor_role"] != "customer" for a in accesses)


async def test_reviews_contact_preferences_and_organizations_are_audited(
    stack: Stack, token: Callable[..., str]
) -> None:
    account = f"acct-{uuid.uuid4().hex[:8]}"
    subject = f"account:{account}"
    verification = stack["verification"].client
    started = await verification.post(
        "/verification/sessions",
        json={
            "account_ref": account,
            "purpose": "suspension_appeal",
            "risk_level": "high",
            "person_role": "holder",
        },
        headers=auth(token("agent")),
    )
    verification_id = started.json()["verification_id"]
    queued = await verification.post(
        f"/verification/sessions/{verification_id}/reviews/requests",
        json={"check": "knowledge_challenge", "reason": "FAKE: cannot read the questions"},
        headers=auth(token("agent")),
    )
    assert queued.status_code == 200, queued.text

    async def in_queue() -> bool:
        response = await verification.get(
            "/verification/reviews", headers=auth(token("reviewer", sub="reviewer-queue"))
        )
        return any(item["verification_id"] == verification_id for item in response.json())

    await eventually(in_queue)

    notifications = stack["notifications"].client
    put = await notifications.put(
        f"/recipients/{account}/preferences",
        json={"channels": ["sms"], "phone": "+8613800000078", "marketing_consent": ["sms"]},
        headers=auth(token("agent")),
    )
    assert put.status_code == 200, put.text
    read = await notifications.get(
        f"/recipients/{account}/preferences", headers=auth(token("agent", sub="agent-prefs"))
    )
    assert read.json()["addresses"]["sms"] == "+8613800000078"

    async def both_listed() -> list[Any] | None:
        accesses = await accesses_of(stack, token, subject)
        resources = {a["resource"] for a in accesses}
        wanted = {"verification_review", "recipient_preferences"}
        return accesses if wanted <= resources else None

    accesses = await eventually(both_listed)
    [review] = [a for a in accesses if a["resource"] == "verification_review"]
    assert (review["actor_id"], review["purpose"]) == (
        "reviewer-queue",
        f"verification:{verification_id}",
    )
    [preferences] = [a for a in accesses if a["resource"] == "recipient_preferences"]
    assert preferences["actor_id"] == "agent-prefs"
    assert "addresses" in preferences["fields"]

    submitted = await verification.post(
        "/verification/organizations",
        json=organization_profile(),
        headers=auth(token("customer", sub=f"org-admin-{uuid.uuid4().hex[:6]}")),
    )
    assert submitted.status_code == 201, submitted.text
    organization_id = submitted.json()["organization_id"]
    seen = await verification.get(
        f"/verification/organizations/{organization_id}",
        headers=auth(token("reviewer", sub="reviewer-org")),
    )
    assert seen.status_code == 200

    async def organization_listed() -> list[Any]:
        return await accesses_of(stack, token, f"organization:{organization_id}")

    [organization_read] = await eventually(organization_listed)
    assert organization_read["actor_id"] == "reviewer-org"
    assert organization_read["purpose"] == f"organization:{organization_id}"


def organization_profile() -> dict[str, Any]:
    return profile(f"{brand()}.com")
