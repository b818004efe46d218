"""Events published by the cases service on ``frontdesk.cases.cases`` (stream ``case-<id>``).

(Over 600 lines: one module per topic, with the frozen old versions its consumers still read.)

A case is about one problem of one platform account. Its stream holds every fact about it:
the contacts that opened it or attached to it, its status, who works on it, the verifications
it asked for and their outcomes, the platform suspensions linked to it, the third-party report
it disputes, the decision with its rule and explanation, the promised callbacks, service
levels, escalations, internal notes. The account timeline and every case view are projections
of this topic (plus ``frontdesk.cases.accounts`` and ``frontdesk.cases.staff``).

Times in payloads say when the fact happened in the domain; the envelope's ``occurred_at``
says when it was recorded.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.base import EventPayload, PersonalData
from contracts.events.platform import SuspensionScope
from contracts.fields import FreeText200, FreeText8000, Identifier, subject_or_fallback
from contracts.registry import REGISTRY
from contracts.topics import CASES_CASES
from contracts.vocabulary import (
    AccessibilityNeed,
    Channel,
    LanguagePreference,
    PersonRole,
    ProblemCategory,
    ProxyRelationship,
    RiskLevel,
    ServiceQueue,
    VerificationPurpose,
)

Facts = dict[str, str]


class CaseType(StrEnum):
    ACCOUNT_SUSPENSION_APPEAL = "account_suspension_appeal"
    ACCOUNT_RECOVERY_LOST_PHONE = "account_recovery_lost_phone"
    WALLET_REACTIVATION = "wallet_reactivation"
    THIRD_PARTY_REPORT_DISPUTE = "third_party_report_dispute"
    MINOR_SPENDING_REFUND = "minor_spending_refund"
    OTHER = "other"


class CaseStatus(StrEnum):
    """Where a case stands. open → triage → awaiting_verification → in_review →
    awaiting_specialist | awaiting_customer → resolved → closed; escalated from any active
    status; merged when folded into another case of the same problem."""

    OPEN = "open"
    TRIAGE = "triage"
    AWAITING_VERIFICATION = "awaiting_verification"
    IN_REVIEW = "in_review"
    AWAITING_SPECIALIST = "awaiting_specialist"
    AWAITING_CUSTOMER = "awaiting_customer"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    CLOSED = "closed"
    MERGED = "merged"


class CasePriority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class WaitingOn(StrEnum):
    """Who must act next, as a customer reads it."""

    AGENT = "agent"
    SPECIALIST = "specialist"
    SUPERVISOR = "supervisor"
    CUSTOMER = "customer"
    ACCOUNT_HOLDER = "account_holder"
    NOBODY = "nobody"


class DecisionOutcome(StrEnum):
    RESTORED = "restored"
    DENIED = "denied"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFERRED_ELSEWHERE = "referred_elsewhere"


class ServiceLevelKind(StrEnum):
    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"


class ReporterCategory(StrEnum):
    """Who filed a third-party report. Organizations may be named to the reported customer;
    a private individual never is."""

    BRAND_RIGHTS_HOLDER = "brand_rights_holder"
    BUSINESS = "business"
    AUTHORITY = "authority"
    PLATFORM_MODERATION = "platform_moderation"
    INDIVIDUAL_USER = "individual_user"


class CallbackOutcome(StrEnum):
    COMPLETED = "completed"
    MISSED = "missed"


class CaseSource(BaseModel):
    """Where the case came from: a check-in ticket, a remote contact, or an agent."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    channel: Channel | None = None
    ticket_id: UUID | None = None


@REGISTRY.event("cases.case_opened", version=1, topic=CASES_CASES)
class CaseOpened(EventPayload):
    """A case was opened about one problem of one platform account."""

    data_subject = ("account", "account_ref")

    case_id: UUID
    account_ref: Identifier = Field(description="Opaque platform account id the case is about.")
    case_type: CaseType
    problem_category: ProblemCategory
    source: CaseSource
    customer_id: str | None = Field(
        default=None, description="Signed-in customer who may follow the case online."
    )
    language: LanguagePreference
    summary: str | None = PersonalData(
        "The customer's own words about the problem (from the intake).", default=None
    )
    opened_at: AwareDatetime
    contact_id: UUID | None = Field(
        default=None,
        description="The contact that opened the case (None in old events: the case id).",
    )
    site_id: str | None = Field(
        default=None, description="Service center whose business calendar times the case."
    )
    requester_role: PersonRole | None = Field(
        default=None, description="Whether the person who opened it is the holder or a proxy."
    )
    proxy_relationship: ProxyRelationship | None = Field(
        default=None, description="How a proxy relates to the holder (guardian, spouse...)."
    )
    priority: CasePriority | None = Field(
        default=None, description="Initial priority (None in old events: normal)."
    )
    accessibility_needs: list[AccessibilityNeed] = Field(
        default_factory=list, description="From the intake; they raise the priority."
    )
    split_from_case_id: UUID | None = Field(
        default=None, description="Set when an agent split this contact out of another case."
    )


