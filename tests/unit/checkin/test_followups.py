"""Check-in follow-ups, pure rules: an agent who steps away releases the contacts offered to
them (``ReleaseContact``), per-kind answer windows, the remote part of the supervisor's
dashboard, and the staff views carrying no personal data."""

from __future__ import annotations

import types
import typing
from datetime import date, timedelta
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from contracts.base import PERSONAL_DATA_KEY
from contracts.events import checkin as checkin_events
from contracts.events.checkin import (
    ContactAssigned,
    ContactUnanswered,
    Intake,
    IntakeV1,
    UnansweredReason,
)
from contracts.events.checkin_sites import AnswerWindows, AssignmentRule, QueueSettings
from contracts.registry import REGISTRY
from contracts.vocabulary import Channel, ServiceQueue
from runtime.errors import NotFound, RuleViolation
from services.checkin.api import routers
from services.checkin.application.board import remote_contacts
from services.checkin.domain.assignment import answer_window
from services.checkin.domain.tickets import (
    NO_FACTS,
    TICKET,
    AssignContact,
    HandBackContact,
    ReleaseContact,
    Ticket,
    TicketStatus,
    decide,
    fold,
)
from tests.unit.checkin.fixtures import AGENT, DESK, T0, TICKET_ID, issued, minutes, serving

pytestmark = pytest.mark.unit

A = ServiceQueue.ACCOUNT_SECURITY


# -- an agent steps away: the contacts offered to them go back at once --------------------------


def offered(channel: Channel = Channel.CHAT_WECHAT, agent: str = AGENT) -> Ticket:
    """A chat offered to ``agent`` one minute after it arrived, answer within 60 s."""
    ticket = fold([issued(channel)])
    assign = AssignContact(
        agent_id=agent,
        desk_id=DESK,
        rule=AssignmentRule.ROUND_ROBIN,
        answer_by=T0 + minutes(2),
        at=T0 + minutes(1),
    )
    for event in decide(ticket, NO_FACTS, assign):
        ticket = ticket_evolve(ticket, event)
    return ticket


def ticket_evolve(ticket: Ticket, event: Any) -> Ticket:
    return TICKET.evolve(ticket, event)


@pytest.mark.parametrize(
    "reason", [UnansweredReason.AGENT_ON_BREAK, UnansweredReason.AGENT_SIGNED_OUT]
)
def test_an_offered_contact_is_released_at_once_keeping_its_place(
    reason: UnansweredReason,
) -> None:
    ticket = offered()
    at = T0 + minutes(1.5)  # before the answer window ends: no waiting for the timer
    events = decide(ticket, NO_FACTS, ReleaseContact(agent_id=AGENT, at=at, reason=reason))
    assert events == [ContactUnanswered(ticket_id=TICKET_ID, agent_id=AGENT, at=at, reason=reason)]
    after = ticket_evolve(ticket, events[0])
    assert after.status is TicketStatus.WAITING
    assert after.arrival_at == T0  # its place in the pool
    assert (after.agent_id, after.answer_by, after.last_agent_id) == (None, None, AGENT)
    # offered again later, the event says to whom it was offered before
    again = decide(
        after,
        NO_FACTS,
        AssignContact(
            agent_id="agent-demo-077",
            desk_id="remote-2",
            rule=AssignmentRule.FEWEST_ACTIVE,
            answer_by=at + minutes(1),
            at=at,
        ),
    )
    assert isinstance(again[0], ContactAssigned)
    assert again[0].previous_agent_id == AGENT


def test_a_signed_out_agents_answered_contact_waits_again_at_the_front_for_the_next() -> None:
    answered = ticket_evolve(offered(), serving(T0 + minutes(1.2)))
    at = T0 + minutes(30)
    events = decide(answered, NO_FACTS, HandBackContact(agent_id=AGENT, at=at))
    assert events == [
        checkin_events.TicketTransferred(
            ticket_id=TICKET_ID,
            from_queue=A,
            to_queue=A,
            required_skill=None,
            agent_id=AGENT,
            reason="agent_signed_out",  # the event says why
            arrival_at=T0,  # ahead of everyone who came after it
            transferred_at=at,
        )
    ]
    after = ticket_evolve(answered, events[0])
    assert (after.status, after.agent_id, after.last_agent_id) == (
        TicketStatus.WAITING,
        None,
        AGENT,
    )
    assert after.arrival_at == T0
    # finished meanwhile, or someone else's: nothing; a walk-in at a desk: finish it there
    assert decide(after, NO_FACTS, HandBackContact(agent_id=AGENT, at=at)) == []
    assert decide(answered, NO_FACTS, HandBackContact(agent_id="agent-demo-077", at=at)) == []
    walk_in = ticket_evolve(
        fold([issued(Channel.WALK_IN)]),
        checkin_events.TicketCalled(
            ticket_id=TICKET_ID, desk_id=DESK, agent_id=AGENT, called_at=T0 + minutes(3)
        ),
    )
    walk_in = ticket_evolve(walk_in, serving())
    with pytest.raises(RuleViolation, match="desk"):
        decide(walk_in, NO_FACTS, HandBackContact(agent_id=AGENT, at=at))


