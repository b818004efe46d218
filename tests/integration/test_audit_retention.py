"""Audit of staff reads and retention purges, through a running service over real Kafka."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from contracts import Envelope
from contracts.topics import AUDIT_ACCESSES, RETENTION_PURGES
from runtime.audit import record_access
from runtime.auth import Principal
from runtime.retention import RetentionPolicy, purge
from runtime.scheduler import OffsetClock
from runtime.settings import ServiceSettings
from tests.conftest import auth, eventually
from tests.integration.conftest import RunningService
from tests.integration.kafka_tools import read_topic
from tests.integration.test_http import intake

pytestmark = pytest.mark.integration


async def topic_envelopes(settings: ServiceSettings, name: str) -> list[Envelope]:
    records = await read_topic(settings.kafka.bootstrap_servers, settings.kafka.topic(name))
    return [Envelope.from_bytes(record.value) for record in records]


async def test_a_staff_read_of_personal_data_is_an_audit_event_customers_are_not_audited(
    stack: dict[str, RunningService], settings: ServiceSettings
) -> None:
    cases = stack["cases"].runtime
    subject, case_id = f"account:acct-{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    agent = Principal(id="agent-42", roles=frozenset({"agent"}))
    customer = Principal(id="cust-1", roles=frozenset({"customer"}))
    async with cases.pool.acquire() as conn:
        assert await record_access(
            conn,
            cases,
            agent,
            subject_id=subject,
            resource="case",
            resource_id=case_id,
            fields=["summary"],
            purpose=f"case:{case_id}",
        )
        assert not await record_access(
            conn,
            cases,
            customer,
            subject_id=subject,
            resource="case",
            resource_id=case_id,
            fields=["summary"],
            purpose=f"case:{case_id}",
        )

    async def audited() -> list[Envelope]:
        return [
            e
            for e in await topic_envelopes(settings, AUDIT_ACCESSES.name)
            if e.payload["subject_id"] == subject
        ]

    [access] = await eventually(audited)
    assert access.actor is not None
    assert (access.actor.id, access.actor.role) == ("agent-42", "agent")
    assert access.payload["fields"] == ["summary"]
    assert access.payload["purpose"] == f"case:{case_id}"
    assert access.payload["service"] == "cases"
    assert access.producer == "cases"


async def test_retention_deletes_what_is_past_its_period_and_publishes_counts(
    stack: dict[str, RunningService], settings: ServiceSettings, clock: OffsetClock
) -> None:
    checkin = stack["checkin"].runtime
    key = f"retention-{uuid.uuid4().hex}"
    async with checkin.pool.acquire() as conn:
        await conn.execute(
            """INSERT INTO idempotency_keys (scope, key, fingerprint, status_code, response,
                   created_at) VALUES ('test', $1, 'f', 201, '{}'::jsonb,
                   now() - interval '2 days')""",
            key,
        )
        await conn.execute(
            """INSERT INTO idempotency_keys (scope, key, fingerprint, status_code, response,
                   created_at) VALUES ('test', $1, 'f', 201, '{}'::jsonb, now())""",
            key + "-fresh",
        )
        async with conn.transaction():
            purged = await purge(conn, checkin, checkin.retention_policies, clock.now())
    assert purged["idempotency_keys"] >= 1
    remaining = await checkin.pool.fetch(
        "SELECT key FROM idempotency_keys WHERE scope = 'test' AND key LIKE $1", key + "%"
    )
    assert [row["key"] for row in remaining] == [key + "-fresh"]

    async def published() -> list[Envelope]:
        return [
            e
            for e in await topic_envelopes(settings, RETENTION_PURGES.name)
            if e.payload["service"] == "checkin" and e.payload["policy"] == "idempotency_keys"
        ]

    [purge_event, *_] = await eventually(published)
    assert purge_event.payload["purged"] >= 1
    assert purge_event.payload["retention_days"] == 1.0


async def test_the_daily_retention_timer_exists_for_every_service_and_reschedules_itself(
    stack: dict[str, RunningService], clock: OffsetClock
) -> None:
    for name, service in stack.items():
        due = await service.runtime.pool.fetchval(
            "SELECT due_at FROM timers WHERE timer_id = $1", f"retention:{name}"
        )
        assert due is not None, name
    notifications = stack["notifications"].runtime
    assert notifications.timers is not None
    # make it due now, whatever the shared clock did before; firing it schedules the next run
    await notifications.pool.execute(
        "UPDATE timers SET due_at = $1 WHERE timer_id = 'retention:notifications'",
        clock.now() - timedelta(seconds=1),
    )
    await notifications.timers.fire_due()
    due = await notifications.pool.fetchval(
        "SELECT due_at FROM timers WHERE timer_id = 'retention:notifications'"
    )
    assert due > clock.now() + timedelta(hours=23)


def test_a_policy_only_deletes_rows_meeting_its_condition() -> None:
    policy = RetentionPolicy(
        "closed_cases",
        "closed cases",
        "case_views",
        "closed_at",
        timedelta(days=3 * 365),
        condition="status = 'closed'",
    )
    sql = policy.delete_sql()
    assert "DELETE FROM case_views WHERE closed_at < now() - $1::interval" in sql
    assert "AND (status = 'closed')" in sql


async def test_an_agent_opening_a_case_is_listed_for_the_supervisor(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    account = f"acct-{uuid.uuid4().hex[:8]}"
    subject = f"account:{account}"
    body = intake(account)
    body["intake"]["description"] = "FAKE: my account was suspended without a reason"
    created = await stack["checkin"].client.post(
        "/tickets", json=body, headers=auth(token("customer", sub=f"cust-{account}"))
    )
    assert created.status_code == 201
    cases = stack["cases"].client

    async def case() -> list[dict[str, Any]]:
        response = await cases.get(
            "/cases",
            params={"account_ref": account},
            headers=auth(token("customer", sub=f"cust-{account}")),
        )
        return response.json()

    [opened] = await eventually(case)  # the customer's own read: not audited
    agent = token("agent", sub="agent-audited")
    shown = await cases.get(f"/cases/{opened['case_id']}", headers=auth(agent))
    assert shown.json()["summary"] == "FAKE: my account was suspended without a reason"

    async def accesses() -> list[dict[str, Any]]:
        response = await cases.get(
            f"/privacy/subjects/{subject}/accesses", headers=auth(token("supervisor"))
        )
        assert response.status_code == 200, response.text
        return response.json()

    [access] = await eventually(accesses)
    assert access["actor_id"] == "agent-audited"
    assert access["actor_role"] == "agent"
    assert (access["service"], access["resource"]) == ("cases", "case")
    assert access["resource_id"] == opened["case_id"]
    assert access["fields"] == ["summary"]
    assert access["purpose"] == f"case:{opened['case_id']}"
    listed_by_agent = await cases.get(f"/privacy/subjects/{subject}/accesses", headers=auth(agent))
    assert listed_by_agent.status_code == 403


async def test_staff_reading_a_persons_words_in_timelines_is_listed_for_the_supervisor(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    account = f"acct-{uuid.uuid4().hex[:8]}"
    customer = f"cust-{account}"
    body = intake(account)
    body["intake"]["description"] = "FAKE: my wallet stays frozen since I came back"
    created = await stack["checkin"].client.post(
        "/tickets", json=body, headers=auth(token("customer", sub=customer))
    )
    assert created.status_code == 201
    cases = stack["cases"].client

    async def opened_case() -> dict[str, Any] | None:
        response = await cases.get(
            "/cases", params={"account_ref": account}, headers=auth(token("customer", sub=customer))
        )
        if not response.json():
            return None
        [case] = response.json()
        timeline = await cases.get(
            f"/cases/{case['case_id']}/timeline", headers=auth(token("customer", sub=customer))
        )
        assert timeline.status_code == 200  # the person's own look: not audited
        return case if timeline.json() else None

    case = await eventually(opened_case)
    specialist = token("specialist", sub="specialist-timeline")
    account_view = await cases.get(
        f"/accounts/{account}/timeline",
        params={"for_case": case["case_id"]},
        headers=auth(specialist),
    )
    assert account_view.status_code == 200, account_view.text
    assert "FAKE: my wallet stays frozen since I came back" in {
        entry["words"] for entry in account_view.json()["entries"]
    }
    case_view = await cases.get(f"/cases/{case['case_id']}/timeline", headers=auth(specialist))
    assert case_view.status_code == 200

    async def accesses() -> list[dict[str, Any]] | None:
        response = await cases.get(
            f"/privacy/subjects/account:{account}/accesses", headers=auth(token("supervisor"))
        )
        listed = response.json()
        return listed if len(listed) == 2 else None

    listed = await eventually(accesses)
    assert {(a["resource"], a["actor_id"], a["purpose"]) for a in listed} == {
        ("account_timeline", "specialist-timeline", f"case:{case['case_id']}"),
        ("case_timeline", "specialist-timeline", f"case:{case['case_id']}"),
    }
    assert all(a["fields"] == ["words"] for a in listed)
