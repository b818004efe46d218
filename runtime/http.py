"""HTTP conventions: problem+json errors, Idempotency-Key, health and readiness endpoints."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from runtime.auth import Forbidden, Unauthenticated
from runtime.errors import FrontdeskError
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


# Kept importable from here while the services move to runtime.commands.
from runtime.commands import IdempotencyKey, fingerprint, idempotent  # noqa: E402

__all__ = ["IdempotencyKey", "fingerprint", "idempotent", "install_problem_handlers", "problem"]
