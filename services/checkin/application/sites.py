"""Sites: configure a site, its desks, close or open a queue for the day.

A site's stream lives as long as the site (a closure and an opening per queue and day, desks
added over the years): the aggregate keeps snapshots (``domain.sites.SITE``), so loading it
costs the same on the ten-thousandth event as on the first. Every ticket reads its site, so
the process also keeps the last state of each site it read (``load_site``), and reads only
the events after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from weakref import WeakKeyDictionary

import asyncpg

from runtime.context import CommandContext
from runtime.errors import ConcurrencyConflict
from runtime.eventstore import EventStore
from runtime.organizations import verified_organization
from runtime.repository import Repository
from services.checkin.application.estimates import QUEUE_FACTS
from services.checkin.application.ticket_index import NEXT_NUMBER, next_sequence
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
# that version, the state after it); version 0 (no position): a site with no events yet, as
# every site is until someone configures it. Only ever a cache: every read checks it against
# the store.
_read: WeakKeyDictionary[EventStore, dict[str, tuple[int, int | None, Site]]] = WeakKeyDictionary()
SITES_KEPT = 10_000

# the event the kept state ends with, then the events after it (one round trip)
_SINCE = """
SELECT position, CASE WHEN stream_version = $2 THEN NULL ELSE envelope END AS envelope
FROM events WHERE stream_id = $1 AND stream_version >= $2 ORDER BY stream_version
"""

# the same, and the queue's next number for the day the kept state says (one round trip);
# a row with no position when the stream has no event at or after the kept version
_SINCE_NUMBERED = f"""
WITH numbered AS ({NEXT_NUMBER.format(site="$3", queue="$4", day="$5")})
SELECT numbered.last_number, since.position, since.envelope
FROM numbered LEFT JOIN (
    SELECT stream_version, position,
           CASE WHEN stream_version = $2 THEN NULL ELSE envelope END AS envelope
    FROM events WHERE stream_id = $1 AND stream_version >= $2
) AS since ON true
ORDER BY since.stream_version
"""

# the same, and a queue's estimate facts read once the number's row is locked (the function
# runs with a snapshot of its own, after the number it takes as its last argument: it sees
# every ticket issued before this one; migrations/0009)
_SINCE_NUMBERED_WITH_FACTS = f"""
WITH numbered AS ({NEXT_NUMBER.format(site="$3", queue="$4", day="$5")})
SELECT numbered.last_number, facts.*, since.position, since.envelope
FROM numbered
CROSS JOIN checkin_queue_facts($6, $7, $8, $9, $10, $11, $12, numbered.last_number) AS facts
LEFT JOIN (
    SELECT stream_version, position,
           CASE WHEN stream_version = $2 THEN NULL ELSE envelope END AS envelope
    FROM events WHERE stream_id = $1 AND stream_version >= $2
) AS since ON true
ORDER BY since.stream_version
"""


async def load_site(conn: asyncpg.Connection, store: EventStore, site_id: str) -> Site:
    """The site's current state as this transaction sees it. A state this process read before
    is brought up to date with the events after it, when the event it ended with is still the
    one at its version (a state read inside a transaction that rolled back is not)."""
    stream = site_stream(site_id)
    known = _read.setdefault(store, {}).get(stream)
    if known is not None:
        rows = await conn.fetch(_SINCE, stream, known[0])
        state = await _brought_up_to_date(store, stream, known, rows)
        if state is not None:
            return state
    return await _loaded(conn, store, stream)


async def load_site_and_number(
    conn: asyncpg.Connection,
    store: EventStore,
    site_id: str,
    queue: str,
    now: datetime,
    facts: Sequence[object] | None = None,
) -> tuple[Site, int, asyncpg.Record | None]:
    """The site as ``load_site`` reads it, the next number of ``queue`` on the site's local
    day at ``now`` (``ticket_index.next_sequence``), and with ``facts`` (the first arguments of
    ``checkin_queue_facts``, ``estimates.facts_arguments``) the queue's estimate facts read
    after the number: one round trip when this process kept the site, two or three otherwise.
    The number's row stays locked until the transaction ends.

    The number is taken for the day the kept state says; when the events after it change
    that day (a new time zone), the transaction is a ``ConcurrencyConflict`` (rolled back, so
    no number is lost, and run again on the state now kept). The site is read from the
    statement's snapshot, taken before it waits for the number's row: as recent as a read in
    a statement of its own before the number; the facts with a snapshot taken after it."""
    stream = site_stream(site_id)
    known = _read.setdefault(store, {}).get(stream)
    if known is None:
        site = await _loaded(conn, store, stream)
        taken = await next_sequence(conn, site_id, queue, site.local_day(now))
        read = None if facts is None else await conn.fetchrow(QUEUE_FACTS, *facts)
        return site, taken, read
    day = known[2].local_day(now)
    if facts is None:
        rows = await conn.fetch(_SINCE_NUMBERED, stream, known[0], site_id, queue, day)
    else:
        rows = await conn.fetch(
            _SINCE_NUMBERED_WITH_FACTS, stream, known[0], site_id, queue, day, *facts
        )
    number: int = rows[0]["last_number"]
    events = [row for row in rows if row["position"] is not None]
    # None: the kept state was not the store's, read it again
    site = await _brought_up_to_date(store, stream, known, events) or await _loaded(
        conn, store, stream
    )
    if site.local_day(now) != day:
        raise ConcurrencyConflict(f"{stream} changed its day while a number was taken")
    return site, number, None if facts is None else rows[0]


async def _brought_up_to_date(
    store: EventStore,
    stream: str,
    known: tuple[int, int | None, Site],
    rows: Sequence[asyncpg.Record],
) -> Site | None:
    """The kept state with the events of ``rows`` (``_SINCE``) folded in; None when the kept
    state is not the store's (the event it ended with is gone: it was read inside a
    transaction that rolled back)."""
    version, position, state = known
    if version:
        if not rows or rows[0]["position"] != position:
            return None
        rows = rows[1:]
    if not rows:
        return state
    history = await store.recorded(rows)
    state = SITE.fold((recorded.payload for recorded in history), state)
    _read[store][stream] = (history[-1].envelope.stream_version, history[-1].position, state)
    return state


async def _loaded(conn: asyncpg.Connection, store: EventStore, stream: str) -> Site:
    """The site read from its snapshot and events, and kept."""
    kept = _read.setdefault(store, {})
    loaded = await sites(store).get(conn, stream)
    position = None
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
