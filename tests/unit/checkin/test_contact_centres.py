"""Organizations' contact centres in check-in (issue 16 item 2), given/when/then: a site and
an agent are their organization's from their creation event on, and never anyone else's; an
organization opens nothing until verified; its agents sign in at its sites only (so the
per-site assignment offers its contacts to its agents only); the API's ownership checks and
which routes admit an organization's staff at all."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.routing import APIRoute

from contracts.events.checkin_agents import AgentProfileSet, AgentSignedIn, ChannelLimits
from contracts.events.checkin_sites import DeskKind, QueueSettings, SiteConfigured
from contracts.vocabulary import LanguagePreference, ServiceQueue
from runtime.auth import Principal
from runtime.errors import NotFound, RuleViolation
from runtime.organizations import VerifiedOrganization
from services.checkin.api.roles import require_works_at, require_works_with
from services.checkin.bootstrap import DEFINITION
from services.checkin.domain.agents import (
    AGENT,
    Agent,
    AgentFacts,
    SetProfile,
    SignIn,
    decide_agent,
)
from services.checkin.domain.sites import (
    SITE,
    AddDesk,
    CloseQueue,
    ConfigureSite,
    Desk,
    Site,
    SiteFacts,
    decide_site,
)

pytestmark = pytest.mark.unit

AT = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
ORG_A = UUID("0a000000-0000-4000-8000-00000000000a")
ORG_B = UUID("0b000000-0000-4000-8000-00000000000b")


def verified(organization_id: UUID) -> VerifiedOrganization:
    return VerifiedOrganization(organization_id, "示例科技有限公司", AT)


def configure(organization_id: UUID | None, name: str = "客服中心") -> ConfigureSite:
    return ConfigureSite(
        site_id="a-cc",
        name=name,
        timezone="Asia/Shanghai",
        opening_hours=(),
        queues=(QueueSettings(queue=ServiceQueue.WALLET_PAYMENTS),),
        at=AT,
        ivr_menu={"1": ServiceQueue.WALLET_PAYMENTS},
        organization_id=organization_id,
    )


def site_of(organization_id: UUID | None) -> Site:
    facts = SiteFacts(verified=verified(organization_id)) if organization_id else SiteFacts()
    return SITE.fold(decide_site(Site(), configure(organization_id), facts))


def profile(organization_id: UUID | None) -> SetProfile:
    return SetProfile(
        agent_id="agent-1",
        queues=(ServiceQueue.WALLET_PAYMENTS,),
        specialist_skills=(),
        languages=(LanguagePreference(tag="zh-CN", dialect="cmn"),),
        limits=ChannelLimits(),
        at=AT,
        organization_id=organization_id,
    )


def agent_of(organization_id: UUID | None) -> Agent:
    facts = AgentFacts(verified=verified(organization_id)) if organization_id else AgentFacts()
    return AGENT.fold(decide_agent(Agent(), facts, profile(organization_id)))


# -- sites ------------------------------------------------------------------------------------


def test_a_site_created_by_an_organization_is_its_own() -> None:
    [configured] = decide_site(Site(), configure(ORG_A), SiteFacts(verified=verified(ORG_A)))
    assert isinstance(configured, SiteConfigured)
    assert configured.organization_id == ORG_A
    site = SITE.fold([configured])
    assert site.organization_id == ORG_A
    # its own staff change it, and it stays theirs
    [again] = decide_site(site, configure(ORG_A, "新名字"), SiteFacts(verified=verified(ORG_A)))
    assert SITE.fold([configured, again]).organization_id == ORG_A


def test_the_platforms_sites_stay_the_platforms_and_old_events_read_so() -> None:
    [configured] = decide_site(Site(), configure(None))
    assert isinstance(configured, SiteConfigured)
    assert configured.organization_id is None
    old = configured.model_dump(mode="json")
    del old["organization_id"]  # an event written before the field
    assert SiteConfigured.model_validate(old).organization_id is None


def test_a_later_configuration_never_changes_whose_site_it_is() -> None:
    first = decide_site(Site(), configure(ORG_A), SiteFacts(verified=verified(ORG_A)))
    stray = SiteConfigured.model_validate({**first[0].model_dump(), "organization_id": ORG_B})
    assert SITE.fold([*first, stray]).organization_id == ORG_A


@pytest.mark.parametrize("outsider", [ORG_B, None], ids=["another organization", "platform"])
def test_anyone_elses_site_does_not_exist_for_them(outsider: UUID | None) -> None:
    site = site_of(ORG_A)
    facts = SiteFacts(verified=verified(outsider)) if outsider else SiteFacts()
    for command in (
        configure(outsider, "taken over"),
        AddDesk(desk_id="d9", kind=DeskKind.COUNTER, at=AT, organization_id=outsider),
        CloseQueue(queue=ServiceQueue.WALLET_PAYMENTS, at=AT, organization_id=outsider),
    ):
        with pytest.raises(NotFound):
            decide_site(site, command, facts)


def test_an_organization_opens_nothing_until_verified() -> None:
    for facts in (SiteFacts(), SiteFacts(verified=verified(ORG_B))):
        with pytest.raises(RuleViolation) as refused:
            decide_site(Site(), configure(ORG_A), facts)
        assert refused.value.rule == "organization_not_verified"


def test_an_organization_cannot_take_over_the_platforms_unconfigured_site() -> None:
    """A site issues tickets before anyone configures it: those are the platform's."""
    facts = SiteFacts(verified=verified(ORG_A), tickets_issued=True)
    with pytest.raises(RuleViolation) as refused:
        decide_site(Site(), configure(ORG_A), facts)
    assert refused.value.rule == "site_id_in_use"
    assert decide_site(Site(), configure(None), SiteFacts(tickets_issued=True))  # the platform


