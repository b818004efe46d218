"""A namespace of its own for a bench run (databases ``bench_<id>_…``, topics ``bench-<id>.…``)
and services started from this checkout as processes on free ports, reached only through their
HTTP APIs (so the bench survives changes inside the services)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import asyncpg
import httpx

from runtime.auth import TokenVerifier
from runtime.db import drop_database
from runtime.kafka import delete_namespace_topics
from runtime.settings import KafkaSettings, ServiceSettings

ROOT = Path(__file__).resolve().parent.parent
SERVICE_DATABASES = ("checkin", "cases", "verification", "notifications", "keystore")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} cores)"


@dataclass
class Process:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu(self) -> float:
        return cpu_seconds(self.pid)


class Namespace:
    """Databases and topics of one bench run, dropped on exit."""

    def __init__(self) -> None:
        self.id = uuid.uuid4().hex[:8]
        base = ServiceSettings()
        self.settings = base.model_copy(
            update={
                "env": "test",
                "database_prefix": f"bench_{self.id}_",
                "kafka": base.kafka.model_copy(update={"topic_prefix": f"bench-{self.id}."}),
            }
        )
        self.databases: list[str] = []
        self.processes: list[Process] = []
        self.logs = Path(tempfile.mkdtemp(prefix=f"bench-{self.id}-"))

    @property
    def kafka(self) -> KafkaSettings:
        return self.settings.kafka

    async def __aenter__(self) -> Namespace:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for process in self.processes:
            stop(process)
        admin = await asyncpg.connect(ServiceSettings().dsn("postgres"))
        try:
            for name in self.databases:
                await drop_database(admin, name)
        finally:
            await admin.close()
        await delete_namespace_topics(self.kafka)

    async def database(self, name: str) -> str:
        """Create ``bench_<id>_<name>`` and return its DSN."""
        full = f"{self.settings.database_prefix}{name}"
        admin = await asyncpg.connect(ServiceSettings().dsn("postgres"))
        try:
            await admin.execute(f'CREATE DATABASE "{full}"')
        finally:
            await admin.close()
        self.databases.append(full)
        return self.settings.dsn(name)

    def token(self, role: str = "agent", sub: str = "bench-agent") -> str:
        verifier = TokenVerifier(
            self.settings.jwt_secret.get_secret_value(),
            self.settings.jwt_issuer,
            self.settings.jwt_audience,
        )
        return verifier.issue(sub, [role], 3600)

    def environment(self, port: int, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "FRONTDESK_ENV": "test",
            "FRONTDESK_HTTP_PORT": str(port),
            "FRONTDESK_DATABASE_PREFIX": self.settings.database_prefix,
            "FRONTDESK_KAFKA_TOPIC_PREFIX": self.kafka.topic_prefix,
            "FRONTDESK_LOG_LEVEL": "WARNING",
            # a load generator is one principal at one address: no rate limit stands in its way
            "FRONTDESK_RATE_LIMITS": "intake=100000000/1,customer=100000000/1",
            "OTEL_SERVICE_NAME": extra.pop("OTEL_SERVICE_NAME", "bench"),
            **extra,
        }

    async def service(self, name: str) -> Process:
        """Start ``python -m services.<name>`` from this checkout, wait until it is ready."""
        for database in (name, "keystore"):
            if f"{self.settings.database_prefix}{database}" not in self.databases:
                await self.database(database)
        port = free_port()
        env = self.environment(port, OTEL_SERVICE_NAME=name)
        return await self.start(name, [sys.executable, "-m", f"services.{name}"], port, env)

    async def start(self, name: str, command: list[str], port: int, env: dict[str, str]) -> Process:
        log = self.logs / f"{name}.log"
        process = Process(
            name,
            f"http://127.0.0.1:{port}",
            subprocess.Popen(  # noqa: ASYNC220 - a few per run
                command, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
            ),
            log,
        )
        self.processes.append(process)
        await wait_ready(process)
        return process


async def wait_ready(process: Process, path: str = "/readyz", within: float = 120) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if process.process.poll() is not None:
                raise RuntimeError(f"{process.name} exited:\n{process.log.read_text()[-3000:]}")
            try:
                if (await client.get(f"{process.url}{path}", timeout=2)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{process.name} not ready:\n{process.log.read_text()[-3000:]}")


def stop(process: Process) -> None:
    if process.process.poll() is None:
        process.process.terminate()
        try:
            process.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.process.kill()
