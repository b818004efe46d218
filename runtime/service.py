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
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from faststream.specification import AsyncAPI
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

from contracts import REGISTRY, TOPICS, Envelope, TopicSpec, dead_letter_topic
from contracts.events.privacy import DataSubjectErased
from contracts.topics import CASES_DATA_SUBJECTS, SHARED
from runtime import positions
from runtime.auth import TokenVerifier
from runtime.consumer import (
    ConsumerGroup,
    ConsumerRunner,
    ReceivedEvent,
    broker_dead_letter_publisher,
)
from runtime.db import create_pool, migrate
from runtime.eventstore import EventStore
from runtime.export import export_router, exports_nothing
from runtime.http import install_problem_handlers, install_request_context
from runtime.inline import InlineProjection
from runtime.kafka import (
    TransactionalPublisher,
    assert_durable,
    build_broker,
    consumer_ack_policy,
    ensure_topics,
)
from runtime.keystore import KEYSTORE_MIGRATIONS, MasterKey, PostgresKeyStore
from runtime.metrics import (
    CONSUMER_LAG,
    OUTBOX_GAUGES,
    RELAY_LEADER,
    Gauge,
    Sample,
    consumer_lag,
    keep_samples,
    render_metrics,
    sample,
    timer_gauges,
)
from runtime.privacy import Privacy
from runtime.relay import OutboxRelay
from runtime.retention import (
    RETENTION_TIMER_KIND,
    RUNTIME_POLICIES,
    RetentionPolicy,
    ensure_scheduled,
    retention_timer,
)
from runtime.running import ExportSubject, RunningService
from runtime.scheduler import Clock, SystemClock, TimerHandler, TimerRunner
from runtime.settings import ServiceSettings, UnsafeSettings
from runtime.telemetry import log_fields, setup_telemetry, shutdown_telemetry

log = logging.getLogger(__name__)


RedactSubject = Callable[[asyncpg.Connection, str], Awaitable[None]]


async def holds_no_personal_data(conn: asyncpg.Connection, subject_id: str) -> None:
    """For a service whose read models keep no personal data: nothing to redact."""


class Sandbox:
    """Marks an adapter as a local stand-in for an external party (a sandbox bank, account
    platform, provider). A production service refuses to start with one in its wiring."""

    sandbox_of: str = "an external party"


def refuse_sandboxes_in_production(settings: ServiceSettings, wiring: object) -> None:
    if settings.env != "production" or wiring is None:
        return
    parts = vars(wiring).values() if hasattr(wiring, "__dict__") else ()
    for part in parts:
        if isinstance(part, Sandbox):
            raise UnsafeSettings(
                f"production refuses the sandbox {type(part).__name__} ({part.sandbox_of}): "
                "configure the real adapter"
            )


@dataclass(frozen=True)
class ServiceDefinition:
    """What a service is, for the runtime: its API, consumers, timers, data and wiring.

    ``wiring(settings)`` builds, once at start-up, the service's own typed settings
    (``config.py``) and its adapters to external parties; routes reach it through the
    service's one dependency, consumers and timers through ``runtime.wiring``. Production
    refuses a wiring that holds a ``Sandbox``."""

    name: str
    title: str
    description: str
    default_port: int
    migrations: Path
    routers: Sequence[APIRouter] = ()
    consumer_groups: Callable[[RunningService], list[ConsumerGroup]] = lambda runtime: []
    # removes or redacts a data subject's personal data from this service's read models
    redact_subject: RedactSubject = holds_no_personal_data
    # handlers of the durable timers this service schedules, by kind (runtime/scheduler.py)
    timers: Callable[[RunningService], Mapping[str, TimerHandler]] = lambda runtime: {}
    # the service's settings and adapters, built once at start-up
    wiring: Callable[[ServiceSettings], object] = lambda settings: None
    # states sampled when /metrics is scraped (the floor: people waiting, promises due…)
    gauges: Sequence[Gauge] = ()
    # how long the service's own kinds of data are kept (docs/privacy.md); the runtime adds
    # the policies of its own tables
    retention: Sequence[RetentionPolicy] = ()
    # what the service holds about a person, for their copy of their data (runtime/export.py)
    export_subject: ExportSubject = exports_nothing
    # run once at each start, after the migrations (e.g. seeding reference data as events)
    on_start: Callable[[RunningService], Awaitable[None]] | None = None


