"""How a rule drafts its events: event by event, each applied to the state as it is added, so
a later rule of the same command sees what the earlier events made (an attach that raises the
priority, then escalates); at the end the service-level clocks are re-planned on the site's
business calendar (``service_levels.plan_service_levels``) and, when they changed, a
``service_levels_scheduled`` event is added. And the guards every rule starts with."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from contracts.base import EventPayload
from contracts.events.cases import (
    CaseEscalated,
    CaseStatus,
    StatusChanged,
)
from runtime.errors import NotFound, RuleViolation
from services.cases.domain.case_commands import (
    ALREADY_OPEN,
    CaseFacts,
)
from services.cases.domain.case_state import (
    Case,
    evolve,
    waiting_on,
)
from services.cases.domain.service_levels import plan_service_levels


def require_free_problem(case_id: UUID, facts: CaseFacts) -> None:
    """One unresolved case per account and problem (the index also guards it on append)."""
    if facts.open_case is not None and facts.open_case != case_id:
        raise RuleViolation(ALREADY_OPEN.format(owner=facts.open_case))


class Draft:
    """The events of one decision, applied to the state as they are added."""

    def __init__(self, case: Case) -> None:
        self.before = case
        self.case = case
        self.events: list[EventPayload] = []

    def add(self, event: EventPayload) -> None:
        self.events.append(event)
        self.case = evolve(self.case, event)

    def status(self, to: CaseStatus, reason: str, at: datetime) -> None:
        assert self.case.status is not None
        assert self.case.case_id is not None
        self.add(
            StatusChanged(
                case_id=self.case.case_id,
                from_status=self.case.status,
                to_status=to,
                waiting_on=waiting_on(self.case, to),
                reason=reason,
                changed_at=at,
            )
        )

    def escalate(self, reason: str, at: datetime) -> None:
        case = self.case
        assert case.case_id is not None
        assert case.account_ref is not None
        self.add(
            CaseEscalated(
                case_id=case.case_id,
                account_ref=case.account_ref,
                reason=reason,
                level=case.escalation_level + 1,
                escalated_at=at,
            )
        )
        if self.case.status is not CaseStatus.ESCALATED:
            self.status(CaseStatus.ESCALATED, f"escalated:{reason}", at)

    def finish(
        self,
        at: datetime,
        *,
        responded: bool = False,
        customer_contacted: bool = False,
        restarted: bool = False,
    ) -> list[EventPayload]:
        planned = plan_service_levels(
            self.before,
            self.case,
            at,
            responded=responded,
            customer_contacted=customer_contacted,
            restarted=restarted,
        )
        if planned is not None:
            self.add(planned)
        return self.events


def require_opened(case: Case) -> None:
    if not case.opened:
        raise NotFound("no such case")


def require_active(case: Case, doing: str) -> None:
    require_opened(case)
    if not case.active:
        assert case.status is not None
        raise RuleViolation(f"cannot {doing}: the case is {case.status.value}")
