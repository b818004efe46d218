"""``make bench``: every performance claim of issue 13 as a ratio against a raw baseline measured
in the same run, alternated (subject, baseline, subject, …), ≥ 3 repetitions, min / median /
max of each figure and of the ratio, with the machine's load average.

    .venv/bin/python -m bench.run [--reps 3] [--smoke] [--only append,relay,...]

``--smoke`` (or ``BENCH_SMOKE=1``): tiny sizes, proves every row runs (CI); its figures mean
nothing. Needs the infrastructure (Kafka, PostgreSQL); works in a namespace of its own
(``bench_<id>_…`` databases, ``bench-<id>.`` topics) removed afterwards. Figures are per second
unless the row says ms; a ratio > 1 means Frontdesk's figure is the larger one.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import uvloop

from bench import freshness, http_pairs, pairs, projections
from bench.load import LoadResult
from bench.stack import Namespace, load_average, stop

ROWS = ("append", "relay", "consume", "command", "http", "freshness", "projections")


@dataclass(frozen=True)
class Sizes:
    events: int  # append
    relayed: int  # relay: a pass over 2,000 rows lasted ~0.1 s, shorter than the box's hiccups
    records: int  # consume and rebuild: 100,000 (at 20,000 the raw consume lasted ~0.15 s and
    # its start weighed in it: its rate ranged 113k-310k/s between runs)
    stream: int  # long stream for command latency
    commands: int
    clients: int
    seconds: float  # HTTP load per repetition
    waiting: int
    fill_budget: float  # seconds to fill the queue
    rate: float  # tickets/s for freshness
    fresh_seconds: float
    filled_seconds: float  # tickets through check-in and cases before their projections rebuild


FULL = Sizes(
    events=2000,
    relayed=10_000,
    records=100_000,
    stream=10_000,
    commands=30,
    clients=16,
    seconds=10,
    waiting=2000,
    fill_budget=90,
    rate=50,
    fresh_seconds=60,
    filled_seconds=60,
)
SMOKE = Sizes(
    events=20,
    relayed=20,
    records=20,
    stream=50,
    commands=3,
    clients=2,
    seconds=1,
    waiting=5,
    fill_budget=10,
    rate=5,
    fresh_seconds=2,
    filled_seconds=2,
)


@dataclass
class Row:
    name: str
    subject: str
    baseline: str
    unit: str = "/s"
    lower_is_better: bool = False  # latency rows: the ratio is baseline / subject inverted
    subjects: list[float] = field(default_factory=list)
    baselines: list[float] = field(default_factory=list)
    note: str = ""

    def ratios(self) -> list[float]:
        return [s / b for s, b in zip(self.subjects, self.baselines, strict=False) if b]


def spread(values: list[float], digits: int = 0) -> str:
    if not values:
        return "—"
    low, mid, high = min(values), statistics.median(values), max(values)
    return f"{low:,.{digits}f} / {mid:,.{digits}f} / {high:,.{digits}f}"


def render(rows: list[Row], reps: int, smoke: bool, started: float) -> str:
    lines = [
        f"frontdesk bench — {'SMOKE (sizes too small to mean anything)' if smoke else 'full'}, "
        f"{reps} alternated repetitions, load average {load_average()} at the end, "
        f"{time.monotonic() - started:.0f} s",
        "",
        "| row | Frontdesk (min / median / max) | baseline (min / median / max) "
        "| ratio (min / median / max) | note |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        digits = 1 if row.unit == "ms" else 0
        lines.append(
            f"| {row.name} | {row.subject}: {spread(row.subjects, digits)} {row.unit} "
            f"| {row.baseline}: {spread(row.baselines, digits)} {row.unit} "
            f"| {spread(row.ratios(), 3)} | {row.note} |"
        )
    return "\n".join(lines)


async def alternate(
    row: Row,
    reps: int,
    subject: Callable[[], Awaitable[float]],
    baseline: Callable[[], Awaitable[float]],
) -> None:
    for rep in range(reps):
        first, second = (subject, baseline) if rep % 2 == 0 else (baseline, subject)
        a = await first()
        b = await second()
        s, base = (a, b) if rep % 2 == 0 else (b, a)
        row.subjects.append(s)
        row.baselines.append(base)


async def bench(reps: int, sizes: Sizes, only: set[str]) -> list[Row]:
    rows: list[Row] = []
    async with Namespace() as namespace:
        scratch = await pairs.Scratch.create(namespace)
        n = sizes.events
        try:
            if "append" in only:
                row = Row("append (a)", "EventStore.append, 1 tx each", "raw INSERT autocommit")
                rows.append(row)
                await alternate(
                    row,
                    reps,
                    lambda: pairs.append(scratch, n),
                    lambda: pairs.raw_insert(scratch, n),
                )
                row = Row("append vs peer (a)", "EventStore.append", "python eventsourcing")
                rows.append(row)
                missing = pairs.eventsourcing_available()
                if missing:
                    row.note = f"skipped: eventsourcing {missing}"
                else:
                    await alternate(
                        row,
                        reps,
                        lambda: pairs.append(scratch, n),
                        lambda: pairs.eventsourcing_saves(scratch, n),
                    )
                    row.note = f"{n} sequential saves, a new aggregate each"
            if "relay" in only:
                relayed = sizes.relayed
                row = Row("relay (b)", "OutboxRelay.run", "aiokafka idempotent acks=all")
                row.note = (
                    f"{relayed:,} records, the same ones on both sides; one round of each "
                    "first, not counted (new topics, their leaders, the events appended)"
                )
                rows.append(row)
                await pairs.relay(scratch, relayed)
                await pairs.raw_produce(scratch, relayed)
                await alternate(
                    row,
                    reps,
                    lambda: pairs.relay(scratch, relayed),
                    lambda: pairs.raw_produce(scratch, relayed),
                )
            if "consume" in only:
                records = sizes.records
                await pairs.fill_topic(scratch, records)
                note = (
                    f"{records:,} records, one upsert per event; "
                    "each side timed from its start (partitions, connection) to its last record"
                )
                row = Row("consumer live (c)", "ConsumerRunner batches", "raw aiokafka consume")
                row.note = note
                rows.append(row)
                await alternate(
                    row,
                    reps,
                    lambda: pairs.runner_live(scratch, records),
                    lambda: pairs.raw_consume(scratch, records),
                )
                row = Row("rebuild (c)", "ConsumerRunner.rebuild", "raw aiokafka consume")
                row.note = note
                rows.append(row)
                await alternate(
                    row,
                    reps,
                    lambda: pairs.rebuild(scratch, records),
                    lambda: pairs.raw_consume(scratch, records),
                )
            if "command" in only:
                long = await pairs.long_stream(scratch, sizes.stream)
                for name, aggregate in (
                    ("no snapshots", pairs.PLAIN),
                    ("snapshots", pairs.SNAPSHOTTED),
                ):
                    stream = (
                        long
                        if aggregate is pairs.PLAIN
                        else await pairs.long_stream(scratch, sizes.stream)
                    )
                    if aggregate.snapshots is not None:  # the first command writes it
                        await pairs.command_latencies(scratch, stream, aggregate, 1)
                    row = Row(
                        f"command latency, {name} (d)",
                        f"execute on {sizes.stream:,} events",
                        "execute on a fresh stream",
                        unit="ms",
                        lower_is_better=True,
                    )
                    row.note = (
                        "ratio = long / fresh (target ≤ 1.3); each repetition alternates the"
                        f" two command by command, median of {sizes.commands} each"
                    )
                    if aggregate.snapshots is not None:
                        every = aggregate.snapshots.every
                        row.note += (
                            f"; a snapshot every {every} events: {sizes.commands // every} or"
                            f" {-(-sizes.commands // every)} of the long stream's commands also"
                            " write one (in the command's transaction)"
                        )
                    rows.append(row)
                    for _ in range(reps):
                        long_ms, fresh_ms = await pairs.command_latencies(
                            scratch, stream, aggregate, sizes.commands
                        )
                        row.subjects.append(long_ms * 1000)
                        row.baselines.append(fresh_ms * 1000)
        finally:
            await scratch.pool.close()
        if "http" in only:
            rows += await http_rows(namespace, reps, sizes)
        if "freshness" in only:
            # a namespace of its own: started after the HTTP rows, cases would first catch up
            # with every ticket they issued (thousands of cases to open), and the first
            # repetition would measure that backlog instead of a ticket's way to its case
            async with Namespace() as fresh:
                rows += await freshness_rows(fresh, reps, sizes)
        if "projections" in only:
            async with Namespace() as filled:
                rows += await projection_rows(filled, reps, sizes)
    return rows


async def projection_rows(namespace: Namespace, reps: int, sizes: Sizes) -> list[Row]:
    """``frontdesk rebuild`` of check-in's and cases' own projections (bench/projections.py)."""
    filled = await projections.fill(namespace, sizes.clients, sizes.filled_seconds)
    rows = []
    for service, group in projections.GROUPS.items():
        row = Row(f"rebuild {group} (c)", "frontdesk rebuild", "raw aiokafka consume")
        counted: set[int] = set()

        async def rebuilt(service: str = service, counted: set[int] = counted) -> float:
            rate, records = await projections.rebuild(namespace, service)
            counted.add(records)
            return rate

        async def raw(service: str = service) -> float:
            servers = namespace.kafka.bootstrap_servers
            return await pairs.raw_read(servers, filled.topics[service])

        await alternate(row, reps, rebuilt, raw)
        row.note = (
            f"{', '.join(f'{n:,}' for n in sorted(counted))} records of {filled.tickets:,} "
            "tickets through check-in and cases; the command in a process of its own, its own "
            "rate (from its start, Kafka's connection included); target ≥ 0.3"
        )
        rows.append(row)
    return rows


async def freshness_rows(namespace: Namespace, reps: int, sizes: Sizes) -> list[Row]:
    checkin = await namespace.service("checkin")
    cases = await namespace.service("cases")
    token = namespace.token("agent")
    await http_pairs.warm_up(checkin, token)
    cases_dsn = namespace.settings.dsn("cases")
    p50 = Row("ticket → case visible p50 (c)", "checkin+cases", "raw hop", "ms", True)
    p99 = Row("ticket → case visible p99 (c)", "checkin+cases", "raw hop", "ms", True)
    seen: list[str] = []
    cpu: tuple[list[float], list[float]] = ([], [])  # ms of CPU per ticket: check-in, cases
    moments: dict[uuid.UUID, tuple[float, float]] = {}
    for rep in range(reps):
        site = f"fresh-{rep}-{namespace.id}"
        ours_first = rep % 2 == 0
        if not ours_first:
            raw = await freshness.raw_hop(namespace, sizes.rate, sizes.fresh_seconds)
        spent = (checkin.cpu(), cases.cpu())
        ours = await freshness.tickets_to_cases(
            checkin, cases_dsn, token, sizes.rate, sizes.fresh_seconds, site
        )
        if ours.seen:
            cpu[0].append((checkin.cpu() - spent[0]) / ours.seen * 1000)
            cpu[1].append((cases.cpu() - spent[1]) / ours.seen * 1000)
        if ours_first:
            raw = await freshness.raw_hop(namespace, sizes.rate, sizes.fresh_seconds)
        seen.append(f"{ours.seen}/{ours.sent}")
        moments.update(ours.moments)
        for row, share in ((p50, 0.5), (p99, 0.99)):
            row.subjects.append(ours.result(sizes.fresh_seconds).percentile(share) * 1000)
            row.baselines.append(raw.result(sizes.fresh_seconds).percentile(share) * 1000)
    p99.note = (
        f"{sizes.rate:.0f} tickets/s for {sizes.fresh_seconds:.0f} s, open loop, load generator "
        f"on the same box; cases seen per run {', '.join(seen)}; p99 per run, in order, ms "
        f"{', '.join(f'{ms:,.0f}' for ms in p99.subjects)}; CPU per ticket, ms, check-in "
        f"{spread(cpu[0], 1)}, cases {spread(cpu[1], 1)}; target p99 ≤ 250 ms"
    )
    split = await freshness.hops(namespace, moments)
    p50.note = "per hop, p50 / p99 ms (every run): " + "; ".join(
        f"{hop} {_percentile(times, 0.5):.0f} / {_percentile(times, 0.99):.0f} ({len(times)})"
        if times
        else f"{hop}: none"
        for hop, times in split.items()
    )
    return [p50, p99]


def _percentile(seconds: list[float], share: float) -> float:
    return LoadResult(len(seconds), 0, 1, seconds, None).percentile(share) * 1000


async def _ms(latency: Awaitable[float]) -> float:
    return await latency * 1000


async def http_rows(namespace: Namespace, reps: int, sizes: Sizes) -> list[Row]:
    checkin = await namespace.service("checkin")
    baseline = await http_pairs.start_baseline(namespace)
    token = namespace.token("agent")
    await http_pairs.warm_up(checkin, token)
    await http_pairs.warm_up(baseline, None)
    clients = sizes.clients
    throughput = Row(f"POST /tickets, {clients} clients (e)", "checkin", "bare FastAPI+asyncpg")
    p50 = Row("  p50 latency (e)", "checkin", "bare", unit="ms", lower_is_better=True)
    p99 = Row("  p99 latency (e)", "checkin", "bare", unit="ms", lower_is_better=True)
    cpu = Row("  server CPU per request (e)", "checkin", "bare", unit="ms", lower_is_better=True)
    throughput.note = f"{sizes.seconds:.0f} s each, one site per repetition (its queue grows)"
    for rep in range(reps):
        order = [(checkin, token), (baseline, None)]
        if rep % 2:
            order.reverse()
        results = {}
        for process, bearer in order:
            results[process.name] = await http_pairs.tickets(
                process, bearer, clients, sizes.seconds, f"load-{rep}-{namespace.id}"
            )
        ours, bare = results["checkin"], results["baseline"]
        throughput.subjects.append(ours.per_second)
        throughput.baselines.append(bare.per_second)
        p50.subjects.append(ours.p50_ms)
        p50.baselines.append(bare.p50_ms)
        p99.subjects.append(ours.p99_ms)
        p99.baselines.append(bare.p99_ms)
        cpu.subjects.append(ours.cpu_ms_per_request or 0)
        cpu.baselines.append(bare.cpu_ms_per_request or 0)
    site = f"long-{namespace.id}"
    waiting = await http_pairs.fill_queue(checkin, token, site, sizes.waiting, sizes.fill_budget)
    queue = Row(
        "issue latency vs queue (e)",
        f"{waiting:,} waiting",
        "0 waiting",
        unit="ms",
        lower_is_better=True,
    )
    queue.note = f"median of {sizes.commands} sequential issues; target ≤ 1.3"
    if waiting < sizes.waiting:
        queue.note += f" (filled {waiting:,} of {sizes.waiting:,} in {sizes.fill_budget:.0f} s)"
    await alternate(
        queue,
        reps,
        lambda: _ms(http_pairs.issue_latency(checkin, token, site, sizes.commands)),
        lambda: _ms(http_pairs.issue_latency(checkin, token, None, sizes.commands)),
    )
    # done with them: they would only take CPU from the rows after
    stop(checkin)
    stop(baseline)
    return [throughput, p50, p99, cpu, queue]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", default=pairs.smoke())
    parser.add_argument("--only", default=",".join(ROWS), help=f"some of {', '.join(ROWS)}")
    arguments = parser.parse_args()
    only = {name.strip() for name in arguments.only.split(",")} & set(ROWS)
    sizes = SMOKE if arguments.smoke else FULL
    started = time.monotonic()
    os.environ.setdefault("FRONTDESK_LOG_LEVEL", "WARNING")
    # the loop every Frontdesk process runs on (uvicorn's choice in the services, the CLI's):
    # both sides of each ratio share it
    rows = uvloop.run(bench(max(arguments.reps, 1), sizes, only))
    print(render(rows, arguments.reps, arguments.smoke, started))


if __name__ == "__main__":
    main()
