"""Each service's own retention policies against its real tables: only what is past its period
(by the database's clock) goes, and the job publishes what it purged (counts, never contents)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from contracts import Envelope
from contracts.topics import RETENTION_PURGES
from runtime.retention import purge
from runtime.scheduler import OffsetClock
from runtime.settings import ServiceSettings
from tests.conftest import eventually
from tests.integration.conftest import RunningService
from tests.integration.test_audit_retention import topic_envelopes

pytestmark = pytest.mark.integration

Stack = dict[str, RunningService]


async def run_policies(service: RunningService, clock: OffsetClock) -> dict[str, int]:
    """One run of the service's own policies, as the daily timer runs them."""
    runtime = service.runtime
    async with runtime.pool.acquire() as conn, conn.transaction():
        return await purge(conn, runtime, runtime.definition.retention, clock.now())


async def published(settings: ServiceSettings, service: str, policy: str) -> list[Envelope]:
    async def found() -> list[Envelope]:
        return [
            e
            for e in await topic_envelopes(settings, RETENTION_PURGES.name)
            if e.payload["service"] == service and e.payload["policy"] == policy
        ]

    return await eventually(found)


async def forget(service: RunningService, rows: dict[tuple[str, str], list[Any]]) -> None:
    """Remove what a test wrote into tables by hand: rows that no event produced would make
    the rebuild tests that run later (read model rebuilt == live) see a difference."""
    async with service.runtime.pool.acquire() as conn:
        for (table, column), ids in rows.items():
            await conn.execute(f"DELETE FROM {table} WHERE {column} = ANY($1)", ids)


async def test_cases_clears_the_words_of_cases_closed_years_ago_and_keeps_the_rest(
    stack: Stack, settings: ServiceSettings, clock: OffsetClock
) -> None:
    cases = stack["cases"].runtime
    old_closed, recent_closed, old_open = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with cases.pool.acquire() as conn:
        for case_id, status, age in (
            (old_closed, "closed", "4 years"),
            (recent_closed, "closed", "2 years"),
            (old_open, "awaiting_customer", "4 years"),
        ):
            await conn.execute(
                """INSERT INTO case_views (case_id, account_ref, case_type, problem_category,
                       status, language, opened_at, correlation_id, version, subject_id,
                       summary, updated_at)
                   VALUES ($1, 'acct-retention', 'other', 'other', $2, 'zh-CN',
                       now() - $3::text::interval - interval '1 day', $1, 1,
                       'account:acct-retention',
                       'FAKE: words', now() - $3::text::interval)""",
                case_id,
                status,
                age,
            )
            await conn.execute(
                """INSERT INTO case_contacts (contact_id, case_id, account_ref, subject_id,
                       words, at)
                   VALUES ($1, $2, 'acct-retention', 'account:acct-retention', 'FAKE: said',
                       now() - $3::text::interval)""",
                uuid.uuid4(),
                case_id,
                age,
            )
            await conn.execute(
                """INSERT INTO case_notes (note_id, case_id, account_ref, subject_id, text,
                       added_at)
                   VALUES ($1, $2, 'acct-retention', 'account:acct-retention', 'FAKE: note',
                       now() - $3::text::interval)""",
                uuid.uuid4(),
                case_id,
                age,
            )
    purged = await run_policies(stack["cases"], clock)
    assert purged["closed_case_summaries"] >= 1
    assert purged["closed_case_contact_words"] >= 1
    assert purged["closed_case_notes"] >= 1
    rows = await cases.pool.fetch(
        """SELECT v.case_id, v.summary, c.words, n.text FROM case_views v
           JOIN case_contacts c USING (case_id) JOIN case_notes n USING (case_id)
           WHERE v.case_id = ANY($1::uuid[])""",
        [old_closed, recent_closed, old_open],
    )
    left = {row["case_id"]: (row["summary"], row["words"], row["text"]) for row in rows}
    assert left[old_closed] == (None, None, None)  # the case stays; the words go
    assert left[recent_closed] == ("FAKE: words", "FAKE: said", "FAKE: note")
    assert left[old_open] == ("FAKE: words", "FAKE: said", "FAKE: note")
    again = await run_policies(stack["cases"], clock)  # nothing left to clear: no event
    assert again["closed_case_summaries"] == 0

    [event, *_] = await published(settings, "cases", "closed_case_summaries")
    assert event.payload["purged"] >= 1
    assert event.payload["retention_days"] == 3 * 365
    assert "FAKE" not in str(event.payload)
    written = [old_closed, recent_closed, old_open]
    await forget(
        stack["cases"],
        {(table, "case_id"): written for table in ("case_notes", "case_contacts", "case_views")},
    )


