"""HTTP conventions: problem+json errors, the hostile-input edge, correlation ids, OpenAPI.

Everything here applies to every service without the service doing anything:

- ``install_problem_handlers``: every error is ``application/problem+json``; the OpenAPI
  document lists the error answers of every operation with one ``Problem`` schema.
- ``install_request_context``: the edge, one pure ASGI middleware (``Edge``) in front of
  the routes: the correlation id and the access log line, the body size limit (413 before
  anything is parsed), strict JSON (no NaN/Infinity/1e309, no NUL or control characters, a
  per-string cap; 422 naming the field), the headers every answer carries, and a 500 that
  keeps the connection open. And ``/docs`` served from this process, no third-party script.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import parse_qsl

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from runtime import positions
from runtime.auth import Forbidden, Unauthenticated
from runtime.context import correlation_uuid
from runtime.errors import FrontdeskError
from runtime.telemetry import correlation_id_var, log_fields

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
CORRELATION_HEADER = "X-Correlation-Id"
WRITTEN = positions.WRITTEN_HEADER.lower().encode()

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def problem_body(status: int, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}


def problem(
    status: int,
    title: str,
    detail: str,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    headers = dict(headers or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    return JSONResponse(
        problem_body(status, title, detail, **extra),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers or None,
    )


# what a route meets when PostgreSQL is down or refusing connections: 503, not 500
DATABASE_OUTAGES: tuple[type[Exception], ...] = (
    ConnectionError,
    TimeoutError,  # a statement or a connection that did not come in time (command_timeout)
    asyncpg.PostgresConnectionError,  # includes ConnectionDoesNotExistError
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
)
DATABASE_RETRY_AFTER_SECONDS = 5
# what PostgreSQL aborts under contention (runtime/commands.py retries them; these remain
# when every attempt lost): 503 with Retry-After, nothing written
DATABASE_CONTENTION: tuple[type[Exception], ...] = (
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
)


def install_problem_handlers(app: FastAPI) -> None:
    """problem+json for every error, and the error answers in the OpenAPI document."""

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
        return problem(
            error.status,
            error.title,
            error.detail,
            headers=getattr(error, "headers", None),
            **error.members(),
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        # keeps the exception's headers: Allow on 405, Retry-After, WWW-Authenticate
        return problem(
            error.status_code, str(error.detail), str(error.detail), headers=error.headers
        )

    async def unavailable(request: Request, error: Exception) -> JSONResponse:
        """The database is out of reach: nothing was written; try again shortly (the
        connection stays usable)."""
        log.warning(
            "database unavailable",
            extra=log_fields(path=_route(request.scope), error=type(error).__name__),
        )
        return problem(
            503,
            "Service unavailable",
            "the service's database cannot be reached; nothing was changed, try again shortly",
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )

    for outage in DATABASE_OUTAGES:
        app.add_exception_handler(outage, unavailable)

    async def contended(request: Request, error: Exception) -> JSONResponse:
        """Every attempt of a command lost to concurrent ones (deadlocks, serialization
        failures): nothing was written; the client tries again shortly."""
        log.warning(
            "command lost to concurrent ones",
            extra=log_fields(path=_route(request.scope), error=type(error).__name__),
        )
        return problem(
            503,
            "Service busy",
            "concurrent requests changed the same records; nothing was changed, try again",
            headers={"Retry-After": "1"},
        )

    for contention in DATABASE_CONTENTION:
        app.add_exception_handler(contention, contended)

    async def invalid_event(request: Request, error: Exception) -> JSONResponse:
        """A request whose values pass its own model but not the event it would produce (the
        contracts' input policy): refused, nothing written (the transaction rolled back)."""
        assert isinstance(error, ValidationError)
        errors = [
            {
                "field": ".".join(str(part) for part in item["loc"]),
                "message": item["msg"],
                "type": item["type"],
            }
            for item in error.errors(include_input=False, include_url=False)
        ]
        names = ", ".join(sorted({e["field"] for e in errors if e["field"]})) or "request"
        log.warning(
            "request refused by the event model",
            extra=log_fields(route=_route(request.scope), model=error.title, fields=names),
        )
        return problem(422, "Invalid request", f"invalid: {names}", errors=errors)

    app.add_exception_handler(ValidationError, invalid_event)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error", extra=log_fields(path=request.url.path))
        return problem(500, "Internal error", "an unexpected error occurred; it was logged")

    document_problems(app)


# -- OpenAPI: the error answers -----------------------------------------------------------------

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; validation problems list the fields in `errors`.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "rule": {
            "type": "string",
            "description": "The stable name of the rule that refused a command (some 409s).",
        },
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
    "additionalProperties": True,
}
_ERROR_TITLES = {
    "400": "Bad request",
    "401": "Missing, expired or invalid bearer token",
    "403": "The caller lacks the role or the ownership this needs",
    "404": "Not found",
    "405": "Method not allowed (the Allow header lists the allowed ones)",
    "409": "Not allowed in the current state, or a concurrent change",
    "413": "Request body or resulting event too large",
    "422": "Invalid request (the fields are named)",
    "429": "Too many requests (Retry-After says when to try again)",
    "500": "Internal error (the X-Correlation-Id header names it in the logs)",
    "503": "Unavailable for now: nothing was changed (Retry-After says when to try again)",
}
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def _error_statuses(method: str, operation: dict[str, Any], rate_limited: bool) -> list[str]:
    """What any operation can answer besides its own successes: a rule of the current state
    (409) or invalid input (400/422) can come from any handler, so they are documented
    everywhere; 401/403 where a token is needed (401 too on unsecured writes: webhooks and
    signed links authenticate by signature); 404 with a path id or a write; 413 on writes."""
    writes = method in ("post", "put", "patch", "delete")
    statuses = ["400", "409", "422", "500"]
    if operation.get("security"):
        statuses += ["401", "403"]
    elif writes:
        statuses.append("401")
    if "{" in operation.get("x-path", "") or writes:
        statuses.append("404")
    if writes:
        statuses.append("413")
    if rate_limited:
        statuses.append("429")
    statuses.append("503")  # the database or a peer out of reach
    return statuses