# -- agents -----------------------------------------------------------------------------------


def test_an_agent_profiled_by_an_organization_is_its_own() -> None:
    [profiled] = decide_agent(Agent(), AgentFacts(verified=verified(ORG_A)), profile(ORG_A))
    assert isinstance(profiled, AgentProfileSet)
    assert profiled.organization_id == ORG_A
    agent = AGENT.fold([profiled])
    assert agent.organization_id == ORG_A
    stray = AgentProfileSet.model_validate({**profiled.model_dump(), "organization_id": None})
    assert AGENT.fold([profiled, stray]).organization_id == ORG_A


def test_anyone_elses_agent_does_not_exist_for_them_and_unverified_is_refused() -> None:
    for outsider in (ORG_B, None):
        facts = AgentFacts(verified=verified(outsider)) if outsider else AgentFacts()
        with pytest.raises(NotFound):
            decide_agent(agent_of(ORG_A), facts, profile(outsider))
    with pytest.raises(RuleViolation) as refused:
        decide_agent(Agent(), AgentFacts(), profile(ORG_A))
    assert refused.value.rule == "organization_not_verified"


@pytest.mark.parametrize(
    ("agent_org", "site_org", "signs_in"),
    [
        (ORG_A, ORG_A, True),
        (None, None, True),
        (ORG_B, ORG_A, False),
        (None, ORG_A, False),
        (ORG_A, None, False),
    ],
)
def test_agents_sign_in_only_at_their_own_organizations_sites(
    agent_org: UUID | None, site_org: UUID | None, signs_in: bool
) -> None:
    """Assignment offers a site's contacts to the agents signed in at that site: this rule is
    what keeps an organization's contacts with its own agents."""
    site = Site(
        site_id="s",
        desks={"r1": Desk("r1", DeskKind.REMOTE_POSITION, "Shenzhen")},
        organization_id=site_org,
    )
    command = SignIn(site_id="s", desk_id="r1", at=AT)
    if signs_in:
        [signed_in] = decide_agent(agent_of(agent_org), AgentFacts(site=site), command)
        assert isinstance(signed_in, AgentSignedIn)
    else:
        with pytest.raises(NotFound):
            decide_agent(agent_of(agent_org), AgentFacts(site=site), command)