@REGISTRY.event("cases.contact_attached", version=1, topic=CASES_CASES)
class ContactAttached(EventPayload):
    """A new contact (ticket, phone, chat, email, or an agent's entry) about the same account
    and the same open problem joined this case instead of opening a duplicate."""

    data_subject = ("account", "account_ref")

    case_id: UUID
    contact_id: UUID
    account_ref: Identifier
    source: CaseSource
    site_id: str | None = None
    customer_id: str | None = Field(
        default=None, description="Signed-in customer of this contact; may follow the case."
    )
    requester_role: PersonRole | None = None
    proxy_relationship: ProxyRelationship | None = None
    language: LanguagePreference
    words: str | None = PersonalData("The person's own words in this contact.", default=None)
    contacts_in_window: int = Field(
        ge=1, description="Contacts on this case within the repeat window, this one included."
    )
    attached_at: AwareDatetime


@REGISTRY.event("cases.case_merged", version=1, topic=CASES_CASES)
class CaseMerged(EventPayload):
    """Two cases about the same problem became one. Recorded on both streams: on the merged
    case (which ends, status merged) and on the surviving case (which gains its contacts)."""

    case_id: UUID = Field(description="The case of this stream (survivor or merged).")
    survivor_case_id: UUID
    merged_case_id: UUID
    account_ref: Identifier
    contact_ids: list[UUID] = Field(description="Contacts that moved to the survivor.")
    customer_ids: list[str] = Field(
        default_factory=list, description="Customers of the merged case who may follow it."
    )
    merged_at: AwareDatetime


@REGISTRY.event("cases.contact_split", version=1, topic=CASES_CASES)
class ContactSplit(EventPayload):
    """An agent moved one contact out of this case into a new case (a different problem or
    account); the new case's case_opened names this case in split_from_case_id."""

    case_id: UUID
    contact_id: UUID
    new_case_id: UUID
    split_at: AwareDatetime


@REGISTRY.event("cases.case_assigned", version=1, topic=CASES_CASES)
class CaseAssigned(EventPayload):
    """The case went to a specialist queue, and to one person in it when assignee_id is set."""

    case_id: UUID
    queue: ServiceQueue
    assignee_id: str | None = Field(default=None, description="Staff id; None = the queue.")
    suggested: bool = Field(
        default=False, description="The workload-aware suggestion was followed."
    )
    assigned_at: AwareDatetime


@REGISTRY.event("cases.status_changed", version=1, topic=CASES_CASES)
class StatusChanged(EventPayload):
    """The case moved in its lifecycle."""

    case_id: UUID
    from_status: CaseStatus
    to_status: CaseStatus
    waiting_on: WaitingOn = Field(description="Who must act next.")
    reason: str = Field(
        max_length=200,
        description="Short code of why (e.g. verification_completed, customer_replied, agent).",
    )
    changed_at: AwareDatetime


@REGISTRY.event("cases.priority_changed", version=1, topic=CASES_CASES)
class PriorityChanged(EventPayload):
    """The case's priority changed: repeated contacts, accessibility needs, or an agent."""

    case_id: UUID
    from_priority: CasePriority
    to_priority: CasePriority
    reason: str = Field(max_length=200, description="repeat_contacts | agent")
    changed_at: AwareDatetime


