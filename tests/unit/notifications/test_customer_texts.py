# ruff: noqa: RUF001  (Chinese and Japanese text uses full-width punctuation)
"""Every text a customer (or an organization's contact) receives, rendered for every kind,
every code it shows and every template language, holds no internal code: no snake_case token,
no placeholder left unfilled, and in a language other than English no English code or outcome
word. The codes come from the contracts' enums: a new outcome or queue without its five
labels fails here."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import UUID

import pytest

from contracts.events.cases import DecisionOutcome, DecisionRecorded
from contracts.events.notifications import NotificationKind
from services.notifications.domain.decisions import decision_variables
from services.notifications.domain.labels import Labels
from services.notifications.domain.templates import LANGUAGES, TEMPLATES, Var, render

pytestmark = pytest.mark.unit

# plain values that are not codes: a number, a count, a time, a link
PLAIN = {
    Var.TEXT: "A017",
    Var.INT: "3",
    Var.TIME: "2026-11-24T01:00:00+00:00",
    Var.URL: "https://frontdesk.example/t/1",
}
SNAKE_CASE = re.compile(r"\b[A-Za-z0-9]+_[A-Za-z0-9_]+\b")
PLACEHOLDER = re.compile(r"[{}]")

VOCABULARIES = {
    var.vocabulary: var
    for template in TEMPLATES.values()
    for var in template.variables.values()
    if isinstance(var, Labels)
}


def english_words() -> set[str]:
    """The codes of every vocabulary a message shows, and the English labels of the
    outcomes: words a message in another language must not hold."""
    words = set()
    for vocabulary, labels in VOCABULARIES.items():
        for code in vocabulary:
            words |= {code.value, code.value.replace("_", " ")}
            if vocabulary.__name__ == "DecisionOutcome":
                words.add(labels.by_code[code.value]["en"])
    return words


ENGLISH = re.compile(
    r"\b("
    + "|".join(re.escape(w) for w in sorted(english_words(), key=len, reverse=True))
    + r")\b",
    re.IGNORECASE,
)


def variants(kind: NotificationKind) -> Iterator[dict[str, str]]:
    """Every value of every code the kind shows (from the contract's enum), with the plain
    variables all given, and with only the required ones."""
    template = TEMPLATES[kind]
    coded = {n: v for n, v in template.variables.items() if isinstance(v, Labels)}
    plain = {n: PLAIN[v] for n, v in template.variables.items() if isinstance(v, Var)}
    required = {n: v for n, v in plain.items() if n not in template.optional}
    choices = [[(name, code.value) for code in var.vocabulary] for name, var in coded.items()]
    for picked in itertools.product(*choices):
        yield {**plain, **dict(picked)}
        yield {**required, **{n: v for n, v in picked if n not in template.optional}}


def test_the_codes_a_message_shows_come_from_contract_vocabularies() -> None:
    assert {v.__name__ for v in VOCABULARIES} >= {
        "DecisionOutcome",
        "ServiceQueue",
        "RejectionCode",
    }


@pytest.mark.parametrize("labels", list(VOCABULARIES.values()), ids=lambda v: v.vocabulary.__name__)
def test_every_code_has_a_label_in_every_language(labels: Labels) -> None:
    missing = [
        f"{code.value}/{language}"
        for code in labels.vocabulary
        for language in LANGUAGES
        if not labels.label(code.value, language)
    ]
    assert not missing, f"codes without a label: {missing}"
    assert set(labels.by_code) == {code.value for code in labels.vocabulary}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", list(NotificationKind))
def test_no_text_shows_an_internal_code(kind: NotificationKind, language: str) -> None:
    for variables in variants(kind):
        rendered = render(kind, language, variables, "Asia/Shanghai")
        for text in (rendered.subject, rendered.body):
            shown = text.replace(PLAIN[Var.URL], "")  # a link is not a code
            assert not SNAKE_CASE.search(shown), (variables, text)
            assert not PLACEHOLDER.search(shown), (variables, text)
            if language != "en":
                assert not ENGLISH.search(shown), (variables, text)
        for name, value in variables.items():
            if isinstance(TEMPLATES[kind].variables[name], Labels):
                assert not re.search(rf"\b{re.escape(value)}\b", rendered.body) or (
                    language == "en" and "_" not in value
                ), (variables, rendered.body)


def test_a_decision_shows_the_outcome_in_the_customers_words() -> None:
    variables = {"case_ref": "7C2F1A40", "decision": "restored", "explanation": "…"}
    zh = render(NotificationKind.CASE_DECISION, "zh-CN", variables)
    assert zh.body.startswith("您的案件 7C2F1A40 已有结果：已恢复。")
    refunded = render(NotificationKind.CASE_DECISION, "de", {**variables, "decision": "refunded"})
    assert refunded.body.startswith("Fall 7C2F1A40: erstattet.")
    # a message requested before the labels (the code with spaces) renders the same
    older = render(
        NotificationKind.CASE_DECISION, "fr", {**variables, "decision": "partially refunded"}
    )
    assert older.body.startswith("Dossier 7C2F1A40 : remboursé en partie.")


def test_a_code_without_a_label_is_refused_not_sent() -> None:
    variables = {"case_ref": "7C2F1A40", "decision": "approved_elsewhere", "explanation": "…"}
    with pytest.raises(ValueError, match="decision: 'approved_elsewhere' has no ja label"):
        render(NotificationKind.CASE_DECISION, "ja", variables)


def test_a_ticket_names_its_queue_in_the_persons_language() -> None:
    shown = render(
        NotificationKind.TICKET_ISSUED, "ja", {"number": "W004", "queue": "wallet_payments"}
    )
    assert shown.body == "受付番号は W004 です。窓口：ウォレットとお支払い。"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("outcome", list(DecisionOutcome))
def test_every_decision_is_told_without_its_code(outcome: DecisionOutcome, language: str) -> None:
    decided = DecisionRecorded(
        case_id=UUID("7c2f1a40-6a0b-5f3e-9c1d-2b4e6f8a0c13"),
        decision_id=UUID("2c3d4e5f-6071-4829-93a4-b5c6d7e8f901"),
        account_ref="acct-1",
        outcome=outcome,
        reason_code="OWNERSHIP-PROVEN",
        policy_version=1,
        explanation="A017",
        explanation_language=language,
        decided_at=datetime(2026, 11, 24, tzinfo=UTC),
    )
    variables = decision_variables(decided, "https://frontdesk.example")
    body = render(NotificationKind.CASE_DECISION, language, variables).body
    shown = body.replace(variables["link"], "")
    assert not SNAKE_CASE.search(shown), body
    if language != "en":
        assert not ENGLISH.search(shown), body
