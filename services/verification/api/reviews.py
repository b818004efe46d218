"""Reviews: a check sent to the reviewer queue, a reviewer's decision, the queue."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Path
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from runtime.auth import Principal, require_roles
from runtime.commands import command
from runtime.service import Runtime
from services.verification.api.access import (
    Participant,
    Reviewer,
    audit_read,
    context_of,
    session_for,
)
from services.verification.api.views import SessionView, session_view
from services.verification.application.media import media_owned_by
from services.verification.application.sessions import change_session
from services.verification.domain.plans import Check
from services.verification.domain.sessions import DecideReview, RequestReview, Session
from services.verification.projections.sessions import reviews

router = APIRouter(tags=["verification"])

SessionId = Annotated[UUID, Path(description="Verification session id")]
REVIEW_FIELDS = ["account_ref", "reason", "evidence_refs"]


class ReviewRequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    check: Check
    reason: str = Field(min_length=3, max_length=500)
    evidence_refs: list[UUID] = Field(default_factory=list, max_length=10)


class ReviewDecisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    check: Check
    approved: bool
    reason: str = Field(min_length=3, max_length=500)


class ReviewItem(BaseModel):
    verification_id: UUID
    check: str
    account_ref: str
    purpose: str
    reason: str
    required_approvals: int
    approvals: list[str]
    evidence_refs: list[UUID]
    status: str
    requested_at: AwareDatetime
    decided_at: AwareDatetime | None


@router.post(
    "/verification/sessions/{verification_id}/reviews/requests",
    response_model=SessionView,
    summary="Send the current check to the reviewer queue (with the evidence)",
)
async def request_review(
    verification_id: SessionId,
    body: ReviewRequestBody,
    runtime: Runtime,
    principal: Annotated[Principal, Participant],
) -> SessionView:
    session = await session_for(runtime, principal, verification_id)
    context = context_of(principal)
    request = RequestReview(body.check, body.reason, tuple(body.evidence_refs), runtime.clock.now())

    async def act(conn: asyncpg.Connection) -> Session:
        if body.evidence_refs:
            await media_owned_by(conn, body.evidence_refs, verification_id, session.language_tag)
        return (await change_session(conn, runtime.store, verification_id, request, context)).state

    return session_view(await command(runtime.pool, act))


@router.post(
    "/verification/sessions/{verification_id}/reviews/decisions",
    response_model=SessionView,
    summary="A reviewer approves or rejects a check, with a reason (four eyes when high risk)",
)
async def decide_review(
    verification_id: SessionId,
    body: ReviewDecisionBody,
    runtime: Runtime,
    principal: Annotated[Principal, Reviewer],
) -> SessionView:
    decision = DecideReview(
        body.check, principal.id, body.approved, body.reason, runtime.clock.now()
    )
    context = context_of(principal)

    async def act(conn: asyncpg.Connection) -> Session:
        return (await change_session(conn, runtime.store, verification_id, decision, context)).state

    return session_view(await command(runtime.pool, act))


@router.get(
    "/verification/reviews",
    response_model=list[ReviewItem],
    summary="The reviewer queue (oldest first)",
)
async def review_queue(
    runtime: Runtime,
    principal: Annotated[Principal, require_roles("reviewer", "supervisor", "admin")],
    status: Literal["open", "approved", "rejected", "closed"] = "open",
) -> list[ReviewItem]:
    rows = await reviews(runtime.pool, status)
    shown = [ReviewItem.model_validate(dict(row)) for row in rows]
    async with runtime.pool.acquire() as conn, conn.transaction():
        for row in rows:
            await audit_read(
                conn, runtime, principal, dict(row), "verification_review", REVIEW_FIELDS
            )
    return shown
