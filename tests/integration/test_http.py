"""HTTP behaviour through the real stack: auth, validation, conflicts, idempotency."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import auth, eventually
from tests.integration.conftest import RunningService

pytestmark = pytest.mark.integration


def intake(account_ref: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "site_id": "shenzhen-01",
        "intake": {
            "problem_category": "account_suspended",
            "account_ref": account_ref,
            "contact_phone": "+8613800000001",
            "language": {"tag": "zh-CN"},
        },
    }
    body.update(overrides)
    return body


async def issued(service: RunningService, correlation: uuid.UUID) -> int:
    """How many tickets the requests sent with this correlation id issued. Only what the
    requests under test could write is counted: meanwhile other tests' timers and check-in's
    own reactions append to the same store."""
    return await service.runtime.pool.fetchval(  # type: ignore[no-any-return]
        """SELECT count(*) FROM events
           WHERE event_type = 'checkin.ticket_issued' AND envelope->>'correlation_id' = $1""",
        str(correlation),
    )


async def stream_length(service: RunningService, stream_id: str) -> int:
    return await service.runtime.pool.fetchval(  # type: ignore[no-any-return]
        "SELECT count(*) FROM events WHERE stream_id = $1", stream_id
    )


def correlated(correlation: uuid.UUID, headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "X-Correlation-Id": str(correlation)}


async def test_health_needs_no_token_and_readiness_checks_both(
    stack: dict[str, RunningService],
) -> None:
    for service in stack.values():
        assert (await service.client.get("/healthz")).json() == {"status": "ok"}

        async def ready(service: RunningService = service) -> httpx.Response | None:
            # each check has 0.4 s: on a saturated machine an answer may come late (503)
            answer = await service.client.get("/readyz")
            return answer if answer.status_code == 200 else None

        answer = await eventually(ready)
        assert answer.json()["checks"]["database"] == "ok"
        assert answer.json()["checks"]["kafka"] == "ok"


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "missing bearer token"),
        ({"Authorization": "Bearer not-a-jwt"}, "invalid bearer token"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "missing bearer token"),
    ],
)
async def test_unauthenticated_is_401_problem_json(
    stack: dict[str, RunningService], headers: dict[str, str], detail: str
) -> None:
    checkin = stack["checkin"]
    correlation = uuid.uuid4()
    response = await checkin.client.post(
        "/tickets", json=intake("acct-x"), headers=correlated(correlation, headers)
    )
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert detail in response.json()["detail"]
    assert response.headers["www-authenticate"] == "Bearer"
    assert await issued(checkin, correlation) == 0


async def test_forged_token_is_401(stack: dict[str, RunningService]) -> None:
    from runtime.auth import TokenVerifier

    forged = TokenVerifier("another-secret-of-sufficient-length-123", "frontdesk", "frontdesk")
    response = await stack["cases"].client.get(
        "/cases", headers=auth(forged.issue("mallory", ["admin"]))
    )
    assert response.status_code == 401
    assert "Signature verification failed" in response.json()["detail"]


async def test_wrong_role_is_403_and_writes_nothing(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    checkin = stack["checkin"]
    correlation = uuid.uuid4()
    response = await checkin.client.post(
        "/tickets", json=intake("acct-y"), headers=correlated(correlation, auth(token("reviewer")))
    )
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert "roles" in response.json()["detail"]
    assert await issued(checkin, correlation) == 0


async def test_invalid_body_is_422_naming_each_field_and_writes_nothing(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    checkin = stack["checkin"]
    correlation = uuid.uuid4()
    body = intake("acct-z", site_id="")
    body["intake"]["contact_phone"] = "12345"
    body["intake"]["problem_category"] = "lost-cat"
    response = await checkin.client.post(
        "/tickets", json=body, headers=correlated(correlation, auth(token("agent")))
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    fields = {error["field"] for error in problem["errors"]}
    assert fields == {"site_id", "intake.contact_phone", "intake.problem_category"}
    assert "intake.contact_phone" in problem["detail"]
    assert await issued(checkin, correlation) == 0


async def test_customer_sees_only_own_tickets(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    checkin = stack["checkin"]
    owner = token("customer", sub="cust-owner")
    created = await checkin.client.post("/tickets", json=intake("acct-o"), headers=auth(owner))
    assert created.status_code == 201, created.text
    ticket_id = created.json()["ticket_id"]
    assert created.json()["customer_id"] == "cust-owner"
    mine = await checkin.client.get(f"/tickets/{ticket_id}", headers=auth(owner))
    assert mine.status_code == 200
    other = await checkin.client.get(
        f"/tickets/{ticket_id}", headers=auth(token("customer", sub="cust-other"))
    )
    assert other.status_code == 404
    staff = await checkin.client.get(f"/tickets/{ticket_id}", headers=auth(token("agent")))
    assert staff.status_code == 200
    spoof = await checkin.client.post(
        "/tickets", json=intake("acct-o", customer_id="cust-victim"), headers=auth(owner)
    )
    assert spoof.status_code == 403


async def test_illegal_transition_is_409_with_reason_and_writes_nothing(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    checkin = stack["checkin"]
    agent = auth(token("agent"))
    ticket = (await checkin.client.post("/tickets", json=intake("acct-l"), headers=agent)).json()
    left = await checkin.client.post(
        f"/tickets/{ticket['ticket_id']}/leave", json={}, headers=agent
    )
    assert left.status_code == 200
    assert left.json()["status"] == "left"
    stream = f"ticket-{ticket['ticket_id']}"
    before = await stream_length(checkin, stream)
    call = await checkin.client.post(
        f"/tickets/{ticket['ticket_id']}/call", json={"desk_id": "d1"}, headers=agent
    )
    assert call.status_code == 409
    assert call.json()["detail"] == "cannot call a ticket that is left"
    assert await stream_length(checkin, stream) == before


async def test_two_concurrent_conflicting_commands_one_wins_one_409(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    checkin = stack["checkin"]
    created = await checkin.client.post(
        "/tickets", json=intake("acct-c"), headers=auth(token("agent"))
    )
    ticket_id = created.json()["ticket_id"]
    before = await stream_length(checkin, f"ticket-{ticket_id}")
    calls = await asyncio.gather(
        *(
            checkin.client.post(
                f"/tickets/{ticket_id}/call",
                json={"desk_id": f"desk-{n}"},
                headers=auth(token("agent", sub=f"agent-{n}")),
            )
            for n in range(2)
        )
    )
    statuses = sorted(response.status_code for response in calls)
    assert statuses == [200, 409], [response.text for response in calls]
    loser = next(response for response in calls if response.status_code == 409)
    assert loser.headers["content-type"] == "application/problem+json"
    assert await stream_length(checkin, f"ticket-{ticket_id}") == before + 1
    versions = await checkin.runtime.pool.fetch(
        "SELECT stream_version FROM events WHERE stream_id = $1 ORDER BY 1",
        f"ticket-{ticket_id}",
    )
    assert [row["stream_version"] for row in versions] == [1, 2]


async def test_idempotency_key_returns_the_first_result_and_acts_once(
    stack: dict[str, RunningService], token: Callable[..., str], unique: Callable[[str], str]
) -> None:
    checkin = stack["checkin"]
    correlation = uuid.uuid4()
    customer = correlated(correlation, auth(token("customer", sub="cust-idem")))
    key = unique("idem")
    first, second = [
        await checkin.client.post(
            "/tickets", json=intake("acct-i"), headers={**customer, "Idempotency-Key": key}
        )
        for _ in range(2)
    ]
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers.get("idempotent-replay") == "true"
    assert await issued(checkin, correlation) == 1
    concurrent = await asyncio.gather(
        *(
            checkin.client.post(
                "/tickets",
                json=intake("acct-j"),
                headers={**customer, "Idempotency-Key": key + "-c"},
            )
            for _ in range(3)
        )
    )
    assert len({response.json()["ticket_id"] for response in concurrent}) == 1
    assert await issued(checkin, correlation) == 2
    reused = await checkin.client.post(
        "/tickets", json=intake("acct-other"), headers={**customer, "Idempotency-Key": key}
    )
    assert reused.status_code == 422
    assert "different request" in reused.json()["detail"]
