"""Who may see what, and the audit of staff reads (docs/privacy.md): shared by the routers."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from runtime.audit import record_access
from runtime.auth import STAFF_ROLES, Principal, require_roles
from runtime.context import CommandContext
from runtime.errors import NotFound
from runtime.service import ServiceRuntime
from services.verification.application.organizations import load_organization
from services.verification.application.sessions import load_session
from services.verification.domain.organizations import Organization, OrganizationStatus
from services.verification.domain.sessions import Session, SessionStatus

StaffOrService = require_roles(*STAFF_ROLES, "service")
Participant = require_roles("customer", *STAFF_ROLES, "service")
Reviewer = require_roles("reviewer")


def context_of(principal: Principal) -> CommandContext:
    return CommandContext.new(principal.actor())


async def visible_session(
    conn: asyncpg.Connection, runtime: ServiceRuntime, principal: Principal, verification_id: UUID
) -> Session:
    """The session, for staff and for the person taking it; 404 for anyone else."""
    session = await load_session(conn, runtime.store, verification_id)
    if session.status is SessionStatus.NONE:
        raise NotFound(f"verification session {verification_id} not found")
    if not principal.is_staff and session.person_ref != principal.id:
        raise NotFound(f"verification session {verification_id} not found")
    return session


async def session_for(
    runtime: ServiceRuntime, principal: Principal, verification_id: UUID
) -> Session:
    async with runtime.pool.acquire() as conn:
        return await visible_session(conn, runtime, principal, verification_id)


async def visible_organization(
    conn: asyncpg.Connection, runtime: ServiceRuntime, principal: Principal, organization_id: UUID
) -> Organization:
    organization = await load_organization(conn, runtime.store, organization_id)
    if organization.status is OrganizationStatus.NONE or (
        not principal.is_staff and organization.submitted_by != principal.id
    ):
        raise NotFound(f"organization {organization_id} not found")
    return organization


async def organization_for(
    runtime: ServiceRuntime, principal: Principal, organization_id: UUID
) -> Organization:
    async with runtime.pool.acquire() as conn:
        return await visible_organization(conn, runtime, principal, organization_id)


def purpose_of(verification_id: UUID, case_id: UUID | None, ticket_id: UUID | None) -> str:
    """Why staff looks at a verification: its case, else its ticket, else itself."""
    if case_id is not None:
        return f"case:{case_id}"
    return f"ticket:{ticket_id}" if ticket_id is not None else f"verification:{verification_id}"


async def audit_read(
    conn: asyncpg.Connection,
    runtime: ServiceRuntime,
    principal: Principal,
    row: Any,
    resource: str,
    fields: list[str],
) -> None:
    """A staff read of a person's verification (docs/privacy.md): who, whose, what, why."""

    def get(name: str) -> Any:
        return row.get(name) if isinstance(row, dict) else getattr(row, name, None)

    verification_id: UUID = get("verification_id")
    await record_access(
        conn,
        runtime,
        principal,
        subject_id=f"account:{get('account_ref')}",
        resource=resource,
        resource_id=str(verification_id),
        fields=fields,
        purpose=purpose_of(verification_id, get("case_id"), get("ticket_id")),
    )


async def audit_organization_read(
    conn: asyncpg.Connection, runtime: ServiceRuntime, principal: Principal, organization_id: UUID
) -> None:
    """A staff read (a reviewer's review) of an organization's profile: audited with the
    organization's verification as the reason (docs/privacy.md)."""
    await record_access(
        conn,
        runtime,
        principal,
        subject_id=f"organization:{organization_id}",
        resource="organization",
        resource_id=str(organization_id),
        fields=["legal_name", "bank_account_last4", "official_domains"],
        purpose=f"organization:{organization_id}",
    )
