"""Verification's customer-facing texts in each of the five languages (issue 16 item 4): every
knowledge-challenge question and every reason a session ended (each reason code, each check's
name) renders in every language, in that language, with no internal code, no raw parameter
and no placeholder left; and the language follows the session (exact, same language, else
English)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from contracts.events.verification import OutcomeReason, ReasonCode, VerificationOutcome
from contracts.events.verification_sessions import VerificationCheck
from contracts.vocabulary import LanguagePreference
from runtime.errors import RuleViolation
from services.verification.domain.plans import Check
from services.verification.domain.refusals import (
    OUTCOMES,
    Party,
    Refusal,
    party_unavailable,
    refused,
)
from services.verification.domain.refusals import TEXTS as REFUSAL_TEXTS
from services.verification.domain.sessions import BeginCheck, decide
from services.verification.domain.texts import (
    CHECKS,
    LANGUAGES,
    QUESTIONS,
    REASONS,
    explain,
    language_of,
    question_prompt,
)
from tests.unit.verification.test_sessions import at, run, start

pytestmark = pytest.mark.unit

INTERNAL_CODE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")  # phone_last4, login_city…
PLACEHOLDER = re.compile(r"[{}]|%\(|\$\{")
CJK = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", sorted(QUESTIONS))
def test_every_question_renders_in_every_language(kind: str, language: str) -> None:
    text = question_prompt(kind, language)
    assert text.strip()
    assert not INTERNAL_CODE.search(text), text
    assert not PLACEHOLDER.search(text), text
    assert bool(CJK.search(text)) == (language in ("zh-CN", "ja")), text
    if language != "en":
        assert text != question_prompt(kind, "en"), f"{kind} is not translated into {language}"


def test_every_question_kind_has_all_five_languages() -> None:
    assert {kind: sorted(texts) for kind, texts in QUESTIONS.items()} == {
        kind: sorted(LANGUAGES) for kind in QUESTIONS
    }


@pytest.mark.parametrize(
    ("tag", "language"),
    [("zh-CN", "zh-CN"), ("zh", "zh-CN"), ("zh-TW", "zh-CN"), ("fr-CA", "fr"), ("de", "de"),
     ("ja-JP", "ja"), ("es", "en"), (None, "en")],
)  # fmt: skip
def test_the_session_language_picks_the_text(tag: str | None, language: str) -> None:
    assert language_of(tag) == language


# -- why a session ended: every reason code, every language -------------------------------------

SAMPLE_PARAMETERS: dict[ReasonCode, dict[str, str]] = {
    ReasonCode.CHECK_PASSED: {"check": "document_and_liveness"},
    ReasonCode.PROXY_ONLY: {},
    ReasonCode.REJECTED_BY_REVIEWER: {"check": "proxy_relationship"},
    ReasonCode.GUARDIAN_FOR_HOLDER: {},
    ReasonCode.COOLING_DOWN: {"until": "2026-03-01T08:30:00+00:00"},
    ReasonCode.LOCKED_OUT: {
        "check": "knowledge_challenge", "failures": "3", "until": "2026-03-01T08:30:00+00:00",
    },
    ReasonCode.EXPIRED: {
        "expired_at": "2026-03-01T08:30:00+00:00",
        "checks": "possession_code,third_party_evidence_review",
    },
}  # fmt: skip


def test_every_reason_code_has_a_sample_and_all_five_languages() -> None:
    assert set(SAMPLE_PARAMETERS) == set(ReasonCode)
    assert {code: sorted(texts) for code, texts in REASONS.items()} == {
        code: sorted(LANGUAGES) for code in ReasonCode
    }
    assert {check: sorted(names) for check, names in CHECKS.items()} == {
        check.value: sorted(LANGUAGES) for check in VerificationCheck
    }


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("code", list(ReasonCode))
def test_every_reason_renders_in_every_language(code: ReasonCode, language: str) -> None:
    reason = OutcomeReason(code=code, parameters=SAMPLE_PARAMETERS[code])
    text = explain(reason, language)
    assert text.strip()
    assert not INTERNAL_CODE.search(text), text
    assert not PLACEHOLDER.search(text), text
    assert bool(CJK.search(text)) == (language in ("zh-CN", "ja")), text
    for value in SAMPLE_PARAMETERS[code].values():
        assert value not in text or value.isdigit(), f"{value} shown raw in {text}"
    if "until" in SAMPLE_PARAMETERS[code] or "expired_at" in SAMPLE_PARAMETERS[code]:
        assert "2026-03-01 08:30 UTC" in text
    if language != "en":
        assert text != explain(reason, "en"), f"{code} is not translated into {language}"
        english_checks = [names["en"] for names in CHECKS.values()]
        assert not any(name in text for name in english_checks), text


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("check", list(VerificationCheck))
def test_every_check_is_named_in_every_language(check: VerificationCheck, language: str) -> None:
    text = explain(
        OutcomeReason(code=ReasonCode.CHECK_PASSED, parameters={"check": check}), language
    )
    assert not INTERNAL_CODE.search(text), text
    assert bool(CJK.search(text)) == (language in ("zh-CN", "ja")), text


# -- what a customer is refused: every rule, every language ------------------------------------

REFUSAL_PARAMETERS: dict[Refusal, dict[str, object]] = {
    Refusal.CHECK_NOT_REQUIRED: {"check": Check.OWNERSHIP_EVIDENCE},
    Refusal.PROXY_CANNOT_VERIFY_FOR_HOLDER: {"check": Check.KNOWLEDGE_CHALLENGE},
    Refusal.CHECK_ALREADY_PASSED: {"check": Check.KNOWLEDGE_CHALLENGE},
    Refusal.CHECKS_IN_ORDER: {
        "current_check": Check.KNOWLEDGE_CHALLENGE, "check": Check.POSSESSION_CODE,
    },
    Refusal.CHECK_NOT_STARTED: {"check": Check.DOCUMENT_AND_LIVENESS},
    Refusal.CHECK_DECIDED_BY_REVIEWER: {"check": Check.GUARDIAN_RELATIONSHIP},
    Refusal.CHECK_WITH_REVIEWER: {"check": Check.THIRD_PARTY_EVIDENCE_REVIEW},
    Refusal.CHECK_ALREADY_WITH_REVIEWER: {"check": Check.PROXY_RELATIONSHIP},
    Refusal.SESSION_ENDED: {"outcome": VerificationOutcome.VERIFIED},
    Refusal.SESSION_EXPIRED: {"expired_at": datetime(2026, 3, 1, 8, 30, tzinfo=UTC)},
    Refusal.CODE_REQUESTED_NOT_BEGUN: {},
    Refusal.CODES_UNDELIVERED_LIMIT: {"count": 3},
    Refusal.CODES_SENT_LIMIT: {"limit": 3},
    Refusal.CODE_NOT_DELIVERED: {},
    Refusal.NO_CODE_SENT: {},
    Refusal.CODE_NOT_LATEST: {},
    Refusal.CODE_EXPIRED: {"code_expires_at": datetime(2026, 3, 1, 8, 30, 15, tzinfo=UTC)},
    Refusal.PROVIDER_SESSION_NOT_CURRENT: {},
    Refusal.ANSWER_ASKED_QUESTIONS_FIRST: {},
    Refusal.TOO_FEW_ACCOUNT_FACTS: {},
    Refusal.QUESTION_ALREADY_ANSWERED: {},
    Refusal.QUESTION_FROM_EARLIER_CHALLENGE: {},
    Refusal.EVIDENCE_NOT_HELD_MEDIA: {},
}  # fmt: skip


def test_every_refusal_has_a_sample_and_all_five_languages() -> None:
    assert set(REFUSAL_PARAMETERS) == set(Refusal)
    assert {rule: sorted(texts) for rule, texts in REFUSAL_TEXTS.items()} == {
        rule: sorted(LANGUAGES) for rule in Refusal
    }
    assert {word: sorted(texts) for word, texts in OUTCOMES.items()} == {
        outcome.value: sorted(LANGUAGES) for outcome in VerificationOutcome
    }


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("rule", list(Refusal))
def test_every_refusal_renders_in_every_language(rule: Refusal, language: str) -> None:
    """The 409 carries a stable rule, the English detail, the message in the person's language
    and the parameters as data; the message names no internal code and leaves no placeholder."""
    refusal = refused(rule, language, **REFUSAL_PARAMETERS[rule])
    assert refusal.status == 409
    members = refusal.members()
    assert members["rule"] == rule.value
    assert refusal.detail == refused(rule, "en", **REFUSAL_PARAMETERS[rule]).members()["message"]
    text = members["message"]
    assert text.strip()
    assert not INTERNAL_CODE.search(text), text
    assert not PLACEHOLDER.search(text), text
    assert bool(CJK.search(text)) == (language in ("zh-CN", "ja")), text
    for name, value in REFUSAL_PARAMETERS[rule].items():
        shown = value.isoformat() if isinstance(value, datetime) else str(value)
        assert members[name] == shown  # the parameter as data…
        english_word = name == "outcome" and language == "en"  # "verified" is English too
        assert shown not in text or shown.isdigit() or english_word, f"{shown} raw in {text}"
    if "expired_at" in REFUSAL_PARAMETERS[rule]:
        assert "2026-03-01 08:30 UTC" in text
    if "code_expires_at" in REFUSAL_PARAMETERS[rule]:
        assert "08:30:15 UTC" in text
    if language != "en":
        assert text != refusal.detail, f"{rule} is not translated into {language}"
        english_words = [names["en"] for names in (*CHECKS.values(), *OUTCOMES.values())]
        assert not any(re.search(rf"\b{word}\b", text) for word in english_words), text


def test_a_refusal_follows_the_sessions_language() -> None:
    """The session's own refusals speak its language (a proxy trying the holder's check)."""
    session, _ = run([start(language=LanguagePreference(tag="fr-FR"))])
    with pytest.raises(RuleViolation) as refused_here:
        decide(session, BeginCheck(Check.POSSESSION_CODE, "q", at(1)))
    members = refused_here.value.members()
    assert members["rule"] == "checks_in_order"
    assert members["message"] == (
        "Terminez d'abord l'étape « questionnaire de connaissances » avant « code à usage unique »."
    )
    assert refused_here.value.detail == "complete the knowledge challenge before the one-time code"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("party", list(Party))
def test_an_unavailable_party_is_a_503_in_the_persons_language(party: Party, language: str) -> None:
    """An outside party down is no rule the person broke: 503 with Retry-After, nothing
    changed, the message in their language without the technical reason."""
    unavailable = party_unavailable(party, language, "ConnectError")
    assert unavailable.status == 503
    assert unavailable.headers["Retry-After"]
    members = unavailable.members()
    assert members["party"] == party.value
    text = members["message"]
    assert "ConnectError" in unavailable.detail
    assert "ConnectError" not in text
    assert not INTERNAL_CODE.search(text), text
    assert bool(CJK.search(text)) == (language in ("zh-CN", "ja")), text
    if language != "en":
        assert text != party_unavailable(party, "en", "x").members()["message"]
