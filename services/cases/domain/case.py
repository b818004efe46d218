"""The case aggregate: pure decisions and folds, no I/O, no clock reads (``at`` is given).

Over 600 lines on purpose: one aggregate's state, its twenty commands and their rules, together.

``decide(case, facts, command) -> events`` is the one entry (the application gathers the facts
beside the case's own history into ``CaseFacts``); it hands each command to its rule
``decide_*(case, command)``, which raises ``RuleViolation`` (HTTP 409, with the reason) or
``NotFound``; ``evolve`` folds the events.
Decisions are drafted event by event (``_Draft``), so a later rule in the same command sees
the state the earlier events made (an attach that raises the priority, then escalates).
After the main events, the service-level clocks are re-planned on the site's business
calendar (``service_levels.plan_service_levels``) and, when they changed, a
``service_levels_scheduled`` event is added.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from uuid import UUID

from contracts.base import EventPayload
from contracts.events.cases import (
    CallbackOutcome,
    CallbackRecorded,
    CallbackRequested,
    CaseAssigned,
    CaseClosed,
    CaseEscalated,
    CaseMerged,
    CaseOpened,
    CasePriority,
    CaseReopened,
    CaseSource,
    CaseStatus,
    CaseType,
    ContactAttached,
    ContactSplit,
    DecisionOutcome,
    DecisionRecorded,
    Evidence,
    NoteAdded,
    PriorityChanged,
    ReporterCategory,
    ReportRecorded,
    ServiceLevelBreached,
    ServiceLevelKind,
    ServiceLevelsScheduled,
    ServiceLevelTarget,
    ServiceLevelWarning,
    StatusChanged,
    SuspensionLinked,
    SuspensionRule,
    VerificationRecorded,
    VerificationRequested,
    WaitingOn,
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
from runtime.aggregate import AggregateType
from runtime.errors import NotFound, RuleViolation
from services.cases.domain.case_types import (
    CASE_TYPE_OF,
    CASE_TYPES,
    GRANTING,
    PROBLEM_CATEGORY_OF,
    CaseTypeSpec,
)
from services.cases.domain.customer_texts import outcome_label
from services.cases.domain.policies import decision_policy, explain_suspension, explanation_language
from services.cases.domain.service_levels import plan_service_levels
from services.cases.domain.visibility import Caller

__all__ = [
    "CASE",
    "CASE_TYPE_OF",
    "Case",
    "CaseFacts",
    "CaseStatus",
    "OpenCase",
    "decide",
    "decide_open",
    "evolve",
]

TERMINAL = frozenset({CaseStatus.RESOLVED, CaseStatus.CLOSED, CaseStatus.MERGED})
WORKING = frozenset(
    {
        CaseStatus.TRIAGE,
        CaseStatus.IN_REVIEW,
        CaseStatus.AWAITING_SPECIALIST,
        CaseStatus.AWAITING_CUSTOMER,
    }
)
# status changes an agent may make by hand; the others have commands of their own
TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.OPEN: frozenset({CaseStatus.TRIAGE}),
    CaseStatus.TRIAGE: frozenset(
        {CaseStatus.IN_REVIEW, CaseStatus.AWAITING_SPECIALIST, CaseStatus.AWAITING_CUSTOMER}
    ),
    CaseStatus.AWAITING_VERIFICATION: frozenset(),
    CaseStatus.IN_REVIEW: frozenset(
        {CaseStatus.TRIAGE, CaseStatus.AWAITING_SPECIALIST, CaseStatus.AWAITING_CUSTOMER}
    ),
    CaseStatus.AWAITING_SPECIALIST: frozenset({CaseStatus.IN_REVIEW, CaseStatus.AWAITING_CUSTOMER}),
    CaseStatus.AWAITING_CUSTOMER: frozenset({CaseStatus.IN_REVIEW, CaseStatus.TRIAGE}),
    CaseStatus.ESCALATED: WORKING,
    CaseStatus.RESOLVED: frozenset(),
    CaseStatus.CLOSED: frozenset(),
    CaseStatus.MERGED: frozenset(),
}
DECIDABLE = frozenset({CaseStatus.IN_REVIEW, CaseStatus.AWAITING_SPECIALIST, CaseStatus.ESCALATED})
SUPERVISORS = frozenset({"supervisor", "admin"})
STAFF = frozenset({"agent", "specialist", "supervisor", "reviewer", "admin"})
PRIORITY_ORDER = [CasePriority.LOW, CasePriority.NORMAL, CasePriority.HIGH, CasePriority.URGENT]
RISK_OF: dict[CaseType, RiskLevel] = {
    CaseType.ACCOUNT_RECOVERY_LOST_PHONE: RiskLevel.HIGH,
    CaseType.WALLET_REACTIVATION: RiskLevel.HIGH,
    CaseType.MINOR_SPENDING_REFUND: RiskLevel.HIGH,
}


class EscalationReason:
    REPEAT_CONTACTS = "repeat_contacts"
    SERVICE_LEVEL_BREACHED = "service_level_breached"
    CALLBACK_MISSED = "callback_missed"
    AGENT = "agent"


# -- state ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Contact:
    contact_id: UUID
    at: datetime
    ticket_id: UUID | None = None
    customer_id: str | None = None


@dataclass(frozen=True)
class Verification:
    verification_id: UUID
    purpose: VerificationPurpose
    person_role: PersonRole
    outcome: str | None  # None while pending


@dataclass(frozen=True)
class Case:
    status: CaseStatus | None = None  # None: not opened
    case_id: UUID | None = None
    account_ref: str | None = None
    case_type: CaseType | None = None
    customer_id: str | None = None
    language: LanguagePreference | None = None
    site_id: str | None = None
    requester_role: PersonRole | None = None
    priority: CasePriority = CasePriority.NORMAL
    opened_at: datetime | None = None
    contacts: tuple[Contact, ...] = ()
    viewers: frozenset[str] = frozenset()
    verifications: tuple[Verification, ...] = ()
    queue: ServiceQueue | None = None
    assignee_id: str | None = None
    escalation_level: int = 0
    decision: DecisionRecorded | None = None
    resolved_at: datetime | None = None
    suspensions: tuple[SuspensionRule, ...] = ()
    report: ReportRecorded | None = None
    callbacks: dict[UUID, str] = field(default_factory=dict)
    targets: tuple[ServiceLevelTarget, ...] = ()
    sla_paused: bool = False
    paused_minutes: int = 0
    paused_since: datetime | None = None
    warned: frozenset[tuple[ServiceLevelKind, datetime]] = frozenset()
    breached: frozenset[tuple[ServiceLevelKind, datetime]] = frozenset()
    merged_into: UUID | None = None

    @property
    def opened(self) -> bool:
        return self.status is not None

    @property
    def active(self) -> bool:
        return self.status is not None and self.status not in TERMINAL

    @property
    def spec(self) -> CaseTypeSpec:
        assert self.case_type is not None
        return CASE_TYPES[self.case_type]

    def pending_verifications(self) -> list[Verification]:
        return [v for v in self.verifications if v.outcome is None]

    def target(self, kind: ServiceLevelKind) -> ServiceLevelTarget | None:
        return next((t for t in self.targets if t.kind is kind), None)


def waiting_on(case: Case, status: CaseStatus) -> WaitingOn:
    """Who must act next when the case is in ``status``."""
    if status is CaseStatus.AWAITING_VERIFICATION:
        pending = case.pending_verifications()
        holder_needed = any(v.person_role is PersonRole.HOLDER for v in pending)
        if holder_needed and case.requester_role is PersonRole.PROXY:
            return WaitingOn.ACCOUNT_HOLDER
        return WaitingOn.CUSTOMER
    return {
        CaseStatus.OPEN: WaitingOn.AGENT,
        CaseStatus.TRIAGE: WaitingOn.AGENT,
        CaseStatus.IN_REVIEW: WaitingOn.AGENT,
        CaseStatus.AWAITING_SPECIALIST: WaitingOn.SPECIALIST,
        CaseStatus.AWAITING_CUSTOMER: WaitingOn.CUSTOMER,
        CaseStatus.ESCALATED: WaitingOn.SUPERVISOR,
    }.get(status, WaitingOn.NOBODY)


# -- commands ---------------------------------------------------------------------------------


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


# -- facts ------------------------------------------------------------------------------------

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
    # the standing platform suspensions of the account a split contact's new case is for
    suspensions: tuple[SuspensionRule, ...] = ()


NO_FACTS = CaseFacts()


def _require_free_problem(case_id: UUID, facts: CaseFacts) -> None:
    """One unresolved case per account and problem (the index also guards it on append)."""
    if facts.open_case is not None and facts.open_case != case_id:
        raise RuleViolation(ALREADY_OPEN.format(owner=facts.open_case))


# -- drafting ---------------------------------------------------------------------------------


class _Draft:
    """The events of one decision, applied to the state as they are added."""

    def __init__(self, case: Case) -> None:
        self.before = case
        self.case = case
        self.events: list[EventPayload] = []

    def add(self, event: EventPayload) -> None:
        self.events.append(event)
        self.case = evolve(self.case, event)

    def status(self, to: CaseStatus, reason: str, at: datetime) -> None:
        assert self.case.status is not None
        assert self.case.case_id is not None
        self.add(
            StatusChanged(
                case_id=self.case.case_id,
                from_status=self.case.status,
                to_status=to,
                waiting_on=waiting_on(self.case, to),
                reason=reason,
                changed_at=at,
            )
        )

    def escalate(self, reason: str, at: datetime) -> None:
        case = self.case
        assert case.case_id is not None
        assert case.account_ref is not None
        self.add(
            CaseEscalated(
                case_id=case.case_id,
                account_ref=case.account_ref,
                reason=reason,
                level=case.escalation_level + 1,
                escalated_at=at,
            )
        )
        if self.case.status is not CaseStatus.ESCALATED:
            self.status(CaseStatus.ESCALATED, f"escalated:{reason}", at)

    def finish(
        self,
        at: datetime,
        *,
        responded: bool = False,
        customer_contacted: bool = False,
        restarted: bool = False,
    ) -> list[EventPayload]:
        planned = plan_service_levels(
            self.before,
            self.case,
            at,
            responded=responded,
            customer_contacted=customer_contacted,
            restarted=restarted,
        )
        if planned is not None:
            self.add(planned)
        return self.events


def _require_opened(case: Case) -> None:
    if not case.opened:
        raise NotFound("no such case")


def _require_active(case: Case, doing: str) -> None:
    _require_opened(case)
    if not case.active:
        assert case.status is not None
        raise RuleViolation(f"cannot {doing}: the case is {case.status.value}")


# -- decisions --------------------------------------------------------------------------------


def decide_open(case: Case, command: OpenCase, facts: CaseFacts = NO_FACTS) -> list[EventPayload]:
    if case.opened:
        raise RuleViolation("this case is already open")
    _require_free_problem(command.case_id, facts)
    case_type = command.resolved_case_type
    priority = CasePriority.HIGH if command.accessibility_needs else CasePriority.NORMAL
    draft = _Draft(case)
    draft.add(
        CaseOpened(
            case_id=command.case_id,
            account_ref=command.account_ref,
            case_type=case_type,
            problem_category=command.problem_category,
            source=command.source,
            customer_id=command.customer_id,
            language=command.language,
            summary=command.summary,
            opened_at=command.at,
            contact_id=command.contact_id,
            site_id=command.site_id,
            requester_role=command.requester_role,
            proxy_relationship=command.proxy_relationship,
            priority=priority,
            accessibility_needs=list(command.accessibility_needs),
            split_from_case_id=command.split_from_case_id,
        )
    )
    for rule in command.suspensions:
        draft.add(
            SuspensionLinked(
                case_id=command.case_id,
                account_ref=command.account_ref,
                suspension=rule,
                linked_at=command.at,
            )
        )
    return draft.finish(command.at)


def decide_attach(case: Case, command: AttachContact) -> list[EventPayload]:
    """A new contact about the same open problem joins the case. Repeated contacts within the
    type's window raise the priority one step each and, from the threshold on, escalate."""
    _require_active(case, "attach a contact")
    if any(c.contact_id == command.contact_id for c in case.contacts):
        return []  # the same contact again (a redelivered ticket): already attached
    assert case.case_id is not None
    assert case.account_ref is not None
    spec = case.spec
    since = command.at - spec.repeat_window
    in_window = 1 + sum(1 for c in case.contacts if c.at >= since)
    draft = _Draft(case)
    draft.add(
        ContactAttached(
            case_id=case.case_id,
            contact_id=command.contact_id,
            account_ref=case.account_ref,
            source=command.source,
            site_id=command.site_id,
            customer_id=command.customer_id,
            requester_role=command.requester_role,
            proxy_relationship=command.proxy_relationship,
            language=command.language,
            words=command.words,
            contacts_in_window=in_window,
            attached_at=command.at,
        )
    )
    if in_window >= spec.repeat_priority_at and case.priority is not CasePriority.URGENT:
        raised = PRIORITY_ORDER[PRIORITY_ORDER.index(case.priority) + 1]
        draft.add(
            PriorityChanged(
                case_id=case.case_id,
                from_priority=case.priority,
                to_priority=raised,
                reason=EscalationReason.REPEAT_CONTACTS,
                changed_at=command.at,
            )
        )
    if draft.case.status is CaseStatus.AWAITING_CUSTOMER:
        draft.status(CaseStatus.IN_REVIEW, "customer_contacted", command.at)
    if in_window >= spec.repeat_escalation_at:
        draft.escalate(EscalationReason.REPEAT_CONTACTS, command.at)
    return draft.finish(command.at, customer_contacted=True)


