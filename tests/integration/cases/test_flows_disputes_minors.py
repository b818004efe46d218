"""BRIEF flows 4 and 5: a seller disputes a brand's counterfeit report and appeals with
evidence; a guardian's refund of a minor's spending goes to the minors queue with a promised
callback that, missed, escalates the case by itself."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from contracts.events.notifications import CallbackMissed
from contracts.events.platform import PLATFORM_ACCOUNTS, AccountSuspended, SuspensionScope
from contracts.topics import NOTIFICATIONS_CALLBACKS
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
)
from tests.integration.cases.test_flows_verification import verification_answer
from tests.integration.conftest import RunningService

pytestmark = pytest.mark.integration


def report(category: str, name: str | None, reporter_ref: str) -> dict[str, Any]:
    return {
        "report_id": f"ipr-{uuid.uuid4().hex[:8]}",
        "reporter_category": category,
        "organization_name": name,
        "reporter_ref": reporter_ref,
        "rule_code": "IP-COUNTERFEIT-REPORT",
        "evidence": [
            {"kind": "photo", "reference": "doc-7781", "summary": "listing photo with the logo"},
            {"kind": "test_purchase", "reference": "doc-7782", "summary": "label differs"},
        ],
        "reported_at": "2026-11-01T08:00:00Z",
    }


async def test_flow_4_the_seller_sees_the_brand_and_its_evidence_and_appeals(
    stack: dict[str, RunningService],
    token: Callable[..., str],
    settings: ServiceSettings,
    clock: OffsetClock,
) -> None:
    cases = stack["cases"].client
    agent = auth(token("agent"))
    specialist = auth(token("specialist", sub="spec-ipr"))
    seller_id = f"cust-seller-{uuid.uuid4().hex[:6]}"
    seller = auth(token("customer", sub=seller_id))
    account = new_account()

    ticket = await check_in(
        stack,
        token,
        account,
        category="third_party_report_dispute",
        customer=seller_id,
        language="en",
    )
    case = await case_of_ticket(cases, seller, ticket["ticket_id"])
    case_id = case["case_id"]
    # the platform's storefront suspension arrives after the case opened: it links to it
    await publish(
        settings,
        PLATFORM_ACCOUNTS,
        AccountSuspended(
            suspension_id=uuid.uuid4(),
            account_ref=account,
            scope=SuspensionScope.STOREFRONT,
            rule_code="IP-COUNTERFEIT-REPORT",
            rule_version=1,
            threshold=1,
            threshold_unit="substantiated_reports",
            facts={"reports": "1"},
            suspended_at=clock.now(),
        ),
        f"account-{account}",
        producer="platform",
        at=clock.now(),
    )
    linked = await case_where(cases, seller, case_id, lambda c: bool(c["suspensions"]))
    assert "IP-COUNTERFEIT-REPORT v1" in linked["suspensions"][0]["explanation"]

    recorded = await cases.post(
        f"/cases/{case_id}/report",
        json=report("brand_rights_holder", "Fake Brand Co.", "acct-brand-secret-77"),
        headers=specialist,
    )
    assert recorded.status_code == 200, recorded.text
    seen = await case_where(cases, seller, case_id, lambda c: c["report"] is not None)
    assert seen["report"]["reporter_category"] == "brand_rights_holder"
    assert seen["report"]["organization_name"] == "Fake Brand Co."
    assert [e["summary"] for e in seen["report"]["evidence"]] == [
        "listing photo with the logo",
        "label differs",
    ]
    assert "acct-brand-secret-77" not in str(seen)
    staff_view = (await cases.get(f"/cases/{case_id}", headers=agent)).json()
    assert staff_view["report"]["reporter_ref"] == "acct-brand-secret-77"

    await cases.post(f"/cases/{case_id}/status", json={"status": "triage"}, headers=agent)
    check = await cases.post(f"/cases/{case_id}/verifications", json={}, headers=agent)
    await verification_answer(
        settings,
        clock,
        case,
        check.json()["verification_id"],
        VerificationPurpose.THIRD_PARTY_REPORT_DISPUTE,
        PersonRole.HOLDER,
    )
    await case_where(cases, agent, case_id, lambda c: c["status"] == "in_review")
    denial = {
        "outcome": "denied",
        "reason_code": "REPORT-SUBSTANTIATED",
        "facts": {"evidence": "no invoice"},
    }
    by_agent = await cases.post(f"/cases/{case_id}/decision", json=denial, headers=agent)
    assert by_agent.status_code == 409
    assert "specialist" in by_agent.json()["detail"]
    assert (
        await cases.post(f"/cases/{case_id}/decision", json=denial, headers=specialist)
    ).status_code == 201

    # the seller appeals online, with evidence, within the period
    appeal = await cases.post(
        f"/cases/{case_id}/reopen",
        json={
            "statement": "the goods come from the authorized distributor",
            "evidence": [
                {"kind": "invoice", "reference": "doc-9001", "summary": "distributor invoice"}
            ],
        },
        headers=seller,
    )
    assert appeal.status_code == 200, appeal.text
    assert appeal.json()["status"] == "in_review"
    restored = await cases.post(
        f"/cases/{case_id}/decision",
        json={
            "outcome": "restored",
            "reason_code": "REPORT-NOT-SUBSTANTIATED",
            "facts": {"evidence": "the distributor's invoice"},
        },
        headers=specialist,
    )
    assert restored.status_code == 201, restored.text
    final = await case_where(
        cases, seller, case_id, lambda c: c["decision"] and c["decision"]["outcome"] == "restored"
    )
    assert final["decision"]["explanation"].endswith(
        "Your evidence (the distributor's invoice) shows the goods are genuine: the report does "
        "not stand and your store is restored."
    )
    history = (await cases.get(f"/cases/{case_id}/timeline", headers=seller)).json()
    assert [e["kind"] for e in history].count("decision_recorded") == 2
    assert any(e["kind"] == "case_reopened" and e["details"]["appeal"] for e in history)


async def test_flow_4_a_private_individual_reporter_is_never_revealed(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    cases = stack["cases"].client
    specialist = auth(token("specialist"))
    seller_id = f"cust-seller-{uuid.uuid4().hex[:6]}"
    seller = auth(token("customer", sub=seller_id))
    ticket = await check_in(
        stack, token, new_account(), category="third_party_report_dispute", customer=seller_id
    )
    case_id = (await case_of_ticket(cases, seller, ticket["ticket_id"]))["case_id"]
    named = await cases.post(
        f"/cases/{case_id}/report",
        json=report("individual_user", "Zhang Private", "acct-private-person-5"),
        headers=specialist,
    )
    assert named.status_code == 409
    assert "never named" in named.json()["detail"]
    recorded = await cases.post(
        f"/cases/{case_id}/report",
        json=report("individual_user", None, "acct-private-person-5"),
        headers=specialist,
    )
    assert recorded.status_code == 200, recorded.text
    seen = await case_where(cases, seller, case_id, lambda c: c["report"] is not None)
    assert seen["report"]["reporter_category"] == "individual_user"
    assert seen["report"]["organization_name"] is None
    everything = str(seen) + str(
        (await cases.get(f"/cases/{case_id}/timeline", headers=seller)).json()
    )
    assert "acct-private-person-5" not in everything


async def test_flow_5_a_minors_refund_with_a_promised_callback_that_escalates_when_missed(
    stack: dict[str, RunningService],
    token: Callable[..., str],
    settings: ServiceSettings,
    clock: OffsetClock,
) -> None:
    cases = stack["cases"].client
    supervisor = auth(token("supervisor"))
    agent = auth(token("agent"))
    guardian_id = f"cust-guardian-{uuid.uuid4().hex[:6]}"
    guardian = auth(token("customer", sub=guardian_id))
    busy, free = f"spec-{uuid.uuid4().hex[:6]}", f"spec-{uuid.uuid4().hex[:6]}"
    for staff_id in (busy, free):
        skills = await cases.put(
            f"/staff/{staff_id}/skills", json={"queues": ["minors_family"]}, headers=supervisor
        )
        assert skills.status_code == 200, skills.text
    other = await cases.post(
        "/cases",
        json={
            "account_ref": new_account(),
            "case_type": "minor_spending_refund",
            "language": {"tag": "zh-CN"},
        },
        headers=agent,
    )
    await cases.post(
        f"/cases/{other.json()['case_id']}/assignment", json={"assignee_id": busy}, headers=agent
    )

    account = new_account()
    ticket = await check_in(
        stack,
        token,
        account,
        category="minor_spending_refund",
        customer=guardian_id,
        acting_for={"relationship": "guardian", "holder_account_ref": account},
    )
    case = await case_of_ticket(cases, guardian, ticket["ticket_id"])
    case_id = case["case_id"]
    await cases.post(f"/cases/{case_id}/status", json={"status": "triage"}, headers=agent)

    # workload-aware: the specialist of the minors queue with the fewest open cases
    async def suggestion() -> Any:
        answer = (await cases.get(f"/cases/{case_id}/assignment-suggestion", headers=agent)).json()
        ids = {c["staff_id"]: c["open_cases"] for c in answer["candidates"]}
        return answer if ids.get(busy) == 1 and free in ids else None

    suggested = await eventually(suggestion)
    assert suggested["queue"] == "minors_family"
    assert suggested["assignee_id"] == free
    assigned = await cases.post(
        f"/cases/{case_id}/assignment",
        json={"assignee_id": free, "suggested": True},
        headers=agent,
    )
    assert assigned.status_code == 200, assigned.text

    # the promised callback "within a day", in the guardian's own timezone
    promised = await cases.post(
        f"/cases/{case_id}/callbacks",
        json={
            "recipient_role": "proxy",
            "phone": "+8613912345678",
            "timezone": "Asia/Shanghai",
            "within_hours": 24,
        },
        headers=agent,
    )
    assert promised.status_code == 201, promised.text
    callback_id = promised.json()["callback_id"]
    stored = await stack["cases"].runtime.pool.fetchval(
        "SELECT count(*) FROM events WHERE event_type = 'cases.callback_requested' "
        "AND envelope->'payload'->>'callback_id' = $1",
        callback_id,
    )
    assert stored == 1
    in_clear = await stack["cases"].runtime.pool.fetchval(
        "SELECT count(*) FROM events WHERE envelope::text LIKE '%+8613912345678%'"
    )
    assert in_clear == 0  # the phone travels encrypted
    twice = await cases.post(
        f"/cases/{case_id}/callbacks", json={"within_hours": 24}, headers=agent
    )
    assert twice.status_code == 409
    assert "already promised" in twice.json()["detail"]

    # notifications tried and missed the window: the case escalates by itself
    await publish(
        settings,
        NOTIFICATIONS_CALLBACKS,
        CallbackMissed(
            callback_id=uuid.UUID(callback_id),
            case_id=uuid.UUID(case_id),
            attempts=3,
            missed_at=clock.now() + timedelta(hours=24),
        ),
        f"callback-{callback_id}",
        producer="notifications",
        at=clock.now(),
        stream_version=4,
    )
    escalated = await case_where(cases, agent, case_id, lambda c: c["status"] == "escalated")
    assert escalated["escalations"][-1]["reason"] == "callback_missed"
    assert escalated["callbacks"][0]["status"] == "missed"
    assert escalated["callbacks"][0]["attempts"] == 3
    line = (await cases.get(f"/accounts/{account}/timeline", headers=agent)).json()
    kinds = [e["kind"] for e in line["entries"]]
    assert kinds.index("callback_requested") < kinds.index("callback_recorded")
    assert kinds.index("callback_recorded") < kinds.index("case_escalated")

    # the guardian follows it online and never has to come back
    [mine] = (await cases.get("/cases", headers=guardian)).json()
    assert mine["case_id"] == case_id
    assert mine["status"] == "escalated"
    assert mine["callbacks"] == [
        {
            "callback_id": callback_id,
            "window_start": mine["callbacks"][0]["window_start"],
            "window_end": mine["callbacks"][0]["window_end"],
            "status": "missed",
        }
    ]

    # the guardian relationship is verified; a specialist refunds
    check = await cases.post(f"/cases/{case_id}/verifications", json={}, headers=supervisor)
    assert check.status_code == 201, check.text
    await verification_answer(
        settings,
        clock,
        case,
        check.json()["verification_id"],
        VerificationPurpose.GUARDIAN_OF_MINOR,
        PersonRole.PROXY,
    )
    await case_where(cases, agent, case_id, lambda c: c["status"] == "in_review")
    refund = {
        "outcome": "refunded",
        "reason_code": "MINOR-SPENDING-REFUND",
        "facts": {"amount_spent": "10000", "amount_refunded": "10000", "currency": "USD"},
        "refund_amount": "10000",
        "currency": "USD",
    }
    specialist = auth(token("specialist", sub=free))
    decided = await cases.post(f"/cases/{case_id}/decision", json=refund, headers=specialist)
    assert decided.status_code == 201, decided.text
    final = await case_where(cases, guardian, case_id, lambda c: c["status"] == "resolved")
    assert final["decision"]["refund_amount"] == "10000"
    assert "监护关系已核实" in final["decision"]["explanation"]
    assert "10000 USD" in final["decision"]["explanation"]