async def test_notifications_drops_old_delivery_records_and_contact_phones(
    stack: Stack, settings: ServiceSettings, clock: OffsetClock
) -> None:
    runtime = stack["notifications"].runtime
    old_sent, old_queued, recent_sent = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    old_ticket, recent_ticket = uuid.uuid4(), uuid.uuid4()
    old_closed, old_scheduled = uuid.uuid4(), uuid.uuid4()
    provider_id = f"prov-{uuid.uuid4().hex}"
    async with runtime.pool.acquire() as conn:
        for notification_id, status, age in (
            (old_sent, "delivered", "100 days"),
            (old_queued, "queued", "100 days"),
            (recent_sent, "delivered", "10 days"),
        ):
            await conn.execute(
                """INSERT INTO notification_log (notification_id, kind, channel, recipient_ref,
                       language, status, triggered_by, requested_at, correlation_id)
                   VALUES ($1, 'ticket_issued', 'sms', 'account:acct-retention', 'zh-CN', $2,
                       $1, now() - $3::text::interval, $1)""",
                notification_id,
                status,
                age,
            )
        await conn.execute(
            """INSERT INTO provider_messages (provider_message_id, notification_id, channel,
                   provider) VALUES ($1, $2, 'sms', 'sandbox')""",
            provider_id,
            old_sent,
        )
        for ticket_id, age in ((old_ticket, "200 days"), (recent_ticket, "1 day")):
            await conn.execute(
                """INSERT INTO ticket_reach (ticket_id, account_ref, subject_id, number, phone,
                       language, issued_at)
                   VALUES ($1, 'acct-retention', 'account:acct-retention', 'A001',
                       '+8613800000009', 'zh-CN', now() - $2::text::interval)""",
                ticket_id,
                age,
            )
            await conn.execute(
                """INSERT INTO notification_contacts (recipient_ref, subject_id, phone,
                       language)
                   VALUES ($1, 'account:acct-retention', '+8613800000009', 'zh-CN')""",
                f"ticket:{ticket_id}",
            )
        for callback_id, status in ((old_closed, "completed"), (old_scheduled, "scheduled")):
            await conn.execute(
                """INSERT INTO callback_queue (callback_id, account_ref, subject_id, queue,
                       recipient_role, recipient_ref, phone, timezone, language, status,
                       window_start, window_end, requested_at, closed_at)
                   VALUES ($1, 'acct-retention', 'account:acct-retention', 'general', 'holder',
                       'account:acct-retention', '+8613800000009', 'Asia/Shanghai', 'zh-CN',
                       $2, now() - interval '41 days', now() - interval '40 days',
                       now() - interval '41 days',
                       CASE WHEN $2 = 'scheduled' THEN NULL ELSE now() - interval '40 days' END)
                """,
                callback_id,
                status,
            )
    purged = await run_policies(stack["notifications"], clock)
    for policy in (
        "provider_message_ids",
        "delivery_records",
        "ticket_contacts",
        "ticket_reach",
        "closed_callbacks",
    ):
        assert purged[policy] >= 1, policy

    async def ids(query: str, wanted: list[Any]) -> set[Any]:
        return {row[0] for row in await runtime.pool.fetch(query, wanted)}

    assert await ids(
        "SELECT notification_id FROM notification_log WHERE notification_id = ANY($1::uuid[])",
        [old_sent, old_queued, recent_sent],
    ) == {old_queued, recent_sent}  # a message still on its way is not a record yet
    assert not await ids(
        "SELECT provider_message_id FROM provider_messages WHERE provider_message_id = ANY($1)",
        [provider_id],
    )
    assert await ids(
        "SELECT ticket_id FROM ticket_reach WHERE ticket_id = ANY($1::uuid[])",
        [old_ticket, recent_ticket],
    ) == {recent_ticket}
    assert await ids(
        "SELECT recipient_ref FROM notification_contacts WHERE recipient_ref = ANY($1)",
        [f"ticket:{old_ticket}", f"ticket:{recent_ticket}"],
    ) == {f"ticket:{recent_ticket}"}
    assert await ids(
        "SELECT callback_id FROM callback_queue WHERE callback_id = ANY($1::uuid[])",
        [old_closed, old_scheduled],
    ) == {old_scheduled}  # a promise still to keep stays, however old

    [event, *_] = await published(settings, "notifications", "delivery_records")
    assert event.payload["retention_days"] == 90
    await forget(
        stack["notifications"],
        {
            ("notification_log", "notification_id"): [old_sent, old_queued, recent_sent],
            ("provider_messages", "provider_message_id"): [provider_id],
            ("ticket_reach", "ticket_id"): [old_ticket, recent_ticket],
            ("notification_contacts", "recipient_ref"): [
                f"ticket:{old_ticket}",
                f"ticket:{recent_ticket}",
            ],
            ("callback_queue", "callback_id"): [old_closed, old_scheduled],
        },
    )


