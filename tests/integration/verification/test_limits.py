"""Rate limits on the session routes a caller can repeat at will (issue 12): an identity
check (each opens a session at the paid provider), an evidence upload and ownership evidence
answer 429 problem+json with Retry-After once the caller's ``customer`` limit is spent, and
the refused request changes nothing."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio

from runtime.limits import Rate, RateLimiter
from tests.conftest import auth
from tests.integration.conftest import RunningService

pytestmark = pytest.mark.integration

Stack = dict[str, RunningService]
UPLOAD = {"kind": "ownership_evidence", "content_type": "image/png"}
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"evidence" * 8).decode()


@pytest_asyncio.fixture(loop_scope="session")
async def two_per_hour(stack: Stack) -> AsyncIterator[None]:
    """The verification service with a ``customer`` limit of 2 requests per hour."""
    state = stack["verification"].app.state
    previous = getattr(state, "rate_limiter", None)
    state.rate_limiter = RateLimiter({"customer": Rate(2, 3600)})
    try:
        yield
    finally:
        state.rate_limiter = previous


async def dead_phone_session(stack: Stack, headers: dict[str, str]) -> str:
    started = await stack["verification"].client.post(
        "/verification/sessions",
        json={
            "account_ref": f"acct-{uuid.uuid4().hex[:8]}",
            "purpose": "account_recovery",
            "risk_level": "low",
            "person_role": "holder",
            "registered_phone_unavailable": True,
        },
        headers=headers,
    )
    assert started.status_code == 201, started.text
    return str(started.json()["verification_id"])


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("identity-check", None),
        ("media", {**UPLOAD, "content_base64": PNG}),
        ("ownership-evidence", {"login_cities": ["Lhasa"]}),
    ],
)
@pytest.mark.usefixtures("two_per_hour")
async def test_a_caller_over_the_limit_gets_429_with_retry_after_and_nothing_changes(
    stack: Stack, token: Callable[..., str], route: str, body: dict[str, Any] | None
) -> None:
    client = stack["verification"].client
    starter = auth(token("agent"))  # another principal: its own bucket
    verification_id = await dead_phone_session(stack, starter)
    caller = auth(token("agent"))
    path = f"/verification/sessions/{verification_id}/{route}"
    answers = [(await client.post(path, json=body, headers=caller)).status_code for _ in range(2)]
    assert 429 not in answers, answers
    before = (await client.get(f"/verification/sessions/{verification_id}", headers=starter)).json()

    refused = await client.post(path, json=body, headers=caller)

    assert refused.status_code == 429, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["status"] == 429
    after = (await client.get(f"/verification/sessions/{verification_id}", headers=starter)).json()
    assert after == before
    other = await client.post(path, json=body, headers=auth(token("agent")))
    assert other.status_code != 429  # the limit is the caller's, not the route's