class ServiceLevelTarget(BaseModel):
    """One running service-level clock."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    kind: ServiceLevelKind
    started_at: AwareDatetime = Field(description="When this clock started.")
    due_at: AwareDatetime = Field(description="Breached if nothing happens by then.")
    warn_at: AwareDatetime = Field(description="A warning is raised at this moment.")


@REGISTRY.event("cases.service_levels_scheduled", version=1, topic=CASES_CASES)
class ServiceLevelsScheduled(EventPayload):
    """The case's service-level clocks as they now run, on the site's business calendar.
    Replaces the previous set: a kind that is absent is met or no longer applies."""

    case_id: UUID
    priority: CasePriority
    calendar_id: str = Field(description="Business calendar the times were computed on.")
    targets: list[ServiceLevelTarget]
    paused: bool = Field(description="True while the case awaits the customer.")
    paused_minutes: int = Field(
        ge=0, description="Business minutes the resolution clock was paused so far."
    )
    scheduled_at: AwareDatetime


@REGISTRY.event("cases.service_level_warning", version=1, topic=CASES_CASES)
class ServiceLevelWarning(EventPayload):
    """A service level is close to breach."""

    case_id: UUID
    kind: ServiceLevelKind
    due_at: AwareDatetime
    warned_at: AwareDatetime


@REGISTRY.event("cases.service_level_breached", version=1, topic=CASES_CASES)
class ServiceLevelBreached(EventPayload):
    """A service level was breached: the case escalates to a supervisor."""

    case_id: UUID
    kind: ServiceLevelKind
    due_at: AwareDatetime
    breached_at: AwareDatetime


@REGISTRY.event("cases.verification_recorded", version=1, topic=CASES_CASES)
class VerificationRecorded(EventPayload):
    """The case learned the outcome of a verification (from verification_completed)."""

    case_id: UUID
    verification_id: UUID
    purpose: VerificationPurpose
    person_role: PersonRole
    outcome: str = Field(description="verified | failed | expired | locked")
    reasons: list[str] = Field(default_factory=list, description="Readable reasons, no secrets.")
    completed_at: AwareDatetime


class SuspensionRule(BaseModel):
    """The platform rule behind a suspension: code, version, threshold and the facts seen."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    suspension_id: UUID
    rule_code: str = Field(max_length=64)
    rule_version: int = Field(ge=1)
    threshold: int | None = Field(default=None, description="The rule's N.")
    threshold_unit: str | None = Field(default=None, max_length=60)
    window_hours: int | None = Field(default=None, ge=1)
    facts: Facts = Field(default_factory=dict, description="What the platform observed.")
    suspended_at: AwareDatetime
    scope: SuspensionScope | None = Field(
        default=None,
        description="What was suspended: account (the whole account), wallet (only its "
        "wallet), storefront (only its shop); absent on suspensions recorded before cases "
        "kept it.",
    )


@REGISTRY.event("cases.suspension_linked", version=1, topic=CASES_CASES)
class SuspensionLinked(EventPayload):
    """A platform suspension of the account was linked to this case, so the customer and the
    agent see which rule fired and its threshold."""

    case_id: UUID
    account_ref: Identifier
    suspension: SuspensionRule
    linked_at: AwareDatetime


