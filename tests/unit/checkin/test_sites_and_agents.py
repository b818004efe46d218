"""Sites (time zone, opening hours, closures, desks) and agents (sign in, break, serve, sign
out), given/when/then."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from uuid import UUID

import pytest

from contracts.base import EventPayload
from contracts.events.checkin_agents import (
    AgentProfileSet,
    AgentSignedIn,
    AgentSignedOut,
    AgentStatus,
    AgentStatusChanged,
    ChannelLimits,
)
from contracts.events.checkin_sites import (
    DeskAdded,
    DeskKind,
    OpeningHours,
    QueueClosed,
    QueueOpened,
    QueueSettings,
    SiteConfigured,
)
from contracts.vocabulary import LanguagePreference, ServiceQueue
from runtime.errors import NotFound, RuleViolation
from services.checkin.domain.agents import (
    AGENT,
    AgentFacts,
    BeginServing,
    EndBreak,
    EndServing,
    SetProfile,
    SignIn,
    SignOut,
    TakeBreak,
    decide_agent,
)
from services.checkin.domain.sites import (
    SITE,
    AddDesk,
    CloseQueue,
    ConfigureSite,
    Desk,
    OpenQueue,
    Site,
    decide_site,
)

pytestmark = pytest.mark.unit

NO_AGENT_FACTS = AgentFacts()


def at_desk(site_id: str, desk_id: str) -> AgentFacts:
    """Signing in: the site has the desk, and nobody else sits at it."""
    return AgentFacts(site=Site(site_id=site_id, desks={desk_id: Desk(desk_id, DeskKind.COUNTER)}))


# Monday 23 November 2026. Shanghai is UTC+8 (no DST); New York is UTC-5 in November.
MONDAY_9_SHANGHAI = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
WEEKDAYS_9_TO_17 = tuple(OpeningHours(weekday=d, opens=time(9), closes=time(17)) for d in range(5))
CONFIGURED = SiteConfigured(
    site_id="sz-futian-01",
    name="Shenzhen Futian service center",
    timezone="Asia/Shanghai",
    opening_hours=list(WEEKDAYS_9_TO_17),
    queues=[
        QueueSettings(queue=ServiceQueue.ACCOUNT_SECURITY),
        QueueSettings(queue=ServiceQueue.GENERAL),
    ],
    configured_at=MONDAY_9_SHANGHAI,
)


def site(*events: EventPayload) -> Site:
    return SITE.fold([CONFIGURED, *events])


def test_configure_a_site() -> None:
    command = ConfigureSite(
        site_id="sz-futian-01",
        name="Shenzhen Futian service center",
        timezone="Asia/Shanghai",
        opening_hours=WEEKDAYS_9_TO_17,
        queues=(
            QueueSettings(queue=ServiceQueue.ACCOUNT_SECURITY),
            QueueSettings(queue=ServiceQueue.GENERAL),
        ),
        at=MONDAY_9_SHANGHAI,
    )
    assert decide_site(Site(), command) == [CONFIGURED]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        (
            {"opening_hours": (OpeningHours(weekday=0, opens=time(17), closes=time(9)),)},
            "close before they open",
        ),
        ({"queues": (QueueSettings(queue=ServiceQueue.GENERAL),) * 2}, "only once"),
        ({"ivr_menu": {"12": ServiceQueue.GENERAL}}, "one key"),
        ({"ivr_menu": {"5": ServiceQueue.WALLET_PAYMENTS}}, "not served here"),
    ],
)
def test_bad_site_configuration_is_refused(change: dict[str, object], message: str) -> None:
    values: dict[str, object] = {
        "site_id": "s",
        "name": "n",
        "timezone": "UTC",
        "opening_hours": (),
        "queues": (QueueSettings(queue=ServiceQueue.GENERAL),),
        "at": MONDAY_9_SHANGHAI,
    }
    values.update(change)
    with pytest.raises(RuleViolation, match=message):
        decide_site(Site(), ConfigureSite(**values))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("utc", "local_day"),
    [
        (datetime(2026, 11, 22, 15, 59, tzinfo=UTC), date(2026, 11, 22)),  # 23:59 Shanghai
        (datetime(2026, 11, 22, 16, 0, tzinfo=UTC), date(2026, 11, 23)),  # 00:00 Shanghai
        (datetime(2026, 11, 23, 1, 0, tzinfo=UTC), date(2026, 11, 23)),
    ],
)
def test_the_service_day_turns_at_the_sites_local_midnight(utc: datetime, local_day: date) -> None:
    assert site().local_day(utc) == local_day
    assert Site().local_day(utc) == utc.date()  # an unconfigured site keeps UTC days


def test_the_local_day_follows_daylight_saving_time() -> None:
    new_york = SITE.fold([CONFIGURED.model_copy(update={"timezone": "America/New_York"})])
    # 8 March 2026, 04:30 UTC is 23:30 EST on the 7th; 1 July, 03:30 UTC is 23:30 EDT on 30 June
    assert new_york.local_day(datetime(2026, 3, 8, 4, 30, tzinfo=UTC)) == date(2026, 3, 7)
    assert new_york.local_day(datetime(2026, 7, 1, 3, 30, tzinfo=UTC)) == date(2026, 6, 30)


def test_opening_hours_in_local_time() -> None:
    s = site()
    assert s.is_open(MONDAY_9_SHANGHAI)
    assert not s.is_open(datetime(2026, 11, 23, 0, 59, tzinfo=UTC))  # 08:59
    assert not s.is_open(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))  # 17:00
    assert s.closes_at(MONDAY_9_SHANGHAI) == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    saturday = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
    assert not s.is_open(saturday)
    assert s.next_opening(saturday) == datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # Monday 09:00
    assert Site().is_open(saturday)  # unconfigured: always open


def test_close_a_queue_for_the_day_and_open_it_again() -> None:
    at = MONDAY_9_SHANGHAI
    [closed] = decide_site(
        site(), CloseQueue(queue=ServiceQueue.GENERAL, at=at, reason="short-staffed")
    )
    assert closed == QueueClosed(
        site_id="sz-futian-01",
        queue=ServiceQueue.GENERAL,
        service_day=date(2026, 11, 23),
        reason="short-staffed",
        closed_at=at,
    )
    s = site(closed)
    assert s.queue_closed_today(ServiceQueue.GENERAL, at)
    assert not s.queue_closed_today(ServiceQueue.ACCOUNT_SECURITY, at)
    tomorrow = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
    assert not s.queue_closed_today(ServiceQueue.GENERAL, tomorrow)
    assert s.next_opening(at, ServiceQueue.GENERAL) == tomorrow
    with pytest.raises(RuleViolation, match="already closed for 2026-11-23"):
        decide_site(s, CloseQueue(queue=ServiceQueue.GENERAL, at=at))
    [opened] = decide_site(s, OpenQueue(queue=ServiceQueue.GENERAL, at=at))
    assert opened == QueueOpened(
        site_id="sz-futian-01",
        queue=ServiceQueue.GENERAL,
        service_day=date(2026, 11, 23),
        opened_at=at,
    )
    assert not site(closed, opened).queue_closed_today(ServiceQueue.GENERAL, at)
    with pytest.raises(RuleViolation, match="does not serve wallet_payments"):
        decide_site(s, CloseQueue(queue=ServiceQueue.WALLET_PAYMENTS, at=at))
    with pytest.raises(NotFound):
        decide_site(Site(), CloseQueue(queue=ServiceQueue.GENERAL, at=at))


def test_desks_and_remote_positions() -> None:
    [counter] = decide_site(
        site(), AddDesk(desk_id="desk-07", kind=DeskKind.COUNTER, at=MONDAY_9_SHANGHAI)
    )
    assert counter == DeskAdded(
        site_id="sz-futian-01", desk_id="desk-07", kind=DeskKind.COUNTER, added_at=MONDAY_9_SHANGHAI
    )
    with pytest.raises(RuleViolation, match="already exists"):
        decide_site(
            site(counter), AddDesk(desk_id="desk-07", kind=DeskKind.COUNTER, at=MONDAY_9_SHANGHAI)
        )
    with pytest.raises(RuleViolation, match="needs its location"):
        decide_site(
            site(), AddDesk(desk_id="r1", kind=DeskKind.REMOTE_POSITION, at=MONDAY_9_SHANGHAI)
        )
    [remote] = decide_site(
        site(),
        AddDesk(
            desk_id="remote-kl",
            kind=DeskKind.REMOTE_POSITION,
            at=MONDAY_9_SHANGHAI,
            location="Kuala Lumpur, MY",
        ),
    )
    assert site(counter, remote).desks["remote-kl"].location == "Kuala Lumpur, MY"


# -- agents -----------------------------------------------------------------------------------

AT = MONDAY_9_SHANGHAI
TICKET = UUID("3f2a9c4e-8b1d-4e6f-9a7c-2d5e8f1b3c60")
PROFILE = AgentProfileSet(
    agent_id="agent-li",
    queues=[ServiceQueue.ACCOUNT_SECURITY, ServiceQueue.GENERAL],
    specialist_skills=["account_security_forensics"],
    languages=[
        LanguagePreference(tag="zh-CN", dialect="cmn"),
        LanguagePreference(tag="zh-HK", dialect="yue"),
    ],
    limits=ChannelLimits(),
    set_at=AT,
)
SIGNED_IN = AgentSignedIn(
    agent_id="agent-li", site_id="sz-futian-01", desk_id="desk-07", remote=False, signed_in_at=AT
)


def agent(*events: EventPayload):  # type: ignore[no-untyped-def]
    return AGENT.fold(list(events))


def test_set_profile_sorts_and_deduplicates() -> None:
    command = SetProfile(
        agent_id="agent-li",
        queues=(ServiceQueue.GENERAL, ServiceQueue.ACCOUNT_SECURITY, ServiceQueue.GENERAL),
        specialist_skills=("account_security_forensics",),
        languages=tuple(PROFILE.languages),
        limits=ChannelLimits(),
        at=AT,
    )
    assert decide_agent(agent(), NO_AGENT_FACTS, command) == [PROFILE]


def test_the_working_day_of_an_agent() -> None:
    state = agent(PROFILE)
    assert state.status is AgentStatus.OFFLINE
    [signed_in] = decide_agent(
        state, at_desk("sz-futian-01", "desk-07"), SignIn("sz-futian-01", "desk-07", at=AT)
    )
    assert signed_in == SIGNED_IN
    state = agent(PROFILE, signed_in)
    assert (state.status, state.desk_id) == (AgentStatus.AVAILABLE, "desk-07")
    [serving] = decide_agent(state, NO_AGENT_FACTS, BeginServing(TICKET, AT))
    assert serving == AgentStatusChanged(
        agent_id="agent-li",
        status=AgentStatus.SERVING,
        previous=AgentStatus.AVAILABLE,
        ticket_id=TICKET,
        changed_at=AT,
    )
    state = agent(PROFILE, signed_in, serving)
    for refused in (TakeBreak(at=AT), SignOut(at=AT), BeginServing(TICKET, AT)):
        with pytest.raises(RuleViolation, match=f"agent agent-li is serving \\(ticket {TICKET}\\)"):
            decide_agent(state, NO_AGENT_FACTS, refused)
    [done] = decide_agent(state, NO_AGENT_FACTS, EndServing(TICKET, AT, reason="ticket completed"))
    state = agent(PROFILE, signed_in, serving, done)
    assert state.status is AgentStatus.AVAILABLE
    assert (
        decide_agent(state, NO_AGENT_FACTS, EndServing(TICKET, AT, reason="again")) == []
    )  # idempotent
    [on_break] = decide_agent(state, NO_AGENT_FACTS, TakeBreak(at=AT, reason="lunch"))
    state = agent(PROFILE, signed_in, serving, done, on_break)
    assert state.status is AgentStatus.ON_BREAK
    with pytest.raises(RuleViolation, match="cannot take a ticket"):
        decide_agent(state, NO_AGENT_FACTS, BeginServing(TICKET, AT))
    [back] = decide_agent(state, NO_AGENT_FACTS, EndBreak(at=AT))
    [out] = decide_agent(
        agent(PROFILE, signed_in, serving, done, on_break, back), NO_AGENT_FACTS, SignOut(at=AT)
    )
    assert out == AgentSignedOut(
        agent_id="agent-li", site_id="sz-futian-01", desk_id="desk-07", signed_out_at=AT
    )
    assert (
        agent(PROFILE, signed_in, serving, done, on_break, back, out).status is AgentStatus.OFFLINE
    )


def test_sign_in_needs_a_profile_and_only_once() -> None:
    with pytest.raises(NotFound, match="profile"):
        decide_agent(agent(), at_desk("s", "d"), SignIn(site_id="s", desk_id="d", at=AT))
    with pytest.raises(RuleViolation, match="already signed in at sz-futian-01/desk-07"):
        decide_agent(
            agent(PROFILE, SIGNED_IN), at_desk("s", "d"), SignIn(site_id="s", desk_id="d", at=AT)
        )
    with pytest.raises(RuleViolation, match="cannot end a break"):
        decide_agent(agent(PROFILE, SIGNED_IN), NO_AGENT_FACTS, EndBreak(at=AT))


def test_a_site_without_its_own_phone_menu_uses_the_standard_one() -> None:
    standard = site()
    assert standard.ivr_queue("1") is ServiceQueue.ACCOUNT_SECURITY
    assert standard.ivr_queue("0") is ServiceQueue.GENERAL
    with pytest.raises(RuleViolation, match="no IVR option 7 at this site: the menu is 0 general"):
        standard.ivr_queue("7")


def test_a_site_configures_its_own_phone_menu_of_the_queues_it_serves() -> None:
    menu = {"9": ServiceQueue.GENERAL, "*": ServiceQueue.ACCOUNT_SECURITY}
    command = ConfigureSite(
        site_id="sz-futian-01",
        name="Shenzhen Futian service center",
        timezone="Asia/Shanghai",
        opening_hours=WEEKDAYS_9_TO_17,
        queues=(
            QueueSettings(queue=ServiceQueue.ACCOUNT_SECURITY),
            QueueSettings(queue=ServiceQueue.GENERAL),
        ),
        at=MONDAY_9_SHANGHAI,
        ivr_menu=menu,
    )
    [configured] = decide_site(Site(), command)
    own = SITE.fold([configured])
    assert own.ivr_queue("9") is ServiceQueue.GENERAL
    assert own.ivr_queue("*") is ServiceQueue.ACCOUNT_SECURITY
    with pytest.raises(RuleViolation, match="no IVR option 1"):  # the standard menu is gone
        own.ivr_queue("1")


def test_agents_and_sites_round_trip_through_their_snapshots() -> None:
    """Long-lived streams keep snapshots: their state must read back exactly."""
    working = agent(PROFILE, SIGNED_IN)
    assert AGENT.load_state(AGENT.dump_state(working)) == working
    configured = SITE.fold([CONFIGURED])
    assert SITE.load_state(SITE.dump_state(configured)) == configured
