"""What cases knows of accounts (``account_suspensions``, ``customer_tags``): the platform's
suspensions recorded on an account and the tags on its customer, each tag with its owner (the
platform's service centre, or an organization's contact centre). Each suspension and each of
the platform's tags also records its entry in the account timeline; an organization's tags do
not (the timeline is the platform's, and the platform does not see organizations' resources)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

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
        """INSERT INTO customer_tags
               (account_ref, tag, organization_id, campaign_id, case_id, tagged_at)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (account_ref, tag, organization_id) DO UPDATE
           SET campaign_id = EXCLUDED.campaign_id, case_id = EXCLUDED.case_id,
               tagged_at = EXCLUDED.tagged_at""",
        tagged.account_ref,
        tagged.tag,
        tagged.organization_id,
        tagged.campaign_id,
        tagged.case_id,
        tagged.tagged_at,
    )
    if tagged.organization_id is not None:
        return
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
        """DELETE FROM customer_tags WHERE account_ref = $1 AND tag = $2
           AND organization_id IS NOT DISTINCT FROM $3::uuid""",
        untagged.account_ref,
        untagged.tag,
        untagged.organization_id,
    )
    if untagged.organization_id is not None:
        return
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
    conn: asyncpg.Connection | asyncpg.Pool, account_ref: str, organization_id: UUID | None
) -> list[dict[str, Any]]:
    """The tags one owner put on the account's customer (never another owner's)."""
    rows = await conn.fetch(
        """SELECT account_ref, tag, organization_id, campaign_id, case_id, tagged_at
           FROM customer_tags
           WHERE account_ref = $1 AND organization_id IS NOT DISTINCT FROM $2::uuid
           ORDER BY tag""",
        account_ref,
        organization_id,
    )
    return [dict(row) for row in rows]


async def accounts_with_tag(
    conn: asyncpg.Connection | asyncpg.Pool, tag: str, organization_id: UUID | None, limit: int
) -> list[str]:
    """The accounts carrying one owner's tag."""
    rows = await conn.fetch(
        """SELECT account_ref FROM customer_tags
           WHERE tag = $1 AND organization_id IS NOT DISTINCT FROM $2::uuid
           ORDER BY account_ref LIMIT $3""",
        tag,
        organization_id,
        limit,
    )
    return [row["account_ref"] for row in rows]


async def every_tag_of(conn: asyncpg.Connection, account_ref: str) -> list[dict[str, Any]]:
    """Every owner's tags on the account's customer, with the owning organization's name (for
    the person's own copy of their data: who tagged them, for whose campaigns)."""
    rows = await conn.fetch(
        """SELECT t.tag, t.organization_id, o.legal_name AS organization, t.campaign_id,
                  t.case_id, t.tagged_at
           FROM customer_tags t
           LEFT JOIN verified_organizations o USING (organization_id)
           WHERE t.account_ref = $1
           ORDER BY t.organization_id NULLS FIRST, t.tag""",
        account_ref,
    )
    return [dict(row) for row in rows]
