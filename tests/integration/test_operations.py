"""What operators and other systems rely on: AsyncAPI documents, OpenAPI, structured logs."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest

from contracts import TOPICS, dead_letter_topic
from runtime.telemetry import JsonLogFormatter
from tests.conftest import auth, eventually
from tests.integration.conftest import RunningService
from tests.integration.test_http import intake

pytestmark = pytest.mark.integration


async def test_asyncapi_lists_what_each_service_publishes_and_consumes(
    stack: dict[str, RunningService],
) -> None:
    prefix = stack["cases"].runtime.settings.kafka.topic_prefix
    document = (await stack["cases"].client.get("/asyncapi.json")).json()
    assert document["asyncapi"].startswith("3.")
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert f"{prefix}frontdesk.cases.cases" in addresses  # published and projected
    assert f"{prefix}frontdesk.checkin.tickets" in addresses  # consumed by cases.intake
    operations = {op["action"] for op in document["operations"].values()}
    assert operations == {"send", "receive"}
    for service in stack.values():
        spec = (await service.client.get("/asyncapi.json")).json()
        published = [t for t in TOPICS.values() if t.producer == service.name]
        for topic in published:
            assert any(
                channel["address"] == f"{prefix}{topic.name}"
                for channel in spec["channels"].values()
            ), f"{service.name} does not document {topic.name}"
        openapi = (await service.client.get("/openapi.json")).json()
        assert openapi["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


async def test_every_consumer_group_has_its_dead_letter_topic(
    stack: dict[str, RunningService],
) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    kafka = stack["cases"].runtime.settings.kafka
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
    finally:
        await admin.close()
    for service in stack.values():
        for group in service.runtime.groups:
            assert kafka.topic(dead_letter_topic(group.name).name) in existing


async def test_logs_are_json_with_trace_and_correlation_ids_and_no_personal_data(
    stack: dict[str, RunningService],
    token: Callable[..., str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    phone, words = "+8613899990000", "my secret complaint text"
    body = intake("acct-logs")
    body["intake"]["contact_phone"] = phone
    body["intake"]["description"] = words
    formatter = JsonLogFormatter("test")
    with caplog.at_level(logging.DEBUG):
        created = await stack["checkin"].client.post(
            "/tickets", json=body, headers=auth(token("agent"))
        )
        assert created.status_code == 201
        ticket_id = created.json()["ticket_id"]

        async def case_opened() -> object:
            response = await stack["cases"].client.get(
                "/cases", params={"ticket_id": ticket_id}, headers=auth(token("agent"))
            )
            return response.json()

        await eventually(case_opened)
        logging.getLogger("frontdesk.test").info("flow finished")
    lines = [formatter.format(record) for record in caplog.records]
    assert lines
    for line in lines:
        entry = json.loads(line)
        assert {"ts", "level", "service", "message"} <= entry.keys()
        assert phone not in line
        assert words not in line
    assert any("trace_id" in json.loads(line) for line in lines)
    assert any("correlation_id" in json.loads(line) for line in lines)


async def test_a_request_correlation_id_reaches_the_events_of_every_service(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    correlation_id = "5b0f6a0e-3c1d-4e8f-9a7b-2c4d6e8f0a1b"
    created = await stack["checkin"].client.post(
        "/tickets",
        json=intake("acct-corr"),
        headers={**auth(token("agent")), "X-Correlation-Id": correlation_id},
    )
    assert created.headers["x-correlation-id"] == correlation_id
    ticket_id = created.json()["ticket_id"]

    async def case() -> list[dict[str, Any]]:
        response = await stack["cases"].client.get(
            "/cases", params={"ticket_id": ticket_id}, headers=auth(token("agent"))
        )
        return response.json()

    [opened] = await eventually(case)
    assert opened["correlation_id"] == correlation_id
    minted = await stack["checkin"].client.get("/tickets/not-a-uuid", headers=auth(token("agent")))
    assert minted.headers["x-correlation-id"] != correlation_id
