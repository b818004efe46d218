"""The ticket lifecycle, given/when/then: every transition an event with who and when; every
illegal transition refused (409) with a reason, producing no event."""

from __future__ import annotations

import pytest

from contracts.base import EventPayload
from contracts.events.checkin import (
    ContactUnanswered,
    NoShowReason,
    TicketCallbackRequested,
    TicketCompleted,
    TicketLeft,
    TicketNoShow,
    TicketParked,
    TicketPositionChanged,
    TicketPriorityRaised,
    TicketRecalled,
    TicketReturned,
    TicketServingStarted,
    TicketTransferred,
    TicketWaitEstimated,
    WaitEstimate,
)
from contracts.events.checkin_sites import AssignmentRule
from contracts.vocabulary import Channel, ServiceQueue
from runtime.errors import NotFound, RuleViolation
from services.checkin.domain.tickets import (
    NO_FACTS,
    AssignContact,
    CallTicket,
    CompleteTicket,
    ExpireAssignment,
    IssueTicket,
    LeaveQueue,
    MarkNoShow,
    ParkTicket,
    RaisePriority,
    RecallTicket,
    RecordEstimate,
    RecordPosition,
    RequestCallback,
    ReturnTicket,
    StartServing,
    TicketStatus,
    TransferTicket,
    decide,
    estimate_shifted,
    evolve,
    position_notice_due,
)
from tests.unit.checkin.fixtures import (
    AGENT,
    DESK,
    T0,
    TICKET_ID,
    called,
    given,
    intake,
    issued,
    minutes,
    serving,
)

pytestmark = pytest.mark.unit

ISSUED = issued()
CALLED = called()
SERVING = serving()


def estimate(expected: int, ahead: int = 3) -> WaitEstimate:
    return WaitEstimate(
        ahead=ahead,
        expected_minutes=expected,
        low_minutes=max(0, expected - 5),
        high_minutes=expected + 5,
        agents_serving=2,
        basis="recent_service_times",
        estimated_at=T0,
    )


def test_issue_carries_the_local_service_day_the_estimate_and_the_intake() -> None:
    command = IssueTicket(
        ticket_id=TICKET_ID,
        site_id="sz-futian-01",
        queue=ServiceQueue.ACCOUNT_SECURITY,
        sequence=17,
        channel=Channel.WALK_IN,
        customer_id="cust-demo-0001",
        intake=intake(),
        at=T0,
        service_day=T0.date(),
        estimate=estimate(20),
    )
    [event] = decide(given(), NO_FACTS, command)
    assert event == issued(number="A017", service_day=T0.date(), estimate=estimate(20))
    ticket = given(event)
    assert ticket.status is TicketStatus.WAITING
    assert ticket.arrival_at == T0
    assert ticket.first_estimate == ticket.estimate == estimate(20)


def test_the_whole_happy_path() -> None:
    state = given(ISSUED)
    steps: list[CallTicket | RecallTicket | StartServing | CompleteTicket] = [
        CallTicket(desk_id=DESK, agent_id=AGENT, at=T0 + minutes(10)),
        RecallTicket(agent_id=AGENT, at=T0 + minutes(11), max_recalls=2),
        StartServing(agent_id=AGENT, at=T0 + minutes(12)),
        CompleteTicket(agent_id=AGENT, at=T0 + minutes(27), resolution="restored"),
    ]
    statuses = []
    for command in steps:
        for event in decide(state, NO_FACTS, command):
            state = evolve(state, event)
        statuses.append(state.status)
    assert statuses == [
        TicketStatus.CALLED,
        TicketStatus.CALLED,
        TicketStatus.SERVING,
        TicketStatus.COMPLETED,
    ]
    assert state.recalls == 1
    assert state.ended_at == T0 + minutes(27)
    assert state.is_final


