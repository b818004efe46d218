"""Which checks a case needs before a decision: pure rules, no I/O."""

from __future__ import annotations

from enum import StrEnum

from contracts.events.cases import CaseType


class Check(StrEnum):
    KNOWLEDGE_CHALLENGE = "knowledge_challenge"
    POSSESSION_CODE = "possession_code"
    DOCUMENT_AND_LIVENESS = "document_and_liveness"
    GUARDIAN_RELATIONSHIP = "guardian_relationship"
    THIRD_PARTY_EVIDENCE_REVIEW = "third_party_evidence_review"


REQUIRED_CHECKS: dict[CaseType, tuple[Check, ...]] = {
    CaseType.ACCOUNT_SUSPENSION_APPEAL: (Check.KNOWLEDGE_CHALLENGE, Check.POSSESSION_CODE),
    # the registered phone is dead: no possession code, so a stronger identity proof
    CaseType.ACCOUNT_RECOVERY_LOST_PHONE: (
        Check.KNOWLEDGE_CHALLENGE,
        Check.DOCUMENT_AND_LIVENESS,
    ),
    CaseType.WALLET_REACTIVATION: (Check.POSSESSION_CODE, Check.DOCUMENT_AND_LIVENESS),
    CaseType.THIRD_PARTY_REPORT_DISPUTE: (
        Check.KNOWLEDGE_CHALLENGE,
        Check.THIRD_PARTY_EVIDENCE_REVIEW,
    ),
    CaseType.MINOR_SPENDING_REFUND: (
        Check.DOCUMENT_AND_LIVENESS,
        Check.GUARDIAN_RELATIONSHIP,
    ),
    CaseType.OTHER: (Check.KNOWLEDGE_CHALLENGE,),
}


def required_checks(case_type: CaseType) -> tuple[Check, ...]:
    return REQUIRED_CHECKS[case_type]
