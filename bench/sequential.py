"""The fixed cost of one ticket, without batching: one client sends ``POST /tickets`` one after
the other (so every consumer batch holds one record), then waits until check-in's consumers
and relay are quiet; prints the server's CPU time and PostgreSQL transactions per ticket (each
also less what the idle service spends per second: polls, heartbeats).

    .venv/bin/python -m bench.sequential [--tickets 150] [--reps 3]

A transaction here is what ``pg_stat_database`` counts (``xact_commit + xact_rollback``): a
statement outside a transaction counts as one, so it also counts the pool's reset query.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

import asyncpg

from bench.load import run_load
from bench.profile import ticket_request
from bench.stack import Namespace, Process, load_average
from runtime.settings import ServiceSettings


async def transactions(namespace: Namespace) -> int:
    admin = await asyncpg.connect(ServiceSettings().dsn("postgres"))
    try:
        return int(
            await admin.fetchval(
                """SELECT xact_commit + xact_rollback FROM pg_stat_database
                   WHERE datname = $1""",
                f"{namespace.settings.database_prefix}checkin",
            )
        )
    finally:
        await admin.close()


async def idle_rates(namespace: Namespace, checkin: Process, seconds: float) -> tuple[float, float]:
    """CPU seconds and transactions per second of the idle service."""
    xacts, cpu = await transactions(namespace), checkin.cpu()
    await asyncio.sleep(seconds)
    return (checkin.cpu() - cpu) / seconds, (await transactions(namespace) - xacts) / seconds


async def main(tickets: int, reps: int) -> None:
    async with Namespace() as namespace:
        checkin = await namespace.service("checkin")
        headers = {"Authorization": f"Bearer {namespace.token('agent')}"}
        await run_load(
            checkin.url, ticket_request(False, "warm"), clients=1, count=30, headers=headers
        )
        for _ in range(reps):
            await asyncio.sleep(2)  # the warm-up's (or last repetition's) consumers settle
            idle_cpu, idle_xacts = await idle_rates(namespace, checkin, 3)
            xacts, cpu, started = await transactions(namespace), checkin.cpu(), time.monotonic()
            result = await run_load(
                checkin.url,
                ticket_request(False, uuid.uuid4().hex[:6]),
                clients=1,
                count=tickets,
                headers=headers,
            )
            await asyncio.sleep(2)  # its consumers and relay finish
            seconds = time.monotonic() - started
            cpu = checkin.cpu() - cpu
            xacts = await transactions(namespace) - xacts
            print(
                f"{tickets} tickets, 1 client: {result.per_second:.1f}/s, "
                f"p50 {result.p50_ms:.0f} ms; "
                f"server CPU {cpu / tickets * 1000:.2f} ms per ticket "
                f"({(cpu - idle_cpu * seconds) / tickets * 1000:.2f} without the idle "
                f"{idle_cpu * 1000:.0f} ms/s); PostgreSQL transactions {xacts / tickets:.1f} per "
                f"ticket ({(xacts - idle_xacts * seconds) / tickets:.1f} without the idle "
                f"{idle_xacts:.1f}/s); load average {load_average()}",
                flush=True,
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=150)
    parser.add_argument("--reps", type=int, default=3)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.tickets, arguments.reps))
