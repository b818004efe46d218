"""A small closed-loop HTTP load generator: N clients, each sending its next request when the
previous answered, for a duration or a count; latencies, throughput and the server's CPU time
per request (read from /proc for the server's process)."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from bench.stack import cpu_seconds

RequestFactory = Callable[[int], tuple[str, str, dict[str, Any] | None]]


@dataclass(frozen=True)
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies: list[float]
    server_cpu: float | None  # seconds of the server process's CPU time during the run

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies) * 1000 if self.latencies else float("nan")

    @property
    def p99_ms(self) -> float:
        return self.percentile(0.99) * 1000

    @property
    def cpu_ms_per_request(self) -> float | None:
        if self.server_cpu is None or not self.requests:
            return None
        return self.server_cpu / self.requests * 1000


async def run_load(
    base_url: str,
    make_request: RequestFactory,
    *,
    clients: int,
    seconds: float | None = None,
    count: int | None = None,
    headers: dict[str, str] | None = None,
    server_pid: int | None = None,
    expect: int = 201,
) -> LoadResult:
    """``make_request(n) -> (method, path, json)`` builds the n-th request. Stops after
    ``seconds`` or ``count`` requests, whichever is given."""
    latencies: list[float] = []
    errors = 0
    issued = 0
    deadline = time.monotonic() + seconds if seconds is not None else None
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, timeout=60, limits=limits
    ) as client:

        async def one_client() -> None:
            nonlocal errors, issued
            while True:
                if deadline is not None and time.monotonic() >= deadline:
                    return
                if count is not None and issued >= count:
                    return
                n = issued
                issued += 1
                method, path, body = make_request(n)
                started = time.perf_counter()
                response = await client.request(method, path, json=body)
                elapsed = time.perf_counter() - started
                if response.status_code == expect:
                    latencies.append(elapsed)
                else:
                    errors += 1
                    if errors <= 3:
                        print(f"  unexpected {response.status_code}: {response.text[:300]}")

        cpu_before = cpu_seconds(server_pid) if server_pid else None
        started = time.monotonic()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        elapsed = time.monotonic() - started
        cpu = (
            cpu_seconds(server_pid) - cpu_before if server_pid and cpu_before is not None else None
        )
    return LoadResult(len(latencies), errors, elapsed, latencies, cpu)
