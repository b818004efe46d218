"""The rules of working a case: status changes, the customer's replies, escalation,
assignment, priority, promised callbacks, internal notes, the disputed report and the
service-level clocks' warnings and breaches. Pure, no I/O."""

from __future__ import annotations

from contracts.base import EventPayload
from contracts.events.cases import (
    CallbackOutcome,
    CallbackRecorded,
    CallbackRequested,
    CaseAssigned,
    CaseStatus,
    CaseType,
    NoteAdded,
    PriorityChanged,
    ReporterCategory,
    ReportRecorded,
    ServiceLevelBreached,
    ServiceLevelWarning,
)
from runtime.errors import RuleViolation
from services.cases.domain.case_commands import (
    AddNote,
    Assign,
    ChangePriority,
    ChangeStatus,
    CheckServiceLevel,
    CustomerReply,
    Escalate,
    RecordCallback,
    RecordReport,
    RequestCallback,
)
from services.cases.domain.case_draft import (
    Draft,
    require_active,
    require_opened,
)
from services.cases.domain.case_state import (
    STAFF,
    SUPERVISORS,
    TERMINAL,
    TRANSITIONS,
    Case,
    EscalationReason,
)


def decide_change_status(case: Case, command: ChangeStatus) -> list[EventPayload]:
    require_opened(case)
    assert case.status is not None
    to, now = command.to, case.status
    if to is now:
        raise RuleViolation(f"the case is already {now.value}")
    if now in TERMINAL:
        hint = "reopen it within the appeal period" if now is not CaseStatus.MERGED else ""
        raise RuleViolation(f"the case is {now.value}" + (f": {hint}" if hint else ""))
    if to is CaseStatus.ESCALATED:
        return decide_escalate(case, Escalate(EscalationReason.AGENT, command.at))
    special = {
        CaseStatus.AWAITING_VERIFICATION: "request a verification; the case then awaits it",
        CaseStatus.RESOLVED: "a case is resolved by recording a decision",
        CaseStatus.CLOSED: "only a resolved case is closed, with the close command",
        CaseStatus.MERGED: "a case becomes merged by merging it into another",
        CaseStatus.OPEN: "a case never goes back to open",
    }
    if to in special:
        raise RuleViolation(f"cannot set {to.value} by hand: {special[to]}")
    if now is CaseStatus.AWAITING_VERIFICATION:
        which = "".join(
            f" {v.verification_id} ({v.purpose.value}, {v.person_role.value})"
            for v in case.pending_verifications()[:1]
        )
        raise RuleViolation(
            f"the case awaits verification{which}; it moves on when the verification completes"
        )
    if now is CaseStatus.ESCALATED and command.by_role not in SUPERVISORS:
        raise RuleViolation("an escalated case is handed back by a supervisor")
    if to not in TRANSITIONS[now]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[now])) or "nothing by hand"
        raise RuleViolation(f"a case cannot go from {now.value} to {to.value} (allowed: {allowed})")
    draft = Draft(case)
    draft.status(to, command.reason, command.at)
    return draft.finish(command.at, responded=command.by_role in STAFF)


def decide_customer_reply(case: Case, command: CustomerReply) -> list[EventPayload]:
    require_opened(case)
    assert case.status is not None
    if case.status is not CaseStatus.AWAITING_CUSTOMER:
        raise RuleViolation(f"the case is not waiting for the customer (it is {case.status.value})")
    draft = Draft(case)
    draft.status(CaseStatus.IN_REVIEW, "customer_replied", command.at)
    return draft.finish(command.at, customer_contacted=True)


def decide_escalate(case: Case, command: Escalate) -> list[EventPayload]:
    require_active(case, "escalate")
    draft = Draft(case)
    draft.escalate(command.reason, command.at)
    return draft.finish(command.at)


def decide_assign(case: Case, command: Assign) -> list[EventPayload]:
    require_active(case, "assign")
    assert case.case_id is not None
    queue = command.queue or case.spec.queue
    if queue is case.queue and command.assignee_id == case.assignee_id:
        who = command.assignee_id or "the queue"
        raise RuleViolation(f"the case is already assigned to {who} in {queue.value}")
    draft = Draft(case)
    draft.add(
        CaseAssigned(
            case_id=case.case_id,
            queue=queue,
            assignee_id=command.assignee_id,
            suggested=command.suggested,
            assigned_at=command.at,
        )
    )
    return draft.finish(command.at)


