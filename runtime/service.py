"""The composition root every service shares: settings, pool, broker, relay, consumers, app.

A service declares itself with a ServiceDefinition (its name, routers, migrations, consumer
groups); ``create_app`` turns that into a FastAPI application whose lifespan connects
PostgreSQL (waiting for it), applies migrations, creates topics, starts the Kafka broker and
the outbox relay. Kafka being down does not stop the API: commands are accepted into the
outbox, and the broker connects (and the relay publishes) as soon as Kafka is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from faststream.specification import AsyncAPI
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

from contracts import REGISTRY, TOPICS, Envelope, TopicSpec, dead_letter_topic
from runtime.auth import TokenVerifier
from runtime.consumer import ConsumerGroup, ConsumerRunner, broker_dead_letter_publisher
from runtime.db import create_pool, migrate
from runtime.eventstore import EventStore
from runtime.http import install_problem_handlers, install_request_context
from runtime.kafka import (
    assert_durable,
    build_broker,
    consumer_ack_policy,
    ensure_topics,
    kafka_publisher,
)
from runtime.relay import OutboxRelay
from runtime.settings import ServiceSettings
from runtime.telemetry import log_fields, setup_telemetry, shutdown_telemetry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceDefinition:
    name: str
    title: str
    description: str
    default_port: int
    migrations: Path
    routers: Sequence[APIRouter] = ()
    consumer_groups: Callable[[EventStore], list[ConsumerGroup]] = lambda store: []
    publishes: Sequence[TopicSpec] = field(default_factory=tuple)


class ServiceRuntime:
    def __init__(self, definition: ServiceDefinition, settings: ServiceSettings) -> None:
        self.definition = definition
        self.settings = settings
        self.name = definition.name
        self.tracer_provider = setup_telemetry(definition.name, settings.log_level)
        self.store = EventStore(definition.name)
        self.broker = build_broker(settings.kafka, definition.name, self.tracer_provider)
        self.groups = definition.consumer_groups(self.store)
        self._pool: asyncpg.Pool | None = None
        self.runners: list[ConsumerRunner] = []
        self.relay: OutboxRelay | None = None
        self.kafka_connected = asyncio.Event()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        dead_letters = broker_dead_letter_publisher(self.broker, settings.kafka.topic)
        for group in self.groups:
            runner = ConsumerRunner(
                None,  # type: ignore[arg-type] - set when the pool exists
                group,
                dead_letters,
                max_attempts=settings.kafka.consumer_max_attempts,
                retry_backoff=settings.kafka.consumer_retry_backoff_ms / 1000,
                topic_name=settings.kafka.topic,
            )
            runner.subscribe(self.broker, consumer_ack_policy(settings.kafka))
            self.runners.append(runner)
        for topic in definition.publishes:
            self.broker.publisher(
                settings.kafka.topic(topic.name),
                title=topic.name,
                description=f"{topic.description} Event types: "
                + ", ".join(d.event_type for d in REGISTRY.definitions() if d.topic == topic),
                schema=Envelope,
            )

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the service has not started")
        return self._pool

    def topics(self) -> list[TopicSpec]:
        """Every event topic of the platform plus this service's dead-letter topics."""
        return [*TOPICS.values(), *(dead_letter_topic(group.name) for group in self.groups)]

    async def connect_database(self, *, wait_seconds: float = 60.0) -> asyncpg.Pool:
        dsn = self.settings.dsn(self.name)
        deadline = asyncio.get_running_loop().time() + wait_seconds
        while True:
            try:
                pool = await create_pool(
                    dsn, min_size=self.settings.db_pool_min, max_size=self.settings.db_pool_max
                )
                break
            except (OSError, asyncpg.CannotConnectNowError) as error:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                log.warning("waiting for PostgreSQL", extra=log_fields(error=repr(error)))
                await asyncio.sleep(1.0)
        await migrate(pool, [self.definition.migrations])
        self._pool = pool
        for runner in self.runners:
            runner.pool = pool
        return pool

    async def _connect_kafka(self) -> None:
        delay = 1.0
        while not self._stop.is_set():
            try:
                await ensure_topics(self.settings.kafka, self.topics())
                await self.broker.start()
                assert_durable(self.broker)
                self.kafka_connected.set()
                log.info("kafka connected", extra=log_fields(service=self.name))
                return
            except Exception as error:
                log.warning("waiting for Kafka", extra=log_fields(error=repr(error)))
                with contextlib.suppress(Exception):
                    await self.broker.stop()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def _run_relay(self) -> None:
        await self.kafka_connected.wait()
        self.relay = OutboxRelay(
            self.pool,
            kafka_publisher(self.broker),
            service=self.name,
            batch_size=self.settings.relay_batch_size,
            poll_interval=self.settings.relay_poll_interval_ms / 1000,
            topic_name=self.settings.kafka.topic,
        )
        await self.relay.run(self._stop)

    async def start(self) -> None:
        await self.connect_database()
        self._tasks = [
            asyncio.create_task(self._connect_kafka(), name=f"{self.name}-kafka"),
            asyncio.create_task(self._run_relay(), name=f"{self.name}-relay"),
        ]

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await self.broker.stop()
        if self._pool is not None:
            await self._pool.close()
        shutdown_telemetry()

    @asynccontextmanager
    async def lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()

    async def readiness(self) -> dict[str, Any]:
        checks: dict[str, Any] = {}
        try:
            await asyncio.wait_for(self.pool.fetchval("SELECT 1"), timeout=2.0)
            checks["database"] = "ok"
        except Exception as error:
            checks["database"] = f"unavailable: {type(error).__name__}"
        if self.kafka_connected.is_set() and await self.broker.ping(timeout=2.0):
            checks["kafka"] = "ok"
        else:
            checks["kafka"] = "unavailable"
        pending = None
        with contextlib.suppress(Exception):
            pending = await self.pool.fetchval("SELECT count(*) FROM outbox")
        checks["outbox_pending"] = pending
        return checks

    def asyncapi(self) -> dict[str, Any]:
        spec = AsyncAPI(
            self.broker,
            title=f"Frontdesk {self.name}",
            version="1.0.0",
            description=self.definition.description,
            schema_version="3.0.0",
        )
        return spec.to_specification().to_jsonable()  # type: ignore[no-any-return]