def test_whose_it_is_reads_back_from_a_snapshot() -> None:
    """Sites and agents keep snapshots (version 2 since the state records its organization)."""
    site, agent = site_of(ORG_A), agent_of(ORG_A)
    assert SITE.load_state(SITE.dump_state(site)) == site
    assert AGENT.load_state(AGENT.dump_state(agent)) == agent
    assert AGENT.load_state(AGENT.dump_state(agent)).organization_id == ORG_A


# -- the API's checks -------------------------------------------------------------------------


def staff(organization: UUID | None, *roles: str) -> Principal:
    return Principal(id=f"p-{uuid4().hex[:6]}", roles=frozenset(roles), organization=organization)


def test_staff_see_only_their_own_centres_sites_and_agents() -> None:
    a_site, a_agent = Site(site_id="a", organization_id=ORG_A), agent_of(ORG_A)
    require_works_at(staff(ORG_A, "supervisor"), a_site)
    require_works_with(staff(ORG_A, "agent"), a_agent)
    require_works_at(staff(None, "service"), a_site)  # an integrating system: every centre
    require_works_at(staff(None, "customer"), a_site)  # customers reach every site
    for outsider in (staff(ORG_B, "admin"), staff(None, "admin")):
        with pytest.raises(NotFound):
            require_works_at(outsider, a_site)
        with pytest.raises(NotFound):
            require_works_with(outsider, a_agent)
    with pytest.raises(NotFound):
        require_works_at(staff(ORG_A, "admin"), Site(site_id="p"))  # the platform's


# the routes that serve contact centres; every other check-in route refuses an organization's
# staff (403): walk-in tickets, appointments, a person's data
CONTACT_CENTRE_ROUTES = {
    "GET /agents",
    "GET /agents/me/contacts",
    "GET /agents/{agent_id}",
    "POST /agents/{agent_id}/break",
    "POST /agents/{agent_id}/call-next",
    "GET /agents/{agent_id}/live",
    "PUT /agents/{agent_id}/profile",
    "POST /agents/{agent_id}/resume",
    "POST /agents/{agent_id}/sign-in",
    "POST /agents/{agent_id}/sign-out",
    "POST /contacts",
    "GET /sites",
    "GET /sites/{site_id}",
    "PUT /sites/{site_id}",
    "GET /sites/{site_id}/board",
    "GET /sites/{site_id}/board/live",
    "GET /sites/{site_id}/dashboard",
    "GET /sites/{site_id}/dashboard/live",
    "POST /sites/{site_id}/desks",
    "GET /sites/{site_id}/estimate-accuracy",
    "GET /sites/{site_id}/queues",
    "POST /sites/{site_id}/queues/{queue}/close",
    "POST /sites/{site_id}/queues/{queue}/open",
    "GET /tickets/{ticket_id}",
    "POST /tickets/{ticket_id}/call",
    "POST /tickets/{ticket_id}/callback",
    "POST /tickets/{ticket_id}/complete",
    "POST /tickets/{ticket_id}/leave",
    "GET /tickets/{ticket_id}/live",
    "POST /tickets/{ticket_id}/no-show",
    "POST /tickets/{ticket_id}/park",
    "POST /tickets/{ticket_id}/recall",
    "POST /tickets/{ticket_id}/return",
    "POST /tickets/{ticket_id}/start",
    "POST /tickets/{ticket_id}/transfer",
}


def admits_organizations(dependant: Any) -> bool:
    """A route declared with ``require_roles(..., organizations=True)``."""
    return any(
        getattr(dependency.call, "admits_organizations", False) or admits_organizations(dependency)
        for dependency in dependant.dependencies
    )


def test_only_the_contact_centre_routes_admit_an_organizations_staff() -> None:
    admitted = {
        f"{method} {route.path}"
        for router in DEFINITION.routers
        for route in router.routes
        if isinstance(route, APIRoute) and admits_organizations(route.dependant)
        for method in route.methods or ()
    }
    assert admitted == CONTACT_CENTRE_ROUTES
