"""Ownership evidence: alternative proofs when the registered phone is dead."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from runtime.auth import Principal
from runtime.service import Runtime
from services.verification.api.access import Participant, context_of, session_for
from services.verification.api.views import SessionView, session_view
from services.verification.application.ownership import assess_ownership
from services.verification.domain.ownership import OwnershipClaim
from services.verification.wiring import WiringDep

router = APIRouter(tags=["verification"])

SessionId = Annotated[UUID, Path(description="Verification session id")]


class PaymentClaim(BaseModel):
    model_config = ConfigDict(extra="forbid")
    card_last4: str = Field(pattern=r"^[0-9]{4}$")
    amount_cents: int = Field(ge=1, le=100_000_000)


class OwnershipEvidenceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    device: str | None = Field(default=None, max_length=100)
    login_cities: list[Annotated[str, Field(max_length=100)]] = Field(
        default_factory=list, max_length=5
    )
    payment: PaymentClaim | None = None
    vouching_contacts: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list, max_length=5
    )
    evidence_refs: list[UUID] = Field(default_factory=list, max_length=10)


@router.post(
    "/verification/sessions/{verification_id}/ownership-evidence",
    response_model=SessionView,
    summary="Alternative proofs when the registered phone is dead (scored; low → reviewer)",
)
async def ownership_evidence(
    verification_id: SessionId,
    body: OwnershipEvidenceRequest,
    runtime: Runtime,
    wiring: WiringDep,
    principal: Annotated[Principal, Participant],
) -> SessionView:
    session = await session_for(runtime, principal, verification_id)
    claim = OwnershipClaim(
        device=body.device,
        login_cities=tuple(body.login_cities),
        card_last4=body.payment.card_last4 if body.payment else None,
        amount_cents=body.payment.amount_cents if body.payment else None,
        vouching_contacts=tuple(body.vouching_contacts),
        evidence_refs=tuple(body.evidence_refs),
    )
    assessed = await assess_ownership(
        runtime.pool, runtime.store, wiring, session, claim, runtime.clock.now(),
        context_of(principal),
    )  # fmt: skip
    return session_view(assessed)
