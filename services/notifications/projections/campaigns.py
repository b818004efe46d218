"""Read model ``campaigns``: the campaigns, whose contact centre runs each (``organization_id``;
null: the platform's) and their progress (the list; one campaign is read from its stream)."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from contracts.events.notifications_campaigns import (
    CampaignCancelled,
    CampaignCompleted,
    CampaignProgressed,
    CampaignStarted,
)
from runtime.consumer import EventHandler, ReceivedEvent

TABLES = ("campaigns",)


async def project_campaign_started(
    conn: asyncpg.Connection, event: ReceivedEvent[CampaignStarted]
) -> None:
    started = event.payload
    await conn.execute(
        """INSERT INTO campaigns (campaign_id, name, tag, channel, status, rate_per_minute,
               members, targeted, skipped_consent, skipped_excluded, started_by, started_at,
               organization_id)
           VALUES ($1, $2, $3, $4, 'running', $5, $6, $7, $8, $9, $10, $11, $12)
           ON CONFLICT (campaign_id) DO NOTHING""",
        started.campaign_id,
        started.name,
        started.tag,
        started.channel.value,
        started.rate_per_minute,
        started.members,
        started.targeted,
        started.skipped_consent,
        started.skipped_excluded,
        started.started_by,
        started.started_at,
        started.organization_id,
    )


async def project_campaign_progressed(
    conn: asyncpg.Connection, event: ReceivedEvent[CampaignProgressed]
) -> None:
    progressed = event.payload
    await conn.execute(
        """UPDATE campaigns SET processed = $2, requested = requested + $3,
               skipped_consent = skipped_consent + $4, skipped_excluded = skipped_excluded + $5,
               skipped_untagged = skipped_untagged + $6, skipped_hours = skipped_hours + $7
           WHERE campaign_id = $1 AND processed < $2""",
        progressed.campaign_id,
        progressed.processed,
        len(progressed.requested),
        len(progressed.skipped_consent),
        len(progressed.skipped_excluded),
        len(progressed.skipped_untagged),
        len(progressed.skipped_hours),
    )


async def project_campaign_ended(
    conn: asyncpg.Connection, event: ReceivedEvent[CampaignCompleted | CampaignCancelled]
) -> None:
    ended = event.payload
    status, at = (
        ("completed", ended.completed_at)
        if isinstance(ended, CampaignCompleted)
        else ("cancelled", ended.cancelled_at)
    )
    await conn.execute(
        "UPDATE campaigns SET status = $2, finished_at = $3 WHERE campaign_id = $1",
        ended.campaign_id,
        status,
        at,
    )


handlers: dict[type, EventHandler] = {
    CampaignStarted: project_campaign_started,
    CampaignProgressed: project_campaign_progressed,
    CampaignCompleted: project_campaign_ended,
    CampaignCancelled: project_campaign_ended,
}


async def campaigns_list(
    conn: asyncpg.Connection,
    organization_id: UUID | None,
    status: str | None,
    tag: str | None,
    limit: int,
) -> list[asyncpg.Record]:
    """The campaigns of one contact centre (an organization's; None: the platform's own),
    newest first, with their messages' counts (``notification_log``)."""
    return await conn.fetch(  # type: ignore[no-any-return]
        """SELECT c.*, coalesce(m.sent, 0) AS sent, coalesce(m.delivered, 0) AS delivered,
                  coalesce(m.failed, 0) AS failed, coalesce(m.waiting, 0) AS waiting,
                  coalesce(m.withdrawn, 0) AS withdrawn
           FROM campaigns c
           LEFT JOIN LATERAL (
               SELECT count(*) FILTER (WHERE sent_at IS NOT NULL) AS sent,
                      count(*) FILTER (WHERE status = 'delivered') AS delivered,
                      count(*) FILTER (WHERE status = 'failed') AS failed,
                      count(*) FILTER (WHERE status = 'queued') AS waiting,
                      count(*) FILTER (WHERE status = 'withdrawn') AS withdrawn
               FROM notification_log n WHERE n.campaign_id = c.campaign_id
           ) m ON true
           WHERE ($1::text IS NULL OR c.status = $1) AND ($2::text IS NULL OR c.tag = $2)
             AND c.organization_id IS NOT DISTINCT FROM $4
           ORDER BY c.started_at DESC, c.campaign_id LIMIT $3""",
        status,
        tag,
        limit,
        organization_id,
    )
