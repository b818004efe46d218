"""Honest decisions: a versioned catalogue, explanations in the customer's language, the facts
and the threshold named, the platform rule that suspended the account explained."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from contracts.events.cases import (
    CaseStatus,
    CaseType,
    DecisionOutcome,
    DecisionRecorded,
    SuspensionRule,
)
from runtime.errors import NotFound, RuleViolation
from services.cases.domain.case import RecordDecision, decide_record_decision
from services.cases.domain.policies import (
    CATALOGUE,
    SUPPORTED_LANGUAGES,
    PolicyKind,
    decision_policy,
    explain_suspension,
    explanation_language,
    policy,
)
from tests.unit.cases.support import T0, Given, opening

pytestmark = pytest.mark.unit

RULE = SuspensionRule(
    suspension_id=uuid4(),
    rule_code="SPAM-GROUP-CONTACT",
    rule_version=3,
    threshold=10,
    threshold_unit="group_chats",
    window_hours=24,
    facts={"group_chats": "14"},
    suspended_at=datetime(2026, 11, 20, tzinfo=UTC),
)


def test_every_rule_speaks_chinese_and_english_with_the_same_facts() -> None:
    keys = set()
    for rule in CATALOGUE:
        assert set(rule.explanation) == set(SUPPORTED_LANGUAGES) == set(rule.title)
        keys.add((rule.code, rule.version))
        if rule.kind is PolicyKind.DECISION_REASON:
            assert rule.outcomes, rule.code
        # both languages need exactly the same facts
        import string

        names = [
            {f for _, f, _, _ in string.Formatter().parse(t) if f}
            for t in rule.explanation.values()
        ]
        assert names[0] == names[1], rule.code
    assert len(keys) == len(CATALOGUE)  # (code, version) is unique


def test_versions_stay_and_the_latest_is_the_default() -> None:
    assert policy("SPAM-GROUP-CONTACT").version == 3
    assert policy("SPAM-GROUP-CONTACT", 2).threshold == 20
    assert policy("SPAM-GROUP-CONTACT", 3).threshold == 10
    with pytest.raises(NotFound):
        policy("NO-SUCH-RULE")


def test_language_of_the_explanation() -> None:
    assert explanation_language("zh-HK") == "zh-CN"
    assert explanation_language("zh") == "zh-CN"
    assert explanation_language("en-GB") == "en"
    assert explanation_language("ug") == "en"


def test_a_decision_reason_must_fit_outcome_and_type_and_name_its_facts() -> None:
    with pytest.raises(RuleViolation, match="platform rule, not a reason"):
        decision_policy("SPAM-GROUP-CONTACT", None, DecisionOutcome.DENIED, CaseType.OTHER)
    with pytest.raises(RuleViolation, match="justifies restored, not denied"):
        decision_policy("OWNERSHIP-PROVEN", None, DecisionOutcome.DENIED, CaseType.OTHER)
    with pytest.raises(RuleViolation, match="does not apply to wallet_reactivation"):
        decision_policy(
            "REPORT-NOT-SUBSTANTIATED", None, DecisionOutcome.RESTORED, CaseType.WALLET_REACTIVATION
        )
    with pytest.raises(RuleViolation, match="no rule NOPE"):
        decision_policy("NOPE", None, DecisionOutcome.DENIED, CaseType.OTHER)
    with pytest.raises(RuleViolation, match="needs the facts checks"):
        policy("OWNERSHIP-PROVEN").render("en", {})


def test_the_suspension_is_explained_with_its_rule_threshold_and_facts() -> None:
    english = explain_suspension(RULE, "en")
    assert "SPAM-GROUP-CONTACT v3" in english
    assert "N=10" in english
    assert "more than 10 group chats within 24 hours (14 were recorded)" in english
    chinese = explain_suspension(RULE, "zh-CN")
    assert "超过 10 个群聊" in chinese
    assert "14" in chinese


def test_an_unknown_platform_rule_is_still_stated_never_silently_dropped() -> None:
    unknown = RULE.model_copy(update={"rule_code": "NEW-RULE", "rule_version": 1})
    text = explain_suspension(unknown, "en")
    assert "NEW-RULE v1" in text
    assert "N=10" in text
    assert "group_chats=14" in text


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("zh-CN", "您已通过 知识问答、证件与活体 证明本账号归您所有"),
        ("en", "You proved that the account is yours (知识问答、证件与活体)"),
    ],
)
def test_flow_1_the_restoring_decision_names_the_rule_that_suspended_it(
    language: str, expected: str
) -> None:
    given = Given().open(opening(language=language, suspensions=(RULE,)))
    given.status(CaseStatus.TRIAGE)
    given.verify()
    [decided, *_] = decide_record_decision(
        given.case,
        RecordDecision(
            decision_id=uuid4(),
            outcome=DecisionOutcome.RESTORED,
            reason_code="OWNERSHIP-PROVEN",
            facts={"checks": "知识问答、证件与活体"},
            by_role="agent",
            at=T0,
        ),
    )
    assert isinstance(decided, DecisionRecorded)
    assert decided.reason_code == "OWNERSHIP-PROVEN"
    assert decided.policy_version == 1
    assert decided.suspension == RULE
    assert decided.explanation_language == language
    assert decided.explanation is not None
    assert "SPAM-GROUP-CONTACT v3" in decided.explanation
    assert expected in decided.explanation
    assert decided.facts == {"checks": "知识问答、证件与活体"}
