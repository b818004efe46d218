"""HTTP API of sites: configure a service center (time zone, opening hours, queues, phone
menu), add desks and remote positions, close or open a queue for the rest of the day.

A verified organization's administrator or supervisor configures its contact centre's sites
the same way: the site is the organization's from its first configuration on (see
``api/roles.py``)."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.events.checkin_sites import DeskKind, OpeningHours, QueueSettings
from contracts.vocabulary import ServiceQueue as Queue
from runtime.auth import STAFF_ROLES, Principal, require_roles
from runtime.commands import command
from runtime.errors import NotFound
from runtime.service import Runtime, ServiceRuntime
from services.checkin.api.roles import (
    ID,
    BoardRoles,
    SiteId,
    SupervisorRoles,
    context_of,
    require_works_at,
    site_at_work,
)
from services.checkin.api.tickets import ReasonRequest
from services.checkin.application.sites import change_site, load_site
from services.checkin.domain.sites import (
    AddDesk,
    CloseQueue,
    ConfigureSite,
    OpenQueue,
    Site,
    SiteCommand,
)
from services.checkin.projections import sites as site_list

router = APIRouter()


class SiteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    timezone: str = Field(min_length=1, max_length=64, examples=["Asia/Shanghai"])
    opening_hours: list[OpeningHours] = Field(default_factory=list, max_length=50)
    queues: list[QueueSettings] = Field(min_length=1, max_length=len(Queue))
    estimate_margin_minutes: int = Field(default=5, ge=1, le=120)
    screening_required: bool = Field(
        default=False, description="Walk-ins only through reception confirming the screening."
    )
    ivr_menu: dict[str, Queue] | None = Field(
        default=None,
        max_length=12,
        description="The phone menu: key (0-9, * or #) -> queue; absent: the standard menu.",
        examples=[{"1": "account_security", "2": "wallet_payments", "9": "general"}],
    )


class OpeningHoursView(BaseModel):
    weekday: int
    opens: time
    closes: time


class SiteView(BaseModel):
    site_id: str
    name: str | None
    timezone: str
    opening_hours: list[OpeningHoursView]
    queues: list[QueueSettings]
    desks: dict[str, dict[str, str | None]]
    open_now: bool
    next_opening: AwareDatetime | None
    closed_today: list[Queue]
    screening_required: bool = False
    ivr_menu: dict[str, Queue] = Field(default_factory=dict)
    organization_id: UUID | None = Field(
        default=None, description="The organization whose contact centre this is; null: ours."
    )


class SiteSummary(BaseModel):
    site_id: str
    name: str
    timezone: str
    queues: list[Queue]
    organization_id: UUID | None = Field(
        description="The organization whose contact centre this is; null: ours."
    )


class DeskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    desk_id: str = Field(pattern=ID)
    kind: DeskKind = DeskKind.COUNTER
    location: str | None = Field(default=None, max_length=120)


def site_view(site: Site, now: datetime) -> SiteView:
    if not site.configured:
        raise NotFound("no such site")
    return SiteView(
        site_id=site.site_id or "",
        name=site.name,
        timezone=site.timezone,
        opening_hours=[
            OpeningHoursView(weekday=h.weekday, opens=h.opens, closes=h.closes)
            for h in site.opening_hours
        ],
        queues=list(site.queues.values()),
        desks={
            desk_id: {"kind": desk.kind.value, "location": desk.location}
            for desk_id, desk in sorted(site.desks.items())
        },
        open_now=site.is_open(now),
        next_opening=site.next_opening(now),
        closed_today=sorted(q for q in site.queues if site.queue_closed_today(q, now)),
        screening_required=site.screening_required,
        ivr_menu=dict(sorted(site.ivr_menu.items())),
        organization_id=site.organization_id,
    )


async def _change_site(
    runtime: ServiceRuntime, principal: Principal, site_id: str, action: SiteCommand, now: datetime
) -> SiteView:
    """Every site command: decide and append in one transaction, answer with the site. The
    site's organization never changes once configured, so checking it before is enough here
    (the decision refuses another's site too, should it be configured meanwhile)."""
    async with runtime.pool.acquire() as conn:
        site = await load_site(conn, runtime.store, site_id)
    if site.configured:  # a new site id is anyone's to configure; it is then theirs
        require_works_at(principal, site)
    context = context_of(principal)
    site = await command(
        runtime.pool, lambda conn: change_site(conn, runtime.store, site_id, action, context)
    )
    return site_view(site, now)


@router.put("/sites/{site_id}", response_model=SiteView, tags=["sites"], summary="Configure a site")
async def configure_site(
    site_id: SiteId,
    body: SiteRequest,
    runtime: Runtime,
    principal: Annotated[Principal, SupervisorRoles],
) -> SiteView:
    now = runtime.clock.now()
    action = ConfigureSite(
        site_id=site_id,
        name=body.name,
        timezone=body.timezone,
        opening_hours=tuple(body.opening_hours),
        queues=tuple(body.queues),
        at=now,
        estimate_margin_minutes=body.estimate_margin_minutes,
        screening_required=body.screening_required,
        ivr_menu=body.ivr_menu,
        organization_id=principal.organization,
    )
    return await _change_site(runtime, principal, site_id, action, now)


@router.get("/sites", response_model=list[SiteSummary], tags=["sites"], summary="My centre's sites")
async def list_sites(
    runtime: Runtime, principal: Annotated[Principal, BoardRoles]
) -> list[SiteSummary]:
    """The sites of the caller's own contact centre (an organization's staff: their
    organization's; the platform's staff: the platform's; a service: all), by id, at most
    1000, from the ``sites`` read model (a moment behind a configuration)."""
    async with runtime.pool.acquire() as conn:
        rows = await site_list.centre_sites(
            conn, principal.organization, every_centre="service" in principal.roles
        )
    return [
        SiteSummary(
            site_id=row["site_id"],
            name=row["name"],
            timezone=row["timezone"],
            queues=sorted(row["queues"]),
            organization_id=row["organization_id"],
        )
        for row in rows
    ]


@router.get("/sites/{site_id}", response_model=SiteView, tags=["sites"], summary="A site")
async def get_site(
    site_id: SiteId,
    runtime: Runtime,
    principal: Annotated[
        Principal, require_roles("customer", *STAFF_ROLES, "service", organizations=True)
    ],
) -> SiteView:
    async with runtime.pool.acquire() as conn:
        site = await site_at_work(conn, runtime.store, principal, site_id)
    return site_view(site, runtime.clock.now())


@router.post(
    "/sites/{site_id}/desks",
    response_model=SiteView,
    status_code=201,
    tags=["sites"],
    summary="Add a desk or remote position",
)
async def add_desk(
    site_id: SiteId,
    body: DeskRequest,
    runtime: Runtime,
    principal: Annotated[Principal, SupervisorRoles],
) -> SiteView:
    now = runtime.clock.now()
    action = AddDesk(
        desk_id=body.desk_id,
        kind=body.kind,
        at=now,
        location=body.location,
        organization_id=principal.organization,
    )
    return await _change_site(runtime, principal, site_id, action, now)


@router.post(
    "/sites/{site_id}/queues/{queue}/close",
    response_model=SiteView,
    tags=["sites"],
    summary="Close a queue for the rest of the day",
)
async def close_queue(
    site_id: SiteId,
    queue: Queue,
    body: ReasonRequest,
    runtime: Runtime,
    principal: Annotated[Principal, SupervisorRoles],
) -> SiteView:
    now = runtime.clock.now()
    action = CloseQueue(
        queue=queue, at=now, reason=body.reason, organization_id=principal.organization
    )
    return await _change_site(runtime, principal, site_id, action, now)


@router.post(
    "/sites/{site_id}/queues/{queue}/open",
    response_model=SiteView,
    tags=["sites"],
    summary="Open a queue closed for the day",
)
async def open_queue(
    site_id: SiteId,
    queue: Queue,
    runtime: Runtime,
    principal: Annotated[Principal, SupervisorRoles],
) -> SiteView:
    now = runtime.clock.now()
    action = OpenQueue(queue=queue, at=now, organization_id=principal.organization)
    return await _change_site(runtime, principal, site_id, action, now)
