"""Fixtures of the notifications integration tests: the sandbox providers as their own
processes (SMS, WeChat, QQ over HTTP), a local SMTP server, and publishing other services'
events exactly as their contracts say."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from aiosmtpd.controller import Controller

from contracts import TOPICS, Actor, Envelope, EventPayload
from contracts.events.notifications import MessageChannel
from contracts.registry import REGISTRY
from runtime.privacy import Privacy
from runtime.scheduler import OffsetClock
from runtime.settings import ServiceSettings
from sandboxes.smtp import SandboxMailbox
from services.notifications.adapters.channels import ChannelAdapter, Channels
from services.notifications.adapters.code_claims import VerificationCodeClaims
from services.notifications.adapters.http_provider import HttpProviderAdapter
from services.notifications.adapters.smtp import SmtpEmailAdapter
from services.notifications.config import NotificationSettings
from services.notifications.wiring import NotificationsWiring
from tests.conftest import ROOT
from tests.integration.conftest import RunningService

# the settings the notifications service reads from this environment (the sandboxes' keys)
SETTINGS = NotificationSettings()


def wiring_of(stack: dict[str, RunningService]) -> NotificationsWiring:
    """The running notifications service's wiring (its adapters, its settings)."""
    wiring = stack["notifications"].runtime.wiring
    assert isinstance(wiring, NotificationsWiring)
    return wiring


def channels(stack: dict[str, RunningService]) -> Channels:
    return wiring_of(stack).channels


def code_claims(stack: dict[str, RunningService]) -> VerificationCodeClaims:
    claims = wiring_of(stack).code_claims
    assert claims is not None
    return claims


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# a busy machine may take seconds to answer on loopback: the tests wait on state, not speed
@dataclass
class Sandbox:
    channel: MessageChannel
    url: str
    process: subprocess.Popen[bytes]

    def messages(self, reference: str | None = None) -> list[dict[str, Any]]:
        params = {"reference": reference} if reference else None
        return httpx.get(f"{self.url}/sandbox/messages", params=params, timeout=60).json()  # type: ignore[no-any-return]

    async def amessages(self, reference: str | None = None) -> list[dict[str, Any]]:
        params = {"reference": reference} if reference else None
        async with httpx.AsyncClient(timeout=60) as client:
            answer = await client.get(f"{self.url}/sandbox/messages", params=params)
        return answer.json()  # type: ignore[no-any-return]

    async def fail_next(self, count: int, status: int = 503) -> None:
        async with httpx.AsyncClient(timeout=60) as client:
            await client.post(
                f"{self.url}/sandbox/faults", json={"fail_next": count, "status": status}
            )

    async def receipt(self, message_id: str, status: str = "delivered") -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=60) as client:
            answer = await client.post(
                f"{self.url}/sandbox/messages/{message_id}/receipt", json={"status": status}
            )
        return answer.json()  # type: ignore[no-any-return]


@dataclass
class Sandboxes:
    providers: dict[MessageChannel, Sandbox]
    mailbox: SandboxMailbox
    smtp_port: int

    def adapters(self) -> dict[MessageChannel, ChannelAdapter]:
        adapters: dict[MessageChannel, ChannelAdapter] = {
            channel: HttpProviderAdapter(
                channel, sandbox.url, SETTINGS.provider_api_key.get_secret_value()
            )
            for channel, sandbox in self.providers.items()
        }
        adapters[MessageChannel.EMAIL] = SmtpEmailAdapter(
            "127.0.0.1", self.smtp_port, SETTINGS.smtp_sender
        )
        return adapters


def _start_provider(channel: MessageChannel) -> Sandbox:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandboxes.message_provider",
            "--channel",
            channel.value,
            "--port",
            str(port),
            "--api-key",
            SETTINGS.provider_api_key.get_secret_value(),
            "--webhook-secret",
            SETTINGS.webhook_secret.get_secret_value(),
        ],
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return Sandbox(channel, url, process)
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise RuntimeError(f"the {channel} sandbox provider did not start")
        time.sleep(0.1)


@pytest.fixture(scope="session")
def sandboxes(stack: dict[str, RunningService]) -> Iterator[Sandboxes]:
    """SMS, WeChat and QQ sandbox providers as processes, an SMTP server in this process;
    the notifications service sends through them for the whole session."""
    providers = {
        channel: _start_provider(channel)
        for channel in (MessageChannel.SMS, MessageChannel.WECHAT, MessageChannel.QQ)
    }
    mailbox = SandboxMailbox()
    smtp_port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    running = Sandboxes(providers, mailbox, smtp_port)
    wired = channels(stack)
    previous = dict(wired.adapters)
    wired.replace(running.adapters())
    try:
        yield running
    finally:
        wired.replace(previous)
        controller.stop()
        for sandbox in providers.values():
            sandbox.process.terminate()
            sandbox.process.wait(timeout=10)


async def publish(
    settings: ServiceSettings,
    payload: EventPayload,
    stream_id: str,
    *,
    producer: str,
    privacy: Privacy,
    stream_version: int = 1,
    correlation_id: uuid.UUID | None = None,
    event_id: uuid.UUID | None = None,
    times: int = 1,
) -> Envelope:
    """Publish an event as its producing service would: sealed personal data, keyed by its
    stream, on its registered topic (namespaced)."""
    event_id = event_id or uuid.uuid4()
    sealed, personal_data = await privacy.seal(event_id, payload)
    envelope = Envelope(
        event_id=event_id,
        event_type=payload.event_type,
        schema_version=payload.schema_version,
        occurred_at=datetime.now(UTC),
        stream_type=payload.stream_type,
        stream_id=stream_id,
        stream_version=stream_version,
        correlation_id=correlation_id or uuid.uuid4(),
        producer=producer,
        actor=Actor(id=producer, role="service"),
        personal_data=personal_data,
        payload=sealed,
    )
    topic = settings.kafka.topic(REGISTRY.topic_of(payload.event_type).name)
    assert REGISTRY.topic_of(payload.event_type).name in TOPICS
    kafka = AIOKafkaProducer(
        bootstrap_servers=settings.kafka.bootstrap_servers, enable_idempotence=True, acks="all"
    )
    await kafka.start()
    try:
        for _ in range(times):
            await kafka.send_and_wait(topic, envelope.to_bytes(), key=stream_id.encode())
    finally:
        await kafka.stop()
    return envelope


def advance_to_local(clock: OffsetClock, timezone: str, hour: int, minute: int = 0) -> datetime:
    """Move the shared clock (forward only) to the next ``hour:minute`` wall-clock time in
    ``timezone``: marketing hours depend on the time of day, which a test must choose."""
    now = clock.now().astimezone(ZoneInfo(timezone))
    target = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if target <= now:
        target += timedelta(days=1)
    return clock.advance(target - now)


def in_marketing_hours(clock: OffsetClock, timezone: str = "Asia/Shanghai") -> datetime:
    """The shared clock inside the default marketing hours of ``timezone`` (09:00-20:00, the
    default preferred hours, out of the default quiet hours): 10:00 there, unless it is
    between 10:00 and 17:00 already."""
    local = clock.now().astimezone(ZoneInfo(timezone))
    if 10 <= local.hour < 17:
        return clock.now()
    return advance_to_local(clock, timezone, 10)
