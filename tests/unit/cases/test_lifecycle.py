"""The lifecycle: legal and illegal transitions (409 with the reason), verification before
decisions (a proxy never verifies for the holder), decisions, reopen and appeal, close."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest

from contracts.events.cases import (
    CaseStatus,
    CaseType,
    DecisionOutcome,
    DecisionRecorded,
    Evidence,
    ReporterCategory,
    ReportRecorded,
    StatusChanged,
    VerificationRequested,
    WaitingOn,
)
from contracts.vocabulary import PersonRole, ProxyRelationship, VerificationPurpose
from runtime.errors import RuleViolation
from services.cases.domain.case import (
    TRANSITIONS,
    ChangeStatus,
    Close,
    CustomerReply,
    RecordDecision,
    RecordReport,
    Reopen,
    RequestVerification,
    decide_change_status,
    decide_close,
    decide_customer_reply,
    decide_record_decision,
    decide_record_report,
    decide_reopen,
    decide_request_verification,
)
from tests.unit.cases.support import T0, Given, opening, types_of

pytestmark = pytest.mark.unit

LATER = T0 + timedelta(hours=1)


def decision(
    outcome: DecisionOutcome = DecisionOutcome.RESTORED,
    code: str = "OWNERSHIP-PROVEN",
    facts: dict[str, str] | None = None,
    role: str = "agent",
    **extra: object,
) -> RecordDecision:
    return RecordDecision(
        decision_id=uuid4(),
        outcome=outcome,
        reason_code=code,
        facts={"checks": "document and liveness"} if facts is None else facts,
        by_role=role,
        at=LATER,
        **extra,  # type: ignore[arg-type]
    )


def test_the_happy_path_open_triage_verification_review_resolved_closed() -> None:
    given = Given().open().status(CaseStatus.TRIAGE)
    given.verify()
    assert given.case.status is CaseStatus.IN_REVIEW
    events = given.apply(decide_record_decision(given.case, decision()))
    assert types_of(events)[:2] == ["cases.decision_recorded", "cases.status_changed"]
    assert given.case.status is CaseStatus.RESOLVED
    given.apply(decide_close(given.case, Close("resolved", LATER)))
    assert given.case.status is CaseStatus.CLOSED
    assert given.case.targets == ()


@pytest.mark.parametrize(
    ("path", "to", "reason"),
    [
        ([], CaseStatus.IN_REVIEW, "cannot go from open to in_review"),
        ([], CaseStatus.RESOLVED, "resolved by recording a decision"),
        ([], CaseStatus.AWAITING_VERIFICATION, "request a verification"),
        ([], CaseStatus.CLOSED, "only a resolved case is closed"),
        ([], CaseStatus.OPEN, "already open"),
        ([CaseStatus.TRIAGE], CaseStatus.TRIAGE, "already triage"),
        ([CaseStatus.TRIAGE], CaseStatus.MERGED, "merging it into another"),
        ([CaseStatus.TRIAGE, CaseStatus.AWAITING_SPECIALIST], CaseStatus.TRIAGE, "cannot go from"),
    ],
)
def test_illegal_transitions_are_refused_with_the_reason(
    path: list[CaseStatus], to: CaseStatus, reason: str
) -> None:
    given = Given().open()
    for status in path:
        given.status(status)
    with pytest.raises(RuleViolation, match=reason) as refused:
        decide_change_status(given.case, ChangeStatus(to, "agent", "agent", LATER))
    assert refused.value.status == 409


def test_every_status_has_a_transition_rule() -> None:
    assert set(TRANSITIONS) == set(CaseStatus)


def test_a_case_awaiting_verification_moves_on_only_when_it_completes() -> None:
    given = Given().open().status(CaseStatus.TRIAGE)
    given.apply(decide_request_verification(given.case, RequestVerification(uuid4(), LATER)))
    assert given.case.status is CaseStatus.AWAITING_VERIFICATION
    with pytest.raises(RuleViolation, match=r"awaits verification .*suspension_appeal, holder"):
        decide_change_status(
            given.case, ChangeStatus(CaseStatus.IN_REVIEW, "agent", "agent", LATER)
        )
    with pytest.raises(RuleViolation, match="awaits a verification"):
        decide_record_decision(given.case, decision())


def test_verification_defaults_come_from_the_case_type() -> None:
    given = Given().open(opening(CaseType.ACCOUNT_RECOVERY_LOST_PHONE)).status(CaseStatus.TRIAGE)
    [requested, moved, *_] = decide_request_verification(
        given.case, RequestVerification(uuid4(), LATER)
    )
    assert isinstance(requested, VerificationRequested)
    assert requested.purpose is VerificationPurpose.ACCOUNT_RECOVERY
    assert requested.person_role is PersonRole.HOLDER
    assert requested.risk_level.value == "high"
    assert isinstance(moved, StatusChanged)
    assert moved.waiting_on is WaitingOn.CUSTOMER


def test_verification_needs_triage_first_and_is_not_asked_twice() -> None:
    given = Given().open()
    with pytest.raises(RuleViolation, match="triage the case"):
        decide_request_verification(given.case, RequestVerification(uuid4(), LATER))
    given.status(CaseStatus.TRIAGE)
    given.apply(decide_request_verification(given.case, RequestVerification(uuid4(), LATER)))
    with pytest.raises(RuleViolation, match="already pending"):
        decide_request_verification(given.case, RequestVerification(uuid4(), LATER))


def test_a_proxy_opens_a_wallet_case_but_the_decision_waits_for_the_holder() -> None:
    given = Given().open(opening(CaseType.WALLET_REACTIVATION, proxy=ProxyRelationship.SPOUSE))
    given.status(CaseStatus.TRIAGE)
    # asking for the holder while the spouse is here: the case waits on the account holder
    given.apply(decide_request_verification(given.case, RequestVerification(uuid4(), LATER)))
    assert given.case.status is CaseStatus.AWAITING_VERIFICATION
    [last] = [e for e in given.history if isinstance(e, StatusChanged)][-1:]
    assert last.waiting_on is WaitingOn.ACCOUNT_HOLDER

    # the spouse proves who *they* are: it never counts for the holder
    spouse = Given(given.history)
    from services.cases.domain.case import RecordVerification, decide_record_verification

    pending = spouse.case.pending_verifications()[0]
    spouse.apply(
        decide_record_verification(
            spouse.case,
            RecordVerification(
                uuid4(),
                VerificationPurpose.WALLET_REACTIVATION,
                PersonRole.PROXY,
                "verified",
                (),
                LATER,
            ),
        )
    )
    spouse.apply(
        decide_record_verification(
            spouse.case,
            RecordVerification(
                pending.verification_id,
                pending.purpose,
                pending.person_role,
                "expired",
                (),
                LATER,
            ),
        )
    )
    assert spouse.case.status is CaseStatus.IN_REVIEW
    with pytest.raises(RuleViolation, match=r"holder's own verification .*never counts"):
        decide_record_decision(spouse.case, decision(code="HOLDER-VERIFIED-WALLET"))

    # the holder verifies remotely: now the wallet can be restored
    spouse.verify()
    events = decide_record_decision(spouse.case, decision(code="HOLDER-VERIFIED-WALLET"))
    assert isinstance(events[0], DecisionRecorded)


def test_a_minors_refund_needs_the_guardian_relationship_and_a_specialist() -> None:
    given = (
        Given()
        .open(opening(CaseType.MINOR_SPENDING_REFUND, proxy=ProxyRelationship.GUARDIAN))
        .status(CaseStatus.TRIAGE)
        .status(CaseStatus.IN_REVIEW)
    )
    refund: dict[str, Any] = {
        "facts": {"amount_spent": "10000", "amount_refunded": "10000", "currency": "CNY"},
        "refund_amount": "10000",
        "currency": "CNY",
    }
    with pytest.raises(RuleViolation, match="the proxy's verification \\(guardian_of_minor\\)"):
        decide_record_decision(
            given.case,
            decision(
                DecisionOutcome.REFUNDED, "MINOR-SPENDING-REFUND", role="specialist", **refund
            ),
        )
    given.verify()  # defaults: guardian_of_minor, proxy
    with pytest.raises(RuleViolation, match="specialist or a supervisor"):
        decide_record_decision(
            given.case,
            decision(DecisionOutcome.REFUNDED, "MINOR-SPENDING-REFUND", role="agent", **refund),
        )
    events = decide_record_decision(
        given.case,
        decision(DecisionOutcome.REFUNDED, "MINOR-SPENDING-REFUND", role="specialist", **refund),
    )
    recorded = events[0]
    assert isinstance(recorded, DecisionRecorded)
    assert recorded.threshold == 90
    assert recorded.explanation is not None
    assert "10000 CNY" in recorded.explanation


def test_a_refund_names_amount_and_currency_and_a_restore_refunds_nothing() -> None:
    given = Given().open(opening(CaseType.OTHER)).status(CaseStatus.TRIAGE)
    given.status(CaseStatus.IN_REVIEW)
    with pytest.raises(RuleViolation, match="refunds nothing"):
        decide_record_decision(given.case, decision(refund_amount="5", currency="CNY"))


def test_a_denial_needs_no_verification_but_the_outcome_must_fit_the_type() -> None:
    given = Given().open().status(CaseStatus.TRIAGE).status(CaseStatus.IN_REVIEW)
    with pytest.raises(RuleViolation, match="cannot end refunded"):
        decide_record_decision(
            given.case,
            decision(DecisionOutcome.REFUNDED, refund_amount="1", currency="CNY"),
        )
    events = decide_record_decision(
        given.case,
        decision(
            DecisionOutcome.DENIED,
            "VERIFICATION-NOT-PASSED",
            {"verification_result": "no documents", "appeal_days": "30"},
        ),
    )
    assert isinstance(events[0], DecisionRecorded)


def test_a_dispute_shows_the_report_before_its_decision() -> None:
    given = Given().open(opening(CaseType.THIRD_PARTY_REPORT_DISPUTE)).status(CaseStatus.TRIAGE)
    given.verify()
    with pytest.raises(RuleViolation, match="record the disputed report"):
        decide_record_decision(
            given.case,
            decision(
                code="REPORT-NOT-SUBSTANTIATED", facts={"evidence": "invoice"}, role="specialist"
            ),
        )
    with pytest.raises(RuleViolation, match="never named"):
        decide_record_report(
            given.case,
            RecordReport("r-1", ReporterCategory.INDIVIDUAL_USER, T0, LATER, "Zhang San"),
        )
    with pytest.raises(RuleViolation, match="name the reporting organization"):
        decide_record_report(
            given.case, RecordReport("r-1", ReporterCategory.BRAND_RIGHTS_HOLDER, T0, LATER)
        )
    given.apply(
        decide_record_report(
            given.case,
            RecordReport("r-1", ReporterCategory.BRAND_RIGHTS_HOLDER, T0, LATER, "Fake Brand"),
        )
    )
    events = decide_record_decision(
        given.case,
        decision(code="REPORT-NOT-SUBSTANTIATED", facts={"evidence": "invoice"}, role="specialist"),
    )
    assert isinstance(events[0], DecisionRecorded)


def test_the_report_names_the_account_whose_key_seals_its_evidence() -> None:
    given = Given().open(opening(CaseType.THIRD_PARTY_REPORT_DISPUTE)).status(CaseStatus.TRIAGE)
    evidence = (Evidence(kind="photo", reference="doc-1", summary="the seller's own photo"),)
    [report] = decide_record_report(
        given.case,
        RecordReport(
            "r-1", ReporterCategory.BRAND_RIGHTS_HOLDER, T0, LATER, "Fake Brand", evidence=evidence
        ),
    )
    assert isinstance(report, ReportRecorded)
    assert report.evidence == list(evidence)
    assert report.data_subject_id == f"account:{given.case.account_ref}"


def test_only_a_third_party_dispute_records_a_report() -> None:
    given = Given().open()
    with pytest.raises(RuleViolation, match="only a third-party report dispute"):
        decide_record_report(
            given.case, RecordReport("r-1", ReporterCategory.BUSINESS, T0, LATER, "Shop")
        )


def test_awaiting_the_customer_then_their_reply() -> None:
    given = Given().open().status(CaseStatus.TRIAGE).status(CaseStatus.AWAITING_CUSTOMER)
    with pytest.raises(RuleViolation, match="awaits the customer"):
        decide_record_decision(given.case, decision())
    events = given.apply(decide_customer_reply(given.case, CustomerReply(LATER)))
    assert [e.to_status for e in events if isinstance(e, StatusChanged)] == [CaseStatus.IN_REVIEW]
    with pytest.raises(RuleViolation, match="not waiting for the customer"):
        decide_customer_reply(given.case, CustomerReply(LATER))


def test_an_escalated_case_is_handed_back_by_a_supervisor() -> None:
    given = Given().open().status(CaseStatus.TRIAGE).status(CaseStatus.ESCALATED)
    assert given.case.status is CaseStatus.ESCALATED
    assert given.case.escalation_level == 1
    with pytest.raises(RuleViolation, match="handed back by a supervisor"):
        decide_change_status(given.case, ChangeStatus(CaseStatus.IN_REVIEW, "x", "agent", LATER))
    given.status(CaseStatus.IN_REVIEW, role="supervisor")
    assert given.case.status is CaseStatus.IN_REVIEW


def resolved() -> Given:
    given = Given().open().status(CaseStatus.TRIAGE)
    given.verify()
    given.apply(decide_record_decision(given.case, decision()))
    return given


def test_appeal_within_the_period_reopens_to_review_and_restarts_the_clock() -> None:
    given = resolved()
    appeal = Reopen(True, LATER + timedelta(days=29), timedelta(days=30), "I disagree")
    events = given.apply(decide_reopen(given.case, appeal))
    assert types_of(events) == [
        "cases.case_reopened",
        "cases.status_changed",
        "cases.service_levels_scheduled",
    ]
    assert given.case.status is CaseStatus.IN_REVIEW
    assert given.case.decision is None


def test_appeal_after_the_period_is_refused_with_its_end_date() -> None:
    given = resolved()
    late = Reopen(True, LATER + timedelta(days=31), timedelta(days=30))
    with pytest.raises(RuleViolation, match="appeal period of 30 days ended on 2026-12-23"):
        decide_reopen(given.case, late)


def test_a_closed_case_can_still_be_appealed_within_the_period_but_an_open_one_cannot() -> None:
    given = resolved()
    given.apply(decide_close(given.case, Close("done", LATER)))
    events = decide_reopen(given.case, Reopen(True, LATER + timedelta(days=1), timedelta(days=30)))
    assert types_of(events)[0] == "cases.case_reopened"
    with pytest.raises(RuleViolation, match="only a resolved or closed case"):
        decide_reopen(Given().open().case, Reopen(True, LATER, timedelta(days=30)))
    with pytest.raises(RuleViolation, match="only a resolved case can be closed"):
        decide_close(Given().open().case, Close("x", LATER))
