"""Events published by the cases service on ``frontdesk.cases.cases``."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.base import EventPayload, PersonalData
from contracts.registry import REGISTRY
from contracts.topics import CASES_CASES
from contracts.vocabulary import (
    Channel,
    LanguagePreference,
    PersonRole,
    ProblemCategory,
    RiskLevel,
    ServiceQueue,
    VerificationPurpose,
)


class CaseType(StrEnum):
    ACCOUNT_SUSPENSION_APPEAL = "account_suspension_appeal"
    ACCOUNT_RECOVERY_LOST_PHONE = "account_recovery_lost_phone"
    WALLET_REACTIVATION = "wallet_reactivation"
    THIRD_PARTY_REPORT_DISPUTE = "third_party_report_dispute"
    MINOR_SPENDING_REFUND = "minor_spending_refund"
    OTHER = "other"


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
    account_ref: str = Field(description="Opaque platform account id the case is about.")
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


@REGISTRY.event("cases.verification_requested", version=1, topic=CASES_CASES)
class VerificationRequested(EventPayload):
    """The case needs someone to prove who they are before a decision. The verification
    service opens a session for it and answers with verification.verification_completed
    carrying the same verification_id and case_id."""

    case_id: UUID
    verification_id: UUID = Field(description="Chosen by cases; the answer carries it back.")
    account_ref: str = Field(description="The account whose ownership or holder is at stake.")
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
    account_ref: str
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
    account_ref: str
    reason: str = Field(
        description="repeat_contacts | service_level_breached | callback_missed | agent"
    )
    level: int = Field(ge=1, description="1 = supervisor; higher = further up.")
    escalated_at: AwareDatetime
