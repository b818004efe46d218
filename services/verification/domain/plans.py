"""Which checks are needed, in which order: pure rules, no I/O.

Two views of the same rules:

- ``required_checks(case_type)``: what a case of this type will need (the ``case_plans`` read
  model shows it to agents as soon as the case opens: verify while you wait);
- ``plan_checks(purpose, risk, person_role, phone_unavailable)``: the ordered checks of one
  session (step-up: a low-risk purpose may need one check; recovering an account whose
  registered phone is dead needs several).

Checks are of three kinds. HOLDER_OWNERSHIP checks prove the account is the holder's (what only
the holder knows or holds); a proxy must never take them, or a spouse could pass as the
holder. IDENTITY checks prove who the person in front of us is (their own document and face).
RELATIONSHIP checks prove a proxy's link to the holder, and are decided by a reviewer.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.events.cases import CaseType
from contracts.events.verification_sessions import VerificationCheck
from contracts.vocabulary import PersonRole, ProxyRelationship, RiskLevel, VerificationPurpose

Check = VerificationCheck

K = Check.KNOWLEDGE_CHALLENGE
P = Check.POSSESSION_CODE
O = Check.OWNERSHIP_EVIDENCE  # noqa: E741 - a table key, read as "ownership"
D = Check.DOCUMENT_AND_LIVENESS
G = Check.GUARDIAN_RELATIONSHIP
R = Check.PROXY_RELATIONSHIP
T = Check.THIRD_PARTY_EVIDENCE_REVIEW

HOLDER_OWNERSHIP_CHECKS = frozenset({K, P, O})
IDENTITY_CHECKS = frozenset({D})
RELATIONSHIP_CHECKS = frozenset({G, R})
REVIEWED_CHECKS = frozenset({G, R, T})  # always decided by a reviewer

# failed attempts that lock the session out (checks without attempts are absent)
ATTEMPT_LIMITS: dict[Check, int] = {K: 3, P: 3, D: 2}
MAX_CODE_DELIVERIES = 3  # codes a session may send (one the notifications service failed to
# deliver does not count: the person never had it)
MAX_UNDELIVERED_CODES = 3  # codes that may fail to be delivered before no more are sent

REQUIRED_CHECKS: dict[CaseType, tuple[Check, ...]] = {
    CaseType.ACCOUNT_SUSPENSION_APPEAL: (K, P),
    # the registered phone is dead: a code sent to it proves nothing, so a stronger proof
    CaseType.ACCOUNT_RECOVERY_LOST_PHONE: (K, D),
    CaseType.WALLET_REACTIVATION: (P, D),
    CaseType.THIRD_PARTY_REPORT_DISPUTE: (K, T),
    CaseType.MINOR_SPENDING_REFUND: (D, G),
    CaseType.OTHER: (K,),
}


def required_checks(case_type: CaseType) -> tuple[Check, ...]:
    return REQUIRED_CHECKS[case_type]


# The holder's checks by purpose and risk level: low, medium, high.
_HOLDER: dict[VerificationPurpose, tuple[tuple[Check, ...], ...]] = {
    VerificationPurpose.SUSPENSION_APPEAL: ((K,), (K, P), (K, P, D)),
    VerificationPurpose.ACCOUNT_RECOVERY: ((K, P), (K, P, D), (K, P, D)),
    VerificationPurpose.WALLET_REACTIVATION: ((P, K), (P, K, D), (P, K, D)),
    VerificationPurpose.THIRD_PARTY_REPORT_DISPUTE: ((K,), (K, T), (K, P, T)),
    # the holder verifies remotely for a case a proxy raised (the spouse abroad, flow 2)
    VerificationPurpose.PROXY_FOR_ABSENT_HOLDER: ((K, P), (K, P, D), (K, P, D)),
}
# when the registered phone is dead: no possession code; alternative proofs and the face
_HOLDER_PHONE_UNAVAILABLE: tuple[tuple[Check, ...], ...] = ((K, O), (K, O, D), (K, O, D))
_RISK_INDEX = {RiskLevel.LOW: 0, RiskLevel.MEDIUM: 1, RiskLevel.HIGH: 2}


class PlanRefused(Exception):
    """The request cannot be planned (e.g. a guardian asked to prove the holder)."""


@dataclass(frozen=True)
class Plan:
    checks: tuple[Check, ...]
    four_eyes: bool


def plan_checks(
    purpose: VerificationPurpose,
    risk: RiskLevel,
    person_role: PersonRole,
    *,
    phone_unavailable: bool = False,
    relationship: ProxyRelationship | None = None,
) -> Plan:
    """The ordered checks of a session; raises PlanRefused with a reason a person can read."""
    four_eyes = risk is RiskLevel.HIGH
    if person_role is PersonRole.PROXY:
        # a proxy proves only their own identity and their relationship to the holder
        guardian = (
            purpose is VerificationPurpose.GUARDIAN_OF_MINOR
            or relationship is ProxyRelationship.GUARDIAN
        )
        return Plan((D, G) if guardian else (D, R), four_eyes)
    if purpose is VerificationPurpose.GUARDIAN_OF_MINOR:
        raise PlanRefused(
            "a guardian-of-minor verification proves the guardian's own identity and "
            "relationship: it must be requested for the proxy, not the holder"
        )
    table = _HOLDER_PHONE_UNAVAILABLE if phone_unavailable else _HOLDER[purpose]
    checks = table[_RISK_INDEX[risk]]
    if phone_unavailable and purpose is VerificationPurpose.WALLET_REACTIVATION:
        checks = (K, O, D)  # money moves: the face is always required without the phone
    return Plan(checks, four_eyes)


CHECK_NAMES: dict[Check, str] = {
    K: "knowledge challenge",
    P: "one-time code",
    O: "ownership evidence",
    D: "document and face liveness",
    G: "guardian relationship",
    R: "proxy relationship",
    T: "third-party evidence review",
}
