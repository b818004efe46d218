"""Serves the reference frontends (static HTML, CSS and JavaScript from ``static/``; nothing is
fetched from a third party at run time) and proxies ``/api/<service>/<path>`` to the services,
so the browser talks to one origin and needs no CORS. Responses stream through, server-sent
event streams included.

- ``EventSource`` cannot send an ``Authorization`` header: for those requests the page puts
  its token in the query (``?access_token=``), and the proxy moves it into the header (it is
  never forwarded in the query, and this server logs no query string).
- ``POST /dev/token`` mints a development token for a chosen role and subject, like
  ``frontdesk token`` (the configured ``FRONTDESK_JWT_SECRET``); refused (404) when
  ``FRONTDESK_ENV=production``, where the pages use the token of the platform's sign-in.

Run: ``python -m frontends`` (port ``FRONTDESK_FRONTENDS_PORT``, default 8000; services from
``FRONTDESK_PEERS``, as every service reads them).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from contracts.vocabulary import E164_PATTERN
from runtime.auth import ROLES, TokenVerifier
from runtime.settings import ServiceSettings
from runtime.streams import exiting

STATIC = Path(__file__).parent / "static"
DEFAULT_PORT = 8000
# what a page may send to a service, and what comes back (hop-by-hop headers stay behind)
REQUEST_HEADERS = (
    "authorization",
    "content-type",
    "accept",
    "idempotency-key",
    "last-event-id",
    "x-correlation-id",
    "accept-language",
)
RESPONSE_HEADERS = ("content-type", "cache-control", "x-correlation-id", "www-authenticate")


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str = Field(min_length=1, max_length=20)
    sub: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$")
    phone: str | None = Field(default=None, pattern=E164_PATTERN)


def _problem(status: int, detail: str) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": detail, "status": status, "detail": detail},
        status_code=status,
        media_type="application/problem+json",
    )


def create_app(
    settings: ServiceSettings | None = None, client: httpx.AsyncClient | None = None
) -> Starlette:
    settings = settings or ServiceSettings()
    peers = settings.peer_urls()
    verifier = TokenVerifier(
        settings.jwt_secret.get_secret_value(), settings.jwt_issuer, settings.jwt_audience
    )
    http = client or httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=5.0))

    async def dev_token(request: Request) -> Response:
        if settings.env == "production":
            return _problem(404, "development tokens are not minted in production")
        try:
            body = TokenRequest.model_validate(await request.json())
        except (ValidationError, ValueError):
            return _problem(422, "invalid: role, sub, phone")
        if body.role not in ROLES:
            return _problem(422, f"role must be one of {list(ROLES)}")
        token = verifier.issue(body.sub, [body.role], verified_phone=body.phone)
        return JSONResponse({"token": token, "role": body.role, "sub": body.sub})

    async def config(request: Request) -> Response:
        return JSONResponse({"services": sorted(peers), "dev_tokens": settings.env != "production"})

    async def proxy(request: Request) -> Response:
        service = request.path_params["service"]
        base = peers.get(service)
        if base is None:
            return _problem(404, f"no service {service}")
        headers = {k: v for k, v in request.headers.items() if k.lower() in REQUEST_HEADERS}
        query = httpx.QueryParams(
            [(k, v) for k, v in request.query_params.multi_items() if k != "access_token"]
        )
        token = request.query_params.get("access_token")
        if token and "authorization" not in headers:
            headers["authorization"] = f"Bearer {token}"
        upstream = http.build_request(
            request.method,
            f"{base.rstrip('/')}/{request.path_params['path']}",
            params=query,
            headers=headers,
            content=await request.body(),
        )
        try:
            response = await http.send(upstream, stream=True)
        except httpx.TransportError:
            return _problem(502, f"{service} is not reachable")
        passed = {k: v for k, v in response.headers.items() if k.lower() in RESPONSE_HEADERS}
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            passed["x-accel-buffering"] = "no"

        async def body() -> AsyncIterator[bytes]:
            try:
                async for chunk in response.aiter_raw():
                    yield chunk
                    if exiting():
                        return
            finally:
                await response.aclose()

        return StreamingResponse(body(), status_code=response.status_code, headers=passed)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def index(request: Request) -> Response:
        return RedirectResponse("/index.html")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        if client is None:
            await http.aclose()

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/dev/token", dev_token, methods=["POST"]),
            Route("/config.json", config),
            Route(
                "/api/{service}/{path:path}",
                proxy,
                methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            ),
            Route("/", index),
            Mount("/", StaticFiles(directory=STATIC, html=True)),
        ],
        lifespan=lifespan,
    )
    return app


def serve() -> None:
    import uvicorn

    settings = ServiceSettings()
    port = int(os.environ.get("FRONTDESK_FRONTENDS_PORT", DEFAULT_PORT))
    uvicorn.run(
        create_app(settings), host=settings.http_host, port=port, log_config=None, access_log=False
    )
