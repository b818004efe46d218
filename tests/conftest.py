"""Fixtures shared by every test layer.

Integration and end-to-end tests run against the real Kafka and PostgreSQL started by
``deploy/infra.sh up`` (reused when already running). Each test session gets its own
namespace: databases ``<ns>_<service>`` and topics ``<ns>.frontdesk....``, dropped at the end,
so tests never see a developer's data nor a previous run's events.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
import pytest_asyncio

from runtime.db import drop_database
from runtime.kafka import delete_namespace_topics
from runtime.settings import KafkaSettings, ServiceSettings

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("checkin", "cases", "verification", "notifications")
T = TypeVar("T")
# tests share a few principals and one address: limits far above what a session sends (the
# limits themselves are tested with their own strict settings)
TEST_RATE_LIMITS = "customer=100000/60,codes=100000/60,answers=100000/60,intake=100000/60"


@pytest.fixture(scope="session")
def infrastructure() -> None:
    """Start (or reuse) the real Kafka broker and PostgreSQL server."""
    subprocess.run(["bash", str(ROOT / "deploy" / "infra.sh"), "up"], check=True)


@pytest.fixture(scope="session")
def namespace() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


def make_settings(namespace: str, **overrides: Any) -> ServiceSettings:
    kafka = KafkaSettings(
        topic_prefix=f"{namespace}.", consumer_retry_backoff_ms=20, **overrides.pop("kafka", {})
    )
    return ServiceSettings(
        env="test",
        rate_limits=TEST_RATE_LIMITS,
        database_prefix=f"{namespace}_",
        relay_poll_interval_ms=100,
        kafka=kafka,
        **overrides,
    )


@pytest.fixture(scope="session")
def settings(namespace: str) -> ServiceSettings:
    return make_settings(namespace)


def admin_dsn(settings: ServiceSettings) -> str:
    password = settings.pg_password.get_secret_value()
    return (
        f"postgresql://{settings.pg_user}:{password}@{settings.pg_host}:{settings.pg_port}/postgres"
    )


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def databases(infrastructure: None, settings: ServiceSettings) -> AsyncIterator[list[str]]:
    """The session's databases, one per service (plus a scratch one), dropped afterwards;
    the session's topics are deleted too."""
    names = [
        f"{settings.database_prefix}{database}" for database in (*SERVICES, "keystore", "scratch")
    ]
    conn = await asyncpg.connect(admin_dsn(settings))
    try:
        for name in names:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    yield names
    conn = await asyncpg.connect(admin_dsn(settings))
    try:
        for name in names:
            await drop_database(conn, name)
    finally:
        await conn.close()
    await delete_topics(settings.kafka)


async def delete_topics(kafka: KafkaSettings) -> None:
    await delete_namespace_topics(kafka)


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Random ids per test."""
    return lambda prefix: f"{prefix}-{uuid.uuid4().hex[:12]}"


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, within: float = 90.0, interval: float = 0.1
) -> T:
    """Poll ``probe`` until it returns something truthy, or fail after ``within`` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    last: T | None = None
    while True:
        last = await probe()
        if last:
            return last
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {within}s (last: {last!r})")
        await asyncio.sleep(interval)


@pytest.fixture(scope="session")
def token(settings: ServiceSettings) -> Callable[..., str]:
    """``token("agent", sub="a1")`` — a bearer token signed with the session's secret;
    ``token("customer", sub="c1", phone="+8613...")`` with a verified phone number;
    ``token("admin", org=organization_id)`` an organization's administrator."""
    from runtime.auth import TokenVerifier

    verifier = TokenVerifier(
        settings.jwt_secret.get_secret_value(), settings.jwt_issuer, settings.jwt_audience
    )

    def make(
        *roles: str,
        sub: str | None = None,
        ttl: int = 3600,
        phone: str | None = None,
        org: uuid.UUID | None = None,
    ) -> str:
        """``phone``: the number the platform's sign-in verified (phone_number claims);
        ``org``: the organization whose contact centre the staff member works in."""
        subject = sub or f"test-{roles[0]}-{uuid.uuid4().hex[:6]}"
        return verifier.issue(subject, list(roles), ttl, verified_phone=phone, organization=org)

    return make


def auth(bearer: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {bearer}"}


@pytest.fixture(scope="session")
def env_for_processes(settings: ServiceSettings) -> dict[str, str]:
    """Environment for service processes started by end-to-end tests."""
    env = dict(os.environ)
    env.update(
        FRONTDESK_ENV="test",
        FRONTDESK_DATABASE_PREFIX=settings.database_prefix,
        FRONTDESK_KAFKA_TOPIC_PREFIX=settings.kafka.topic_prefix,
        FRONTDESK_RELAY_POLL_INTERVAL_MS="100",
        FRONTDESK_RATE_LIMITS=TEST_RATE_LIMITS,
    )
    return env
