"""Which checks each case type needs before a decision."""

from __future__ import annotations

import pytest

from contracts.events.cases import CaseType
from services.verification.domain import REQUIRED_CHECKS, Check, required_checks

pytestmark = pytest.mark.unit


def test_every_case_type_has_rules() -> None:
    assert set(REQUIRED_CHECKS) == set(CaseType)


@pytest.mark.parametrize("case_type", list(CaseType), ids=str)
def test_every_case_type_requires_at_least_one_distinct_check(case_type: CaseType) -> None:
    checks = required_checks(case_type)
    assert len(checks) >= 1
    assert len(set(checks)) == len(checks)
    assert all(isinstance(check, Check) for check in checks)


def test_lost_phone_recovery_needs_document_and_liveness_but_no_possession_code() -> None:
    # the registered phone is gone, so a code sent to it proves nothing
    checks = required_checks(CaseType.ACCOUNT_RECOVERY_LOST_PHONE)
    assert Check.DOCUMENT_AND_LIVENESS in checks
    assert Check.POSSESSION_CODE not in checks


def test_minor_spending_refund_needs_the_guardian_relationship() -> None:
    checks = required_checks(CaseType.MINOR_SPENDING_REFUND)
    assert Check.GUARDIAN_RELATIONSHIP in checks
    assert Check.DOCUMENT_AND_LIVENESS in checks


def test_third_party_dispute_needs_an_evidence_review() -> None:
    assert Check.THIRD_PARTY_EVIDENCE_REVIEW in required_checks(CaseType.THIRD_PARTY_REPORT_DISPUTE)


def test_only_guardianship_cases_ask_for_a_guardian() -> None:
    asking = {t for t in CaseType if Check.GUARDIAN_RELATIONSHIP in required_checks(t)}
    assert asking == {CaseType.MINOR_SPENDING_REFUND}
