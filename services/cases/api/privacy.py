"""HTTP API for a person's data as a whole: legal holds, erasure, and the customer's own copy
of their data after a verification they passed."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Path, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.events.privacy import SUBJECT_ID
from runtime.audit import record_access
from runtime.auth import Principal, require_roles
from runtime.commands import command
from runtime.context import CommandContext
from runtime.export import gather_subject_data
from runtime.limits import RateLimited
from runtime.service import Runtime
from services.cases.application.data_subjects import (
    change_data_subject,
    data_subject,
    own_copy_subject,
)
from services.cases.config import CasesWiring
from services.cases.domain.data_subject import (
    DataSubject,
    EraseSubject,
    PlaceLegalHold,
    ReleaseLegalHold,
)

router = APIRouter(prefix="/privacy", tags=["privacy"])
SubjectId = Annotated[
    str, Path(pattern=SUBJECT_ID, description="A data subject, e.g. account:acct-42")
]
Officers = require_roles("supervisor", "admin")


class HoldRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=3, max_length=500)
    case_id: UUID | None = None


class ErasureRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(
        min_length=3, max_length=500, examples=["the person's request, PIPL art. 47"]
    )


class HoldView(BaseModel):
    hold_id: UUID
    reason: str
    case_id: UUID | None


class SubjectView(BaseModel):
    subject_id: str
    legal_holds: list[HoldView]
    erasures: int
    last_erased_at: AwareDatetime | None


def _view(subject_id: str, subject: DataSubject) -> SubjectView:
    return SubjectView(
        subject_id=subject_id,
        legal_holds=[
            HoldView(hold_id=k, reason=v.reason, case_id=v.case_id)
            for k, v in subject.holds.items()
        ],
        erasures=subject.erasures,
        last_erased_at=subject.last_erased_at,
    )


async def _change(
    runtime: Runtime,
    principal: Principal,
    change: PlaceLegalHold | ReleaseLegalHold | EraseSubject,
) -> SubjectView:
    async def act(conn: asyncpg.Connection) -> DataSubject:
        return await change_data_subject(
            conn, runtime.store, change, CommandContext.new(principal.actor())
        )

    return _view(change.subject_id, await command(runtime.pool, act))


@router.get("/subjects/{subject_id}", response_model=SubjectView, summary="Holds and erasures")
async def get_subject(
    subject_id: SubjectId, runtime: Runtime, principal: Annotated[Principal, Officers]
) -> SubjectView:
    async with runtime.pool.acquire() as conn:
        subject = await data_subject(conn, runtime.store, subject_id)
    return _view(subject_id, subject)


@router.post(
    "/subjects/{subject_id}/legal-holds",
    status_code=201,
    response_model=SubjectView,
    summary="Place a legal hold (erasure is refused while it is open)",
)
async def place_hold(
    subject_id: SubjectId,
    body: HoldRequest,
    runtime: Runtime,
    principal: Annotated[Principal, Officers],
) -> SubjectView:
    hold = PlaceLegalHold(subject_id, uuid.uuid4(), body.reason, body.case_id, runtime.clock.now())
    return await _change(runtime, principal, hold)


@router.delete(
    "/subjects/{subject_id}/legal-holds/{hold_id}",
    response_model=SubjectView,
    summary="Release a legal hold",
)
async def release_hold(
    subject_id: SubjectId,
    hold_id: UUID,
    runtime: Runtime,
    principal: Annotated[Principal, Officers],
) -> SubjectView:
    release = ReleaseLegalHold(subject_id, hold_id, runtime.clock.now())
    return await _change(runtime, principal, release)


@router.post(
    "/subjects/{subject_id}/erasure",
    status_code=202,
    response_model=SubjectView,
    summary="Erase a person's personal data everywhere (crypto-shredding)",
    description="Refused with 409 while a legal hold is open. Accepted means: the erasure is "
    "recorded; every service destroys the person's key and redacts its read models as it "
    "hears of it (seconds).",
)
async def erase_subject(
    subject_id: SubjectId,
    body: ErasureRequest,
    runtime: Runtime,
    principal: Annotated[Principal, Officers],
) -> SubjectView:
    erasure = EraseSubject(subject_id, body.reason, runtime.clock.now())
    return await _change(runtime, principal, erasure)


@router.get(
    "/my-data",
    summary="A customer's own copy of their data, after a verification they passed (audited)",
    description="The account holder who passed a verification session themselves within "
    "FRONTDESK_CASES_SELF_EXPORT_MINUTES (30) gets everything the services hold about their "
    "account, as one JSON document; the read is recorded as a self-access.",
    dependencies=[RateLimited("customer")],
)
async def my_data(
    verification_id: Annotated[UUID, Query(description="The session the customer passed.")],
    request: Request,
    runtime: Runtime,
    wiring: CasesWiring,
    principal: Annotated[Principal, require_roles("customer")],
) -> dict[str, Any]:
    verifier = request.app.state.token_verifier
    token = verifier.issue(f"service:{runtime.name}", ["service"], ttl_seconds=60)
    subject_id = await own_copy_subject(
        wiring, verification_id, token, principal, runtime.clock.now()
    )
    document = await gather_subject_data(
        runtime.settings.peer_urls(), verifier, runtime.name, subject_id
    )
    async with runtime.pool.acquire() as conn:
        await record_access(
            conn,
            runtime,
            principal,
            subject_id=subject_id,
            resource="data_export",
            resource_id=subject_id,
            fields=["everything"],
            purpose=f"self_service:verification:{verification_id}",
            include_self=True,
        )
    return document
