"""Who is served next: pure functions, no I/O.

"Call next" at a desk picks, among the tickets the desk's agent may serve, the one with the
largest *effective wait*:

    effective wait = time waited since arrival
                   + priority head start (appointment in its window, accessibility needs,
                     escalated repeat contact; capped at ``max_head_start``)
                   - penalty of a relaxed match (another dialect, another language, a waived
                     specialist skill)

Eligibility comes first: the agent must serve the ticket's queue, speak its language (and
dialect) and hold its specialist skill. Only when a ticket has waited ``relax_after`` with no
present agent who matches better does the requirement relax, to the best match present (the
called event says so). Priority is a bounded head start, not an absolute class: a ticket is
never passed by a ticket that arrived more than ``max_head_start`` (+ the largest relaxation
penalty it does not pay) after it, so nothing starves — the aging is built into the score.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from contracts.events.checkin import MatchLevel, RoutingMatch
from contracts.vocabulary import LanguagePreference, ServiceQueue

LANGUAGE_RANK = {
    MatchLevel.EXACT: 0,
    MatchLevel.DIALECT_RELAXED: 1,
    MatchLevel.LANGUAGE_RELAXED: 2,
}


@dataclass(frozen=True)
class RoutingPolicy:
    appointment_head_start: timedelta = timedelta(minutes=30)
    accessibility_head_start: timedelta = timedelta(minutes=15)
    escalation_head_start: timedelta = timedelta(minutes=20)
    max_head_start: timedelta = timedelta(minutes=45)
    dialect_penalty: timedelta = timedelta(minutes=10)
    language_penalty: timedelta = timedelta(minutes=20)
    skill_penalty: timedelta = timedelta(minutes=15)


DEFAULT_POLICY = RoutingPolicy()


@dataclass(frozen=True)
class WaitingTicket:
    """What routing needs to know about a waiting ticket."""

    ticket_id: UUID
    number: str
    queue: ServiceQueue
    arrival_at: datetime
    language: LanguagePreference
    required_skill: str | None = None
    accessibility: bool = False
    escalated: bool = False
    appointment_start: datetime | None = None
    appointment_end: datetime | None = None
    relax_after: timedelta = timedelta(minutes=20)


@dataclass(frozen=True)
class AgentSkills:
    agent_id: str
    queues: frozenset[ServiceQueue]
    specialist_skills: frozenset[str]
    languages: tuple[LanguagePreference, ...]


@dataclass(frozen=True)
class Pick:
    ticket: WaitingTicket
    match: RoutingMatch
    score: timedelta


def primary_language(tag: str) -> str:
    return tag.split("-")[0].lower()


def language_match(wanted: LanguagePreference, spoken: Iterable[LanguagePreference]) -> MatchLevel:
    """exact: same language and (no dialect asked, or the same dialect); dialect_relaxed: same
    language, another dialect; language_relaxed: the agent does not speak it."""
    best = MatchLevel.LANGUAGE_RELAXED
    for language in spoken:
        if primary_language(language.tag) != primary_language(wanted.tag):
            continue
        if wanted.dialect is None or (language.dialect or "").lower() == wanted.dialect.lower():
            return MatchLevel.EXACT
        best = MatchLevel.DIALECT_RELAXED
    return best


def priority_reasons(ticket: WaitingTicket, now: datetime) -> list[str]:
    reasons = []
    if (
        ticket.appointment_start is not None
        and ticket.appointment_end is not None
        and ticket.appointment_start <= now
        and ticket.arrival_at <= ticket.appointment_end
    ):
        reasons.append("appointment")
    if ticket.accessibility:
        reasons.append("accessibility")
    if ticket.escalated:
        reasons.append("escalated")
    return reasons


def head_start(ticket: WaitingTicket, now: datetime, policy: RoutingPolicy) -> timedelta:
    bonus = {
        "appointment": policy.appointment_head_start,
        "accessibility": policy.accessibility_head_start,
        "escalated": policy.escalation_head_start,
    }
    total = sum((bonus[reason] for reason in priority_reasons(ticket, now)), timedelta())
    return min(total, policy.max_head_start)


def effective_wait(ticket: WaitingTicket, now: datetime, policy: RoutingPolicy) -> timedelta:
    return max(now - ticket.arrival_at, timedelta()) + head_start(ticket, now, policy)


def queue_place(
    ticket: WaitingTicket, now: datetime, policy: RoutingPolicy = DEFAULT_POLICY
) -> tuple[timedelta, datetime, str]:
    """Where a ticket stands in the queue's order: a smaller place is further ahead."""
    return -effective_wait(ticket, now, policy), ticket.arrival_at, str(ticket.ticket_id)


