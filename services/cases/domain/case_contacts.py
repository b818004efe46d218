"""The rules of a case's contacts: opening a case, attaching a contact to it, linking the
account's platform suspensions, merging two cases and splitting a contact out. Pure, no I/O."""

from __future__ import annotations

from contracts.base import EventPayload
from contracts.events.cases import (
    CaseMerged,
    CaseOpened,
    CasePriority,
    CaseSource,
    CaseStatus,
    ContactAttached,
    ContactSplit,
    PriorityChanged,
    SuspensionLinked,
)
from runtime.errors import NotFound, RuleViolation
from services.cases.domain.case_commands import (
    NO_FACTS,
    AttachContact,
    CaseFacts,
    LinkSuspension,
    Merge,
    OpenCase,
    SplitContact,
)
from services.cases.domain.case_draft import (
    Draft,
    require_active,
    require_free_problem,
    require_opened,
)
from services.cases.domain.case_state import (
    PRIORITY_ORDER,
    Case,
    EscalationReason,
)
from services.cases.domain.case_types import PROBLEM_CATEGORY_OF


def decide_open(case: Case, command: OpenCase, facts: CaseFacts = NO_FACTS) -> list[EventPayload]:
    if case.opened:
        raise RuleViolation("this case is already open")
    require_free_problem(command.case_id, facts)
    case_type = command.resolved_case_type
    priority = CasePriority.HIGH if command.accessibility_needs else CasePriority.NORMAL
    draft = Draft(case)
    draft.add(
        CaseOpened(
            case_id=command.case_id,
            account_ref=command.account_ref,
            case_type=case_type,
            problem_category=command.problem_category,
            source=command.source,
            customer_id=command.customer_id,
            language=command.language,
            summary=command.summary,
            opened_at=command.at,
            contact_id=command.contact_id,
            site_id=command.site_id,
            requester_role=command.requester_role,
            proxy_relationship=command.proxy_relationship,
            priority=priority,
            accessibility_needs=list(command.accessibility_needs),
            split_from_case_id=command.split_from_case_id,
        )
    )
    for rule in command.suspensions:
        draft.add(
            SuspensionLinked(
                case_id=command.case_id,
                account_ref=command.account_ref,
                suspension=rule,
                linked_at=command.at,
            )
        )
    return draft.finish(command.at)


def decide_attach(case: Case, command: AttachContact) -> list[EventPayload]:
    """A new contact about the same open problem joins the case. Repeated contacts within the
    type's window raise the priority one step each and, from the threshold on, escalate."""
    require_active(case, "attach a contact")
    if any(c.contact_id == command.contact_id for c in case.contacts):
        return []  # the same contact again (a redelivered ticket): already attached
    assert case.case_id is not None
    assert case.account_ref is not None
    spec = case.spec
    since = command.at - spec.repeat_window
    in_window = 1 + sum(1 for c in case.contacts if c.at >= since)
    draft = Draft(case)
    draft.add(
        ContactAttached(
            case_id=case.case_id,
            contact_id=command.contact_id,
            account_ref=case.account_ref,
            source=command.source,
            site_id=command.site_id,
            customer_id=command.customer_id,
            requester_role=command.requester_role,
            proxy_relationship=command.proxy_relationship,
            language=command.language,
            words=command.words,
            contacts_in_window=in_window,
            attached_at=command.at,
        )
    )
    if in_window >= spec.repeat_priority_at and case.priority is not CasePriority.URGENT:
        raised = PRIORITY_ORDER[PRIORITY_ORDER.index(case.priority) + 1]
        draft.add(
            PriorityChanged(
                case_id=case.case_id,
                from_priority=case.priority,
                to_priority=raised,
                reason=EscalationReason.REPEAT_CONTACTS,
                changed_at=command.at,
            )
        )
    if draft.case.status is CaseStatus.AWAITING_CUSTOMER:
        draft.status(CaseStatus.IN_REVIEW, "customer_contacted", command.at)
    if in_window >= spec.repeat_escalation_at:
        draft.escalate(EscalationReason.REPEAT_CONTACTS, command.at)
    return draft.finish(command.at, customer_contacted=True)


