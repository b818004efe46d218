"""Tags on customers as events, and the proof that the cases' read models are a function of
the stream: drop them, replay Kafka, get the same state (runs after the flows above, so the
stream holds every kind of case event)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from tests.conftest import auth, eventually
from tests.integration.cases.support import new_account
from tests.integration.conftest import RunningService
from tests.integration.kafka_tools import standing_still
from tests.integration.test_rebuild import cli

pytestmark = pytest.mark.integration


async def test_customers_are_tagged_for_campaigns_with_events(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    cases = stack["cases"].client
    agent = auth(token("agent"))
    account = new_account()
    tag = f"wallet-back-{uuid.uuid4().hex[:6]}"
    tagged = await cases.post(
        f"/accounts/{account}/tags", json={"tag": tag, "campaign_id": "camp-1"}, headers=agent
    )
    assert tagged.status_code == 201, tagged.text
    assert tagged.json()["tags"] == [tag]
    twice = await cases.post(f"/accounts/{account}/tags", json={"tag": tag}, headers=agent)
    assert twice.status_code == 409
    bad = await cases.post(f"/accounts/{account}/tags", json={"tag": "Not A Tag"}, headers=agent)
    assert bad.status_code == 422
    customer = auth(token("customer"))
    assert (
        await cases.post(f"/accounts/{account}/tags", json={"tag": "x-1"}, headers=customer)
    ).status_code == 403

    async def audience() -> list[str]:
        response = await cases.get(f"/tags/{tag}/accounts", headers=auth(token("supervisor")))
        return response.json()  # type: ignore[no-any-return]

    assert await eventually(audience) == [account]
    listed = (await cases.get(f"/accounts/{account}/tags", headers=agent)).json()
    assert [(t["tag"], t["campaign_id"]) for t in listed] == [(tag, "camp-1")]
    removed = await cases.delete(f"/accounts/{account}/tags/{tag}", headers=agent)
    assert removed.json()["tags"] == []

    async def gone() -> bool:
        return await audience() == []

    await eventually(gone)
    stored = await stack["cases"].runtime.pool.fetch(
        "SELECT event_type FROM events WHERE stream_id = $1 ORDER BY stream_version",
        f"account-{account}",
    )
    assert [r["event_type"] for r in stored] == ["cases.customer_tagged", "cases.customer_untagged"]


async def test_the_cases_state_rebuilt_from_the_stream_equals_the_live_state(
    stack: dict[str, RunningService], env_for_processes: dict[str, str]
) -> None:
    service = stack["cases"]
    await service.timers.fire_due()  # nothing left due that could change it meanwhile
    async with standing_still(stack):  # nothing in flight, no timer fires meanwhile
        kinds = {
            row["event_type"]
            for row in await service.runtime.pool.fetch("SELECT DISTINCT event_type FROM events")
        }
        for expected in (
            "cases.contact_attached",
            "cases.case_merged",
            "cases.contact_split",
            "cases.decision_recorded",
            "cases.service_level_breached",
            "cases.callback_recorded",
            "cases.suspension_linked",
            "cases.customer_tagged",
            "cases.staff_skills_set",
        ):
            assert expected in kinds, f"run the whole cases folder: {expected} not in the stream"

        before = await cli(env_for_processes, "digest", "cases")
        filled = ("case_views", "case_contacts", "case_notes", "account_timeline")
        assert all(not before[table].startswith("0:") for table in filled), before
        assert not before["account_suspensions"].startswith("0:")
        assert not before["staff_skills"].startswith("0:")
        reports = await cli(env_for_processes, "rebuild", "cases")
        [report] = [r for r in reports if r["group"] == "cases.projections"]
        assert report["group"] == "cases.projections"
        assert report["applied"] > 0
        assert report["dead_lettered"] == 0
        after = await cli(env_for_processes, "digest", "cases")
    assert after == before

    # the write-side index agrees with the rebuilt read model: one open case per problem
    index = {
        (row["account_ref"], row["case_type"], row["case_id"])
        for row in await service.runtime.pool.fetch("SELECT * FROM open_problems")
    }
    active = {
        (row["account_ref"], row["case_type"], row["case_id"])
        for row in await service.runtime.pool.fetch(
            "SELECT account_ref, case_type, case_id FROM case_views "
            "WHERE status NOT IN ('resolved', 'closed', 'merged')"
        )
    }
    assert index == active
