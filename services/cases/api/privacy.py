"""HTTP API for a person's data as a whole: legal holds, erasure, and the customer's own copy
of their data after a verification they passed."""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

import httpx
from fastapi import APIRouter, Path, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.events.privacy import SUBJECT_ID
from runtime.audit import record_access
from runtime.auth import Principal, require_roles
from runtime.errors import NotFound, RuleViolation
from runtime.eventstore import CommandContext, execute
from runtime.export import gather_subject_data
from runtime.service import Runtime
from services.cases.domain.data_subject import (
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


# -- the customer's own copy ------------------------------------------------------------------


def self_export_window() -> timedelta:
    """How recent the passed verification must be: FRONTDESK_CASES_SELF_EXPORT_MINUTES
    (default 30)."""
    minutes = int(os.environ.get("FRONTDESK_CASES_SELF_EXPORT_MINUTES", "30"))
    if not 1 <= minutes <= 24 * 60:
        raise ValueError("FRONTDESK_CASES_SELF_EXPORT_MINUTES must be between 1 and 1440")
    return timedelta(minutes=minutes)


async def verification_session(
    runtime: Runtime, request: Request, verification_id: UUID
) -> dict[str, Any] | None:
    """The session as the verification service knows it (who took it, for which account,
    whose identity it proved, how and when it ended); None if it knows no such session."""
    base_url = runtime.settings.peer_urls()["verification"].rstrip("/")
    token = request.app.state.token_verifier.issue(
        f"service:{runtime.name}", ["service"], ttl_seconds=60
    )
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(
            f"{base_url}/verification/sessions/{verification_id}",
            headers={"Authorization": f"Bearer {token}"},
        )
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


def check_self_export(
    session: dict[str, Any] | None, principal: Principal, now: datetime, window: timedelta
) -> str:
    """The subject whose copy the caller may have, or why not. Only the account holder who
    passed the verification themselves, recently: a proxy or a guardian proves their own
    identity, never the holder's, and gets no copy of the holder's data."""
    if session is None or session.get("person_ref") != principal.id:
        raise NotFound("no such verification of yours")
    if session["status"] != "verified":
        raise RuleViolation(f"this verification has not passed (it is {session['status']})")
    if session["person_role"] != "holder":
        raise RuleViolation(
            f"this verification proved a {session['person_role']}'s identity: only the "
            "account holder may have a copy of the account's data"
        )
    completed_at = datetime.fromisoformat(session["completed_at"])
    if completed_at < now - window:
        minutes = int(window.total_seconds() // 60)
        raise RuleViolation(
            f"the verification passed more than {minutes} minutes ago: verify again to get "
            "a copy of your data"
        )
    return f"account:{session['account_ref']}"


@router.get(
    "/my-data",
    summary="A customer's own copy of their data, after a verification they passed (audited)",
    description="The account holder who passed a verification session themselves within "
    "FRONTDESK_CASES_SELF_EXPORT_MINUTES (30) gets everything the services hold about their "
    "account, as one JSON document; the read is recorded as a self-access.",
)
async def my_data(
    verification_id: Annotated[UUID, Query(description="The session the customer passed.")],
    request: Request,
    runtime: Runtime,
    principal: Annotated[Principal, require_roles("customer")],
) -> dict[str, Any]:
    session = await verification_session(runtime, request, verification_id)
    subject_id = check_self_export(session, principal, runtime.clock.now(), self_export_window())
    document = await gather_subject_data(
        runtime.settings.peer_urls(), request.app.state.token_verifier, runtime.name, subject_id
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
