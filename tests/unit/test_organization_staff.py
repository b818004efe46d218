"""An organization's staff (token claim ``org``): admitted only where a route serves
organizations' contact centres, and there only to their own organization's resources."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID, uuid4

import jwt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from runtime.auth import Principal, TokenVerifier, Unauthenticated, require_roles
from runtime.errors import RuleViolation
from runtime.http import install_problem_handlers
from runtime.organizations import VerifiedOrganization, require_verified

pytestmark = pytest.mark.unit

SECRET = "test-secret-long-enough-for-hs256-signatures"
VERIFIER = TokenVerifier(secret=SECRET, issuer="frontdesk", audience="frontdesk")
BYD = UUID("5f0c1f0e-6a8e-4f3e-9a53-0a1b2c3d4e5f")


def claims(**extra: object) -> str:
    now = int(time.time())
    base = {"sub": "li.wei", "iat": now, "exp": now + 600, "iss": "frontdesk", "aud": "frontdesk"}
    return jwt.encode(base | extra, SECRET, algorithm="HS256")


def test_the_org_claim_makes_the_caller_that_organizations_staff() -> None:
    token = VERIFIER.issue("li.wei", ["admin"], organization=BYD)
    principal = VERIFIER.verify(token)
    assert principal.organization == BYD
    assert principal.works_for(BYD)
    assert not principal.works_for(uuid4())  # never another organization's
    assert not principal.works_for(None)  # nor the platform's own service centre


def test_the_platforms_staff_work_in_the_platforms_centre_and_services_everywhere() -> None:
    agent = Principal(id="a1", roles=frozenset({"agent"}))
    assert agent.works_for(None)
    assert not agent.works_for(BYD)
    service = Principal(id="billing", roles=frozenset({"service"}))
    assert service.works_for(None)
    assert service.works_for(BYD)


@pytest.mark.parametrize(
    ("org", "roles", "reason"),
    [
        ("byd", ["admin"], "organization id"),
        ("x" * 5000, ["admin"], "organization id"),
        (42, ["admin"], "organization id"),
        (str(BYD), ["customer"], "organization's staff"),
        (str(BYD), ["reviewer"], "organization's staff"),
        (str(BYD), ["agent", "service"], "organization's staff"),
    ],
)
def test_a_bad_org_claim_is_unauthenticated(org: object, roles: list[str], reason: str) -> None:
    with pytest.raises(Unauthenticated, match=reason):
        VERIFIER.verify(claims(org=org, roles=roles))


def test_tokens_for_an_organization_are_minted_only_for_its_staff_roles() -> None:
    with pytest.raises(ValueError, match="organization's staff"):
        VERIFIER.issue("li.wei", ["reviewer"], organization=BYD)


PlatformStaff = require_roles("agent", "admin")
ContactCentreStaff = require_roles("agent", "admin", organizations=True)


def app_with_routes() -> FastAPI:
    app = FastAPI()
    app.state.token_verifier = VERIFIER
    install_problem_handlers(app)

    @app.get("/cases")
    async def platform_only(principal: Annotated[Principal, PlatformStaff]) -> dict[str, str]:
        return {"id": principal.id}

    @app.get("/sites")
    async def contact_centres(
        principal: Annotated[Principal, ContactCentreStaff],
    ) -> dict[str, str | None]:
        return {"organization": str(principal.organization) if principal.organization else None}

    return app


def test_routes_refuse_an_organizations_staff_unless_they_serve_contact_centres() -> None:
    client = TestClient(app_with_routes())
    staff = {"Authorization": f"Bearer {VERIFIER.issue('li.wei', ['admin'], organization=BYD)}"}
    platform = {"Authorization": f"Bearer {VERIFIER.issue('a1', ['agent'])}"}
    refused = client.get("/cases", headers=staff)
    assert refused.status_code == 403
    assert "contact centre" in refused.json()["detail"]
    assert client.get("/cases", headers=platform).status_code == 200
    assert client.get("/sites", headers=staff).json() == {"organization": str(BYD)}
    assert client.get("/sites", headers=platform).json() == {"organization": None}


def test_an_organizations_resources_need_it_verified() -> None:
    verified = VerifiedOrganization(BYD, "比亚迪股份有限公司", datetime(2026, 12, 1, tzinfo=UTC))
    require_verified(None, None)  # the platform's own centre needs no verification
    require_verified(BYD, verified)
    with pytest.raises(RuleViolation) as refused:
        require_verified(BYD, None)
    assert refused.value.rule == "organization_not_verified"
    assert refused.value.fields == {"organization_id": str(BYD)}
    with pytest.raises(RuleViolation):
        require_verified(uuid4(), verified)  # another organization's verification