def test_complete_records_who_and_the_service_time() -> None:
    [event] = decide(
        given(ISSUED, CALLED, SERVING),
        NO_FACTS,
        CompleteTicket(agent_id=AGENT, at=T0 + minutes(27), resolution="restored"),
    )
    assert event == TicketCompleted(
        ticket_id=TICKET_ID,
        agent_id=AGENT,
        resolution="restored",
        service_seconds=15 * 60,
        completed_at=T0 + minutes(27),
        account_ref=ISSUED.intake.account_ref,  # whose key seals the resolution
    )


def test_start_serving_is_by_the_agent_who_called() -> None:
    [event] = decide(
        given(ISSUED, CALLED), NO_FACTS, StartServing(agent_id=AGENT, at=T0 + minutes(12))
    )
    assert event == TicketServingStarted(
        ticket_id=TICKET_ID, desk_id=DESK, agent_id=AGENT, started_at=T0 + minutes(12)
    )
    with pytest.raises(RuleViolation, match="called by agent agent-demo-042, not by you"):
        decide(given(ISSUED, CALLED), NO_FACTS, StartServing(agent_id="someone-else", at=T0))
    # a supervisor may act for the desk
    assert decide(
        given(ISSUED, CALLED), NO_FACTS, StartServing(agent_id="sup", at=T0, override=True)
    )


