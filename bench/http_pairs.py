"""``POST /tickets`` through the check-in service's HTTP API (started from this checkout) vs a
bare FastAPI + asyncpg app under the same uvicorn settings; issue latency vs queue length."""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import uuid
from typing import Any

import httpx

from bench.load import LoadResult, run_load
from bench.stack import Namespace, Process, free_port


def intake(site: str, account: str) -> dict[str, Any]:
    return {
        "site_id": site,
        "intake": {
            "problem_category": "account_suspended",
            "account_ref": account,
            "contact_phone": "+8613800000001",
            "language": {"tag": "zh-CN"},
        },
    }


async def start_baseline(namespace: Namespace) -> Process:
    dsn = await namespace.database("baseline")
    port = free_port()
    env = namespace.environment(port, BENCH_DSN=dsn, BENCH_PORT=str(port))
    return await namespace.start(
        "baseline", [sys.executable, "-m", "bench.baseline_app"], port, env
    )


async def tickets(
    process: Process, token: str | None, clients: int, seconds: float, site: str
) -> LoadResult:
    run = uuid.uuid4().hex[:6]
    return await run_load(
        process.url,
        lambda n: ("POST", "/tickets", intake(site, f"acct-{run}-{n}")),
        clients=clients,
        seconds=seconds,
        headers={"Authorization": f"Bearer {token}"} if token else None,
        server_pid=process.pid,
    )


async def fill_queue(process: Process, token: str, site: str, waiting: int, budget: float) -> int:
    """Put up to ``waiting`` tickets in ``site``'s queue within ``budget`` seconds; returns how
    many are waiting."""
    result = await run_load(
        process.url,
        lambda n: ("POST", "/tickets", intake(site, f"acct-fill-{site}-{n}")),
        clients=8,
        seconds=budget,
        count=waiting,
        headers={"Authorization": f"Bearer {token}"},
    )
    return result.requests


async def issue_latency(process: Process, token: str, site: str | None, count: int) -> float:
    """Median seconds of ``count`` sequential issues at ``site`` (a new site each time when
    None: nobody waiting)."""
    latencies = []
    async with httpx.AsyncClient(
        base_url=process.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    ) as client:
        for n in range(count):
            target = site or f"empty-{uuid.uuid4().hex[:8]}"
            started = time.perf_counter()
            response = await client.post("/tickets", json=intake(target, f"acct-lat-{n}"))
            latencies.append(time.perf_counter() - started)
            if response.status_code != 201:
                raise RuntimeError(f"POST /tickets: {response.status_code} {response.text[:300]}")
    return statistics.median(latencies)


async def warm_up(process: Process, token: str | None) -> None:
    await run_load(
        process.url,
        lambda n: ("POST", "/tickets", intake(f"warm-{n}", f"acct-warm-{n}")),
        clients=2,
        count=10,
        headers={"Authorization": f"Bearer {token}"} if token else None,
    )
    await asyncio.sleep(0.5)
