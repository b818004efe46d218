"""Verification sessions: opened by an agent or another service, read by staff and by the
person taking them."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.events.verification import VerificationOutcome
from contracts.events.verification_sessions import SessionOrigin
from contracts.fields import Identifier, PlainText200
from contracts.vocabulary import (
    LanguagePreference,
    PersonRole,
    ProxyRelationship,
    RiskLevel,
    VerificationPurpose,
)
from runtime.auth import Principal, require_roles
from runtime.commands import IdempotencyKey, fingerprint, idempotent
from runtime.errors import RuleViolation
from runtime.service import Runtime
from services.verification.api.access import (
    Participant,
    StaffOrService,
    audit_read,
    context_of,
    visible_session,
)
from services.verification.api.views import SessionView, session_view
from services.verification.application.sessions import start_session as start
from services.verification.domain.sessions import StartSession, outcome_of
from services.verification.projections.sessions import sessions_of
from services.verification.wiring import WiringDep

router = APIRouter(tags=["verification"])

SessionId = Annotated[UUID, Path(description="Verification session id")]
# what a staff read shows about the person (names, for the audit of staff reads)
SESSION_FIELDS = ["account_ref", "person_ref", "checks", "reasons"]
SUMMARY_FIELDS = ["account_ref", "checks", "outcome_reasons"]


class StartSessionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_ref: Identifier = Field(
        description="The account: the one identifier pattern of intake and privacy."
    )
    purpose: VerificationPurpose
    risk_level: RiskLevel
    person_role: PersonRole
    person_ref: PlainText200 | None = Field(
        default=None,
        max_length=200,
        description="Platform id of the person taking the checks; that customer may take them "
        "on their own phone (verify while you wait).",
    )
    relationship: ProxyRelationship | None = None
    registered_phone_unavailable: bool = False
    case_id: UUID | None = None
    ticket_id: UUID | None = None
    language: LanguagePreference | None = None


class SessionSummary(BaseModel):
    verification_id: UUID
    case_id: UUID | None
    account_ref: str
    purpose: str
    person_role: str
    status: str = Field(description="open, or once ended the same word as `outcome`.")
    outcome: VerificationOutcome | None = Field(
        description="null while open; verified | failed | expired | locked."
    )
    checks: list[str]
    passed_checks: list[str]
    outcome_reasons: list[str]
    started_at: AwareDatetime
    expires_at: AwareDatetime
    completed_at: AwareDatetime | None
    code_delivery_status: str | None = None
    code_delivery_reason: str | None = None


@router.post(
    "/verification/sessions",
    status_code=201,
    response_model=SessionView,
    summary="Open a verification session (an agent at the desk, or another service)",
)
async def start_session(
    body: StartSessionRequest,
    runtime: Runtime,
    wiring: WiringDep,
    principal: Annotated[Principal, require_roles("agent", "specialist", "supervisor", "service")],
    idempotency_key: IdempotencyKey = None,
) -> object:
    context = context_of(principal)
    settings = wiring.settings

    async def act(conn: asyncpg.Connection) -> tuple[int, Any]:
        command = StartSession(
            verification_id=uuid.uuid4(),
            account_ref=body.account_ref,
            purpose=body.purpose,
            risk_level=body.risk_level,
            person_role=body.person_role,
            origin=SessionOrigin.AGENT,
            at=runtime.clock.now(),
            ttl=settings.session_ttl,
            cooldown=settings.lockout_cooldown,
            case_id=body.case_id,
            person_ref=body.person_ref,
            relationship=body.relationship,
            phone_unavailable=body.registered_phone_unavailable,
            ticket_id=body.ticket_id,
            language=body.language,
        )
        executed = await start(conn, runtime.store, command, context)
        return 201, session_view(executed.state)

    return await idempotent(
        runtime.pool, f"start-verification:{principal.id}", idempotency_key, fingerprint(body), act
    )


@router.get("/verification/sessions/{verification_id}", response_model=SessionView)
async def get_session(
    verification_id: SessionId, runtime: Runtime, principal: Annotated[Principal, Participant]
) -> SessionView:
    async with runtime.pool.acquire() as conn:
        session = await visible_session(conn, runtime, principal, verification_id)
        shown = session_view(session)
        await audit_read(conn, runtime, principal, session, "verification_session", SESSION_FIELDS)
    return shown


@router.get(
    "/verification/sessions",
    response_model=list[SessionSummary],
    summary="Sessions of an account or a case (read model)",
)
async def list_sessions(
    runtime: Runtime,
    principal: Annotated[Principal, StaffOrService],
    account_ref: Annotated[str | None, Query(max_length=100)] = None,
    case_id: UUID | None = None,
) -> list[SessionSummary]:
    if account_ref is None and case_id is None:
        raise RuleViolation("give account_ref or case_id")
    rows = await sessions_of(runtime.pool, account_ref, case_id)
    shown = [
        SessionSummary.model_validate({**row, "outcome": outcome_of(row["status"])}) for row in rows
    ]
    async with runtime.pool.acquire() as conn, conn.transaction():
        for row in rows:
            await audit_read(
                conn, runtime, principal, dict(row), "verification_session", SUMMARY_FIELDS
            )
    return shown