def queue_order(
    tickets: Sequence[WaitingTicket], now: datetime, policy: RoutingPolicy = DEFAULT_POLICY
) -> list[WaitingTicket]:
    """The queue's order for positions ("N ahead"): by effective wait, agent-independent."""
    return sorted(tickets, key=lambda t: queue_place(t, now, policy))


def best_present_language(ticket: WaitingTicket, present: Sequence[AgentSkills]) -> MatchLevel:
    """The best language match among present agents who serve the ticket's queue."""
    levels = [
        language_match(ticket.language, agent.languages)
        for agent in present
        if ticket.queue in agent.queues
    ]
    return min(levels, key=LANGUAGE_RANK.__getitem__, default=MatchLevel.LANGUAGE_RELAXED)


def skill_present(ticket: WaitingTicket, present: Sequence[AgentSkills]) -> bool:
    return any(
        ticket.queue in agent.queues and ticket.required_skill in agent.specialist_skills
        for agent in present
    )


def evaluate(
    agent: AgentSkills,
    ticket: WaitingTicket,
    present: Sequence[AgentSkills],
    now: datetime,
    policy: RoutingPolicy = DEFAULT_POLICY,
) -> Pick | None:
    """Whether ``agent`` may serve ``ticket`` now, and with which score and explanation."""
    if ticket.queue not in agent.queues:
        return None
    waited = max(now - ticket.arrival_at, timedelta())
    may_relax = waited >= ticket.relax_after
    notes = []
    penalty = timedelta()

    language = language_match(ticket.language, agent.languages)
    if language is not MatchLevel.EXACT:
        best = best_present_language(ticket, present)
        if not may_relax or LANGUAGE_RANK[language] > LANGUAGE_RANK[best]:
            return None
        penalty += (
            policy.dialect_penalty
            if language is MatchLevel.DIALECT_RELAXED
            else policy.language_penalty
        )
        wanted = ticket.language.tag + (
            f"/{ticket.language.dialect}" if ticket.language.dialect else ""
        )
        notes.append(
            f"{language.value.replace('_', ' ')}: nobody present speaks {wanted} and the "
            f"ticket waited {int(waited.total_seconds() // 60)} min"
        )

    skill = MatchLevel.NOT_REQUIRED
    if ticket.required_skill is not None:
        if ticket.required_skill in agent.specialist_skills:
            skill = MatchLevel.EXACT
        else:
            if not may_relax or skill_present(ticket, present):
                return None
            skill = MatchLevel.SKILL_RELAXED
            penalty += policy.skill_penalty
            notes.append(
                f"skill relaxed: no {ticket.required_skill} specialist present and the ticket "
                f"waited {int(waited.total_seconds() // 60)} min"
            )

    reasons = priority_reasons(ticket, now)
    score = effective_wait(ticket, now, policy) - penalty
    explanation = (
        "; ".join(notes)
        if notes
        else "exact match" + (f", priority: {', '.join(reasons)}" if reasons else "")
    )
    match = RoutingMatch(
        language=language,
        skill=skill,
        relaxed=bool(notes),
        waited_minutes=int(waited.total_seconds() // 60),
        priority_reasons=reasons,
        explanation=f"{ticket.number}: {explanation}",
    )
    return Pick(ticket=ticket, match=match, score=score)


def choose_next(
    agent: AgentSkills,
    waiting: Sequence[WaitingTicket],
    present: Sequence[AgentSkills],
    now: datetime,
    policy: RoutingPolicy = DEFAULT_POLICY,
) -> Pick | None:
    """The best ticket for ``agent`` now, or None when none is eligible.

    ``present``: agents signed in and not on break at the site (the caller included); it
    decides whether a requirement may relax (nobody better is there)."""
    picks = [
        pick
        for ticket in waiting
        if (pick := evaluate(agent, ticket, present, now, policy)) is not None
    ]
    if not picks:
        return None
    return min(
        picks,
        key=lambda p: (-p.score, p.ticket.arrival_at, str(p.ticket.ticket_id)),
    )


def starvation_bound(policy: RoutingPolicy = DEFAULT_POLICY) -> timedelta:
    """A ticket is never passed by one that arrived more than this after it (same agent
    eligibility): the largest head start plus the largest penalty the later one avoids."""
    return policy.max_head_start + max(
        policy.dialect_penalty, policy.language_penalty, policy.skill_penalty
    )