class ServiceRuntime:
    def __init__(
        self,
        definition: ServiceDefinition,
        settings: ServiceSettings,
        clock: Clock | None = None,
        wiring: object = None,
    ) -> None:
        self.definition = definition
        self.settings = settings
        self.wiring = wiring if wiring is not None else definition.wiring(settings)
        refuse_sandboxes_in_production(settings, self.wiring)
        self.clock: Clock = clock or SystemClock()
        self.name = definition.name
        self.tracer_provider = setup_telemetry(definition.name, settings.log_level)
        self.privacy = Privacy(None)  # the key store is attached when the service starts
        self.store = EventStore(
            definition.name, self.privacy, self.clock, max_event_bytes=settings.event_max_bytes
        )
        self.broker = build_broker(settings.kafka, definition.name, self.tracer_provider)
        self.groups = [*definition.consumer_groups(self), self._privacy_group()]
        self.retention_policies = [*RUNTIME_POLICIES, *definition.retention]
        self.timer_handlers = {
            **definition.timers(self),
            RETENTION_TIMER_KIND: retention_timer(self, self.retention_policies),
        }
        self.timers: TimerRunner | None = None
        self._pool: asyncpg.Pool | None = None
        self._keystore_pool: asyncpg.Pool | None = None
        self.runners: list[ConsumerRunner] = []
        self.relay: OutboxRelay | None = None
        self.kafka_connected = asyncio.Event()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        dead_letters = broker_dead_letter_publisher(self.broker, settings.kafka.topic)
        for group in self.groups:
            runner = ConsumerRunner(
                None,  # type: ignore[arg-type]  # set when the pool exists
                group,
                dead_letters,
                max_attempts=settings.kafka.consumer_max_attempts,
                retry_backoff=settings.kafka.consumer_retry_backoff_ms / 1000,
                topic_name=settings.kafka.topic,
                privacy=self.privacy,
                poll_timeout_ms=settings.kafka.consumer_poll_timeout_ms,
            )
            runner.subscribe(self.broker, consumer_ack_policy(settings.kafka))
            self.runners.append(runner)
        self.store.inline = [
            InlineProjection(group, settings.kafka.topic) for group in self.groups if group.inline
        ]
        for topic in self.publishes():
            self.broker.publisher(
                settings.kafka.topic(topic.name),
                title=topic.name,
                description=f"{topic.description} Event types: "
                + ", ".join(d.event_type for d in REGISTRY.definitions() if d.topic == topic),
                schema=Envelope,
            )

    def _privacy_group(self) -> ConsumerGroup:
        """Every service forgets a person when told: destroys the key (the first service to hear
        it does; the others find it gone), drops it from the cache, redacts its read models."""

        async def on_subject_erased(
            conn: asyncpg.Connection, event: ReceivedEvent[DataSubjectErased]
        ) -> None:
            erased = event.payload
            if self.privacy.keystore is not None:
                await self.privacy.keystore.erase(erased.subject_id)
            self.privacy.forget(erased.subject_id)
            # snapshots hold states as folded, personal values revealed: they go, and the next
            # command on those streams folds the (now unreadable) events again
            await conn.execute(
                """DELETE FROM snapshots WHERE stream_id IN
                       (SELECT stream_id FROM events WHERE subject_id = $1)""",
                erased.subject_id,
            )
            await self.definition.redact_subject(conn, erased.subject_id)

        return ConsumerGroup(
            name=f"{self.name}.privacy",
            topics=[CASES_DATA_SUBJECTS],
            handlers={DataSubjectErased: on_subject_erased},
            description="Erases a person's data: key, caches, read models.",
        )

    def publishes(self) -> list[TopicSpec]:
        """The topics this service produces, from the topic registry."""
        return [topic for topic in TOPICS.values() if topic.producer in (self.name, SHARED)]

    @property
    def export_subject(self) -> ExportSubject:
        return self.definition.export_subject

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
        keystore_pool = await create_pool(
            self.settings.dsn("keystore"), min_size=1, max_size=self.settings.db_pool_max
        )
        await migrate(keystore_pool, [KEYSTORE_MIGRATIONS], with_event_store=False)
        self._keystore_pool = keystore_pool
        self.privacy.keystore = PostgresKeyStore(
            keystore_pool,
            MasterKey(self.settings.master_key_bytes()),
            cache_seconds=self.settings.keystore_cache_seconds,
        )
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
            TransactionalPublisher(self.settings.kafka, self.name),
            service=self.name,
            batch_size=self.settings.relay_batch_size,
            poll_interval=self.settings.relay_poll_interval_ms / 1000,
            topic_name=self.settings.kafka.topic,
        )
        await self.relay.run(self._stop)

    async def start(self) -> None:
        await self.connect_database()
        self.timers = TimerRunner(self.pool, self.timer_handlers, self.clock, service=self.name)
        async with self.pool.acquire() as conn:
            await ensure_scheduled(conn, self.name, self.clock.now())
        if self.definition.on_start is not None:
            await self.definition.on_start(self)
        self._tasks = [
            asyncio.create_task(self._connect_kafka(), name=f"{self.name}-kafka"),
            asyncio.create_task(self._run_relay(), name=f"{self.name}-relay"),
        ]
        self._tasks.append(
            asyncio.create_task(self.timers.run(self._stop), name=f"{self.name}-timers")
        )

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await self.broker.stop()
        for pool in (self._pool, self._keystore_pool):
            if pool is not None:
                await pool.close()
        shutdown_telemetry()

    @asynccontextmanager
    async def lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()

    def gauges(self) -> list[Gauge]:
        return [*OUTBOX_GAUGES, *timer_gauges(self.clock.now), *self.definition.gauges]

    async def sample_metrics(self) -> None:
        """Refresh the gauges sampled at scrape time (database, Kafka lag, relay leadership)."""
        if self._pool is None:
            return
        await sample(self.name, self.pool, self.gauges())
        keep_samples(self.name, RELAY_LEADER, [Sample(1.0 if self._leads_relay() else 0.0)])
        if self.kafka_connected.is_set():
            try:
                async with asyncio.timeout(2.0):
                    lag = await consumer_lag(self.settings.kafka, self.groups)
            except Exception as error:
                log.warning("consumer lag unknown", extra=log_fields(error=type(error).__name__))
            else:
                keep_samples(self.name, CONSUMER_LAG, lag)

    def _leads_relay(self) -> bool:
        return bool(self.relay is not None and getattr(self.relay, "is_leader", False))

    async def readiness(self, within: float = 0.4) -> dict[str, Any]:
        """The database and the broker, asked at the same time, each for at most ``within``
        seconds: a load balancer gets its answer in under half a second whatever is down."""

        async def database() -> tuple[str, int | None]:
            try:
                async with asyncio.timeout(within):
                    pending = await self.pool.fetchval("SELECT count(*) FROM outbox")
            except Exception as error:
                return f"unavailable: {type(error).__name__}", None
            return "ok", pending

        async def kafka() -> str:
            if not self.kafka_connected.is_set():
                return "unavailable"
            with contextlib.suppress(Exception):
                async with asyncio.timeout(within):
                    if await self.broker.ping(timeout=within):
                        return "ok"
            return "unavailable"

        (database_check, pending), kafka_check = await asyncio.gather(database(), kafka())
        return {"database": database_check, "kafka": kafka_check, "outbox_pending": pending}

    def asyncapi(self) -> dict[str, Any]:
        spec = AsyncAPI(
            self.broker,
            title=f"Frontdesk {self.name}",
            version="1.0.0",
            description=self.definition.description,
            schema_version="3.0.0",
        )
        return spec.to_specification().to_jsonable()  # type: ignore[no-any-return]

    async def caught_up(self, wanted: list[positions.Position]) -> list[positions.Position] | None:
        """Wait until this service's consumer groups passed the positions a client wrote and
        what they caused here (up to ``read_after_wait_seconds``): every position reached,
        or None (runtime/positions.py)."""
        readers: dict[str, list[str]] = {}
        for group in self.groups:
            for topic in group.topics:
                readers.setdefault(topic.name, []).append(group.name)
        return await positions.caught_up(
            self.pool, readers, wanted, self.settings.read_after_wait_seconds
        )


