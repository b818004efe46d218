"""Held media (evidence, documents): stored sealed with its event, purged by its timer."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from contracts.events.verification_media import MediaKind, MediaOwner, MediaPurged, MediaStored
from runtime.context import CommandContext
from runtime.eventstore import EventStore
from runtime.repository import Executed, Repository
from runtime.scheduler import Timer, schedule
from services.verification.application.sessions import SERVICE
from services.verification.domain.media import MEDIA, Media, decide_purge, require_owned
from services.verification.wiring import Wiring

MEDIA_PURGE_TIMER = "media-purge"


def media_stream(media_id: UUID) -> str:
    return f"media-{media_id}"


async def follow_media(
    conn: asyncpg.Connection, executed: Executed[Media], context: CommandContext
) -> None:
    """After an append: the purge timer of stored media; the sealed bytes of purged media go."""
    for event in executed.events:
        if isinstance(event, MediaStored):
            timer_id = f"{MEDIA_PURGE_TIMER}:{event.media_id}"
            await schedule(conn, timer_id, MEDIA_PURGE_TIMER, event.retain_until, {
                "media_id": str(event.media_id)}, context)  # fmt: skip
        elif isinstance(event, MediaPurged):
            await conn.execute(
                "UPDATE media_objects SET sealed = NULL, purged_at = $2 WHERE media_id = $1",
                event.media_id,
                event.purged_at,
            )


def media_repository(store: EventStore) -> Repository[Media]:
    return Repository(store, MEDIA, after_append=[follow_media])


async def store_media(
    conn: asyncpg.Connection,
    store: EventStore,
    wiring: Wiring,
    *,
    owner_type: MediaOwner,
    owner_id: UUID,
    kind: MediaKind,
    content_type: str,
    data: bytes,
    now: datetime,
    context: CommandContext,
) -> MediaStored:
    media_id = uuid.uuid4()
    retain_until = now + timedelta(days=wiring.settings.media_retention_days)
    stored = MediaStored(
        media_id=media_id,
        kind=kind,
        owner_type=owner_type,
        owner_id=owner_id,
        content_type=content_type,
        size_bytes=len(data),
        sha256=wiring.vault.sha256(data),
        retain_until=retain_until,
        stored_at=now,
    )
    await conn.execute(
        """INSERT INTO media_objects (media_id, owner_type, owner_id, kind, content_type, sealed,
               sha256, size_bytes, retain_until, stored_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
        media_id,
        owner_type.value,
        owner_id,
        kind.value,
        content_type,
        wiring.vault.seal(media_id, data),
        stored.sha256,
        len(data),
        retain_until,
        now,
    )
    await media_repository(store).execute(
        conn, media_stream(media_id), lambda media: [stored], context
    )
    return stored


async def media_owned_by(
    conn: asyncpg.Connection,
    media_ids: Sequence[UUID],
    owner_id: UUID,
    language: str | None = None,
) -> None:
    """Gather which of the references are held media of ``owner_id``; the rule decides (and
    tells a refusal in ``language``)."""
    held = await conn.fetch(
        "SELECT media_id FROM media_objects WHERE media_id = ANY($1::uuid[]) AND owner_id = $2 "
        "AND purged_at IS NULL",
        list(media_ids),
        owner_id,
    )
    require_owned(media_ids, {row["media_id"] for row in held}, language)


async def on_media_purge_timer(
    store: EventStore, conn: asyncpg.Connection, timer: Timer, now: datetime
) -> None:
    media_id = UUID(timer.payload["media_id"])
    await media_repository(store).execute(
        conn, media_stream(media_id), lambda media: decide_purge(media, now), timer.context(SERVICE)
    )