def test_a_contact_answered_ended_or_offered_to_someone_else_is_not_released() -> None:
    release = ReleaseContact(
        agent_id=AGENT, at=T0 + minutes(1.5), reason=UnansweredReason.AGENT_ON_BREAK
    )
    answered = ticket_evolve(offered(), serving(T0 + minutes(1.2)))
    assert decide(answered, NO_FACTS, release) == []
    assert decide(offered(agent="agent-demo-077"), NO_FACTS, release) == []
    assert decide(fold([issued(Channel.CHAT_WEB)]), NO_FACTS, release) == []  # in the pool
    # a walk-in called to the agent's desk is not an offered contact (no answer window)
    walk_in = fold([issued(Channel.WALK_IN)])
    walk_in = ticket_evolve(
        walk_in,
        checkin_events.TicketCalled(
            ticket_id=TICKET_ID, desk_id=DESK, agent_id=AGENT, called_at=T0 + minutes(3)
        ),
    )
    assert decide(walk_in, NO_FACTS, release) == []
    with pytest.raises(NotFound):
        decide(Ticket(), NO_FACTS, release)


def test_a_contact_unanswered_event_without_a_reason_means_its_window_ended() -> None:
    stored = {"ticket_id": str(TICKET_ID), "agent_id": AGENT, "at": T0.isoformat()}
    decoded = REGISTRY.decode("checkin.contact_unanswered", 1, stored)
    assert isinstance(decoded, ContactUnanswered)
    assert decoded.reason is UnansweredReason.ANSWER_WINDOW_ENDED


# -- per-kind answer windows ---------------------------------------------------------------------


def test_one_window_for_every_kind_unless_overridden_per_kind() -> None:
    plain = QueueSettings(queue=A, answer_within_seconds=90)
    for channel in (Channel.PHONE, Channel.CHAT_QQ, Channel.EMAIL):
        assert answer_window(plain, channel) == timedelta(seconds=90)

    tuned = QueueSettings(
        queue=A,
        answer_within_seconds=90,
        answer_windows=AnswerWindows(phone=20, email=4 * 3600),
    )
    assert answer_window(tuned, Channel.PHONE) == timedelta(seconds=20)
    assert answer_window(tuned, Channel.EMAIL) == timedelta(hours=4)
    # chats are not overridden: the queue's window; QQ, WeChat and web chats are one kind
    for chat in (Channel.CHAT_QQ, Channel.CHAT_WECHAT, Channel.CHAT_WEB):
        assert answer_window(tuned, chat) == timedelta(seconds=90)
    chats = QueueSettings(queue=A, answer_windows=AnswerWindows(chat=150))
    assert {answer_window(chats, c) for c in (Channel.CHAT_QQ, Channel.CHAT_WEB)} == {
        timedelta(seconds=150)
    }
    with pytest.raises(ValueError, match="not a remote channel"):
        answer_window(tuned, Channel.WALK_IN)


@pytest.mark.parametrize(
    "windows",
    [{"phone": 4}, {"phone": 3601}, {"chat": 86401}, {"email": 7 * 86400 + 1}, {"email": 0}],
)
def test_answer_windows_are_bounded(windows: dict[str, int]) -> None:
    with pytest.raises(ValidationError):
        QueueSettings.model_validate({"queue": "general", "answer_windows": windows})


def test_answer_windows_are_optional_and_additive() -> None:
    # a site configured before the field existed reads as one window for every kind
    settings = QueueSettings.model_validate({"queue": "general", "answer_within_seconds": 45})
    assert settings.answer_windows is None
    week = QueueSettings.model_validate({"queue": "general", "answer_windows": {"email": 604800}})
    assert week.answer_windows == AnswerWindows(email=604800)