class UnstartedService:
    """A service's parts built as at start-up, without starting anything: what the consumer
    groups and timers of a definition are, for the generated docs and the CLI."""

    def __init__(self, definition: ServiceDefinition, settings: ServiceSettings | None = None):
        self.definition = definition
        self.name = definition.name
        self.settings = settings or ServiceSettings()
        self.clock: Clock = SystemClock()
        self.privacy = Privacy(None)
        self.store = EventStore(definition.name, self.privacy, self.clock)
        self.wiring = definition.wiring(self.settings)

    @property
    def pool(self) -> asyncpg.Pool:
        raise RuntimeError(f"{self.name} is not started")

    @property
    def export_subject(self) -> ExportSubject:
        return self.definition.export_subject

    def consumer_groups(self) -> list[ConsumerGroup]:
        return self.definition.consumer_groups(self)


async def runtime_of(request: Request) -> ServiceRuntime:
    """The service's runtime (async: a plain ``def`` dependency runs in a worker thread)."""
    return request.app.state.runtime  # type: ignore[no-any-return]


Runtime = Annotated[ServiceRuntime, Depends(runtime_of)]


def operations_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/metrics", include_in_schema=False)
    async def metrics_endpoint(runtime: Runtime) -> Response:
        """Prometheus text format: the meters, and the gauges sampled now."""
        await runtime.sample_metrics()
        body, media_type = render_metrics()
        return Response(body, media_type=media_type)

    @router.get(
        "/readyz",
        summary="PostgreSQL and Kafka are reachable",
        responses={
            503: {
                "description": "Not ready: the checks say what is unavailable",
                "content": {"application/json": {}},
            }
        },
    )
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


