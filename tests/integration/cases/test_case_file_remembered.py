"""The case file inside a projection batch (runtime/batched_writes.py, ``remember``): the
events of a case after its first one read nothing back, and the file ends as it does when
each handler reads it from PostgreSQL."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from contracts import Envelope, EventPayload
from contracts.events.cases import (
    CaseOpened,
    PriorityChanged,
    ServiceLevelsScheduled,
    StatusChanged,
)
from runtime import set_based
from runtime.batched_writes import BatchedWrites
from runtime.consumer import INFRASTRUCTURE_ERRORS, ReceivedEvent
from services.cases.projections import case_views
from tests.integration.conftest import RunningService

SAMPLES = Path(__file__).resolve().parents[3] / "contracts" / "samples"


class ReadsCounted:
    """The connection, with the case file reads that reach it counted."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn, self.reads = conn, 0

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        self.reads += "FROM case_views" in sql
        return await self.conn.fetchrow(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


def a_case(
    case_id: uuid.UUID, correlation: uuid.UUID, customer_id: str | None = None
) -> list[ReceivedEvent[Any]]:
    """A case opened (by ``customer_id``, if given), its service levels, its status and its
    priority changed."""
    events: list[ReceivedEvent[Any]] = []
    kinds: list[type[EventPayload]] = [
        CaseOpened,
        ServiceLevelsScheduled,
        StatusChanged,
        PriorityChanged,
    ]
    for version, kind in enumerate(kinds, start=1):
        sample = json.loads((SAMPLES / f"{kind.event_type}.v1.json").read_text())
        sample["case_id"] = str(case_id)
        if kind is CaseOpened:
            sample["customer_id"] = customer_id
        payload = kind.model_validate(sample)
        envelope = Envelope(
            event_id=uuid.uuid4(),
            event_type=kind.event_type,
            schema_version=1,
            occurred_at=datetime.now(UTC),
            stream_type="case",
            stream_id=f"case-{case_id}",
            stream_version=version,
            correlation_id=correlation,
            producer="cases",
            payload=payload.model_dump(mode="json"),
        )
        events.append(ReceivedEvent(envelope, payload, "cases.cases", 0, version))
    return events


async def case_file(conn: asyncpg.Connection, case_id: uuid.UUID) -> dict[str, Any]:
    row = dict(await conn.fetchrow("SELECT * FROM case_views WHERE case_id = $1", case_id))
    del row["case_id"]
    return row


async def test_a_cases_events_in_one_batch_read_its_file_back_never_and_end_as_read_each_time(
    stack: dict[str, RunningService],
) -> None:
    """In one transaction rolled back at the end: the live read models are shared with the
    other tests (the rebuild-equals-live test among them) and get no rows without events."""
    correlation = uuid.uuid4()
    batched, one_by_one = uuid.uuid4(), uuid.uuid4()
    async with stack["cases"].runtime.pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        try:
            counted = ReadsCounted(conn)
            writes = BatchedWrites(counted, INFRASTRUCTURE_ERRORS)  # type: ignore[arg-type]
            for position, event in enumerate(a_case(batched, correlation)):
                writes.position = position
                await case_views.handlers[type(event.payload)](writes.connection, event)
            await writes.flush()
            assert counted.reads == 0
            counted = ReadsCounted(conn)
            for event in a_case(one_by_one, correlation):  # a plain connection: each one reads
                await case_views.handlers[type(event.payload)](counted, event)  # type: ignore[arg-type]
            assert counted.reads == 3
            assert await case_file(conn, batched) == await case_file(conn, one_by_one)
        finally:
            await transaction.rollback()


async def test_a_batch_of_cases_goes_set_based_and_ends_as_case_by_case(
    stack: dict[str, RunningService],
) -> None:
    """Several cases in one batch: their files' insert and their service levels' update each
    go as one set-based statement (runtime/set_based.py), and every file ends as the same
    events leave it one statement at a time: the viewers (the customer, or nobody) included.
    In one transaction rolled back at the end, as above."""
    correlation = uuid.uuid4()
    customers = ["cust-1", None, "cust-3", None, "cust-5"]
    batched = [uuid.uuid4() for _ in customers]
    one_by_one = [uuid.uuid4() for _ in customers]
    async with stack["cases"].runtime.pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        try:
            writes = BatchedWrites(conn, INFRASTRUCTURE_ERRORS)
            position = 0
            for case_id, customer in zip(batched, customers, strict=True):
                for event in a_case(case_id, correlation, customer):
                    writes.position, position = position, position + 1
                    await case_views.handlers[type(event.payload)](writes.connection, event)
            await writes.flush()
            for case_id, customer in zip(one_by_one, customers, strict=True):
                for event in a_case(case_id, correlation, customer):
                    await case_views.handlers[type(event.payload)](conn, event)
            for ours, theirs, customer in zip(batched, one_by_one, customers, strict=True):
                file = await case_file(conn, ours)
                assert file == await case_file(conn, theirs)
                assert file["viewer_ids"] == ([customer] if customer else [])
            inserts = [f for sql, f in set_based._FORMS.items() if "INTO case_views" in sql]
            updates = [  # what ``_set`` writes: the file's columns of one case
                form
                for sql, form in set_based._FORMS.items()
                if sql.startswith("UPDATE case_views SET version = $2, updated_at = $3")
            ]
            assert inserts
            assert None not in inserts
            assert len(updates) >= 3  # service levels, status, priority
            assert None not in updates
        finally:
            await transaction.rollback()


async def test_the_case_files_pages_keep_room_for_their_next_version(
    stack: dict[str, RunningService],
) -> None:
    """Each event of a case writes its file's row again: half-filled pages let the new version
    stay on its page (a HOT update: no entry added to each of the table's indexes)."""
    options = await stack["cases"].runtime.pool.fetchval(
        "SELECT reloptions FROM pg_class WHERE oid = 'case_views'::regclass"
    )
    assert "fillfactor=50" in options
