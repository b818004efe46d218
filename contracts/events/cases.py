"""Events published by the cases service on ``frontdesk.cases.cases``."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.base import EventPayload, PersonalData
from contracts.registry import REGISTRY
from contracts.topics import CASES_CASES
from contracts.vocabulary import Channel, LanguagePreference, ProblemCategory


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