def add_problem_responses(
    document: dict[str, Any], rate_limited: set[tuple[str, str]] | None = None
) -> dict[str, Any]:
    """Adds to every operation of an OpenAPI document the problem+json error answers it can
    give (``_error_statuses``; 429 when rate-limited), with one ``Problem`` schema component.
    Idempotent."""
    components = document.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            limited = (path, method) in (rate_limited or set())
            for status in _error_statuses(method, {**operation, "x-path": path}, limited):
                answer = responses.setdefault(status, {"description": _ERROR_TITLES[status]})
                if not (status == "503" and "content" in answer):  # /readyz's own 503 body
                    answer["content"] = {PROBLEM_JSON: {"schema": _PROBLEM_REF}}
                if status in ("429", "503"):
                    answer["headers"] = {
                        "Retry-After": {
                            "description": "Seconds to wait before trying again",
                            "schema": {"type": "integer"},
                        }
                    }
    return document


def document_problems(app: FastAPI) -> None:
    """Post-processes ``app.openapi()`` with ``add_problem_responses`` (generated once)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = add_problem_responses(generate(), rate_limited_operations(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _api_routes(routes: Any) -> Any:
    """Every route, those of included routers too (FastAPI keeps an included router whole)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _api_routes(inner.routes)
        else:
            yield route


def rate_limited_operations(app: FastAPI) -> set[tuple[str, str]]:
    """(path, method) of the routes that carry a ``runtime.limits.RateLimited`` dependency."""
    found = set()
    for route in _api_routes(app.routes):
        dependant = getattr(route, "dependant", None)
        stack = [dependant] if dependant is not None else []
        while stack:
            node = stack.pop()
            if getattr(node.call, "rate_limit", None):
                path = getattr(route, "path", "")
                found |= {(path, m.lower()) for m in getattr(route, "methods", ())}
                break
            stack.extend(node.dependencies)
    return found


# -- the edge: one pure ASGI middleware ---------------------------------------------------------


@dataclass(frozen=True)
class InputPolicy:
    """Limits of what a request may carry (ServiceSettings ``http_*``)."""

    max_body_bytes: int = 1_048_576
    upload_body_bytes: int = 8_000_000
    upload_paths: str = r"/(media|documents)$"
    max_string_chars: int = 10_000
    max_depth: int = 32

    @classmethod
    def of(cls, settings: Any) -> InputPolicy:
        if settings is None:
            return cls()
        return cls(
            max_body_bytes=settings.http_max_body_bytes,
            upload_body_bytes=settings.http_upload_body_bytes,
            upload_paths=settings.http_upload_paths,
            max_string_chars=settings.http_max_string_chars,
        )