@pytest.mark.parametrize(
    ("history", "command", "message"),
    [
        (
            (ISSUED,),
            StartServing(agent_id=AGENT, at=T0),
            "cannot start serving a ticket that is waiting",
        ),
        (
            (ISSUED,),
            CompleteTicket(agent_id=AGENT, at=T0),
            "cannot complete a ticket that is waiting",
        ),
        (
            (ISSUED, CALLED),
            CompleteTicket(agent_id=AGENT, at=T0),
            "cannot complete a ticket that is called",
        ),
        (
            (ISSUED,),
            RecallTicket(agent_id=AGENT, at=T0, max_recalls=2),
            "cannot recall a ticket that is waiting",
        ),
        (
            (ISSUED, CALLED, SERVING),
            RecallTicket(agent_id=AGENT, at=T0, max_recalls=2),
            "cannot recall a ticket that is serving",
        ),
        (
            (ISSUED, CALLED, SERVING),
            MarkNoShow(at=T0),
            "cannot mark a no-show a ticket that is serving",
        ),
        (
            (ISSUED,),
            TransferTicket(agent_id=AGENT, to_queue=ServiceQueue.GENERAL, at=T0),
            "cannot transfer a ticket that is waiting",
        ),
        ((ISSUED, CALLED, SERVING), ParkTicket(at=T0), "cannot park a ticket that is serving"),
        ((ISSUED,), ReturnTicket(at=T0), "cannot return a ticket that is waiting"),
        (
            (ISSUED, CALLED, SERVING),
            LeaveQueue(reason=None, at=T0),
            "cannot leave the queue with a ticket that is serving",
        ),
        (
            (ISSUED, CALLED),
            CallTicket(desk_id=DESK, agent_id=AGENT, at=T0),
            "cannot call a ticket that is called",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_illegal_transitions_are_refused_with_why(
    history: tuple[EventPayload, ...], command: object, message: str
) -> None:
    with pytest.raises(RuleViolation) as refused:
        decide(given(*history), NO_FACTS, command)  # type: ignore[arg-type]
    assert refused.value.detail == message
    assert refused.value.status == 409


FINALS = {
    "completed": (
        ISSUED,
        CALLED,
        SERVING,
        TicketCompleted(
            ticket_id=TICKET_ID, agent_id=AGENT, service_seconds=60, completed_at=T0 + minutes(20)
        ),
    ),
    "no_show": (
        ISSUED,
        CALLED,
        TicketNoShow(
            ticket_id=TICKET_ID, reason=NoShowReason.MARKED_BY_AGENT, recalls=0, at=T0 + minutes(15)
        ),
    ),
    "left": (ISSUED, TicketLeft(ticket_id=TICKET_ID, left_at=T0 + minutes(5))),
}
EVERY_COMMAND = [
    CallTicket(desk_id=DESK, agent_id=AGENT, at=T0),
    RecallTicket(agent_id=AGENT, at=T0, max_recalls=5),
    StartServing(agent_id=AGENT, at=T0),
    CompleteTicket(agent_id=AGENT, at=T0),
    TransferTicket(agent_id=AGENT, to_queue=ServiceQueue.GENERAL, at=T0),
    MarkNoShow(at=T0),
    ParkTicket(at=T0),
    ReturnTicket(at=T0),
    LeaveQueue(reason=None, at=T0),
]


@pytest.mark.parametrize("final", sorted(FINALS))
@pytest.mark.parametrize("command", EVERY_COMMAND, ids=lambda c: type(c).__name__)
def test_a_final_ticket_accepts_no_transition(final: str, command: object) -> None:
    state = given(*FINALS[final])
    assert state.is_final
    with pytest.raises(RuleViolation, match=f"that is {final}"):
        decide(state, NO_FACTS, command)  # type: ignore[arg-type]


@pytest.mark.parametrize("command", EVERY_COMMAND, ids=lambda c: type(c).__name__)
def test_commands_on_a_ticket_never_issued_are_not_found(command: object) -> None:
    with pytest.raises(NotFound):
        decide(given(), NO_FACTS, command)  # type: ignore[arg-type]


# -- recall and no-show -----------------------------------------------------------------------


def test_recalls_count_up_to_the_limit_then_the_desk_must_mark_a_no_show() -> None:
    recall = RecallTicket(agent_id=AGENT, at=T0 + minutes(11), max_recalls=2)
    [first] = decide(given(ISSUED, CALLED), NO_FACTS, recall)
    assert first == TicketRecalled(
        ticket_id=TICKET_ID, desk_id=DESK, agent_id=AGENT, recall_number=1, recalled_at=recall.at
    )
    second = TicketRecalled(
        ticket_id=TICKET_ID, desk_id=DESK, agent_id=AGENT, recall_number=2, recalled_at=recall.at
    )
    with pytest.raises(RuleViolation, match=r"already recalled 2 times .* mark it a no-show"):
        decide(given(ISSUED, CALLED, first, second), NO_FACTS, recall)
    [no_show] = decide(
        given(ISSUED, CALLED, first, second),
        NO_FACTS,
        MarkNoShow(at=T0 + minutes(14), reason=NoShowReason.RECALLS_EXHAUSTED, agent_id=AGENT),
    )
    assert no_show == TicketNoShow(
        ticket_id=TICKET_ID,
        reason=NoShowReason.RECALLS_EXHAUSTED,
        recalls=2,
        agent_id=AGENT,
        at=T0 + minutes(14),
    )


# -- park and return --------------------------------------------------------------------------


@pytest.mark.parametrize("history", [(ISSUED,), (ISSUED, CALLED)], ids=["waiting", "called"])
def test_park_and_return_keep_the_original_arrival_time(history: tuple[EventPayload, ...]) -> None:
    [parked] = decide(
        given(*history), NO_FACTS, ParkTicket(at=T0 + minutes(12), reason="fetching ID card")
    )
    assert parked == TicketParked(
        ticket_id=TICKET_ID, reason="fetching ID card", parked_at=T0 + minutes(12)
    )
    state = given(*history, parked)
    assert state.status is TicketStatus.PARKED
    assert state.agent_id is None
    [returned] = decide(state, NO_FACTS, ReturnTicket(at=T0 + minutes(30)))
    assert returned == TicketReturned(ticket_id=TICKET_ID, returned_at=T0 + minutes(30))
    back = given(*history, parked, returned)
    assert back.status is TicketStatus.WAITING
    assert back.arrival_at == T0  # its place in the queue


def test_a_parked_visitor_may_leave() -> None:
    parked = TicketParked(ticket_id=TICKET_ID, parked_at=T0 + minutes(1))
    assert decide(given(ISSUED, parked), NO_FACTS, LeaveQueue(reason=None, at=T0 + minutes(2)))


# -- transfer ---------------------------------------------------------------------------------


def test_transfer_to_a_specialist_keeps_the_arrival_time_and_waits_again() -> None:
    command = TransferTicket(
        agent_id=AGENT,
        to_queue=ServiceQueue.MINORS_FAMILY,
        at=T0 + minutes(20),
        required_skill="minors_refunds",
        reason="minor's game spending",
    )
    [event] = decide(given(ISSUED, CALLED, SERVING), NO_FACTS, command)
    assert event == TicketTransferred(
        ticket_id=TICKET_ID,
        from_queue=ServiceQueue.ACCOUNT_SECURITY,
        to_queue=ServiceQueue.MINORS_FAMILY,
        required_skill="minors_refunds",
        agent_id=AGENT,
        reason="minor's game spending",
        arrival_at=T0,
        transferred_at=T0 + minutes(20),
    )
    state = given(ISSUED, CALLED, SERVING, event)
    assert state.status is TicketStatus.WAITING
    assert state.queue is ServiceQueue.MINORS_FAMILY
    assert state.required_skill == "minors_refunds"
    assert state.arrival_at == T0
    assert (state.agent_id, state.desk_id, state.transfers, state.last_agent_id) == (
        None,
        None,
        1,
        AGENT,
    )


def test_transfer_to_the_same_queue_without_a_specialist_is_refused() -> None:
    with pytest.raises(RuleViolation, match="already in account_security"):
        decide(
            given(ISSUED, CALLED, SERVING),
            NO_FACTS,
            TransferTicket(agent_id=AGENT, to_queue=ServiceQueue.ACCOUNT_SECURITY, at=T0),
        )


# -- priority, estimates, positions -----------------------------------------------------------


def test_an_escalated_case_raises_a_waiting_tickets_priority_once() -> None:
    command = RaisePriority(at=T0 + minutes(3), case_id=TICKET_ID)
    [event] = decide(given(ISSUED), NO_FACTS, command)
    assert event == TicketPriorityRaised(
        ticket_id=TICKET_ID, reason="escalated_case", case_id=TICKET_ID, raised_at=command.at
    )
    assert given(ISSUED, event).escalated
    assert decide(given(ISSUED, event), NO_FACTS, command) == []  # already raised
    assert decide(given(ISSUED, CALLED), NO_FACTS, command) == []  # no longer waiting


def test_an_estimate_is_announced_only_when_it_shifts_past_the_margin() -> None:
    told = issued(estimate=estimate(20))
    assert decide(given(told), NO_FACTS, RecordEstimate(estimate(24), margin_minutes=5)) == []
    [event] = decide(given(told), NO_FACTS, RecordEstimate(estimate(31), margin_minutes=5))
    assert event == TicketWaitEstimated(
        ticket_id=TICKET_ID, estimate=estimate(31), previous_expected_minutes=20
    )
    assert given(told, event).estimate == estimate(31)
    assert given(told, event).first_estimate == estimate(20)  # what accuracy is measured on


@pytest.mark.parametrize(
    ("told", "new", "margin", "shifted"),
    [
        (None, 10, 5, True),
        (20, 25, 5, False),
        (20, 26, 5, True),
        (120, 145, 5, False),
        (120, 151, 5, True),
        (6, 0, 5, True),
        (6, 2, 5, False),
    ],
)
def test_shift_threshold_is_the_margin_or_a_quarter(
    told: int | None, new: int, margin: int, shifted: bool
) -> None:
    assert (
        estimate_shifted(estimate(told) if told is not None else None, estimate(new), margin)
        is shifted
    )


@pytest.mark.parametrize(
    ("told", "ahead", "due"),
    [
        (None, 7, True),
        (7, 6, False),
        (6, 5, True),
        (5, 5, False),
        (5, 4, False),
        (4, 3, True),
        (3, 2, False),
        (2, 1, True),
        (1, 0, True),
        (12, 4, True),
        (3, 4, False),
    ],
)
def test_position_notices(told: int | None, ahead: int, due: bool) -> None:
    assert position_notice_due(told, ahead) is due


def test_virtual_queue_holders_are_told_n_ahead_and_you_are_next() -> None:
    virtual = issued(channel=Channel.VIRTUAL_QUEUE)
    [three] = decide(given(virtual), NO_FACTS, RecordPosition(ahead=3, expected_minutes=12, at=T0))
    assert three == TicketPositionChanged(
        ticket_id=TICKET_ID, ahead=3, you_are_next=False, expected_minutes=12, at=T0
    )
    assert (
        decide(given(virtual, three), NO_FACTS, RecordPosition(ahead=2, expected_minutes=8, at=T0))
        == []
    )
    [next_] = decide(
        given(virtual, three), NO_FACTS, RecordPosition(ahead=0, expected_minutes=1, at=T0)
    )
    assert next_.you_are_next  # type: ignore[attr-defined]
    # walk-ins see the board; no position events for them
    assert decide(given(ISSUED), NO_FACTS, RecordPosition(ahead=0, expected_minutes=1, at=T0)) == []


# -- remote contacts --------------------------------------------------------------------------


def test_a_remote_contact_is_assigned_then_unanswered_goes_back_to_the_pool() -> None:
    chat = issued(channel=Channel.CHAT_WECHAT)
    assign = AssignContact(
        agent_id=AGENT,
        desk_id="remote-chengdu",
        rule=AssignmentRule.FEWEST_ACTIVE,
        answer_by=T0 + minutes(1),
        at=T0,
    )
    assigned, call = decide(given(chat), NO_FACTS, assign)
    state = given(chat, assigned, call)
    assert state.status is TicketStatus.CALLED
    assert state.answer_by == T0 + minutes(1)
    assert decide(state, NO_FACTS, ExpireAssignment(at=T0 + minutes(0.5))) == []  # not yet
    [unanswered] = decide(state, NO_FACTS, ExpireAssignment(at=T0 + minutes(1)))
    assert unanswered == ContactUnanswered(ticket_id=TICKET_ID, agent_id=AGENT, at=T0 + minutes(1))
    back = given(chat, assigned, call, unanswered)
    assert back.status is TicketStatus.WAITING
    assert back.last_agent_id == AGENT
    assert back.arrival_at == T0
    # answered in time: the timer finds nothing to do
    answered = given(chat, assigned, call, serving())
    assert decide(answered, NO_FACTS, ExpireAssignment(at=T0 + minutes(5))) == []


def test_walk_ins_are_called_not_assigned() -> None:
    with pytest.raises(RuleViolation, match="call it"):
        decide(
            given(ISSUED),
            NO_FACTS,
            AssignContact(
                agent_id=AGENT, desk_id=DESK, rule=AssignmentRule.ROUND_ROBIN, answer_by=T0, at=T0
            ),
        )


def test_a_phone_caller_can_ask_for_a_callback_keeping_the_place() -> None:
    phone = issued(channel=Channel.PHONE)
    [event] = decide(given(phone), NO_FACTS, RequestCallback(at=T0 + minutes(4)))
    assert event == TicketCallbackRequested(ticket_id=TICKET_ID, requested_at=T0 + minutes(4))
    state = given(phone, event)
    assert state.callback_requested
    assert state.arrival_at == T0
    with pytest.raises(RuleViolation, match="already requested"):
        decide(state, NO_FACTS, RequestCallback(at=T0 + minutes(5)))
    with pytest.raises(RuleViolation, match="only a caller waiting on the phone"):
        decide(given(ISSUED), NO_FACTS, RequestCallback(at=T0))
