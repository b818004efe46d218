"""Organizations' contact centres: every service that runs them learns from Kafka which
organizations verification verified (runtime/organizations.py)."""

from __future__ import annotations

from functools import partial
from uuid import UUID

import pytest

from runtime.organizations import VerifiedOrganization
from runtime.organizations import verified_organization as known_organization
from tests.conftest import eventually
from tests.integration.conftest import RunningService
from tests.integration.organizations import verified_organization

pytestmark = pytest.mark.integration

CONTACT_CENTRES = ("checkin", "cases", "notifications")


async def test_every_contact_centre_service_learns_a_verified_organization(
    stack: dict[str, RunningService],
) -> None:
    organization_id = await verified_organization(stack, "深圳示例科技有限公司")
    for name in CONTACT_CENTRES:
        organization = await eventually(partial(known, stack[name], organization_id))
        assert organization.legal_name == "深圳示例科技有限公司"


async def known(service: RunningService, organization_id: UUID) -> VerifiedOrganization | None:
    async with service.runtime.pool.acquire() as conn:
        return await known_organization(conn, organization_id)
