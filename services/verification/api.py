"""HTTP API of verification: sessions for people, their checks, reviews, the code claim of the
notifications service, the identity provider's webhook, and the case plans."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.events.cases import CaseType
from contracts.events.verification_media import MediaKind, MediaOwner
from contracts.events.verification_sessions import (
    CodeChannel,
    CodeDeliveryFailure,
    SessionOrigin,
)
from contracts.vocabulary import (
    LanguagePreference,
    PersonRole,
    ProxyRelationship,
    RiskLevel,
    VerificationPurpose,
)
from runtime.audit import record_access
from runtime.auth import STAFF_ROLES, Forbidden, Principal, Unauthenticated, require_roles
from runtime.errors import NotFound, RuleViolation
from runtime.eventstore import CommandContext
from runtime.http import IdempotencyKey, fingerprint, idempotent
from runtime.service import Runtime
from services.verification import application as app_
from services.verification.adapters.identity_provider import ProviderUnavailable, WebhookRejected
from services.verification.domain.plans import ATTEMPT_LIMITS, Check
from services.verification.domain.sessions import (
    DecideReview,
    DeliveryStatus,
    RequestReview,
    Session,
    SessionStatus,
    StartSession,
    codes_left,
)
from services.verification.wiring import AdaptersDep

router = APIRouter(tags=["verification"])

SessionId = Annotated[UUID, Path(description="Verification session id")]
StaffOrService = require_roles(*STAFF_ROLES, "service")
Participant = require_roles("customer", *STAFF_ROLES, "service")
Reviewer = require_roles("reviewer")
# what a staff read shows about the person (names, for the audit of staff reads)
SESSION_FIELDS = ["account_ref", "person_ref", "checks", "reasons"]
SUMMARY_FIELDS = ["account_ref", "checks", "outcome_reasons"]
REVIEW_FIELDS = ["account_ref", "reason", "evidence_refs"]


# -- models -----------------------------------------------------------------------------------


class CheckPlan(BaseModel):
    case_id: UUID
    case_type: CaseType
    required_checks: list[Check]
    opened_at: AwareDatetime


class StartSessionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_ref: str = Field(min_length=1, max_length=100)
    purpose: VerificationPurpose
    risk_level: RiskLevel
    person_role: PersonRole
    person_ref: str | None = Field(
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


class CheckView(BaseModel):
    check: Check
    status: str
    failures: int
    attempt_limit: int | None
    required_approvals: int
    approvals: int


class CodeDeliveryView(BaseModel):
    """The latest one-time code of the session and how far it got (never the code)."""

    delivery_id: UUID
    channel: CodeChannel
    status: DeliveryStatus = Field(
        description="requested (no code yet) | claimed (handed to notifications) | sent | "
        "delivered | failed (it will not arrive: request a new code)"
    )
    failure: CodeDeliveryFailure | None = None
    reason: str | None = Field(default=None, description="Why it failed and what to do.")
    claim_before: AwareDatetime


class SessionView(BaseModel):
    verification_id: UUID
    case_id: UUID | None
    account_ref: str
    purpose: VerificationPurpose
    risk_level: RiskLevel
    person_role: PersonRole
    person_ref: str | None
    status: SessionStatus
    current_check: Check | None
    checks: list[CheckView]
    four_eyes: bool
    expires_at: AwareDatetime
    reasons: list[str]
    completed_at: AwareDatetime | None
    cooldown_until: AwareDatetime | None
    code_delivery: CodeDeliveryView | None = None
    codes_left: int | None = Field(
        default=None, description="New one-time codes the session may still request."
    )


class QuestionView(BaseModel):
    question_id: UUID
    kind: str
    prompt: str
    options: list[str] = Field(description="Empty: type the answer (a past password).")


class ChallengeView(BaseModel):
    questions: list[QuestionView]
    required_correct: int


class AnswerRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question_id: UUID
    answer: str = Field(min_length=1, max_length=200)


class AnswerView(BaseModel):
    correct: bool
    correct_answers: int
    required: int
    unanswered: int
    challenge_exhausted: bool = Field(
        description="Too few questions left to pass: ask for a new challenge (if not locked)."
    )
    session: SessionView


class PaymentClaim(BaseModel):
    model_config = ConfigDict(extra="forbid")
    card_last4: str = Field(pattern=r"^[0-9]{4}$")
    amount_cents: int = Field(ge=1, le=100_000_000)


class OwnershipEvidenceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    device: str | None = Field(default=None, max_length=100)
    login_cities: list[str] = Field(default_factory=list, max_length=5)
    payment: PaymentClaim | None = None
    vouching_contacts: list[str] = Field(default_factory=list, max_length=5)
    evidence_refs: list[UUID] = Field(default_factory=list, max_length=10)


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


class IdentityCheckStarted(BaseModel):
    provider: str
    provider_session_ref: str
    url: str


class MediaUpload(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: MediaKind
    content_type: Literal["image/jpeg", "image/png", "application/pdf"]
    content_base64: str = Field(min_length=4, description="The file, base64-encoded.")


class MediaView(BaseModel):
    media_id: UUID
    kind: MediaKind
    sha256: str
    size_bytes: int
    retain_until: AwareDatetime


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


class SessionSummary(BaseModel):
    verification_id: UUID
    case_id: UUID | None
    account_ref: str
    purpose: str
    person_role: str
    status: str
    checks: list[str]
    passed_checks: list[str]
    outcome_reasons: list[str]
    started_at: AwareDatetime
    expires_at: AwareDatetime
    completed_at: AwareDatetime | None
    code_delivery_status: str | None = None
    code_delivery_reason: str | None = None


class ClaimedCodeView(BaseModel):
    code: str = Field(description="Deliver it; never log or store it.")
    channel: CodeChannel
    destination: str
    language: str
    expires_at: AwareDatetime


# -- helpers ----------------------------------------------------------------------------------


def session_view(session: Session) -> SessionView:
    if session.status is SessionStatus.NONE:
        raise NotFound("no such verification session")
    current = session.current if session.status is SessionStatus.OPEN else None
    return SessionView(
        verification_id=session.verification_id,  # type: ignore[arg-type]
        case_id=session.case_id,
        account_ref=session.account_ref,  # type: ignore[arg-type]
        purpose=session.purpose,  # type: ignore[arg-type]
        risk_level=session.risk_level,  # type: ignore[arg-type]
        person_role=session.person_role,  # type: ignore[arg-type]
        person_ref=session.person_ref,
        status=session.status,
        current_check=current.check if current else None,
        checks=[
            CheckView(
                check=p.check,
                status=p.status.value,
                failures=p.failures,
                attempt_limit=ATTEMPT_LIMITS.get(p.check),
                required_approvals=p.required_approvals,
                approvals=len(p.approvals),
            )
            for p in session.progress
        ],
        four_eyes=session.four_eyes,
        expires_at=session.expires_at,  # type: ignore[arg-type]
        reasons=list(session.outcome_reasons),
        completed_at=session.completed_at,
        cooldown_until=session.cooldown_until,
        code_delivery=code_delivery_view(session),
        codes_left=codes_left(session) if Check.POSSESSION_CODE in session.checks else None,
    )


def code_delivery_view(session: Session) -> CodeDeliveryView | None:
    last = session.last_delivery if Check.POSSESSION_CODE in session.checks else None
    if last is None:
        return None
    return CodeDeliveryView(
        delivery_id=last.delivery_id,
        channel=last.channel,
        status=last.status,
        failure=last.failure,
        reason=last.reason,
        claim_before=last.claim_before,
    )


async def visible_session(
    conn: asyncpg.Connection, runtime: Runtime, principal: Principal, verification_id: UUID
) -> Session:
    """The session, for staff and for the person taking it; 404 for anyone else."""
    session = await app_.load_session(conn, runtime.store, verification_id)
    if session.status is SessionStatus.NONE:
        raise NotFound(f"verification session {verification_id} not found")
    if not principal.is_staff and session.person_ref != principal.id:
        raise NotFound(f"verification session {verification_id} not found")
    return session


def purpose_of(verification_id: UUID, case_id: UUID | None, ticket_id: UUID | None) -> str:
    """Why staff looks at a verification: its case, else its ticket, else itself."""
    if case_id is not None:
        return f"case:{case_id}"
    return f"ticket:{ticket_id}" if ticket_id is not None else f"verification:{verification_id}"


async def audit_read(
    conn: asyncpg.Connection,
    runtime: Runtime,
    principal: Principal,
    row: Any,
    resource: str,
    fields: list[str],
) -> None:
    """A staff read of a person's verification (docs/privacy.md): who, whose, what, why."""

    def get(name: str) -> Any:
        return row.get(name) if isinstance(row, dict) else getattr(row, name, None)

    verification_id: UUID = get("verification_id")
    await record_access(
        conn,
        runtime,
        principal,
        subject_id=f"account:{get('account_ref')}",
        resource=resource,
        resource_id=str(verification_id),
        fields=fields,
        purpose=purpose_of(verification_id, get("case_id"), get("ticket_id")),
    )


