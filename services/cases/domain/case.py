"""The case aggregate's one entry: ``decide(case, facts, command) -> events`` (the application
gathers the facts beside the case's own history into ``CaseFacts``). It hands each command to
its rule ``decide_*(case, command)``, which raises ``RuleViolation`` (HTTP 409, with the
reason) or ``NotFound``. Pure, no I/O, no clock reads (``at`` is given).

The aggregate is spread over cohesive modules, all re-exported here so that the case is one
import: ``case_state`` (state, transitions, ``evolve``, ``CASE``), ``case_commands`` (commands
and ``CaseFacts``), ``case_draft`` (drafting events, the guards), ``case_contacts`` (open,
attach, suspensions, merge, split), ``case_decisions`` (verifications, the decision, appeals,
closing) and ``case_handling`` (status, replies, escalation, assignment, priority, callbacks,
notes, the report, service levels).
"""

from __future__ import annotations

from contracts.base import EventPayload
from contracts.events.cases import CaseStatus
from runtime.errors import NotFound
from services.cases.domain.case_commands import (
    ALREADY_OPEN,
    APPEAL_PERIOD_ENDED,
    NO_FACTS,
    AddNote,
    Assign,
    AttachContact,
    CaseCommand,
    CaseFacts,
    ChangePriority,
    ChangeStatus,
    CheckServiceLevel,
    Close,
    CloseAfterAppealPeriod,
    CustomerReply,
    Escalate,
    LinkSuspension,
    Merge,
    OpenCase,
    RecordCallback,
    RecordDecision,
    RecordReport,
    RecordVerification,
    Reopen,
    RequestCallback,
    RequestVerification,
    SplitContact,
)
from services.cases.domain.case_contacts import (
    decide_attach,
    decide_link_suspension,
    decide_merge,
    decide_open,
    decide_split,
)
from services.cases.domain.case_decisions import (
    appeal_ends,
    decide_close,
    decide_close_after_appeal_period,
    decide_record_decision,
    decide_record_verification,
    decide_reopen,
    decide_request_verification,
)
from services.cases.domain.case_handling import (
    decide_add_note,
    decide_assign,
    decide_change_priority,
    decide_change_status,
    decide_check_service_level,
    decide_customer_reply,
    decide_escalate,
    decide_record_callback,
    decide_record_report,
    decide_request_callback,
)
from services.cases.domain.case_state import (
    CASE,
    DECIDABLE,
    PRIORITY_ORDER,
    RISK_OF,
    STAFF,
    SUPERVISORS,
    TERMINAL,
    TRANSITIONS,
    WORKING,
    Case,
    Contact,
    EscalationReason,
    Verification,
    case_stream,
    evolve,
    waiting_on,
)
from services.cases.domain.case_types import CASE_TYPE_OF

__all__ = [
    "ALREADY_OPEN",
    "APPEAL_PERIOD_ENDED",
    "CASE",
    "CASE_TYPE_OF",
    "DECIDABLE",
    "NO_FACTS",
    "PRIORITY_ORDER",
    "RISK_OF",
    "STAFF",
    "SUPERVISORS",
    "TERMINAL",
    "TRANSITIONS",
    "WORKING",
    "AddNote",
    "Assign",
    "AttachContact",
    "Case",
    "CaseCommand",
    "CaseFacts",
    "CaseStatus",
    "ChangePriority",
    "ChangeStatus",
    "CheckServiceLevel",
    "Close",
    "CloseAfterAppealPeriod",
    "Contact",
    "CustomerReply",
    "Escalate",
    "EscalationReason",
    "LinkSuspension",
    "Merge",
    "OpenCase",
    "RecordCallback",
    "RecordDecision",
    "RecordReport",
    "RecordVerification",
    "Reopen",
    "RequestCallback",
    "RequestVerification",
    "SplitContact",
    "Verification",
    "appeal_ends",
    "case_stream",
    "decide",
    "decide_add_note",
    "decide_assign",
    "decide_attach",
    "decide_change_priority",
    "decide_change_status",
    "decide_check_service_level",
    "decide_close",
    "decide_close_after_appeal_period",
    "decide_customer_reply",
    "decide_escalate",
    "decide_link_suspension",
    "decide_merge",
    "decide_open",
    "decide_record_callback",
    "decide_record_decision",
    "decide_record_report",
    "decide_record_verification",
    "decide_reopen",
    "decide_request_callback",
    "decide_request_verification",
    "decide_split",
    "evolve",
    "waiting_on",
]


def decide(case: Case, facts: CaseFacts, command: CaseCommand) -> list[EventPayload]:
    """The events ``command`` makes of ``case``, given the facts; raises with the reason.

    A caller through the API first has to see the case: an unknown case, or one a customer
    does not follow, is 404 before any rule. (Merging and splitting touch two cases at once:
    ``decide_merge`` and ``decide_split``.)"""
    if facts.caller is not None and (
        not case.opened or not (facts.caller.is_staff or facts.caller.id in case.viewers)
    ):
        raise NotFound(f"case {facts.case_id} not found")
    match command:
        case OpenCase():
            return decide_open(case, command, facts)
        case AttachContact():
            return decide_attach(case, command)
        case ChangeStatus():
            return decide_change_status(case, command)
        case CustomerReply():
            return decide_customer_reply(case, command)
        case RequestVerification():
            return decide_request_verification(case, command)
        case RecordVerification():
            return decide_record_verification(case, command)
        case RecordDecision():
            return decide_record_decision(case, command)
        case Reopen():
            return decide_reopen(case, command, facts)
        case Close():
            return decide_close(case, command)
        case CloseAfterAppealPeriod():
            return decide_close_after_appeal_period(case, command)
        case Escalate():
            return decide_escalate(case, command)
        case Assign():
            return decide_assign(case, command)
        case ChangePriority():
            return decide_change_priority(case, command)
        case RequestCallback():
            return decide_request_callback(case, command)
        case RecordCallback():
            return decide_record_callback(case, command)
        case AddNote():
            return decide_add_note(case, command)
        case RecordReport():
            return decide_record_report(case, command)
        case LinkSuspension():
            return decide_link_suspension(case, command)
        case CheckServiceLevel():
            return decide_check_service_level(case, command)
    raise TypeError(f"unknown command {command!r}")