def decide_link_suspension(case: Case, command: LinkSuspension) -> list[EventPayload]:
    require_opened(case)
    assert case.case_id is not None
    assert case.account_ref is not None
    known = {s.suspension_id for s in case.suspensions}
    if command.suspension.suspension_id in known:
        return []
    return [
        SuspensionLinked(
            case_id=case.case_id,
            account_ref=case.account_ref,
            suspension=command.suspension,
            linked_at=command.at,
        )
    ]


def decide_merge(
    survivor: Case, merged: Case, command: Merge
) -> tuple[list[EventPayload], list[EventPayload]]:
    """``merged`` folds into ``survivor``: its contacts and followers move over; it ends."""
    require_opened(survivor)
    require_opened(merged)
    assert survivor.case_id is not None
    assert merged.case_id is not None
    if survivor.case_id == merged.case_id:
        raise RuleViolation("a case cannot be merged into itself")
    for case in (survivor, merged):
        if not case.active:
            assert case.status is not None
            raise RuleViolation(
                f"case {case.case_id} is {case.status.value}; only open cases merge"
            )
    if survivor.account_ref != merged.account_ref:
        raise RuleViolation("cases of different accounts cannot be merged")
    pending = merged.pending_verifications()
    if pending:
        raise RuleViolation(
            f"case {merged.case_id} awaits verification {pending[0].verification_id}; "
            "merge it after the verification completes"
        )
    assert survivor.account_ref is not None
    fact = {
        "survivor_case_id": survivor.case_id,
        "merged_case_id": merged.case_id,
        "account_ref": survivor.account_ref,
        "contact_ids": [c.contact_id for c in merged.contacts],
        "customer_ids": sorted(merged.viewers),
        "merged_at": command.at,
    }
    into = Draft(survivor)
    into.add(CaseMerged(case_id=survivor.case_id, **fact))
    away = Draft(merged)
    away.add(CaseMerged(case_id=merged.case_id, **fact))
    away.status(CaseStatus.MERGED, f"merged_into:{survivor.case_id}", command.at)
    return into.finish(command.at), away.finish(command.at)


def decide_split(
    source: Case, command: SplitContact, facts: CaseFacts = NO_FACTS
) -> tuple[list[EventPayload], list[EventPayload]]:
    """One contact leaves ``source`` and opens a case of its own (another problem/account)."""
    require_active(source, "split a contact out")
    assert source.case_id is not None
    assert source.account_ref is not None
    contact = next((c for c in source.contacts if c.contact_id == command.contact_id), None)
    if contact is None:
        raise NotFound(f"no contact {command.contact_id} on case {source.case_id}")
    if len(source.contacts) == 1:
        raise RuleViolation("the only contact of a case cannot be split out")
    account_ref = command.account_ref or source.account_ref
    if (account_ref, command.case_type) == (source.account_ref, source.case_type):
        raise RuleViolation("a contact split out must be about another problem or account")
    assert source.language is not None
    away = Draft(source)
    away.add(
        ContactSplit(
            case_id=source.case_id,
            contact_id=command.contact_id,
            new_case_id=command.new_case_id,
            split_at=command.at,
        )
    )
    opened = decide_open(
        Case(),
        OpenCase(
            case_id=command.new_case_id,
            account_ref=account_ref,
            problem_category=PROBLEM_CATEGORY_OF[command.case_type],
            case_type=command.case_type,
            source=CaseSource(ticket_id=contact.ticket_id),
            customer_id=contact.customer_id,
            language=source.language,
            at=command.at,
            contact_id=command.contact_id,
            site_id=source.site_id,
            requester_role=source.requester_role,
            split_from_case_id=source.case_id,
            suspensions=facts.suspensions,
        ),
        CaseFacts(open_case=facts.open_case),
    )
    return away.finish(command.at), opened
