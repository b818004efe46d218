"""Sites: configure a site, its desks, close or open a queue for the day.

A site's stream lives as long as the site (a closure and an opening per queue and day, desks
added over the years): the aggregate keeps snapshots (``domain.sites.SITE``), so loading it
costs the same on the ten-thousandth event as on the first.
"""

from __future__ import annotations

import asyncpg

from runtime.context import CommandContext
from runtime.eventstore import EventStore
from runtime.repository import Repository
from services.checkin.domain.sites import SITE, Site, SiteCommand, decide_site


def site_stream(site_id: str) -> str:
    return f"site-{site_id}"


def sites(store: EventStore) -> Repository[Site]:
    return Repository(store, SITE)


async def load_site(conn: asyncpg.Connection, store: EventStore, site_id: str) -> Site:
    return await sites(store).state(conn, site_stream(site_id))


async def change_site(
    conn: asyncpg.Connection,
    store: EventStore,
    site_id: str,
    command: SiteCommand,
    context: CommandContext,
) -> Site:
    executed = await sites(store).execute(
        conn, site_stream(site_id), lambda site: decide_site(site, command), context
    )
    return executed.state
