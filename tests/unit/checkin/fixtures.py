"""Shared given-data of the check-in unit tests (obviously fake)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from contracts.base import EventPayload
from contracts.events.checkin import Intake, TicketCalled, TicketIssued, TicketServingStarted
from contracts.vocabulary import Channel, LanguagePreference, ProblemCategory, ServiceQueue
from services.checkin.domain.tickets import TICKET, Ticket

TICKET_ID = UUID("3f2a9c4e-8b1d-4e6f-9a7c-2d5e8f1b3c60")
T0 = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)
AGENT = "agent-demo-042"
DESK = "desk-07"


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def intake(
    category: ProblemCategory = ProblemCategory.ACCOUNT_SUSPENDED,
    language: LanguagePreference | None = None,
) -> Intake:
    return Intake(
        problem_category=category,
        account_ref="acct-fake-7f3c2a",
        contact_phone="+8613800000000",
        language=language or LanguagePreference(tag="zh-CN"),
    )


def issued(channel: Channel = Channel.WALK_IN, **overrides: object) -> TicketIssued:
    values: dict[str, object] = {
        "ticket_id": TICKET_ID,
        "site_id": "sz-futian-01",
        "queue": ServiceQueue.ACCOUNT_SECURITY,
        "number": "A001",
        "channel": channel,
        "customer_id": "cust-demo-0001",
        "intake": intake(),
        "issued_at": T0,
    }
    values.update(overrides)
    return TicketIssued(**values)  # type: ignore[arg-type]


def called(at: datetime | None = None, agent: str = AGENT) -> TicketCalled:
    return TicketCalled(
        ticket_id=TICKET_ID, desk_id=DESK, agent_id=agent, called_at=at or T0 + minutes(10)
    )


def serving(at: datetime | None = None) -> TicketServingStarted:
    return TicketServingStarted(
        ticket_id=TICKET_ID, desk_id=DESK, agent_id=AGENT, started_at=at or T0 + minutes(12)
    )


def given(*events: EventPayload) -> Ticket:
    return TICKET.fold(list(events))
