"""What the API shows of a session (shared by the session routers) and of held media."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.events.verification import OutcomeReason, VerificationOutcome
from contracts.events.verification_media import MediaKind
from contracts.events.verification_sessions import CodeChannel, CodeDeliveryFailure
from contracts.vocabulary import PersonRole, RiskLevel, VerificationPurpose
from runtime.errors import NotFound
from services.verification.domain.plans import ATTEMPT_LIMITS, Check
from services.verification.domain.sessions import (
    DeliveryStatus,
    Session,
    SessionStatus,
    codes_left,
)
from services.verification.domain.texts import explain


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
    status: SessionStatus = Field(
        description="open while checks remain; once ended, the same word as `outcome`."
    )
    outcome: VerificationOutcome | None = Field(
        description="null while open; once ended verified | failed | expired | locked — the "
        "words of verification.verification_completed and of the case's verifications."
    )
    current_check: Check | None
    checks: list[CheckView]
    four_eyes: bool
    expires_at: AwareDatetime
    reasons: list[str] = Field(description="Why the session ended, in English (staff).")
    reason_codes: list[OutcomeReason] = Field(
        default_factory=list, description="The same reasons as codes and parameters."
    )
    explanations: list[str] = Field(
        default_factory=list,
        description="The reasons in the session's language (zh-CN, en, fr, de or ja), for the "
        "customer; sessions completed before reason codes existed show the English reasons.",
    )
    completed_at: AwareDatetime | None
    cooldown_until: AwareDatetime | None
    code_delivery: CodeDeliveryView | None = None
    codes_left: int | None = Field(
        default=None, description="New one-time codes the session may still request."
    )


MEDIA_BASE64_MAX_CHARS = 8_000_000  # the HTTP layer's upload body limit; the size setting decides


class MediaUpload(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: MediaKind
    content_type: Literal["image/jpeg", "image/png", "application/pdf"]
    content_base64: str = Field(
        min_length=4,
        max_length=MEDIA_BASE64_MAX_CHARS,
        description="The file, base64-encoded (the decoded file is also held to the "
        "service's media size limit).",
    )


class MediaView(BaseModel):
    media_id: UUID
    kind: MediaKind
    sha256: str
    size_bytes: int
    retain_until: AwareDatetime


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
        outcome=session.outcome,
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
        reason_codes=list(session.outcome_codes),
        explanations=explanations(session),
        completed_at=session.completed_at,
        cooldown_until=session.cooldown_until,
        code_delivery=code_delivery_view(session),
        codes_left=codes_left(session) if Check.POSSESSION_CODE in session.checks else None,
    )


def explanations(session: Session) -> list[str]:
    if not session.outcome_codes:
        return list(session.outcome_reasons)  # completed before reason codes existed
    tag = session.language.tag if session.language else None
    return [explain(reason, tag) for reason in session.outcome_codes]


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