def decide_change_status(case: Case, command: ChangeStatus) -> list[EventPayload]:
    _require_opened(case)
    assert case.status is not None
    to, now = command.to, case.status
    if to is now:
        raise RuleViolation(f"the case is already {now.value}")
    if now in TERMINAL:
        hint = "reopen it within the appeal period" if now is not CaseStatus.MERGED else ""
        raise RuleViolation(f"the case is {now.value}" + (f": {hint}" if hint else ""))
    if to is CaseStatus.ESCALATED:
        return decide_escalate(case, Escalate(EscalationReason.AGENT, command.at))
    special = {
        CaseStatus.AWAITING_VERIFICATION: "request a verification; the case then awaits it",
        CaseStatus.RESOLVED: "a case is resolved by recording a decision",
        CaseStatus.CLOSED: "only a resolved case is closed, with the close command",
        CaseStatus.MERGED: "a case becomes merged by merging it into another",
        CaseStatus.OPEN: "a case never goes back to open",
    }
    if to in special:
        raise RuleViolation(f"cannot set {to.value} by hand: {special[to]}")
    if now is CaseStatus.AWAITING_VERIFICATION:
        which = "".join(
            f" {v.verification_id} ({v.purpose.value}, {v.person_role.value})"
            for v in case.pending_verifications()[:1]
        )
        raise RuleViolation(
            f"the case awaits verification{which}; it moves on when the verification completes"
        )
    if now is CaseStatus.ESCALATED and command.by_role not in SUPERVISORS:
        raise RuleViolation("an escalated case is handed back by a supervisor")
    if to not in TRANSITIONS[now]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[now])) or "nothing by hand"
        raise RuleViolation(f"a case cannot go from {now.value} to {to.value} (allowed: {allowed})")
    draft = _Draft(case)
    draft.status(to, command.reason, command.at)
    return draft.finish(command.at, responded=command.by_role in STAFF)


