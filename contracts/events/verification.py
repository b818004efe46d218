"""The outcome of a verification session, on ``frontdesk.verification.sessions``.

This is the agreed interface with the cases service: it answers ``cases.verification_requested``
with the same ``verification_id`` and ``case_id``. The session's own steps are in
``contracts/events/verification_sessions.py``; organizations in
``verification_organizations.py``; held media in ``verification_media.py``.
"""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.base import EventPayload
from contracts.fields import Identifier, PlainText200
from contracts.registry import REGISTRY
from contracts.topics import VERIFICATION_SESSIONS
from contracts.vocabulary import PersonRole, VerificationPurpose


class VerificationOutcome(StrEnum):
    VERIFIED = "verified"
    FAILED = "failed"
    EXPIRED = "expired"
    LOCKED = "locked"


class ReasonCode(StrEnum):
    """Why a session ended as it did, as a code a frontend renders in the customer's language
    (services/verification/domain/texts.py renders them in zh-CN, en, fr, de and ja)."""

    CHECK_PASSED = "check_passed"  # {check}
    PROXY_ONLY = "proxy_only"  # the proxy's own identity and relationship, not the holder
    REJECTED_BY_REVIEWER = "rejected_by_reviewer"  # {check}
    GUARDIAN_FOR_HOLDER = "guardian_for_holder"  # a guardian-of-minor request for the holder
    COOLING_DOWN = "cooling_down"  # {until}
    LOCKED_OUT = "locked_out"  # {check, failures, until}
    EXPIRED = "expired"  # {expired_at, checks}


class OutcomeReason(BaseModel):
    """One reason as a code and its parameters: ``check``/``checks`` are check codes
    (comma-separated), ``until``/``expired_at`` ISO 8601 UTC times, ``failures`` a count."""

    model_config = ConfigDict(frozen=True)

    code: ReasonCode
    parameters: dict[str, PlainText200] = Field(default_factory=dict, max_length=5)


@REGISTRY.event("verification.verification_completed", version=1, topic=VERIFICATION_SESSIONS)
class VerificationCompleted(EventPayload):
    """A verification session ended. Carries references and outcomes only: no biometric
    data, no document images, no codes."""

    verification_id: UUID
    case_id: UUID | None = Field(default=None, description="The case that asked, if any.")
    account_ref: Identifier
    purpose: VerificationPurpose
    person_role: PersonRole = Field(description="Whose identity was proved (or not).")
    outcome: VerificationOutcome
    reasons: list[str] = Field(
        default_factory=list, description="Why, in words a person can read (no secrets)."
    )
    reason_codes: list[OutcomeReason] = Field(
        default_factory=list,
        max_length=20,
        description="The same reasons as codes and parameters, to render in the customer's "
        "language (absent from sessions completed before they existed).",
    )
    completed_at: AwareDatetime
