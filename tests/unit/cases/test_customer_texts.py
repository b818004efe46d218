"""Every text of a case a customer reads, in each of the five languages, for every case type,
status, outcome, verification purpose and suspension scope: never an internal code (no
snake_case token, no English outcome word in another language, no unfilled placeholder)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from contracts.events.cases import CaseStatus, DecisionOutcome, SuspensionRule, WaitingOn
from contracts.events.platform import SuspensionScope
from contracts.vocabulary import VerificationPurpose
from runtime.errors import RuleViolation
from services.cases.domain.case_types import CASE_TYPES
from services.cases.domain.customer_texts import (
    LANGUAGES,
    customer_language,
    next_step,
    outcome_label,
    purposes_text,
)
from services.cases.domain.policies import (
    CATALOGUE,
    PolicyKind,
    decision_policy,
    explain_suspension,
)

pytestmark = pytest.mark.unit

SNAKE = re.compile(r"\b[A-Za-z][A-Za-z0-9]*_[A-Za-z0-9_]+\b")
PLACEHOLDER = re.compile(r"[{}]")
ENGLISH_OUTCOMES = re.compile(
    r"\b(restored|denied|refunded|partially|referred|elsewhere|approved|resolved|escalated|"
    r"merged|awaiting|review)\b",
    re.IGNORECASE,
)
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")
# what may stay Latin in Chinese and Japanese: rule codes (upper case, the platform's names)
# and currency codes
RULE_CODES = {p.code for p in CATALOGUE}
UPPER_CODE = re.compile(r"\b[A-Z][A-Z0-9-]+\b")

AT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
UNTIL = datetime(2026, 12, 31, tzinfo=UTC)


def sample_facts(names: list[str]) -> dict[str, str]:
    return {name: "CNY" if name == "currency" else "42" for name in names}


def problems(text: str, language: str) -> list[str]:
    found = [f"snake_case {m}" for m in SNAKE.findall(text)]
    found += [f"placeholder {m}" for m in PLACEHOLDER.findall(text)]
    if language != "en":
        found += [f"English word {m}" for m in ENGLISH_OUTCOMES.findall(text)]
    if language in ("zh-CN", "ja"):
        latin = UPPER_CODE.sub("", text)
        found += [f"Latin word {m}" for m in LATIN_WORD.findall(latin)]
    if not text.strip():
        found.append("empty")
    return found


def rule(policy_code: str, version: int, scope: SuspensionScope | None) -> SuspensionRule:
    known = next(p for p in CATALOGUE if (p.code, p.version) == (policy_code, version))
    return SuspensionRule(
        suspension_id=uuid4(),
        rule_code=known.code,
        rule_version=known.version,
        threshold=known.threshold,
        threshold_unit=known.threshold_unit,
        window_hours=known.window_hours,
        facts=sample_facts(known.required_facts()),
        suspended_at=AT,
        scope=scope,
    )


def every_customer_text(language: str) -> Iterator[tuple[str, str]]:
    """(what, text) for every text a customer of a case can read, in ``language``."""
    for status in CaseStatus:
        for waiting in WaitingOn:
            for purposes in ([], *([p.value] for p in VerificationPurpose)):
                for until in (None, UNTIL):
                    yield (
                        f"next step {status.value}/{waiting.value}/{purposes}/{until}",
                        next_step(status, waiting, purposes, until, language),
                    )
    yield "all purposes", purposes_text([p.value for p in VerificationPurpose], language)
    for outcome in DecisionOutcome:
        yield f"outcome {outcome.value}", outcome_label(outcome, language)
    platform_rules = [p for p in CATALOGUE if p.kind is PolicyKind.PLATFORM_RULE]
    for platform_rule in platform_rules:
        for scope in (*SuspensionScope, None):
            yield (
                f"suspension {platform_rule.code} v{platform_rule.version} {scope}",
                explain_suspension(
                    rule(platform_rule.code, platform_rule.version, scope), language
                ),
            )
    reasons = [p for p in CATALOGUE if p.kind is PolicyKind.DECISION_REASON]
    for case_type, spec in CASE_TYPES.items():
        for outcome in spec.outcomes:
            for reason in reasons:
                try:
                    decision_policy(reason.code, reason.version, outcome, case_type)
                except RuleViolation:
                    continue
                yield (
                    f"decision {case_type.value}/{outcome.value}/{reason.code}",
                    reason.render(language, sample_facts(reason.required_facts())),
                )


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_customer_text_of_a_case_is_free_of_internal_codes(language: str) -> None:
    found = {
        what: trouble
        for what, text in every_customer_text(language)
        if (trouble := problems(text, language))
    }
    assert found == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_customer_text_is_written_in_the_language_itself(language: str) -> None:
    """No text of a non-English language is the English text (a missing translation)."""
    english = dict(every_customer_text("en"))
    if language == "en":
        return
    same = [what for what, text in every_customer_text(language) if text == english[what]]
    assert same == []


def test_a_wallet_or_storefront_suspension_is_not_told_as_the_account_suspended() -> None:
    wallet = rule("WALLET-DORMANT", 1, SuspensionScope.WALLET)
    assert explain_suspension(wallet, "en").startswith("The account's wallet was suspended")
    assert "The account was suspended" not in explain_suspension(wallet, "en")
    assert explain_suspension(wallet, "zh-CN").startswith("账号的钱包")
    shop = rule("IP-COUNTERFEIT-REPORT", 1, SuspensionScope.STOREFRONT)
    assert "storefront" in explain_suspension(shop, "en")
    account = rule("SPAM-GROUP-CONTACT", 3, SuspensionScope.ACCOUNT)
    assert explain_suspension(account, "en").startswith("The account was suspended")


def test_next_steps_name_verifications_in_words_not_codes() -> None:
    step = next_step(
        CaseStatus.AWAITING_VERIFICATION,
        WaitingOn.ACCOUNT_HOLDER,
        ["wallet_reactivation"],
        None,
        "zh-CN",
    )
    assert "wallet_reactivation" not in step
    assert "重新启用钱包" in step
    guardian = next_step(
        CaseStatus.AWAITING_VERIFICATION, WaitingOn.CUSTOMER, ["guardian_of_minor"], None, "fr"
    )
    assert "tutelle du mineur" in guardian


@pytest.mark.parametrize(
    ("tag", "language"),
    [("zh-HK", "zh-CN"), ("fr-CA", "fr"), ("de", "de"), ("ja-JP", "ja"), ("ug", "en")],
)
def test_a_customer_reads_their_own_language_or_english(tag: str, language: str) -> None:
    assert customer_language(tag) == language