def decide_customer_reply(case: Case, command: CustomerReply) -> list[EventPayload]:
    _require_opened(case)
    assert case.status is not None
    if case.status is not CaseStatus.AWAITING_CUSTOMER:
        raise RuleViolation(f"the case is not waiting for the customer (it is {case.status.value})")
    draft = _Draft(case)
    draft.status(CaseStatus.IN_REVIEW, "customer_replied", command.at)
    return draft.finish(command.at, customer_contacted=True)


def decide_request_verification(case: Case, command: RequestVerification) -> list[EventPayload]:
    _require_active(case, "request a verification")
    assert case.status is not None
    assert case.case_id is not None
    assert case.account_ref is not None
    assert case.language is not None
    if case.status is CaseStatus.OPEN:
        raise RuleViolation("triage the case before requesting a verification")
    if case.status is CaseStatus.AWAITING_CUSTOMER:
        raise RuleViolation("the case awaits the customer; move it on first")
    spec = case.spec
    requirement = spec.requirements[0] if spec.requirements else None
    purpose = command.purpose or (requirement.purpose if requirement else None)
    if purpose is None:
        raise RuleViolation(f"{spec.case_type.value} cases need no verification: name a purpose")
    role = command.person_role or (requirement.person_role if requirement else PersonRole.HOLDER)
    for pending in case.pending_verifications():
        if pending.purpose is purpose and pending.person_role is role:
            raise RuleViolation(
                f"verification {pending.verification_id} ({purpose.value}, {role.value}) "
                "is already pending"
            )
    ticket_id = next((c.ticket_id for c in reversed(case.contacts) if c.ticket_id), None)
    draft = _Draft(case)
    draft.add(
        VerificationRequested(
            case_id=case.case_id,
            verification_id=command.verification_id,
            account_ref=case.account_ref,
            purpose=purpose,
            person_role=role,
            person_ref=command.person_ref,
            risk_level=command.risk_level or RISK_OF.get(spec.case_type, RiskLevel.MEDIUM),
            ticket_id=ticket_id,
            language=case.language,
            requested_at=command.at,
        )
    )
    if draft.case.status is not CaseStatus.AWAITING_VERIFICATION:
        draft.status(CaseStatus.AWAITING_VERIFICATION, "verification_requested", command.at)
    return draft.finish(command.at, responded=True)


