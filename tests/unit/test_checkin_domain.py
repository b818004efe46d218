"""The ticket aggregate, given/when/then: given past events, when a command, then events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from contracts.base import EventPayload
from contracts.events.checkin import Intake, TicketCalled, TicketIssued, TicketLeft
from contracts.vocabulary import Channel, LanguagePreference, ProblemCategory, ServiceQueue
from runtime.errors import NotFound, RuleViolation
from services.checkin.domain import (
    DEFAULT_QUEUE,
    NO_FACTS,
    TICKET,
    TICKET_PREFIX,
    CallTicket,
    IssueTicket,
    LeaveQueue,
    Ticket,
    TicketStatus,
    decide,
    evolve,
    ticket_number,
)

pytestmark = pytest.mark.unit

TICKET_ID = UUID("3f2a9c4e-8b1d-4e6f-9a7c-2d5e8f1b3c60")
T0 = datetime(2025, 3, 14, 1, 30, tzinfo=UTC)
INTAKE = Intake(
    problem_category=ProblemCategory.ACCOUNT_SUSPENDED,
    account_ref="acct-fake-7f3c2a",
    contact_phone="+8613800000000",
    language=LanguagePreference(tag="zh-CN"),
)


def issue(queue: ServiceQueue = ServiceQueue.ACCOUNT_SECURITY, sequence: int = 1) -> IssueTicket:
    return IssueTicket(
        ticket_id=TICKET_ID,
        site_id="sz-futian-01",
        queue=queue,
        sequence=sequence,
        channel=Channel.WALK_IN,
        customer_id="cust-demo-0001",
        intake=INTAKE,
        at=T0,
    )


CALL = CallTicket(desk_id="desk-07", agent_id="agent-demo-042", at=T0 + timedelta(minutes=17))
LEAVE = LeaveQueue(reason="waited too long", at=T0 + timedelta(minutes=35))

ISSUED = TicketIssued(
    ticket_id=TICKET_ID,
    site_id="sz-futian-01",
    queue=ServiceQueue.ACCOUNT_SECURITY,
    number="A001",
    channel=Channel.WALK_IN,
    customer_id="cust-demo-0001",
    intake=INTAKE,
    issued_at=T0,
)
CALLED = TicketCalled(
    ticket_id=TICKET_ID,
    desk_id="desk-07",
    agent_id="agent-demo-042",
    called_at=CALL.at,
    channel=Channel.WALK_IN,
)
# the ticket's account seals the leaver's words (erased with the account)
LEFT = TicketLeft(
    ticket_id=TICKET_ID, reason="waited too long", left_at=LEAVE.at, account_ref=INTAKE.account_ref
)


def given(*events: EventPayload) -> Ticket:
    return TICKET.fold(list(events))


# -- issue ------------------------------------------------------------------------------------


def test_issue_a_new_ticket() -> None:
    events = decide(given(), NO_FACTS, issue())

    assert events == [ISSUED]
    assert events[0].event_type == "checkin.ticket_issued"
    assert events[0].schema_version == 2


@pytest.mark.parametrize(
    ("queue", "sequence", "number"),
    [
        (ServiceQueue.ACCOUNT_SECURITY, 1, "A001"),
        (ServiceQueue.WALLET_PAYMENTS, 12, "W012"),
        (ServiceQueue.MINORS_FAMILY, 7, "M007"),
        (ServiceQueue.COMMERCE_DISPUTES, 123, "D123"),
        (ServiceQueue.GENERAL, 45, "G045"),
    ],
)
def test_the_number_is_the_queue_prefix_and_a_three_digit_sequence(
    queue: ServiceQueue, sequence: int, number: str
) -> None:
    assert ticket_number(queue, sequence) == number
    [event] = decide(given(), NO_FACTS, issue(queue, sequence))
    assert isinstance(event, TicketIssued)
    assert event.number == number
    assert event.queue is queue


@pytest.mark.parametrize(
    "history",
    [pytest.param((ISSUED,), id="waiting"), pytest.param((ISSUED, CALLED, LEFT), id="left")],
)
def test_a_ticket_cannot_be_issued_twice(history: tuple[EventPayload, ...]) -> None:
    with pytest.raises(RuleViolation, match="already issued") as refused:
        decide(given(*history), NO_FACTS, issue())
    assert refused.value.status == 409


# -- call -------------------------------------------------------------------------------------


def test_call_a_waiting_ticket() -> None:
    assert decide(given(ISSUED), NO_FACTS, CALL) == [CALLED]


@pytest.mark.parametrize(
    ("history", "message"),
    [
        pytest.param((ISSUED, CALLED), "cannot call a ticket that is called", id="called-twice"),
        pytest.param((ISSUED, LEFT), "cannot call a ticket that is left", id="left"),
        pytest.param((ISSUED, CALLED, LEFT), "cannot call a ticket that is left", id="called-left"),
    ],
)
def test_a_ticket_can_only_be_called_while_waiting(
    history: tuple[EventPayload, ...], message: str
) -> None:
    with pytest.raises(RuleViolation) as refused:
        decide(given(*history), NO_FACTS, CALL)
    assert refused.value.detail == message
    assert refused.value.status == 409


@pytest.mark.parametrize("command", [CALL, LEAVE], ids=["call", "leave"])
def test_a_ticket_never_issued_is_not_found(command: object) -> None:
    with pytest.raises(NotFound, match="no such ticket") as missing:
        decide(given(), NO_FACTS, command)  # type: ignore[arg-type]
    assert missing.value.status == 404


# -- leave ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "history",
    [pytest.param((ISSUED,), id="from-waiting"), pytest.param((ISSUED, CALLED), id="from-called")],
)
def test_leave_the_queue(history: tuple[EventPayload, ...]) -> None:
    assert decide(given(*history), NO_FACTS, LEAVE) == [LEFT]


def test_leaving_without_a_reason() -> None:
    [event] = decide(given(ISSUED), NO_FACTS, LeaveQueue(reason=None, at=LEAVE.at))
    assert event == TicketLeft(
        ticket_id=TICKET_ID, reason=None, left_at=LEAVE.at, account_ref=INTAKE.account_ref
    )


@pytest.mark.parametrize(
    ("history", "message"),
    [
        pytest.param(
            (ISSUED, LEFT), "cannot leave the queue with a ticket that is left", id="left-twice"
        ),
    ],
)
def test_leaving_needs_a_waiting_or_called_ticket(
    history: tuple[EventPayload, ...], message: str
) -> None:
    with pytest.raises(RuleViolation) as refused:
        decide(given(*history), NO_FACTS, LEAVE)
    assert refused.value.detail == message


# -- evolve / fold ----------------------------------------------------------------------------


def test_fold_of_no_events_is_a_ticket_not_yet_issued() -> None:
    assert given() == Ticket()
    assert given().status is TicketStatus.NOT_ISSUED


def test_fold_issued() -> None:
    ticket = given(ISSUED)
    assert (ticket.status, ticket.ticket_id, ticket.site_id, ticket.queue) == (
        TicketStatus.WAITING,
        TICKET_ID,
        "sz-futian-01",
        ServiceQueue.ACCOUNT_SECURITY,
    )
    assert (ticket.number, ticket.channel, ticket.customer_id) == (
        "A001",
        Channel.WALK_IN,
        "cust-demo-0001",
    )
    assert (ticket.problem_category, ticket.issued_at) == (ProblemCategory.ACCOUNT_SUSPENDED, T0)


def test_fold_issued_called_left_keeps_the_history_of_the_ticket() -> None:
    called = given(ISSUED, CALLED)
    assert called.status is TicketStatus.CALLED
    assert (called.desk_id, called.called_at) == ("desk-07", CALL.at)
    assert called.number == "A001"

    left = given(ISSUED, CALLED, LEFT)
    assert left.status is TicketStatus.LEFT
    assert left.left_at == LEAVE.at
    assert (left.desk_id, left.called_at, left.number) == ("desk-07", CALL.at, "A001")


def test_evolve_agrees_with_fold_step_by_step() -> None:
    state = Ticket()
    for event in (ISSUED, CALLED, LEFT):
        state = evolve(state, event)
    assert state == given(ISSUED, CALLED, LEFT)


def test_decide_then_evolve_walks_the_whole_life_of_a_ticket() -> None:
    state = Ticket()
    statuses = []
    for command in (issue(), CALL, LEAVE):
        for event in decide(state, NO_FACTS, command):
            state = evolve(state, event)
        statuses.append(state.status)
    assert statuses == [TicketStatus.WAITING, TicketStatus.CALLED, TicketStatus.LEFT]


# -- queues -----------------------------------------------------------------------------------


def test_every_problem_category_has_a_default_queue() -> None:
    assert set(DEFAULT_QUEUE) == set(ProblemCategory)


def test_every_queue_has_a_distinct_single_letter_prefix() -> None:
    assert set(TICKET_PREFIX) == set(ServiceQueue)
    prefixes = list(TICKET_PREFIX.values())
    assert len(set(prefixes)) == len(prefixes)
    assert all(len(prefix) == 1 and prefix.isupper() for prefix in prefixes)


def test_lost_phone_recovery_waits_in_the_account_security_queue() -> None:
    assert DEFAULT_QUEUE[ProblemCategory.ACCOUNT_RECOVERY_LOST_PHONE] is (
        ServiceQueue.ACCOUNT_SECURITY
    )
    assert DEFAULT_QUEUE[ProblemCategory.OTHER] is ServiceQueue.GENERAL
