"""No request goes through a worker thread: every dependency and route of every service is
``async def`` (FastAPI runs a plain ``def`` in anyio's thread pool, a thread hop per
request); and SQL statements get spans only when FRONTDESK_TRACE_SQL asks for them."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.dependencies.models import _is_async_gen_callable, _is_coroutine_callable
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

from runtime.cli import SERVICES, definition_of
from runtime.http import _api_routes
from runtime.service import create_app
from runtime.settings import ServiceSettings

pytestmark = pytest.mark.unit


def _synchronous(app: Any) -> set[str]:
    found = set()
    for route in _api_routes(app.routes):
        stack = [getattr(route, "dependant", None)]
        while stack:
            node = stack.pop()
            if node is None:
                continue
            call = node.call
            if call is not None and not (
                _is_coroutine_callable(call) or _is_async_gen_callable(call)
            ):
                name = getattr(call, "__qualname__", type(call).__name__)
                found.add(f"{getattr(call, '__module__', '?')}.{name} ({route.path})")
            stack.extend(node.dependencies)
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_every_dependency_and_route_is_async(service: str) -> None:
    assert _synchronous(create_app(definition_of(service))) == set()


def test_sql_statements_are_traced_only_when_asked() -> None:
    instrumentor = AsyncPGInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()
    create_app(definition_of("checkin"), ServiceSettings())
    assert not instrumentor.is_instrumented_by_opentelemetry
    try:
        create_app(definition_of("checkin"), ServiceSettings(trace_sql=True))
        assert instrumentor.is_instrumented_by_opentelemetry
    finally:
        instrumentor.uninstrument()
