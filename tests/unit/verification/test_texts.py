"""Verification's customer-facing texts in each of the five languages (issue 16 item 4): every
knowledge-challenge question and every reason a session ended (each reason code, each check's
name) renders in every language, in that language, with no internal code, no raw parameter
and no placeholder left; and the language follows the session (exact, same language, else
English)."""

from __future__ import annotations

import re

import pytest

from contracts.events.verification import OutcomeReason, ReasonCode
from contracts.events.verification_sessions import VerificationCheck
from services.verification.domain.texts import (
    CHECKS,
    LANGUAGES,
    QUESTIONS,
    REASONS,
    explain,
    language_of,
    question_prompt,
)

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
