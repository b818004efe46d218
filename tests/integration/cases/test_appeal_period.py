"""A decided case closes by itself when its appeal period is over (a durable timer that
follows it); an appeal within the period reopens it and cancels that close — through the API,
the timers and the read model fed from Kafka (issue 16 item 12)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from runtime.scheduler import OffsetClock
from tests.conftest import auth
from tests.integration.cases.support import case_where, new_account, open_case, stream_types
from tests.integration.cases.test_service_levels import move_to
from tests.integration.conftest import RunningService

pytestmark = pytest.mark.integration


async def decided_case(cases: httpx.AsyncClient, agent: dict[str, str], customer: str) -> str:
    opened = await open_case(
        cases, agent, new_account(), "other", language="de", channel="phone", customer_id=customer
    )
    case_id: str = opened["case_id"]
    for status in ("triage", "in_review"):
        moved = await cases.post(f"/cases/{case_id}/status", json={"status": status}, headers=agent)
        assert moved.status_code == 200, moved.text
    decided = await cases.post(
        f"/cases/{case_id}/decision",
        json={
            "outcome": "referred_elsewhere",
            "reason_code": "OUT-OF-SCOPE",
            "facts": {"referred_to": "Zahlungsdienst"},
        },
        headers=agent,
    )
    assert decided.status_code == 201, decided.text
    return case_id


async def appeal_timer(service: RunningService, case_id: str) -> Any:
    return await service.runtime.pool.fetchrow(
        "SELECT due_at FROM timers WHERE timer_id = $1", f"appeal:{case_id}"
    )


async def test_a_decided_case_closes_by_itself_after_the_appeal_period_unless_appealed(
    stack: dict[str, RunningService], token: Callable[..., str], clock: OffsetClock
) -> None:
    service = stack["cases"]
    cases = service.client
    agent = auth(token("agent"))
    customer_id = f"cust-{new_account()}"
    customer = auth(token("customer", sub=customer_id))

    quiet = await decided_case(cases, agent, customer_id)
    appealed = await decided_case(cases, agent, customer_id)
    seen = await case_where(cases, customer, quiet, lambda c: c["decision"] is not None)
    assert seen["status"] == "resolved"
    assert seen["decision"]["outcome_label"] == "an eine andere Stelle weitergegeben"
    appeal_until = seen["appeal_until"]
    assert (await appeal_timer(service, quiet))["due_at"].isoformat() == (
        seen["decision"]["appeal_until"]
    ).replace("Z", "+00:00")

    # the customer appeals one of them within the period: it reopens, its close is cancelled
    appeal = await cases.post(
        f"/cases/{appealed}/reopen", json={"statement": "Ich widerspreche"}, headers=customer
    )
    assert appeal.status_code == 200, appeal.text
    assert await appeal_timer(service, appealed) is None

    # the period passes; the timers fire
    move_to(clock, appeal_until)
    await service.timers.fire_due()

    closed = await case_where(cases, customer, quiet, lambda c: c["status"] == "closed")
    assert closed["next_step"] == "Der Fall ist abgeschlossen."
    assert (await stream_types(service, quiet))[-2:] == [
        "cases.case_closed",
        "cases.status_changed",
    ]
    assert "cases.case_closed" not in await stream_types(service, appealed)
    # still being worked on (its resolution clock, restarted by the appeal, breached meanwhile:
    # the escalation reaches the read model through Kafka, after the timers fired)
    await case_where(cases, customer, appealed, lambda c: c["status"] in ("in_review", "escalated"))
    # and once closed, the appeal period is over: no appeal any more
    late = await cases.post(f"/cases/{quiet}/reopen", json={}, headers=customer)
    assert late.status_code == 409
    assert "appeal period of 30 days ended" in late.json()["detail"]
