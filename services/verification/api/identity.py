"""Document and face liveness at the identity provider, and its signed webhook."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel

from runtime.auth import Principal, Unauthenticated
from runtime.commands import command
from runtime.limits import RateLimited
from runtime.service import Runtime
from services.verification.adapters.identity_provider import WebhookRejected
from services.verification.api.access import Participant, context_of, session_for
from services.verification.application import identity
from services.verification.wiring import WiringDep

router = APIRouter(tags=["verification"])

SessionId = Annotated[UUID, Path(description="Verification session id")]


class IdentityCheckStarted(BaseModel):
    provider: str
    provider_session_ref: str
    url: str


@router.post(
    "/verification/sessions/{verification_id}/identity-check",
    status_code=201,
    response_model=IdentityCheckStarted,
    summary="Open a document and face-liveness session at the identity provider",
    dependencies=[RateLimited("customer")],  # each opens a paid provider session
)
async def identity_check(
    verification_id: SessionId,
    runtime: Runtime,
    wiring: WiringDep,
    principal: Annotated[Principal, Participant],
) -> IdentityCheckStarted:
    session = await session_for(runtime, principal, verification_id)
    opened = await identity.begin_identity_check(
        runtime.pool, runtime.store, wiring, session, runtime.clock.now(), context_of(principal)
    )
    return IdentityCheckStarted(
        provider=wiring.identity_provider.name,
        provider_session_ref=opened.provider_session_ref,
        url=opened.url,
    )


@router.post(
    identity.WEBHOOK_PATH,
    tags=["webhooks"],
    summary="The identity provider's signed result (HMAC-SHA256; replays rejected)",
)
async def provider_webhook(request: Request, runtime: Runtime, wiring: WiringDep) -> dict[str, str]:
    body = await request.body()
    provider = wiring.identity_provider
    try:
        result = provider.verify_webhook(request.headers, body)
    except WebhookRejected as error:
        raise Unauthenticated(f"webhook rejected: {error}") from None
    outcome = await command(
        runtime.pool,
        lambda conn: identity.record_provider_result(
            conn, runtime.store, provider.name, result, runtime.clock.now()
        ),
    )
    return {"status": outcome.split(":")[0], "detail": outcome}
