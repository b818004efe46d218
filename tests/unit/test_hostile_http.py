"""The HTTP edge against hostile input (issue 12): body size, strict JSON, control characters,
headers, a 500 that keeps the connection and its correlation id, 405 with Allow, local /docs,
and the error answers in every service's OpenAPI document."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from pydantic import BaseModel, Field

from runtime.cli import SERVICES, definition_of
from runtime.http import (
    CORRELATION_HEADER,
    InputPolicy,
    InvalidInput,
    install_problem_handlers,
    install_request_context,
    parse_strict_json,
)
from runtime.service import create_app

pytestmark = pytest.mark.unit


class Site(BaseModel):
    name: str
    minutes: float = 5.0


def build_app(**policy: Any) -> FastAPI:
    app = FastAPI(title="hostile")
    install_problem_handlers(app)

    class _Settings:
        http_max_body_bytes = policy.get("max_body_bytes", 2048)
        http_upload_body_bytes = policy.get("upload_body_bytes", 8192)
        http_upload_paths = r"/media$"
        http_max_string_chars = policy.get("max_string_chars", 100)

    class _Runtime:
        settings = _Settings()

    app.state.runtime = _Runtime()
    install_request_context(app)

    @app.put("/sites/{site_id}")
    async def put_site(site_id: str, site: Site) -> dict[str, Any]:
        return {"site_id": site_id, **site.model_dump()}

    @app.post("/items/media")
    async def upload(body: dict[str, Any]) -> dict[str, int]:
        return {"chars": len(body["content"])}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    @app.post("/events-refuse")
    async def events_refuse(site: Site) -> None:
        class Strict(BaseModel):
            account_ref: str = Field(pattern=r"^[a-z]+$")

        Strict(account_ref=site.name)  # the event this request would produce refuses it

    @app.get("/database-down")
    async def database_down() -> None:
        raise asyncpg.CannotConnectNowError("the database system is shutting down")

    @app.get("/deadlocked")
    async def deadlocked() -> None:
        raise asyncpg.DeadlockDetectedError("deadlock detected")  # every attempt lost

    return app


@pytest_asyncio.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app())  # re-raises what escapes the app
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        yield http


def field_of(response: httpx.Response) -> str:
    body = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    return str(body["errors"][0]["field"])


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e309", "-1e400"])
async def test_non_finite_numbers_are_422_naming_the_field(
    client: httpx.AsyncClient, number: str
) -> None:
    body = '{"name": "Shenzhen", "minutes": ' + number + "}"
    response = await client.put(
        "/sites/s1", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert field_of(response) == "minutes"


@pytest.mark.parametrize(
    "text", ["a\u0000b", "bell\u0007", "esc\u001b[0m", "c1\u0085", "del\u007f"]
)
async def test_nul_and_control_characters_are_422_naming_the_field(
    client: httpx.AsyncClient, text: str
) -> None:
    response = await client.put("/sites/s1", json={"name": text})
    assert response.status_code == 422, response.text
    assert field_of(response) == "name"


async def test_newlines_and_tabs_are_text(client: httpx.AsyncClient) -> None:
    response = await client.put("/sites/s1", json={"name": "line one\nline two\tend\r\n"})
    assert response.status_code == 200, response.text


async def test_nested_fields_are_named_with_their_path() -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_strict_json(b'{"intake": {"skills": ["ok", "n\\u0000o"]}}', 100)
    assert raised.value.field == "intake.skills[1]"
    with pytest.raises(InvalidInput) as raised:
        parse_strict_json(b'{"a": [{"b": 1e999}]}', 100)
    assert raised.value.field == "a[0].b"


async def test_an_over_long_string_is_422(client: httpx.AsyncClient) -> None:
    response = await client.put("/sites/s1", json={"name": "x" * 101})
    assert response.status_code == 422
    assert field_of(response) == "name"


async def test_deep_nesting_is_422_not_a_crash(client: httpx.AsyncClient) -> None:
    body = "[" * 900 + "]" * 900
    response = await client.put(
        "/sites/s1", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422


async def test_a_large_body_is_413_before_it_is_read(client: httpx.AsyncClient) -> None:
    response = await client.put(
        "/sites/s1", content=b"{" + b" " * 4096 + b"}", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_large_body_without_content_length_is_counted_and_refused() -> None:
    app = build_app()
    chunks = [b'{"name": "', b"x" * 1500, b"y" * 1500, b'"}']
    received: list[dict[str, Any]] = []
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        chunk = chunks.pop(0)
        received.append({"chunk": len(chunk)})
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "PUT",
        "scheme": "http",
        "path": "/sites/s1",
        "raw_path": b"/sites/s1",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")],
        "client": ("127.0.0.1", 5000),
        "server": ("t", 80),
    }
    await app(scope, receive, send)
    assert sent[0]["status"] == 413
    assert len(received) == 3, "stops reading once over the limit"
    assert len(chunks) == 1


async def test_uploads_have_their_own_larger_limit(client: httpx.AsyncClient) -> None:
    assert (await client.post("/items/media", json={"content": "A" * 6000})).status_code == 200
    assert (await client.post("/items/media", json={"content": "A" * 9000})).status_code == 413


async def test_control_characters_in_the_path_and_query_are_422(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.put("/sites/a%00b", json={"name": "x"})).status_code == 422
    assert (await client.get("/boom?account_ref=a%00b")).status_code == 422


async def test_every_answer_says_nosniff_and_authenticated_ones_no_store(
    client: httpx.AsyncClient,
) -> None:
    anonymous = await client.put("/sites/s1", json={"name": "a"})
    assert anonymous.headers["x-content-type-options"] == "nosniff"
    assert "no-store" not in anonymous.headers.get("cache-control", "")
    signed = await client.put(
        "/sites/s1", json={"name": "a"}, headers={"Authorization": "Bearer x"}
    )
    assert signed.headers["x-content-type-options"] == "nosniff"
    assert signed.headers["cache-control"] == "no-store"
    refused = await client.put(
        "/sites/s1", json={"name": "a\u0000"}, headers={"Authorization": "x"}
    )
    assert refused.headers["cache-control"] == "no-store"


async def test_405_says_allow(client: httpx.AsyncClient) -> None:
    response = await client.delete("/sites/s1")
    assert response.status_code == 405
    assert response.headers["allow"] == "PUT"
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_500_is_answered_with_its_correlation_id_and_nothing_escapes(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    offered = "0b8f6f1e-8d0c-4d4e-9a55-3f0c2b0f6a11"
    with caplog.at_level(logging.ERROR):
        # ASGITransport re-raises an exception that escapes the app: the server would close
        # the connection; here nothing escapes
        response = await client.get("/boom", headers={CORRELATION_HEADER: offered})
    assert response.status_code == 500
    assert response.headers[CORRELATION_HEADER] == offered
    assert response.json()["title"] == "Internal error"
    errors = [r for r in caplog.records if r.getMessage() == "unhandled error"]
    assert errors
    assert errors[0].fields["correlation_id"] == offered  # type: ignore[attr-defined]
    assert (await client.put("/sites/s1", json={"name": "a"})).status_code == 200


async def test_docs_load_no_third_party_script() -> None:
    app = create_app(definition_of("checkin"))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        page = await http.get("/docs")
        assert page.status_code == 200
        assert "<script" not in page.text.lower()
        assert "cdn" not in page.text.lower()
        assert "/tickets" in page.text
        assert (await http.get("/redoc")).status_code == 404


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_documents_its_problem_answers(service: str) -> None:
    document = create_app(definition_of(service)).openapi()
    problem = {"$ref": "#/components/schemas/Problem"}
    assert "Problem" in document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "500" in responses, f"{method} {path}"
            expected = {"500"}
            if operation.get("security"):
                expected |= {"401", "403"}
            if method in ("post", "put", "patch"):
                expected |= {"413", "422"}
            assert expected <= set(responses), f"{method} {path}: {sorted(responses)}"
            for status in expected:
                content = responses[status]["content"]
                assert content["application/problem+json"]["schema"] == problem


def test_the_policy_comes_from_the_settings() -> None:
    from runtime.settings import ServiceSettings

    policy = InputPolicy.of(ServiceSettings(http_max_body_bytes=5000, http_max_string_chars=300))
    assert (policy.max_body_bytes, policy.max_string_chars) == (5000, 300)


async def test_a_database_outage_is_a_503_with_retry_after_and_the_connection_stays(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/database-down")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "nothing was changed" in response.json()["detail"]
    assert (await client.put("/sites/s1", json={"name": "a"})).status_code == 200


async def test_a_command_that_lost_every_attempt_to_contention_is_a_503(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/deadlocked")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert "nothing was changed" in response.json()["detail"]
    assert (await client.put("/sites/s1", json={"name": "a"})).status_code == 200


@pytest.mark.parametrize("token", ["visit-2026-11-23-001", "kiosk/3:42", "a" * 128])
async def test_a_correlation_token_is_kept_as_the_caller_chose_it(
    client: httpx.AsyncClient, token: str
) -> None:
    response = await client.put(
        "/sites/s1", json={"name": "a"}, headers={CORRELATION_HEADER: token}
    )
    assert response.status_code == 200
    assert response.headers[CORRELATION_HEADER] == token


@pytest.mark.parametrize("token", ["has space", "a" * 129, "<script>", "-leading-dash"])
async def test_an_unusable_correlation_id_is_refused_not_replaced(
    client: httpx.AsyncClient, token: str
) -> None:
    response = await client.put(
        "/sites/s1", json={"name": "a"}, headers={CORRELATION_HEADER: token}
    )
    assert response.status_code == 422
    assert field_of(response) == "header.X-Correlation-Id"


async def test_a_request_its_event_refuses_is_a_422_naming_the_field(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/events-refuse", json={"name": "Not Lowercase"})
    assert response.status_code == 422
    assert field_of(response) == "account_ref"
    assert "Not Lowercase" not in response.text  # the value is never echoed