def runtime_of(request: Request) -> ServiceRuntime:
    return request.app.state.runtime  # type: ignore[no-any-return]


Runtime = Annotated[ServiceRuntime, Depends(runtime_of)]


def _operations_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="PostgreSQL and Kafka are reachable")
    async def readyz(runtime: Runtime) -> JSONResponse:
        checks = await runtime.readiness()
        ready = checks["database"] == "ok" and checks["kafka"] == "ok"
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": checks},
            status_code=200 if ready else 503,
        )

    @router.get(
        "/asyncapi.json",
        summary="AsyncAPI 3 document of what this service publishes and consumes",
        include_in_schema=True,
    )
    async def asyncapi_json(runtime: Runtime) -> JSONResponse:
        return JSONResponse(runtime.asyncapi())

    @router.get("/asyncapi", response_class=HTMLResponse, include_in_schema=False)
    async def asyncapi_html(runtime: Runtime) -> HTMLResponse:
        import json

        document = json.dumps(runtime.asyncapi(), indent=2)
        return HTMLResponse(
            "<!doctype html><title>AsyncAPI</title>"
            f"<h1>{runtime.definition.title}: events</h1><pre>{_escape(document)}</pre>"
        )

    return router


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def create_app(definition: ServiceDefinition, settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or ServiceSettings()
    runtime = ServiceRuntime(definition, settings)
    app = FastAPI(
        title=definition.title,
        description=definition.description,
        version="1.0.0",
        lifespan=runtime.lifespan,
    )
    app.state.runtime = runtime
    app.state.token_verifier = TokenVerifier(
        settings.jwt_secret.get_secret_value(), settings.jwt_issuer, settings.jwt_audience
    )
    install_problem_handlers(app)
    install_request_context(app)
    app.include_router(_operations_router())
    for router in definition.routers:
        app.include_router(router)
    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=runtime.tracer_provider, excluded_urls="healthz,readyz"
    )
    # statements only: query parameters carry personal data and never go into spans
    AsyncPGInstrumentor(capture_parameters=False).instrument(
        tracer_provider=runtime.tracer_provider
    )
    return app


def serve(definition: ServiceDefinition) -> None:
    """Run one service process with uvicorn (``python -m services.<name>``)."""
    import uvicorn

    settings = ServiceSettings()
    uvicorn.run(
        create_app(definition, settings),
        host=settings.http_host,
        port=settings.http_port or definition.default_port,
        log_config=None,
        access_log=False,
    )
