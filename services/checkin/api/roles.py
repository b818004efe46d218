"""Who may call check-in's routes, and the context a caller's command runs in.

Organizations' contact centres: the routes that serve one (sites, desks and queues, agents,
the desk's ticket actions, remote contacts, the board and the dashboards) admit an
organization's staff too (``organizations=True``), and every one of them checks that the
caller works for the organization owning what it reads or changes (``require_works_at``,
``require_works_with``): another's site, agent or ticket is 404, for an organization's staff
and for the platform's alike. Customers are unchanged. Every other route (issuing walk-in
tickets, appointments) stays the platform's own: an organization's staff get 403 there.
"""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import Path

from runtime.auth import STAFF_ROLES, Forbidden, Principal, require_roles
from runtime.context import CommandContext
from runtime.errors import NotFound
from runtime.eventstore import EventStore
from services.checkin.application.sites import load_site
from services.checkin.domain.agents import Agent
from services.checkin.domain.sites import Site

ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
SiteId = Annotated[str, Path(max_length=64, pattern=ID)]

IssuerRoles = require_roles("customer", "agent", "supervisor", "admin", "service")
ViewerRoles = require_roles("customer", *STAFF_ROLES, "service")
# contact-centre routes: an organization's staff too, each checking whose resource it is
StaffRoles = require_roles(*STAFF_ROLES, organizations=True)
DeskRoles = require_roles("agent", "specialist", "supervisor", organizations=True)
SupervisorRoles = require_roles("supervisor", "admin", organizations=True)
BoardRoles = require_roles(*STAFF_ROLES, "service", organizations=True)


def context_of(principal: Principal) -> CommandContext:
    return CommandContext.new(principal.actor())


def is_supervisor(principal: Principal) -> bool:
    return principal.has_any("supervisor", "admin")


def require_self_or_supervisor(principal: Principal, agent_id: str) -> None:
    if principal.id != agent_id and not is_supervisor(principal):
        raise Forbidden("agents act only for themselves; supervisors for anyone")


def require_works_at(principal: Principal, site: Site, missing: str = "no such site") -> None:
    """Staff work only at their own centre's sites: an organization's staff at their
    organization's, the platform's staff at the platform's (a service at all). Anyone else's
    site is "no such site", with no hint that it exists. Customers reach every site."""
    if principal.is_staff and not principal.works_for(site.organization_id):
        raise NotFound(missing)


def require_works_with(principal: Principal, agent: Agent) -> None:
    """As ``require_works_at``, for an agent: another centre's agent is "no such agent"."""
    if agent.known and not principal.works_for(agent.organization_id):
        raise NotFound("no such agent")


async def site_at_work(
    conn: asyncpg.Connection, store: EventStore, principal: Principal, site_id: str
) -> Site:
    """The site, if the caller works there (``require_works_at``), else 404. A site's
    organization never changes once configured, so a check before a command is enough."""
    site = await load_site(conn, store, site_id)
    require_works_at(principal, site)
    return site
