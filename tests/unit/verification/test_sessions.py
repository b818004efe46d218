"""Verification sessions: given events -> when a command -> then events or a refusal."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from contracts.base import EventPayload
from contracts.events.verification import VerificationCompleted, VerificationOutcome
from contracts.events.verification_sessions import (
    CheckAttemptFailed,
    CheckFailed,
    CheckPassed,
    CheckStarted,
    CodeChannel,
    CodeDeliveryRequested,
    CodeIssued,
    CooldownEnded,
    LockedOut,
    OwnershipAssessed,
    OwnershipItem,
    ReviewDecided,
    ReviewRequested,
    SessionOrigin,
)
from contracts.vocabulary import PersonRole, ProxyRelationship, RiskLevel, VerificationPurpose
from runtime.errors import NotFound, RuleViolation
from services.verification.domain.plans import Check, plan_checks
from services.verification.domain.sessions import (
    SESSION,
    AssessOwnership,
    BeginCheck,
    CheckCode,
    Command,
    DecideReview,
    EndCooldown,
    Expire,
    IssueCode,
    ProxyCannotVerifyForHolder,
    RecordAttempt,
    RequestCode,
    RequestReview,
    Session,
    SessionStatus,
    StartSession,
    decide,
)

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
ID = uuid.UUID("00000000-0000-4000-8000-000000000001")
K, P, O, D = (  # noqa: E741 - O reads as ownership
    Check.KNOWLEDGE_CHALLENGE,
    Check.POSSESSION_CODE,
    Check.OWNERSHIP_EVIDENCE,
    Check.DOCUMENT_AND_LIVENESS,
)
G, R = Check.GUARDIAN_RELATIONSHIP, Check.PROXY_RELATIONSHIP


def start(
    purpose: VerificationPurpose = VerificationPurpose.SUSPENSION_APPEAL,
    risk: RiskLevel = RiskLevel.MEDIUM,
    role: PersonRole = PersonRole.HOLDER,
    origin: SessionOrigin = SessionOrigin.AGENT,
    **kwargs: object,
) -> StartSession:
    return StartSession(
        verification_id=ID,
        account_ref="acct-1",
        purpose=purpose,
        risk_level=risk,
        person_role=role,
        origin=origin,
        at=T0,
        ttl=timedelta(hours=1),
        cooldown=timedelta(hours=24),
        person_ref="person-1",
        **kwargs,  # type: ignore[arg-type]
    )


def run(
    commands: Sequence[Command], session: Session | None = None
) -> tuple[Session, list[EventPayload]]:
    """Apply each command in turn; the events of the last one are returned."""
    state = session or Session()
    events: list[EventPayload] = []
    for command in commands:
        events = decide(state, command)
        for event in events:
            state = SESSION.evolve(state, event)
    return state, events


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def completed(events: list[EventPayload]) -> VerificationCompleted:
    [done] = [e for e in events if isinstance(e, VerificationCompleted)]
    return done


# -- plans (step-up) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("purpose", "risk", "phone_dead", "expected"),
    [
        (VerificationPurpose.SUSPENSION_APPEAL, RiskLevel.LOW, False, (K,)),
        (VerificationPurpose.SUSPENSION_APPEAL, RiskLevel.MEDIUM, False, (K, P)),
        (VerificationPurpose.SUSPENSION_APPEAL, RiskLevel.HIGH, False, (K, P, D)),
        (VerificationPurpose.ACCOUNT_RECOVERY, RiskLevel.LOW, False, (K, P)),
        (VerificationPurpose.ACCOUNT_RECOVERY, RiskLevel.LOW, True, (K, O)),
        (VerificationPurpose.ACCOUNT_RECOVERY, RiskLevel.MEDIUM, True, (K, O, D)),
        (VerificationPurpose.WALLET_REACTIVATION, RiskLevel.LOW, True, (K, O, D)),
    ],
)
def test_purpose_and_risk_decide_the_checks_in_order(
    purpose: VerificationPurpose, risk: RiskLevel, phone_dead: bool, expected: tuple[Check, ...]
) -> None:
    plan = plan_checks(purpose, risk, PersonRole.HOLDER, phone_unavailable=phone_dead)
    assert plan.checks == expected
    assert plan.four_eyes is (risk is RiskLevel.HIGH)


@pytest.mark.parametrize("purpose", list(VerificationPurpose))
@pytest.mark.parametrize("risk", list(RiskLevel))
def test_a_dead_phone_never_needs_a_code_and_a_proxy_never_takes_the_holders_checks(
    purpose: VerificationPurpose, risk: RiskLevel
) -> None:
    proxy = plan_checks(purpose, risk, PersonRole.PROXY)
    assert not {K, P, O} & set(proxy.checks)
    assert proxy.checks[0] is D  # their own identity first
    if purpose is not VerificationPurpose.GUARDIAN_OF_MINOR:
        dead = plan_checks(purpose, risk, PersonRole.HOLDER, phone_unavailable=True)
        assert P not in dead.checks
        assert O in dead.checks


def test_guardian_proves_identity_then_relationship() -> None:
    plan = plan_checks(VerificationPurpose.GUARDIAN_OF_MINOR, RiskLevel.LOW, PersonRole.PROXY)
    assert plan.checks == (D, G)
    spouse = plan_checks(
        VerificationPurpose.PROXY_FOR_ABSENT_HOLDER,
        RiskLevel.LOW,
        PersonRole.PROXY,
        relationship=ProxyRelationship.SPOUSE,
    )
    assert spouse.checks == (D, R)


# -- start ------------------------------------------------------------------------------------


def test_a_session_starts_with_its_plan_and_expiry() -> None:
    state, [started] = run([start()])
    assert state.status is SessionStatus.OPEN
    assert started.checks == [K, P]  # type: ignore[attr-defined]
    assert started.expires_at == at(60)  # type: ignore[attr-defined]
    assert state.current is not None
    assert state.current.check is K


def test_a_case_request_delivered_twice_starts_one_session() -> None:
    state, _ = run([start(origin=SessionOrigin.CASE_REQUEST)])
    assert decide(state, start(origin=SessionOrigin.CASE_REQUEST)) == []
    with pytest.raises(RuleViolation):
        decide(state, start())


def test_an_agent_cannot_start_a_session_while_the_account_cools_down() -> None:
    with pytest.raises(RuleViolation, match="paused after too many failed attempts"):
        run([start(account_cooldown_until=at(30))])


def test_a_case_request_during_a_cooldown_completes_locked_with_the_reason() -> None:
    state, events = run([start(origin=SessionOrigin.CASE_REQUEST, account_cooldown_until=at(30))])
    done = completed(events)
    assert done.outcome is VerificationOutcome.LOCKED
    assert "can be tried again after 2026-11-23 08:30 UTC" in done.reasons[0]
    assert state.status is SessionStatus.LOCKED


def test_a_case_request_to_verify_the_holder_as_guardian_fails_with_a_reason() -> None:
    _, events = run(
        [start(VerificationPurpose.GUARDIAN_OF_MINOR, origin=SessionOrigin.CASE_REQUEST)]
    )
    done = completed(events)
    assert done.outcome is VerificationOutcome.FAILED
    assert "guardian" in done.reasons[0]


# -- sequencing, attempts, lockout ------------------------------------------------------------


def test_checks_are_taken_in_order() -> None:
    state, _ = run([start()])
    with pytest.raises(RuleViolation, match="complete the knowledge challenge before"):
        decide(state, RequestCode(uuid.uuid4(), CodeChannel.SMS, "zh-CN", "/x", at(5), at(1)))


def test_wrong_answers_count_and_the_third_locks_the_session_and_cools_down_the_account() -> None:
    begin = BeginCheck(K, "4 questions", at(1))
    wrong = [RecordAttempt(K, False, "wrong answer", at(2 + n)) for n in range(3)]
    state, events = run([start(), begin, wrong[0]])
    assert events == [
        CheckAttemptFailed(
            verification_id=ID, check=K, failures=1, limit=3, reason="wrong answer", failed_at=at(2)
        )
    ]
    state, events = run(wrong[1:], state)
    assert [type(e) for e in events] == [CheckAttemptFailed, LockedOut, VerificationCompleted]
    locked = events[1]
    assert isinstance(locked, LockedOut)
    assert locked.cooldown_until == at(4) + timedelta(hours=24)
    assert completed(events).outcome is VerificationOutcome.LOCKED
    assert "3 failed attempts at the knowledge challenge" in completed(events).reasons[0]
    assert state.status is SessionStatus.LOCKED
    with pytest.raises(RuleViolation, match="locked"):
        decide(state, RecordAttempt(K, True, "right", at(6)))


def test_the_cooldown_ends_by_timer_once() -> None:
    wrong = [RecordAttempt(K, False, "wrong", at(2)) for _ in range(3)]
    state, _ = run([start(), BeginCheck(K, "q", at(1)), *wrong])
    assert decide(state, EndCooldown(at(60))) == []  # not yet
    state, [ended] = run([EndCooldown(at(2) + timedelta(hours=24))], state)
    assert isinstance(ended, CooldownEnded)
    assert decide(state, EndCooldown(at(3000))) == []


def test_passing_every_check_verifies_the_holder_with_reasons() -> None:
    state, _ = run(
        [start(), BeginCheck(K, "q", at(1)), RecordAttempt(K, True, "3 of 3 right", at(2))]
    )
    delivery = uuid.uuid4()
    state, events = run(
        [
            RequestCode(delivery, CodeChannel.SMS, "zh-CN", "/claim", at(8), at(3)),
            IssueCode(delivery, "notifications", timedelta(minutes=5), at(4)),
        ],
        state,
    )
    assert isinstance(events[0], CodeIssued)
    state, events = run([CheckCode(delivery, True, at(5))], state)
    assert [type(e) for e in events] == [CheckPassed, VerificationCompleted]
    done = completed(events)
    assert done.outcome is VerificationOutcome.VERIFIED
    assert done.person_role is PersonRole.HOLDER
    assert done.reasons[0] == "knowledge challenge passed: 3 of 3 right"
    assert state.status is SessionStatus.VERIFIED


# -- possession code --------------------------------------------------------------------------


def code_session() -> tuple[Session, uuid.UUID]:
    delivery = uuid.uuid4()
    state, events = run(
        [
            start(VerificationPurpose.WALLET_REACTIVATION, RiskLevel.LOW),
            RequestCode(delivery, CodeChannel.SMS, "zh-CN", "/claim", at(5), at(1)),
        ]
    )
    assert [type(e) for e in events] == [CheckStarted, CodeDeliveryRequested]
    assert "code" not in events[1].model_dump()  # the event carries no code
    return state, delivery


def test_a_code_cannot_be_checked_before_it_is_issued_nor_after_it_expires() -> None:
    state, delivery = code_session()
    with pytest.raises(RuleViolation, match="no code has been sent"):
        decide(state, CheckCode(delivery, True, at(2)))
    state, _ = run([IssueCode(delivery, "notifications", timedelta(minutes=5), at(2))], state)
    with pytest.raises(RuleViolation, match="already claimed"):
        decide(state, IssueCode(delivery, "notifications", timedelta(minutes=5), at(2)))
    with pytest.raises(RuleViolation, match="expired"):
        decide(state, CheckCode(delivery, True, at(7)))


def test_an_unclaimed_delivery_cannot_be_claimed_late_nor_an_unknown_one() -> None:
    state, delivery = code_session()
    with pytest.raises(RuleViolation, match="not claimed in time"):
        decide(state, IssueCode(delivery, "notifications", timedelta(minutes=5), at(6)))
    with pytest.raises(NotFound):
        decide(state, IssueCode(uuid.uuid4(), "notifications", timedelta(minutes=5), at(2)))


def test_three_codes_at_most_and_three_wrong_codes_lock_out() -> None:
    state, first = code_session()
    deliveries = [first]
    for n in range(2):
        delivery = uuid.uuid4()
        state, _ = run(
            [RequestCode(delivery, CodeChannel.SMS, "zh-CN", "/c", at(10), at(2 + n))], state
        )
        deliveries.append(delivery)
    with pytest.raises(RuleViolation, match="3 codes were already sent"):
        decide(state, RequestCode(uuid.uuid4(), CodeChannel.SMS, "zh-CN", "/c", at(9), at(5)))
    last = deliveries[-1]
    state, _ = run([IssueCode(last, "notifications", timedelta(minutes=5), at(5))], state)
    with pytest.raises(RuleViolation, match="not the latest code"):
        decide(state, CheckCode(first, True, at(6)))
    state, events = run([CheckCode(last, False, at(6 + n * 0.1)) for n in range(3)], state)
    assert completed(events).outcome is VerificationOutcome.LOCKED


# -- expiry -----------------------------------------------------------------------------------


def test_a_session_expires_by_timer_with_the_pending_checks_named() -> None:
    state, _ = run([start()])
    assert decide(state, Expire(at(30))) == []
    with pytest.raises(RuleViolation, match="expired"):
        decide(state, BeginCheck(K, "q", at(61)))
    state, events = run([Expire(at(60))], state)
    done = completed(events)
    assert done.outcome is VerificationOutcome.EXPIRED
    assert "before the knowledge challenge, one-time code were completed" in done.reasons[0]
    assert decide(state, Expire(at(90))) == []  # once


# -- proxies ----------------------------------------------------------------------------------


def proxy_session(risk: RiskLevel = RiskLevel.LOW) -> Session:
    state, _ = run(
        [
            start(
                VerificationPurpose.PROXY_FOR_ABSENT_HOLDER,
                risk,
                PersonRole.PROXY,
                relationship=ProxyRelationship.SPOUSE,
            )
        ]
    )
    return state


def test_a_proxy_cannot_take_the_holders_checks() -> None:
    state = proxy_session()
    with pytest.raises(ProxyCannotVerifyForHolder, match="cannot pass the knowledge challenge"):
        decide(state, BeginCheck(K, "q", at(1)))
    with pytest.raises(ProxyCannotVerifyForHolder, match="cannot pass the one-time code") as e:
        decide(state, RequestCode(uuid.uuid4(), CodeChannel.SMS, "en", "/c", at(5), at(1)))
    assert isinstance(e.value, RuleViolation)
    assert (e.value.status, e.value.code) == (409, "proxy_cannot_verify_for_holder")


def test_a_verified_proxy_session_proves_only_the_proxy() -> None:
    state = proxy_session()
    evidence = (uuid.uuid4(),)
    state, _ = run(
        [
            BeginCheck(D, "provider session", at(1), "sandbox", "idp-1"),
            RecordAttempt(D, True, "document genuine, face live and matching", at(2), "idp-1"),
            RequestReview(R, "marriage certificate", evidence, at(3)),
        ],
        state,
    )
    state, events = run([DecideReview(R, "reviewer-1", True, "certificate genuine", at(4))], state)
    done = completed(events)
    assert done.outcome is VerificationOutcome.VERIFIED
    assert done.person_role is PersonRole.PROXY
    assert "does not verify the account holder" in done.reasons[-1]


# -- identity provider ------------------------------------------------------------------------


def test_a_result_for_another_provider_session_is_refused_and_two_declines_lock_out() -> None:
    state = proxy_session()
    state, _ = run([BeginCheck(D, "provider session", at(1), "sandbox", "idp-1")], state)
    with pytest.raises(RuleViolation, match="not the current one"):
        decide(state, RecordAttempt(D, True, "ok", at(2), "idp-0"))
    state, _ = run([RecordAttempt(D, False, "face did not match", at(2), "idp-1")], state)
    state, _ = run([BeginCheck(D, "provider session", at(3), "sandbox", "idp-2")], state)
    _, events = run([RecordAttempt(D, False, "face did not match", at(4), "idp-2")], state)
    assert completed(events).outcome is VerificationOutcome.LOCKED


# -- reviews and four eyes --------------------------------------------------------------------


def test_high_risk_reviews_need_two_distinct_reviewers() -> None:
    state = proxy_session(RiskLevel.HIGH)
    state, events = run(
        [
            BeginCheck(D, "p", at(1), "sandbox", "idp-1"),
            RecordAttempt(D, True, "ok", at(2), "idp-1"),
            RequestReview(R, "evidence", (), at(3)),
        ],
        state,
    )
    assert isinstance(events[0], ReviewRequested)
    assert events[0].required_approvals == 2
    state, events = run([DecideReview(R, "rev-a", True, "looks right", at(4))], state)
    assert [type(e) for e in events] == [ReviewDecided]  # not yet passed
    with pytest.raises(RuleViolation, match="four-eyes"):
        decide(state, DecideReview(R, "rev-a", True, "again", at(5)))
    with pytest.raises(RuleViolation, match="their own verification"):
        decide(state, DecideReview(R, "person-1", True, "me", at(5)))
    _, events = run([DecideReview(R, "rev-b", True, "agree", at(5))], state)
    assert completed(events).outcome is VerificationOutcome.VERIFIED
    assert "approved by two reviewers" in completed(events).reasons[1]


def test_a_rejected_review_fails_the_session_and_only_sealed_events_quote_the_reviewer() -> None:
    state = proxy_session()
    state, _ = run(
        [
            BeginCheck(D, "p", at(1), "sandbox", "idp-1"),
            RecordAttempt(D, True, "ok", at(2), "idp-1"),
            RequestReview(R, "evidence", (), at(3)),
        ],
        state,
    )
    _, events = run([DecideReview(R, "rev-a", False, "the certificate is altered", at(4))], state)
    assert [type(e) for e in events] == [ReviewDecided, CheckFailed, VerificationCompleted]
    # the outcome cases and the person read names the check, never the reviewer's words
    assert completed(events).reasons == ["proxy relationship rejected by a reviewer"]
    # the words are kept where they are sealed under the account's key (issue 12)
    [failed] = [e for e in events if isinstance(e, CheckFailed)]
    assert failed.reason == "proxy relationship rejected by a reviewer: the certificate is altered"
    assert failed.account_ref is not None


# -- dead phone: ownership evidence -----------------------------------------------------------


def dead_phone_session() -> Session:
    state, _ = run(
        [
            start(VerificationPurpose.ACCOUNT_RECOVERY, RiskLevel.LOW, phone_unavailable=True),
            BeginCheck(K, "q", at(1)),
            RecordAttempt(K, True, "right", at(2)),
        ]
    )
    return state


def test_enough_ownership_evidence_passes_with_each_item_explained() -> None:
    items = (
        OwnershipItem(kind="past_device", points=30, explanation="a past device matched"),
        OwnershipItem(kind="payment_record", points=30, explanation="a payment record matched"),
        OwnershipItem(kind="vouching_contacts", points=0, explanation="no contact vouched"),
    )
    _, events = run([AssessOwnership(items, 60, (), at(3))], dead_phone_session())
    assert isinstance(events[0], OwnershipAssessed)
    assert events[0].score == 60
    done = completed(events)
    assert done.outcome is VerificationOutcome.VERIFIED
    assert "a past device matched (+30); a payment record matched (+30)" in done.reasons[1]


def test_too_little_ownership_evidence_goes_to_a_reviewer() -> None:
    items = (OwnershipItem(kind="past_device", points=30, explanation="a past device matched"),)
    state, events = run([AssessOwnership(items, 60, (), at(3))], dead_phone_session())
    assert [type(e) for e in events] == [OwnershipAssessed, ReviewRequested]
    assert "below the 60 needed" in events[1].reason  # type: ignore[attr-defined]
    _, events = run([DecideReview(O, "rev-a", True, "called the holder's bank", at(4))], state)
    assert completed(events).outcome is VerificationOutcome.VERIFIED
