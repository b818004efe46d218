"""HTTP API for a person's data as a whole: legal holds and erasure."""

from __future__ import annotations

import uuid
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.events.privacy import SUBJECT_ID
from runtime.auth import Principal, require_roles
from runtime.eventstore import CommandContext, execute
from runtime.service import Runtime
from services.cases.data_subjects import (
    DATA_SUBJECT,
    DataSubject,
    EraseSubject,
    PlaceLegalHold,
    ReleaseLegalHold,
    data_subject_stream,
    decide,
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
    runtime: Runtime, principal: Principal, subject_id: str, command: object
) -> SubjectView:
    async with runtime.pool.acquire() as conn, conn.transaction():
        subject, _ = await execute(
            conn,
            runtime.store,
            DATA_SUBJECT,
            data_subject_stream(subject_id),
            lambda state: decide(state, command),  # type: ignore[arg-type]
            CommandContext.new(principal.actor()),
        )
    return _view(subject_id, subject)


@router.get("/subjects/{subject_id}", response_model=SubjectView, summary="Holds and erasures")
async def get_subject(
    subject_id: SubjectId, runtime: Runtime, principal: Annotated[Principal, Officers]
) -> SubjectView:
    async with runtime.pool.acquire() as conn:
        history = await runtime.store.load(conn, data_subject_stream(subject_id))
    return _view(subject_id, DATA_SUBJECT.fold([e.payload for e in history]))


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
    command = PlaceLegalHold(
        subject_id, uuid.uuid4(), body.reason, body.case_id, runtime.clock.now()
    )
    return await _change(runtime, principal, subject_id, command)


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
    command = ReleaseLegalHold(subject_id, hold_id, runtime.clock.now())
    return await _change(runtime, principal, subject_id, command)


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
    command = EraseSubject(subject_id, body.reason, runtime.clock.now())
    return await _change(runtime, principal, subject_id, command)
