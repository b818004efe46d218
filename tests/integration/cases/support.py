"""Helpers of the cases integration tests: check in over checkin's API, open a case over cases'
API, publish the events of verification, notifications and the platform exactly as those
producers would, read cases."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from contracts import Actor, Envelope, EventPayload, TopicSpec
from runtime.settings import ServiceSettings
from tests.conftest import auth, eventually
from tests.integration.conftest import RunningService


def new_account() -> str:
    return f"acct-{uuid.uuid4().hex[:10]}"


async def check_in(
    stack: dict[str, RunningService],
    token: Callable[..., str],
    account: str,
    *,
    category: str = "account_suspended",
    customer: str | None = None,
    channel: str = "walk_in",
    language: str = "zh-CN",
    acting_for: dict[str, str] | None = None,
    words: str | None = None,
) -> dict[str, Any]:
    """A visitor (or a remote contact) checks in at checkin, as the kiosk or app does."""
    intake: dict[str, Any] = {
        "problem_category": category,
        "account_ref": account,
        "language": {"tag": language},
    }
    if acting_for:
        intake["acting_for"] = acting_for
    if words:
        intake["description"] = words
    body = {"site_id": "shenzhen-01", "channel": channel, "intake": intake}
    headers = auth(token("customer", sub=customer)) if customer else auth(token("supervisor"))
    response = await stack["checkin"].client.post("/tickets", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def open_case(
    cases: httpx.AsyncClient,
    headers: dict[str, str],
    account: str,
    case_type: str,
    *,
    language: str = "zh-CN",
    **fields: Any,
) -> dict[str, Any]:
    """Staff log a contact over cases' API (``POST /cases``): it opens the account's case of
    that type, or attaches to the open one. ``fields``: the rest of the body (channel,
    customer_id, ...). The answer: case_id, status, priority, attached, ..."""
    body = {"account_ref": account, "case_type": case_type, "language": {"tag": language}}
    response = await cases.post("/cases", json=body | fields, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def case_of_ticket(
    cases: httpx.AsyncClient, headers: dict[str, str], ticket_id: str
) -> dict[str, Any]:
    async def found() -> Any:
        response = await cases.get("/cases", params={"ticket_id": ticket_id}, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    [case] = await eventually(found)
    return case  # type: ignore[no-any-return]


async def case_where(
    cases: httpx.AsyncClient,
    headers: dict[str, str],
    case_id: str,
    condition: Callable[[dict[str, Any]], bool],
    within: float = 90,
) -> dict[str, Any]:
    """The case (through its read model) once ``condition`` holds."""

    async def probe() -> dict[str, Any] | None:
        response = await cases.get(f"/cases/{case_id}", headers=headers)
        if response.status_code != 200:
            return None
        body = response.json()
        return body if condition(body) else None

    return await eventually(probe, within=within)


async def publish(
    settings: ServiceSettings,
    topic: TopicSpec,
    payload: EventPayload,
    stream_id: str,
    *,
    producer: str,
    at: datetime,
    stream_version: int = 1,
    correlation_id: uuid.UUID | None = None,
) -> Envelope:
    """Publish one event as its producer would: the envelope, keyed by the stream id."""
    envelope = Envelope(
        event_id=uuid.uuid4(),
        event_type=payload.event_type,
        schema_version=payload.schema_version,
        occurred_at=at,
        stream_type=topic.stream_type,
        stream_id=stream_id,
        stream_version=stream_version,
        correlation_id=correlation_id or uuid.uuid4(),
        producer=producer,
        actor=Actor(id=producer, role="service"),
        payload=payload.model_dump(mode="json"),
    )
    kafka = AIOKafkaProducer(
        bootstrap_servers=settings.kafka.bootstrap_servers, enable_idempotence=True, acks="all"
    )
    await kafka.start()
    try:
        await kafka.send_and_wait(
            settings.kafka.topic(topic.name), envelope.to_bytes(), key=stream_id.encode()
        )
    finally:
        await kafka.stop()
    return envelope


async def stream_types(service: RunningService, case_id: str) -> list[str]:
    rows = await service.runtime.pool.fetch(
        "SELECT event_type FROM events WHERE stream_id = $1 ORDER BY stream_version",
        f"case-{case_id}",
    )
    return [row["event_type"] for row in rows]
