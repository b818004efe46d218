"""The rebuild of the services' own projections (issue 13, item 6): ``frontdesk rebuild`` of
check-in's and cases' read models after tickets went through both services, against a raw
aiokafka consume of the same topics.

The consume rows' projection (``bench/pairs.py``) writes one table with one statement per
event; the services' projections seal personal data, read what earlier events wrote and write
several tables per event. The issue's own figure was ``frontdesk rebuild cases``; this row
measures that command as an operator runs it (a process of its own, its report's rate: from
its start, Kafka's connection included, to its last record)."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass

import asyncpg

from bench import http_pairs
from bench.stack import ROOT, Namespace, stop
from runtime.platform import definition_of
from runtime.service import ServiceRuntime

# the projection each service rebuilds here, and the topics it reads (its group's)
GROUPS = {"checkin": "checkin.projections", "cases": "cases.projections"}


@dataclass(frozen=True)
class Filled:
    tickets: int
    topics: dict[str, list[str]]  # service → the namespace's topics its projection reads


async def fill(namespace: Namespace, clients: int, seconds: float) -> Filled:
    """Tickets through check-in's API for ``seconds`` (``clients`` at once, a few sites), then
    until cases has opened a case for each; both services stopped after."""
    checkin = await namespace.service("checkin")
    cases = await namespace.service("cases")
    token = namespace.token("agent")
    await http_pairs.warm_up(checkin, token)
    sites = max(clients // 2, 1)
    results = await asyncio.gather(
        *(
            http_pairs.tickets(checkin, token, 2, seconds, f"rebuilt-{n}-{namespace.id}")
            for n in range(sites)
        )
    )
    tickets = sum(result.requests for result in results) + 1  # the warm-up's
    await _cases_caught_up(namespace, tickets)
    stop(checkin)
    stop(cases)
    topics = {}
    for service, group in GROUPS.items():  # the services' wiring, as the CLI loads it
        runtime = ServiceRuntime(definition_of(service), namespace.settings)
        [projection] = [g for g in runtime.groups if g.name == group]
        topics[service] = [namespace.kafka.topic(spec.name) for spec in projection.topics]
    return Filled(tickets, topics)


async def _cases_caught_up(namespace: Namespace, tickets: int, within: float = 300) -> None:
    """Until cases has a case for every ticket, or its count stopped moving."""
    conn = await asyncpg.connect(namespace.settings.dsn("cases"))
    try:
        deadline, last, since = time.monotonic() + within, -1, time.monotonic()
        while time.monotonic() < deadline:
            opened = await conn.fetchval("SELECT count(*) FROM case_views")
            if opened >= tickets:
                return
            if opened != last:
                last, since = opened, time.monotonic()
            elif time.monotonic() - since > 20:
                return  # some tickets open no case: what there is, is the stream
            await asyncio.sleep(0.2)
    finally:
        await conn.close()


async def rebuild(namespace: Namespace, service: str) -> tuple[float, int]:
    """``frontdesk rebuild SERVICE --group …`` in a process of its own; its report's records
    per second and records."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "runtime.cli",
        "rebuild",
        service,
        "--group",
        GROUPS[service],
        cwd=ROOT,
        env=namespace.environment(0),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode:
        raise RuntimeError(f"frontdesk rebuild {service} failed: {err.decode()[-2000:]}")
    [report] = json.loads(out)
    records = sum(report[outcome] for outcome in ("applied", "duplicate", "ignored"))
    return float(report["records_per_second"] or 0), records
