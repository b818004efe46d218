"""Routing ("call next"): skills and language first, then priority, then the longest wait,
with aging (nothing starves) and relaxation after a wait limit (said in the match)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts.events.checkin import MatchLevel
from contracts.vocabulary import LanguagePreference, ServiceQueue
from services.checkin.domain.routing import (
    DEFAULT_POLICY,
    AgentSkills,
    WaitingTicket,
    choose_next,
    effective_wait,
    language_match,
    queue_order,
    starvation_bound,
)

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
MANDARIN = LanguagePreference(tag="zh-CN", dialect="cmn")
CANTONESE = LanguagePreference(tag="zh-HK", dialect="yue")
CHINESE = LanguagePreference(tag="zh-CN")
ENGLISH = LanguagePreference(tag="en")
A = ServiceQueue.ACCOUNT_SECURITY
W = ServiceQueue.WALLET_PAYMENTS


def agent(
    name: str = "li",
    queues: tuple[ServiceQueue, ...] = (A,),
    languages: tuple[LanguagePreference, ...] = (MANDARIN,),
    skills: tuple[str, ...] = (),
) -> AgentSkills:
    return AgentSkills(name, frozenset(queues), frozenset(skills), languages)


def ticket(
    number: str,
    waited_minutes: float,
    queue: ServiceQueue = A,
    language: LanguagePreference = CHINESE,
    **flags: object,
) -> WaitingTicket:
    return WaitingTicket(
        ticket_id=uuid.uuid5(uuid.NAMESPACE_URL, number),
        number=number,
        queue=queue,
        arrival_at=NOW - timedelta(minutes=waited_minutes),
        language=language,
        **flags,  # type: ignore[arg-type]
    )


def pick(me: AgentSkills, waiting: list[WaitingTicket], present: list[AgentSkills] | None = None):  # type: ignore[no-untyped-def]
    return choose_next(me, waiting, present if present is not None else [me], NOW)


@pytest.mark.parametrize(
    ("wanted", "spoken", "level"),
    [
        (CHINESE, (MANDARIN,), MatchLevel.EXACT),
        (CANTONESE, (CANTONESE,), MatchLevel.EXACT),
        (CANTONESE, (MANDARIN,), MatchLevel.DIALECT_RELAXED),
        (CANTONESE, (LanguagePreference(tag="zh-CN"),), MatchLevel.DIALECT_RELAXED),
        (CANTONESE, (ENGLISH,), MatchLevel.LANGUAGE_RELAXED),
        (ENGLISH, (MANDARIN, LanguagePreference(tag="en-GB")), MatchLevel.EXACT),
        (LanguagePreference(tag="zh-HK", dialect="YUE"), (CANTONESE,), MatchLevel.EXACT),
    ],
)
def test_language_match(
    wanted: LanguagePreference, spoken: tuple[LanguagePreference, ...], level: MatchLevel
) -> None:
    assert language_match(wanted, spoken) is level


def test_nobody_is_served_outside_the_agents_queues() -> None:
    assert pick(agent(queues=(A,)), [ticket("W001", 90, queue=W)]) is None


def test_the_longest_wait_first_among_equals() -> None:
    chosen = pick(agent(), [ticket("A002", 10), ticket("A001", 25), ticket("A003", 5)])
    assert chosen.ticket.number == "A001"
    assert chosen.match.language is MatchLevel.EXACT
    assert not chosen.match.relaxed
    assert chosen.match.waited_minutes == 25


def test_language_before_wait_an_elderly_cantonese_speaker_waits_for_a_cantonese_desk() -> None:
    elderly = ticket("A001", 15, language=CANTONESE, accessibility=True)
    mandarin_desk, cantonese_desk = agent("li"), agent("chan", languages=(CANTONESE,))
    present = [mandarin_desk, cantonese_desk]
    assert pick(mandarin_desk, [elderly], present) is None
    assert pick(cantonese_desk, [elderly], present).ticket.number == "A001"


def test_the_requirement_relaxes_after_the_limit_when_nobody_better_is_present() -> None:
    mandarin_desk = agent("li")
    early = ticket("A001", 19, language=CANTONESE)
    late = ticket("A001", 21, language=CANTONESE)
    assert pick(mandarin_desk, [early]) is None  # before the limit: wait for a match
    chosen = pick(mandarin_desk, [late])
    assert chosen.match.language is MatchLevel.DIALECT_RELAXED
    assert chosen.match.relaxed
    assert "nobody present speaks zh-HK/yue" in chosen.match.explanation
    # a Cantonese speaker is present (even busy): no relaxation
    assert (
        pick(mandarin_desk, [late], [mandarin_desk, agent("chan", languages=(CANTONESE,))]) is None
    )


def test_relaxation_goes_to_the_next_best_match_present() -> None:
    english_desk, mandarin_desk = agent("sam", languages=(ENGLISH,)), agent("li")
    cantonese = ticket("A001", 45, language=CANTONESE)
    present = [english_desk, mandarin_desk]
    # Mandarin (same language, other dialect) is better than English: only Li may take it
    assert pick(english_desk, [cantonese], present) is None
    assert pick(mandarin_desk, [cantonese], present).match.language is MatchLevel.DIALECT_RELAXED
    # with only the English speaker there, the language relaxes
    assert (
        pick(english_desk, [cantonese], [english_desk]).match.language
        is MatchLevel.LANGUAGE_RELAXED
    )


def test_specialist_skill_is_required_then_relaxed_when_no_specialist_is_present() -> None:
    general, specialist = agent("li"), agent("wu", skills=("minors_refunds",))
    needs = ticket("M001", 5, required_skill="minors_refunds", relax_after=timedelta(minutes=20))
    assert pick(general, [needs], [general, specialist]) is None
    assert pick(specialist, [needs], [general, specialist]).match.skill is MatchLevel.EXACT
    assert pick(general, [needs], [general]) is None  # not waited long enough
    waited = ticket("M001", 25, required_skill="minors_refunds")
    chosen = pick(general, [waited], [general])
    assert chosen.match.skill is MatchLevel.SKILL_RELAXED
    assert "no minors_refunds specialist present" in chosen.match.explanation


@pytest.mark.parametrize(
    ("flags", "reason"),
    [
        ({"accessibility": True}, "accessibility"),
        ({"escalated": True}, "escalated"),
        (
            {
                "appointment_start": NOW - timedelta(minutes=5),
                "appointment_end": NOW + timedelta(minutes=25),
            },
            "appointment",
        ),
    ],
)
def test_priority_is_a_head_start_over_walk_ins(flags: dict[str, Any], reason: str) -> None:
    walk_in = ticket("A001", 10)
    priority = ticket("A002", 2, **flags)
    chosen = pick(agent(), [walk_in, priority])
    assert chosen.ticket.number == "A002"
    assert chosen.match.priority_reasons == [reason]


def test_an_appointment_counts_only_from_its_slot_and_only_if_checked_in_in_its_window() -> None:
    future_slot = ticket(
        "A002",
        2,
        appointment_start=NOW + timedelta(minutes=30),
        appointment_end=NOW + timedelta(minutes=60),
    )
    assert pick(agent(), [ticket("A001", 10), future_slot]).ticket.number == "A001"


def test_aging_a_long_wait_beats_a_fresh_priority_ticket() -> None:
    old = ticket("A001", 50)
    fresh_elderly = ticket("A002", 1, accessibility=True, escalated=True)  # head start capped at 45
    assert pick(agent(), [old, fresh_elderly]).ticket.number == "A001"


def test_ties_go_to_the_earlier_arrival() -> None:
    first = ticket("A001", 10, accessibility=True)
    second = ticket("A002", 25)  # 10 + 15 == 25: same effective wait
    assert effective_wait(first, NOW, DEFAULT_POLICY) == effective_wait(second, NOW, DEFAULT_POLICY)
    assert pick(agent(), [first, second]).ticket.number == "A002"


def test_queue_order_is_agent_independent() -> None:
    tickets = [ticket("A001", 10), ticket("A002", 30), ticket("A003", 5, accessibility=True)]
    assert [t.number for t in queue_order(tickets, NOW)] == ["A002", "A003", "A001"]


def test_nothing_starves_no_ticket_is_passed_by_one_arriving_after_the_bound() -> None:
    """A random busy hour served by one agent: whenever a ticket is called, every ticket still
    waiting arrived less than ``starvation_bound`` before it (or is not eligible)."""
    rng = random.Random(4)
    bound = starvation_bound()
    me = agent(languages=(MANDARIN, ENGLISH))
    clock = NOW - timedelta(hours=4)
    waiting: list[WaitingTicket] = []
    violations = []
    for step in range(400):
        clock += timedelta(minutes=rng.uniform(0.5, 3))
        waiting.append(
            WaitingTicket(
                ticket_id=uuid.UUID(int=step),
                number=f"A{step:03d}",
                queue=A,
                arrival_at=clock,
                language=rng.choice([CHINESE, ENGLISH]),
                accessibility=rng.random() < 0.3,
                escalated=rng.random() < 0.1,
            )
        )
        if step % 2:  # serve at roughly the arrival rate
            chosen = choose_next(me, waiting, [me], clock)
            assert chosen is not None
            waiting.remove(chosen.ticket)
            violations += [
                (t.number, chosen.ticket.number)
                for t in waiting
                if chosen.ticket.arrival_at - t.arrival_at > bound
            ]
    assert violations == []
