"""BRIEF flows 1 and 2 through the APIs and events: a suspended account restored with the rule
that suspended it named; a wallet case opened by the spouse that waits for the holder's own
remote verification. Verification's answers are published exactly as that service would."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from contracts.events.platform import PLATFORM_ACCOUNTS, AccountSuspended, SuspensionScope
from contracts.events.verification import VerificationCompleted, VerificationOutcome
from contracts.topics import VERIFICATION_SESSIONS
from contracts.vocabulary import PersonRole, VerificationPurpose
from runtime.scheduler import OffsetClock
from runtime.settings import ServiceSettings
from tests.conftest import auth, eventually
from tests.integration.cases.support import (
    case_of_ticket,
    case_where,
    check_in,
    new_account,
    publish,
    stream_types,
)
from tests.integration.conftest import RunningService

pytestmark = pytest.mark.integration


async def verification_answer(
    settings: ServiceSettings,
    clock: OffsetClock,
    case: dict[str, Any],
    verification_id: str,
    purpose: VerificationPurpose,
    role: PersonRole,
    outcome: VerificationOutcome = VerificationOutcome.VERIFIED,
) -> None:
    """verification.verification_completed, as the verification service publishes it."""
    await publish(
        settings,
        VERIFICATION_SESSIONS,
        VerificationCompleted(
            verification_id=uuid.UUID(verification_id),
            case_id=uuid.UUID(case["case_id"]),
            account_ref=case["account_ref"],
            purpose=purpose,
            person_role=role,
            outcome=outcome,
            reasons=[f"{purpose.value}: {outcome.value}"],
            completed_at=clock.now(),
        ),
        f"verification-{verification_id}",
        producer="verification",
        at=clock.now(),
    )


def in_review_verified_by(role: str) -> Callable[[dict[str, Any]], bool]:
    """The case is in review and a verification of the ``role`` (holder, proxy) came back
    verified."""
    return lambda case: (
        case["status"] == "in_review"
        and any(
            v["outcome"] == "verified" and v["person_role"] == role for v in case["verifications"]
        )
    )


async def test_flow_1_suspended_account_restored_and_the_decision_names_the_rule(
    stack: dict[str, RunningService],
    token: Callable[..., str],
    settings: ServiceSettings,
    clock: OffsetClock,
) -> None:
    cases = stack["cases"].client
    agent = auth(token("agent", sub="agent-flow1"))
    customer_id = f"cust-{uuid.uuid4().hex[:8]}"
    visitor = auth(token("customer", sub=customer_id))
    account = new_account()

    # the platform suspended the account days ago (its own event, its own rule and threshold)
    await publish(
        settings,
        PLATFORM_ACCOUNTS,
        AccountSuspended(
            suspension_id=uuid.uuid4(),
            account_ref=account,
            scope=SuspensionScope.ACCOUNT,
            rule_code="SPAM-GROUP-CONTACT",
            rule_version=3,
            threshold=10,
            threshold_unit="group_chats",
            window_hours=24,
            facts={"group_chats": "14"},
            suspended_at=clock.now() - timedelta(days=3),
        ),
        f"account-{account}",
        producer="platform",
        at=clock.now(),
    )

    async def recorded() -> Any:
        line = (await cases.get(f"/accounts/{account}/timeline", headers=agent)).json()
        return [e for e in line["entries"] if e["kind"] == "suspension_recorded"]

    await eventually(recorded)

    # the visitor checks in with a dead phone number; the case opens with the suspension linked
    ticket = await check_in(
        stack, token, account, customer=customer_id, words="phone number is dead"
    )
    opened = await case_of_ticket(cases, visitor, ticket["ticket_id"])
    case = await case_where(cases, visitor, opened["case_id"], lambda c: bool(c["suspensions"]))
    [rule] = case["suspensions"]
    assert (rule["rule_code"], rule["rule_version"], rule["threshold"]) == (
        "SPAM-GROUP-CONTACT",
        3,
        10,
    )
    assert "超过 10 个群聊" in rule["explanation"]  # "how many group chats is too many?" — 10

    case_id = case["case_id"]
    # illegal transitions are refused with the reason, and nothing is written
    before = await stream_types(stack["cases"], case_id)
    refused = await cases.post(
        f"/cases/{case_id}/status", json={"status": "in_review"}, headers=agent
    )
    assert refused.status_code == 409
    assert refused.json()["detail"] == ("a case cannot go from open to in_review (allowed: triage)")
    assert await stream_types(stack["cases"], case_id) == before
    early = await cases.post(f"/cases/{case_id}/verifications", json={}, headers=agent)
    assert early.status_code == 409
    assert early.json()["detail"] == "triage the case before requesting a verification"

    assert (
        await cases.post(f"/cases/{case_id}/status", json={"status": "triage"}, headers=agent)
    ).status_code == 200
    requested = await cases.post(
        f"/cases/{case_id}/verifications",
        json={},
        headers={**agent, "Idempotency-Key": f"verify-{case_id}"},
    )
    assert requested.status_code == 201, requested.text
    assert requested.json()["status"] == "awaiting_verification"
    verification_id = requested.json()["verification_id"]
    replay = await cases.post(
        f"/cases/{case_id}/verifications",
        json={},
        headers={**agent, "Idempotency-Key": f"verify-{case_id}"},
    )
    assert replay.headers.get("Idempotent-Replay") == "true"
    assert replay.json()["verification_id"] == verification_id
    assert "cases.verification_requested" in await stream_types(stack["cases"], case_id)
    waiting = await case_where(
        cases, visitor, case_id, lambda c: c["status"] == "awaiting_verification"
    )
    assert waiting["waiting_on"] == "customer"
    assert waiting["verifications"][0]["purpose"] == "suspension_appeal"

    decided_too_early = await cases.post(
        f"/cases/{case_id}/decision",
        json={"outcome": "restored", "reason_code": "OWNERSHIP-PROVEN", "facts": {"checks": "x"}},
        headers=agent,
    )
    assert decided_too_early.status_code == 409
    assert "awaits a verification" in decided_too_early.json()["detail"]

    # ownership proven (knowledge challenge, then document and liveness), as verification says
    await verification_answer(
        settings,
        clock,
        case,
        verification_id,
        VerificationPurpose.SUSPENSION_APPEAL,
        PersonRole.HOLDER,
    )
    await case_where(cases, agent, case_id, lambda c: c["status"] == "in_review")
    note = await cases.post(
        f"/cases/{case_id}/notes", json={"text": "INTERNAL: owner answered all"}, headers=agent
    )
    assert note.status_code == 201

    decided = await cases.post(
        f"/cases/{case_id}/decision",
        json={
            "outcome": "restored",
            "reason_code": "OWNERSHIP-PROVEN",
            "facts": {"checks": "知识问答、证件与活体检测"},
        },
        headers=agent,
    )
    assert decided.status_code == 201, decided.text
    decision = decided.json()["decision"]
    assert decision["reason_code"] == "OWNERSHIP-PROVEN"
    assert decision["suspension"]["rule_code"] == "SPAM-GROUP-CONTACT"
    assert decision["explanation_language"] == "zh-CN"

    # self-service: the visitor reads the outcome, its rule and threshold, in Chinese, online
    mine = await case_where(cases, visitor, case_id, lambda c: c["status"] == "resolved")
    assert mine["decision"]["outcome"] == "restored"
    explanation = mine["decision"]["explanation"]
    assert "SPAM-GROUP-CONTACT v3" in explanation
    assert "N=10" in explanation
    assert "超过 10 个群聊" in explanation
    assert "14" in explanation
    assert "证明本账号归您所有" in explanation
    assert mine["waiting_on"] == "nobody"
    assert mine["appeal_until"] is not None
    assert "申诉" in mine["next_step"]
    # internal notes never reach the customer, by any path
    everything = str(mine) + str(
        (await cases.get(f"/cases/{case_id}/timeline", headers=visitor)).json()
    )
    assert "INTERNAL" not in everything
    assert (await cases.get(f"/cases/{case_id}/notes", headers=visitor)).status_code == 403
    notes = (await cases.get(f"/cases/{case_id}/notes", headers=agent)).json()
    assert [n["text"] for n in notes] == ["INTERNAL: owner answered all"]

    # the whole history on the account timeline, in order
    line = (await cases.get(f"/accounts/{account}/timeline", headers=agent)).json()
    kinds = [e["kind"] for e in line["entries"]]
    for earlier, later in [
        ("suspension_recorded", "case_opened"),
        ("case_opened", "verification_requested"),
        ("verification_requested", "verification_recorded"),
        ("verification_recorded", "decision_recorded"),
    ]:
        assert kinds.index(earlier) < kinds.index(later), kinds
    assert "note_added" in kinds


async def test_flow_2_the_spouse_opens_the_wallet_case_and_the_holder_verifies_remotely(
    stack: dict[str, RunningService],
    token: Callable[..., str],
    settings: ServiceSettings,
    clock: OffsetClock,
) -> None:
    cases = stack["cases"].client
    agent = auth(token("agent", sub="agent-flow2"))
    spouse_id = f"cust-spouse-{uuid.uuid4().hex[:6]}"
    spouse = auth(token("customer", sub=spouse_id))
    account = new_account()

    ticket = await check_in(
        stack,
        token,
        account,
        category="wallet_reactivation",
        customer=spouse_id,
        acting_for={"relationship": "spouse", "holder_account_ref": account},
        language="en",
    )
    case = await case_of_ticket(cases, agent, ticket["ticket_id"])
    assert case["requester_role"] == "proxy"
    assert case["proxy_relationship"] == "spouse"
    case_id = case["case_id"]
    await cases.post(f"/cases/{case_id}/status", json={"status": "triage"}, headers=agent)
    holder_check = await cases.post(f"/cases/{case_id}/verifications", json={}, headers=agent)
    assert holder_check.status_code == 201, holder_check.text
    assert holder_check.json()["waiting_on"] == "account_holder"

    # the spouse follows online: it waits on the holder, who can verify without travelling
    seen = await case_where(
        cases, spouse, case_id, lambda c: c["status"] == "awaiting_verification"
    )
    assert seen["waiting_on"] == "account_holder"
    assert "account holder must verify their own identity" in seen["next_step"]
    assert "remotely" in seen["next_step"]

    # the spouse proves who *they* are (a proxy check) — it never counts for the holder
    await verification_answer(
        settings,
        clock,
        case,
        str(uuid.uuid4()),
        VerificationPurpose.WALLET_REACTIVATION,
        PersonRole.PROXY,
    )
    # and the holder's first attempt expires
    await verification_answer(
        settings,
        clock,
        case,
        holder_check.json()["verification_id"],
        VerificationPurpose.WALLET_REACTIVATION,
        PersonRole.HOLDER,
        VerificationOutcome.EXPIRED,
    )
    # the two answers are two streams (two partitions): the holder's expiry moves the case on,
    # the proxy's is what the refusal below names, so wait for both
    await case_where(cases, agent, case_id, in_review_verified_by("proxy"))
    refused = await cases.post(
        f"/cases/{case_id}/decision",
        json={
            "outcome": "restored",
            "reason_code": "HOLDER-VERIFIED-WALLET",
            "facts": {"checks": "x"},
        },
        headers=agent,
    )
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        "this decision needs the holder's own verification (wallet_reactivation); "
        "a proxy's verification never counts for the holder"
    )

    # the holder, abroad, verifies remotely
    again = await cases.post(f"/cases/{case_id}/verifications", json={}, headers=agent)
    await verification_answer(
        settings,
        clock,
        case,
        again.json()["verification_id"],
        VerificationPurpose.WALLET_REACTIVATION,
        PersonRole.HOLDER,
    )
    await case_where(cases, agent, case_id, in_review_verified_by("holder"))
    decided = await cases.post(
        f"/cases/{case_id}/decision",
        json={
            "outcome": "restored",
            "reason_code": "HOLDER-VERIFIED-WALLET",
            "facts": {"checks": "document and liveness from abroad"},
        },
        headers=agent,
    )
    assert decided.status_code == 201, decided.text
    mine = await case_where(cases, spouse, case_id, lambda c: c["status"] == "resolved")
    assert mine["decision"]["explanation"] == (
        "The account holder verified remotely (document and liveness from abroad); "
        "the wallet is active again."
    )
    assert mine["decision"]["explanation_language"] == "en"
    roles = sorted((v["person_role"], v["outcome"]) for v in mine["verifications"])
    assert roles == [("holder", "expired"), ("holder", "verified"), ("proxy", "verified")]