def decide_record_verification(case: Case, command: RecordVerification) -> list[EventPayload]:
    _require_opened(case)
    assert case.case_id is not None
    known = next(
        (v for v in case.verifications if v.verification_id == command.verification_id), None
    )
    if known is not None and known.outcome is not None:
        return []  # already recorded
    draft = _Draft(case)
    draft.add(
        VerificationRecorded(
            case_id=case.case_id,
            verification_id=command.verification_id,
            purpose=command.purpose,
            person_role=command.person_role,
            outcome=command.outcome,
            reasons=list(command.reasons),
            completed_at=command.at,
        )
    )
    if draft.case.status is CaseStatus.AWAITING_VERIFICATION and not (
        draft.case.pending_verifications()
    ):
        draft.status(CaseStatus.IN_REVIEW, f"verification_{command.outcome}", command.at)
    return draft.finish(command.at)


def _missing_requirement(case: Case) -> str | None:
    """Why a granting decision must wait, or None when every required verification passed."""
    for requirement in case.spec.requirements:
        passed = [
            v
            for v in case.verifications
            if v.purpose is requirement.purpose and v.outcome == "verified"
        ]
        if any(v.person_role is requirement.person_role for v in passed):
            continue
        if requirement.person_role is PersonRole.HOLDER and passed:
            return (
                f"this decision needs the holder's own verification ({requirement.purpose.value})"
                "; a proxy's verification never counts for the holder"
            )
        return f"this decision needs {requirement.describe()} to have passed first"
    return None


