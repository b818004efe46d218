"""The operators' registry of protected brands and their domains (role ``admin``): look-alikes
of these domains are flagged when an organization is submitted, whether or not the brand has
verified an organization here."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from contracts.events.verification_protected_domains import ProtectionSource
from runtime.auth import Principal, require_roles
from runtime.commands import command
from runtime.service import Runtime
from services.verification.api.access import context_of
from services.verification.api.organizations import DOMAIN
from services.verification.application.protected_domains import (
    change_protected_domains,
    protected_domains,
)
from services.verification.domain.protected_domains import (
    ProtectDomain,
    ProtectedDomains,
    ProtectedDomainsCommand,
    UnprotectDomain,
)

router = APIRouter(tags=["organizations"])

Operator = require_roles("admin")
Domain = Annotated[str, Path(pattern=DOMAIN, max_length=253, description="A protected domain")]


class ProtectedDomainView(BaseModel):
    domain: str
    brand: str
    source: ProtectionSource


class ProtectedDomainEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    domain: str = Field(pattern=DOMAIN, max_length=253, examples=["byd.com"])
    brand: str = Field(min_length=1, max_length=100, examples=["BYD"])


class Unprotection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=3, max_length=500)


def registry_view(registry: ProtectedDomains) -> list[ProtectedDomainView]:
    return [
        ProtectedDomainView(domain=p.domain, brand=p.brand, source=p.source)
        for p in registry.protected
    ]


async def _change(
    runtime: Runtime, principal: Principal, change: ProtectedDomainsCommand
) -> ProtectedDomains:
    context = context_of(principal)

    async def act(conn: asyncpg.Connection) -> ProtectedDomains:
        return await change_protected_domains(conn, runtime.store, change, context)

    return await command(runtime.pool, act)


@router.get(
    "/verification/protected-domains",
    response_model=list[ProtectedDomainView],
    summary="The protected brands' domains (seeds and operators' additions), by domain",
)
async def list_protected_domains(
    runtime: Runtime,
    principal: Annotated[Principal, require_roles("admin", "reviewer", "supervisor")],
) -> list[ProtectedDomainView]:
    async with runtime.pool.acquire() as conn:
        return registry_view(await protected_domains(conn, runtime.store))


@router.post(
    "/verification/protected-domains",
    status_code=201,
    response_model=ProtectedDomainView,
    summary="An operator protects a brand's domain (again for the same brand: no change)",
)
async def protect_domain(
    body: ProtectedDomainEntry, runtime: Runtime, principal: Annotated[Principal, Operator]
) -> ProtectedDomainView:
    change = ProtectDomain(body.domain, body.brand, principal.id, runtime.clock.now())
    registry = await _change(runtime, principal, change)
    entry = registry.find(body.domain)
    assert entry is not None
    return ProtectedDomainView(domain=entry.domain, brand=entry.brand, source=entry.source)


@router.post(
    "/verification/protected-domains/{domain}/removal",
    response_model=list[ProtectedDomainView],
    summary="An operator takes a domain off the registry, with a reason",
)
async def unprotect_domain(
    domain: Domain, body: Unprotection, runtime: Runtime, principal: Annotated[Principal, Operator]
) -> list[ProtectedDomainView]:
    change = UnprotectDomain(domain, body.reason, principal.id, runtime.clock.now())
    return registry_view(await _change(runtime, principal, change))