def create_app(
    definition: ServiceDefinition,
    settings: ServiceSettings | None = None,
    clock: Clock | None = None,
    wiring: object = None,
) -> FastAPI:
    """The service's FastAPI application; tests may pass their own ``wiring`` (adapters
    pointed at sandboxes on free ports)."""
    settings = settings or ServiceSettings()
    runtime = ServiceRuntime(definition, settings, clock, wiring)
    app = FastAPI(
        title=definition.title,
        description=definition.description,
        version="1.0.0",
        lifespan=runtime.lifespan,
    )
    app.state.runtime = runtime
    app.state.token_verifier = TokenVerifier(
        settings.jwt_secret.get_secret_value(),
        settings.jwt_issuer,
        settings.jwt_audience,
        max_lifetime_seconds=settings.jwt_max_lifetime_seconds,
    )
    install_problem_handlers(app)
    install_request_context(app)
    app.include_router(operations_router())
    app.include_router(export_router())
    for router in definition.routers:
        app.include_router(router)
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=runtime.tracer_provider,
        excluded_urls="healthz,readyz,metrics",
        exclude_spans=["receive", "send"],  # a span per ASGI message: the request's span says it
    )
    if settings.trace_sql:
        # a span per SQL statement (FRONTDESK_TRACE_SQL, off by default: about a dozen spans
        # per command on the hot path); statements only: query parameters carry personal
        # data and never go into spans
        AsyncPGInstrumentor(capture_parameters=False).instrument(
            tracer_provider=runtime.tracer_provider
        )
    return app


SERVING_COLLECTION_THRESHOLD = 10_000  # allocations between two young collections


def settle_collector() -> None:
    """The cyclic garbage collector of a service process, once start-up is done.

    What start-up loaded (the modules, their classes, schemas and routes) lives as long as the
    process: frozen out of the collector's sight, a full collection walks only what came after
    (docs/performance-history.md, "Session 6: CPU per ticket"). The young generation is
    collected after 10,000 new objects instead of 700: a request or a consumed batch allocates
    thousands, nearly none in cycles (reference counting frees them), so by default the
    collector ran several times a ticket, 3 % of a loaded check-in's CPU (0.44 s of 13.8 s,
    4,712 tickets); now it runs about once per 400 tickets (docs/performance-history.md,
    "Session 13"). What is in cycles is freed a little later, in the same collections."""
    gc.freeze()
    young, older, oldest = gc.get_threshold()
    gc.set_threshold(max(young, SERVING_COLLECTION_THRESHOLD), older, oldest)


def serve(definition: ServiceDefinition) -> None:
    """Run one service process with uvicorn (``python -m services.<name>``)."""
    import uvicorn

    settings = ServiceSettings()
    app = create_app(definition, settings)
    settle_collector()
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port or definition.default_port,
        log_config=None,
        access_log=False,
    )
