"""Honest waiting (re-estimates announced as the queue moves), the queue board, the
supervisor dashboard, estimate accuracy, and the read models rebuilt from Kafka."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from runtime.scheduler import OffsetClock
from tests.conftest import eventually
from tests.integration.checkin.helpers import Desk
from tests.integration.conftest import RunningService
from tests.integration.kafka_tools import standing_still
from tests.integration.test_rebuild import cli

pytestmark = pytest.mark.integration


async def post(
    service: RunningService, path: str, headers: dict[str, str], body: Any = None
) -> Any:
    return await service.client.post(path, json=body if body is not None else {}, headers=headers)


async def test_estimates_are_announced_again_when_capacity_changes(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    checkin = stack["checkin"]
    desk = Desk(checkin.client, token)
    await desk.configure(
        queues=[{"queue": "account_security", "default_service_minutes": 15}], margin=2, desks=4
    )
    await desk.agent("desk-1", queues=["account_security"])
    tickets = [await desk.issue() for _ in range(6)]
    last = tickets[-1]
    assert last["estimate"]["ahead"] == 5
    assert last["estimate"]["basis"] == "default_service_time"
    told = last["estimate"]["expected_minutes"]
    assert told >= 60  # five people ahead, one agent, 15 minutes each
    for n in (2, 3, 4):
        await desk.agent(f"desk-{n}", queues=["account_security"])

    async def announced() -> Any:
        row = await checkin.runtime.pool.fetchrow(
            """SELECT envelope->'payload' AS payload FROM events
               WHERE stream_id = $1 AND event_type = 'checkin.ticket_wait_estimated'
               ORDER BY stream_version DESC LIMIT 1""",
            f"ticket-{last['ticket_id']}",
        )
        return row if row and row["payload"]["estimate"]["agents_serving"] >= 3 else None

    # announced as agents arrive, each time the estimate moved past max(margin, 25%)
    row = await eventually(announced)
    payload = row["payload"]
    assert payload["estimate"]["expected_minutes"] <= told / 2
    assert payload["previous_expected_minutes"] is not None


async def test_board_dashboard_and_estimate_accuracy(
    stack: dict[str, RunningService], token: Callable[..., str], clock: OffsetClock
) -> None:
    checkin = stack["checkin"]
    desk = Desk(checkin.client, token)
    await desk.configure(queues=[{"queue": "account_security", "service_level_minutes": 10}])
    agent_id, agent = await desk.agent("desk-1", queues=["account_security"])
    tickets = [await desk.issue() for _ in range(4)]
    for ticket in tickets[:2]:
        await post(checkin, f"/agents/{agent_id}/call-next", agent)
        await post(checkin, f"/tickets/{ticket['ticket_id']}/start", agent)
        clock.advance(timedelta(minutes=8))
        await post(checkin, f"/tickets/{ticket['ticket_id']}/complete", agent)
    await post(checkin, f"/tickets/{tickets[2]['ticket_id']}/leave", desk.supervisor)
    called = await post(checkin, f"/agents/{agent_id}/call-next", agent)
    assert called.json()["ticket_id"] == tickets[3]["ticket_id"]

    async def projected() -> Any:
        board = (await checkin.client.get(f"/sites/{desk.site_id}/board", headers=agent)).json()
        serving = [entry["number"] for entry in board["now_serving"]]
        return board if serving == [tickets[3]["number"]] else None

    board = await eventually(projected)
    assert board["now_serving"] == [
        {
            "number": tickets[3]["number"],
            "desk_id": "desk-1",
            "queue": "account_security",
            "status": "called",
        }
    ]

    async def dashboard() -> Any:
        answer = await checkin.client.get(
            f"/sites/{desk.site_id}/dashboard", headers=desk.supervisor
        )
        lines = answer.json()["queues"]
        # the tickets' and the agent's events come from two topics: wait for both; and the
        # third ticket's leave is its own stream (its own partition): wait for it too
        settled = (
            lines
            and lines[0]["served_today"] == 2
            and lines[0]["agents_serving"] == 1
            and (lines[0]["abandonment_rate"] or 0) > 0
        )
        return lines if settled else None

    [line] = await eventually(dashboard)
    assert line["queue"] == "account_security"
    assert line["channel"] == "walk_in"
    assert line["waiting"] == 0
    assert line["average_service_minutes_last_hour"] == pytest.approx(8.0, abs=0.2)
    assert line["abandonment_rate"] == pytest.approx(1 / 3, abs=0.01)
    assert 0 < line["service_level"] < 1  # the third call waited more than 10 minutes
    forbidden = await checkin.client.get(f"/sites/{desk.site_id}/dashboard", headers=agent)
    assert forbidden.status_code == 403

    accuracy = (
        await checkin.client.get(
            f"/sites/{desk.site_id}/estimate-accuracy", headers=desk.supervisor
        )
    ).json()
    assert accuracy["overall"]["tickets"] == 3
    assert "mean_absolute_error_minutes" in accuracy["queues"]["account_security"]


async def test_checkin_read_models_rebuilt_from_kafka_equal_the_live_ones(
    stack: dict[str, RunningService],
    token: Callable[..., str],
    env_for_processes: dict[str, str],
) -> None:
    checkin = stack["checkin"]
    desk = Desk(checkin.client, token)
    await desk.configure()
    agent_id, agent = await desk.agent("desk-1")
    for _ in range(3):
        await desk.issue()
    await post(checkin, f"/agents/{agent_id}/call-next", agent)

    async with standing_still(stack):  # nothing in flight, no timer fires meanwhile
        before = await cli(env_for_processes, "digest", "checkin")
        written = {"queue_tickets", "agent_states", "sites"}  # by this test; others may be empty
        assert set(before) >= written
        assert all(not before[name].startswith("0:") for name in written), before
        reports = await cli(env_for_processes, "rebuild", "checkin")
        applied = {report["group"]: report["applied"] for report in reports}
        assert set(applied) == {"checkin.projections", "checkin.organizations"}, reports
        assert applied["checkin.projections"] > 0
        assert all(report["dead_lettered"] == 0 for report in reports), reports
        assert await cli(env_for_processes, "digest", "checkin") == before