def decide_record_decision(case: Case, command: RecordDecision) -> list[EventPayload]:
    _require_opened(case)
    assert case.status is not None
    assert case.case_id is not None
    assert case.account_ref is not None
    assert case.language is not None
    spec = case.spec
    if case.status not in DECIDABLE:
        waits = {
            CaseStatus.AWAITING_VERIFICATION: "it awaits a verification; decide after it",
            CaseStatus.AWAITING_CUSTOMER: "it awaits the customer",
            CaseStatus.OPEN: "review it first",
            CaseStatus.TRIAGE: "review it first",
        }.get(case.status, f"it is already {case.status.value}")
        raise RuleViolation(f"cannot decide the case now: {waits}")
    if command.outcome not in spec.outcomes:
        raise RuleViolation(f"a {spec.case_type.value} case cannot end {command.outcome.value}")
    if command.by_role not in spec.deciders:
        raise RuleViolation(
            f"a {spec.case_type.value} decision is made by a specialist or a supervisor"
        )
    if command.outcome in GRANTING:
        missing = _missing_requirement(case)
        if missing:
            raise RuleViolation(missing)
    if spec.needs_report and case.report is None:
        raise RuleViolation("record the disputed report (who reported, the evidence) first")
    refund = command.outcome in (DecisionOutcome.REFUNDED, DecisionOutcome.PARTIALLY_REFUNDED)
    if refund and (command.refund_amount is None or command.currency is None):
        raise RuleViolation("a refund names its amount and currency")
    if not refund and (command.refund_amount is not None or command.currency is not None):
        raise RuleViolation(f"a decision that is {command.outcome.value} refunds nothing")
    rule = decision_policy(
        command.reason_code, command.policy_version, command.outcome, spec.case_type
    )
    language = explanation_language(case.language.tag)
    explanation = rule.render(language, command.facts)
    suspension = case.suspensions[-1] if case.suspensions else None
    if suspension is not None:
        explanation = f"{explain_suspension(suspension, language)} {explanation}"
    draft = _Draft(case)
    draft.add(
        DecisionRecorded(
            case_id=case.case_id,
            decision_id=command.decision_id,
            account_ref=case.account_ref,
            outcome=command.outcome,
            reason_code=rule.code,
            policy_version=rule.version,
            threshold=rule.threshold,
            facts=dict(command.facts),
            suspension=suspension,
            refund_amount=command.refund_amount,
            currency=command.currency,
            explanation=explanation,
            explanation_language=language,
            decided_at=command.at,
            appeal_until=command.at + command.appeal_period if command.appeal_period else None,
            outcome_label=outcome_label(command.outcome, language),
        )
    )
    draft.status(CaseStatus.RESOLVED, f"decision:{command.outcome.value}", command.at)
    return draft.finish(command.at, responded=True)


def decide_reopen(case: Case, command: Reopen, facts: CaseFacts = NO_FACTS) -> list[EventPayload]:
    _require_opened(case)
    assert case.status is not None
    assert case.case_id is not None
    assert case.account_ref
    if case.status not in (CaseStatus.RESOLVED, CaseStatus.CLOSED):
        raise RuleViolation(
            f"only a resolved or closed case can be reopened (it is {case.status.value})"
        )
    assert case.resolved_at is not None
    # the period the decision named holds, even if the configured one changed since
    ends = appeal_ends(case) or case.resolved_at + command.appeal_period
    if command.at > ends:
        raise RuleViolation(
            f"the appeal period of {(ends - case.resolved_at).days} days ended on "
            f"{ends.date().isoformat()}"
        )
    _require_free_problem(case.case_id, facts)
    draft = _Draft(case)
    draft.add(
        CaseReopened(
            case_id=case.case_id,
            account_ref=case.account_ref,
            appeal=command.appeal,
            statement=command.statement,
            evidence=list(command.evidence),
            reopened_at=command.at,
        )
    )
    draft.status(CaseStatus.IN_REVIEW, "appeal" if command.appeal else "reopened", command.at)
    return draft.finish(command.at, restarted=True, customer_contacted=command.appeal)


def decide_close(case: Case, command: Close) -> list[EventPayload]:
    _require_opened(case)
    assert case.status is not None
    assert case.case_id is not None
    if case.status is not CaseStatus.RESOLVED:
        raise RuleViolation(f"only a resolved case can be closed (it is {case.status.value})")
    draft = _Draft(case)
    draft.add(CaseClosed(case_id=case.case_id, reason=command.reason, closed_at=command.at))
    draft.status(CaseStatus.CLOSED, "closed", command.at)
    return draft.finish(command.at)


def appeal_ends(case: Case) -> datetime | None:
    """When the appeal period of the case's decision ends, if the decision says."""
    return case.decision.appeal_until if case.decision is not None else None


def decide_close_after_appeal_period(
    case: Case, command: CloseAfterAppealPeriod
) -> list[EventPayload]:
    """Close a decided case once its appeal period is over; nothing when it was reopened,
    closed already, or decided again with a later period (a stale timer)."""
    ends = appeal_ends(case)
    if case.status is not CaseStatus.RESOLVED or ends is None or command.at < ends:
        return []
    return decide_close(case, Close(APPEAL_PERIOD_ENDED, command.at))