# -- the dashboard's remote part ----------------------------------------------------------------

TODAY = date(2026, 11, 23)


def row(status: str, offers: int = 0, unanswered: int = 0, released: int = 0, **other: Any) -> Any:
    values = {
        "status": status,
        "offers": offers,
        "unanswered": unanswered,
        "released": released,
        "service_day": TODAY,
        **other,
    }
    return values


def test_remote_dashboard_counts_the_pool_the_unanswered_offers_and_reassignments() -> None:
    tickets = [
        row("waiting"),  # arrived, nobody had room: never offered
        row("waiting", offers=1, released=1),  # its agent went on a break: back in the pool
        row("called", offers=1),  # offered, not answered yet
        row("called", offers=2, unanswered=1),  # window ran out, offered to another agent
        row("serving", offers=3, unanswered=1, released=1),
        row("completed", offers=1),
        row("completed", offers=2, released=1, service_day=TODAY - timedelta(days=1)),
    ]
    assert remote_contacts(tickets, TODAY) == {
        "in_pool": 2,
        "offered_not_answered": 2,
        "offered_today": 5,
        "reassigned_today": 2,
        "reassigned_share_today": 0.4,
        "returned_today": {"unanswered": 2, "released": 2},
    }


def test_remote_dashboard_before_any_offer() -> None:
    assert remote_contacts([row("waiting")], TODAY)["reassigned_share_today"] is None
    assert remote_contacts([], TODAY)["offered_today"] == 0


# -- staff reads: no personal data in any check-in view --------------------------------------


def personal_fields() -> set[str]:
    """The fields check-in's contracts mark as personal data (the intake's phone and words)."""
    names: set[str] = set()
    for model in (Intake, IntakeV1):
        for name, info in model.model_fields.items():
            extra = info.json_schema_extra
            if isinstance(extra, dict) and extra.get(PERSONAL_DATA_KEY):
                names.add(name)
    return names


def models_in(annotation: Any) -> list[type[BaseModel]]:
    """Every pydantic model an annotation refers to, nested ones included."""
    found: list[type[BaseModel]] = []
    stack = [annotation]
    while stack:
        current = stack.pop()
        if isinstance(current, type) and issubclass(current, BaseModel):
            if current not in found:
                found.append(current)
                stack.extend(info.annotation for info in current.model_fields.values())
            continue
        origin = typing.get_origin(current)
        if origin is not None or isinstance(current, types.UnionType):
            stack.extend(typing.get_args(current))
    return found


def test_the_intake_has_personal_fields_that_no_staff_view_shows() -> None:
    personal = personal_fields()
    assert personal == {"contact_phone", "description"}  # what the views must not carry
    routes = [route for router in routers for route in router.routes]
    views = {
        model for route in routes for model in models_in(getattr(route, "response_model", None))
    }
    assert {m.__name__ for m in views} >= {
        "TicketView",
        "CalledView",
        "ContactView",
        "MyContacts",
        "AssignedContact",
        "AgentView",
        "SiteView",
        "AppointmentView",
    }
    for model in views:
        assert model not in (Intake, IntakeV1, checkin_events.ActingFor), model
        assert not personal & set(model.model_fields), (model.__name__, personal)


def test_the_endpoints_without_a_view_model_are_the_counted_read_model_answers() -> None:
    """Board, dashboard, estimate accuracy and the reception's day view answer dicts built
    from read models that hold ids and numbers only (pinned over HTTP in the integration
    test ``test_staff_reads_show_no_personal_data``)."""
    untyped = sorted(
        route.path  # type: ignore[attr-defined]
        for router in routers
        for route in router.routes
        if not models_in(getattr(route, "response_model", None))
        and "GET" in getattr(route, "methods", set())
    )
    assert untyped == [
        "/agents/{agent_id}/live",  # the live streams push these same read-model views
        "/sites/{site_id}/appointments",
        "/sites/{site_id}/board",
        "/sites/{site_id}/board/live",
        "/sites/{site_id}/dashboard",
        "/sites/{site_id}/dashboard/live",
        "/sites/{site_id}/estimate-accuracy",
        "/tickets/{ticket_id}/live",
    ]
