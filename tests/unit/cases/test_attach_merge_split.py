"""One case per problem: opening, attaching contacts, repeated contacts, merge and split."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from contracts.events.cases import (
    CaseEscalated,
    CaseMerged,
    CaseOpened,
    CasePriority,
    CaseStatus,
    CaseType,
    ContactAttached,
    ContactSplit,
    PriorityChanged,
    ServiceLevelsScheduled,
    StatusChanged,
    SuspensionLinked,
    SuspensionRule,
    WaitingOn,
)
from contracts.vocabulary import AccessibilityNeed, ProblemCategory
from runtime.errors import NotFound, RuleViolation
from services.cases.domain.case import (
    Case,
    Merge,
    SplitContact,
    decide_attach,
    decide_merge,
    decide_open,
    decide_split,
)
from services.cases.domain.case_types import CASE_TYPE_OF, CASE_TYPES
from tests.unit.cases.support import ACCOUNT, CASE_ID, T0, Given, contact, opening, types_of

pytestmark = pytest.mark.unit


def test_every_problem_category_opens_a_case_of_its_type_and_every_type_is_specified() -> None:
    assert set(CASE_TYPE_OF) == set(ProblemCategory)
    assert set(CASE_TYPE_OF.values()) == set(CaseType) == set(CASE_TYPES)
    assert CASE_TYPE_OF[ProblemCategory.ACCOUNT_SUSPENDED] is CaseType.ACCOUNT_SUSPENSION_APPEAL


def test_opening_appends_the_case_its_standing_suspensions_and_its_service_levels() -> None:
    rule = SuspensionRule(
        suspension_id=uuid4(),
        rule_code="SPAM-GROUP-CONTACT",
        rule_version=3,
        threshold=10,
        facts={"group_chats": "14"},
        suspended_at=T0 - timedelta(days=2),
    )
    events = decide_open(Case(), opening(suspensions=(rule,)))

    assert types_of(events) == [
        "cases.case_opened",
        "cases.suspension_linked",
        "cases.service_levels_scheduled",
    ]
    opened, linked, levels = events
    assert isinstance(opened, CaseOpened)
    assert opened.priority is CasePriority.NORMAL
    assert isinstance(linked, SuspensionLinked)
    assert linked.suspension == rule
    assert isinstance(levels, ServiceLevelsScheduled)
    assert [t.kind.value for t in levels.targets] == ["first_response", "resolution"]


def test_accessibility_needs_open_the_case_at_high_priority() -> None:
    [opened, *_] = decide_open(Case(), opening(accessibility=(AccessibilityNeed.ELDERLY,)))
    assert isinstance(opened, CaseOpened)
    assert opened.priority is CasePriority.HIGH


def test_opening_twice_is_refused() -> None:
    given = Given().open()
    with pytest.raises(RuleViolation, match="already open") as refused:
        decide_open(given.case, opening())
    assert refused.value.status == 409


def test_a_second_contact_attaches_raises_the_priority_and_starts_the_next_response_clock() -> None:
    given = Given().open()
    events = given.attach(T0 + timedelta(days=3))

    assert types_of(events) == [
        "cases.contact_attached",
        "cases.priority_changed",
        "cases.service_levels_scheduled",
    ]
    attached, raised, levels = events
    assert isinstance(attached, ContactAttached)
    assert attached.contacts_in_window == 2
    assert isinstance(raised, PriorityChanged)
    assert (raised.from_priority, raised.to_priority) == (CasePriority.NORMAL, CasePriority.HIGH)
    assert isinstance(levels, ServiceLevelsScheduled)
    assert "next_response" in [t.kind.value for t in levels.targets]
    assert len(given.case.contacts) == 2


def test_the_third_contact_about_an_unresolved_problem_escalates_to_a_supervisor() -> None:
    given = Given().open().status(CaseStatus.TRIAGE)
    given.attach(T0 + timedelta(days=20))
    events = given.attach(T0 + timedelta(days=40))

    escalated = [e for e in events if isinstance(e, CaseEscalated)]
    assert len(escalated) == 1
    assert escalated[0].reason == "repeat_contacts"
    assert escalated[0].level == 1
    moved = [e for e in events if isinstance(e, StatusChanged)]
    assert moved[-1].to_status is CaseStatus.ESCALATED
    assert moved[-1].waiting_on is WaitingOn.SUPERVISOR
    assert given.case.priority is CasePriority.URGENT
    # a fourth contact goes one level further up
    fourth = given.attach(T0 + timedelta(days=50))
    assert [e.level for e in fourth if isinstance(e, CaseEscalated)] == [2]


def test_contacts_outside_the_repeat_window_do_not_count() -> None:
    given = Given().open()
    events = given.attach(T0 + timedelta(days=120))  # the first contact is 4 months old
    [attached] = [e for e in events if isinstance(e, ContactAttached)]
    assert attached.contacts_in_window == 1
    assert not [e for e in events if isinstance(e, PriorityChanged | CaseEscalated)]


def test_a_redelivered_contact_attaches_once() -> None:
    given = Given().open()
    again = contact(T0 + timedelta(hours=1))
    given.apply(decide_attach(given.case, again))
    assert decide_attach(given.case, again) == []


def test_a_contact_of_a_customer_waiting_on_us_brings_the_case_back_to_review() -> None:
    given = Given().open().status(CaseStatus.TRIAGE).status(CaseStatus.AWAITING_CUSTOMER)
    events = given.attach(T0 + timedelta(hours=2))
    assert [e.to_status for e in events if isinstance(e, StatusChanged)] == [CaseStatus.IN_REVIEW]
    assert not given.case.sla_paused


def test_no_contact_attaches_to_a_resolved_case() -> None:
    given = Given().open()
    resolved = given.case.__class__(**{**given.case.__dict__, "status": CaseStatus.RESOLVED})
    with pytest.raises(RuleViolation, match="cannot attach a contact: the case is resolved"):
        decide_attach(resolved, contact(T0))


def test_merge_moves_contacts_and_followers_and_ends_the_merged_case() -> None:
    survivor = Given().open()
    other_id = uuid4()
    merged = Given().open(opening(case_id=other_id, at=T0 + timedelta(hours=1)))
    merged.attach(T0 + timedelta(hours=2), customer_id="cust-spouse")

    into, away = decide_merge(survivor.case, merged.case, Merge(T0 + timedelta(hours=3)))

    assert types_of(into)[0] == "cases.case_merged"
    assert types_of(away)[:2] == ["cases.case_merged", "cases.status_changed"]
    fact = into[0]
    assert isinstance(fact, CaseMerged)
    assert (fact.survivor_case_id, fact.merged_case_id) == (CASE_ID, other_id)
    assert len(fact.contact_ids) == 2
    survivor.apply(into)
    merged.apply(away)
    assert len(survivor.case.contacts) == 3
    assert "cust-spouse" in survivor.case.viewers
    assert merged.case.status is CaseStatus.MERGED
    assert merged.case.targets == ()  # its clocks stop


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("self", "cannot be merged into itself"),
        ("other_account", "different accounts"),
        ("resolved", "only open cases merge"),
    ],
)
def test_merge_refusals(change: str, reason: str) -> None:
    survivor = Given().open().case
    other = Given().open(opening(case_id=uuid4())).case
    if change == "self":
        other = survivor
    elif change == "other_account":
        other = other.__class__(**{**other.__dict__, "account_ref": "acct-someone-else"})
    else:
        other = other.__class__(**{**other.__dict__, "status": CaseStatus.RESOLVED})
    with pytest.raises(RuleViolation, match=reason):
        decide_merge(survivor, other, Merge(T0))


def test_a_case_waiting_on_a_verification_is_merged_only_after_it() -> None:
    other = Given().open(opening(case_id=uuid4())).status(CaseStatus.TRIAGE)
    from services.cases.domain.case import RequestVerification, decide_request_verification

    other.apply(decide_request_verification(other.case, RequestVerification(uuid4(), T0)))
    with pytest.raises(RuleViolation, match="awaits verification"):
        decide_merge(Given().open().case, other.case, Merge(T0))


def test_split_moves_one_contact_into_a_new_case_of_another_problem() -> None:
    given = Given().open()
    given.attach(T0 + timedelta(hours=1))
    moved = given.case.contacts[-1]
    new_id = uuid4()

    away, opened = decide_split(
        given.case, SplitContact(moved.contact_id, new_id, CaseType.WALLET_REACTIVATION, T0)
    )

    assert isinstance(away[0], ContactSplit)
    assert isinstance(opened[0], CaseOpened)
    assert opened[0].case_id == new_id
    assert opened[0].split_from_case_id == CASE_ID
    assert opened[0].contact_id == moved.contact_id
    assert opened[0].case_type is CaseType.WALLET_REACTIVATION
    given.apply(away)
    assert [c.contact_id for c in given.case.contacts] != [moved.contact_id]
    assert len(given.case.contacts) == 1


def test_split_refusals() -> None:
    given = Given().open()
    only = given.case.contacts[0].contact_id
    with pytest.raises(RuleViolation, match="only contact"):
        decide_split(given.case, SplitContact(only, uuid4(), CaseType.OTHER, T0))
    given.attach(T0 + timedelta(hours=1))
    with pytest.raises(RuleViolation, match="another problem or account"):
        decide_split(
            given.case,
            SplitContact(only, uuid4(), CaseType.ACCOUNT_SUSPENSION_APPEAL, T0),
        )
    with pytest.raises(NotFound, match="no contact"):
        decide_split(given.case, SplitContact(uuid4(), uuid4(), CaseType.OTHER, T0))
    # another account, same type: allowed
    _away, opened = decide_split(
        given.case,
        SplitContact(only, uuid4(), CaseType.ACCOUNT_SUSPENSION_APPEAL, T0, "acct-other"),
    )
    assert isinstance(opened[0], CaseOpened)
    assert opened[0].account_ref == "acct-other"
    assert ACCOUNT != "acct-other"