def decide_escalate(case: Case, command: Escalate) -> list[EventPayload]:
    _require_active(case, "escalate")
    draft = _Draft(case)
    draft.escalate(command.reason, command.at)
    return draft.finish(command.at)


def decide_assign(case: Case, command: Assign) -> list[EventPayload]:
    _require_active(case, "assign")
    assert case.case_id is not None
    queue = command.queue or case.spec.queue
    if queue is case.queue and command.assignee_id == case.assignee_id:
        who = command.assignee_id or "the queue"
        raise RuleViolation(f"the case is already assigned to {who} in {queue.value}")
    draft = _Draft(case)
    draft.add(
        CaseAssigned(
            case_id=case.case_id,
            queue=queue,
            assignee_id=command.assignee_id,
            suggested=command.suggested,
            assigned_at=command.at,
        )
    )
    return draft.finish(command.at)


def decide_change_priority(case: Case, command: ChangePriority) -> list[EventPayload]:
    _require_active(case, "change the priority")
    assert case.case_id is not None
    if command.to is case.priority:
        raise RuleViolation(f"the priority is already {command.to.value}")
    draft = _Draft(case)
    draft.add(
        PriorityChanged(
            case_id=case.case_id,
            from_priority=case.priority,
            to_priority=command.to,
            reason=command.reason,
            changed_at=command.at,
        )
    )
    return draft.finish(command.at)


def decide_request_callback(case: Case, command: RequestCallback) -> list[EventPayload]:
    _require_active(case, "promise a callback")
    assert case.case_id is not None
    assert case.account_ref
    assert case.language is not None
    if command.window_end <= command.window_start:
        raise RuleViolation("a callback window ends after it starts")
    if command.window_end <= command.at:
        raise RuleViolation("a callback window cannot end in the past")
    pending = [cid for cid, state in case.callbacks.items() if state == "requested"]
    if pending:
        raise RuleViolation(f"callback {pending[0]} is already promised and not answered yet")
    draft = _Draft(case)
    draft.add(
        CallbackRequested(
            case_id=case.case_id,
            callback_id=command.callback_id,
            account_ref=case.account_ref,
            queue=case.queue or case.spec.queue,
            recipient_role=command.recipient_role,
            phone=command.phone,
            timezone=command.timezone,
            window_start=command.window_start,
            window_end=command.window_end,
            language=case.language,
            requested_at=command.at,
        )
    )
    return draft.finish(command.at, responded=True)


def decide_record_callback(case: Case, command: RecordCallback) -> list[EventPayload]:
    _require_opened(case)
    assert case.case_id is not None
    if case.callbacks.get(command.callback_id) == command.outcome.value:
        return []
    draft = _Draft(case)
    draft.add(
        CallbackRecorded(
            case_id=case.case_id,
            callback_id=command.callback_id,
            outcome=command.outcome,
            attempts=command.attempts,
            recorded_at=command.at,
        )
    )
    if command.outcome is CallbackOutcome.MISSED and case.active:
        draft.escalate(EscalationReason.CALLBACK_MISSED, command.at)
    return draft.finish(command.at)


def decide_add_note(case: Case, command: AddNote) -> list[EventPayload]:
    _require_opened(case)
    assert case.case_id is not None
    assert case.account_ref is not None
    return [
        NoteAdded(
            case_id=case.case_id,
            note_id=command.note_id,
            account_ref=case.account_ref,
            text=command.text,
            added_at=command.at,
        )
    ]


def decide_record_report(case: Case, command: RecordReport) -> list[EventPayload]:
    _require_active(case, "record a report")
    assert case.case_id is not None
    if case.case_type is not CaseType.THIRD_PARTY_REPORT_DISPUTE:
        raise RuleViolation("only a third-party report dispute records the report")
    individual = command.reporter_category is ReporterCategory.INDIVIDUAL_USER
    if individual and command.organization_name is not None:
        raise RuleViolation("a private individual who reports is never named; give reporter_ref")
    if not individual and command.organization_name is None:
        raise RuleViolation("name the reporting organization (the customer may see it)")
    return [
        ReportRecorded(
            case_id=case.case_id,
            report_id=command.report_id,
            reporter_category=command.reporter_category,
            organization_name=command.organization_name,
            reporter_ref=command.reporter_ref,
            rule_code=command.rule_code,
            evidence=list(command.evidence),
            reported_at=command.reported_at,
            recorded_at=command.at,
        )
    ]


def decide_link_suspension(case: Case, command: LinkSuspension) -> list[EventPayload]:
    _require_opened(case)
    assert case.case_id is not None
    assert case.account_ref is not None
    known = {s.suspension_id for s in case.suspensions}
    if command.suspension.suspension_id in known:
        return []
    return [
        SuspensionLinked(
            case_id=case.case_id,
            account_ref=case.account_ref,
            suspension=command.suspension,
            linked_at=command.at,
        )
    ]


