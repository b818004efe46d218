"""A platform suspension and a case opening of the same account at the same moment: the case
links the suspension whichever arrives first (issue 16 item 5), over Kafka and over HTTP
(``POST /platform/suspensions``, issue 16 item 10)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import asyncpg
import pytest

from contracts.events.cases import CaseSource, CaseType
from contracts.events.platform import PLATFORM_ACCOUNTS, AccountSuspended, SuspensionScope
from contracts.vocabulary import Channel, LanguagePreference, ProblemCategory
from runtime.context import CommandContext
from runtime.scheduler import OffsetClock
from runtime.settings import ServiceSettings
from services.cases.application.accounts import record_suspension
from services.cases.application.cases import NewContact, open_or_attach
from tests.conftest import auth, eventually
from tests.integration.cases.support import (
    case_of_ticket,
    case_where,
    check_in,
    new_account,
    open_case,
    publish,
    stream_types,
)
from tests.integration.conftest import RunningService

pytestmark = pytest.mark.integration


def suspension(account: str, at: datetime, scope: SuspensionScope = SuspensionScope.ACCOUNT):
    return AccountSuspended(
        suspension_id=uuid.uuid4(),
        account_ref=account,
        scope=scope,
        rule_code="SPAM-GROUP-CONTACT",
        rule_version=3,
        threshold=10,
        threshold_unit="group_chats",
        window_hours=24,
        facts={"group_chats": "14"},
        suspended_at=at,
    )


def new_contact(account: str, at: datetime) -> NewContact:
    return NewContact(
        account_ref=account,
        problem_category=ProblemCategory.ACCOUNT_SUSPENDED,
        case_type=CaseType.ACCOUNT_SUSPENSION_APPEAL,
        source=CaseSource(channel=Channel.PHONE),
        customer_id=None,
        language=LanguagePreference(tag="zh-CN"),
        at=at,
        new_case_id=uuid.uuid4(),
        contact_id=uuid.uuid4(),
    )


async def waits_on_a_lock(pool: asyncpg.Pool, pid: int) -> bool:
    return bool(
        await pool.fetchval("SELECT count(*) FROM pg_locks WHERE pid = $1 AND NOT granted", pid)
    )


async def interleaved(
    pool: asyncpg.Pool,
    first: Callable[[asyncpg.Connection], Awaitable[Any]],
    second: Callable[[asyncpg.Connection], Awaitable[Any]],
) -> None:
    """``first`` does its work in a transaction; before it commits, ``second`` runs in
    another; then ``first`` commits and ``second`` finishes. ``second`` has either finished
    without seeing ``first`` (the race that loses the link) or waits for it: both are awaited
    on state, never on time."""
    async with pool.acquire() as one, pool.acquire() as other:
        transaction = one.transaction()
        await transaction.start()
        try:
            await first(one)
            pid = other.get_server_pid()

            async def later() -> None:
                async with other.transaction():
                    await second(other)

            running = asyncio.create_task(later())
            await eventually(lambda: _done_or_waiting(running, pool, pid), within=30, interval=0.02)
        except BaseException:
            await transaction.rollback()
            raise
        await transaction.commit()
        await running


async def _done_or_waiting(task: asyncio.Task[None], pool: asyncpg.Pool, pid: int) -> bool:
    return task.done() or await waits_on_a_lock(pool, pid)


@pytest.mark.parametrize("case_first", [True, False], ids=["case-first", "suspension-first"])
async def test_a_suspension_and_a_case_opening_at_once_link_in_either_order(
    stack: dict[str, RunningService],
    token: Callable[..., str],
    clock: OffsetClock,
    case_first: bool,
) -> None:
    runtime = stack["cases"].runtime
    account = new_account()
    contact = new_contact(account, clock.now())
    suspended = suspension(account, clock.now())

    async def open_case(conn: asyncpg.Connection) -> None:
        await open_or_attach(conn, runtime.store, contact, CommandContext.new(None))

    async def suspend(conn: asyncpg.Connection) -> None:
        await record_suspension(
            conn, runtime.store, suspended, uuid.uuid4(), CommandContext.new(None)
        )

    if case_first:
        await interleaved(runtime.pool, open_case, suspend)
    else:
        await interleaved(runtime.pool, suspend, open_case)

    case_id = str(contact.new_case_id)
    assert (await stream_types(stack["cases"], case_id)).count("cases.suspension_linked") == 1
    # and the customer-facing read model, fed from Kafka, shows the rule
    agent = auth(token("agent"))
    case = await case_where(stack["cases"].client, agent, case_id, lambda c: bool(c["suspensions"]))
    assert [s["rule_code"] for s in case["suspensions"]] == ["SPAM-GROUP-CONTACT"]


@pytest.mark.parametrize("ticket_first", [True, False], ids=["ticket-first", "suspension-first"])
async def test_a_check_in_and_a_platform_suspension_on_kafka_at_once_link(
    stack: dict[str, RunningService],
    token: Callable[..., str],
    settings: ServiceSettings,
    clock: OffsetClock,
    ticket_first: bool,
) -> None:
    """The reported race end to end: the ticket (checkin → Kafka → cases.intake) and the
    suspension (platform → Kafka → cases.platform) of several accounts, sent together."""
    cases = stack["cases"].client
    agent = auth(token("agent"))
    accounts = [new_account() for _ in range(3)]

    async def both(account: str) -> dict[str, Any]:
        ticket = check_in(stack, token, account)
        suspend = publish(
            settings,
            PLATFORM_ACCOUNTS,
            suspension(account, clock.now()),
            f"account-{account}",
            producer="platform",
            at=clock.now(),
        )
        if ticket_first:
            checked_in, _ = await asyncio.gather(ticket, suspend)
        else:
            _, checked_in = await asyncio.gather(suspend, ticket)
        return checked_in  # type: ignore[no-any-return]

    tickets = await asyncio.gather(*(both(account) for account in accounts))
    for ticket in tickets:
        case = await case_of_ticket(cases, agent, ticket["ticket_id"])
        linked = await case_where(cases, agent, case["case_id"], lambda c: bool(c["suspensions"]))
        assert len(linked["suspensions"]) == 1


async def test_the_platform_reports_a_suspension_over_http_once(
    stack: dict[str, RunningService],
    token: Callable[..., str],
    settings: ServiceSettings,
    clock: OffsetClock,
) -> None:
    cases = stack["cases"].client
    platform = auth(token("service", sub="account-platform"))
    agent = auth(token("agent"))
    account = new_account()
    opened = await open_case(
        cases, agent, account, "wallet_reactivation", language="en", channel="phone"
    )
    case_id = opened["case_id"]
    suspended = suspension(account, clock.now(), SuspensionScope.WALLET)
    body = suspended.model_dump(mode="json")

    # only the platform (a service) may report one
    refused = await cases.post("/platform/suspensions", json=body, headers=agent)
    assert refused.status_code == 403
    anonymous = await cases.post("/platform/suspensions", json=body)
    assert anonymous.status_code == 401
    bad = await cases.post(
        "/platform/suspensions", json={**body, "scope": "everything"}, headers=platform
    )
    assert bad.status_code == 422
    assert "scope" in bad.text

    first = await cases.post("/platform/suspensions", json=body, headers=platform)
    assert first.status_code == 201, first.text
    assert first.json() == {
        "suspension_id": str(suspended.suspension_id),
        "account_ref": account,
        "recorded": True,
        "linked_cases": [case_id],
    }
    again = await cases.post("/platform/suspensions", json=body, headers=platform)
    assert again.status_code == 200, again.text
    assert again.json()["recorded"] is False
    # the same suspension on Kafka too: still once
    envelope = await publish(
        settings,
        PLATFORM_ACCOUNTS,
        suspended,
        f"account-{account}",
        producer="platform",
        at=clock.now(),
    )

    async def handled_from_kafka() -> bool:
        return bool(
            await stack["cases"].runtime.pool.fetchval(
                "SELECT count(*) FROM consumer_inbox"
                " WHERE consumer_group = 'cases.platform' AND event_id = $1",
                envelope.event_id,
            )
        )

    await eventually(handled_from_kafka, within=60)
    line = await eventually(
        lambda: _timeline_kinds(stack, agent, account, "suspension_recorded"), within=60
    )
    assert len(line) == 1
    case = await case_where(cases, agent, case_id, lambda c: bool(c["suspensions"]))
    assert len(case["suspensions"]) == 1
    assert (await stream_types(stack["cases"], case_id)).count("cases.suspension_linked") == 1
    account_events = await stack["cases"].runtime.pool.fetch(
        "SELECT event_type FROM events WHERE stream_id = $1", f"account-{account}"
    )
    assert [row["event_type"] for row in account_events] == ["cases.suspension_recorded"]


async def _timeline_kinds(
    stack: dict[str, RunningService], headers: dict[str, str], account: str, kind: str
) -> list[dict[str, Any]]:
    response = await stack["cases"].client.get(f"/accounts/{account}/timeline", headers=headers)
    assert response.status_code == 200, response.text
    return [e for e in response.json()["entries"] if e["kind"] == kind]
