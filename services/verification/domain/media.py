"""Held media (evidence, documents): stored once, purged once when its retention ends."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID

from contracts.base import EventPayload
from contracts.events.verification_media import MediaOwner, MediaPurged, MediaStored
from runtime.aggregate import AggregateType
from services.verification.domain.refusals import Refusal, refused


@dataclass(frozen=True)
class Media:
    media_id: UUID | None = None
    owner_type: MediaOwner | None = None
    owner_id: UUID | None = None
    retain_until: datetime | None = None
    purged: bool = False


def require_owned(
    references: Sequence[UUID], held: Collection[UUID], language: str | None = None
) -> None:
    """Evidence is cited by reference only when it is media uploaded for this session (or
    organization) and still held: ``held`` are the references that are; the refusal is told
    in ``language`` (the session's)."""
    if not set(references) <= set(held):
        raise refused(Refusal.EVIDENCE_NOT_HELD_MEDIA, language)


def decide_purge(media: Media, at: datetime) -> list[EventPayload]:
    """Purge when the retention has ended; nothing when not yet, or already done."""
    if media.media_id is None or media.purged:
        return []
    assert media.retain_until is not None
    assert media.owner_type is not None
    assert media.owner_id is not None
    if at < media.retain_until:
        return []
    return [
        MediaPurged(
            media_id=media.media_id,
            owner_type=media.owner_type,
            owner_id=media.owner_id,
            reason="retention_period_ended",
            purged_at=at,
        )
    ]


def evolve_media(media: Media, event: EventPayload) -> Media:
    match event:
        case MediaStored():
            return Media(event.media_id, event.owner_type, event.owner_id, event.retain_until)
        case MediaPurged():
            return replace(media, purged=True)
    return media


MEDIA = AggregateType[Media]("media", Media, evolve_media)
