"""Events of a verification session for a person, on ``frontdesk.verification.sessions``.

A session proves who someone is for one purpose: the account holder's ownership, or a proxy's
OWN identity and relationship (a proxy never passes a check on the holder's behalf). Every
payload carries references, counts and outcomes only: never a knowledge answer, a one-time
code (not even its hash: a 6-digit code's hash is as good as the code), a document image or
biometric data. The session's end is ``verification.verification_completed``
(contracts/events/verification.py), the one event other services need.

Stream id: ``verification-<verification_id>``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.base import EventPayload, PersonalData
from contracts.fields import FreeText2000, Identifier, subject_or_fallback
from contracts.registry import REGISTRY
from contracts.topics import VERIFICATION_SESSIONS
from contracts.vocabulary import (
    LanguagePreference,
    PersonRole,
    ProxyRelationship,
    RiskLevel,
    VerificationPurpose,
)


class VerificationCheck(StrEnum):
    """One proof a session can require (the purpose and risk level choose them, in order)."""

    KNOWLEDGE_CHALLENGE = "knowledge_challenge"
    POSSESSION_CODE = "possession_code"
    OWNERSHIP_EVIDENCE = "ownership_evidence"
    DOCUMENT_AND_LIVENESS = "document_and_liveness"
    GUARDIAN_RELATIONSHIP = "guardian_relationship"
    PROXY_RELATIONSHIP = "proxy_relationship"
    THIRD_PARTY_EVIDENCE_REVIEW = "third_party_evidence_review"


class SessionOrigin(StrEnum):
    AGENT = "agent"
    CASE_REQUEST = "case_request"


class CodeChannel(StrEnum):
    """Where a one-time code goes: a channel the platform has verified for the account."""

    SMS = "sms"
    EMAIL = "email"


class OwnershipItem(BaseModel):
    """One alternative proof of ownership and what it was worth (no personal values)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    kind: str = Field(
        description="past_device | past_login_cities | payment_record | vouching_contacts | "
        "earlier_verified_session"
    )
    points: int = Field(ge=0)
    explanation: str = Field(description="Why it counted (or not), without the facts themselves.")


@REGISTRY.event("verification.session_started", version=1, topic=VERIFICATION_SESSIONS)
class SessionStarted(EventPayload):
    """A session opened: whose identity it is about and the ordered checks it requires."""

    verification_id: UUID
    case_id: UUID | None = Field(default=None, description="The case that asked, if any.")
    account_ref: Identifier = Field(description="Opaque platform id of the account at stake.")
    purpose: VerificationPurpose
    risk_level: RiskLevel
    person_role: PersonRole = Field(description="Whose identity the checks prove.")
    person_ref: str | None = Field(
        default=None, description="Platform id of the person who takes the checks, when known."
    )
    relationship: ProxyRelationship | None = Field(
        default=None, description="For a proxy: the relationship the proxy claims to the holder."
    )
    checks: list[VerificationCheck] = Field(description="Required checks, in the order taken.")
    registered_phone_unavailable: bool = Field(
        default=False, description="The account's registered phone is dead or lost."
    )
    four_eyes: bool = Field(default=False, description="Reviews need two distinct reviewers.")
    ticket_id: UUID | None = Field(default=None, description="Verify while you wait.")
    language: LanguagePreference | None = None
    origin: SessionOrigin
    expires_at: AwareDatetime
    lockout_cooldown_minutes: int = Field(
        ge=1, description="How long a lockout pauses verification of the account."
    )
    started_at: AwareDatetime


@REGISTRY.event("verification.check_started", version=1, topic=VERIFICATION_SESSIONS)
class CheckStarted(EventPayload):
    """The person began (or renewed) a check: questions issued, a code requested, a session
    opened at the identity provider."""

    verification_id: UUID
    check: VerificationCheck
    detail: str = Field(description="What was set up, in words (never a question or a code).")
    provider: str | None = Field(default=None, description="Identity provider, for liveness.")
    provider_session_ref: str | None = Field(
        default=None, description="The provider's id of its session."
    )
    started_at: AwareDatetime


@REGISTRY.event("verification.check_attempt_failed", version=1, topic=VERIFICATION_SESSIONS)
class CheckAttemptFailed(EventPayload):
    """A wrong answer, a wrong code, a declined provider result: counts against the limit."""

    verification_id: UUID
    check: VerificationCheck
    failures: int = Field(ge=1, description="Failed attempts at this check so far.")
    limit: int = Field(ge=1, description="Failed attempts that lock the session out.")
    reason: str
    failed_at: AwareDatetime


