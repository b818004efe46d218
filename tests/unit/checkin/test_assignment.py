"""Remote contact assignment: eligibility (skills, language, availability), per-channel
limits, the ordered rules (last agent, owner agent, fewest active, most free capacity, round
robin), the pool when every agent is full, and determinism."""

from __future__ import annotations

import itertools
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from contracts.events.checkin import MatchLevel
from contracts.events.checkin_agents import ChannelLimits
from contracts.events.checkin_sites import AssignmentRule
from contracts.vocabulary import Channel, LanguagePreference, ServiceQueue
from services.checkin.domain.assignment import (
    AgentLoad,
    Contact,
    channel_kind,
    choose_agent,
    limit_for,
    next_after,
    plan_assignments,
    pool_order,
)
from services.checkin.domain.routing import AgentSkills, WaitingTicket

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
MANDARIN = LanguagePreference(tag="zh-CN", dialect="cmn")
CANTONESE = LanguagePreference(tag="zh-HK", dialect="yue")
CHINESE = LanguagePreference(tag="zh-CN")
ENGLISH = LanguagePreference(tag="en")
A = ServiceQueue.ACCOUNT_SECURITY
W = ServiceQueue.WALLET_PAYMENTS
R = AssignmentRule
SITE = "sz-contact-center"


def load(
    name: str,
    *,
    queues: tuple[ServiceQueue, ...] = (A,),
    languages: tuple[LanguagePreference, ...] = (MANDARIN,),
    skills: tuple[str, ...] = (),
    limits: ChannelLimits | None = None,
    available: bool = True,
    **active: int,
) -> AgentLoad:
    return AgentLoad(
        skills=AgentSkills(name, frozenset(queues), frozenset(skills), languages),
        limits=limits or ChannelLimits(phone=1, chat=3, email=5),
        desk_id=f"remote-{name}",
        available=available,
        active=active,
    )


def contact(
    waited_minutes: float = 1,
    *,
    channel: Channel = Channel.CHAT_WEB,
    queue: ServiceQueue = A,
    language: LanguagePreference = CHINESE,
    number: str = "A001",
    **extra: object,
) -> Contact:
    skill = extra.pop("required_skill", None)
    ticket = WaitingTicket(
        ticket_id=uuid.uuid4(),
        number=number,
        queue=queue,
        arrival_at=NOW - timedelta(minutes=waited_minutes),
        language=language,
        required_skill=skill,  # type: ignore[arg-type]
    )
    return Contact(ticket=ticket, channel=channel, site_id=SITE, **extra)  # type: ignore[arg-type]


def present_of(*agents: AgentLoad) -> list[AgentSkills]:
    return [agent.skills for agent in agents]


def choose(
    c: Contact,
    agents: list[AgentLoad],
    rules: list[AssignmentRule] | None = None,
    cursor: str | None = None,
    present: list[AgentSkills] | None = None,
) -> tuple[str, AssignmentRule] | None:
    choice = choose_agent(
        c,
        agents,
        [R.FEWEST_ACTIVE, R.ROUND_ROBIN] if rules is None else rules,
        cursor,
        present_of(*agents) if present is None else present,
        NOW,
    )
    return None if choice is None else (choice.agent_id, choice.rule)


# -- channels and limits ----------------------------------------------------------------------


def test_chats_share_one_limit_and_walk_ins_are_not_contacts() -> None:
    limits = ChannelLimits(phone=1, chat=3, email=7)
    assert [limit_for(limits, c) for c in (Channel.CHAT_QQ, Channel.CHAT_WECHAT)] == [3, 3]
    assert limit_for(limits, Channel.PHONE) == 1
    assert limit_for(limits, Channel.EMAIL) == 7
    assert channel_kind(Channel.CHAT_WEB) == "chat"
    with pytest.raises(ValueError, match="not a remote channel"):
        channel_kind(Channel.WALK_IN)
    with pytest.raises(ValueError, match="not a remote channel"):
        contact(channel=Channel.VIRTUAL_QUEUE)