# C0 controls but tab, newline and carriage return; DEL; C1 controls; lone surrogates
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_FORBIDDEN_IN_NAMES = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


class InvalidInput(ValueError):
    def __init__(self, field: str, message: str, kind: str) -> None:
        super().__init__(message)
        self.field, self.message, self.kind = field, message, kind


def _reject_constant(name: str) -> float:
    raise InvalidInput("", f"{name} is not a JSON number", "finite_number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InvalidInput("", f"{text[:40]} is not a finite number", "finite_number")
    return value


def _join(path: str, part: str | int) -> str:
    if isinstance(part, int):
        return f"{path}[{part}]"
    return f"{path}.{part}" if path else part


def check_json(value: Any, max_chars: int, max_depth: int = 32, path: str = "") -> None:
    """Refuses what no field of any Frontdesk API admits: non-finite numbers, control
    characters (tab and newlines are text), strings longer than ``max_chars``, nesting
    deeper than ``max_depth``. Raises InvalidInput naming the field."""
    stack: list[tuple[Any, str, int]] = [(value, path, 0)]
    while stack:
        node, where, depth = stack.pop()
        if depth > max_depth:
            raise InvalidInput(where, f"nested deeper than {max_depth}", "too_deep")
        if isinstance(node, str):
            if len(node) > max_chars:
                raise InvalidInput(where, f"longer than {max_chars} characters", "string_too_long")
            if _FORBIDDEN.search(node):
                raise InvalidInput(where, "contains a NUL or control character", "control_char")
        elif isinstance(node, float) and not math.isfinite(node):
            raise InvalidInput(where, "not a finite number", "finite_number")
        elif isinstance(node, dict):
            for key, child in node.items():
                if len(key) > 200 or _FORBIDDEN_IN_NAMES.search(key):
                    raise InvalidInput(where, "a member name is too long or has controls", "name")
                stack.append((child, _join(where, key), depth + 1))
        elif isinstance(node, list):
            stack.extend((child, _join(where, i), depth + 1) for i, child in enumerate(node))


def parse_strict_json(body: bytes, max_chars: int, max_depth: int = 32) -> Any:
    """The body as JSON, refused (InvalidInput) when it holds NaN/Infinity, a number that
    overflows to infinity, control characters, or over-long strings."""
    try:
        value = json.loads(body, parse_constant=_reject_constant, parse_float=_finite_float)
    except InvalidInput as error:
        # the parser does not say where; find the field by parsing leniently
        raise InvalidInput(_non_finite_path(body), error.message, error.kind) from None
    except RecursionError:
        raise InvalidInput("", f"nested deeper than {max_depth}", "too_deep") from None
    except ValueError:
        return _UNPARSED  # not JSON: the route's own parsing answers (422 json_invalid)
    check_json(value, max_chars, max_depth)
    return value


_UNPARSED = object()


def _non_finite_path(body: bytes) -> str:
    try:
        value = json.loads(body)  # NaN/Infinity become floats; 1e309 becomes inf
    except (ValueError, RecursionError):
        return ""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        node, where = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            return where
        if isinstance(node, dict):
            stack.extend((child, _join(where, key)) for key, child in node.items())
        elif isinstance(node, list):
            stack.extend((child, _join(where, i)) for i, child in enumerate(node))
    return ""


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


_EDGE_HEADERS = frozenset(
    {b"x-correlation-id", b"authorization", b"content-length", b"content-type", b"frontdesk-after"}
)


class BodyTooLarge(Exception):
    pass


class Edge:
    """The pure ASGI middleware in front of every service's routes (see the module doc)."""

    def __init__(
        self,
        app: ASGIApp,
        policy: InputPolicy | None = None,
        caught_up: Callable[[list[positions.Position]], Awaitable[list[positions.Position] | None]]
        | None = None,
    ) -> None:
        self.app = app
        self.policy = policy or InputPolicy()
        self.caught_up = caught_up  # reads after a client's writes (runtime/positions.py)
        self.uploads = re.compile(self.policy.upload_paths)
        self.access = logging.getLogger("frontdesk.http")

    async def _after_writes(
        self, header: bytes, reached: list[positions.Position]
    ) -> JSONResponse | None:
        """A read that names the positions of the client's writes waits for them and for what
        they caused here (bounded), and answers with every position reached (to pass on to
        the next service); 202 with Retry-After when the read models are not there yet."""
        assert self.caught_up is not None
        try:
            wanted = positions.parse(header.decode("latin-1"))
        except positions.InvalidPosition as error:
            return problem(400, error.title, error.detail)
        found = await self.caught_up(wanted)
        if found is not None:
            reached.extend(found)
            return None
        return problem(
            202,
            "Catching up",
            "the read models have not yet reached the positions in Frontdesk-After; "
            "nothing is wrong: ask again after Retry-After seconds",
            headers={"Retry-After": "1"},
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # the few request headers the edge reads (ASGI servers send the names in lower case)
        headers = {
            name.decode("latin-1").lower(): value
            for name, value in scope.get("headers", ())
            if name.lower() in _EDGE_HEADERS
        }
        offered = headers.get("x-correlation-id", b"").decode("latin-1")
        usable = _correlation_id(offered)
        correlation_id = usable or str(uuid.uuid4())  # as the caller chose it (the header)
        # every log line and event of the flow carries the UUID form, in every service
        token = correlation_id_var.set(str(correlation_uuid(correlation_id)))
        authenticated = "authorization" in headers
        written: list[positions.Position] = []  # what the request's commands appended
        writes_token = positions.request_writes.set(written)
        state = {"status": 500, "started": False}
        extra = [
            (CORRELATION_HEADER.lower().encode(), correlation_id.encode()),
            (b"x-content-type-options", b"nosniff"),
        ]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"], state["started"] = message["status"], True
                names = {name.lower() for name, _ in message.get("headers", ())}
                added = [(n, v) for n, v in extra if n not in names]
                if authenticated and b"cache-control" not in names:
                    added.append((b"cache-control", b"no-store"))
                if written:
                    added.append((WRITTEN, positions.header_value(written).encode()))
                message["headers"] = [*message.get("headers", ()), *added]
            await send(message)

        try:
            refused = self._refuse_target(scope)
            if usable is None:
                refused = _invalid(
                    "header.X-Correlation-Id",
                    "a UUID or up to 128 letters, digits and . _ : @ / + = -",
                    "correlation_id",
                )
            if refused is None and scope["method"] in ("POST", "PUT", "PATCH", "DELETE"):
                refused, receive = await self._read_body(scope, headers, receive)
            elif refused is None and "frontdesk-after" in headers and self.caught_up:
                refused = await self._after_writes(headers["frontdesk-after"], written)
            if refused is not None:
                await refused(scope, receive, send_with_headers)
            else:
                await self.app(scope, receive, send_with_headers)
        except Exception as error:
            if state["started"]:
                raise  # nothing can be said any more; the server ends the answer
            span = trace.get_current_span()
            if span.is_recording():
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            log.exception(
                "unhandled error",
                extra=log_fields(
                    method=scope.get("method"), route=_route(scope), correlation_id=correlation_id
                ),
            )
            answer = problem(500, "Internal error", "an unexpected error occurred; it was logged")
            await answer(scope, receive, send_with_headers)  # the connection stays open
        finally:
            positions.request_writes.reset(writes_token)
            route = _route(scope)
            if route not in ("/healthz", "/readyz") and self.access.isEnabledFor(logging.INFO):
                self.access.info(
                    "request",
                    extra=log_fields(
                        method=scope.get("method"),
                        route=route,
                        status=state["status"],
                        duration_ms=round((time.perf_counter() - started) * 1000, 1),
                        **(
                            {"correlation_token": correlation_id}
                            if correlation_id != correlation_id_var.get()
                            else {}
                        ),
                    ),
                )
            correlation_id_var.reset(token)

    def _refuse_target(self, scope: Scope) -> JSONResponse | None:
        """NUL and control characters in the path or the query string (they end as ids)."""
        if _FORBIDDEN_IN_NAMES.search(scope.get("path", "")):
            return _invalid("path", "contains a NUL or control character", "control_char")
        query = scope.get("query_string", b"").decode("latin-1")
        if query:
            for name, value in parse_qsl(query, keep_blank_values=True):
                if _FORBIDDEN_IN_NAMES.search(name) or _FORBIDDEN.search(value):
                    field = f"query.{name[:40]}"
                    return _invalid(field, "contains a control character", "control_char")
                if len(value) > self.policy.max_string_chars:
                    return _invalid(f"query.{name[:40]}", "too long", "string_too_long")
        return None

    async def _read_body(
        self, scope: Scope, headers: dict[str, bytes], receive: Receive
    ) -> tuple[JSONResponse | None, Receive]:
        upload = bool(self.uploads.search(scope.get("path", "")))
        limit = self.policy.upload_body_bytes if upload else self.policy.max_body_bytes
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return _too_large(limit), receive
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None, _replay_disconnect
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return _too_large(limit), receive
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        content_type = headers.get("content-type", b"").split(b";")[0].strip().lower()
        if body and (content_type == b"application/json" or content_type.endswith(b"+json")):
            max_chars = limit if upload else self.policy.max_string_chars
            try:
                parse_strict_json(body, max_chars, self.policy.max_depth)
            except InvalidInput as error:
                return _invalid(error.field or "body", error.message, error.kind), receive
        return None, _replay(body, receive)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # http.disconnect, when the client goes

    return replay


async def _replay_disconnect() -> Message:
    return {"type": "http.disconnect"}


def _too_large(limit: int) -> JSONResponse:
    return problem(
        413, "Request body too large", f"the request body exceeds {limit} bytes", limit=limit
    )


def _invalid(field: str, message: str, kind: str) -> JSONResponse:
    return problem(
        422,
        "Invalid request",
        f"invalid: {field}",
        errors=[{"field": field, "message": message, "type": kind}],
    )


def _route(scope: Scope) -> str:
    route = scope.get("route")
    return str(getattr(route, "path", "unmatched"))


# a caller's correlation id: a UUID, or any bounded token of safe characters (kept as given;
# the events carry the UUID derived from it, runtime.context.correlation_uuid)
_CORRELATION_TOKEN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/+=-]{0,127}$")


def _correlation_id(offered: str) -> str | None:
    """The caller's id when it is usable, a new one when none was sent, None when it is not
    usable (the request is refused with 422 rather than silently renumbered)."""
    if not offered:
        return str(uuid.uuid4())
    try:
        return str(uuid.UUID(offered))
    except ValueError:
        return offered if _CORRELATION_TOKEN.match(offered) else None


def install_request_context(app: FastAPI) -> None:
    """The edge (``Edge``) in front of every route, with the limits of the service's settings;
    and ``/docs`` from this process.

    Every request gets a correlation id (the caller's ``X-Correlation-Id`` when it is a UUID,
    else a new one): stamped on its log lines and on every event it causes, and returned in
    the response header, 500s included. One log line per request: method, route template,
    status, duration — never the query string or the body (they can carry personal data).
    Runs inside the request's span, so the line carries its trace id."""
    runtime = getattr(app.state, "runtime", None)
    app.add_middleware(
        Edge,
        policy=InputPolicy.of(getattr(runtime, "settings", None)),
        caught_up=getattr(runtime, "caught_up", None),
    )
    serve_docs_locally(app)


# -- /docs without third-party scripts ----------------------------------------------------------


def serve_docs_locally(app: FastAPI) -> None:
    """Replaces FastAPI's /docs and /redoc (which load scripts from a CDN) with one page
    rendered here from the OpenAPI document: no script at all."""
    local = {app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url} - {None}
    app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", None) not in local]

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    async def docs() -> HTMLResponse:
        return HTMLResponse(
            render_docs(app.openapi()),
            headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"},
        )


def render_docs(document: dict[str, Any]) -> str:
    info = document.get("info", {})
    rows = []
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            codes = ", ".join(sorted(operation.get("responses", {})))
            rows.append(
                f"<tr><td><code>{escape(method.upper())}</code></td>"
                f"<td><code>{escape(path)}</code></td>"
                f"<td>{escape(operation.get('summary', ''))}</td>"
                f"<td>{'bearer' if operation.get('security') else ''}</td>"
                f"<td>{escape(codes)}</td></tr>"
            )
    return (
        "<!doctype html><meta charset=utf-8>"
        f"<title>{escape(info.get('title', 'API'))}</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:2px 8px;"
        "text-align:left;vertical-align:top}tr:nth-child(even){background:#f4f4f4}</style>"
        f"<h1>{escape(info.get('title', 'API'))}</h1>"
        f"<p>{escape(info.get('description', ''))}</p>"
        '<p>The machine-readable document: <a href="/openapi.json">/openapi.json</a> '
        "(errors are <code>application/problem+json</code>).</p>"
        "<table><tr><th>method</th><th>path</th><th>summary</th><th>auth</th>"
        "<th>answers</th></tr>" + "".join(rows) + "</table>"
    )
