"""Service levels with durable timers over real PostgreSQL: a warning before the breach, the
breach escalating to a supervisor (on the case and the timeline), the clock paused while the
case awaits the customer. Time is moved with the shared clock; timers fire on demand."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from runtime.scheduler import OffsetClock
from services.cases.domain.calendar import SERVICE_CENTRE
from tests.conftest import auth
from tests.integration.cases.support import case_where, new_account, open_case
from tests.integration.conftest import RunningService

pytestmark = pytest.mark.integration


def target(case: dict[str, Any], kind: str) -> dict[str, Any]:
    [found] = [t for t in case["service_levels"]["targets"] if t["kind"] == kind]
    return found


def move_to(clock: OffsetClock, moment: str) -> None:
    wanted = datetime.fromisoformat(moment) + timedelta(seconds=1)
    if wanted > clock.now():
        clock.advance(wanted - clock.now())


async def timers_of(cases: RunningService, case_id: str) -> dict[str, datetime]:
    rows = await cases.runtime.pool.fetch(
        "SELECT timer_id, due_at FROM timers WHERE timer_id LIKE $1", f"sla:{case_id}:%"
    )
    return {row["timer_id"].split(":", 2)[2]: row["due_at"] for row in rows}


async def test_a_warning_then_a_breach_that_escalates_to_a_supervisor(
    stack: dict[str, RunningService], token: Callable[..., str], clock: OffsetClock
) -> None:
    service = stack["cases"]
    cases = service.client
    agent = auth(token("agent"))
    customer_id = f"cust-{uuid.uuid4().hex[:8]}"
    opened = await open_case(
        cases,
        agent,
        new_account(),
        "account_recovery_lost_phone",
        customer_id=customer_id,
        accessibility_needs=["elderly"],
    )
    assert opened["priority"] == "high"
    case_id = opened["case_id"]
    case = await case_where(cases, agent, case_id, lambda c: c["service_levels"]["targets"])
    first = target(case, "first_response")
    assert case["due"]["first_response_due"] == first["due_at"]
    # high priority: 60 business minutes on the service centres' calendar
    started = datetime.fromisoformat(first["started_at"])
    assert datetime.fromisoformat(first["due_at"]) == SERVICE_CENTRE.add(started, 60)
    assert set(await timers_of(service, case_id)) == {
        "first_response:warning",
        "first_response:breach",
        "resolution:warning",
        "resolution:breach",
    }

    move_to(clock, first["warn_at"])
    await service.timers.fire_due()
    warned = await case_where(
        cases, agent, case_id, lambda c: bool(c["service_levels"].get("warnings"))
    )
    assert warned["status"] == "open"
    assert warned["service_levels"]["warnings"][0]["kind"] == "first_response"

    move_to(clock, first["due_at"])
    await service.timers.fire_due()
    breached = await case_where(cases, agent, case_id, lambda c: c["status"] == "escalated")
    assert breached["waiting_on"] == "supervisor"
    assert breached["escalations"][-1]["reason"] == "service_level_breached"
    assert breached["service_levels"]["breaches"][0]["kind"] == "first_response"
    assert "first_response:breach" not in await timers_of(service, case_id)

    history = (await cases.get(f"/cases/{case_id}/timeline", headers=agent)).json()
    kinds = [e["kind"] for e in history]
    assert kinds.index("service_level_warning") < kinds.index("service_level_breached")
    assert kinds.index("service_level_breached") < kinds.index("case_escalated")
    # the customer sees a supervisor took over, not the internal service-level bookkeeping
    mine = (
        await cases.get(
            f"/cases/{case_id}/timeline", headers=auth(token("customer", sub=customer_id))
        )
    ).json()
    assert "case_escalated" in {e["kind"] for e in mine}
    assert not {"service_level_warning", "service_level_breached"} & {e["kind"] for e in mine}

    # a supervisor hands it back; an agent could not
    by_agent = await cases.post(
        f"/cases/{case_id}/status", json={"status": "in_review"}, headers=agent
    )
    assert by_agent.status_code == 409
    assert by_agent.json()["detail"] == "an escalated case is handed back by a supervisor"
    back = await cases.post(
        f"/cases/{case_id}/status",
        json={"status": "in_review"},
        headers=auth(token("supervisor")),
    )
    assert back.status_code == 200


async def test_the_clock_pauses_while_awaiting_the_customer_and_resumes_on_their_reply(
    stack: dict[str, RunningService], token: Callable[..., str], clock: OffsetClock
) -> None:
    service = stack["cases"]
    cases = service.client
    agent = auth(token("agent"))
    customer_id = f"cust-{uuid.uuid4().hex[:8]}"
    customer = auth(token("customer", sub=customer_id))
    opened = await cases.post(
        "/cases",
        json={
            "account_ref": new_account(),
            "case_type": "wallet_reactivation",
            "language": {"tag": "en"},
            "customer_id": customer_id,
        },
        headers=agent,
    )
    case_id = opened.json()["case_id"]
    await cases.post(f"/cases/{case_id}/status", json={"status": "triage"}, headers=agent)
    asked = await cases.post(
        f"/cases/{case_id}/status", json={"status": "awaiting_customer"}, headers=agent
    )
    assert asked.json()["waiting_on"] == "customer"
    paused = await case_where(cases, customer, case_id, lambda c: c["due"]["paused"])
    assert "please read our message and reply" in paused["next_step"]
    assert await timers_of(service, case_id) == {}  # nothing can breach while we wait on them
    before = datetime.fromisoformat(paused["due"]["resolution_due"])

    clock.advance(timedelta(hours=3))
    replied = await cases.post(f"/cases/{case_id}/replies", json={}, headers=customer)
    assert replied.status_code == 200, replied.text
    assert replied.json()["status"] == "in_review"
    resumed = await case_where(
        cases, agent, case_id, lambda c: c["status"] == "in_review" and not c["due"]["paused"]
    )
    minutes = resumed["service_levels"]["paused_minutes"]
    after = datetime.fromisoformat(resumed["due"]["resolution_due"])
    assert after == SERVICE_CENTRE.add(
        datetime.fromisoformat(target(resumed, "resolution")["started_at"]),
        24 * 60 + minutes,
    )
    assert after >= before
    assert resumed["due"]["next_response_due"] is not None  # we owe them an answer now
    timers = await timers_of(service, case_id)
    assert timers["resolution:breach"] == after
    assert "next_response:breach" in timers
    # replying again when nobody asked is refused
    again = await cases.post(f"/cases/{case_id}/replies", json={}, headers=customer)
    assert again.status_code == 409
    assert again.json()["detail"] == "the case is not waiting for the customer (it is in_review)"