def test_an_agent_at_the_limit_of_the_channel_gets_none_of_it() -> None:
    full_of_chats = load("li", chat=3)
    assert choose(contact(channel=Channel.CHAT_QQ), [full_of_chats]) is None
    # ... but still takes a call and an email: limits are per channel
    assert choose(contact(channel=Channel.PHONE), [full_of_chats]) == ("li", R.FEWEST_ACTIVE)
    assert choose(contact(channel=Channel.EMAIL), [full_of_chats]) is not None


def test_one_call_at_a_time_and_a_zero_limit_means_never() -> None:
    on_a_call = load("li", phone=1)
    assert choose(contact(channel=Channel.PHONE), [on_a_call]) is None
    no_email = load("wang", limits=ChannelLimits(phone=1, chat=3, email=0))
    assert choose(contact(channel=Channel.EMAIL), [no_email]) is None


def test_an_agent_serving_a_walk_in_is_present_but_gets_no_contact() -> None:
    at_the_desk = load("li", available=False)
    assert choose(contact(), [at_the_desk]) is None
    assert choose(contact(), [at_the_desk, load("wang", chat=2)]) == ("wang", R.FEWEST_ACTIVE)


# -- skills and languages ---------------------------------------------------------------------


def test_only_agents_of_the_queue_with_the_specialist_skill() -> None:
    wallet = load("li", queues=(W,))
    assert choose(contact(queue=A), [wallet]) is None
    specialist = load("chen", skills=("account_security_forensics",))
    plain = load("zhao")
    needs = contact(required_skill="account_security_forensics")
    assert choose(needs, [plain, specialist]) == ("chen", R.FEWEST_ACTIVE)
    assert choose(needs, [plain], present=present_of(plain, specialist)) is None


def test_language_and_dialect_first() -> None:
    mandarin = load("li", languages=(MANDARIN,))
    cantonese = load("wong", languages=(CANTONESE,))
    english = load("smith", languages=(ENGLISH,))
    agents = [mandarin, cantonese, english]
    assert choose(contact(language=CANTONESE), agents) == ("wong", R.FEWEST_ACTIVE)
    assert choose(contact(language=ENGLISH), agents) == ("smith", R.FEWEST_ACTIVE)
    # no Cantonese speaker with room: a fresh contact waits for one
    busy_wong = load("wong", languages=(CANTONESE,), chat=3)
    assert choose(contact(language=CANTONESE), [mandarin, busy_wong, english]) is None


def test_language_relaxes_after_the_limit_only_when_nobody_better_is_present() -> None:
    mandarin = load("li", languages=(MANDARIN,))
    english = load("smith", languages=(ENGLISH,))
    waited = contact(45, language=CANTONESE)  # relax_after is 20 min
    choice = choose_agent(
        waited, [english, mandarin], [R.ROUND_ROBIN], None, present_of(english, mandarin), NOW
    )
    assert choice is not None
    assert choice.agent_id == "li"  # the dialect relaxes before the language
    assert choice.match.language is MatchLevel.DIALECT_RELAXED
    assert choice.match.relaxed
    # a Cantonese speaker present (even full) keeps it waiting for them
    full_wong = load("wong", languages=(CANTONESE,), chat=3)
    assert choose(waited, [mandarin], present=present_of(mandarin, full_wong)) is None


# -- the rules --------------------------------------------------------------------------------


def test_last_agent_who_served_the_customer_first() -> None:
    agents = [load("li", chat=2), load("wang")]
    c = contact(last_served_by="li")
    assert choose(c, agents, [R.LAST_AGENT, R.FEWEST_ACTIVE]) == ("li", R.LAST_AGENT)
    # not signed in here, or full: the next rule decides
    assert choose(contact(last_served_by="zhou"), agents, [R.LAST_AGENT, R.FEWEST_ACTIVE]) == (
        "wang",
        R.FEWEST_ACTIVE,
    )
    full = [load("li", chat=3), load("wang")]
    assert choose(c, full, [R.LAST_AGENT, R.FEWEST_ACTIVE]) == ("wang", R.FEWEST_ACTIVE)


