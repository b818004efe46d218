"""Every way a session ends carries its reasons as codes and parameters besides the English
sentences (issue 16 item 4), and the session view explains them in the session's language."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from contracts.events.verification import OutcomeReason, ReasonCode, VerificationOutcome
from contracts.events.verification_sessions import SessionOrigin
from contracts.vocabulary import LanguagePreference, RiskLevel, VerificationPurpose
from services.verification.api.views import session_view
from services.verification.domain.sessions import (
    BeginCheck,
    Command,
    DecideReview,
    Expire,
    RecordAttempt,
    RequestReview,
)
from services.verification.domain.texts import explain
from tests.unit.verification.test_sessions import D, K, R, at, completed, proxy_session, run, start

pytestmark = pytest.mark.unit


def reason(code: ReasonCode, **parameters: str) -> OutcomeReason:
    return OutcomeReason(code=code, parameters=parameters)


def test_a_verified_session_names_each_passed_check() -> None:
    state, _ = run([start(VerificationPurpose.SUSPENSION_APPEAL, RiskLevel.LOW)])  # K only
    _, events = run([BeginCheck(K, "q", at(1)), RecordAttempt(K, True, "right", at(2))], state)
    done = completed(events)
    assert done.outcome is VerificationOutcome.VERIFIED
    assert done.reason_codes == [reason(ReasonCode.CHECK_PASSED, check="knowledge_challenge")]


def test_a_verified_proxy_session_says_it_proves_only_the_proxy() -> None:
    state = proxy_session()
    state, _ = run(
        [
            BeginCheck(D, "p", at(1), "sandbox", "idp-1"),
            RecordAttempt(D, True, "ok", at(2), "idp-1"),
            RequestReview(R, "certificate", (uuid.uuid4(),), at(3)),
        ],
        state,
    )
    _, events = run([DecideReview(R, "rev-a", True, "genuine", at(4))], state)
    assert [r.code for r in completed(events).reason_codes] == [
        ReasonCode.CHECK_PASSED,
        ReasonCode.CHECK_PASSED,
        ReasonCode.PROXY_ONLY,
    ]


def test_a_rejection_names_the_check_but_never_the_reviewers_words() -> None:
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
    [code] = completed(events).reason_codes
    assert code == reason(ReasonCode.REJECTED_BY_REVIEWER, check="proxy_relationship")
    assert "altered" not in code.model_dump_json()


def test_a_lockout_a_cooldown_an_expiry_and_a_refused_plan_carry_their_parameters() -> None:
    wrong = [RecordAttempt(K, False, "wrong", at(2 + n)) for n in range(3)]
    _, events = run([start(), BeginCheck(K, "q", at(1)), *wrong])
    until = (at(4) + timedelta(hours=24)).isoformat()
    assert completed(events).reason_codes == [
        reason(ReasonCode.LOCKED_OUT, check="knowledge_challenge", failures="3", until=until)
    ]
    _, events = run([start(origin=SessionOrigin.CASE_REQUEST, account_cooldown_until=at(30))])
    assert completed(events).reason_codes == [
        reason(ReasonCode.COOLING_DOWN, until=at(30).isoformat())
    ]
    state, _ = run([start()])
    _, events = run([Expire(at(60))], state)
    assert completed(events).reason_codes == [
        reason(
            ReasonCode.EXPIRED,
            expired_at=at(60).isoformat(),
            checks="knowledge_challenge,possession_code",
        )
    ]
    _, events = run(
        [start(VerificationPurpose.GUARDIAN_OF_MINOR, origin=SessionOrigin.CASE_REQUEST)]
    )
    assert completed(events).reason_codes == [reason(ReasonCode.GUARDIAN_FOR_HOLDER)]


def test_the_view_explains_the_reasons_in_the_sessions_language() -> None:
    state, _ = run([start(language=LanguagePreference(tag="zh-CN"))])
    state, _ = run([Expire(at(60))], state)
    view = session_view(state)
    assert view.reasons[0].startswith("the session expired")  # English for staff, unchanged
    assert view.explanations == [explain(view.reason_codes[0], "zh-CN")]
    assert "一次性验证码" in view.explanations[0]
    assert "2026-11-23 09:00 UTC" in view.explanations[0]


def test_the_view_names_the_outcome_with_the_events_words_once_the_session_ended() -> None:
    """Issue 16 item 11: `outcome` was null while `status` said verified; one vocabulary."""
    state, _ = run([start(VerificationPurpose.SUSPENSION_APPEAL, RiskLevel.LOW)])  # K only
    opened = session_view(state)
    assert (opened.status, opened.outcome) == ("open", None)
    wrong = [RecordAttempt(K, False, "wrong", at(2 + n)) for n in range(3)]
    endings: dict[VerificationOutcome, list[Command]] = {
        VerificationOutcome.VERIFIED: [
            BeginCheck(K, "q", at(1)),
            RecordAttempt(K, True, "r", at(2)),
        ],
        VerificationOutcome.LOCKED: [BeginCheck(K, "q", at(1)), *wrong],
        VerificationOutcome.EXPIRED: [Expire(at(60))],
    }
    for outcome, commands in endings.items():
        ended, events = run(commands, state)
        view = session_view(ended)
        assert view.outcome is completed(events).outcome is outcome
        assert view.status == outcome.value
    refused, events = run([start(origin=SessionOrigin.CASE_REQUEST, account_cooldown_until=at(30))])
    assert session_view(refused).outcome is completed(events).outcome
    failed_state = proxy_session()
    failed_state, _ = run(
        [
            BeginCheck(D, "p", at(1), "sandbox", "idp-1"),
            RecordAttempt(D, True, "ok", at(2), "idp-1"),
            RequestReview(R, "evidence", (), at(3)),
        ],
        failed_state,
    )
    failed_state, _ = run([DecideReview(R, "rev-a", False, "altered", at(4))], failed_state)
    failed = session_view(failed_state)
    assert (failed.status, failed.outcome) == ("failed", VerificationOutcome.FAILED)
