"""The rules of verifying and deciding a case: asking for and recording verifications, the
decision (its rule from the policy catalogue, explained in the customer's language, with its
appeal period), appeals and reopening, closing by hand and when the appeal period is over.
Pure, no I/O."""

from __future__ import annotations

from datetime import datetime

from contracts.base import EventPayload
from contracts.events.cases import (
    CaseClosed,
    CaseReopened,
    CaseStatus,
    DecisionOutcome,
    DecisionRecorded,
    SuspensionLinked,
    VerificationRecorded,
    VerificationRequested,
)
from contracts.vocabulary import (
    PersonRole,
    RiskLevel,
)
from runtime.errors import RuleViolation
from services.cases.domain.case_commands import (
    APPEAL_PERIOD_ENDED,
    NO_FACTS,
    CaseFacts,
    Close,
    CloseAfterAppealPeriod,
    RecordDecision,
    RecordVerification,
    Reopen,
    RequestVerification,
)
from services.cases.domain.case_draft import (
    Draft,
    require_active,
    require_free_problem,
    require_opened,
)
from services.cases.domain.case_state import (
    DECIDABLE,
    RISK_OF,
    Case,
)
from services.cases.domain.case_types import GRANTING
from services.cases.domain.customer_texts import outcome_label
from services.cases.domain.policies import decision_policy, explain_suspension, explanation_language


def decide_request_verification(case: Case, command: RequestVerification) -> list[EventPayload]:
    require_active(case, "request a verification")
    assert case.status is not None
    assert case.case_id is not None
    assert case.account_ref is not None
    assert case.language is not None
    if case.status is CaseStatus.OPEN:
        raise RuleViolation("triage the case before requesting a verification")
    if case.status is CaseStatus.AWAITING_CUSTOMER:
        raise RuleViolation("the case awaits the customer; move it on first")
    spec = case.spec
    requirement = spec.requirements[0] if spec.requirements else None
    purpose = command.purpose or (requirement.purpose if requirement else None)
    if purpose is None:
        raise RuleViolation(f"{spec.case_type.value} cases need no verification: name a purpose")
    role = command.person_role or (requirement.person_role if requirement else PersonRole.HOLDER)
    for pending in case.pending_verifications():
        if pending.purpose is purpose and pending.person_role is role:
            raise RuleViolation(
                f"verification {pending.verification_id} ({purpose.value}, {role.value}) "
                "is already pending"
            )
    ticket_id = next((c.ticket_id for c in reversed(case.contacts) if c.ticket_id), None)
    draft = Draft(case)
    draft.add(
        VerificationRequested(
            case_id=case.case_id,
            verification_id=command.verification_id,
            account_ref=case.account_ref,
            purpose=purpose,
            person_role=role,
            person_ref=command.person_ref,
            risk_level=command.risk_level or RISK_OF.get(spec.case_type, RiskLevel.MEDIUM),
            ticket_id=ticket_id,
            language=case.language,
            requested_at=command.at,
        )
    )
    if draft.case.status is not CaseStatus.AWAITING_VERIFICATION:
        draft.status(CaseStatus.AWAITING_VERIFICATION, "verification_requested", command.at)
    return draft.finish(command.at, responded=True)


def decide_record_verification(case: Case, command: RecordVerification) -> list[EventPayload]:
    require_opened(case)
    assert case.case_id is not None
    known = next(
        (v for v in case.verifications if v.verification_id == command.verification_id), None
    )
    if known is not None and known.outcome is not None:
        return []  # already recorded
    draft = Draft(case)
    draft.add(
        VerificationRecorded(
            case_id=case.case_id,
            verification_id=command.verification_id,
            purpose=command.purpose,
            person_role=command.person_role,
            outcome=command.outcome,
            reasons=list(command.reasons),
            completed_at=command.at,
        )
    )
    if draft.case.status is CaseStatus.AWAITING_VERIFICATION and not (
        draft.case.pending_verifications()
    ):
        draft.status(CaseStatus.IN_REVIEW, f"verification_{command.outcome}", command.at)
    return draft.finish(command.at)


def missing_requirement(case: Case) -> str | None:
    """Why a granting decision must wait, or None when every required verification passed."""
    for requirement in case.spec.requirements:
        passed = [
            v
            for v in case.verifications
            if v.purpose is requirement.purpose and v.outcome == "verified"
        ]
        if any(v.person_role is requirement.person_role for v in passed):
            continue
        if requirement.person_role is PersonRole.HOLDER and passed:
            return (
                f"this decision needs the holder's own verification ({requirement.purpose.value})"
                "; a proxy's verification never counts for the holder"
            )
        return f"this decision needs {requirement.describe()} to have passed first"
    return None


