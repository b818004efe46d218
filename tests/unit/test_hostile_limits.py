"""Rate limits (issue 12): token buckets per principal and per address, 429 problem+json with
Retry-After, configurable, documented in OpenAPI."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from runtime.auth import TokenVerifier
from runtime.http import install_problem_handlers, install_request_context
from runtime.limits import Rate, RateLimited, RateLimiter, TokenBuckets, parse_limits

pytestmark = pytest.mark.unit
SECRET = "a-test-secret-that-is-long-enough-for-hs256"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_limits_are_parsed_from_settings_text() -> None:
    assert parse_limits("customer=60/60, codes=10/300") == {
        "customer": Rate(60, 60),
        "codes": Rate(10, 300),
    }
    with pytest.raises(ValueError, match="positive"):
        parse_limits("codes=0/60")


def test_a_bucket_refills_continuously() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(clock=clock)
    rate = Rate(3, 30)  # one token every 10 s
    assert [buckets.take(("c", "k"), rate) for _ in range(3)] == [0, 0, 0]
    assert buckets.take(("c", "k"), rate) == pytest.approx(10)
    clock.now += 10
    assert buckets.take(("c", "k"), rate) == 0
    assert buckets.take(("c", "other"), rate) == 0  # keys are independent


def test_old_keys_are_forgotten_beyond_the_bound() -> None:
    buckets = TokenBuckets(max_keys=2, clock=FakeClock())
    for key in ("a", "b", "c"):
        buckets.take(("n", key), Rate(1, 60))
    assert buckets.take(("n", "a"), Rate(1, 60)) == 0  # forgotten: a full bucket again
    assert buckets.take(("n", "c"), Rate(1, 60)) > 0


def build_app(limiter: RateLimiter) -> FastAPI:
    app = FastAPI()
    app.state.token_verifier = TokenVerifier(SECRET, "frontdesk", "frontdesk")
    app.state.rate_limiter = limiter
    install_problem_handlers(app)
    install_request_context(app)

    @app.post("/codes", dependencies=[RateLimited("codes")])
    async def submit() -> dict[str, str]:
        return {"status": "checked"}

    @app.get("/free")
    async def free() -> dict[str, str]:
        return {"status": "ok"}

    return app


async def test_over_the_limit_is_429_problem_json_with_retry_after() -> None:
    clock = FakeClock()
    limiter = RateLimiter({"codes": Rate(2, 60)}, buckets=TokenBuckets(clock=clock))
    app = build_app(limiter)
    verifier = app.state.token_verifier
    alice = {"Authorization": f"Bearer {verifier.issue('alice', ['customer'])}"}
    bob = {"Authorization": f"Bearer {verifier.issue('bob', ['customer'])}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        assert (await http.post("/codes")).status_code == 401  # no token: 401 first
        assert [(await http.post("/codes", headers=alice)).status_code for _ in range(2)] == [
            200,
            200,
        ]
        refused = await http.post("/codes", headers=alice)
        assert refused.status_code == 429
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.headers["retry-after"] == "30"
        assert "codes" in refused.json()["detail"]
        assert (await http.post("/codes", headers=bob)).status_code == 200  # per principal
        clock.now += 30
        assert (await http.post("/codes", headers=alice)).status_code == 200


async def test_one_address_is_limited_too_more_generously() -> None:
    clock = FakeClock()
    limiter = RateLimiter(
        {"codes": Rate(1, 60)}, address_multiplier=3, buckets=TokenBuckets(clock=clock)
    )
    app = build_app(limiter)
    verifier = app.state.token_verifier
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        answers = []
        for n in range(4):  # four principals, one address
            token = verifier.issue(f"user-{n}", ["customer"])
            answer = await http.post("/codes", headers={"Authorization": f"Bearer {token}"})
            answers.append(answer.status_code)
        assert answers == [200, 200, 200, 429]


def test_rate_limited_operations_document_429() -> None:
    app = build_app(RateLimiter({}))
    document = app.openapi()
    limited = document["paths"]["/codes"]["post"]["responses"]["429"]
    assert "Retry-After" in limited["headers"]
    assert "429" not in document["paths"]["/free"]["get"]["responses"]


def test_the_default_settings_parse() -> None:
    from runtime.settings import ServiceSettings

    limiter = RateLimiter.of(ServiceSettings())
    assert {"customer", "codes", "answers"} <= set(limiter.limits)


def test_intake_code_and_answer_routes_carry_their_limits() -> None:
    """Customer intake, one-time codes and answers to checks are rate limited: their
    operations document the 429 the limiter answers with."""
    from runtime.platform import definition_of
    from runtime.service import create_app

    expected = {
        "checkin": {("post", "/tickets")},
        "verification": {
            ("post", "/verification/sessions/{verification_id}/possession-code"),
            ("post", "/verification/sessions/{verification_id}/possession-code/verification"),
            ("post", "/verification/sessions/{verification_id}/knowledge-challenge/answers"),
        },
    }
    for service, operations in expected.items():
        paths = create_app(definition_of(service)).openapi()["paths"]
        for method, path in operations:
            assert "429" in paths[path][method]["responses"], (service, method, path)
