"""HTTP conventions: problem+json errors, Idempotency-Key, health and readiness endpoints."""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import asyncpg
from fastapi import FastAPI, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from runtime.auth import Forbidden, Unauthenticated
from runtime.errors import FrontdeskError, IdempotencyKeyReused
from runtime.telemetry import correlation_id_var, log_fields

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": ".".join(str(part) for part in item.get("loc", ()) if part != "body"),
                "message": item.get("msg", ""),
                "type": item.get("type", ""),
            }
            for item in error.errors()
        ]
        names = ", ".join(sorted({e["field"] for e in errors if e["field"]})) or "request"
        return problem(422, "Invalid request", f"invalid: {names}", errors=errors)

    @app.exception_handler(Unauthenticated)
    async def unauthenticated(request: Request, error: Unauthenticated) -> JSONResponse:
        return problem(401, "Unauthenticated", str(error))

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, error: Forbidden) -> JSONResponse:
        return problem(403, "Forbidden", str(error))

    @app.exception_handler(FrontdeskError)
    async def domain_error(request: Request, error: FrontdeskError) -> JSONResponse:
        return problem(error.status, error.title, error.detail)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return problem(error.status_code, str(error.detail), str(error.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error", extra=log_fields(path=request.url.path))
        return problem(500, "Internal error", "an unexpected error occurred; it was logged")


CORRELATION_HEADER = "X-Correlation-Id"


def _correlation_id(request: Request) -> str:
    offered = request.headers.get(CORRELATION_HEADER, "")
    try:
        return str(uuid.UUID(offered))
    except ValueError:
        return str(uuid.uuid4())


def install_request_context(app: FastAPI) -> None:
    """Every request gets a correlation id (the caller's ``X-Correlation-Id`` when it is a
    UUID, else a new one): stamped on its log lines and on every event it causes, and returned
    in the response header. And one log line per request: method, route template, status,
    duration — never the query string or the body (they can carry personal data). Runs inside
    the request's span, so the line carries its trace id."""
    access = logging.getLogger("frontdesk.http")

    @app.middleware("http")
    async def request_context(request: Request, call_next: Any) -> Any:
        started = time.perf_counter()
        status = 500
        correlation_id = _correlation_id(request)
        token = correlation_id_var.set(correlation_id)
        try:
            response = await call_next(request)
            status = response.status_code
            response.headers[CORRELATION_HEADER] = correlation_id
            return response
        finally:
            route = request.scope.get("route")
            path = getattr(route, "path", "unmatched")
            if path not in ("/healthz", "/readyz"):
                access.info(
                    "request",
                    extra=log_fields(
                        method=request.method,
                        route=path,
                        status=status,
                        duration_ms=round((time.perf_counter() - started) * 1000, 1),
                    ),
                )
            correlation_id_var.reset(token)


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=8,
        max_length=200,
        description="Retrying a request with the same key returns the first result.",
    ),
]


def fingerprint(body: BaseModel | dict[str, Any] | None) -> str:
    data = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


async def idempotent(
    pool: asyncpg.Pool,
    scope: str,
    key: str | None,
    request_fingerprint: str,
    act: Callable[[asyncpg.Connection], Awaitable[tuple[int, Any]]],
) -> JSONResponse:
    """Run ``act`` in a transaction; with a key, store its answer in the same transaction.

    A retry with the same key and the same request returns the stored answer and acts no more;
    the same key with a different request is refused (422). Of two concurrent requests with one
    key, the second waits for the first and then returns its answer.
    """
    async with pool.acquire() as conn:
        if key is not None:
            replay = await _stored_answer(conn, scope, key, request_fingerprint)
            if replay is not None:
                return replay
        try:
            async with conn.transaction():
                status, answer = await act(conn)
                body = jsonable_encoder(answer)
                if key is not None:
                    await conn.execute(
                        """INSERT INTO idempotency_keys
                               (scope, key, fingerprint, status_code, response)
                           VALUES ($1, $2, $3, $4, $5)""",
                        scope,
                        key,
                        request_fingerprint,
                        status,
                        body,
                    )
        except asyncpg.UniqueViolationError as error:
            if key is None or error.table_name != "idempotency_keys":
                raise
            replay = await _stored_answer(conn, scope, key, request_fingerprint)
            assert replay is not None
            return replay
    return JSONResponse(body, status_code=status)


async def _stored_answer(
    conn: asyncpg.Connection, scope: str, key: str, request_fingerprint: str
) -> JSONResponse | None:
    row = await conn.fetchrow(
        "SELECT fingerprint, status_code, response FROM idempotency_keys "
        "WHERE scope = $1 AND key = $2",
        scope,
        key,
    )
    if row is None:
        return None
    if row["fingerprint"] != request_fingerprint:
        raise IdempotencyKeyReused("this Idempotency-Key was used for a different request")
    return JSONResponse(
        row["response"], status_code=row["status_code"], headers={"Idempotent-Replay": "true"}
    )
