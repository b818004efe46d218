"""A phone caller's queue callback: waiting for the turn, due when the contact is assigned,
closed by the ticket's end; exactly one per ticket."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from contracts.base import EventPayload
from contracts.events.checkin import (
    NoShowReason,
    TicketCompleted,
    TicketLeft,
    TicketNoShow,
    TicketTransferred,
)
from contracts.events.notifications import (
    CallbackAccepted,
    CallbackActor,
    CallbackAttemptRecorded,
    CallbackAttemptsExhausted,
    CallbackCancelled,
    CallbackCompleted,
    CallbackMissed,
    CallbackOutcome,
    CallbackScheduled,
    NotificationKind,
    QueueCallbackRequested,
)
from contracts.vocabulary import LanguagePreference, ServiceQueue
from runtime.errors import RuleViolation
from services.notifications.domain.callbacks import (
    CALLBACK,
    Callback,
    CallbackStatus,
    RecordAttempt,
    decide_attempt,
    decide_deadline,
)
from services.notifications.domain.queue_callbacks import (
    RequestQueueCallback,
    TicketEnd,
    TicketEnded,
    TurnCame,
    decide_queue_request,
    decide_ticket_ended,
    decide_turn,
    queue_callback_id,
    ticket_end_of,
    wait_left,
)
from services.notifications.domain.templates import render

pytestmark = pytest.mark.unit

TICKET = UUID("3c4d5e6f-7081-4923-a4b5-c6d7e8f90a1b")
CASE = UUID("7c2f1a40-6a0b-5f3e-9c1d-2b4e6f8a0c13")
T0 = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)  # 21:00 in Shanghai: quiet hours do not apply


def request(**overrides: object) -> RequestQueueCallback:
    values: dict[str, object] = {
        "ticket_id": TICKET,
        "ticket_number": "P012",
        "queue": ServiceQueue.WALLET_PAYMENTS,
        "account_ref": "acct-fake-0042",
        "customer_id": None,
        "phone": "+8613800000042",
        "language": LanguagePreference(tag="zh-CN"),
        "expected_minutes": 25,
        "at": T0,
    }
    values.update(overrides)
    return RequestQueueCallback(**values)  # type: ignore[arg-type]


def turn(at: datetime = T0 + timedelta(minutes=20), agent: str = "agent-1") -> TurnCame:
    return TurnCame(
        agent_id=agent,
        case_id=CASE,
        timezone="Asia/Shanghai",
        window=timedelta(minutes=15),
        answer_by=at + timedelta(seconds=45),
        max_attempts=3,
        attempt_spacing=timedelta(minutes=5),
        at=at,
    )


def fold(*batches: list[EventPayload]) -> Callback:
    return CALLBACK.fold([event for batch in batches for event in batch])


def waiting() -> tuple[Callback, list[EventPayload]]:
    events = decide_queue_request(Callback(), request())
    return fold(events), events


def due() -> tuple[Callback, list[EventPayload]]:
    state, requested = waiting()
    events = decide_turn(state, turn())
    return fold(requested, events), [*requested, *events]


def test_the_callback_id_is_derived_from_the_ticket() -> None:
    assert queue_callback_id(TICKET) == queue_callback_id(TICKET)
    assert queue_callback_id(TICKET) != queue_callback_id(CASE)


def test_a_request_records_the_caller_waiting_for_their_turn() -> None:
    state, events = waiting()
    [requested] = events
    assert isinstance(requested, QueueCallbackRequested)
    assert requested.callback_id == queue_callback_id(TICKET)
    assert requested.expected_minutes == 25
    assert state.status is CallbackStatus.WAITING_TURN
    assert state.recipient_ref == "account:acct-fake-0042"
    assert decide_queue_request(state, request()) == []  # a repeat changes nothing


def test_nothing_can_be_attempted_before_the_turn() -> None:
    state, _ = waiting()
    with pytest.raises(RuleViolation, match="turn has not come"):
        decide_attempt(state, RecordAttempt(CallbackOutcome.REACHED, "agent-1", T0))
    assert decide_deadline(state, T0 + timedelta(days=1)) == []


def test_the_turn_makes_it_due_at_once_for_the_agent_and_queue() -> None:
    state, requested = waiting()
    at = T0 + timedelta(minutes=20)
    accepted, scheduled = decide_turn(state, turn(at))
    assert isinstance(accepted, CallbackAccepted)
    assert isinstance(scheduled, CallbackScheduled)
    assert accepted.ticket_id == TICKET
    assert accepted.agent_id == "agent-1"
    assert accepted.case_id == CASE
    assert accepted.queue is ServiceQueue.WALLET_PAYMENTS
    assert accepted.phone == "+8613800000042"
    assert accepted.requested_by is CallbackActor.CUSTOMER
    assert accepted.quiet_hours is None  # the caller is waiting now: any hour is theirs
    assert (accepted.window_start, accepted.window_end) == (at, at + timedelta(minutes=15))
    assert scheduled.due_at == at
    assert scheduled.within_window
    state = fold(requested, [accepted, scheduled])
    assert state.status is CallbackStatus.SCHEDULED
    assert state.ticket_id == TICKET
    assert state.ticket_number == "P012"


def test_the_window_is_at_least_the_contacts_answer_window() -> None:
    state, _ = waiting()
    long_answer = TurnCame(**{**turn().__dict__, "answer_by": T0 + timedelta(hours=1)})
    accepted = decide_turn(state, long_answer)[0]
    assert isinstance(accepted, CallbackAccepted)
    assert accepted.window_end == T0 + timedelta(hours=1)


def test_a_re_offer_or_a_repeated_assignment_makes_no_second_callback() -> None:
    state, events = due()
    assert decide_turn(state, turn(agent="agent-2")) == []
    assert decide_turn(state, turn()) == []
    assert [type(e) for e in events].count(CallbackAccepted) == 1


def test_no_answer_re_attempts_within_the_window_then_we_tried_then_missed() -> None:
    state, events = due()
    at = T0 + timedelta(minutes=20)
    first = decide_attempt(state, RecordAttempt(CallbackOutcome.NO_ANSWER, "agent-1", at))
    assert isinstance(first[0], CallbackAttemptRecorded)
    assert first[0].next_attempt_at == at + timedelta(minutes=5)
    state = fold(events, first)
    second = decide_attempt(
        state, RecordAttempt(CallbackOutcome.NO_ANSWER, "agent-1", at + timedelta(minutes=5))
    )
    state = fold(events, first, second)
    third = decide_attempt(
        state, RecordAttempt(CallbackOutcome.NO_ANSWER, "agent-1", at + timedelta(minutes=10))
    )
    assert isinstance(third[-1], CallbackAttemptsExhausted)
    state = fold(events, first, second, third)
    assert decide_deadline(state, at + timedelta(minutes=14)) == []
    [missed] = decide_deadline(state, at + timedelta(minutes=15))
    assert isinstance(missed, CallbackMissed)
    assert missed.case_id == CASE
    assert missed.attempts == 3


def test_reached_completes_and_the_tickets_end_changes_nothing_more() -> None:
    state, events = due()
    reached = decide_attempt(
        state, RecordAttempt(CallbackOutcome.REACHED, "agent-1", T0 + timedelta(minutes=21))
    )
    assert isinstance(reached[-1], CallbackCompleted)
    state = fold(events, reached)
    for end in TicketEnd:
        assert decide_ticket_ended(state, TicketEnded(end, T0 + timedelta(minutes=40))) == []


@pytest.mark.parametrize(
    ("end", "closing", "by"),
    [
        (TicketEnd.COMPLETED, CallbackCompleted, None),
        (TicketEnd.LEFT, CallbackCancelled, CallbackActor.CUSTOMER),
        (TicketEnd.NO_SHOW, CallbackMissed, None),
        (TicketEnd.TRANSFERRED, CallbackCancelled, CallbackActor.STAFF),
    ],
)
def test_the_tickets_end_closes_a_due_callback(
    end: TicketEnd, closing: type[EventPayload], by: CallbackActor | None
) -> None:
    state, _ = due()
    [event] = decide_ticket_ended(state, TicketEnded(end, T0 + timedelta(minutes=30), "general"))
    assert isinstance(event, closing)
    if isinstance(event, CallbackCancelled):
        assert event.by is by
    if isinstance(event, CallbackCompleted):
        assert event.attempts == 1  # served: the agent had the caller


@pytest.mark.parametrize("end", list(TicketEnd))
def test_the_tickets_end_before_the_turn_cancels_it(end: TicketEnd) -> None:
    state, events = waiting()
    [event] = decide_ticket_ended(state, TicketEnded(end, T0 + timedelta(minutes=3)))
    assert isinstance(event, CallbackCancelled)
    assert event.by is (CallbackActor.CUSTOMER if end is TicketEnd.LEFT else CallbackActor.STAFF)
    closed = fold(events, [event])
    assert closed.status is CallbackStatus.CANCELLED
    assert decide_turn(closed, turn()) == []  # a late assignment makes nothing due


def test_no_ticket_end_for_a_callback_that_does_not_exist() -> None:
    assert decide_ticket_ended(Callback(), TicketEnded(TicketEnd.LEFT, T0)) == []
    assert decide_turn(Callback(), turn()) == []


def test_which_ticket_events_end_it() -> None:
    at = T0 + timedelta(minutes=30)
    completed = TicketCompleted(ticket_id=TICKET, agent_id="a", service_seconds=60, completed_at=at)
    left = TicketLeft(ticket_id=TICKET, left_at=at)
    no_show = TicketNoShow(ticket_id=TICKET, reason=next(iter(NoShowReason)), recalls=0, at=at)
    transferred = TicketTransferred(
        ticket_id=TICKET,
        from_queue=ServiceQueue.WALLET_PAYMENTS,
        to_queue=ServiceQueue.GENERAL,
        agent_id="a",
        arrival_at=T0,
        transferred_at=at,
    )
    assert ticket_end_of(completed) == (TICKET, TicketEnded(TicketEnd.COMPLETED, at))
    assert ticket_end_of(left) == (TICKET, TicketEnded(TicketEnd.LEFT, at))
    assert ticket_end_of(no_show) == (TICKET, TicketEnded(TicketEnd.NO_SHOW, at))
    assert ticket_end_of(transferred) == (
        TICKET,
        TicketEnded(TicketEnd.TRANSFERRED, at, "general"),
    )
    assert ticket_end_of(object()) is None


def test_the_wait_left_counts_down_from_the_latest_estimate() -> None:
    assert wait_left(None, None, T0) is None
    assert wait_left(25, T0, T0) == 25
    assert wait_left(25, T0, T0 + timedelta(minutes=10, seconds=59)) == 15
    assert wait_left(25, T0, T0 + timedelta(hours=1)) == 0


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("zh-CN", "轮到您时我们会给您回电"),
        ("en", "We will call you back when your turn comes"),
        ("fr", "Nous vous rappellerons"),
        ("de", "Wir rufen Sie zurück"),
        ("ja", "こちらからお電話します"),
    ],
)
def test_the_caller_is_told_in_their_language(language: str, expected: str) -> None:
    with_wait = render(
        NotificationKind.QUEUE_CALLBACK_REQUESTED,
        language,
        {"number": "P012", "wait_minutes": "25"},
    )
    assert expected in with_wait.body
    assert "P012" in with_wait.body
    assert "25" in with_wait.body
    without = render(NotificationKind.QUEUE_CALLBACK_REQUESTED, language, {"number": "P012"})
    assert "25" not in without.body