def decide_check_service_level(case: Case, command: CheckServiceLevel) -> list[EventPayload]:
    """A timer fired. Stale timers (clock met, moved, paused, case finished) do nothing."""
    if not case.active or case.sla_paused:
        return []
    assert case.case_id is not None
    target = case.target(command.kind)
    if target is None or target.due_at != command.due_at:
        return []
    key = (command.kind, command.due_at)
    draft = _Draft(case)
    if command.warning:
        if key in case.warned or key in case.breached:
            return []
        draft.add(
            ServiceLevelWarning(
                case_id=case.case_id, kind=command.kind, due_at=command.due_at, warned_at=command.at
            )
        )
        return draft.events
    if key in case.breached:
        return []
    draft.add(
        ServiceLevelBreached(
            case_id=case.case_id, kind=command.kind, due_at=command.due_at, breached_at=command.at
        )
    )
    draft.escalate(EscalationReason.SERVICE_LEVEL_BREACHED, command.at)
    return draft.finish(command.at)


def decide_merge(
    survivor: Case, merged: Case, command: Merge
) -> tuple[list[EventPayload], list[EventPayload]]:
    """``merged`` folds into ``survivor``: its contacts and followers move over; it ends."""
    _require_opened(survivor)
    _require_opened(merged)
    assert survivor.case_id is not None
    assert merged.case_id is not None
    if survivor.case_id == merged.case_id:
        raise RuleViolation("a case cannot be merged into itself")
    for case in (survivor, merged):
        if not case.active:
            assert case.status is not None
            raise RuleViolation(
                f"case {case.case_id} is {case.status.value}; only open cases merge"
            )
    if survivor.account_ref != merged.account_ref:
        raise RuleViolation("cases of different accounts cannot be merged")
    pending = merged.pending_verifications()
    if pending:
        raise RuleViolation(
            f"case {merged.case_id} awaits verification {pending[0].verification_id}; "
            "merge it after the verification completes"
        )
    assert survivor.account_ref is not None
    fact = {
        "survivor_case_id": survivor.case_id,
        "merged_case_id": merged.case_id,
        "account_ref": survivor.account_ref,
        "contact_ids": [c.contact_id for c in merged.contacts],
        "customer_ids": sorted(merged.viewers),
        "merged_at": command.at,
    }
    into = _Draft(survivor)
    into.add(CaseMerged(case_id=survivor.case_id, **fact))
    away = _Draft(merged)
    away.add(CaseMerged(case_id=merged.case_id, **fact))
    away.status(CaseStatus.MERGED, f"merged_into:{survivor.case_id}", command.at)
    return into.finish(command.at), away.finish(command.at)


def decide_split(
    source: Case, command: SplitContact, facts: CaseFacts = NO_FACTS
) -> tuple[list[EventPayload], list[EventPayload]]:
    """One contact leaves ``source`` and opens a case of its own (another problem/account)."""
    _require_active(source, "split a contact out")
    assert source.case_id is not None
    assert source.account_ref is not None
    contact = next((c for c in source.contacts if c.contact_id == command.contact_id), None)
    if contact is None:
        raise NotFound(f"no contact {command.contact_id} on case {source.case_id}")
    if len(source.contacts) == 1:
        raise RuleViolation("the only contact of a case cannot be split out")
    account_ref = command.account_ref or source.account_ref
    if (account_ref, command.case_type) == (source.account_ref, source.case_type):
        raise RuleViolation("a contact split out must be about another problem or account")
    assert source.language is not None
    away = _Draft(source)
    away.add(
        ContactSplit(
            case_id=source.case_id,
            contact_id=command.contact_id,
            new_case_id=command.new_case_id,
            split_at=command.at,
        )
    )
    opened = decide_open(
        Case(),
        OpenCase(
            case_id=command.new_case_id,
            account_ref=account_ref,
            problem_category=PROBLEM_CATEGORY_OF[command.case_type],
            case_type=command.case_type,
            source=CaseSource(ticket_id=contact.ticket_id),
            customer_id=contact.customer_id,
            language=source.language,
            at=command.at,
            contact_id=command.contact_id,
            site_id=source.site_id,
            requester_role=source.requester_role,
            split_from_case_id=source.case_id,
            suspensions=facts.suspensions,
        ),
        CaseFacts(open_case=facts.open_case),
    )
    return away.finish(command.at), opened


# -- the one entry ----------------------------------------------------------------------------

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


