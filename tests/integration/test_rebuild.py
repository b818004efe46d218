"""Read models are a function of the stream: drop them, replay Kafka, get the same state.

Also: an event stored in an old schema version (v1) stays readable — by the event store when
it folds an aggregate and by every consumer — through the upcaster."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from contracts.topics import CHECKIN_TICKETS
from runtime.retention import purge
from runtime.settings import ServiceSettings
from services.notifications.retention import FINAL_MESSAGE
from tests.conftest import ROOT, auth, eventually
from tests.integration.conftest import RunningService
from tests.integration.kafka_tools import standing_still
from tests.integration.test_http import intake

pytestmark = pytest.mark.integration

CATEGORIES = [
    "account_suspended",
    "account_recovery_lost_phone",
    "wallet_reactivation",
    "third_party_report_dispute",
    "minor_spending_refund",
    "other",
]


async def cli(env: dict[str, str], *args: str) -> Any:
    """Run the operator CLI in a thread: the in-process consumers must keep running (a rebuild
    waits for them to release the group's lock)."""
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "runtime.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


async def insert_v1_ticket(
    checkin: RunningService, ticket_id: uuid.UUID, issued_at: datetime | None = None
) -> None:
    """Store a ticket_issued event exactly as a v1 producer wrote it, issued now (the sample's
    2024 date would put its read-model rows past their retention: see the last test)."""
    sample = json.loads((ROOT / "contracts/samples/checkin.ticket_issued.v1.json").read_text())
    now = datetime.now(UTC)
    sample.update(
        ticket_id=str(ticket_id),
        customer_id="cust-v1",
        number="G900",
        issued_at=(issued_at or now).isoformat(),
    )
    envelope = {
        "envelope_version": 1,
        "event_id": str(uuid.uuid4()),
        "event_type": "checkin.ticket_issued",
        "schema_version": 1,
        "occurred_at": now.isoformat(),
        "stream_type": "ticket",
        "stream_id": f"ticket-{ticket_id}",
        "stream_version": 1,
        "correlation_id": str(uuid.uuid4()),
        "causation_id": None,
        "producer": "checkin",
        "actor": None,
        "trace": None,
        "payload": sample,
    }
    async with checkin.runtime.pool.acquire() as conn, conn.transaction():
        position = await conn.fetchval(
            """INSERT INTO events (event_id, stream_type, stream_id, stream_version, event_type,
                   schema_version, occurred_at, envelope)
               VALUES ($1, 'ticket', $2, 1, 'checkin.ticket_issued', 1, $3, $4)
               RETURNING position""",
            uuid.UUID(envelope["event_id"]),
            envelope["stream_id"],
            now,
            envelope,
        )
        await conn.execute(
            "INSERT INTO outbox (position, topic) VALUES ($1, $2)", position, CHECKIN_TICKETS.name
        )
        await conn.execute("NOTIFY frontdesk_outbox")


async def test_old_event_versions_are_read_through_the_upcaster(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    ticket_id = uuid.uuid4()
    await insert_v1_ticket(stack["checkin"], ticket_id)
    staff = auth(token("agent"))
    ticket = await stack["checkin"].client.get(f"/tickets/{ticket_id}", headers=staff)
    assert ticket.status_code == 200, ticket.text
    assert ticket.json()["number"] == "G900"

    async def case_opened() -> Any:
        found = await stack["cases"].client.get(f"/cases?ticket_id={ticket_id}", headers=staff)
        return found.json()

    [case] = await eventually(case_opened)
    assert case["language"] == "zh-CN"


async def test_rebuild_from_kafka_gives_the_same_read_models(
    stack: dict[str, RunningService],
    token: Callable[..., str],
    settings: ServiceSettings,
    env_for_processes: dict[str, str],
) -> None:
    checkin = stack["checkin"].client
    agent = auth(token("agent"))
    tickets = []
    for n in range(18):
        body = intake(f"acct-r{n}")
        body["intake"]["problem_category"] = CATEGORIES[n % len(CATEGORIES)]
        if n % 3 == 0:
            body["intake"].pop("contact_phone")
        created = await checkin.post("/tickets", json=body, headers=agent)
        assert created.status_code == 201
        tickets.append(created.json()["ticket_id"])
    await asyncio.gather(
        *(
            checkin.post(f"/tickets/{t}/call", json={"desk_id": "d1"}, headers=agent)
            for t in tickets[::4]
        )
    )
    await asyncio.gather(
        *(checkin.post(f"/tickets/{t}/leave", json={}, headers=agent) for t in tickets[1::5])
    )
    async with standing_still(stack):  # nothing in flight, no timer fires meanwhile
        for service in ("checkin", "cases", "verification", "notifications"):
            before = await cli(env_for_processes, "digest", service)
            assert before
            # not a comparison of empty tables: the flow above filled some of each service's
            assert any(not value.startswith("0:") for value in before.values()), before
            reports = await cli(env_for_processes, "rebuild", service)
            assert reports, f"{service} has no rebuildable read model"
            assert any(report["applied"] > 0 for report in reports), reports
            after = await cli(env_for_processes, "digest", service)
            assert after == before, f"{service}: rebuilt read models differ"
        # batches of 7: a case's events in several batches, its file remembered across them
        # (runtime/consumer.py's ``_Remembered``) instead of read back
        before = await cli(env_for_processes, "digest", "cases")
        await cli(env_for_processes, "rebuild", "cases", "--commit-every", "7")
        assert await cli(env_for_processes, "digest", "cases") == before


async def test_a_rebuild_does_not_bring_back_what_retention_removed(
    stack: dict[str, RunningService], env_for_processes: dict[str, str]
) -> None:
    """The events are kept for good, so a replay makes again the rows the daily retention job
    had removed (a visitor's phone, a delivery record): the rebuild applies the rebuilt
    tables' retention policies again before it reports."""
    ticket_id = uuid.uuid4()
    await insert_v1_ticket(stack["checkin"], ticket_id, issued_at=datetime(2024, 11, 2, tzinfo=UTC))
    notifications = stack["notifications"].runtime
    recipient = f"ticket:{ticket_id}"

    async def kept() -> tuple[int, int]:
        contacts = await notifications.pool.fetchval(
            "SELECT count(*) FROM notification_contacts WHERE recipient_ref = $1", recipient
        )
        delivered = await notifications.pool.fetchval(
            f"SELECT count(*) FROM notification_log WHERE recipient_ref = $1 AND {FINAL_MESSAGE}",
            recipient,
        )
        return contacts, delivered

    assert await eventually(lambda: _both(kept)) == (1, 1)  # the phone, the message's record
    async with notifications.pool.acquire() as conn, conn.transaction():
        await purge(
            conn, notifications, notifications.retention_policies, notifications.clock.now()
        )
    assert await kept() == (0, 0)  # the daily job removed both (the ticket is two years old)

    [report] = await cli(
        env_for_processes, "rebuild", "notifications", "--group", "notifications.projections"
    )
    assert await kept() == (0, 0)
    assert report["purged"]["ticket_contacts"] >= 1
    assert report["purged"]["delivery_records"] >= 1


async def _both(kept: Callable[[], Any]) -> tuple[int, int] | None:
    counts: tuple[int, int] = await kept()
    return counts if all(counts) else None
