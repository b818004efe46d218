"""The four services as separate processes, in a namespace of their own, exporting traces
over OTLP/HTTP to a receiver inside the test."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import asyncpg
import httpx
import pytest
import pytest_asyncio
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from runtime.db import drop_database
from tests.conftest import (
    ROOT,
    SERVICES,
    TEST_RATE_LIMITS,
    admin_dsn,
    delete_topics,
    make_settings,
)

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Span:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str


@dataclass
class TraceCollector:
    """A minimal OTLP/HTTP receiver: what the services' real exporters send lands here."""

    spans: list[Span] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def receive(self, body: bytes) -> None:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource_spans in request.resource_spans:
            service = next(
                (
                    a.value.string_value
                    for a in resource_spans.resource.attributes
                    if a.key == "service.name"
                ),
                "?",
            )
            for scope in resource_spans.scope_spans:
                with self.lock:
                    self.spans += [
                        Span(
                            service,
                            s.name,
                            s.trace_id.hex(),
                            s.span_id.hex(),
                            s.parent_span_id.hex(),
                        )
                        for s in scope.spans
                    ]

    def trace(self, trace_id: str) -> list[Span]:
        with self.lock:
            return [span for span in self.spans if span.trace_id == trace_id]


@pytest.fixture(scope="session")
def collector() -> Iterator[tuple[TraceCollector, str]]:
    traces = TraceCollector()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path == "/v1/traces":
                traces.receive(body)
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield traces, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ServiceProcess:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    env: dict[str, str]  # the environment it runs in (its namespace): for the operator CLI


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def processes(
    infrastructure: None, namespace: str, collector: tuple[TraceCollector, str]
) -> AsyncIterator[dict[str, ServiceProcess]]:
    own = f"{namespace}e"
    settings = make_settings(own)
    names = [f"{settings.database_prefix}{database}" for database in (*SERVICES, "keystore")]
    conn = await asyncpg.connect(admin_dsn(settings))
    for name in names:
        await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    logs = ROOT / ".local" / "logs" / "e2e"
    logs.mkdir(parents=True, exist_ok=True)
    running: dict[str, ServiceProcess] = {}
    ports = {service: free_port() for service in SERVICES}
    peers = ",".join(f"{name}=http://127.0.0.1:{port}" for name, port in ports.items())
    for service in SERVICES:
        port = ports[service]
        env = {
            **os.environ,
            "FRONTDESK_ENV": "test",
            "FRONTDESK_HTTP_PORT": str(port),
            "FRONTDESK_DATABASE_PREFIX": settings.database_prefix,
            "FRONTDESK_KAFKA_TOPIC_PREFIX": settings.kafka.topic_prefix,
            "FRONTDESK_RELAY_POLL_INTERVAL_MS": "100",
            "FRONTDESK_TRACE_SQL": "true",  # the trace shows the SQL INSERT spans
            "FRONTDESK_RATE_LIMITS": TEST_RATE_LIMITS,
            "FRONTDESK_PEERS": peers,
            "OTEL_SERVICE_NAME": service,
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector[1],
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "OTEL_METRIC_EXPORT_INTERVAL": "1000",
        }
        log = logs / f"{service}.log"
        process = subprocess.Popen(  # noqa: ASYNC220 - started once per session
            [sys.executable, "-m", f"services.{service}"],
            cwd=ROOT,
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        running[service] = ServiceProcess(service, f"http://127.0.0.1:{port}", process, log, env)
    try:
        async with httpx.AsyncClient(timeout=60) as client:
            for started in running.values():
                await wait_ready(client, started)
        yield running
    finally:
        for started in running.values():
            started.process.terminate()
        for started in running.values():
            try:
                started.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                started.process.kill()
        conn = await asyncpg.connect(admin_dsn(settings))
        for name in names:
            await drop_database(conn, name)
        await conn.close()
        await delete_topics(settings.kafka)


async def wait_ready(client: httpx.AsyncClient, service: ServiceProcess) -> None:
    for _ in range(600):
        if service.process.poll() is not None:
            raise AssertionError(f"{service.name} exited:\n{service.log.read_text()[-3000:]}")
        try:
            if (await client.get(f"{service.url}/readyz", timeout=2)).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"{service.name} not ready:\n{service.log.read_text()[-3000:]}")


def new_id() -> str:
    return uuid.uuid4().hex[:10]