def decide_record_decision(case: Case, command: RecordDecision) -> list[EventPayload]:
    require_opened(case)
    assert case.status is not None
    assert case.case_id is not None
    assert case.account_ref is not None
    assert case.language is not None
    spec = case.spec
    if case.status not in DECIDABLE:
        waits = {
            CaseStatus.AWAITING_VERIFICATION: "it awaits a verification; decide after it",
            CaseStatus.AWAITING_CUSTOMER: "it awaits the customer",
            CaseStatus.OPEN: "review it first",
            CaseStatus.TRIAGE: "review it first",
        }.get(case.status, f"it is already {case.status.value}")
        raise RuleViolation(f"cannot decide the case now: {waits}")
    if command.outcome not in spec.outcomes:
        raise RuleViolation(f"a {spec.case_type.value} case cannot end {command.outcome.value}")
    if command.by_role not in spec.deciders:
        raise RuleViolation(
            f"a {spec.case_type.value} decision is made by a specialist or a supervisor"
        )
    if command.outcome in GRANTING:
        missing = missing_requirement(case)
        if missing:
            raise RuleViolation(missing)
    if spec.needs_report and case.report is None:
        raise RuleViolation("record the disputed report (who reported, the evidence) first")
    refund = command.outcome in (DecisionOutcome.REFUNDED, DecisionOutcome.PARTIALLY_REFUNDED)
    if refund and (command.refund_amount is None or command.currency is None):
        raise RuleViolation("a refund names its amount and currency")
    if not refund and (command.refund_amount is not None or command.currency is not None):
        raise RuleViolation(f"a decision that is {command.outcome.value} refunds nothing")
    rule = decision_policy(
        command.reason_code, command.policy_version, command.outcome, spec.case_type
    )
    language = explanation_language(case.language.tag)
    explanation = rule.render(language, command.facts)
    suspension = case.suspensions[-1] if case.suspensions else None
    if suspension is not None:
        explanation = f"{explain_suspension(suspension, language)} {explanation}"
    draft = Draft(case)
    draft.add(
        DecisionRecorded(
            case_id=case.case_id,
            decision_id=command.decision_id,
            account_ref=case.account_ref,
            outcome=command.outcome,
            reason_code=rule.code,
            policy_version=rule.version,
            threshold=rule.threshold,
            facts=dict(command.facts),
            suspension=suspension,
            refund_amount=command.refund_amount,
            currency=command.currency,
            explanation=explanation,
            explanation_language=language,
            decided_at=command.at,
            appeal_until=command.at + command.appeal_period if command.appeal_period else None,
            outcome_label=outcome_label(command.outcome, language),
        )
    )
    draft.status(CaseStatus.RESOLVED, f"decision:{command.outcome.value}", command.at)
    return draft.finish(command.at, responded=True)


def decide_reopen(case: Case, command: Reopen, facts: CaseFacts = NO_FACTS) -> list[EventPayload]:
    require_opened(case)
    assert case.status is not None
    assert case.case_id is not None
    assert case.account_ref
    if case.status not in (CaseStatus.RESOLVED, CaseStatus.CLOSED):
        raise RuleViolation(
            f"only a resolved or closed case can be reopened (it is {case.status.value})"
        )
    assert case.resolved_at is not None
    # the period the decision named holds, even if the configured one changed since
    ends = appeal_ends(case) or case.resolved_at + command.appeal_period
    if command.at > ends:
        raise RuleViolation(
            f"the appeal period of {(ends - case.resolved_at).days} days ended on "
            f"{ends.date().isoformat()}"
        )
    require_free_problem(case.case_id, facts)
    draft = Draft(case)
    draft.add(
        CaseReopened(
            case_id=case.case_id,
            account_ref=case.account_ref,
            appeal=command.appeal,
            statement=command.statement,
            evidence=list(command.evidence),
            reopened_at=command.at,
        )
    )
    # suspensions the platform recorded while the case was decided: linked now it is open again
    known = {s.suspension_id for s in case.suspensions}
    for rule in facts.suspensions:
        if rule.suspension_id not in known:
            draft.add(
                SuspensionLinked(
                    case_id=case.case_id,
                    account_ref=case.account_ref,
                    suspension=rule,
                    linked_at=command.at,
                )
            )
    draft.status(CaseStatus.IN_REVIEW, "appeal" if command.appeal else "reopened", command.at)
    return draft.finish(command.at, restarted=True, customer_contacted=command.appeal)


def decide_close(case: Case, command: Close) -> list[EventPayload]:
    require_opened(case)
    assert case.status is not None
    assert case.case_id is not None
    if case.status is not CaseStatus.RESOLVED:
        raise RuleViolation(f"only a resolved case can be closed (it is {case.status.value})")
    draft = Draft(case)
    draft.add(
        CaseClosed(
            case_id=case.case_id,
            reason=command.reason,
            closed_at=command.at,
            account_ref=case.account_ref,  # whose key seals the reason
        )
    )
    draft.status(CaseStatus.CLOSED, "closed", command.at)
    return draft.finish(command.at)


def appeal_ends(case: Case) -> datetime | None:
    """When the appeal period of the case's decision ends, if the decision says."""
    return case.decision.appeal_until if case.decision is not None else None


def decide_close_after_appeal_period(
    case: Case, command: CloseAfterAppealPeriod
) -> list[EventPayload]:
    """Close a decided case once its appeal period is over; nothing when it was reopened,
    closed already, or decided again with a later period (a stale timer)."""
    ends = appeal_ends(case)
    if case.status is not CaseStatus.RESOLVED or ends is None or command.at < ends:
        return []
    return decide_close(case, Close(APPEAL_PERIOD_ENDED, command.at))
