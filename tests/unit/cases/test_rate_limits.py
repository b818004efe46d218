"""Customers' reads and changes of cases are rate limited (issue 12): the limit ``customer``
applies to customers, not to staff and services working the same routes (an agent console
polls); a customer's own copy of their data is limited too. 429 problem+json, documented."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from runtime.auth import TokenVerifier
from runtime.http import install_problem_handlers, install_request_context
from runtime.limits import Rate, RateLimited, RateLimiter, TokenBuckets
from runtime.service import create_app
from services.cases.bootstrap import DEFINITION

pytestmark = pytest.mark.unit
SECRET = "a-test-secret-that-is-long-enough-for-hs256"

CUSTOMER_OPERATIONS = [
    ("/cases/{case_id}", "get"),
    ("/cases", "get"),
    ("/cases/{case_id}/timeline", "get"),
    ("/cases/{case_id}/reopen", "post"),
    ("/cases/{case_id}/replies", "post"),
    ("/privacy/my-data", "get"),
]


@pytest.mark.parametrize(("path", "method"), CUSTOMER_OPERATIONS)
def test_every_customer_operation_of_cases_documents_its_rate_limit(path: str, method: str) -> None:
    document = create_app(DEFINITION).openapi()
    assert "429" in document["paths"][path][method]["responses"]


async def test_the_customer_limit_stops_customers_and_lets_staff_work() -> None:
    app = FastAPI()
    verifier = TokenVerifier(SECRET, "frontdesk", "frontdesk")
    app.state.token_verifier = verifier
    app.state.rate_limiter = RateLimiter(
        {"customer": Rate(2, 60)}, address_multiplier=100, buckets=TokenBuckets()
    )
    install_problem_handlers(app)
    install_request_context(app)

    @app.get("/cases/{case_id}", dependencies=[RateLimited("customer", customers_only=True)])
    async def read(case_id: str) -> dict[str, str]:
        return {"case_id": case_id}

    customer = {"Authorization": f"Bearer {verifier.issue('cust-1', ['customer'])}"}
    agent = {"Authorization": f"Bearer {verifier.issue('agent-1', ['agent'])}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        answers = [(await client.get("/cases/c1", headers=customer)).status_code for _ in range(3)]
        assert answers == [200, 200, 429]
        limited = await client.get("/cases/c1", headers=customer)
        assert limited.headers["content-type"].startswith("application/problem+json")
        assert int(limited.headers["Retry-After"]) >= 1
        staff = [(await client.get("/cases/c1", headers=agent)).status_code for _ in range(5)]
        assert staff == [200] * 5
