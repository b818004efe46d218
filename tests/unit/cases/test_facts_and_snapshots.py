"""The facts decide sees beside a case's history (one open case per problem, who asks), and the
long-lived aggregates' snapshots: their state round-trips exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from contracts.events.cases import CaseStatus, CaseType, DecisionOutcome, SuspensionRule
from contracts.events.platform import SuspensionScope
from contracts.vocabulary import ServiceQueue
from runtime.auth import Principal
from runtime.errors import NotFound, RuleViolation
from runtime.organizations import VerifiedOrganization
from services.cases.domain import account, data_subject, staff_member
from services.cases.domain.case import (
    CaseFacts,
    Close,
    RecordDecision,
    Reopen,
    SplitContact,
    decide,
    decide_split,
)
from tests.unit.cases.support import CASE_ID, T0, Given, opening

pytestmark = pytest.mark.unit
ORGANIZATION = uuid4()


def resolved() -> Given:
    given = Given().open(opening(CaseType.OTHER)).status(CaseStatus.TRIAGE)
    given.status(CaseStatus.IN_REVIEW)
    facts = {"verification_result": "failed", "appeal_days": "30"}
    decision = RecordDecision(
        uuid4(), DecisionOutcome.DENIED, "VERIFICATION-NOT-PASSED", facts, "agent", T0
    )
    given.apply(decide(given.case, CaseFacts(), decision))
    return given


def test_a_case_reopens_only_when_no_other_case_of_its_problem_is_open() -> None:
    given = resolved()
    reopen = Reopen(False, T0 + timedelta(days=1), timedelta(days=30))
    other = uuid4()
    with pytest.raises(RuleViolation, match=f"case {other} is already open for this account"):
        decide(given.case, CaseFacts(open_case=other), reopen)
    assert decide(given.case, CaseFacts(open_case=None), reopen)
    assert decide(given.case, CaseFacts(open_case=CASE_ID), reopen)


def test_a_split_contact_opens_no_second_case_of_an_open_problem() -> None:
    given = Given().open()
    given.attach(T0 + timedelta(hours=1))
    moved = given.case.contacts[-1].contact_id
    split = SplitContact(moved, uuid4(), CaseType.WALLET_REACTIVATION, T0)
    other = uuid4()
    with pytest.raises(RuleViolation, match="attach the contact to it, or merge the cases"):
        decide_split(given.case, split, CaseFacts(open_case=other))


def test_a_customer_who_does_not_follow_the_case_gets_404_before_any_rule() -> None:
    given = resolved()
    stranger = Principal(id="cust-stranger", roles=frozenset({"customer"}))
    follower = Principal(id="cust-demo-0001", roles=frozenset({"customer"}))
    close = Close("resolved", T0)
    with pytest.raises(NotFound, match=f"case {CASE_ID} not found"):
        decide(given.case, CaseFacts(case_id=CASE_ID, caller=stranger), close)
    assert decide(given.case, CaseFacts(case_id=CASE_ID, caller=follower), close)
    unknown = uuid4()
    agent = Principal(id="agent-1", roles=frozenset({"agent"}))
    with pytest.raises(NotFound, match=f"case {unknown} not found"):
        decide(Given().case, CaseFacts(case_id=unknown, caller=agent), close)


def test_the_long_lived_aggregates_round_trip_through_their_snapshots() -> None:
    at = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    rule = SuspensionRule(
        suspension_id=uuid4(),
        rule_code="SPAM-GROUP-CONTACT",
        rule_version=3,
        threshold=10,
        threshold_unit="groups",
        window_hours=24,
        facts={"groups": "14"},
        suspended_at=at,
    )
    ACCOUNT = account.ACCOUNT
    state = ACCOUNT.fold(
        [
            *account.decide(
                ACCOUNT.initial(),
                account.NO_FACTS,
                account.RecordSuspension("acct-1", SuspensionScope.ACCOUNT, rule, uuid4(), at),
            ),
            *account.decide(
                ACCOUNT.initial(), account.NO_FACTS, account.TagCustomer("acct-1", "vip", at, "c-1")
            ),
            *account.decide(
                ACCOUNT.initial(),
                account.AccountFacts(VerifiedOrganization(ORGANIZATION, "示例科技", at)),
                account.TagCustomer("acct-1", "vip", at, organization_id=ORGANIZATION),
            ),
        ]
    )
    assert state.suspensions
    assert state.tags
    assert state.organization_tags
    assert ACCOUNT.snapshots is not None
    assert ACCOUNT.load_state(ACCOUNT.dump_state(state)) == state

    MEMBER = staff_member.STAFF_MEMBER
    command = staff_member.SetSkills(
        "agent-1", (ServiceQueue.GENERAL, ServiceQueue.WALLET_PAYMENTS), True, at
    )
    member = MEMBER.fold(staff_member.decide(MEMBER.initial(), command))
    assert MEMBER.snapshots is not None
    assert MEMBER.load_state(MEMBER.dump_state(member)) == member

    SUBJECT = data_subject.DATA_SUBJECT
    hold = data_subject.PlaceLegalHold("account:acct-1", uuid4(), "a dispute", CASE_ID, at)
    subject = SUBJECT.fold(data_subject.decide(SUBJECT.initial(), hold))
    assert SUBJECT.snapshots is not None
    assert SUBJECT.load_state(SUBJECT.dump_state(subject)) == subject