def context_of(principal: Principal) -> CommandContext:
    return CommandContext.new(principal.actor())


def language_of(session: Session) -> str:
    return session.language.tag if session.language else "zh-CN"


# -- case plans -------------------------------------------------------------------------------


@router.get(
    "/verification/case-plans/{case_id}",
    response_model=CheckPlan,
    summary="The checks a case needs before a decision",
)
async def case_plan(
    case_id: Annotated[UUID, Path()],
    runtime: Runtime,
    principal: Annotated[Principal, StaffOrService],
) -> CheckPlan:
    row = await runtime.pool.fetchrow(
        "SELECT case_id, case_type, required_checks, opened_at FROM case_check_plans "
        "WHERE case_id = $1",
        case_id,
    )
    if row is None:
        raise NotFound(f"no check plan for case {case_id}")
    return CheckPlan.model_validate(dict(row))


# -- sessions ---------------------------------------------------------------------------------


@router.post(
    "/verification/sessions",
    status_code=201,
    response_model=SessionView,
    summary="Open a verification session (an agent at the desk, or another service)",
)
async def start_session(
    body: StartSessionRequest,
    runtime: Runtime,
    adapters: AdaptersDep,
    principal: Annotated[Principal, require_roles("agent", "specialist", "supervisor", "service")],
    idempotency_key: IdempotencyKey = None,
) -> object:
    context = context_of(principal)
    settings = adapters.settings

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
        session, _ = await app_.start_session(conn, runtime.store, command, context)
        return 201, session_view(session)

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
    rows = await runtime.pool.fetch(
        """SELECT * FROM session_views WHERE ($1::text IS NULL OR account_ref = $1)
           AND ($2::uuid IS NULL OR case_id = $2) ORDER BY started_at DESC LIMIT 100""",
        account_ref,
        case_id,
    )
    shown = [SessionSummary.model_validate(dict(row)) for row in rows]
    async with runtime.pool.acquire() as conn, conn.transaction():
        for row in rows:
            await audit_read(
                conn, runtime, principal, dict(row), "verification_session", SUMMARY_FIELDS
            )
    return shown


