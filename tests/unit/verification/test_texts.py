"""Verification's customer-facing texts in each of the five languages (issue 16 item 4): every
knowledge-challenge question renders in every language, in that language, with no internal
code and no placeholder left; and the language follows the session (exact, same language,
else English)."""

from __future__ import annotations

import re

import pytest

from services.verification.domain.texts import LANGUAGES, QUESTIONS, language_of, question_prompt

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
