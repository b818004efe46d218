"""One-time codes: requested by the person, claimed by the notifications service, entered."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.events.verification_sessions import CodeChannel
from runtime.auth import Forbidden, Principal, require_roles
from runtime.commands import command
from runtime.limits import RateLimited
from runtime.service import Runtime
from services.verification.api.access import Participant, context_of, session_for
from services.verification.api.views import SessionView, session_view
from services.verification.application import codes
from services.verification.domain.plans import Check
from services.verification.wiring import WiringDep

router = APIRouter(tags=["verification"])

SessionId = Annotated[UUID, Path(description="Verification session id")]


class CodeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: CodeChannel = CodeChannel.SMS


class CodeRequested(BaseModel):
    delivery_id: UUID
    channel: CodeChannel
    claim_before: AwareDatetime


class CodeEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(pattern=r"^[0-9]{6}$")


class CodeVerdict(BaseModel):
    correct: bool
    session: SessionView


class ClaimedCodeView(BaseModel):
    code: str = Field(description="Deliver it; never log or store it.")
    channel: CodeChannel
    destination: str
    language: str
    expires_at: AwareDatetime


@router.post(
    "/verification/sessions/{verification_id}/possession-code",
    status_code=202,
    response_model=CodeRequested,
    summary="Send a one-time code to a verified channel (through the notifications service)",
    dependencies=[RateLimited("codes")],
)
async def request_code(
    verification_id: SessionId,
    body: CodeRequest,
    runtime: Runtime,
    wiring: WiringDep,
    principal: Annotated[Principal, Participant],
) -> CodeRequested:
    session = await session_for(runtime, principal, verification_id)
    session, delivery_id = await codes.request_code(
        runtime.pool, runtime.store, wiring, session, body.channel, runtime.clock.now(),
        context_of(principal),
    )  # fmt: skip
    progress = session.progress_of(Check.POSSESSION_CODE)
    return CodeRequested(
        delivery_id=delivery_id,
        channel=body.channel,
        claim_before=progress.claim_before,  # type: ignore[arg-type]
    )


@router.post(
    "/verification/sessions/{verification_id}/possession-code/verification",
    response_model=CodeVerdict,
    summary="Enter the code received (a wrong code counts against the attempt limit)",
    dependencies=[RateLimited("answers")],
)
async def verify_code(
    verification_id: SessionId,
    body: CodeEntry,
    runtime: Runtime,
    wiring: WiringDep,
    principal: Annotated[Principal, Participant],
) -> CodeVerdict:
    await session_for(runtime, principal, verification_id)
    context = context_of(principal)
    session = await command(
        runtime.pool,
        lambda conn: codes.verify_code(
            conn, runtime.store, wiring, verification_id, body.code, runtime.clock.now(), context
        ),
    )
    progress = session.progress_of(Check.POSSESSION_CODE)
    return CodeVerdict(correct=progress.status.value == "passed", session=session_view(session))


@router.post(
    "/internal/code-deliveries/{delivery_id}/claim",
    response_model=ClaimedCodeView,
    tags=["internal"],
    summary="The notifications service takes a one-time code to deliver (once)",
)
async def claim_code(
    delivery_id: Annotated[UUID, Path()],
    runtime: Runtime,
    wiring: WiringDep,
    principal: Annotated[Principal, require_roles("service")],
) -> JSONResponse:
    if principal.id not in wiring.settings.code_claimants:
        raise Forbidden("this service may not claim one-time codes")
    context = context_of(principal)
    claimed = await command(
        runtime.pool,
        lambda conn: codes.claim_code(
            conn, runtime.store, wiring, delivery_id, principal.id, runtime.clock.now(), context
        ),
    )
    view = ClaimedCodeView(
        code=claimed.code,
        channel=claimed.channel,
        destination=claimed.destination,
        language=claimed.language,
        expires_at=claimed.expires_at,
    )
    return JSONResponse(view.model_dump(mode="json"), headers={"Cache-Control": "no-store"})