# -- knowledge challenge ----------------------------------------------------------------------


@router.post(
    "/verification/sessions/{verification_id}/knowledge-challenge",
    status_code=201,
    response_model=ChallengeView,
    summary="Questions about the account (multiple choice with decoys, or a past password)",
)
async def knowledge_challenge(
    verification_id: SessionId,
    runtime: Runtime,
    adapters: AdaptersDep,
    principal: Annotated[Principal, Participant],
) -> ChallengeView:
    async with runtime.pool.acquire() as conn:
        session = await visible_session(conn, runtime, principal, verification_id)
    facts = await adapters.facts.facts(session.account_ref or "")
    if facts is None:
        raise RuleViolation("the platform knows no such account")
    async with runtime.pool.acquire() as conn, conn.transaction():
        questions = await app_.issue_knowledge_challenge(
            conn,
            runtime.store,
            adapters,
            verification_id,
            facts,
            runtime.clock.now(),
            context_of(principal),
        )
    return ChallengeView(
        questions=[
            QuestionView(question_id=q.question_id, kind=q.kind, prompt=q.prompt, options=q.options)
            for q in questions
        ],
        required_correct=adapters.settings.knowledge_required_correct,
    )


@router.post(
    "/verification/sessions/{verification_id}/knowledge-challenge/answers",
    response_model=AnswerView,
    summary="Answer one question (a wrong answer counts against the attempt limit)",
)
async def answer(
    verification_id: SessionId,
    body: AnswerRequest,
    runtime: Runtime,
    adapters: AdaptersDep,
    principal: Annotated[Principal, Participant],
) -> AnswerView:
    async with runtime.pool.acquire() as conn:
        await visible_session(conn, runtime, principal, verification_id)
        async with conn.transaction():
            verdict = await app_.answer_question(
                conn,
                runtime.store,
                adapters,
                verification_id,
                body.question_id,
                body.answer,
                runtime.clock.now(),
                context_of(principal),
            )
    return AnswerView(
        correct=verdict.correct,
        correct_answers=verdict.correct_answers,
        required=verdict.required,
        unanswered=verdict.unanswered,
        challenge_exhausted=verdict.challenge_exhausted,
        session=session_view(verdict.session),
    )


# -- ownership evidence -----------------------------------------------------------------------


