"""Reading your own writes across read models (issue 16, item 9).

Read models follow the events asynchronously: right after a command, a read of what it
caused may not show it yet (a case just opened has no verification plan for a few
milliseconds). Instead of polling blindly, a client passes on what the command wrote:

- every answer to a command that appended events carries ``Frontdesk-Written``: one opaque
  position per stream written, ``<topic>/<stream id>@<version>`` (comma-separated);
- any read (GET/HEAD) of any service accepts the same values in ``Frontdesk-After``. The
  service waits — at most ``FRONTDESK_READ_AFTER_WAIT_SECONDS`` (3 s by default) — until every
  one of its consumer groups that reads that topic has passed that version of that stream,
  and then, the same way, what its reactions appended because of those events (a ticket →
  the case opened for it; up to three reactions deep), then answers — with
  ``Frontdesk-Written`` naming every position it reached, so a client passes them on to the
  next service (the case's position to verification, which plans the case's checks). If
  they are not reached within the wait, it answers **202** with ``Retry-After``: the read
  models are catching up. A service none of whose groups reads a topic does not wait for it.

The consumer runner records, after each batch committed, how far each group has got in each
stream (``stream_positions``: group, stream, version — including events the group does not
handle, so that passing is what is recorded), and, in a reaction's transaction, which
positions each event caused (``caused_positions``). Rows older than an hour are removed; a
position is only needed in the seconds after a write.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass

import asyncpg

from contracts import Envelope
from contracts.registry import REGISTRY
from runtime.errors import FrontdeskError

WRITTEN_HEADER = "Frontdesk-Written"
AFTER_HEADER = "Frontdesk-After"
MAX_POSITIONS = 20
CAUSE_DEPTH = 3  # a write, what it caused, and what that caused
POLL_SECONDS = 0.05
FORGET_AFTER_HOURS = 1

_POSITION = re.compile(r"^([a-z0-9_.]{1,100})/([A-Za-z0-9_.:@+=-]{1,300})@([1-9][0-9]{0,17})$")

# the positions written by the request being answered (a list the HTTP edge owns) and by
# the command attempt in progress (moved to the request's list once its transaction commits)
request_writes: ContextVar[list[Position] | None] = ContextVar("request_writes", default=None)
attempt_writes: ContextVar[list[Position] | None] = ContextVar("attempt_writes", default=None)


@dataclass(frozen=True)
class Position:
    topic: str  # the logical topic name (no environment prefix)
    stream_id: str
    version: int

    def __str__(self) -> str:
        return f"{self.topic}/{self.stream_id}@{self.version}"


class InvalidPosition(FrontdeskError):
    status = 400
    title = "Invalid Frontdesk-After header"


def parse(header: str) -> list[Position]:
    """``Frontdesk-After``'s value: positions as ``Frontdesk-Written`` gave them."""
    values = [value.strip() for value in header.split(",") if value.strip()]
    if len(values) > MAX_POSITIONS:
        raise InvalidPosition(f"{AFTER_HEADER}: at most {MAX_POSITIONS} positions")
    positions = []
    for value in values:
        found = _POSITION.match(value)
        if found is None:
            raise InvalidPosition(
                f"{AFTER_HEADER}: {value[:80]!r} is not a position as {WRITTEN_HEADER} gives them"
            )
        positions.append(Position(found[1], found[2], int(found[3])))
    return positions


def written(envelopes: Sequence[Envelope]) -> None:
    """Note what a command attempt appended (called by the repository)."""
    attempt = attempt_writes.get()
    if attempt is None or not envelopes:
        return
    last = envelopes[-1]
    topic = REGISTRY.topic_of(last.event_type).name  # where the relay publishes the stream
    attempt.append(Position(topic, last.stream_id, last.stream_version))


def start_attempt() -> list[Position]:
    """A command attempt begins: what it writes is kept apart until it commits."""
    attempt: list[Position] = []
    attempt_writes.set(attempt)
    return attempt


def committed(attempt: list[Position]) -> None:
    """The attempt's transaction committed: its positions belong to the request's answer."""
    answer = request_writes.get()
    if answer is not None:
        answer.extend(attempt)
    attempt_writes.set(None)


def header_value(positions: Iterable[Position]) -> str:
    latest: dict[tuple[str, str], int] = {}
    for position in positions:
        key = (position.topic, position.stream_id)
        latest[key] = max(latest.get(key, 0), position.version)
    return ", ".join(f"{topic}/{stream}@{version}" for (topic, stream), version in latest.items())


def passed_statement(group: int, streams: int, versions: int) -> str:
    """The statement recording that a group has passed versions of streams: its parameters
    by number (the group's name, the streams' ids, their versions), so that it can also be a
    CTE of a larger statement."""
    return f"""INSERT INTO stream_positions (consumer_group, stream_id, version)
           SELECT ${group}, s.stream_id, s.version
           FROM unnest(${streams}::text[], ${versions}::bigint[]) AS s(stream_id, version)
           ON CONFLICT (consumer_group, stream_id) DO UPDATE
           SET version = GREATEST(stream_positions.version, EXCLUDED.version),
               passed_at = now()"""


