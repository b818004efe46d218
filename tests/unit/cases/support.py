"""Builders for the cases unit tests: given events, when a command, then events or an error."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from contracts import EventPayload
from contracts.events.cases import CaseSource, CaseStatus, CaseType, SuspensionRule
from contracts.vocabulary import (
    AccessibilityNeed,
    Channel,
    LanguagePreference,
    PersonRole,
    ProxyRelationship,
)
from services.cases.domain.case import (
    CASE,
    AttachContact,
    Case,
    ChangeStatus,
    OpenCase,
    RecordVerification,
    RequestVerification,
    decide_attach,
    decide_change_status,
    decide_open,
    decide_record_verification,
    decide_request_verification,
)
from services.cases.domain.case_types import PROBLEM_CATEGORY_OF

# Monday 2026-11-23 10:00 in Shanghai: inside the service centres' hours (09:00-21:00)
T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
CASE_ID = UUID("d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f70")
ACCOUNT = "acct-fake-7f3c2a"


def opening(
    case_type: CaseType = CaseType.ACCOUNT_SUSPENSION_APPEAL,
    *,
    at: datetime = T0,
    case_id: UUID = CASE_ID,
    language: str = "zh-CN",
    proxy: ProxyRelationship | None = None,
    accessibility: tuple[AccessibilityNeed, ...] = (),
    suspensions: tuple[SuspensionRule, ...] = (),
) -> OpenCase:
    return OpenCase(
        case_id=case_id,
        account_ref=ACCOUNT,
        problem_category=PROBLEM_CATEGORY_OF[case_type],
        case_type=case_type,
        source=CaseSource(channel=Channel.WALK_IN, ticket_id=uuid4()),
        customer_id="cust-demo-0001",
        language=LanguagePreference(tag=language),
        at=at,
        contact_id=uuid4(),
        site_id="shenzhen-01",
        requester_role=PersonRole.PROXY if proxy else PersonRole.HOLDER,
        proxy_relationship=proxy,
        accessibility_needs=accessibility,
        suspensions=suspensions,
    )


def contact(at: datetime, customer_id: str = "cust-demo-0001") -> AttachContact:
    return AttachContact(
        contact_id=uuid4(),
        source=CaseSource(channel=Channel.PHONE),
        customer_id=customer_id,
        language=LanguagePreference(tag="zh-CN"),
        at=at,
        words="calling again",
    )


class Given:
    """A case built from its history, one command at a time (what the event store does)."""

    def __init__(self, history: Iterable[EventPayload] = ()) -> None:
        self.history: list[EventPayload] = list(history)

    @property
    def case(self) -> Case:
        return CASE.fold(self.history)

    def apply(self, events: list[EventPayload]) -> list[EventPayload]:
        self.history += events
        return events

    def open(self, command: OpenCase | None = None) -> Given:
        self.apply(decide_open(self.case, command or opening()))
        return self

    def attach(self, at: datetime, customer_id: str = "cust-demo-0001") -> list[EventPayload]:
        return self.apply(decide_attach(self.case, contact(at, customer_id)))

    def status(self, to: CaseStatus, role: str = "agent", at: datetime = T0) -> Given:
        self.apply(decide_change_status(self.case, ChangeStatus(to, "agent", role, at)))
        return self

    def verify(
        self,
        outcome: str = "verified",
        role: PersonRole | None = None,
        at: datetime = T0 + timedelta(minutes=20),
    ) -> UUID:
        verification_id = uuid4()
        command = RequestVerification(verification_id, at, person_role=role)
        self.apply(decide_request_verification(self.case, command))
        pending = self.case.pending_verifications()[-1]
        self.apply(
            decide_record_verification(
                self.case,
                RecordVerification(
                    verification_id,
                    pending.purpose,
                    pending.person_role,
                    outcome,
                    (),
                    at + timedelta(minutes=10),
                ),
            )
        )
        return verification_id


def types_of(events: list[EventPayload]) -> list[str]:
    return [event.event_type for event in events]
