"""The case aggregate's state and how its events fold into it (``evolve``): the statuses and
their legal transitions, the contacts, verifications and clocks a case holds, who it waits on.
Pure, no I/O. The rules that make the events are in ``case.py`` (``decide``, the one entry)
and the ``case_*`` modules it hands each command to."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from uuid import UUID

from contracts.base import EventPayload
from contracts.events.cases import (
    CallbackRecorded,
    CallbackRequested,
    CaseAssigned,
    CaseEscalated,
    CaseMerged,
    CaseOpened,
    CasePriority,
    CaseReopened,
    CaseStatus,
    CaseType,
    ContactAttached,
    ContactSplit,
    DecisionRecorded,
    PriorityChanged,
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
    LanguagePreference,
    PersonRole,
    RiskLevel,
    ServiceQueue,
    VerificationPurpose,
)
from runtime.aggregate import AggregateType
from services.cases.domain.case_types import (
    CASE_TYPES,
    CaseTypeSpec,
)

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
