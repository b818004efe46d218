"""Freshness (issue 13, item 5): tickets at a steady rate through check-in's HTTP API while
check-in and cases both run; how long from a ticket's 201 until its case is visible in the
read model the cases API answers from — against a raw produce → consume hop on the same
broker at the same rate.

Visible = the case's row committed in cases' ``case_views`` (what ``GET /cases?ticket_id=``
reads), polled from the database every 10 ms, so that the probe does not load the services
it measures (a latency is at most one poll late). The path measured: check-in appends the
ticket and relays it, cases' intake reaction opens the case, and the case file
(``cases.projections``, an inline projection: runtime/inline.py) is written in the intake's
own transaction — one relay and one consumer hop. Where the case file was left to its
consumer instead (the group behind on the stream), the path goes on through cases' relay and
that consumer. ``hops`` splits each ticket's way along them from the timestamps the path
leaves behind."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
import uuid
from dataclasses import dataclass, field

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.http_pairs import intake
from bench.load import LoadResult
from bench.stack import Namespace, Process
from contracts import TopicSpec
from contracts.topics import CHECKIN_TICKETS
from runtime.kafka import ensure_topics, topic_partitions

POLL = 0.01
HOP = TopicSpec("bench.hop", "bench", "record", "raw produce → consume baseline")


@dataclass(frozen=True)
class Freshness:
    sent: int
    seen: int
    errors: int
    latencies: list[float]  # seconds, ticket 201 → case visible
    # per ticket: wall-clock seconds of its 201 and of its case seen (for ``hops``)
    moments: dict[uuid.UUID, tuple[float, float]] = field(default_factory=dict)

    def result(self, seconds: float) -> LoadResult:
        return LoadResult(self.seen, self.errors, seconds, self.latencies, None)


async def tickets_to_cases(
    checkin: Process, cases_dsn: str, token: str, rate: float, seconds: float, site: str
) -> Freshness:
    """Open loop: a ticket every 1/``rate`` s for ``seconds``, whatever the answers take."""
    answered: dict[uuid.UUID, float] = {}
    visible: dict[uuid.UUID, float] = {}
    walls: dict[uuid.UUID, float] = {}  # each 201 on the wall clock too
    errors = 0
    run = uuid.uuid4().hex[:6]
    done = asyncio.Event()

    async def watch() -> None:
        conn = await asyncpg.connect(cases_dsn)
        try:
            while not done.is_set() or len(visible) < len(answered):
                pending = [t for t in answered if t not in visible]
                if pending:
                    rows = await conn.fetch(
                        "SELECT source_ticket_id FROM case_views "
                        "WHERE source_ticket_id = ANY($1::uuid[])",
                        pending,
                    )
                    now = time.perf_counter()
                    for row in rows:
                        visible[row[0]] = now
                await asyncio.sleep(POLL)
        finally:
            await conn.close()

    async with httpx.AsyncClient(
        base_url=checkin.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    ) as client:

        async def one(n: int) -> None:
            nonlocal errors
            try:
                response = await client.post("/tickets", json=intake(site, f"acct-fresh-{run}-{n}"))
            except httpx.TransportError as error:  # counted, as a non-201 is, not fatal
                errors += 1
                print(f"bench: POST /tickets failed: {error!r}", file=sys.stderr)
                return
            if response.status_code != 201:
                errors += 1
                return
            ticket = uuid.UUID(response.json()["ticket_id"])
            answered[ticket] = time.perf_counter()
            walls[ticket] = time.time()

        watcher = asyncio.create_task(watch())
        started = time.perf_counter()
        sends = []
        count = int(rate * seconds)
        for n in range(count):
            await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
            sends.append(asyncio.create_task(one(n)))
        await asyncio.gather(*sends)
        done.set()
        with contextlib.suppress(TimeoutError):  # what never became visible counts as missing
            await asyncio.wait_for(watcher, timeout=120)
    seen = [t for t in answered if t in visible]
    latencies = [visible[t] - answered[t] for t in seen]
    moments = {t: (walls[t], walls[t] + latencies[n]) for n, t in enumerate(seen)}
    return Freshness(
        count, len(latencies), errors + len(answered) - len(latencies), latencies, moments
    )


HOPS = (
    "check-in relay",  # 201 → the relay read the ticket's outbox row (its record's timestamp)
    "Kafka → cases.intake",  # → the intake's transaction began (its inbox row's processed_at)
    "intake, case file inline + probe",  # → the probe saw the case_views row
)
BY_CONSUMER = "case file by its consumer"  # intake's transaction began → the probe saw the row


async def hops(
    namespace: Namespace, moments: dict[uuid.UUID, tuple[float, float]]
) -> dict[str, list[float]]:
    """Split each ticket's 201 → case visible along its path, in seconds per hop, from what
    the path leaves behind on the same clock: the relay stamps a record with the database's
    clock when it reads its row, and an inbox row's ``processed_at`` is when its batch's
    transaction began. Cases whose file was written by the consumer (not inline) are split
    apart, under ``BY_CONSUMER``, from the intake on."""
    async with contextlib.AsyncExitStack() as stack:
        checkin = await asyncpg.connect(namespace.settings.dsn("checkin"))
        stack.push_async_callback(checkin.close)
        cases = await asyncpg.connect(namespace.settings.dsn("cases"))
        stack.push_async_callback(cases.close)
        tickets = {
            row["ticket"]: row["event_id"]
            for row in await checkin.fetch(
                "SELECT event_id, (envelope #>> '{payload,ticket_id}')::uuid AS ticket "
                "FROM events WHERE event_type = 'checkin.ticket_issued'"
            )
        }
        opened = {
            row["source_ticket_id"]: row["event_id"]
            for row in await cases.fetch(
                "SELECT e.event_id, v.source_ticket_id FROM events e JOIN case_views v "
                "ON v.case_id = (e.envelope #>> '{payload,case_id}')::uuid "
                "WHERE e.event_type = 'cases.case_opened'"
            )
        }
        began = {
            row["event_id"]: row["processed_at"].timestamp()
            for row in await cases.fetch(
                "SELECT event_id, processed_at FROM consumer_inbox "
                "WHERE consumer_group = 'cases.intake'"
            )
        }
        inline = {
            row["event_id"]
            for row in await cases.fetch(
                "SELECT event_id FROM consumer_inbox "
                "WHERE consumer_group = 'cases.projections' AND outcome = 'inline'"
            )
        }
    read = await _read_moments(namespace, CHECKIN_TICKETS)
    split: dict[str, list[float]] = {hop: [] for hop in (*HOPS, BY_CONSUMER)}
    for ticket, (answered, seen) in moments.items():
        ticket_event, case_event = tickets.get(ticket), opened.get(ticket)
        if ticket_event is None or case_event is None:  # attached to a case, not opened
            continue
        marks = [answered, read.get(ticket_event), began.get(ticket_event), seen]
        points = [mark for mark in marks if mark is not None]
        if len(points) < len(marks):  # a record or an inbox row not found
            continue
        names = HOPS if case_event in inline else (*HOPS[:2], BY_CONSUMER)
        for hop, start, end in zip(names, points[:-1], points[1:], strict=True):
            split[hop].append(end - start)
    return split


async def _read_moments(namespace: Namespace, topic: TopicSpec) -> dict[uuid.UUID, float]:
    """Each record's event id and timestamp (the relay's read), from the topic's start."""
    consumer = AIOKafkaConsumer(
        namespace.kafka.topic(topic.name),
        bootstrap_servers=namespace.kafka.bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    await consumer.start()
    moments: dict[uuid.UUID, float] = {}
    try:
        while batch := await consumer.getmany(timeout_ms=2000):
            for records in batch.values():
                for record in records:
                    event_id = dict(record.headers).get("event_id")
                    if event_id:
                        moments[uuid.UUID(event_id.decode())] = record.timestamp / 1000
    finally:
        await consumer.stop()
    return moments


async def raw_hop(namespace: Namespace, rate: float, seconds: float) -> Freshness:
    """The same rate of records produced (acks=all, idempotent) and consumed on one topic:
    produce acknowledged → record consumed."""
    await ensure_topics(namespace.kafka, [HOP])
    topic = namespace.kafka.topic(HOP.name)
    producer = AIOKafkaProducer(
        bootstrap_servers=namespace.kafka.bootstrap_servers, acks="all", enable_idempotence=True
    )
    consumer = AIOKafkaConsumer(bootstrap_servers=namespace.kafka.bootstrap_servers, group_id=None)
    await producer.start()
    await consumer.start()
    partitions = await topic_partitions(namespace.kafka.bootstrap_servers, [topic])
    consumer.assign(partitions)
    await consumer.seek_to_end(*partitions)
    acknowledged: dict[bytes, float] = {}
    consumed: dict[bytes, float] = {}
    count = int(rate * seconds)

    async def consume() -> None:
        while len(consumed) < count:
            batch = await consumer.getmany(timeout_ms=100)
            now = time.perf_counter()
            for records in batch.values():
                for record in records:
                    if record.value:
                        consumed.setdefault(record.value, now)

    reader = asyncio.create_task(consume())
    try:
        started = time.perf_counter()

        async def one(n: int) -> None:
            value = f"{n}".encode()
            await producer.send_and_wait(topic, value)
            acknowledged[value] = time.perf_counter()

        sends = []
        for n in range(count):
            await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
            sends.append(asyncio.create_task(one(n)))
        await asyncio.gather(*sends)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(reader, timeout=60)
    finally:
        reader.cancel()
        await consumer.stop()
        await producer.stop()
    latencies = [max(0.0, consumed[v] - acknowledged[v]) for v in acknowledged if v in consumed]
    return Freshness(count, len(latencies), count - len(latencies), latencies)
