"""Who sees what, decided in services/cases/visibility.py and nowhere else."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from contracts.events.cases import CaseStatus, WaitingOn
from runtime.auth import Principal
from services.cases.api.case_views import CaseView, CustomerCaseView
from services.cases.domain.customer_texts import next_step
from services.cases.domain.visibility import (
    CUSTOMER_CASE_FIELDS,
    CUSTOMER_TIMELINE_KINDS,
    Audience,
    audience_for,
    case_for,
    report_for,
    timeline_entry_for,
)

pytestmark = pytest.mark.unit


def principal(*roles: str, sub: str = "cust-1") -> Principal:
    return Principal(id=sub, roles=frozenset(roles))


def test_audience_staff_customer_or_nobody() -> None:
    assert audience_for(principal("agent"), []) is Audience.STAFF
    assert audience_for(principal("service"), []) is Audience.STAFF
    assert audience_for(principal("customer"), ["cust-1"]) is Audience.CUSTOMER
    assert audience_for(principal("customer"), ["cust-2"]) is None  # → 404
    assert (
        audience_for(principal("customer", sub="spouse"), ["cust-1", "spouse"]) is Audience.CUSTOMER
    )


def test_the_customer_view_is_exactly_the_customer_fields() -> None:
    assert set(CustomerCaseView.model_fields) == CUSTOMER_CASE_FIELDS
    staff_only = set(CaseView.model_fields) - CUSTOMER_CASE_FIELDS
    assert {
        "assignee_id",
        "queue",
        "priority",
        "escalations",
        "viewer_ids",
        "customer_id",
        "service_levels",
    } <= staff_only


def full_view(report: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        **{field: f"value-of-{field}" for field in CaseView.model_fields},
        "verifications": [
            {
                "verification_id": "v1",
                "purpose": "wallet_reactivation",
                "person_role": "holder",
                "outcome": None,
                "requested_at": None,
                "completed_at": None,
                "internal": "x",
            }
        ],
        "callbacks": [
            {
                "callback_id": "c1",
                "window_start": "s",
                "window_end": "e",
                "status": "requested",
                "queue": "minors_family",
                "attempts": 0,
            }
        ],
        "report": report,
    }


def test_a_customer_never_sees_internal_fields() -> None:
    shown = case_for(full_view(), Audience.CUSTOMER)
    assert set(shown) == CUSTOMER_CASE_FIELDS
    assert "internal" not in shown["verifications"][0]
    assert set(shown["callbacks"][0]) == {"callback_id", "window_start", "window_end", "status"}
    assert case_for(full_view(), Audience.STAFF) == full_view()


def report(category: str, name: str | None) -> dict[str, Any]:
    return {
        "case_id": str(uuid4()),
        "report_id": "r-1",
        "reporter_category": category,
        "organization_name": name,
        "reporter_ref": "acct-reporter-77",
        "rule_code": "IP-COUNTERFEIT-REPORT",
        "evidence": [{"kind": "photo", "reference": "doc-1", "summary": "logo"}],
        "reported_at": "2026-11-20T00:00:00Z",
        "recorded_at": "2026-11-21T00:00:00Z",
    }


def test_a_brand_reporter_is_named_with_its_evidence_but_never_its_platform_id() -> None:
    shown = report_for(report("brand_rights_holder", "Fake Brand"), Audience.CUSTOMER)
    assert shown is not None
    assert shown["organization_name"] == "Fake Brand"
    assert shown["evidence"][0]["summary"] == "logo"
    assert "reporter_ref" not in shown
    staff = report_for(report("brand_rights_holder", "Fake Brand"), Audience.STAFF)
    assert staff is not None
    assert staff["reporter_ref"] == "acct-reporter-77"


def test_a_private_individual_reporter_is_never_identified_to_the_customer() -> None:
    leaked = report("individual_user", "Somebody Private")  # even if a name slipped in
    shown = report_for(leaked, Audience.CUSTOMER)
    assert shown is not None
    assert shown["organization_name"] is None
    assert "reporter_ref" not in shown
    assert shown["reporter_category"] == "individual_user"
    as_customer = case_for(full_view(leaked), Audience.CUSTOMER)
    assert "Somebody Private" not in str(as_customer)
    assert "acct-reporter-77" not in str(as_customer)


def entry(kind: str, **details: Any) -> dict[str, Any]:
    return {
        "at": datetime(2026, 11, 23, tzinfo=UTC),
        "kind": kind,
        "case_id": uuid4(),
        "details": details,
        "actor_role": "agent",
        "words": "the person's words",
    }


@pytest.mark.parametrize(
    "kind",
    [
        "note_added",
        "case_assigned",
        "priority_changed",
        "service_level_warning",
        "service_level_breached",
        "customer_tagged",
        "customer_untagged",
        "contact_split",
    ],
)
def test_internal_timeline_entries_are_hidden_from_customers(kind: str) -> None:
    assert kind not in CUSTOMER_TIMELINE_KINDS
    assert timeline_entry_for(entry(kind), Audience.CUSTOMER) is None
    assert timeline_entry_for(entry(kind), Audience.STAFF) is not None


def test_customer_timeline_entries_carry_no_staff_details() -> None:
    shown = timeline_entry_for(entry("case_escalated", reason="agent", level=1), Audience.CUSTOMER)
    assert shown is not None
    assert shown["details"] == {"level": 1}
    assert "actor_role" not in shown
    assert "words" not in shown


def test_the_next_step_says_who_it_waits_on_in_the_customers_language() -> None:
    holder = next_step(
        CaseStatus.AWAITING_VERIFICATION,
        WaitingOn.ACCOUNT_HOLDER,
        ["wallet_reactivation"],
        None,
        "en",
    )
    assert "account holder must verify their own identity" in holder
    assert "remotely" in holder
    chinese = next_step(
        CaseStatus.RESOLVED, WaitingOn.NOBODY, [], datetime(2026, 12, 23, tzinfo=UTC), "zh-CN"
    )
    assert "2026-12-23" in chinese
    assert "申诉" in chinese