@router.post(
    "/verification/sessions/{verification_id}/ownership-evidence",
    response_model=SessionView,
    summary="Alternative proofs when the registered phone is dead (scored; low → reviewer)",
)
async def ownership_evidence(
    verification_id: SessionId,
    body: OwnershipEvidenceRequest,
    runtime: Runtime,
    adapters: AdaptersDep,
    principal: Annotated[Principal, Participant],
) -> SessionView:
    async with runtime.pool.acquire() as conn:
        session = await visible_session(conn, runtime, principal, verification_id)
    facts = await adapters.facts.facts(session.account_ref or "")
    if facts is None:
        raise RuleViolation("the platform knows no such account")
    claim = app_.OwnershipClaim(
        device=body.device,
        login_cities=tuple(body.login_cities),
        card_last4=body.payment.card_last4 if body.payment else None,
        amount_cents=body.payment.amount_cents if body.payment else None,
        vouching_contacts=tuple(body.vouching_contacts),
        evidence_refs=tuple(body.evidence_refs),
    )
    async with runtime.pool.acquire() as conn, conn.transaction():
        if body.evidence_refs:
            await app_.media_owned_by(conn, body.evidence_refs, verification_id)
        session = await app_.assess_ownership(
            conn,
            runtime.store,
            adapters,
            verification_id,
            facts,
            claim,
            runtime.clock.now(),
            context_of(principal),
        )
    return session_view(session)


# -- possession code --------------------------------------------------------------------------


@router.post(
    "/verification/sessions/{verification_id}/possession-code",
    status_code=202,
    response_model=CodeRequested,
    summary="Send a one-time code to a verified channel (through the notifications service)",
)
async def request_code(
    verification_id: SessionId,
    body: CodeRequest,
    runtime: Runtime,
    adapters: AdaptersDep,
    principal: Annotated[Principal, Participant],
) -> CodeRequested:
    async with runtime.pool.acquire() as conn:
        session = await visible_session(conn, runtime, principal, verification_id)
    facts = await adapters.facts.facts(session.account_ref or "")
    if facts is None:
        raise RuleViolation("the platform knows no such account")
    async with runtime.pool.acquire() as conn, conn.transaction():
        session, delivery_id = await app_.request_code(
            conn,
            runtime.store,
            adapters,
            verification_id,
            facts,
            body.channel,
            language_of(session),
            runtime.clock.now(),
            context_of(principal),
        )
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
)
async def verify_code(
    verification_id: SessionId,
    body: CodeEntry,
    runtime: Runtime,
    adapters: AdaptersDep,
    principal: Annotated[Principal, Participant],
) -> CodeVerdict:
    async with runtime.pool.acquire() as conn:
        await visible_session(conn, runtime, principal, verification_id)
        async with conn.transaction():
            session = await app_.verify_code(
                conn,
                runtime.store,
                adapters,
                verification_id,
                body.code,
                runtime.clock.now(),
                context_of(principal),
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
    adapters: AdaptersDep,
    principal: Annotated[Principal, require_roles("service")],
) -> JSONResponse:
    if principal.id not in adapters.settings.code_claimants:
        raise Forbidden("this service may not claim one-time codes")
    async with runtime.pool.acquire() as conn, conn.transaction():
        claimed = await app_.claim_code(
            conn,
            runtime.store,
            adapters,
            delivery_id,
            principal.id,
            runtime.clock.now(),
            context_of(principal),
        )
    view = ClaimedCodeView(
        code=claimed.code,
        channel=claimed.channel,
        destination=claimed.destination,
        language=claimed.language,
        expires_at=claimed.expires_at,
    )
    return JSONResponse(view.model_dump(mode="json"), headers={"Cache-Control": "no-store"})


# -- document and face liveness ---------------------------------------------------------------


@router.post(
    "/verification/sessions/{verification_id}/identity-check",
    status_code=201,
    response_model=IdentityCheckStarted,
    summary="Open a document and face-liveness session at the identity provider",
)
async def identity_check(
    verification_id: SessionId,
    runtime: Runtime,
    adapters: AdaptersDep,
    principal: Annotated[Principal, Participant],
) -> IdentityCheckStarted:
    async with runtime.pool.acquire() as conn:
        session = await visible_session(conn, runtime, principal, verification_id)
    current = session.current
    if session.status is not SessionStatus.OPEN or current is None:
        raise RuleViolation(f"the verification session is {session.status.value}")
    if current.check is not Check.DOCUMENT_AND_LIVENESS:
        raise RuleViolation(
            f"complete the {app_.check_name(current.check)} before the "
            f"{app_.check_name(Check.DOCUMENT_AND_LIVENESS)}"
        )
    provider = adapters.identity_provider
    callback = (
        adapters.settings.public_base_url.rstrip("/") + "/verification/webhooks/identity-provider"
    )
    try:
        opened = await provider.create_session(
            reference=str(verification_id), callback_url=callback, language=language_of(session)
        )
    except ProviderUnavailable as error:
        raise RuleViolation(f"the identity provider is unavailable ({error}); try again") from None
    async with runtime.pool.acquire() as conn, conn.transaction():
        await app_.begin_identity_check(
            conn,
            runtime.store,
            verification_id,
            provider.name,
            opened.provider_session_ref,
            runtime.clock.now(),
            context_of(principal),
        )
    return IdentityCheckStarted(
        provider=provider.name, provider_session_ref=opened.provider_session_ref, url=opened.url
    )


