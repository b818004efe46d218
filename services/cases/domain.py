"""The case aggregate: pure decisions and folds, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from contracts.base import EventPayload
from contracts.events.cases import CaseOpened, CaseSource, CaseType
from contracts.vocabulary import LanguagePreference, ProblemCategory
from runtime.errors import RuleViolation
from runtime.eventstore import AggregateType

CASE_TYPE_OF: dict[ProblemCategory, CaseType] = {
    ProblemCategory.ACCOUNT_SUSPENDED: CaseType.ACCOUNT_SUSPENSION_APPEAL,
    ProblemCategory.ACCOUNT_RECOVERY_LOST_PHONE: CaseType.ACCOUNT_RECOVERY_LOST_PHONE,
    ProblemCategory.WALLET_REACTIVATION: CaseType.WALLET_REACTIVATION,
    ProblemCategory.THIRD_PARTY_REPORT_DISPUTE: CaseType.THIRD_PARTY_REPORT_DISPUTE,
    ProblemCategory.MINOR_SPENDING_REFUND: CaseType.MINOR_SPENDING_REFUND,
    ProblemCategory.OTHER: CaseType.OTHER,
}


class CaseStatus(StrEnum):
    NOT_OPENED = "not_opened"
    OPEN = "open"


@dataclass(frozen=True)
class Case:
    status: CaseStatus = CaseStatus.NOT_OPENED
    case_id: UUID | None = None
    account_ref: str | None = None
    case_type: CaseType | None = None
    customer_id: str | None = None


@dataclass(frozen=True)
class OpenCase:
    case_id: UUID
    account_ref: str
    problem_category: ProblemCategory
    source: CaseSource
    customer_id: str | None
    language: LanguagePreference
    at: datetime
    summary: str | None = None


def decide_open(case: Case, command: OpenCase) -> list[EventPayload]:
    if case.status is not CaseStatus.NOT_OPENED:
        raise RuleViolation("this case is already open")
    return [
        CaseOpened(
            case_id=command.case_id,
            account_ref=command.account_ref,
            case_type=CASE_TYPE_OF[command.problem_category],
            problem_category=command.problem_category,
            source=command.source,
            customer_id=command.customer_id,
            language=command.language,
            summary=command.summary,
            opened_at=command.at,
        )
    ]


def evolve(case: Case, event: EventPayload) -> Case:
    if isinstance(event, CaseOpened):
        return Case(
            status=CaseStatus.OPEN,
            case_id=event.case_id,
            account_ref=event.account_ref,
            case_type=event.case_type,
            customer_id=event.customer_id,
        )
    return case


CASE = AggregateType[Case]("case", Case, evolve)