def decide_change_priority(case: Case, command: ChangePriority) -> list[EventPayload]:
    require_active(case, "change the priority")
    assert case.case_id is not None
    if command.to is case.priority:
        raise RuleViolation(f"the priority is already {command.to.value}")
    draft = Draft(case)
    draft.add(
        PriorityChanged(
            case_id=case.case_id,
            from_priority=case.priority,
            to_priority=command.to,
            reason=command.reason,
            changed_at=command.at,
        )
    )
    return draft.finish(command.at)


def decide_request_callback(case: Case, command: RequestCallback) -> list[EventPayload]:
    require_active(case, "promise a callback")
    assert case.case_id is not None
    assert case.account_ref
    assert case.language is not None
    if command.window_end <= command.window_start:
        raise RuleViolation("a callback window ends after it starts")
    if command.window_end <= command.at:
        raise RuleViolation("a callback window cannot end in the past")
    pending = [cid for cid, state in case.callbacks.items() if state == "requested"]
    if pending:
        raise RuleViolation(f"callback {pending[0]} is already promised and not answered yet")
    draft = Draft(case)
    draft.add(
        CallbackRequested(
            case_id=case.case_id,
            callback_id=command.callback_id,
            account_ref=case.account_ref,
            queue=case.queue or case.spec.queue,
            recipient_role=command.recipient_role,
            phone=command.phone,
            timezone=command.timezone,
            window_start=command.window_start,
            window_end=command.window_end,
            language=case.language,
            requested_at=command.at,
        )
    )
    return draft.finish(command.at, responded=True)


def decide_record_callback(case: Case, command: RecordCallback) -> list[EventPayload]:
    require_opened(case)
    assert case.case_id is not None
    if case.callbacks.get(command.callback_id) == command.outcome.value:
        return []
    draft = Draft(case)
    draft.add(
        CallbackRecorded(
            case_id=case.case_id,
            callback_id=command.callback_id,
            outcome=command.outcome,
            attempts=command.attempts,
            recorded_at=command.at,
        )
    )
    if command.outcome is CallbackOutcome.MISSED and case.active:
        draft.escalate(EscalationReason.CALLBACK_MISSED, command.at)
    return draft.finish(command.at)


def decide_add_note(case: Case, command: AddNote) -> list[EventPayload]:
    require_opened(case)
    assert case.case_id is not None
    assert case.account_ref is not None
    return [
        NoteAdded(
            case_id=case.case_id,
            note_id=command.note_id,
            account_ref=case.account_ref,
            text=command.text,
            added_at=command.at,
        )
    ]


def decide_record_report(case: Case, command: RecordReport) -> list[EventPayload]:
    require_active(case, "record a report")
    assert case.case_id is not None
    if case.case_type is not CaseType.THIRD_PARTY_REPORT_DISPUTE:
        raise RuleViolation("only a third-party report dispute records the report")
    individual = command.reporter_category is ReporterCategory.INDIVIDUAL_USER
    if individual and command.organization_name is not None:
        raise RuleViolation("a private individual who reports is never named; give reporter_ref")
    if not individual and command.organization_name is None:
        raise RuleViolation("name the reporting organization (the customer may see it)")
    return [
        ReportRecorded(
            case_id=case.case_id,
            report_id=command.report_id,
            reporter_category=command.reporter_category,
            organization_name=command.organization_name,
            reporter_ref=command.reporter_ref,
            rule_code=command.rule_code,
            evidence=list(command.evidence),
            reported_at=command.reported_at,
            recorded_at=command.at,
            account_ref=case.account_ref,  # whose key seals the evidence
        )
    ]


def decide_check_service_level(case: Case, command: CheckServiceLevel) -> list[EventPayload]:
    """A timer fired. Stale timers (clock met, moved, paused, case finished) do nothing."""
    if not case.active or case.sla_paused:
        return []
    assert case.case_id is not None
    target = case.target(command.kind)
    if target is None or target.due_at != command.due_at:
        return []
    key = (command.kind, command.due_at)
    draft = Draft(case)
    if command.warning:
        if key in case.warned or key in case.breached:
            return []
        draft.add(
            ServiceLevelWarning(
                case_id=case.case_id, kind=command.kind, due_at=command.due_at, warned_at=command.at
            )
        )
        return draft.events
    if key in case.breached:
        return []
    draft.add(
        ServiceLevelBreached(
            case_id=case.case_id, kind=command.kind, due_at=command.due_at, breached_at=command.at
        )
    )
    draft.escalate(EscalationReason.SERVICE_LEVEL_BREACHED, command.at)
    return draft.finish(command.at)
