"""Organization verification (official business accounts), on
``frontdesk.verification.organizations``.

An organization submits its profile, confirms two micro-deposits to its registered bank
account, has its documents reviewed and a phone confirmation recorded by a reviewer, and is
verified or rejected with reasons. A look-alike email domain (``sh-byd.com`` for ``byd.com``)
is flagged and blocks verification until a reviewer clears it: other systems (mail gateways,
the brand-complaint system) can act on ``verification.lookalike_domain_flagged``.

The deposit amounts never appear in an event (they are the secret the organization proves it
can read on its bank statement). Stream id: ``organization-<organization_id>``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.base import EventPayload, PersonalData
from contracts.fields import FreeText2000, PlainText200
from contracts.registry import REGISTRY
from contracts.topics import TopicSpec, register_topic

VERIFICATION_ORGANIZATIONS = register_topic(
    TopicSpec(
        name="frontdesk.verification.organizations",
        producer="verification",
        stream_type="organization",
        description="Every change of an organization's verification.",
    )
)


class ReviewStep(StrEnum):
    DOCUMENTS = "documents"


class LookalikeTechnique(StrEnum):
    HOMOGLYPH = "homoglyph"
    BRAND_EMBEDDED = "brand_embedded"
    BRAND_IN_SUBDOMAIN = "brand_in_subdomain"
    SWAPPED_LETTERS = "swapped_letters"
    DOUBLED_LETTER = "doubled_letter"
    MISSING_LETTER = "missing_letter"
    REPLACED_LETTER = "replaced_letter"
    OTHER_TOP_LEVEL_DOMAIN = "other_top_level_domain"
    UNOFFICIAL_DOMAIN = "unofficial_domain"


@REGISTRY.event("verification.organization_submitted", version=1, topic=VERIFICATION_ORGANIZATIONS)
class OrganizationSubmitted(EventPayload):
    """An organization submitted its profile for verification."""

    data_subject = ("organization", "organization_id")

    organization_id: UUID
    legal_name: str = Field(description="Registered legal name (public register data).")
    unified_social_credit_code: str = Field(description="18 characters, check digit valid.")
    legal_representative_name: str | None = PersonalData(
        "Name of the legal representative.", default=None
    )
    legal_representative_id_ref: str | None = PersonalData(
        "Reference of the representative's ID document (not the document).", default=None
    )
    bank_name: str
    bank_account_number: str | None = PersonalData("Registered bank account number.", default=None)
    bank_account_last4: str = Field(min_length=4, max_length=4)
    contact_name: str | None = PersonalData("Contact person's name.", default=None)
    contact_phone: str | None = PersonalData("Contact person's phone, E.164.", default=None)
    contact_email: str | None = PersonalData("Contact person's email address.", default=None)
    contact_email_domain: str = Field(description="Domain part of the contact email.")
    official_domains: list[str] = Field(description="The organization's own email domains.")
    submitted_by: str = Field(description="Platform id of the administrator who submitted.")
    submitted_at: AwareDatetime


@REGISTRY.event(
    "verification.lookalike_domain_flagged", version=1, topic=VERIFICATION_ORGANIZATIONS
)
class LookalikeDomainFlagged(EventPayload):
    """A domain looks like a verified or official one without being it: verification is
    blocked until a reviewer clears the flag or rejects the organization."""

    organization_id: UUID
    flag_id: UUID
    domain: str = Field(description="The suspicious domain (as given, lower-cased).")
    resembles: str = Field(description="The official or verified domain it imitates.")
    techniques: list[LookalikeTechnique]
    source: str = Field(description="contact_email | official_domain")
    flagged_at: AwareDatetime
    protected_brand: str | None = Field(
        default=None,
        max_length=100,
        description="When ``resembles`` is on the operators' registry of protected brands: "
        "the brand's name (absent: it resembles another organization's verified domain or the "
        "organization's own official domain). Empty ``techniques`` with a protected brand: the "
        "protected domain itself is claimed.",
    )


@REGISTRY.event(
    "verification.lookalike_domain_cleared", version=1, topic=VERIFICATION_ORGANIZATIONS
)
class LookalikeDomainCleared(EventPayload):
    organization_id: UUID
    flag_id: UUID
    domain: str
    reviewer_id: str
    reason: str
    cleared_at: AwareDatetime


@REGISTRY.event("verification.deposits_sent", version=1, topic=VERIFICATION_ORGANIZATIONS)
class DepositsSent(EventPayload):
    """Two small random amounts were sent to the registered account (amounts not included)."""

    organization_id: UUID
    transfer_refs: list[str] = Field(description="The bank's references of the two transfers.")
    bank_account_last4: str
    max_attempts: int = Field(ge=1)
    expires_at: AwareDatetime
    sent_at: AwareDatetime


@REGISTRY.event(
    "verification.deposit_confirmation_failed", version=1, topic=VERIFICATION_ORGANIZATIONS
)
class DepositConfirmationFailed(EventPayload):
    organization_id: UUID
    attempts: int = Field(ge=1)
    attempts_left: int = Field(ge=0)
    failed_at: AwareDatetime


@REGISTRY.event("verification.deposits_confirmed", version=1, topic=VERIFICATION_ORGANIZATIONS)
class DepositsConfirmed(EventPayload):
    organization_id: UUID
    attempts: int = Field(ge=1)
    confirmed_at: AwareDatetime


@REGISTRY.event("verification.deposits_expired", version=1, topic=VERIFICATION_ORGANIZATIONS)
class DepositsExpired(EventPayload):
    """The amounts were not confirmed in time; new deposits may be requested."""

    organization_id: UUID
    expired_at: AwareDatetime


@REGISTRY.event(
    "verification.organization_review_decided", version=1, topic=VERIFICATION_ORGANIZATIONS
)
class OrganizationReviewDecided(EventPayload):
    """A reviewer decided on the documents (business licence, sealed authorization letter)."""

    organization_id: UUID
    step: ReviewStep
    reviewer_id: str
    approved: bool
    reason: str
    document_refs: list[UUID] = Field(default_factory=list, description="Media ids reviewed.")
    decided_at: AwareDatetime


@REGISTRY.event("verification.phone_confirmed", version=1, topic=VERIFICATION_ORGANIZATIONS)
class PhoneConfirmedV1(EventPayload):
    """A reviewer called the organization and recorded the outcome (v1: the note in plain
    text)."""

    model_config = ConfigDict(title="PhoneConfirmed")

    organization_id: UUID
    reviewer_id: str
    confirmed: bool
    note: str = Field(description="What the call established (no personal data).")
    confirmed_at: AwareDatetime


@REGISTRY.event("verification.phone_confirmed", version=2, topic=VERIFICATION_ORGANIZATIONS)
class PhoneConfirmed(EventPayload):
    """A reviewer called the organization and recorded the outcome. v2: the reviewer's note
    may speak of the person who answered, so it is personal data, sealed under the
    organization's key (v1 payloads upcast unchanged: their note stays as written)."""

    data_subject = ("organization", "organization_id")

    organization_id: UUID
    reviewer_id: str
    confirmed: bool
    note: FreeText2000 | None = PersonalData(
        "What the call established, in the reviewer's words.", default=None
    )
    confirmed_at: AwareDatetime