@REGISTRY.event("verification.check_passed", version=1, topic=VERIFICATION_SESSIONS)
class CheckPassed(EventPayload):
    verification_id: UUID
    check: VerificationCheck
    person_role: PersonRole = Field(description="Whose identity or claim this check proved.")
    reasons: list[str] = Field(default_factory=list)
    passed_at: AwareDatetime


@REGISTRY.event("verification.check_failed", version=1, topic=VERIFICATION_SESSIONS)
class CheckFailedV1(EventPayload):
    """A check cannot pass (v1: the reason, which quotes the reviewer, in plain text)."""

    model_config = ConfigDict(title="CheckFailed")

    verification_id: UUID
    check: VerificationCheck
    reason: str
    failed_at: AwareDatetime


@REGISTRY.event("verification.check_failed", version=2, topic=VERIFICATION_SESSIONS)
class CheckFailed(EventPayload):
    """A check cannot pass (e.g. a reviewer rejected the evidence): the session fails.
    v2: the reason quotes the reviewer's words about the person, so it is personal data,
    sealed under the account's key (v1 payloads upcast unchanged: their reason stays as
    written)."""

    data_subject = ("account", "account_ref")

    verification_id: UUID
    check: VerificationCheck
    reason: FreeText2000 | None = PersonalData(
        "Why the check failed, quoting the reviewer's words.", default=None
    )
    failed_at: AwareDatetime
    account_ref: Identifier | None = Field(
        default=None, description="The session's account: whose key seals the reason."
    )

    @classmethod
    def data_subject_of(cls, payload: dict[str, Any]) -> str | None:
        return subject_or_fallback(payload, "account_ref", "verification", "verification_id")


@REGISTRY.upcaster("verification.check_failed", from_version=1)
def _check_failed_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    return payload  # same fields; the reason became optional (erasable) and personal


@REGISTRY.event("verification.ownership_assessed", version=1, topic=VERIFICATION_SESSIONS)
class OwnershipAssessed(EventPayload):
    """Alternative proofs when the registered phone is dead, scored item by item."""

    verification_id: UUID
    score: int = Field(ge=0)
    threshold: int = Field(ge=0)
    items: list[OwnershipItem]
    assessed_at: AwareDatetime


@REGISTRY.event("verification.review_requested", version=1, topic=VERIFICATION_SESSIONS)
class ReviewRequestedV1(EventPayload):
    """A check went to the reviewer queue (v1: the reason in plain text)."""

    model_config = ConfigDict(title="ReviewRequested")

    verification_id: UUID
    check: VerificationCheck
    reason: str
    required_approvals: int = Field(ge=1, le=2, description="2 = four-eyes rule.")
    evidence_refs: list[UUID] = Field(
        default_factory=list, description="Media ids of the evidence (stored encrypted)."
    )
    requested_at: AwareDatetime


@REGISTRY.event("verification.review_requested", version=2, topic=VERIFICATION_SESSIONS)
class ReviewRequested(EventPayload):
    """A check went to the reviewer queue. v2: the customer's reason is personal data, sealed
    under the account's key (v1 payloads upcast unchanged: their reason stays as written)."""

    data_subject = ("account", "account_ref")

    verification_id: UUID
    check: VerificationCheck
    reason: FreeText2000 | None = PersonalData(
        "Why the customer asks for a review, in their words.", default=None
    )
    required_approvals: int = Field(ge=1, le=2, description="2 = four-eyes rule.")
    evidence_refs: list[UUID] = Field(
        default_factory=list, description="Media ids of the evidence (stored encrypted)."
    )
    requested_at: AwareDatetime
    account_ref: Identifier | None = Field(
        default=None, description="The session's account: whose key seals the reason."
    )

    @classmethod
    def data_subject_of(cls, payload: dict[str, Any]) -> str | None:
        return subject_or_fallback(payload, "account_ref", "verification", "verification_id")


@REGISTRY.upcaster("verification.review_requested", from_version=1)
def _review_requested_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    return payload  # same fields; the reason became optional (erasable) and personal


@REGISTRY.event("verification.review_decided", version=1, topic=VERIFICATION_SESSIONS)
class ReviewDecidedV1(EventPayload):
    model_config = ConfigDict(title="ReviewDecided")

    verification_id: UUID
    check: VerificationCheck
    reviewer_id: str
    approved: bool
    reason: str
    decided_at: AwareDatetime