def test_owner_agent_and_rule_order() -> None:
    agents = [load("li"), load("wang"), load("zhao")]
    both = contact(last_served_by="li", owner_agent_id="zhao")
    assert choose(both, agents, [R.OWNER_AGENT, R.LAST_AGENT]) == ("zhao", R.OWNER_AGENT)
    assert choose(both, agents, [R.LAST_AGENT, R.OWNER_AGENT]) == ("li", R.LAST_AGENT)
    # a language the owner does not speak: not a candidate
    english = contact(language=ENGLISH, owner_agent_id="zhao")
    smith = load("smith", languages=(ENGLISH,))
    assert choose(english, [*agents, smith], [R.OWNER_AGENT]) == ("smith", R.ROUND_ROBIN)


def test_fewest_active_counts_every_channel() -> None:
    agents = [load("li", chat=1, phone=1), load("wang", email=1), load("zhao", chat=2)]
    assert choose(contact(), agents, [R.FEWEST_ACTIVE]) == ("wang", R.FEWEST_ACTIVE)


def test_most_free_capacity_looks_at_the_contacts_channel() -> None:
    big = load("li", limits=ChannelLimits(chat=6), chat=2)  # 4 free
    small = load("wang", limits=ChannelLimits(chat=3))  # 3 free, fewer active
    assert choose(contact(), [big, small], [R.MOST_FREE_CAPACITY]) == (
        "li",
        R.MOST_FREE_CAPACITY,
    )
    assert choose(contact(), [big, small], [R.FEWEST_ACTIVE]) == ("wang", R.FEWEST_ACTIVE)


def test_ties_go_on_to_the_next_rule_and_end_in_round_robin() -> None:
    agents = [load("li", chat=1), load("wang", chat=1), load("zhao", chat=2)]
    # fewest active leaves li and wang; most free capacity cannot split them; round robin does
    rules = [R.FEWEST_ACTIVE, R.MOST_FREE_CAPACITY]
    assert choose(contact(), agents, rules, cursor=None) == ("li", R.ROUND_ROBIN)
    assert choose(contact(), agents, rules, cursor="li") == ("wang", R.ROUND_ROBIN)
    assert choose(contact(), agents, rules, cursor="wang") == ("li", R.ROUND_ROBIN)
    # no rules configured: round robin
    assert choose(contact(), agents, [], cursor="li") == ("wang", R.ROUND_ROBIN)


def test_round_robin_follows_the_cursor_and_wraps() -> None:
    assert next_after(None, ["c", "a", "b"]) == "a"
    assert next_after("a", ["c", "a", "b"]) == "b"
    assert next_after("c", ["c", "a", "b"]) == "a"
    assert next_after("bb", ["c", "a", "b"]) == "c"  # a cursor who left the candidates
    agents = [load(name) for name in ("li", "wang", "zhao")]
    cursor = None
    seen = []
    for _ in range(6):
        choice = choose(contact(), agents, [R.ROUND_ROBIN], cursor=cursor)
        assert choice is not None
        cursor = choice[0]
        seen.append(cursor)
    assert seen == ["li", "wang", "zhao", "li", "wang", "zhao"]


# -- the pool ---------------------------------------------------------------------------------


def test_the_pool_is_offered_in_order_within_limits_and_the_rest_waits() -> None:
    li = load("li", limits=ChannelLimits(phone=1, chat=2))
    wang = load("wang", limits=ChannelLimits(phone=1, chat=1))
    chats = [contact(10 - n, number=f"A00{n}") for n in range(1, 6)]  # A001 waited longest
    call = contact(0.5, channel=Channel.PHONE, number="A006")
    plan = plan_assignments(
        [*reversed(chats), call],
        [li, wang],
        {A: [R.FEWEST_ACTIVE, R.ROUND_ROBIN]},
        {},
        present_of(li, wang),
        NOW,
    )
    assigned = [(a.contact.ticket.number, a.choice.agent_id) for a in plan]
    # three chats fill 2 + 1 places; A004 and A005 stay in the pool; the call still goes out,
    # to the agent with the fewest active contacts (wang: 1 chat, li: 2)
    assert assigned == [("A001", "li"), ("A002", "wang"), ("A003", "li"), ("A006", "wang")]
    per_agent: dict[str, int] = {}
    for a in plan:
        if a.contact.channel is not Channel.PHONE:
            per_agent[a.choice.agent_id] = per_agent.get(a.choice.agent_id, 0) + 1
    assert per_agent == {"li": 2, "wang": 1}


