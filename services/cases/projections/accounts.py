"""What cases knows of accounts (``account_suspensions``, ``customer_tags``): the platform's
suspensions recorded on an account and the tags on its customer; each event also records its
entry in the account timeline."""

from __future__ import annotations

from typing import Any

import asyncpg

from contracts import EventPayload
from contracts.events.cases_accounts import CustomerTagged, CustomerUntagged, SuspensionRecorded
from runtime.consumer import EventHandler, ReceivedEvent
from services.cases.projections.account_timeline import as_json as _json
from services.cases.projections.account_timeline import record

TABLES = ("account_suspensions", "customer_tags")


async def on_suspension_recorded(
    conn: asyncpg.Connection, event: ReceivedEvent[SuspensionRecorded]
) -> None:
    recorded = event.payload
    rule = recorded.suspension
    await conn.execute(
        """INSERT INTO account_suspensions (suspension_id, account_ref, scope, rule, suspended_at)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT (suspension_id) DO NOTHING""",
        rule.suspension_id,
        recorded.account_ref,
        recorded.scope.value,
        _json(rule),
        rule.suspended_at,
    )
    await record(
        conn,
        event,
        recorded.account_ref,
        None,
        rule.suspended_at,
        {
            "suspension_id": str(rule.suspension_id),
            "scope": recorded.scope.value,
            "rule_code": rule.rule_code,
            "rule_version": rule.rule_version,
            "threshold": rule.threshold,
            "facts": rule.facts,
        },
    )


async def on_customer_tagged(
    conn: asyncpg.Connection, event: ReceivedEvent[CustomerTagged]
) -> None:
    tagged = event.payload
    await conn.execute(
        """INSERT INTO customer_tags (account_ref, tag, campaign_id, case_id, tagged_at)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (account_ref, tag) DO UPDATE SET campaign_id = EXCLUDED.campaign_id,
               case_id = EXCLUDED.case_id, tagged_at = EXCLUDED.tagged_at""",
        tagged.account_ref,
        tagged.tag,
        tagged.campaign_id,
        tagged.case_id,
        tagged.tagged_at,
    )
    await record(
        conn,
        event,
        tagged.account_ref,
        tagged.case_id,
        tagged.tagged_at,
        {"tag": tagged.tag, "campaign_id": tagged.campaign_id},
    )


async def on_customer_untagged(
    conn: asyncpg.Connection, event: ReceivedEvent[CustomerUntagged]
) -> None:
    untagged = event.payload
    await conn.execute(
        "DELETE FROM customer_tags WHERE account_ref = $1 AND tag = $2",
        untagged.account_ref,
        untagged.tag,
    )
    await record(
        conn, event, untagged.account_ref, None, untagged.untagged_at, {"tag": untagged.tag}
    )


handlers: dict[type[EventPayload], EventHandler] = {
    SuspensionRecorded: on_suspension_recorded,
    CustomerTagged: on_customer_tagged,
    CustomerUntagged: on_customer_untagged,
}


# -- reads ------------------------------------------------------------------------------------


async def tags_of(
    conn: asyncpg.Connection | asyncpg.Pool, account_ref: str
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT account_ref, tag, campaign_id, case_id, tagged_at FROM customer_tags "
        "WHERE account_ref = $1 ORDER BY tag",
        account_ref,
    )
    return [dict(row) for row in rows]


async def accounts_with_tag(
    conn: asyncpg.Connection | asyncpg.Pool, tag: str, limit: int
) -> list[str]:
    rows = await conn.fetch(
        "SELECT account_ref FROM customer_tags WHERE tag = $1 ORDER BY account_ref LIMIT $2",
        tag,
        limit,
    )
    return [row["account_ref"] for row in rows]