@REGISTRY.event("verification.review_decided", version=2, topic=VERIFICATION_SESSIONS)
class ReviewDecided(EventPayload):
    """A reviewer decided a check. v2: the reviewer's reason is personal data (it speaks of
    the person), sealed under the account's key; v1 payloads upcast unchanged."""

    data_subject = ("account", "account_ref")

    verification_id: UUID
    check: VerificationCheck
    reviewer_id: str
    approved: bool
    reason: FreeText2000 | None = PersonalData(
        "The reviewer's reason for the decision.", default=None
    )
    decided_at: AwareDatetime
    account_ref: Identifier | None = Field(
        default=None, description="The session's account: whose key seals the reason."
    )

    @classmethod
    def data_subject_of(cls, payload: dict[str, Any]) -> str | None:
        return subject_or_fallback(payload, "account_ref", "verification", "verification_id")


@REGISTRY.upcaster("verification.review_decided", from_version=1)
def _review_decided_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    return payload  # same fields; the reason became optional (erasable) and personal


@REGISTRY.event("verification.code_delivery_requested", version=1, topic=VERIFICATION_SESSIONS)
class CodeDeliveryRequested(EventPayload):
    """Please deliver a one-time code. The event carries NO code: the notifications service
    claims it, once, from ``POST /internal/code-deliveries/{delivery_id}/claim`` with its
    service token before ``claim_before``; only then is the code generated, returned to it
    and kept as a keyed hash."""

    verification_id: UUID
    delivery_id: UUID
    account_ref: Identifier
    channel: CodeChannel
    language: str = Field(description="BCP 47 tag the message is rendered in.")
    claim_path: str = Field(description="Where the notifications service claims the code.")
    claim_before: AwareDatetime
    requested_at: AwareDatetime


@REGISTRY.event("verification.code_issued", version=1, topic=VERIFICATION_SESSIONS)
class CodeIssued(EventPayload):
    """The code was generated and handed to the claiming service (its hash stays here)."""

    verification_id: UUID
    delivery_id: UUID
    claimed_by: str
    expires_at: AwareDatetime
    issued_at: AwareDatetime


@REGISTRY.event("verification.locked_out", version=1, topic=VERIFICATION_SESSIONS)
class LockedOut(EventPayload):
    """Too many failures: the session is locked and the account's verification cools down."""

    verification_id: UUID
    account_ref: Identifier
    check: VerificationCheck
    reason: str
    cooldown_until: AwareDatetime
    locked_at: AwareDatetime


@REGISTRY.event("verification.cooldown_ended", version=1, topic=VERIFICATION_SESSIONS)
class CooldownEnded(EventPayload):
    """The account may be verified again."""

    verification_id: UUID
    account_ref: Identifier
    ended_at: AwareDatetime


class CodeDeliveryFailure(StrEnum):
    """Why a one-time code never reached the person, as verification knows it from its own
    record of the delivery (whether the code was claimed, and when the claim window closed)."""

    NOT_CLAIMED = "not_claimed"
    """The message failed before the code was claimed (claim refused, nothing to send it
    with): no code was ever created for this delivery."""
    CLAIM_WINDOW_PASSED = "claim_window_passed"
    """The message could not be sent before ``claim_before``: it went stale unclaimed."""
    FAILED_AFTER_CLAIM = "failed_after_claim"
    """The code was created and handed to the notifications service, but the message with it
    failed (provider error, failure receipt): the code is spent."""


class CodeDeliveryStatus(StrEnum):
    """How far a code message got, as the notifications service reported it."""

    SENT = "sent"
    DELIVERED = "delivered"


@REGISTRY.event("verification.code_delivery_failed", version=1, topic=VERIFICATION_SESSIONS)
class CodeDeliveryFailed(EventPayload):
    """The notifications service gave up on the message carrying a one-time code
    (``notifications.notification_failed`` of the message that names this delivery): the
    person will not receive it. It does not count against the session's codes, and a new one
    may be requested at once. Carries no code and no address; the notifications service's own
    reason is on its message (``notification_id``)."""

    verification_id: UUID
    delivery_id: UUID
    notification_id: UUID = Field(description="The notifications service's message.")
    channel: CodeChannel
    failure: CodeDeliveryFailure
    reason: str = Field(description="What happened and what to do, for the person and agent.")
    codes_left: int = Field(ge=0, description="New codes the session may still request.")
    failed_at: AwareDatetime


@REGISTRY.event("verification.code_delivery_reported", version=1, topic=VERIFICATION_SESSIONS)
class CodeDeliveryReported(EventPayload):
    """The message carrying a one-time code was sent (a provider accepted it) or delivered
    (the provider's receipt), as the notifications service reported it."""

    verification_id: UUID
    delivery_id: UUID
    notification_id: UUID = Field(description="The notifications service's message.")
    channel: CodeChannel
    status: CodeDeliveryStatus
    reported_at: AwareDatetime