def test_a_full_team_leaves_everything_in_the_pool() -> None:
    agents = [load("li", chat=3), load("wang", chat=3)]
    pool = [contact(n) for n in range(5)]
    assert plan_assignments(pool, agents, {A: [R.ROUND_ROBIN]}, {}, present_of(*agents), NOW) == []


def test_an_unanswered_contact_keeps_its_place() -> None:
    back = contact(12, number="A001")  # came back unanswered: its arrival time is unchanged
    later = contact(3, number="A002")
    assert [c.ticket.number for c in pool_order([later, back], NOW)] == ["A001", "A002"]
    wang = load("wang", limits=ChannelLimits(chat=1))
    plan = plan_assignments([later, back], [load("li"), wang], {}, {A: "li"}, present_of(wang), NOW)
    assert [(a.contact.ticket.number, a.choice.agent_id) for a in plan] == [
        ("A001", "wang"),
        ("A002", "li"),
    ]


def test_the_plan_is_a_function_of_its_inputs_not_their_order() -> None:
    rng = random.Random(7)
    names = ["ann", "bo", "cai", "dan"]
    agents = [
        load(
            name,
            queues=tuple(rng.sample([A, W], rng.randint(1, 2))),
            languages=(MANDARIN,) if rng.random() < 0.7 else (ENGLISH,),
            limits=ChannelLimits(phone=1, chat=rng.randint(1, 4), email=rng.randint(0, 3)),
            chat=rng.randint(0, 1),
        )
        for name in names
    ]
    channels = [Channel.CHAT_QQ, Channel.CHAT_WECHAT, Channel.PHONE, Channel.EMAIL]
    pool = [
        contact(
            rng.uniform(0, 30),
            channel=rng.choice(channels),
            queue=rng.choice([A, W]),
            language=rng.choice([CHINESE, ENGLISH]),
            number=f"X{n:03d}",
            last_served_by=rng.choice([None, *names]),
        )
        for n in range(25)
    ]
    rules = {A: [R.LAST_AGENT, R.FEWEST_ACTIVE], W: [R.MOST_FREE_CAPACITY, R.ROUND_ROBIN]}
    present = present_of(*agents)

    def outcome(pool_: list[Contact], agents_: list[AgentLoad]) -> list[tuple[str, str, str]]:
        plan = plan_assignments(pool_, agents_, rules, {A: "bo"}, present, NOW)
        return [(a.contact.ticket.number, a.choice.agent_id, a.choice.rule) for a in plan]

    expected = outcome(pool, agents)
    for _ in range(5):
        assert outcome(rng.sample(pool, len(pool)), rng.sample(agents, len(agents))) == expected
    # and it never breaks a limit, a queue or a language
    counts: dict[tuple[str, str], int] = {}
    by_name = {a.agent_id: a for a in agents}
    for number, agent_id, _rule in expected:
        c = next(c for c in pool if c.ticket.number == number)
        a = by_name[agent_id]
        key = (agent_id, channel_kind(c.channel))
        counts[key] = counts.get(key, 0) + 1
        assert c.ticket.queue in a.skills.queues
        assert counts[key] + a.active.get(key[1], 0) <= limit_for(a.limits, c.channel)
    assert len(expected) > 5


def test_round_robin_spreads_evenly_over_a_day() -> None:
    agents = [load(name, limits=ChannelLimits(email=50)) for name in ("li", "wang", "zhao")]
    pool = [contact(n, channel=Channel.EMAIL, number=f"E{n:03d}") for n in range(30)]
    plan = plan_assignments(pool, agents, {A: [R.ROUND_ROBIN]}, {}, present_of(*agents), NOW)
    spread = [a.choice.agent_id for a in plan]
    counts = {name: spread.count(name) for name in ("li", "wang", "zhao")}
    assert counts == {"li": 10, "wang": 10, "zhao": 10}
    assert all(a != b for a, b in itertools.pairwise(spread))
