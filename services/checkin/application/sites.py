"""Sites: configure a site, its desks, close or open a queue for the day.

A site's stream lives as long as the site (a closure and an opening per queue and day, desks
added over the years): the aggregate keeps snapshots (``domain.sites.SITE``), so loading it
costs the same on the ten-thousandth event as on the first. Every ticket reads its site, so
the process also keeps the last state of each site it read (``load_site``), and reads only
the events after it.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

import asyncpg

from runtime.context import CommandContext
from runtime.eventstore import EventStore
from runtime.organizations import verified_organization
from runtime.repository import Repository
from services.checkin.domain.sites import (
    SITE,
    ConfigureSite,
    Site,
    SiteCommand,
    SiteFacts,
    decide_site,
)


def site_stream(site_id: str) -> str:
    return f"site-{site_id}"


def sites(store: EventStore) -> Repository[Site]:
    return Repository(store, SITE)


# per event store (one per service database): stream id -> (version, position of the event at
# that version, the state after it). Only ever a cache: every read checks it against the store.
_read: WeakKeyDictionary[EventStore, dict[str, tuple[int, int, Site]]] = WeakKeyDictionary()
SITES_KEPT = 10_000

# the event the kept state ends with, then the events after it (one round trip)
_SINCE = """
SELECT position, CASE WHEN stream_version = $2 THEN NULL ELSE envelope END AS envelope
FROM events WHERE stream_id = $1 AND stream_version >= $2 ORDER BY stream_version
"""


async def load_site(conn: asyncpg.Connection, store: EventStore, site_id: str) -> Site:
    """The site's current state as this transaction sees it. A state this process read before
    is brought up to date with the events after it, when the event it ended with is still the
    one at its version (a state read inside a transaction that rolled back is not)."""
    stream = site_stream(site_id)
    kept = _read.setdefault(store, {})
    known = kept.get(stream)
    if known is not None:
        version, position, state = known
        rows = await conn.fetch(_SINCE, stream, version)
        if rows and rows[0]["position"] == position:
            if len(rows) == 1:
                return state
            history = await store.recorded(rows[1:])
            state = SITE.fold((recorded.payload for recorded in history), state)
            kept[stream] = (history[-1].envelope.stream_version, history[-1].position, state)
            return state
    loaded = await sites(store).get(conn, stream)
    if loaded.version:
        position = await conn.fetchval(
            "SELECT position FROM events WHERE stream_id = $1 AND stream_version = $2",
            stream,
            loaded.version,
        )
        if len(kept) >= SITES_KEPT:
            del kept[next(iter(kept))]  # the oldest
        kept[stream] = (loaded.version, position, loaded.state)
    return loaded.state


async def change_site(
    conn: asyncpg.Connection,
    store: EventStore,
    site_id: str,
    command: SiteCommand,
    context: CommandContext,
) -> Site:
    """The facts, gathered once: the acting organization as verification verified it, and
    for an organization creating a site, whether its id already holds the platform's tickets
    (a site issues tickets before anyone configures it)."""
    organization_id = command.organization_id
    facts = SiteFacts()
    if organization_id is not None:
        facts = SiteFacts(
            verified=await verified_organization(conn, organization_id),
            tickets_issued=isinstance(command, ConfigureSite)
            and await conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM ticket_index WHERE site_id = $1)", site_id
            ),
        )
    executed = await sites(store).execute(
        conn, site_stream(site_id), lambda site: decide_site(site, command, facts), context
    )
    return executed.state