def decide(case: Case, facts: CaseFacts, command: CaseCommand) -> list[EventPayload]:
    """The events ``command`` makes of ``case``, given the facts; raises with the reason.

    A caller through the API first has to see the case: an unknown case, or one a customer
    does not follow, is 404 before any rule. (Merging and splitting touch two cases at once:
    ``decide_merge`` and ``decide_split``.)"""
    if facts.caller is not None and (
        not case.opened or not (facts.caller.is_staff or facts.caller.id in case.viewers)
    ):
        raise NotFound(f"case {facts.case_id} not found")
    match command:
        case OpenCase():
            return decide_open(case, command, facts)
        case AttachContact():
            return decide_attach(case, command)
        case ChangeStatus():
            return decide_change_status(case, command)
        case CustomerReply():
            return decide_customer_reply(case, command)
        case RequestVerification():
            return decide_request_verification(case, command)
        case RecordVerification():
            return decide_record_verification(case, command)
        case RecordDecision():
            return decide_record_decision(case, command)
        case Reopen():
            return decide_reopen(case, command, facts)
        case Close():
            return decide_close(case, command)
        case CloseAfterAppealPeriod():
            return decide_close_after_appeal_period(case, command)
        case Escalate():
            return decide_escalate(case, command)
        case Assign():
            return decide_assign(case, command)
        case ChangePriority():
            return decide_change_priority(case, command)
        case RequestCallback():
            return decide_request_callback(case, command)
        case RecordCallback():
            return decide_record_callback(case, command)
        case AddNote():
            return decide_add_note(case, command)
        case RecordReport():
            return decide_record_report(case, command)
        case LinkSuspension():
            return decide_link_suspension(case, command)
        case CheckServiceLevel():
            return decide_check_service_level(case, command)
    raise TypeError(f"unknown command {command!r}")


# -- fold -------------------------------------------------------------------------------------


def evolve(case: Case, event: EventPayload) -> Case:
    match event:
        case CaseOpened():
            contact = Contact(
                event.contact_id or event.case_id,
                event.opened_at,
                event.source.ticket_id,
                event.customer_id,
            )
            return Case(
                status=CaseStatus.OPEN,
                case_id=event.case_id,
                account_ref=event.account_ref,
                case_type=event.case_type,
                customer_id=event.customer_id,
                language=event.language,
                site_id=event.site_id,
                requester_role=event.requester_role,
                priority=event.priority or CasePriority.NORMAL,
                opened_at=event.opened_at,
                contacts=(contact,),
                viewers=frozenset({event.customer_id} if event.customer_id else ()),
            )
        case ContactAttached():
            contact = Contact(
                event.contact_id, event.attached_at, event.source.ticket_id, event.customer_id
            )
            viewers = case.viewers | ({event.customer_id} if event.customer_id else set())
            return replace(case, contacts=(*case.contacts, contact), viewers=viewers)
        case CaseMerged() if event.case_id == event.survivor_case_id:
            moved = tuple(Contact(cid, event.merged_at) for cid in event.contact_ids)
            return replace(
                case,
                contacts=(*case.contacts, *moved),
                viewers=case.viewers | set(event.customer_ids),
            )
        case CaseMerged():
            return replace(case, merged_into=event.survivor_case_id)
        case ContactSplit():
            contacts = tuple(c for c in case.contacts if c.contact_id != event.contact_id)
            return replace(case, contacts=contacts)
        case StatusChanged():
            resolved_at = event.changed_at if event.to_status is CaseStatus.RESOLVED else None
            return replace(
                case,
                status=event.to_status,
                resolved_at=resolved_at or case.resolved_at,
            )
        case PriorityChanged():
            return replace(case, priority=event.to_priority)
        case CaseAssigned():
            return replace(case, queue=event.queue, assignee_id=event.assignee_id)
        case CaseEscalated():
            return replace(case, escalation_level=event.level)
        case VerificationRequested():
            pending = Verification(event.verification_id, event.purpose, event.person_role, None)
            return replace(case, verifications=(*case.verifications, pending))
        case VerificationRecorded():
            done = Verification(
                event.verification_id, event.purpose, event.person_role, event.outcome
            )
            others = tuple(
                v for v in case.verifications if v.verification_id != event.verification_id
            )
            return replace(case, verifications=(*others, done))
        case DecisionRecorded():
            return replace(case, decision=event)
        case CaseReopened():
            return replace(case, decision=None)
        case SuspensionLinked():
            return replace(case, suspensions=(*case.suspensions, event.suspension))
        case ReportRecorded():
            return replace(case, report=event)
        case CallbackRequested():
            return replace(case, callbacks={**case.callbacks, event.callback_id: "requested"})
        case CallbackRecorded():
            return replace(
                case, callbacks={**case.callbacks, event.callback_id: event.outcome.value}
            )
        case ServiceLevelsScheduled():
            paused_since = case.paused_since
            if event.paused and not case.sla_paused:
                paused_since = event.scheduled_at
            elif not event.paused:
                paused_since = None
            return replace(
                case,
                priority=event.priority,
                targets=tuple(event.targets),
                sla_paused=event.paused,
                paused_minutes=event.paused_minutes,
                paused_since=paused_since,
            )
        case ServiceLevelWarning():
            return replace(case, warned=case.warned | {(event.kind, event.due_at)})
        case ServiceLevelBreached():
            return replace(case, breached=case.breached | {(event.kind, event.due_at)})
    return case


CASE = AggregateType[Case]("case", Case, evolve)


def case_stream(case_id: UUID) -> str:
    return f"case-{case_id}"
