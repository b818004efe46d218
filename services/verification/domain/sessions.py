"""The verification session aggregate: pure decisions and folds, no I/O, no clock.

(Over 600 lines: one aggregate's commands, decide and evolve read best together; the rules of
its parts that stand alone live beside it — plans.py, knowledge.py, ownership.py.)

The application layer does the I/O (draws questions from the account facts, compares a code
with its keyed hash, verifies a provider's webhook) and hands ``decide`` the verdict; the
session counts failures, enforces the order of the checks, the attempt limits, the lockout,
the expiry and the four-eyes rule, and says why in words.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from contracts.base import EventPayload
from contracts.events.verification import (
    OutcomeReason,
    ReasonCode,
    VerificationCompleted,
    VerificationOutcome,
)
from contracts.events.verification_sessions import (
    CheckAttemptFailed,
    CheckFailed,
    CheckPassed,
    CheckStarted,
    CodeChannel,
    CodeDeliveryFailed,
    CodeDeliveryFailure,
    CodeDeliveryReported,
    CodeDeliveryRequested,
    CodeDeliveryStatus,
    CodeIssued,
    CooldownEnded,
    LockedOut,
    OwnershipAssessed,
    OwnershipItem,
    ReviewDecided,
    ReviewRequested,
    SessionOrigin,
    SessionStarted,
)
from contracts.vocabulary import (
    LanguagePreference,
    PersonRole,
    ProxyRelationship,
    RiskLevel,
    VerificationPurpose,
)
from runtime.aggregate import AggregateType
from runtime.errors import NotFound, RuleViolation
from services.verification.domain.knowledge import Answer, NewChallenge
from services.verification.domain.ownership import OwnershipClaim, OwnershipFacts, score_ownership
from services.verification.domain.plans import (
    ATTEMPT_LIMITS,
    CHECK_NAMES,
    HOLDER_OWNERSHIP_CHECKS,
    MAX_CODE_DELIVERIES,
    MAX_UNDELIVERED_CODES,
    REVIEWED_CHECKS,
    Check,
    PlanRefused,
    plan_checks,
)
from services.verification.domain.refusals import (
    Refusal,
    parameters_of,
    refusal_message,
    refused,
)


class ProxyCannotVerifyForHolder(RuleViolation):
    """A proxy (a spouse, a guardian…) tried one of the holder's own checks: a proxy proves
    only their own identity and relationship; the holder verifies themself, remotely if need
    be. Stable problem+json ``code`` for clients."""

    title = "A proxy cannot verify for the account holder"
    code = "proxy_cannot_verify_for_holder"

    def __init__(self, check: Check, tag: str | None = None) -> None:
        rule, values = Refusal.PROXY_CANNOT_VERIFY_FOR_HOLDER, parameters_of(check=check)
        super().__init__(
            refusal_message(rule, "en", values),
            fields={"message": refusal_message(rule, tag, values), **values},
            rule=rule.value,
        )
        self.check = check


class SessionStatus(StrEnum):
    NONE = "none"
    OPEN = "open"
    VERIFIED = "verified"
    FAILED = "failed"
    EXPIRED = "expired"
    LOCKED = "locked"


def outcome_of(status: SessionStatus | str) -> VerificationOutcome | None:
    """A session's outcome from its status: an ended session's status *is* its outcome
    (verified, failed, expired, locked — the words of ``verification_completed`` and of the
    cases service's view of its verifications); ``open`` (and ``none``) have none yet."""
    return _OUTCOMES.get(str(status))


_OUTCOMES = {outcome.value: outcome for outcome in VerificationOutcome}


class CheckStatus(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    AWAITING_REVIEW = "awaiting_review"
    PASSED = "passed"
    FAILED = "failed"


class DeliveryStatus(StrEnum):
    """How far one code delivery got: requested (no code yet), claimed (the code was created
    and handed to the notifications service), sent, delivered, or failed."""

    REQUESTED = "requested"
    CLAIMED = "claimed"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"


_DELIVERY_ORDER = {status: rank for rank, status in enumerate(DeliveryStatus)}


@dataclass(frozen=True)
class CodeDelivery:
    """One requested code, from its request to its delivery or failure."""

    delivery_id: UUID
    channel: CodeChannel
    claim_before: datetime
    claimed: bool = False
    status: DeliveryStatus = DeliveryStatus.REQUESTED
    failure: CodeDeliveryFailure | None = None
    reason: str | None = None


@dataclass(frozen=True)
class CheckProgress:
    check: Check
    status: CheckStatus = CheckStatus.PENDING
    failures: int = 0
    reasons: tuple[str, ...] = ()
    # reviews
    required_approvals: int = 1
    approvals: tuple[str, ...] = ()
    evidence_refs: tuple[UUID, ...] = ()
    # possession code
    deliveries: int = 0  # codes requested, delivered or not
    undelivered: int = 0  # of which the notifications service reported failed
    code_deliveries: tuple[CodeDelivery, ...] = ()
    delivery_id: UUID | None = None
    claim_before: datetime | None = None
    code_expires_at: datetime | None = None
    # identity provider
    provider_session_ref: str | None = None


@dataclass(frozen=True)
class Session:
    status: SessionStatus = SessionStatus.NONE
    verification_id: UUID | None = None
    case_id: UUID | None = None
    account_ref: str | None = None
    purpose: VerificationPurpose | None = None
    risk_level: RiskLevel | None = None
    person_role: PersonRole | None = None
    person_ref: str | None = None
    relationship: ProxyRelationship | None = None
    four_eyes: bool = False
    ticket_id: UUID | None = None
    language: LanguagePreference | None = None
    origin: SessionOrigin | None = None
    started_at: datetime | None = None
    expires_at: datetime | None = None
    progress: tuple[CheckProgress, ...] = ()
    outcome_reasons: tuple[str, ...] = ()
    outcome_codes: tuple[OutcomeReason, ...] = ()
    completed_at: datetime | None = None
    cooldown: timedelta = timedelta(hours=24)  # how long a lockout pauses the account
    cooldown_until: datetime | None = None
    cooldown_ended: bool = False

    @property
    def checks(self) -> tuple[Check, ...]:
        return tuple(p.check for p in self.progress)

    @property
    def language_tag(self) -> str | None:
        """The person's language (the session's), for what they are told."""
        return self.language.tag if self.language else None

    @property
    def outcome(self) -> VerificationOutcome | None:
        """How the session ended, in ``verification_completed``'s words (None while open)."""
        return outcome_of(self.status)

    def progress_of(self, check: Check) -> CheckProgress:
        for item in self.progress:
            if item.check is check:
                return item
        if self.person_role is PersonRole.PROXY and check in HOLDER_OWNERSHIP_CHECKS:
            raise ProxyCannotVerifyForHolder(check, self.language_tag)
        raise refused(Refusal.CHECK_NOT_REQUIRED, self.language_tag, check=check)

    @property
    def last_delivery(self) -> CodeDelivery | None:
        deliveries = self.progress_of(Check.POSSESSION_CODE).code_deliveries
        return deliveries[-1] if deliveries else None

    def delivery(self, delivery_id: UUID) -> CodeDelivery | None:
        """A code delivery of this session (None: not one of its deliveries)."""
        if Check.POSSESSION_CODE not in self.checks:
            return None
        progress = self.progress_of(Check.POSSESSION_CODE)
        return next((d for d in progress.code_deliveries if d.delivery_id == delivery_id), None)

    @property
    def current(self) -> CheckProgress | None:
        """The check to take now: the first one not passed (step-up order)."""
        return next((p for p in self.progress if p.status is not CheckStatus.PASSED), None)


# -- commands ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StartSession:
    verification_id: UUID
    account_ref: str
    purpose: VerificationPurpose
    risk_level: RiskLevel
    person_role: PersonRole
    origin: SessionOrigin
    at: datetime
    ttl: timedelta
    cooldown: timedelta
    case_id: UUID | None = None
    person_ref: str | None = None
    relationship: ProxyRelationship | None = None
    phone_unavailable: bool = False
    ticket_id: UUID | None = None
    language: LanguagePreference | None = None
    # the account's verification is cooling down after a lockout until then (looked up)
    account_cooldown_until: datetime | None = None


@dataclass(frozen=True)
class BeginCheck:
    """Questions issued, a provider session opened..."""

    check: Check
    detail: str
    at: datetime
    provider: str | None = None
    provider_session_ref: str | None = None


@dataclass(frozen=True)
class RequestCode:
    delivery_id: UUID
    channel: CodeChannel
    language: str
    claim_path: str
    claim_before: datetime
    at: datetime


@dataclass(frozen=True)
class IssueCode:
    """The notifications service claims the code of a delivery request."""

    delivery_id: UUID
    claimed_by: str
    valid_for: timedelta
    at: datetime


@dataclass(frozen=True)
class RecordCodeDeliveryFailure:
    """The notifications service gave up on the message carrying a delivery's code."""

    delivery_id: UUID
    notification_id: UUID
    at: datetime


@dataclass(frozen=True)
class RecordCodeDeliveryProgress:
    """The message carrying a delivery's code was sent, or delivered."""

    delivery_id: UUID
    notification_id: UUID
    status: CodeDeliveryStatus
    at: datetime


@dataclass(frozen=True)
class CheckCode:
    delivery_id: UUID
    matches: bool
    at: datetime


@dataclass(frozen=True)
class RecordAttempt:
    """The verdict of one attempt at ``check`` (an answer, a provider result)."""

    check: Check
    passed: bool
    reason: str
    at: datetime
    provider_session_ref: str | None = None


@dataclass(frozen=True)
class AssessOwnership:
    items: tuple[OwnershipItem, ...]
    threshold: int
    evidence_refs: tuple[UUID, ...]
    at: datetime


@dataclass(frozen=True)
class RequestReview:
    check: Check
    reason: str
    evidence_refs: tuple[UUID, ...]
    at: datetime


@dataclass(frozen=True)
class DecideReview:
    check: Check
    reviewer_id: str
    approved: bool
    reason: str
    at: datetime


@dataclass(frozen=True)
class Expire:
    at: datetime


@dataclass(frozen=True)
class EndCooldown:
    at: datetime


@dataclass(frozen=True)
class BeginKnowledgeChallenge:
    """Draw a new challenge (its questions built by the application from the account facts)."""

    challenge: NewChallenge
    at: datetime


@dataclass(frozen=True)
class AnswerQuestion:
    answer: Answer
    at: datetime


@dataclass(frozen=True)
class ClaimOwnership:
    """The person's alternative proofs, scored against the facts by the points table."""

    claim: OwnershipClaim
    facts: OwnershipFacts
    threshold: int
    at: datetime


Command = (
    StartSession
    | BeginCheck
    | RequestCode
    | IssueCode
    | RecordCodeDeliveryFailure
    | RecordCodeDeliveryProgress
    | CheckCode
    | RecordAttempt
    | AssessOwnership
    | RequestReview
    | DecideReview
    | Expire
    | EndCooldown
    | BeginKnowledgeChallenge
    | AnswerQuestion
    | ClaimOwnership
)


# -- decide -----------------------------------------------------------------------------------


def decide(session: Session, command: Command) -> list[EventPayload]:
    match command:
        case StartSession():
            return _start(session, command)
        case Expire():
            return _expire(session, command)
        case EndCooldown():
            return _end_cooldown(session, command)
        case RecordCodeDeliveryFailure():
            return _delivery_failed(session, command)
        case RecordCodeDeliveryProgress():
            return _delivery_progressed(session, command)
        case BeginKnowledgeChallenge():
            _refuse(session, command.challenge.refusal())
            detail = command.challenge.detail()
            return decide(session, BeginCheck(Check.KNOWLEDGE_CHALLENGE, detail, command.at))
        case AnswerQuestion():
            return _answer(session, command)
        case ClaimOwnership():
            claim, facts = command.claim, command.facts
            items = score_ownership(facts.account, claim, facts.earlier_verified_session)
            assess = AssessOwnership(
                tuple(items), command.threshold, claim.evidence_refs, command.at
            )
            return decide(session, assess)
    _require_open(session, command.at)
    match command:
        case BeginCheck():
            progress = _current(session, command.check)
            if command.check is Check.POSSESSION_CODE:
                raise refused(Refusal.CODE_REQUESTED_NOT_BEGUN, session.language_tag)
            if command.check in REVIEWED_CHECKS:
                raise refused(
                    Refusal.CHECK_DECIDED_BY_REVIEWER, session.language_tag, check=command.check
                )
            if progress.status is CheckStatus.AWAITING_REVIEW:
                raise refused(
                    Refusal.CHECK_WITH_REVIEWER, session.language_tag, check=command.check
                )
            return [
                CheckStarted(
                    verification_id=_id(session),
                    check=command.check,
                    detail=command.detail,
                    provider=command.provider,
                    provider_session_ref=command.provider_session_ref,
                    started_at=command.at,
                )
            ]
        case RequestCode():
            return _request_code(session, command)
        case IssueCode():
            return _issue_code(session, command)
        case CheckCode():
            return _check_code(session, command)
        case RecordAttempt():
            progress = _current(session, command.check)
            if progress.status is not CheckStatus.IN_PROGRESS:
                raise refused(Refusal.CHECK_NOT_STARTED, session.language_tag, check=command.check)
            if command.check is Check.DOCUMENT_AND_LIVENESS and (
                command.provider_session_ref != progress.provider_session_ref
            ):
                raise refused(Refusal.PROVIDER_SESSION_NOT_CURRENT, session.language_tag)
            if command.passed:
                return _passed(session, command.check, [command.reason], command.at)
            return _attempt_failed(session, progress, command.reason, command.at)
        case AssessOwnership():
            return _assess_ownership(session, command)
        case RequestReview():
            progress = _current(session, command.check)
            if progress.status is CheckStatus.AWAITING_REVIEW:
                raise refused(
                    Refusal.CHECK_ALREADY_WITH_REVIEWER, session.language_tag, check=command.check
                )
            return [_review_requested(session, command.check, command.reason, command)]
        case DecideReview():
            return _decide_review(session, command)
    raise TypeError(f"unknown command {command!r}")


def _answer(session: Session, command: AnswerQuestion) -> list[EventPayload]:
    answer = command.answer
    _refuse(session, answer.refusal())
    k = Check.KNOWLEDGE_CHALLENGE
    if answer.passes:
        return decide(session, RecordAttempt(k, True, answer.pass_reason(), command.at))
    if not answer.correct:
        return decide(session, RecordAttempt(k, False, answer.failure_reason(), command.at))
    if session.status is not SessionStatus.OPEN:
        raise refused(Refusal.SESSION_ENDED, session.language_tag, outcome=session.status)
    return []  # a right answer, not yet enough


def _refuse(session: Session, rule: Refusal | None) -> None:
    if rule is not None:
        raise refused(rule, session.language_tag)


def _id(session: Session) -> UUID:
    assert session.verification_id is not None
    return session.verification_id


def _require_open(session: Session, at: datetime) -> None:
    if session.status is SessionStatus.NONE:
        raise NotFound("no such verification session")
    if session.status is not SessionStatus.OPEN:
        raise refused(Refusal.SESSION_ENDED, session.language_tag, outcome=session.status)
    assert session.expires_at is not None
    if at >= session.expires_at:
        raise refused(Refusal.SESSION_EXPIRED, session.language_tag, expired_at=session.expires_at)


def _current(session: Session, check: Check) -> CheckProgress:
    progress = session.progress_of(check)
    if progress.status is CheckStatus.PASSED:
        raise refused(Refusal.CHECK_ALREADY_PASSED, session.language_tag, check=check)
    current = session.current
    assert current is not None
    if current.check is not check:
        raise refused(
            Refusal.CHECKS_IN_ORDER, session.language_tag, current_check=current.check, check=check
        )
    if session.person_role is PersonRole.PROXY and check in HOLDER_OWNERSHIP_CHECKS:
        raise ProxyCannotVerifyForHolder(check, session.language_tag)
    return progress


def _start(session: Session, command: StartSession) -> list[EventPayload]:
    if session.status is not SessionStatus.NONE:
        if command.origin is SessionOrigin.CASE_REQUEST:
            return []  # the same request again: the session exists
        raise RuleViolation("this verification session already exists")
    refused: str | None = None
    checks: tuple[Check, ...] = ()
    four_eyes = command.risk_level is RiskLevel.HIGH
    try:
        plan = plan_checks(
            command.purpose,
            command.risk_level,
            command.person_role,
            phone_unavailable=command.phone_unavailable,
            relationship=command.relationship,
        )
        checks, four_eyes = plan.checks, plan.four_eyes
    except PlanRefused as error:
        refused = str(error)
    cooling = command.account_cooldown_until is not None and command.account_cooldown_until > (
        command.at
    )
    if command.origin is SessionOrigin.AGENT:
        if refused:
            raise RuleViolation(refused)
        if cooling:
            raise RuleViolation(_cooldown_reason(command.account_cooldown_until))
    started = SessionStarted(
        verification_id=command.verification_id,
        case_id=command.case_id,
        account_ref=command.account_ref,
        purpose=command.purpose,
        risk_level=command.risk_level,
        person_role=command.person_role,
        person_ref=command.person_ref,
        relationship=command.relationship,
        checks=list(checks),
        registered_phone_unavailable=command.phone_unavailable,
        four_eyes=four_eyes,
        ticket_id=command.ticket_id,
        language=command.language,
        origin=command.origin,
        expires_at=command.at + command.ttl,
        lockout_cooldown_minutes=int(command.cooldown.total_seconds() // 60),
        started_at=command.at,
    )
    events: list[EventPayload] = [started]
    state = evolve(session, started)
    if refused:
        code = OutcomeReason(code=ReasonCode.GUARDIAN_FOR_HOLDER)
        events.append(_completed(state, VerificationOutcome.FAILED, [refused], command.at, [code]))
    elif cooling:
        assert command.account_cooldown_until is not None
        reason = _cooldown_reason(command.account_cooldown_until)
        code = _reason(ReasonCode.COOLING_DOWN, until=command.account_cooldown_until)
        events.append(_completed(state, VerificationOutcome.LOCKED, [reason], command.at, [code]))
    return events


def _cooldown_reason(until: datetime | None) -> str:
    assert until is not None
    return (
        "verification of this account is paused after too many failed attempts; "
        f"it can be tried again after {until:%Y-%m-%d %H:%M} UTC"
    )


def _reason(code: ReasonCode, **parameters: object) -> OutcomeReason:
    """A reason code; checks by their code, times in ISO 8601 (texts.explain renders them)."""
    shown = {
        name: value.isoformat() if isinstance(value, datetime) else str(value)
        for name, value in parameters.items()
    }
    return OutcomeReason(code=code, parameters=shown)


def _completed(
    session: Session,
    outcome: VerificationOutcome,
    reasons: list[str],
    at: datetime,
    codes: list[OutcomeReason],
) -> VerificationCompleted:
    assert session.account_ref is not None
    assert session.purpose is not None
    assert session.person_role is not None
    return VerificationCompleted(
        verification_id=_id(session),
        case_id=session.case_id,
        account_ref=session.account_ref,
        purpose=session.purpose,
        person_role=session.person_role,
        outcome=outcome,
        reasons=reasons,
        reason_codes=codes,
        completed_at=at,
    )


def _passed(session: Session, check: Check, reasons: list[str], at: datetime) -> list[EventPayload]:
    assert session.person_role is not None
    passed = CheckPassed(
        verification_id=_id(session),
        check=check,
        person_role=session.person_role,
        reasons=reasons,
        passed_at=at,
    )
    events: list[EventPayload] = [passed]
    state = evolve(session, passed)
    if state.current is None:  # every required check passed
        summary = [
            f"{CHECK_NAMES[p.check]} passed: {'; '.join(p.reasons)}"
            if p.reasons
            else f"{CHECK_NAMES[p.check]} passed"
            for p in state.progress
        ]
        codes = [_reason(ReasonCode.CHECK_PASSED, check=p.check.value) for p in state.progress]
        if session.person_role is PersonRole.PROXY:
            summary.append(
                "this proves the proxy's own identity and relationship to the holder only; "
                "it does not verify the account holder"
            )
            codes.append(_reason(ReasonCode.PROXY_ONLY))
        events.append(_completed(state, VerificationOutcome.VERIFIED, summary, at, codes))
    return events


def _attempt_failed(
    session: Session, progress: CheckProgress, reason: str, at: datetime
) -> list[EventPayload]:
    limit = ATTEMPT_LIMITS.get(progress.check, 1)
    failures = progress.failures + 1
    events: list[EventPayload] = [
        CheckAttemptFailed(
            verification_id=_id(session),
            check=progress.check,
            failures=failures,
            limit=limit,
            reason=reason,
            failed_at=at,
        )
    ]
    if failures >= limit:
        events += _lock_out(session, progress.check, failures, at)
    return events


def _lock_out(session: Session, check: Check, failures: int, at: datetime) -> list[EventPayload]:
    assert session.account_ref is not None
    cooldown_until = at + session.cooldown
    reason = (
        f"{failures} failed attempts at the {CHECK_NAMES[check]}: the session is locked and "
        f"this account cannot be verified again before {cooldown_until:%Y-%m-%d %H:%M} UTC"
    )
    locked = LockedOut(
        verification_id=_id(session),
        account_ref=session.account_ref,
        check=check,
        reason=reason,
        cooldown_until=cooldown_until,
        locked_at=at,
    )
    code = _reason(
        ReasonCode.LOCKED_OUT, check=check.value, failures=failures, until=cooldown_until
    )
    return [locked, _completed(session, VerificationOutcome.LOCKED, [reason], at, [code])]


def codes_left(session: Session) -> int:
    """New one-time codes the session may still request."""
    return _codes_left(session.progress_of(Check.POSSESSION_CODE))


def _codes_left(progress: CheckProgress) -> int:
    """New codes the session may still request: a code the notifications service could not
    deliver does not count (the person never had it), up to MAX_UNDELIVERED_CODES of them."""
    if progress.undelivered >= MAX_UNDELIVERED_CODES:
        return 0
    return max(0, MAX_CODE_DELIVERIES - (progress.deliveries - progress.undelivered))


def _request_code(session: Session, command: RequestCode) -> list[EventPayload]:
    progress = _current(session, Check.POSSESSION_CODE)
    if progress.undelivered >= MAX_UNDELIVERED_CODES:
        raise refused(
            Refusal.CODES_UNDELIVERED_LIMIT, session.language_tag, count=progress.undelivered
        )
    if _codes_left(progress) == 0:
        raise refused(Refusal.CODES_SENT_LIMIT, session.language_tag, limit=MAX_CODE_DELIVERIES)
    assert session.account_ref is not None
    events: list[EventPayload] = []
    if progress.status is CheckStatus.PENDING:
        events.append(
            CheckStarted(
                verification_id=_id(session),
                check=Check.POSSESSION_CODE,
                detail=f"one-time code requested by {command.channel.value}",
                started_at=command.at,
            )
        )
    events.append(
        CodeDeliveryRequested(
            verification_id=_id(session),
            delivery_id=command.delivery_id,
            account_ref=session.account_ref,
            channel=command.channel,
            language=command.language,
            claim_path=command.claim_path,
            claim_before=command.claim_before,
            requested_at=command.at,
        )
    )
    return events


def _issue_code(session: Session, command: IssueCode) -> list[EventPayload]:
    progress = session.progress_of(Check.POSSESSION_CODE)
    if progress.delivery_id != command.delivery_id:
        raise NotFound("no such code delivery is waiting")
    if progress.code_expires_at is not None:
        raise RuleViolation("this code was already claimed")
    delivery = session.delivery(command.delivery_id)
    if delivery is not None and delivery.status is DeliveryStatus.FAILED:
        raise RuleViolation("this code delivery was reported failed; request a new code")
    assert progress.claim_before is not None
    if command.at >= progress.claim_before:
        raise RuleViolation("this code delivery was not claimed in time; request a new code")
    return [
        CodeIssued(
            verification_id=_id(session),
            delivery_id=command.delivery_id,
            claimed_by=command.claimed_by,
            expires_at=command.at + command.valid_for,
            issued_at=command.at,
        )
    ]


def _check_code(session: Session, command: CheckCode) -> list[EventPayload]:
    progress = _current(session, Check.POSSESSION_CODE)
    last = session.last_delivery
    if last is not None and last.status is DeliveryStatus.FAILED and not last.claimed:
        raise refused(Refusal.CODE_NOT_DELIVERED, session.language_tag)
    if progress.delivery_id is None or progress.code_expires_at is None:
        raise refused(Refusal.NO_CODE_SENT, session.language_tag)
    if progress.delivery_id != command.delivery_id:
        raise refused(Refusal.CODE_NOT_LATEST, session.language_tag)
    if command.at >= progress.code_expires_at:
        raise refused(
            Refusal.CODE_EXPIRED, session.language_tag, code_expires_at=progress.code_expires_at
        )
    if command.matches:
        return _passed(
            session,
            Check.POSSESSION_CODE,
            ["the code sent to a verified channel was entered"],
            command.at,
        )
    return _attempt_failed(session, progress, "the code entered was wrong", command.at)


def _waiting_delivery(session: Session, delivery_id: UUID) -> CodeDelivery | None:
    """The delivery, if someone may still be waiting for its code: an open session whose code
    check is not passed yet. Reports about anything else change nothing (a reaction must not
    fail on a late or foreign report)."""
    if session.status is not SessionStatus.OPEN:
        return None
    delivery = session.delivery(delivery_id)
    if delivery is None:
        return None
    if session.progress_of(Check.POSSESSION_CODE).status is CheckStatus.PASSED:
        return None
    return delivery


def _delivery_failed(session: Session, command: RecordCodeDeliveryFailure) -> list[EventPayload]:
    delivery = _waiting_delivery(session, command.delivery_id)
    if delivery is None or delivery.status is DeliveryStatus.FAILED:
        return []
    progress = session.progress_of(Check.POSSESSION_CODE)
    left = _codes_left(replace(progress, undelivered=progress.undelivered + 1))
    channel = delivery.channel.value
    if delivery.claimed:
        failure = CodeDeliveryFailure.FAILED_AFTER_CLAIM
        what = "the message with it failed after the code was created"
    elif command.at >= delivery.claim_before:
        failure = CodeDeliveryFailure.CLAIM_WINDOW_PASSED
        what = (
            f"it could not be sent before {delivery.claim_before:%H:%M:%S} UTC; no code was created"
        )
    else:
        failure = CodeDeliveryFailure.NOT_CLAIMED
        what = "the message failed before the code was created"
    if session.last_delivery is not delivery:
        then = "a newer code was requested since"
    elif left:
        then = f"request a new code: {left} may still be requested"
    else:
        then = (
            "no more codes can be sent for this session: an agent can verify the account "
            "without a code (registered phone unavailable)"
        )
    return [
        CodeDeliveryFailed(
            verification_id=_id(session),
            delivery_id=command.delivery_id,
            notification_id=command.notification_id,
            channel=delivery.channel,
            failure=failure,
            reason=f"the one-time code sent by {channel} could not be delivered ({what}); {then}",
            codes_left=left,
            failed_at=command.at,
        )
    ]


def _delivery_progressed(
    session: Session, command: RecordCodeDeliveryProgress
) -> list[EventPayload]:
    delivery = _waiting_delivery(session, command.delivery_id)
    status = DeliveryStatus(command.status.value)
    if delivery is None or _DELIVERY_ORDER[status] <= _DELIVERY_ORDER[delivery.status]:
        return []  # unknown, already that far, or failed (final)
    return [
        CodeDeliveryReported(
            verification_id=_id(session),
            delivery_id=command.delivery_id,
            notification_id=command.notification_id,
            channel=delivery.channel,
            status=command.status,
            reported_at=command.at,
        )
    ]


def _assess_ownership(session: Session, command: AssessOwnership) -> list[EventPayload]:
    progress = _current(session, Check.OWNERSHIP_EVIDENCE)
    if progress.status is CheckStatus.AWAITING_REVIEW:
        raise refused(
            Refusal.CHECK_ALREADY_WITH_REVIEWER,
            session.language_tag,
            check=Check.OWNERSHIP_EVIDENCE,
        )
    score = sum(item.points for item in command.items)
    assessed = OwnershipAssessed(
        verification_id=_id(session),
        score=score,
        threshold=command.threshold,
        items=list(command.items),
        assessed_at=command.at,
    )
    explained = "; ".join(f"{item.explanation} (+{item.points})" for item in command.items)
    if score >= command.threshold:
        reason = f"ownership score {score} of {command.threshold} needed: {explained}"
        return [assessed, *_passed(session, Check.OWNERSHIP_EVIDENCE, [reason], command.at)]
    reason = (
        f"ownership score {score} is below the {command.threshold} needed "
        f"({explained or 'no proof matched'}): a reviewer decides"
    )
    review = RequestReview(Check.OWNERSHIP_EVIDENCE, reason, command.evidence_refs, command.at)
    return [assessed, _review_requested(session, Check.OWNERSHIP_EVIDENCE, reason, review)]


def _review_requested(
    session: Session, check: Check, reason: str, command: RequestReview
) -> ReviewRequested:
    return ReviewRequested(
        verification_id=_id(session),
        check=check,
        reason=reason,
        required_approvals=2 if session.four_eyes else 1,
        evidence_refs=list(command.evidence_refs),
        requested_at=command.at,
        account_ref=session.account_ref,  # whose key seals the reason (erased with them)
    )


def _decide_review(session: Session, command: DecideReview) -> list[EventPayload]:
    progress = session.progress_of(command.check)
    if progress.status is not CheckStatus.AWAITING_REVIEW:
        raise RuleViolation(f"the {CHECK_NAMES[command.check]} is not waiting for a review")
    if command.reviewer_id == session.person_ref:
        raise RuleViolation("a reviewer cannot decide their own verification")
    if command.reviewer_id in progress.approvals:
        raise RuleViolation(
            "four-eyes rule: a second, different reviewer must decide this high-risk check"
        )
    decided = ReviewDecided(
        verification_id=_id(session),
        check=command.check,
        reviewer_id=command.reviewer_id,
        approved=command.approved,
        reason=command.reason,
        decided_at=command.at,
        account_ref=session.account_ref,  # whose key seals the reason (erased with them)
    )
    if not command.approved:
        # the reviewer's words travel sealed (ReviewDecided, CheckFailed); the outcome that
        # cases and the person read names the check and who decided, never the words
        reason = f"{CHECK_NAMES[command.check]} rejected by a reviewer"
        failed = CheckFailed(
            verification_id=_id(session),
            check=command.check,
            reason=f"{reason}: {command.reason}",
            failed_at=command.at,
            account_ref=session.account_ref,  # whose key seals the reason (erased with them)
        )
        state = evolve(evolve(session, decided), failed)
        return [
            decided,
            failed,
            _completed(
                state,
                VerificationOutcome.FAILED,
                [reason],
                command.at,
                [_reason(ReasonCode.REJECTED_BY_REVIEWER, check=command.check.value)],
            ),
        ]
    approvals = len(progress.approvals) + 1
    if approvals < progress.required_approvals:
        return [decided]
    reviewers = "two reviewers" if approvals > 1 else "a reviewer"
    reason = f"approved by {reviewers}"  # their words stay sealed in ReviewDecided
    return [decided, *_passed(evolve(session, decided), command.check, [reason], command.at)]


def _expire(session: Session, command: Expire) -> list[EventPayload]:
    if session.status is not SessionStatus.OPEN:
        return []  # completed before the timer fired: nothing to do
    assert session.expires_at is not None
    if command.at < session.expires_at:
        return []
    left = [p.check for p in session.progress if p.status is not CheckStatus.PASSED]
    pending = [CHECK_NAMES[check] for check in left]
    reason = f"the session expired at {session.expires_at:%Y-%m-%d %H:%M} UTC before the " + (
        ", ".join(pending) + " " + ("was" if len(pending) == 1 else "were") + " completed"
    )
    code = _reason(
        ReasonCode.EXPIRED,
        expired_at=session.expires_at,
        checks=",".join(check.value for check in left),
    )
    return [_completed(session, VerificationOutcome.EXPIRED, [reason], command.at, [code])]


def _end_cooldown(session: Session, command: EndCooldown) -> list[EventPayload]:
    if session.status is not SessionStatus.LOCKED or session.cooldown_ended:
        return []
    assert session.cooldown_until is not None
    assert session.account_ref is not None
    if command.at < session.cooldown_until:
        return []
    return [
        CooldownEnded(
            verification_id=_id(session), account_ref=session.account_ref, ended_at=command.at
        )
    ]


# -- evolve -----------------------------------------------------------------------------------


def _with(session: Session, check: Check, **changes: object) -> Session:
    return replace(
        session,
        progress=tuple(
            replace(p, **changes) if p.check is check else p  # type: ignore[arg-type]
            for p in session.progress
        ),
    )


def _with_delivery(session: Session, delivery_id: UUID, **changes: object) -> Session:
    progress = session.progress_of(Check.POSSESSION_CODE)
    return _with(
        session,
        Check.POSSESSION_CODE,
        code_deliveries=tuple(
            replace(d, **changes) if d.delivery_id == delivery_id else d  # type: ignore[arg-type]
            for d in progress.code_deliveries
        ),
    )


def evolve(session: Session, event: EventPayload) -> Session:
    match event:
        case SessionStarted():
            review_approvals = 2 if event.four_eyes else 1
            return Session(
                status=SessionStatus.OPEN,
                verification_id=event.verification_id,
                case_id=event.case_id,
                account_ref=event.account_ref,
                purpose=event.purpose,
                risk_level=event.risk_level,
                person_role=event.person_role,
                person_ref=event.person_ref,
                relationship=event.relationship,
                four_eyes=event.four_eyes,
                ticket_id=event.ticket_id,
                language=event.language,
                origin=event.origin,
                started_at=event.started_at,
                expires_at=event.expires_at,
                cooldown=timedelta(minutes=event.lockout_cooldown_minutes),
                progress=tuple(
                    CheckProgress(check=check, required_approvals=review_approvals)
                    for check in event.checks
                ),
            )
        case CheckStarted():
            return _with(
                session,
                event.check,
                status=CheckStatus.IN_PROGRESS,
                provider_session_ref=event.provider_session_ref,
            )
        case CodeDeliveryRequested():
            progress = session.progress_of(Check.POSSESSION_CODE)
            return _with(
                session,
                Check.POSSESSION_CODE,
                status=CheckStatus.IN_PROGRESS,
                deliveries=progress.deliveries + 1,
                code_deliveries=(
                    *progress.code_deliveries,
                    CodeDelivery(event.delivery_id, event.channel, event.claim_before),
                ),
                delivery_id=event.delivery_id,
                claim_before=event.claim_before,
                code_expires_at=None,
            )
        case CodeIssued():
            session = _with_delivery(
                session, event.delivery_id, claimed=True, status=DeliveryStatus.CLAIMED
            )
            return _with(session, Check.POSSESSION_CODE, code_expires_at=event.expires_at)
        case CodeDeliveryReported():
            return _with_delivery(
                session, event.delivery_id, status=DeliveryStatus(event.status.value)
            )
        case CodeDeliveryFailed():
            progress = session.progress_of(Check.POSSESSION_CODE)
            session = _with(session, Check.POSSESSION_CODE, undelivered=progress.undelivered + 1)
            return _with_delivery(
                session,
                event.delivery_id,
                status=DeliveryStatus.FAILED,
                failure=event.failure,
                reason=event.reason,
            )
        case CheckAttemptFailed():
            return _with(session, event.check, failures=event.failures)
        case CheckPassed():
            return _with(
                session, event.check, status=CheckStatus.PASSED, reasons=tuple(event.reasons)
            )
        case CheckFailed():
            reasons = (event.reason,) if event.reason is not None else ()  # None: erased
            return _with(session, event.check, status=CheckStatus.FAILED, reasons=reasons)
        case ReviewRequested():
            return _with(
                session,
                event.check,
                status=CheckStatus.AWAITING_REVIEW,
                required_approvals=event.required_approvals,
                approvals=(),
                evidence_refs=tuple(event.evidence_refs),
            )
        case ReviewDecided():
            if not event.approved:
                return session
            progress = session.progress_of(event.check)
            return _with(session, event.check, approvals=(*progress.approvals, event.reviewer_id))
        case LockedOut():
            return replace(session, cooldown_until=event.cooldown_until)
        case CooldownEnded():
            return replace(session, cooldown_ended=True)
        case VerificationCompleted():
            status = {
                VerificationOutcome.VERIFIED: SessionStatus.VERIFIED,
                VerificationOutcome.FAILED: SessionStatus.FAILED,
                VerificationOutcome.EXPIRED: SessionStatus.EXPIRED,
                VerificationOutcome.LOCKED: SessionStatus.LOCKED,
            }[event.outcome]
            return replace(
                session,
                status=status,
                outcome_reasons=tuple(event.reasons),
                outcome_codes=tuple(event.reason_codes),
                completed_at=event.completed_at,
            )
    return session


SESSION = AggregateType[Session]("verification", Session, evolve)


__all__ = [
    "SESSION",
    "AssessOwnership",
    "BeginCheck",
    "CheckCode",
    "CheckProgress",
    "CheckStatus",
    "CodeDelivery",
    "Command",
    "DecideReview",
    "DeliveryStatus",
    "EndCooldown",
    "Expire",
    "IssueCode",
    "RecordAttempt",
    "RecordCodeDeliveryFailure",
    "RecordCodeDeliveryProgress",
    "RequestCode",
    "RequestReview",
    "Session",
    "SessionStatus",
    "StartSession",
    "codes_left",
    "decide",
    "evolve",
]
