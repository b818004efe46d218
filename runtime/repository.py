"""The one command path: load an aggregate, decide, append its events and outbox rows.

Every command of every service, whether it comes from a route, a consumer's reaction or a
timer, goes through ``Repository.execute`` inside the caller's transaction::

    executed = await TICKETS.execute(conn, ticket_stream(ticket_id),
                                     lambda ticket: decide(ticket, facts, command), context)

``decide`` is the domain's pure function: it sees the current state (and whatever facts the
application gathered before) and returns the new events, or raises ``RuleViolation``. A
decision with no events appends nothing (a repeated request, a timer whose moment passed).
After an append the repository runs the aggregate's ``after_append`` hooks in the same
transaction — the command-side indexes and durable timers that follow the aggregate's state —
so they are never behind what was decided. A write that needs nothing but the state before
and after (an index row) can instead go in the append's own statement (``with_append``: one
round trip fewer per command). Then the service's inline projections (``runtime/inline.py``)
apply the new events to their read models, still in the same transaction, where they can.

Aggregates with a ``Snapshots`` policy (``runtime/aggregate.py``) load from their latest
snapshot plus the events after it; the snapshot is written in the same transaction as the
append that crosses the policy's interval. Stale or unreadable snapshots are ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import asyncpg

from contracts import Envelope, EventPayload
from runtime import positions
from runtime.aggregate import AggregateType
from runtime.context import CommandContext
from runtime.eventstore import FOLD_COLUMNS, Alongside, EventStore
from runtime.telemetry import log_fields

log = logging.getLogger(__name__)

S = TypeVar("S")


@dataclass(frozen=True)
class Loaded(Generic[S]):
    """An aggregate's state and the version of its stream it reflects (0: no events yet)."""

    state: S
    version: int


@dataclass(frozen=True)
class Executed(Generic[S]):
    """What a command did: the state before and after, the new events and their envelopes."""

    stream_id: str
    before: S
    state: S
    version: int  # the stream's version after the command
    events: list[EventPayload]
    envelopes: list[Envelope]

    @property
    def changed(self) -> bool:
        return bool(self.events)


# an aggregate's events, as a fold reads them
_LOAD = f"""
SELECT {FOLD_COLUMNS}, NULL::text AS state FROM events WHERE stream_id = $1
ORDER BY stream_version
"""

# the snapshot (first, its state not NULL) and the events after it, in one round trip
_LOAD_WITH_SNAPSHOT = f"""
WITH snapshot AS (
    SELECT stream_version, state FROM snapshots
    WHERE stream_id = $1 AND aggregate = $2 AND fold_version = $3
)
SELECT stream_version, NULL::text AS event_type, NULL::int AS schema_version,
       NULL::jsonb AS payload, NULL::text AS sealed, state::text FROM snapshot
UNION ALL
SELECT {FOLD_COLUMNS}, NULL::text FROM events
WHERE stream_id = $1 AND stream_version > coalesce((SELECT stream_version FROM snapshot), 0)
ORDER BY stream_version
"""

AfterAppend = Callable[[asyncpg.Connection, "Executed[S]", CommandContext], Awaitable[None]]
# a write that follows the state (before, after) in the append's own statement, or None
WithAppend = Callable[[S, S], Alongside | None]
Decide = Callable[[S], Sequence[EventPayload]]


