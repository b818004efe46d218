"""The ticket aggregate: pure decisions and folds, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from contracts.base import EventPayload
from contracts.events.checkin import Intake, TicketCalled, TicketIssued, TicketLeft
from contracts.vocabulary import Channel, ProblemCategory, ServiceQueue
from runtime.errors import NotFound, RuleViolation
from runtime.eventstore import AggregateType

TICKET_PREFIX: dict[ServiceQueue, str] = {
    ServiceQueue.ACCOUNT_SECURITY: "A",
    ServiceQueue.WALLET_PAYMENTS: "W",
    ServiceQueue.MINORS_FAMILY: "M",
    ServiceQueue.COMMERCE_DISPUTES: "D",
    ServiceQueue.GENERAL: "G",
}

DEFAULT_QUEUE: dict[ProblemCategory, ServiceQueue] = {
    ProblemCategory.ACCOUNT_SUSPENDED: ServiceQueue.ACCOUNT_SECURITY,
    ProblemCategory.ACCOUNT_RECOVERY_LOST_PHONE: ServiceQueue.ACCOUNT_SECURITY,
    ProblemCategory.WALLET_REACTIVATION: ServiceQueue.WALLET_PAYMENTS,
    ProblemCategory.THIRD_PARTY_REPORT_DISPUTE: ServiceQueue.COMMERCE_DISPUTES,
    ProblemCategory.MINOR_SPENDING_REFUND: ServiceQueue.MINORS_FAMILY,
    ProblemCategory.OTHER: ServiceQueue.GENERAL,
}


def ticket_number(queue: ServiceQueue, sequence: int) -> str:
    """A017-style number shown to the person: the queue's prefix and a 3-digit sequence."""
    return f"{TICKET_PREFIX[queue]}{sequence:03d}"


class TicketStatus(StrEnum):
    NOT_ISSUED = "not_issued"
    WAITING = "waiting"
    CALLED = "called"
    LEFT = "left"


@dataclass(frozen=True)
class Ticket:
    status: TicketStatus = TicketStatus.NOT_ISSUED
    ticket_id: UUID | None = None
    site_id: str | None = None
    queue: ServiceQueue | None = None
    number: str | None = None
    channel: Channel | None = None
    customer_id: str | None = None
    problem_category: ProblemCategory | None = None
    issued_at: datetime | None = None
    desk_id: str | None = None
    called_at: datetime | None = None
    left_at: datetime | None = None


# -- commands ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssueTicket:
    ticket_id: UUID
    site_id: str
    queue: ServiceQueue
    sequence: int
    channel: Channel
    customer_id: str | None
    intake: Intake
    at: datetime


@dataclass(frozen=True)
class CallTicket:
    desk_id: str
    agent_id: str
    at: datetime


@dataclass(frozen=True)
class LeaveQueue:
    reason: str | None
    at: datetime


Command = IssueTicket | CallTicket | LeaveQueue


def decide(ticket: Ticket, command: Command) -> list[EventPayload]:
    match command:
        case IssueTicket():
            if ticket.status is not TicketStatus.NOT_ISSUED:
                raise RuleViolation("this ticket was already issued")
            return [
                TicketIssued(
                    ticket_id=command.ticket_id,
                    site_id=command.site_id,
                    queue=command.queue,
                    number=ticket_number(command.queue, command.sequence),
                    channel=command.channel,
                    customer_id=command.customer_id,
                    intake=command.intake,
                    issued_at=command.at,
                )
            ]
        case CallTicket():
            _require(ticket, {TicketStatus.WAITING}, "call")
            assert ticket.ticket_id is not None
            return [
                TicketCalled(
                    ticket_id=ticket.ticket_id,
                    desk_id=command.desk_id,
                    agent_id=command.agent_id,
                    called_at=command.at,
                )
            ]
        case LeaveQueue():
            _require(ticket, {TicketStatus.WAITING, TicketStatus.CALLED}, "leave the queue with")
            assert ticket.ticket_id is not None
            return [
                TicketLeft(ticket_id=ticket.ticket_id, reason=command.reason, left_at=command.at)
            ]
    raise TypeError(f"unknown command {command!r}")


def _require(ticket: Ticket, allowed: set[TicketStatus], action: str) -> None:
    if ticket.status is TicketStatus.NOT_ISSUED:
        raise NotFound("no such ticket")
    if ticket.status not in allowed:
        raise RuleViolation(f"cannot {action} a ticket that is {ticket.status.value}")


def evolve(ticket: Ticket, event: EventPayload) -> Ticket:
    match event:
        case TicketIssued():
            return Ticket(
                status=TicketStatus.WAITING,
                ticket_id=event.ticket_id,
                site_id=event.site_id,
                queue=event.queue,
                number=event.number,
                channel=event.channel,
                customer_id=event.customer_id,
                problem_category=event.intake.problem_category,
                issued_at=event.issued_at,
            )
        case TicketCalled():
            return replace(
                ticket, status=TicketStatus.CALLED, desk_id=event.desk_id, called_at=event.called_at
            )
        case TicketLeft():
            return replace(ticket, status=TicketStatus.LEFT, left_at=event.left_at)
    return ticket


TICKET = AggregateType[Ticket]("ticket", Ticket, evolve)