async def test_checkin_forgets_who_an_ended_ticket_was_for(
    stack: Stack, settings: ServiceSettings, clock: OffsetClock
) -> None:
    runtime = stack["checkin"].runtime
    old_done, old_waiting, recent_done = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with runtime.pool.acquire() as conn:
        for ticket_id, status, age in (
            (old_done, "completed", "100 days"),
            (old_waiting, "waiting", "100 days"),
            (recent_done, "left", "5 days"),
        ):
            await conn.execute(
                """INSERT INTO ticket_index (ticket_id, site_id, queue, number, status, channel,
                       problem_category, language, accessibility, escalated, arrival_at,
                       account_ref, ended_at)
                   VALUES ($1, 'retention-site', 'general', 'G001', $2, 'walk_in', 'other',
                       'zh-CN', false, false, now() - $3::text::interval, 'acct-retention',
                       CASE WHEN $2 = 'waiting' THEN NULL ELSE now() - $3::text::interval END)""",
                ticket_id,
                status,
                age,
            )
    purged = await run_policies(stack["checkin"], clock)
    assert purged["ended_tickets"] >= 1
    left = await runtime.pool.fetch(
        "SELECT ticket_id FROM ticket_index WHERE ticket_id = ANY($1::uuid[])",
        [old_done, old_waiting, recent_done],
    )
    assert {row["ticket_id"] for row in left} == {old_waiting, recent_done}
    [event, *_] = await published(settings, "checkin", "ended_tickets")
    assert event.payload["retention_days"] == 90
    await forget(
        stack["checkin"], {("ticket_index", "ticket_id"): [old_done, old_waiting, recent_done]}
    )


async def test_verification_drops_replay_ids_stale_secrets_and_old_decided_reviews(
    stack: Stack, settings: ServiceSettings, clock: OffsetClock
) -> None:
    runtime = stack["verification"].runtime
    old_delivery, recent_delivery = f"d-{uuid.uuid4().hex}", f"d-{uuid.uuid4().hex}"
    stale_code, decided, still_open = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with runtime.pool.acquire() as conn:
        for delivery_id, age in ((old_delivery, "40 days"), (recent_delivery, "1 day")):
            await conn.execute(
                """INSERT INTO provider_deliveries (delivery_id, provider, received_at, outcome)
                   VALUES ($1, 'sandbox', now() - $2::text::interval, 'applied')""",
                delivery_id,
                age,
            )
        await conn.execute(
            """INSERT INTO code_deliveries (delivery_id, verification_id, account_ref, channel,
                   language, requested_at, claim_before)
               VALUES ($1, $1, 'acct-retention', 'sms', 'zh-CN', now() - interval '8 days',
                   now() - interval '8 days')""",
            stale_code,
        )
        for verification_id, status in ((decided, "approved"), (still_open, "open")):
            await conn.execute(
                """INSERT INTO review_queue (verification_id, check_name, account_ref, purpose,
                       reason, required_approvals, status, requested_at, decided_at)
                   VALUES ($1, 'knowledge_challenge', 'acct-retention', 'account_recovery',
                       'FAKE: reason', 1, $2, now() - interval '400 days',
                       CASE WHEN $2 = 'open' THEN NULL ELSE now() - interval '399 days' END)""",
                verification_id,
                status,
            )
    purged = await run_policies(stack["verification"], clock)
    assert purged["provider_deliveries"] >= 1
    assert purged["stale_code_deliveries"] >= 1
    assert purged["decided_reviews"] >= 1
    deliveries = await runtime.pool.fetch(
        "SELECT delivery_id FROM provider_deliveries WHERE delivery_id = ANY($1)",
        [old_delivery, recent_delivery],
    )
    assert [row["delivery_id"] for row in deliveries] == [recent_delivery]
    assert not await runtime.pool.fetchval(
        "SELECT count(*) FROM code_deliveries WHERE delivery_id = $1", stale_code
    )
    reviews = await runtime.pool.fetch(
        "SELECT verification_id FROM review_queue WHERE verification_id = ANY($1::uuid[])",
        [decided, still_open],
    )
    assert [row["verification_id"] for row in reviews] == [still_open]
    [event, *_] = await published(settings, "verification", "decided_reviews")
    assert event.payload["purged"] >= 1
    await forget(
        stack["verification"],
        {
            ("provider_deliveries", "delivery_id"): [old_delivery, recent_delivery],
            ("code_deliveries", "delivery_id"): [stale_code],
            ("review_queue", "verification_id"): [decided, still_open],
        },
    )
