"""The knowledge challenge's rules and the ownership points table, applied by the session's
``decide`` to the facts the application gathered (given events → when command → then events)."""

from __future__ import annotations

import pytest

from contracts.events.verification_sessions import (
    CheckAttemptFailed,
    CheckPassed,
    CheckStarted,
    OwnershipAssessed,
)
from runtime.errors import RuleViolation
from sandboxes.account_platform import SandboxAccountFacts
from services.verification.domain.knowledge import Answer, ChallengeSoFar, NewChallenge
from services.verification.domain.ownership import OwnershipClaim, OwnershipFacts
from services.verification.domain.sessions import (
    SESSION,
    AnswerQuestion,
    BeginKnowledgeChallenge,
    ClaimOwnership,
    RecordAttempt,
    decide,
)
from tests.unit.verification.test_sessions import K, at, dead_phone_session, run, start

pytestmark = pytest.mark.unit

KINDS = ("phone_last4", "friend", "login_city", "past_password")


def challenge(latest: ChallengeSoFar | None = None, kinds: tuple[str, ...] = KINDS) -> NewChallenge:
    return NewChallenge(latest=latest, question_kinds=kinds, required_correct=3)


def answer(
    correct: bool, right_before: int = 0, unanswered_before: int = 4, **kw: object
) -> Answer:
    facts: dict[str, object] = {
        "kind": "friend", "answered_before": False, "challenge_no": 1, "latest_challenge_no": 1,
        "correct": correct, "right_before": right_before, "unanswered_before": unanswered_before,
        "questions": 4, "required_correct": 3,
    }  # fmt: skip
    return Answer(**{**facts, **kw})  # type: ignore[arg-type]


def test_a_challenge_is_drawn_once_the_last_one_cannot_be_passed_any_more() -> None:
    state, _ = run([start()])
    [started] = decide(state, BeginKnowledgeChallenge(challenge(), at(1)))
    assert isinstance(started, CheckStarted)
    assert started.detail == (
        "challenge 1: 4 questions (phone_last4, friend, login_city, past_password), "
        "3 right answers needed"
    )
    with pytest.raises(RuleViolation, match="answer the questions already asked first"):
        decide(state, BeginKnowledgeChallenge(challenge(ChallengeSoFar(1, 2, 1)), at(1)))
    [again] = decide(state, BeginKnowledgeChallenge(challenge(ChallengeSoFar(1, 1, 1)), at(1)))
    assert "challenge 2" in again.detail  # type: ignore[attr-defined]
    with pytest.raises(RuleViolation, match="too few facts"):
        decide(state, BeginKnowledgeChallenge(challenge(kinds=("friend", "login_city")), at(1)))


def test_answers_pass_at_the_required_count_and_each_wrong_one_is_an_attempt() -> None:
    state, _ = run([start(), BeginKnowledgeChallenge(challenge(), at(1))])
    assert decide(state, AnswerQuestion(answer(True), at(2))) == []  # right, not yet enough
    [failed] = decide(state, AnswerQuestion(answer(False), at(2)))
    assert isinstance(failed, CheckAttemptFailed)
    assert "a wrong answer to a question about the friend list" in failed.reason
    events = decide(state, AnswerQuestion(answer(True, right_before=2, unanswered_before=2), at(2)))
    passed = next(e for e in events if isinstance(e, CheckPassed))
    assert passed.reasons == ["3 of 4 questions about the account answered correctly"]
    with pytest.raises(RuleViolation, match="already answered"):
        decide(state, AnswerQuestion(answer(True, answered_before=True), at(2)))
    with pytest.raises(RuleViolation, match="an earlier challenge"):
        decide(state, AnswerQuestion(answer(True, latest_challenge_no=2), at(2)))
    assert answer(False, right_before=1, unanswered_before=2).exhausted
    assert not answer(True, right_before=1, unanswered_before=2).exhausted


def test_the_points_table_is_applied_by_decide() -> None:
    facts = SandboxAccountFacts.sandbox_answers("acct-unit-rules").facts
    claim = OwnershipClaim(
        device=facts.devices[0],
        login_cities=facts.login_cities[:2],
        card_last4=facts.payments[0].card_last4,
        amount_cents=facts.payments[0].amount_cents,
        vouching_contacts=(),
        evidence_refs=(),
    )
    command = ClaimOwnership(claim, OwnershipFacts(facts, False), 60, at(3))
    events = decide(dead_phone_session(), command)
    assessed = events[0]
    assert isinstance(assessed, OwnershipAssessed)
    assert assessed.score == 30 + 20 + 30
    assert any(isinstance(e, CheckPassed) for e in events)
    state = SESSION.fold(events, dead_phone_session())
    with pytest.raises(RuleViolation):
        decide(state, RecordAttempt(K, True, "again", at(4)))
