"""What an SRE scrapes: GET /metrics on every service, over the real stack."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from runtime.consumer import group_lock_key
from tests.conftest import auth, eventually
from tests.integration.conftest import RunningService

pytestmark = pytest.mark.integration

Stack = dict[str, RunningService]


async def scrape(service: RunningService) -> dict[str, list[tuple[dict[str, str], float]]]:
    answer = await service.client.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    families: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            families.setdefault(sample.name, []).append((sample.labels, sample.value))
    return families


def value(
    families: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str
) -> float | None:
    for found, number in families.get(name, []):
        if all(found.get(key) == wanted for key, wanted in labels.items()):
            return number
    return None


async def test_every_service_exposes_its_backlog_timers_and_requests(stack: Stack) -> None:
    for name, service in stack.items():
        await service.client.get("/openapi.json")  # at least one request of its own

        async def recorded(service: RunningService = service) -> Any:
            """The scrape once a request's duration is in it: the middleware records it after
            the response went out, so an immediate scrape can come first."""
            families = await scrape(service)
            counted = families.get("http_server_request_duration_seconds_count", [])
            return families if any(labels.get("http_route") for labels, _ in counted) else None

        families = await eventually(recorded)
        assert value(families, "frontdesk_outbox_pending", service=name) is not None, name
        assert value(families, "frontdesk_outbox_oldest_age_seconds", service=name) is not None
        assert value(families, "frontdesk_timers_lateness_seconds", service=name) is not None
        assert value(families, "frontdesk_relay_leader", service=name) is not None
        durations = [
            labels
            for labels, _ in families.get("http_server_request_duration_seconds_count", [])
            if labels.get("http_route")
        ]
        assert durations, f"{name}: no HTTP duration by route"
        # labels are bounded: route templates, never a path with an id in it
        assert all(
            "{" in labels["http_route"] or "/" in labels["http_route"] for labels in durations
        )


async def test_a_consumer_groups_lag_rises_while_it_is_held_and_returns_to_zero(
    stack: Stack, token: Callable[..., str]
) -> None:
    notifications = stack["notifications"]
    group = "notifications.campaign_audience"  # follows the tags the cases service publishes

    async def lag() -> float:
        families = await scrape(notifications)
        return sum(
            number
            for labels, number in families.get("messaging_kafka_consumer_lag", [])
            if labels.get("messaging_consumer_group_name") == group
        )

    await eventually(lambda: _is_zero(lag))
    # hold the group as a rebuild would (its lock, exclusively): records wait, uncommitted
    async with notifications.runtime.pool.acquire() as held:
        await held.execute("SELECT pg_advisory_lock($1)", group_lock_key(group))
        try:
            account = f"acct-{uuid.uuid4().hex[:8]}"
            tagged = await stack["cases"].client.post(
                f"/accounts/{account}/tags",
                json={"tag": f"lag-{uuid.uuid4().hex[:6]}"},
                headers=auth(token("supervisor")),
            )
            assert tagged.status_code == 201, tagged.text
            await eventually(lambda: _is_positive(lag))
        finally:
            await held.execute("SELECT pg_advisory_unlock($1)", group_lock_key(group))
    await eventually(lambda: _is_zero(lag))


async def _is_zero(probe: Callable[[], object]) -> bool:
    return await probe() == 0  # type: ignore[misc, no-any-return]


async def _is_positive(probe: Callable[[], object]) -> bool:
    return await probe() > 0  # type: ignore[misc, operator, no-any-return]


async def test_a_queues_waiting_gauge_follows_issue_and_call(
    stack: Stack, token: Callable[..., str]
) -> None:
    from tests.integration.checkin.helpers import Desk

    checkin = stack["checkin"]
    desk = Desk(checkin.client, token)
    await desk.configure()
    for _ in range(2):
        await desk.issue()

    async def waiting(expected: float) -> bool:
        families = await scrape(checkin)
        found = value(
            families,
            "frontdesk_queue_waiting",
            site=desk.site_id,
            queue="account_security",
            channel="walk_in",
        )
        longest = value(families, "frontdesk_queue_longest_wait_seconds", site=desk.site_id)
        return found == expected and (expected == 0 or (longest or 0) >= 0)

    await eventually(lambda: waiting(2))
    agent_id, agent = await desk.agent("desk-1")
    called = await checkin.client.post(f"/agents/{agent_id}/call-next", headers=agent)
    assert called.status_code == 200, called.text
    await eventually(lambda: waiting(1))
    # the call measured how honest the first estimate was
    errors = await scrape(checkin)
    measured = value(errors, "frontdesk_queue_estimate_error_seconds_count", site=desk.site_id)
    assert measured is not None
    assert measured >= 1
    for name in ("cases", "notifications", "verification"):
        families = await scrape(stack[name])
        assert any(key.startswith("frontdesk_") for key in families), name
