"""A verified organization for the contact-centre tests of check-in, cases and notifications.

Verification's own tests prove how an organization gets verified over HTTP (flow 7:
tests/integration/verification/test_organizations.py). The contact-centre tests start from its
result: ``verification.organization_verified`` appended to verification's event store, as
verification's last step does, and published by its relay to the real Kafka topic the other
services consume.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from contracts.envelope import Actor
from contracts.events.verification_organizations import OrganizationVerified
from runtime.context import CommandContext


async def verified_organization(stack: dict[str, Any], legal_name: str) -> uuid.UUID:
    """A new organization's id, verified (the event is on its way to Kafka: wait for the
    consuming service's view of it before relying on it)."""
    organization_id = uuid.uuid4()
    verified = OrganizationVerified(
        organization_id=organization_id,
        legal_name=legal_name,
        verified_domains=[f"{organization_id.hex[:10]}.example.cn"],
        reasons=["documents approved", "deposits confirmed", "phone confirmed"],
        verified_at=datetime.now(UTC),
    )
    context = CommandContext(
        actor=Actor(id="rev-org", role="reviewer"), correlation_id=uuid.uuid4()
    )
    verification = stack["verification"].runtime
    async with verification.pool.acquire() as conn, conn.transaction():
        await verification.store.append(
            conn, f"organization-{organization_id}", 0, [verified], context
        )
    return organization_id