class Repository(Generic[S]):
    """Loads and changes the aggregates of one type in one service's event store."""

    def __init__(
        self,
        store: EventStore,
        aggregate: AggregateType[S],
        *,
        after_append: Sequence[AfterAppend[S]] = (),
        with_append: Sequence[WithAppend[S]] = (),
    ) -> None:
        self.store = store
        self.aggregate = aggregate
        self.after_append = tuple(after_append)
        self.with_append = tuple(with_append)

    async def get(self, conn: asyncpg.Connection, stream_id: str) -> Loaded[S]:
        """The aggregate's current state (from its snapshot, if any, and the events after)."""
        loaded, _ = await self._load(conn, stream_id)
        return loaded

    async def _load(self, conn: asyncpg.Connection, stream_id: str) -> tuple[Loaded[S], int]:
        """The state, and the version of the snapshot it started from (0: none). One round
        trip: the snapshot (if the aggregate keeps them) and the events after it."""
        policy = self.aggregate.snapshots
        if policy is None:
            return await self._folded(
                self.aggregate.initial(), 0, await conn.fetch(_LOAD, stream_id)
            ), 0
        rows = await conn.fetch(_LOAD_WITH_SNAPSHOT, stream_id, self.aggregate.name, policy.version)
        if not rows or rows[0]["state"] is None:
            return await self._folded(self.aggregate.initial(), 0, rows), 0
        snapshot, rows = rows[0], rows[1:]
        try:
            state = self.aggregate.load_state(snapshot["state"])
        except Exception as error:  # a snapshot is never the truth: fold the events instead
            log.warning(
                "snapshot unreadable, folding the stream",
                extra=log_fields(aggregate=self.aggregate.name, error=type(error).__name__),
            )
            history = await conn.fetch(_LOAD, stream_id)
            return await self._folded(self.aggregate.initial(), 0, history), 0
        version = snapshot["stream_version"]
        return await self._folded(state, version, rows), version

    async def _folded(self, state: S, version: int, history: Sequence[asyncpg.Record]) -> Loaded[S]:
        """``state`` at ``version`` with the events of ``history`` (rows of ``_LOAD``) folded."""
        if history:
            state = self.aggregate.fold(await self.store.payloads(history), state)
            version = history[-1]["stream_version"]
        return Loaded(state, version)

    async def state(self, conn: asyncpg.Connection, stream_id: str) -> S:
        return (await self.get(conn, stream_id)).state

    async def execute(
        self,
        conn: asyncpg.Connection,
        stream_id: str,
        decide: Decide[S],
        context: CommandContext,
        *,
        new: bool = False,
    ) -> Executed[S]:
        """Load, decide, append (only when there is something to append), run the hooks.

        Must run inside a transaction. Raises ``ConcurrencyConflict`` when another
        transaction appended to the stream first (``runtime.commands.command`` retries).
        ``new``: the stream's id was made by this command (a fresh UUID), so there is nothing
        to load; were it taken after all, the append fails as a conflict."""
        loaded, snapshot_version = (
            (Loaded(self.aggregate.initial(), 0), 0) if new else await self._load(conn, stream_id)
        )
        events = list(decide(loaded.state))
        if not events:
            return Executed(stream_id, loaded.state, loaded.state, loaded.version, [], [])
        state = self.aggregate.fold(events, loaded.state)
        alongside = [
            write
            for follows in self.with_append
            if (write := follows(loaded.state, state)) is not None
        ]
        envelopes = await self.store.append(
            conn, stream_id, loaded.version, events, context, alongside=alongside
        )
        positions.written(envelopes)  # the answer's Frontdesk-Written, once committed
        executed = Executed(
            stream_id, loaded.state, state, loaded.version + len(events), events, envelopes
        )
        await self._keep_snapshot(conn, executed, snapshot_version)
        for projection in self.store.inline:
            await projection.apply(conn, envelopes, events, loaded.version)
        for hook in self.after_append:
            await hook(conn, executed, context)
        return executed

    # -- snapshots --------------------------------------------------------------------------

    async def _keep_snapshot(
        self, conn: asyncpg.Connection, executed: Executed[S], snapshot_version: int
    ) -> None:
        policy = self.aggregate.snapshots
        if policy is None:
            return
        if executed.version - snapshot_version < policy.every:
            return  # fewer than ``every`` events to fold since the last snapshot
        await conn.execute(
            """INSERT INTO snapshots (stream_id, aggregate, fold_version, stream_version, state)
               VALUES ($1, $2, $3, $4, $5::text::jsonb)
               ON CONFLICT (stream_id) DO UPDATE SET aggregate = EXCLUDED.aggregate,
                   fold_version = EXCLUDED.fold_version,
                   stream_version = EXCLUDED.stream_version, state = EXCLUDED.state
               WHERE snapshots.stream_version < EXCLUDED.stream_version
                  OR snapshots.fold_version <> EXCLUDED.fold_version""",
            executed.stream_id,
            self.aggregate.name,
            policy.version,
            executed.version,
            self.aggregate.dump_state(executed.state),
        )
