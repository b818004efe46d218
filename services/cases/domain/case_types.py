"""What each case type requires: verification before a decision, the specialist queue that
handles it, who may decide, and its service levels. Pure configuration, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from contracts.events.cases import CasePriority, CaseType, DecisionOutcome
from contracts.vocabulary import PersonRole, ProblemCategory, ServiceQueue, VerificationPurpose


@dataclass(frozen=True)
class Requirement:
    """A verification that must have succeeded before a granting decision: its purpose, and
    whose identity (the holder's own, or the proxy's relationship to the holder)."""

    purpose: VerificationPurpose
    person_role: PersonRole

    def describe(self) -> str:
        who = "the holder's own" if self.person_role is PersonRole.HOLDER else "the proxy's"
        return f"{who} verification ({self.purpose.value})"


@dataclass(frozen=True)
class ServiceLevels:
    """Business minutes per priority: first response, next response, resolution."""

    first_response: dict[CasePriority, int]
    next_response: dict[CasePriority, int]
    resolution: dict[CasePriority, int]


# responses depend on the priority only; resolution also on the type (below)
_FIRST = {
    CasePriority.URGENT: 30,
    CasePriority.HIGH: 60,
    CasePriority.NORMAL: 120,
    CasePriority.LOW: 240,
}
_NEXT = {
    CasePriority.URGENT: 60,
    CasePriority.HIGH: 120,
    CasePriority.NORMAL: 240,
    CasePriority.LOW: 480,
}


def _levels(resolution_normal_hours: int) -> ServiceLevels:
    normal = resolution_normal_hours * 60
    return ServiceLevels(
        first_response=_FIRST,
        next_response=_NEXT,
        resolution={
            CasePriority.URGENT: normal // 3,
            CasePriority.HIGH: normal * 2 // 3,
            CasePriority.NORMAL: normal,
            CasePriority.LOW: normal * 2,
        },
    )


# outcomes that give the customer something: they need the type's verifications first
GRANTING = frozenset(
    {DecisionOutcome.RESTORED, DecisionOutcome.REFUNDED, DecisionOutcome.PARTIALLY_REFUNDED}
)
STAFF_DECIDERS = frozenset({"agent", "specialist", "supervisor", "admin"})
SPECIALIST_DECIDERS = frozenset({"specialist", "supervisor", "admin"})


@dataclass(frozen=True)
class CaseTypeSpec:
    case_type: CaseType
    queue: ServiceQueue
    requirements: tuple[Requirement, ...]
    outcomes: frozenset[DecisionOutcome]
    deciders: frozenset[str]
    service_levels: ServiceLevels
    needs_report: bool = False  # the disputed report must be on the case before a decision
    repeat_priority_at: int = 2  # contacts in the window that raise the priority
    repeat_escalation_at: int = 3  # contacts in the window that escalate the case
    repeat_window: timedelta = timedelta(days=90)


def _spec(
    case_type: CaseType,
    queue: ServiceQueue,
    requirements: tuple[Requirement, ...],
    outcomes: set[DecisionOutcome],
    *,
    resolution_hours: int,
    deciders: frozenset[str] = STAFF_DECIDERS,
    needs_report: bool = False,
) -> CaseTypeSpec:
    return CaseTypeSpec(
        case_type=case_type,
        queue=queue,
        requirements=requirements,
        outcomes=frozenset(outcomes | {DecisionOutcome.DENIED, DecisionOutcome.REFERRED_ELSEWHERE}),
        deciders=deciders,
        service_levels=_levels(resolution_hours),
        needs_report=needs_report,
    )


_HOLDER = PersonRole.HOLDER
_PROXY = PersonRole.PROXY

CASE_TYPES: dict[CaseType, CaseTypeSpec] = {
    spec.case_type: spec
    for spec in (
        _spec(
            CaseType.ACCOUNT_SUSPENSION_APPEAL,
            ServiceQueue.ACCOUNT_SECURITY,
            (Requirement(VerificationPurpose.SUSPENSION_APPEAL, _HOLDER),),
            {DecisionOutcome.RESTORED},
            resolution_hours=24,
        ),
        _spec(
            CaseType.ACCOUNT_RECOVERY_LOST_PHONE,
            ServiceQueue.ACCOUNT_SECURITY,
            (Requirement(VerificationPurpose.ACCOUNT_RECOVERY, _HOLDER),),
            {DecisionOutcome.RESTORED},
            resolution_hours=24,
        ),
        _spec(
            CaseType.WALLET_REACTIVATION,
            ServiceQueue.WALLET_PAYMENTS,
            (Requirement(VerificationPurpose.WALLET_REACTIVATION, _HOLDER),),
            {DecisionOutcome.RESTORED},
            resolution_hours=24,
        ),
        _spec(
            CaseType.THIRD_PARTY_REPORT_DISPUTE,
            ServiceQueue.COMMERCE_DISPUTES,
            (Requirement(VerificationPurpose.THIRD_PARTY_REPORT_DISPUTE, _HOLDER),),
            {DecisionOutcome.RESTORED},
            resolution_hours=48,
            deciders=SPECIALIST_DECIDERS,
            needs_report=True,
        ),
        _spec(
            CaseType.MINOR_SPENDING_REFUND,
            ServiceQueue.MINORS_FAMILY,
            (Requirement(VerificationPurpose.GUARDIAN_OF_MINOR, _PROXY),),
            {DecisionOutcome.REFUNDED, DecisionOutcome.PARTIALLY_REFUNDED},
            resolution_hours=36,
            deciders=SPECIALIST_DECIDERS,
        ),
        _spec(
            CaseType.OTHER,
            ServiceQueue.GENERAL,
            (),
            {DecisionOutcome.RESTORED, DecisionOutcome.REFUNDED},
            resolution_hours=48,
        ),
    )
}

CASE_TYPE_OF: dict[ProblemCategory, CaseType] = {
    ProblemCategory.ACCOUNT_SUSPENDED: CaseType.ACCOUNT_SUSPENSION_APPEAL,
    ProblemCategory.ACCOUNT_RECOVERY_LOST_PHONE: CaseType.ACCOUNT_RECOVERY_LOST_PHONE,
    ProblemCategory.WALLET_REACTIVATION: CaseType.WALLET_REACTIVATION,
    ProblemCategory.THIRD_PARTY_REPORT_DISPUTE: CaseType.THIRD_PARTY_REPORT_DISPUTE,
    ProblemCategory.MINOR_SPENDING_REFUND: CaseType.MINOR_SPENDING_REFUND,
    ProblemCategory.OTHER: CaseType.OTHER,
}
PROBLEM_CATEGORY_OF: dict[CaseType, ProblemCategory] = {v: k for k, v in CASE_TYPE_OF.items()}
