"""The case aggregate: opening a case from a problem category (moved from
tests/unit/test_cases_domain.py when the cases service grew its own unit folder)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import pytest

from contracts.events.cases import CaseOpened, CasePriority, CaseSource, CaseType
from contracts.vocabulary import Channel, LanguagePreference, ProblemCategory
from runtime.errors import RuleViolation
from services.cases.domain.case import CASE, CASE_TYPE_OF, Case, CaseStatus, OpenCase, decide_open

pytestmark = pytest.mark.unit

CASE_ID = UUID("d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f70")
TICKET_ID = UUID("3f2a9c4e-8b1d-4e6f-9a7c-2d5e8f1b3c60")
T0 = datetime(2025, 3, 14, 1, 30, 2, tzinfo=UTC)

# Written out by hand on purpose: the test must not just re-read CASE_TYPE_OF.
EXPECTED_CASE_TYPE = {
    ProblemCategory.ACCOUNT_SUSPENDED: CaseType.ACCOUNT_SUSPENSION_APPEAL,
    ProblemCategory.ACCOUNT_RECOVERY_LOST_PHONE: CaseType.ACCOUNT_RECOVERY_LOST_PHONE,
    ProblemCategory.WALLET_REACTIVATION: CaseType.WALLET_REACTIVATION,
    ProblemCategory.THIRD_PARTY_REPORT_DISPUTE: CaseType.THIRD_PARTY_REPORT_DISPUTE,
    ProblemCategory.MINOR_SPENDING_REFUND: CaseType.MINOR_SPENDING_REFUND,
    ProblemCategory.OTHER: CaseType.OTHER,
}


def open_case(category: ProblemCategory = ProblemCategory.ACCOUNT_SUSPENDED) -> OpenCase:
    return OpenCase(
        case_id=CASE_ID,
        account_ref="acct-fake-7f3c2a",
        problem_category=category,
        source=CaseSource(channel=Channel.WALK_IN, ticket_id=TICKET_ID),
        customer_id="cust-demo-0001",
        language=LanguagePreference(tag="zh-HK", dialect="yue"),
        at=T0,
    )


def test_the_expected_table_covers_every_category() -> None:
    assert set(EXPECTED_CASE_TYPE) == set(ProblemCategory)
    assert set(CASE_TYPE_OF) == set(ProblemCategory)


@pytest.mark.parametrize("category", list(ProblemCategory), ids=str)
def test_open_case_maps_the_problem_category_to_a_case_type(category: ProblemCategory) -> None:
    events = decide_open(Case(), open_case(category))

    assert events[:1] == [
        CaseOpened(
            case_id=CASE_ID,
            account_ref="acct-fake-7f3c2a",
            case_type=EXPECTED_CASE_TYPE[category],
            problem_category=category,
            source=CaseSource(channel=Channel.WALK_IN, ticket_id=TICKET_ID),
            customer_id="cust-demo-0001",
            language=LanguagePreference(tag="zh-HK", dialect="yue"),
            opened_at=T0,
            priority=CasePriority.NORMAL,
        )
    ]
    assert events[0].event_type == "cases.case_opened"
    assert events[-1].event_type == "cases.service_levels_scheduled"


def test_every_case_type_can_be_opened_from_some_category() -> None:
    assert set(CASE_TYPE_OF.values()) == set(CaseType)


def test_opening_a_case_twice_is_refused() -> None:
    state = CASE.fold(decide_open(Case(), open_case()))
    with pytest.raises(RuleViolation, match="already open") as refused:
        decide_open(state, open_case())
    assert refused.value.status == 409


def test_fold_case_opened() -> None:
    assert CASE.fold([]) == Case()
    case = CASE.fold([decide_open(Case(), open_case(ProblemCategory.WALLET_REACTIVATION))[0]])
    assert (case.status, case.case_id, case.account_ref, case.case_type, case.customer_id) == (
        CaseStatus.OPEN,
        CASE_ID,
        "acct-fake-7f3c2a",
        CaseType.WALLET_REACTIVATION,
        "cust-demo-0001",
    )
    assert [c.contact_id for c in case.contacts] == [CASE_ID]  # an old event: the case id
    assert case.viewers == {"cust-demo-0001"}
