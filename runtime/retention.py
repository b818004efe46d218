"""Retention: how long each kind of data is kept, and the job that enforces it.

A service declares ``RetentionPolicy`` objects (its own tables); the runtime adds the policies
of the tables it owns itself (idempotency records, consumer inboxes, dead letters). Once a day
(a durable timer, ``retention:<service>``) each policy deletes what is older than its period
and the service publishes ``retention.data_purged`` with the count — never the contents.
Events in the log are not purged: personal values in them are erased by crypto-shredding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from contracts.envelope import Actor
from contracts.events.audit import DataPurged
from runtime.eventstore import CommandContext
from runtime.running import RunningService
from runtime.scheduler import Timer, TimerHandler, schedule

RETENTION_TIMER_KIND = "retention"
RUN_EVERY = timedelta(days=1)


@dataclass(frozen=True)
class RetentionPolicy:
    name: str
    description: str
    table: str
    timestamp_column: str
    keep: timedelta
    condition: str = "true"  # an extra SQL condition on rows that may go (e.g. a final state)
    # set: the rows stay and these personal columns are cleared (a redaction); the count is of
    # rows whose values were cleared (a row already cleared is not counted again)
    columns: tuple[str, ...] = ()

    def delete_sql(self) -> str:
        """Rows older than the period, by the database's clock: the timestamps are the
        database's, and an application clock that runs ahead (a test, a skewed host) must not
        purge early."""
        old_enough = f"{self.timestamp_column} < now() - $1::interval AND ({self.condition})"
        if self.columns:
            cleared = ", ".join(f"{column} = NULL" for column in self.columns)
            present = " OR ".join(f"{column} IS NOT NULL" for column in self.columns)
            purge = f"UPDATE {self.table} SET {cleared} WHERE {old_enough} AND ({present})"
        else:
            purge = f"DELETE FROM {self.table} WHERE {old_enough}"
        return f"WITH gone AS ({purge} RETURNING 1) SELECT count(*), now() - $1::interval FROM gone"


RUNTIME_POLICIES: tuple[RetentionPolicy, ...] = (
    RetentionPolicy(
        "idempotency_keys",
        "answers kept so that a retried request is not acted on twice",
        "idempotency_keys",
        "created_at",
        timedelta(days=1),
    ),
    RetentionPolicy(
        "consumer_inbox",
        "ids of the events each consumer group applied (duplicate detection)",
        # longer than any redelivery: Kafka commits within seconds, the relay republishes
        # within minutes; a rebuild clears the inbox of its group anyway
        "consumer_inbox",
        "processed_at",
        timedelta(days=30),
    ),
    RetentionPolicy(
        "dead_letters",
        "records of messages a consumer group could not process",
        "dead_letters",
        "dead_lettered_at",
        timedelta(days=90),
    ),
)


async def purge(
    conn: asyncpg.Connection,
    runtime: RunningService,
    policies: Sequence[RetentionPolicy],
    now: datetime,
) -> dict[str, int]:
    """Apply every policy once; publish what went. Runs in the caller's transaction."""
    purged: dict[str, int] = {}
    context = CommandContext.new(Actor(id=runtime.name, role="system"))
    for policy in policies:
        count, older_than = await conn.fetchrow(policy.delete_sql(), policy.keep)
        purged[policy.name] = count
        if count == 0:
            continue
        stream = f"purge-{runtime.name}-{policy.name}"
        version = await conn.fetchval(
            "SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = $1", stream
        )
        await runtime.store.append(
            conn,
            stream,
            version,
            [
                DataPurged(
                    service=runtime.name,
                    policy=policy.name,
                    description=policy.description,
                    retention_days=policy.keep.total_seconds() / 86400,
                    purged=count,
                    older_than=older_than,
                    purged_at=now,
                )
            ],
            context,
        )
    return purged


def retention_timer(runtime: RunningService, policies: Sequence[RetentionPolicy]) -> TimerHandler:
    async def run(conn: asyncpg.Connection, timer: Timer, now: datetime) -> None:
        await purge(conn, runtime, policies, now)
        await schedule(conn, timer.timer_id, RETENTION_TIMER_KIND, now + RUN_EVERY)

    return run


async def ensure_scheduled(conn: asyncpg.Connection, service: str, now: datetime) -> None:
    """Make sure the daily retention timer exists (without moving it if it does)."""
    await conn.execute(
        """INSERT INTO timers (timer_id, kind, due_at) VALUES ($1, $2, $3)
           ON CONFLICT (timer_id) DO NOTHING""",
        f"{RETENTION_TIMER_KIND}:{service}",
        RETENTION_TIMER_KIND,
        now + timedelta(minutes=5),
    )