class Evidence(BaseModel):
    """One piece of evidence, by reference (files live outside the log). Its summary is free
    text that may speak of the person: the events that carry evidence seal the whole list as
    personal data from report_recorded v2 and case_reopened v2 on."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    kind: str = Field(max_length=40, examples=["photo", "invoice", "certificate"])
    reference: str = Field(max_length=200, description="Id of the stored document.")
    summary: str = Field(max_length=300, description="What it shows, in the recorder's words.")


@REGISTRY.event("cases.report_recorded", version=1, topic=CASES_CASES)
class ReportRecordedV1(EventPayload):
    """The third-party report this case disputes (v1: the evidence in plain text)."""

    model_config = ConfigDict(title="ReportRecorded")

    case_id: UUID
    report_id: str = Field(max_length=100)
    reporter_category: ReporterCategory
    organization_name: str | None = Field(
        default=None, max_length=200, description="Only for organizations (never individuals)."
    )
    reporter_ref: str | None = Field(
        default=None, max_length=100, description="Opaque platform id of the reporter (staff)."
    )
    rule_code: str | None = Field(default=None, max_length=64)
    evidence: list[Evidence] = Field(default_factory=list)
    reported_at: AwareDatetime
    recorded_at: AwareDatetime


@REGISTRY.event("cases.report_recorded", version=2, topic=CASES_CASES)
class ReportRecorded(EventPayload):
    """The third-party report this case disputes. An organization's name may be shown to the
    reported customer; a private individual is only a reference, for staff. v2: the evidence
    (its summaries are free text that may speak of the person) is personal data, sealed as one
    value under the case's account key, and the event names ``account_ref`` (v1 payloads upcast
    unchanged: their evidence stays as written)."""

    data_subject = ("account", "account_ref")

    case_id: UUID
    report_id: str = Field(max_length=100)
    reporter_category: ReporterCategory
    organization_name: str | None = Field(
        default=None, max_length=200, description="Only for organizations (never individuals)."
    )
    reporter_ref: str | None = Field(
        default=None, max_length=100, description="Opaque platform id of the reporter (staff)."
    )
    rule_code: str | None = Field(default=None, max_length=64)
    evidence: list[Evidence] | None = PersonalData(
        "The evidence, sealed as one value (null once the account is erased).",
        default_factory=list,
    )
    reported_at: AwareDatetime
    recorded_at: AwareDatetime
    account_ref: Identifier | None = Field(
        default=None, description="The case's account: whose key seals the evidence."
    )

    @classmethod
    def data_subject_of(cls, payload: dict[str, Any]) -> str | None:
        return subject_or_fallback(payload, "account_ref", "case", "case_id")


@REGISTRY.upcaster("cases.report_recorded", from_version=1)
def _report_recorded_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    return payload  # same fields; the evidence became optional (erasable) and personal


@REGISTRY.event("cases.decision_recorded", version=1, topic=CASES_CASES)
class DecisionRecordedV1(EventPayload):
    """The case was decided (v1: the explanation, with the staff's facts, in plain text)."""

    model_config = ConfigDict(title="DecisionRecorded")

    case_id: UUID
    decision_id: UUID
    account_ref: Identifier
    outcome: DecisionOutcome
    reason_code: str = Field(max_length=64)
    policy_version: int = Field(ge=1)
    threshold: int | None = Field(default=None, description="The rule's N, when it has one.")
    facts: Facts = Field(default_factory=dict, description="The concrete facts (no personal data).")
    suspension: SuspensionRule | None = Field(
        default=None, description="The platform rule that suspended the account, if linked."
    )
    refund_amount: str | None = Field(
        default=None, pattern=r"^[0-9]{1,12}(\.[0-9]{1,2})?$", description="Decimal amount."
    )
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    explanation: str = Field(description="Plain-language explanation in explanation_language.")
    explanation_language: str = Field(description="BCP 47 tag the explanation is written in.")
    decided_at: AwareDatetime
    appeal_until: AwareDatetime | None = Field(
        default=None,
        description="Until when the customer may appeal; the case closes by itself then "
        "unless it was reopened. Absent on decisions recorded before cases wrote it.",
    )
    outcome_label: str | None = Field(
        default=None,
        max_length=120,
        description="The outcome as the customer reads it, in explanation_language (e.g. "
        "已恢复, restored, rétabli); messages to the customer show this, never the code. "
        "Absent on decisions recorded before cases wrote it.",
    )


@REGISTRY.event("cases.decision_recorded", version=2, topic=CASES_CASES)
class DecisionRecordedV2(EventPayload):
    """The case was decided. Every outcome names its rule (reason code and version from the
    policy catalogue, with its threshold), the concrete facts, and the explanation rendered in
    the customer's language. The status becomes resolved. v2: the explanation carries the facts
    staff typed and may speak of the person, so it is personal data, sealed under the account's
    key (v1 payloads upcast unchanged: their explanation stays as written)."""

    model_config = ConfigDict(title="DecisionRecorded")

    data_subject = ("account", "account_ref")

    case_id: UUID
    decision_id: UUID
    account_ref: Identifier
    outcome: DecisionOutcome
    reason_code: str = Field(max_length=64)
    policy_version: int = Field(ge=1)
    threshold: int | None = Field(default=None, description="The rule's N, when it has one.")
    facts: Facts = Field(default_factory=dict, description="The concrete facts (no personal data).")
    suspension: SuspensionRule | None = Field(
        default=None, description="The platform rule that suspended the account, if linked."
    )
    refund_amount: str | None = Field(
        default=None, pattern=r"^[0-9]{1,12}(\.[0-9]{1,2})?$", description="Decimal amount."
    )
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    explanation: FreeText8000 | None = PersonalData(
        "Plain-language explanation in explanation_language (null once erased).", default=None
    )
    explanation_language: str = Field(description="BCP 47 tag the explanation is written in.")
    decided_at: AwareDatetime
    appeal_until: AwareDatetime | None = Field(
        default=None,
        description="Until when the customer may appeal; the case closes by itself then "
        "unless it was reopened. Absent on decisions recorded before cases wrote it.",
    )
    outcome_label: str | None = Field(
        default=None,
        max_length=120,
        description="The outcome as the customer reads it, in explanation_language (e.g. "
        "已恢复, restored, rétabli); messages to the customer show this, never the code. "
        "Absent on decisions recorded before cases wrote it.",
    )


@REGISTRY.upcaster("cases.decision_recorded", from_version=1)
def _decision_recorded_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    return payload  # same fields; the explanation became optional (erasable) and personal


@REGISTRY.event("cases.decision_recorded", version=3, topic=CASES_CASES)
class DecisionRecorded(EventPayload):
    """The case was decided. Every outcome names its rule (reason code and version from the
    policy catalogue, with its threshold), the concrete facts, and the explanation rendered in
    the customer's language. The status becomes resolved. The explanation (v2) and the facts
    (v3) are what staff typed about the person: personal data, sealed under the account's key;
    the rule, its version and threshold, the outcome and the platform's suspension stay plain,
    they explain the decision (v1 and v2 payloads upcast unchanged: their facts stay as
    written)."""

    data_subject = ("account", "account_ref")

    case_id: UUID
    decision_id: UUID
    account_ref: Identifier
    outcome: DecisionOutcome
    reason_code: str = Field(max_length=64)
    policy_version: int = Field(ge=1)
    threshold: int | None = Field(default=None, description="The rule's N, when it has one.")
    facts: Facts | None = PersonalData(
        "The facts staff gave the rule's explanation, by name (e.g. checks, evidence); sealed "
        "as one value (null once the account is erased).",
        default_factory=dict,
    )
    suspension: SuspensionRule | None = Field(
        default=None, description="The platform rule that suspended the account, if linked."
    )
    refund_amount: str | None = Field(
        default=None, pattern=r"^[0-9]{1,12}(\.[0-9]{1,2})?$", description="Decimal amount."
    )
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    explanation: FreeText8000 | None = PersonalData(
        "Plain-language explanation in explanation_language (null once erased).", default=None
    )
    explanation_language: str = Field(description="BCP 47 tag the explanation is written in.")
    decided_at: AwareDatetime
    appeal_until: AwareDatetime | None = Field(
        default=None,
        description="Until when the customer may appeal; the case closes by itself then "
        "unless it was reopened. Absent on decisions recorded before cases wrote it.",
    )
    outcome_label: str | None = Field(
        default=None,
        max_length=120,
        description="The outcome as the customer reads it, in explanation_language (e.g. "
        "已恢复, restored, rétabli); messages to the customer show this, never the code. "
        "Absent on decisions recorded before cases wrote it.",
    )


@REGISTRY.upcaster("cases.decision_recorded", from_version=2)
def _decision_recorded_v2_to_v3(payload: dict[str, Any]) -> dict[str, Any]:
    return payload  # same fields; the facts became optional (erasable) and personal


@REGISTRY.event("cases.note_added", version=1, topic=CASES_CASES)
class NoteAdded(EventPayload):
    """An internal note. Never shown to customers."""

    data_subject = ("account", "account_ref")

    case_id: UUID
    note_id: UUID
    account_ref: Identifier
    text: str | None = PersonalData("The note (free text).", default=None)
    added_at: AwareDatetime


@REGISTRY.event("cases.callback_recorded", version=1, topic=CASES_CASES)
class CallbackRecorded(EventPayload):
    """The case learned what became of a promised callback (from notifications)."""

    case_id: UUID
    callback_id: UUID
    outcome: CallbackOutcome
    attempts: int = Field(ge=0)
    recorded_at: AwareDatetime


@REGISTRY.event("cases.case_reopened", version=1, topic=CASES_CASES)
class CaseReopenedV1(EventPayload):
    """A resolved or closed case was reopened (v1: the evidence in plain text)."""

    model_config = ConfigDict(title="CaseReopened")

    data_subject = ("account", "account_ref")

    case_id: UUID
    account_ref: Identifier
    appeal: bool = Field(description="True when the customer (or their proxy) appealed.")
    statement: str | None = PersonalData("The appellant's own words.", default=None)
    evidence: list[Evidence] = Field(default_factory=list)
    reopened_at: AwareDatetime


@REGISTRY.event("cases.case_reopened", version=2, topic=CASES_CASES)
class CaseReopened(EventPayload):
    """A resolved or closed case was reopened within the appeal period (an appeal when the
    customer asked). v2: the evidence (its summaries are free text that may speak of the
    person) is personal data, sealed as one value under the account's key, like the statement
    (v1 payloads upcast unchanged: their evidence stays as written)."""

    data_subject = ("account", "account_ref")

    case_id: UUID
    account_ref: Identifier
    appeal: bool = Field(description="True when the customer (or their proxy) appealed.")
    statement: str | None = PersonalData("The appellant's own words.", default=None)
    evidence: list[Evidence] | None = PersonalData(
        "The evidence, sealed as one value (null once the account is erased).",
        default_factory=list,
    )
    reopened_at: AwareDatetime


@REGISTRY.upcaster("cases.case_reopened", from_version=1)
def _case_reopened_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    return payload  # same fields; the evidence became optional (erasable) and personal


@REGISTRY.event("cases.case_closed", version=1, topic=CASES_CASES)
class CaseClosedV1(EventPayload):
    """A resolved case was closed (v1: the staff's reason in plain text)."""

    model_config = ConfigDict(title="CaseClosed")

    case_id: UUID
    reason: str = Field(max_length=200)
    closed_at: AwareDatetime


@REGISTRY.event("cases.case_closed", version=2, topic=CASES_CASES)
class CaseClosed(EventPayload):
    """A resolved case was closed. v2: the staff's reason is free text that may speak of the
    person, so it is personal data, sealed under the case's account key (v1 payloads upcast
    unchanged: their reason stays as written)."""

    data_subject = ("account", "account_ref")

    case_id: UUID
    reason: FreeText200 | None = PersonalData(
        "Why the case was closed, in the staff's words.", default=None
    )
    closed_at: AwareDatetime
    account_ref: Identifier | None = Field(
        default=None, description="The case's account: whose key seals the reason."
    )

    @classmethod
    def data_subject_of(cls, payload: dict[str, Any]) -> str | None:
        return subject_or_fallback(payload, "account_ref", "case", "case_id")


@REGISTRY.upcaster("cases.case_closed", from_version=1)
def _case_closed_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    return payload  # same fields; the reason became optional (erasable) and personal


@REGISTRY.event("cases.verification_requested", version=1, topic=CASES_CASES)
class VerificationRequested(EventPayload):
    """The case needs someone to prove who they are before a decision. The verification
    service opens a session for it and answers with verification.verification_completed
    carrying the same verification_id and case_id."""

    case_id: UUID
    verification_id: UUID = Field(description="Chosen by cases; the answer carries it back.")
    account_ref: Identifier = Field(
        description="The account whose ownership or holder is at stake."
    )
    purpose: VerificationPurpose
    person_role: PersonRole = Field(
        description="Whose identity is to be proved: the holder's, or the proxy's own "
        "(a proxy never passes a check on the holder's behalf)."
    )
    person_ref: str | None = Field(
        default=None, description="Platform id of the person to verify, when known."
    )
    risk_level: RiskLevel
    ticket_id: UUID | None = Field(default=None, description="To verify while they wait.")
    language: LanguagePreference
    requested_at: AwareDatetime


@REGISTRY.event("cases.callback_requested", version=1, topic=CASES_CASES)
class CallbackRequested(EventPayload):
    """A promise: someone from ``queue`` calls this person back within the window. The
    notifications service schedules it in the person's own hours, tracks it, and answers with
    notifications.callback_completed or notifications.callback_missed."""

    data_subject = ("account", "account_ref")

    case_id: UUID
    callback_id: UUID = Field(description="Chosen by cases; the answers carry it back.")
    account_ref: Identifier
    queue: ServiceQueue = Field(description="The specialist queue that calls.")
    recipient_role: PersonRole = Field(description="The holder, or a proxy such as a guardian.")
    phone: str | None = PersonalData("Number to call, E.164 (may be abroad).", default=None)
    timezone: str = Field(description="IANA timezone of the person, e.g. Asia/Shanghai.")
    window_start: AwareDatetime = Field(description="Earliest promised moment.")
    window_end: AwareDatetime = Field(description="Latest promised moment (the due time).")
    language: LanguagePreference
    requested_at: AwareDatetime


@REGISTRY.event("cases.case_escalated", version=1, topic=CASES_CASES)
class CaseEscalated(EventPayload):
    """The case went to a supervisor: a breached service level, a missed callback, repeated
    contacts about the same unresolved problem, or an agent's call. Check-in raises the
    routing priority of this account's tickets."""

    case_id: UUID
    account_ref: Identifier
    reason: str = Field(
        description="repeat_contacts | service_level_breached | callback_missed | agent"
    )
    level: int = Field(ge=1, description="1 = supervisor; higher = further up.")
    escalated_at: AwareDatetime
