"""The outcome of a verification session, on ``frontdesk.verification.sessions``.

This is the agreed interface with the cases service: it answers ``cases.verification_requested``
with the same ``verification_id`` and ``case_id``. The session's own steps are in
``contracts/events/verification_sessions.py``; organizations in
``verification_organizations.py``; held media in ``verification_media.py``.
"""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from pydantic import AwareDatetime, Field

from contracts.base import EventPayload
from contracts.fields import Identifier
from contracts.registry import REGISTRY
from contracts.topics import VERIFICATION_SESSIONS
from contracts.vocabulary import PersonRole, VerificationPurpose


class VerificationOutcome(StrEnum):
    VERIFIED = "verified"
    FAILED = "failed"
    EXPIRED = "expired"
    LOCKED = "locked"


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
    completed_at: AwareDatetime
