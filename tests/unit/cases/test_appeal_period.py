"""A decided case closes by itself when its appeal period is over; an appeal within the
period reopens it and the close does not happen; a stale timer does nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from uuid import uuid4

import pytest

from contracts.events.cases import CaseClosed, CaseStatus, DecisionOutcome, SuspensionRule
from contracts.events.platform import SuspensionScope
from runtime.errors import RuleViolation
from services.cases.domain.case import (
    APPEAL_PERIOD_ENDED,
    NO_FACTS,
    CaseFacts,
    Close,
    CloseAfterAppealPeriod,
    Reopen,
    decide,
    decide_close,
    decide_record_decision,
    decide_reopen,
)
from tests.unit.cases.support import Given, types_of
from tests.unit.cases.test_lifecycle import LATER, decision

pytestmark = pytest.mark.unit

PERIOD = timedelta(days=30)
ENDS = LATER + PERIOD


def decided() -> Given:
    given = Given().open().status(CaseStatus.TRIAGE)
    given.verify()
    given.apply(decide_record_decision(given.case, decision(appeal_period=PERIOD)))
    return given


def test_the_decision_names_until_when_the_customer_may_appeal() -> None:
    given = decided()
    assert given.case.decision is not None
    assert given.case.decision.appeal_until == ENDS
    assert given.case.decision.outcome is DecisionOutcome.RESTORED


def test_the_case_closes_itself_when_the_appeal_period_is_over() -> None:
    given = decided()
    events = given.apply(decide(given.case, NO_FACTS, CloseAfterAppealPeriod(ENDS)))
    assert types_of(events)[:2] == ["cases.case_closed", "cases.status_changed"]
    closed = events[0]
    assert isinstance(closed, CaseClosed)
    assert closed.reason == APPEAL_PERIOD_ENDED
    assert given.case.status is CaseStatus.CLOSED


def test_nothing_closes_before_the_period_is_over() -> None:
    given = decided()
    early = ENDS - timedelta(seconds=1)
    assert decide(given.case, NO_FACTS, CloseAfterAppealPeriod(early)) == []


def test_an_appeal_within_the_period_keeps_the_case_open() -> None:
    given = decided()
    given.apply(decide_reopen(given.case, Reopen(True, ENDS - timedelta(days=1), PERIOD)))
    assert given.case.status is CaseStatus.IN_REVIEW
    assert decide(given.case, NO_FACTS, CloseAfterAppealPeriod(ENDS)) == []


def test_a_case_closed_by_hand_is_not_closed_again() -> None:
    given = decided()
    given.apply(decide_close(given.case, Close("done", LATER)))
    assert decide(given.case, NO_FACTS, CloseAfterAppealPeriod(ENDS)) == []


def test_a_new_decision_after_an_appeal_sets_a_new_period() -> None:
    given = decided()
    reopened_at = ENDS - timedelta(days=1)
    given.apply(decide_reopen(given.case, Reopen(True, reopened_at, PERIOD)))
    again = replace(decision(appeal_period=PERIOD), at=reopened_at)
    given.apply(decide_record_decision(given.case, again))
    # the first decision's moment passes: the case stays resolved
    assert decide(given.case, NO_FACTS, CloseAfterAppealPeriod(ENDS)) == []
    assert given.case.status is CaseStatus.RESOLVED
    closing = decide(given.case, NO_FACTS, CloseAfterAppealPeriod(reopened_at + PERIOD))
    assert types_of(closing)[0] == "cases.case_closed"


def test_an_appeal_is_judged_by_the_period_its_decision_named() -> None:
    given = decided()
    # the configured period changed since (60 days): the decision's promise still holds
    late = Reopen(True, ENDS + timedelta(days=1), timedelta(days=60))
    with pytest.raises(RuleViolation, match="appeal period of 30 days ended on 2026-12-23"):
        decide_reopen(given.case, late)


def test_a_suspension_recorded_while_the_case_was_decided_links_when_it_is_appealed() -> None:
    given = decided()
    later = SuspensionRule(
        suspension_id=uuid4(),
        rule_code="WALLET-DORMANT",
        rule_version=1,
        threshold=365,
        facts={"days_inactive": "400"},
        suspended_at=ENDS - timedelta(days=3),
        scope=SuspensionScope.WALLET,
    )
    appeal = Reopen(True, ENDS - timedelta(days=1), PERIOD)
    events = given.apply(decide_reopen(given.case, appeal, CaseFacts(suspensions=(later,))))
    assert types_of(events)[:2] == ["cases.case_reopened", "cases.suspension_linked"]
    assert given.case.suspensions[-1] == later
