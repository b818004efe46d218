"""Evidence uploads (a session's; an organization's documents use the same path)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import Annotated
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Path

from contracts.events.verification_media import MediaOwner
from runtime.auth import Principal
from runtime.commands import command
from runtime.errors import RuleViolation
from runtime.limits import RateLimited
from runtime.service import Runtime, ServiceRuntime
from services.verification.api.access import Participant, context_of, visible_session
from services.verification.api.views import MediaUpload, MediaView
from services.verification.application.media import store_media
from services.verification.wiring import Wiring, WiringDep

router = APIRouter(tags=["verification"])

SessionId = Annotated[UUID, Path(description="Verification session id")]


@router.post(
    "/verification/sessions/{verification_id}/media",
    status_code=201,
    response_model=MediaView,
    summary="Upload evidence (held encrypted, purged after its retention period)",
    dependencies=[RateLimited("customer")],
)
async def upload_session_media(
    verification_id: SessionId,
    body: MediaUpload,
    runtime: Runtime,
    wiring: WiringDep,
    principal: Annotated[Principal, Participant],
) -> MediaView:
    return await store_upload(
        runtime,
        wiring,
        principal,
        body,
        owner=(MediaOwner.SESSION, verification_id),
        check_visible=lambda conn: visible_session(conn, runtime, principal, verification_id),
    )


async def store_upload(
    runtime: ServiceRuntime,
    wiring: Wiring,
    principal: Principal,
    body: MediaUpload,
    *,
    owner: tuple[MediaOwner, UUID],
    check_visible: Callable[[asyncpg.Connection], Awaitable[object]],
) -> MediaView:
    """Every evidence upload (a session's or an organization's): decode within the size limit,
    check the caller may see the owner, store encrypted with its event, in one transaction."""
    data = decode_upload(body.content_base64, wiring.settings.media_max_bytes)
    context = context_of(principal)

    async def act(conn: asyncpg.Connection) -> MediaView:
        await check_visible(conn)
        stored = await store_media(
            conn,
            runtime.store,
            wiring,
            owner_type=owner[0],
            owner_id=owner[1],
            kind=body.kind,
            content_type=body.content_type,
            data=data,
            now=runtime.clock.now(),
            context=context,
        )
        return MediaView.model_validate(stored.model_dump())

    return await command(runtime.pool, act)


def decode_upload(content: str, limit: int) -> bytes:
    try:
        data = base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        raise RuleViolation("content_base64 is not valid base64") from None
    if len(data) > limit:
        raise RuleViolation(f"the file is larger than {limit} bytes")
    return data
