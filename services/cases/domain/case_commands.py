"""What can be asked of a case: its commands, and the facts the application gathers beside the
case's own history (``CaseFacts``). Pure data; the rules are in ``case.py``'s ``decide``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from contracts.events.cases import (
    CallbackOutcome,
    CasePriority,
    CaseSource,
    CaseStatus,
    CaseType,
    DecisionOutcome,
    Evidence,
    ReporterCategory,
    ServiceLevelKind,
    SuspensionRule,
)
from contracts.vocabulary import (
    AccessibilityNeed,
    LanguagePreference,
    PersonRole,
    ProblemCategory,
    ProxyRelationship,
    RiskLevel,
    ServiceQueue,
    VerificationPurpose,
)
from services.cases.domain.case_types import CASE_TYPE_OF
from services.cases.domain.visibility import Caller


@dataclass(frozen=True)
class OpenCase:
    case_id: UUID
    account_ref: str
    problem_category: ProblemCategory
    source: CaseSource
    customer_id: str | None
    language: LanguagePreference
    at: datetime
    summary: str | None = None
    contact_id: UUID | None = None
    site_id: str | None = None
    requester_role: PersonRole | None = None
    proxy_relationship: ProxyRelationship | None = None
    accessibility_needs: tuple[AccessibilityNeed, ...] = ()
    case_type: CaseType | None = None  # default: from the problem category
    split_from_case_id: UUID | None = None
    suspensions: tuple[SuspensionRule, ...] = ()  # the account's standing suspensions

    @property
    def resolved_case_type(self) -> CaseType:
        return self.case_type or CASE_TYPE_OF[self.problem_category]


@dataclass(frozen=True)
class AttachContact:
    contact_id: UUID
    source: CaseSource
    customer_id: str | None
    language: LanguagePreference
    at: datetime
    words: str | None = None
    site_id: str | None = None
    requester_role: PersonRole | None = None
    proxy_relationship: ProxyRelationship | None = None


@dataclass(frozen=True)
class ChangeStatus:
    to: CaseStatus
    reason: str
    by_role: str
    at: datetime


@dataclass(frozen=True)
class CustomerReply:
    at: datetime


@dataclass(frozen=True)
class RequestVerification:
    verification_id: UUID
    at: datetime
    purpose: VerificationPurpose | None = None
    person_role: PersonRole | None = None
    person_ref: str | None = None
    risk_level: RiskLevel | None = None


@dataclass(frozen=True)
class RecordVerification:
    verification_id: UUID
    purpose: VerificationPurpose
    person_role: PersonRole
    outcome: str
    reasons: tuple[str, ...]
    at: datetime


@dataclass(frozen=True)
class RecordDecision:
    decision_id: UUID
    outcome: DecisionOutcome
    reason_code: str
    facts: dict[str, str]
    by_role: str
    at: datetime
    policy_version: int | None = None
    refund_amount: str | None = None
    currency: str | None = None
    appeal_period: timedelta | None = None  # the case closes by itself after it


@dataclass(frozen=True)
class Reopen:
    appeal: bool
    at: datetime
    appeal_period: timedelta
    statement: str | None = None
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class Close:
    reason: str
    at: datetime


@dataclass(frozen=True)
class CloseAfterAppealPeriod:
    """The appeal period's timer fired: close the decided case if nobody appealed in time."""

    at: datetime


APPEAL_PERIOD_ENDED = "the appeal period ended"


@dataclass(frozen=True)
class Escalate:
    reason: str
    at: datetime


@dataclass(frozen=True)
class Assign:
    at: datetime
    queue: ServiceQueue | None = None
    assignee_id: str | None = None
    suggested: bool = False


@dataclass(frozen=True)
class ChangePriority:
    to: CasePriority
    reason: str
    at: datetime


@dataclass(frozen=True)
class RequestCallback:
    callback_id: UUID
    recipient_role: PersonRole
    timezone: str
    window_start: datetime
    window_end: datetime
    at: datetime
    phone: str | None = None


@dataclass(frozen=True)
class RecordCallback:
    callback_id: UUID
    outcome: CallbackOutcome
    attempts: int
    at: datetime


@dataclass(frozen=True)
class AddNote:
    note_id: UUID
    text: str
    at: datetime


@dataclass(frozen=True)
class RecordReport:
    report_id: str
    reporter_category: ReporterCategory
    reported_at: datetime
    at: datetime
    organization_name: str | None = None
    reporter_ref: str | None = None
    rule_code: str | None = None
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class LinkSuspension:
    suspension: SuspensionRule
    at: datetime


@dataclass(frozen=True)
class CheckServiceLevel:
    """A durable timer fired: warn, or breach and escalate, if the clock still runs."""

    kind: ServiceLevelKind
    due_at: datetime
    warning: bool
    at: datetime


@dataclass(frozen=True)
class Merge:
    at: datetime


@dataclass(frozen=True)
class SplitContact:
    contact_id: UUID
    new_case_id: UUID
    case_type: CaseType
    at: datetime
    account_ref: str | None = None  # default: the same account


ALREADY_OPEN = (
    "case {owner} is already open for this account and problem: "
    "attach the contact to it, or merge the cases"
)


@dataclass(frozen=True)
class CaseFacts:
    """What the application gathered beside the case's own history, for ``decide``."""

    case_id: UUID | None = None  # the case asked about (named in the 404 of an unknown case)
    # who asks through the API (staff see every case, a customer the cases they follow);
    # None for a reaction or a timer
    caller: Caller | None = None
    # the account's unresolved case of the problem the command opens or reopens, per the
    # write-side index (None: there is none)
    open_case: UUID | None = None
    # the account's standing platform suspensions: for a split contact's new case (of its
    # account), and for a reopened case (those recorded while it was decided)
    suspensions: tuple[SuspensionRule, ...] = ()


NO_FACTS = CaseFacts()


CaseCommand = (
    OpenCase
    | AttachContact
    | ChangeStatus
    | CustomerReply
    | RequestVerification
    | RecordVerification
    | RecordDecision
    | Reopen
    | Close
    | CloseAfterAppealPeriod
    | Escalate
    | Assign
    | ChangePriority
    | RequestCallback
    | RecordCallback
    | AddNote
    | RecordReport
    | LinkSuspension
    | CheckServiceLevel
)