@router.post(
    "/verification/webhooks/identity-provider",
    tags=["webhooks"],
    summary="The identity provider's signed result (HMAC-SHA256; replays rejected)",
)
async def provider_webhook(
    request: Request, runtime: Runtime, adapters: AdaptersDep
) -> dict[str, str]:
    body = await request.body()
    provider = adapters.identity_provider
    try:
        result = provider.verify_webhook(request.headers, body)
    except WebhookRejected as error:
        raise Unauthenticated(f"webhook rejected: {error}") from None
    async with runtime.pool.acquire() as conn, conn.transaction():
        outcome = await app_.record_provider_result(
            conn, runtime.store, provider.name, result, runtime.clock.now()
        )
    return {"status": outcome.split(":")[0], "detail": outcome}


# -- evidence and reviews ---------------------------------------------------------------------


@router.post(
    "/verification/sessions/{verification_id}/media",
    status_code=201,
    response_model=MediaView,
    summary="Upload evidence (held encrypted, purged after its retention period)",
)
async def upload_session_media(
    verification_id: SessionId,
    body: MediaUpload,
    runtime: Runtime,
    adapters: AdaptersDep,
    principal: Annotated[Principal, Participant],
) -> MediaView:
    return await store_upload(
        runtime,
        adapters,
        principal,
        body,
        owner=(MediaOwner.SESSION, verification_id),
        check_visible=lambda conn: visible_session(conn, runtime, principal, verification_id),
    )


async def store_upload(
    runtime: Runtime,
    adapters: Any,
    principal: Principal,
    body: MediaUpload,
    *,
    owner: tuple[MediaOwner, UUID],
    check_visible: Callable[[asyncpg.Connection], Awaitable[object]],
) -> MediaView:
    """Every evidence upload (a session's or an organization's): decode within the size limit,
    check the caller may see the owner, store encrypted with its event, in one transaction."""
    data = decode_upload(body.content_base64, adapters.settings.media_max_bytes)
    async with runtime.pool.acquire() as conn:
        await check_visible(conn)
        async with conn.transaction():
            stored = await app_.store_media(
                conn,
                runtime.store,
                adapters,
                owner_type=owner[0],
                owner_id=owner[1],
                kind=body.kind,
                content_type=body.content_type,
                data=data,
                now=runtime.clock.now(),
                context=context_of(principal),
            )
    return MediaView.model_validate(stored.model_dump())


def decode_upload(content: str, limit: int) -> bytes:
    try:
        data = base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        raise RuleViolation("content_base64 is not valid base64") from None
    if len(data) > limit:
        raise RuleViolation(f"the file is larger than {limit} bytes")
    return data


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
    async with runtime.pool.acquire() as conn:
        await visible_session(conn, runtime, principal, verification_id)
        async with conn.transaction():
            if body.evidence_refs:
                await app_.media_owned_by(conn, body.evidence_refs, verification_id)
            command = RequestReview(
                body.check, body.reason, tuple(body.evidence_refs), runtime.clock.now()
            )
            session, _ = await app_.change_session(
                conn, runtime.store, verification_id, command, context_of(principal)
            )
    return session_view(session)


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
    command = DecideReview(
        body.check, principal.id, body.approved, body.reason, runtime.clock.now()
    )
    async with runtime.pool.acquire() as conn, conn.transaction():
        session, _ = await app_.change_session(
            conn, runtime.store, verification_id, command, context_of(principal)
        )
    return session_view(session)


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
    rows = await runtime.pool.fetch(
        """SELECT verification_id, check_name AS check, account_ref, purpose, reason,
                  required_approvals, approvals, evidence_refs, status, requested_at, decided_at
           FROM review_queue WHERE status = $1 ORDER BY requested_at LIMIT 200""",
        status,
    )
    shown = [ReviewItem.model_validate(dict(row)) for row in rows]
    async with runtime.pool.acquire() as conn, conn.transaction():
        for row in rows:
            await audit_read(
                conn, runtime, principal, dict(row), "verification_review", REVIEW_FIELDS
            )
    return shown
