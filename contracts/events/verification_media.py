"""Media the verification service must hold for a while (relationship evidence, business
licences, authorization letters), on ``frontdesk.verification.media``.

The bytes never leave the service: they are stored encrypted (AES-256-GCM) in its database and
deleted when their retention period ends, which ``verification.media_purged`` announces. Events
carry the media id, its kind, a SHA-256 digest and sizes only.

Stream id: ``media-<media_id>``.
"""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from pydantic import AwareDatetime, Field

from contracts.base import EventPayload
from contracts.registry import REGISTRY
from contracts.topics import TopicSpec, register_topic

VERIFICATION_MEDIA = register_topic(
    TopicSpec(
        name="frontdesk.verification.media",
        producer="verification",
        stream_type="media",
        description="Evidence and documents held encrypted by verification, and their purge.",
    )
)


class MediaKind(StrEnum):
    RELATIONSHIP_EVIDENCE = "relationship_evidence"
    OWNERSHIP_EVIDENCE = "ownership_evidence"
    BUSINESS_LICENCE = "business_licence"
    AUTHORIZATION_LETTER = "authorization_letter"


class MediaOwner(StrEnum):
    SESSION = "session"
    ORGANIZATION = "organization"


@REGISTRY.event("verification.media_stored", version=1, topic=VERIFICATION_MEDIA)
class MediaStored(EventPayload):
    media_id: UUID
    kind: MediaKind
    owner_type: MediaOwner
    owner_id: UUID
    content_type: str
    size_bytes: int = Field(ge=0)
    sha256: str = Field(description="Digest of the plaintext, to match it later; not the bytes.")
    retain_until: AwareDatetime
    stored_at: AwareDatetime


@REGISTRY.event("verification.media_purged", version=1, topic=VERIFICATION_MEDIA)
class MediaPurged(EventPayload):
    """The held bytes were deleted for good."""

    media_id: UUID
    owner_type: MediaOwner
    owner_id: UUID
    reason: str = Field(description="retention_period_ended")
    purged_at: AwareDatetime