def latest_versions(envelopes: Iterable[Envelope]) -> tuple[list[str], list[int]]:
    """The streams of ``envelopes`` (in a stable order, so that concurrent writers lock their
    rows alike) and the latest version of each."""
    latest: dict[str, int] = {}
    for envelope in envelopes:
        latest[envelope.stream_id] = max(latest.get(envelope.stream_id, 0), envelope.stream_version)
    streams = sorted(latest)
    return streams, [latest[stream] for stream in streams]


async def record_passed(
    conn: asyncpg.Connection | asyncpg.Pool, group: str, envelopes: Iterable[Envelope]
) -> None:
    """The group has passed these events (applied, duplicate, ignored or dead-lettered)."""
    streams, versions = latest_versions(envelopes)
    if not streams:
        return
    await conn.execute(
        passed_statement(1, 2, 3),
        group,
        streams,
        versions,
    )


async def forget_old(conn: asyncpg.Connection | asyncpg.Pool, group: str) -> None:
    await conn.execute(
        "DELETE FROM stream_positions WHERE consumer_group = $1 "
        "AND passed_at < now() - make_interval(hours => $2)",
        group,
        FORGET_AFTER_HOURS,
    )


async def record_caused(
    conn: asyncpg.Connection, causes: Sequence[tuple[Envelope, Sequence[Position]]]
) -> None:
    """In the reaction's transaction: each handled event and the positions it caused."""
    rows = [
        (event.stream_id, event.stream_version, caused.topic, caused.stream_id, caused.version)
        for event, written in causes
        for caused in written
    ]
    if rows:
        await conn.executemany(
            """INSERT INTO caused_positions
                   (stream_id, version, topic, caused_stream_id, caused_version)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (stream_id, version, caused_stream_id) DO UPDATE
               SET caused_version = GREATEST(caused_positions.caused_version,
                                             EXCLUDED.caused_version)""",
            rows,
        )


async def forget_old_causes(conn: asyncpg.Connection | asyncpg.Pool) -> None:
    await conn.execute(
        "DELETE FROM caused_positions WHERE recorded_at < now() - make_interval(hours => $1)",
        FORGET_AFTER_HOURS,
    )


async def caught_up(
    pool: asyncpg.Pool,
    readers: dict[str, list[str]],
    wanted: Sequence[Position],
    wait: float,
) -> list[Position] | None:
    """Wait up to ``wait`` seconds until every group in ``readers[topic]`` has passed each
    wanted position and what it caused here (up to ``CAUSE_DEPTH`` reactions deep). Returns
    every position reached — to pass on to the next service — or None when the wait ended
    first. ``readers``: topic name → this service's consumer groups reading it."""
    deadline = time.monotonic() + wait
    reached: dict[tuple[str, str], Position] = {}
    frontier = list(wanted)
    for _ in range(CAUSE_DEPTH):
        if not await _passed(pool, readers, frontier, deadline):
            return None
        for position in frontier:
            reached[(position.topic, position.stream_id)] = position
        frontier = [
            caused
            for caused in await _caused(pool, frontier)
            if (caused.topic, caused.stream_id) not in reached
        ]
        if not frontier:
            break
    return list(reached.values())


async def _passed(
    pool: asyncpg.Pool,
    readers: dict[str, list[str]],
    positions: Sequence[Position],
    deadline: float,
) -> bool:
    needed = [
        (group, position.stream_id, position.version)
        for position in positions
        for group in readers.get(position.topic, ())
    ]
    while needed:
        behind = await pool.fetchval(
            """SELECT count(*) FROM unnest($1::text[], $2::text[], $3::bigint[])
                   AS n(consumer_group, stream_id, version)
               WHERE NOT EXISTS (
                   SELECT FROM stream_positions p
                   WHERE p.consumer_group = n.consumer_group AND p.stream_id = n.stream_id
                     AND p.version >= n.version)""",
            [group for group, _, _ in needed],
            [stream for _, stream, _ in needed],
            [version for _, _, version in needed],
        )
        if not behind:
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(POLL_SECONDS)
    return True


async def _caused(pool: asyncpg.Pool, positions: Sequence[Position]) -> list[Position]:
    rows = await pool.fetch(
        """SELECT c.topic, c.caused_stream_id, max(c.caused_version) AS caused_version
           FROM caused_positions c
           JOIN unnest($1::text[], $2::bigint[]) AS w(stream_id, version)
             ON c.stream_id = w.stream_id AND c.version <= w.version
           GROUP BY c.topic, c.caused_stream_id
           ORDER BY max(c.recorded_at) DESC LIMIT $3""",
        [position.stream_id for position in positions],
        [position.version for position in positions],
        MAX_POSITIONS,
    )
    return [Position(row["topic"], row["caused_stream_id"], row["caused_version"]) for row in rows]
