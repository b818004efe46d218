"""The ``sites`` read model: name, time zone, queue settings, desks and the queues closed per
day (the board and the dashboard read a site's time zone and settings from it), and whose
contact centre the site is (the list of a centre's sites)."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import asyncpg

from contracts.events.checkin_sites import DeskAdded, QueueClosed, QueueOpened, SiteConfigured
from runtime.consumer import EventHandler, ReceivedEvent

TABLES = ("sites",)


async def on_site(conn: asyncpg.Connection, event: ReceivedEvent[SiteConfigured]) -> None:
    e = event.payload
    queues = {s.queue.value: s.model_dump(mode="json") for s in e.queues}
    await conn.execute(
        """INSERT INTO sites (site_id, name, timezone, queues, organization_id)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (site_id) DO UPDATE SET name = EXCLUDED.name,
               timezone = EXCLUDED.timezone, queues = EXCLUDED.queues""",
        e.site_id,
        e.name,
        e.timezone,
        queues,
        e.organization_id,  # the first configuration's: a site's organization never changes
    )


async def on_desk(conn: asyncpg.Connection, event: ReceivedEvent[DeskAdded]) -> None:
    e = event.payload
    desk = {"kind": e.kind.value, "location": e.location}
    await conn.execute(
        "UPDATE sites SET desks = desks || jsonb_build_object($2::text, $3::jsonb) "
        "WHERE site_id = $1",
        e.site_id,
        e.desk_id,
        json.dumps(desk),
    )


async def on_closed(conn: asyncpg.Connection, event: ReceivedEvent[QueueClosed]) -> None:
    e = event.payload
    await conn.execute(
        """UPDATE sites SET closed = (
               SELECT coalesce(jsonb_agg(DISTINCT x ORDER BY x), '[]'::jsonb)
               FROM jsonb_array_elements_text(closed || to_jsonb($2::text)) AS x)
           WHERE site_id = $1""",
        e.site_id,
        f"{e.queue.value}@{e.service_day.isoformat()}",
    )


async def on_opened(conn: asyncpg.Connection, event: ReceivedEvent[QueueOpened]) -> None:
    e = event.payload
    await conn.execute(
        "UPDATE sites SET closed = closed - $2::text WHERE site_id = $1",
        e.site_id,
        f"{e.queue.value}@{e.service_day.isoformat()}",
    )


async def centre_sites(
    conn: asyncpg.Connection, organization_id: UUID | None, every_centre: bool = False
) -> list[asyncpg.Record]:
    """The sites of one contact centre (an organization's, or the platform's: None), by id;
    ``every_centre``: all of them (a service)."""
    return await conn.fetch(  # type: ignore[no-any-return]
        """SELECT site_id, name, timezone, queues, organization_id FROM sites
           WHERE $2 OR organization_id IS NOT DISTINCT FROM $1 ORDER BY site_id LIMIT 1000""",
        organization_id,
        every_centre,
    )


handlers: dict[type[Any], EventHandler] = {
    SiteConfigured: on_site,
    DeskAdded: on_desk,
    QueueClosed: on_closed,
    QueueOpened: on_opened,
}
