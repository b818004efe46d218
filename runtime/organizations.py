"""Organizations' contact centres: which organizations verification has verified.

An organization that verification verified (flow 7) runs its own contact centre on
Frontdesk: its queues and IVR menu (check-in), its agents (check-in), its customer tags
(cases) and its campaigns (notifications). Its staff sign in with the organization's id in
their token (``runtime.auth.Principal.organization``) and work only in that contact centre;
each resource records the organization that owns it (None: the platform's own service
centre). Every service that runs contact centres keeps this read model, from verification's
events, and its ``decide`` refuses an organization's resources until the organization is
verified (``require_verified``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from contracts.events.verification_organizations import (
    VERIFICATION_ORGANIZATIONS,
    OrganizationVerified,
)
from runtime.consumer import ConsumerGroup, ReceivedEvent
from runtime.errors import RuleViolation

TABLES = ("verified_organizations",)


@dataclass(frozen=True)
class VerifiedOrganization:
    organization_id: UUID
    legal_name: str
    verified_at: datetime


async def project_organization_verified(
    conn: asyncpg.Connection, event: ReceivedEvent[OrganizationVerified]
) -> None:
    verified = event.payload
    await conn.execute(
        """INSERT INTO verified_organizations (organization_id, legal_name, verified_at)
           VALUES ($1, $2, $3) ON CONFLICT (organization_id) DO NOTHING""",
        verified.organization_id,
        verified.legal_name,
        verified.verified_at,
    )


def organizations_projection(service: str) -> ConsumerGroup:
    """The consumer group ``<service>.organizations`` that keeps ``verified_organizations``."""
    return ConsumerGroup(
        name=f"{service}.organizations",
        topics=[VERIFICATION_ORGANIZATIONS],
        handlers={OrganizationVerified: project_organization_verified},
        read_models=TABLES,
        description="The organizations verification verified: whose staff may run a contact "
        "centre here (runtime/organizations.py).",
    )


async def verified_organization(
    conn: asyncpg.Connection, organization_id: UUID | None
) -> VerifiedOrganization | None:
    """The organization as verification verified it; None when it is not (yet) verified, or
    for the platform's own service centre (``organization_id`` None, no query)."""
    if organization_id is None:
        return None
    row = await conn.fetchrow(
        """SELECT organization_id, legal_name, verified_at FROM verified_organizations
           WHERE organization_id = $1""",
        organization_id,
    )
    return VerifiedOrganization(**dict(row)) if row is not None else None


def require_verified(organization_id: UUID | None, verified: VerifiedOrganization | None) -> None:
    """The rule every contact-centre ``decide`` applies: a resource of an organization (not
    the platform's own, ``organization_id`` None) needs that organization verified. Pure."""
    if organization_id is None:
        return
    if verified is None or verified.organization_id != organization_id:
        raise RuleViolation(
            "the organization is not verified yet: its contact centre opens once verification "
            "has verified it",
            {"organization_id": str(organization_id)},
            rule="organization_not_verified",
        )