@REGISTRY.upcaster("verification.phone_confirmed", from_version=1)
def _phone_confirmed_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    return payload  # same fields; the note became optional (erasable) and personal


@REGISTRY.event("verification.organization_verified", version=1, topic=VERIFICATION_ORGANIZATIONS)
class OrganizationVerified(EventPayload):
    organization_id: UUID
    legal_name: str
    verified_domains: list[str]
    reasons: list[str]
    verified_at: AwareDatetime


class RejectionCode(StrEnum):
    """Why an organization was rejected, as a code the notifications service renders in the
    contact's language (the English ``reasons`` quote the reviewer and are for staff)."""

    DOCUMENTS_REJECTED = "documents_rejected"  # the licence or authorization letter
    PHONE_CONFIRMATION_FAILED = "phone_confirmation_failed"  # the confirmation call
    DEPOSITS_NOT_CONFIRMED = "deposits_not_confirmed"  # {attempts}
    REJECTED_BY_REVIEWER = "rejected_by_reviewer"  # a reviewer's rejection (e.g. impersonation)


class RejectionReason(BaseModel):
    """One reason as a code and its parameters (``attempts``: a count)."""

    model_config = ConfigDict(frozen=True)

    code: RejectionCode
    parameters: dict[str, PlainText200] = Field(default_factory=dict, max_length=5)


@REGISTRY.event("verification.organization_rejected", version=1, topic=VERIFICATION_ORGANIZATIONS)
class OrganizationRejected(EventPayload):
    organization_id: UUID
    reasons: list[str]
    reason_codes: list[RejectionReason] = Field(
        default_factory=list,
        max_length=20,
        description="The reasons as codes and parameters, to render in the contact's "
        "language (empty in events written before the codes existed).",
    )
    rejected_by: str = Field(description="A reviewer's id, or verification for a rule.")
    rejected_at: AwareDatetime
