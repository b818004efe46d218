"""``frontdesk``: the operator's and developer's command line.

frontdesk token --role agent [--sub alice] [--phone +86...] [--org ID]  a development token
frontdesk topics                                           create/fix every topic
frontdesk contracts export | check                         schemas, EVENTS.md, wiring tables
frontdesk migrate SERVICE                                  apply a service's migrations
frontdesk rebuild SERVICE [--group NAME] [--commit-every N]  drop read models, replay Kafka
frontdesk digest SERVICE                                   digest of the read models
frontdesk trace CORRELATION_ID                             one flow across every service
frontdesk parked list|retry|drop SERVICE [POSITION]        records Kafka refused for good
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Coroutine, Sequence
from typing import TYPE_CHECKING, Any, TextIO
from uuid import UUID

import uvloop

from contracts import TOPICS, dead_letter_topic
from contracts.catalog import (
    EVENTS_DOC,
    SCHEMA_DIR,
    all_schemas,
    compatibility_problems,
    dump,
    render_events_doc,
)
from runtime.auth import ROLES, TokenVerifier
from runtime.consumer import REPLAY_BATCH
from runtime.platform import SERVICES, definition_of
from runtime.settings import ServiceSettings
from runtime.wiring_doc import GUIDES

if TYPE_CHECKING:
    from runtime.consumer import ConsumerGroup, RebuildProgress
    from runtime.service import ServiceRuntime

__all__ = ["SERVICES", "definition_of", "main"]


def cmd_token(args: argparse.Namespace) -> int:
    settings = ServiceSettings()
    if settings.env == "production":
        print("refusing to mint tokens in production", file=sys.stderr)
        return 2
    verifier = TokenVerifier(
        settings.jwt_secret.get_secret_value(), settings.jwt_issuer, settings.jwt_audience
    )
    roles = args.role or ["agent"]
    print(
        verifier.issue(
            args.sub or f"dev-{roles[0]}",
            roles,
            args.ttl,
            verified_phone=args.phone,
            organization=args.org,
        )
    )
    return 0


async def _topics() -> int:
    from runtime.kafka import ensure_topics
    from runtime.service import UnstartedService

    settings = ServiceSettings()
    specs = list(TOPICS.values())
    for service in SERVICES:
        groups = UnstartedService(definition_of(service), settings).consumer_groups()
        specs += [dead_letter_topic(group.name) for group in groups]
    created = await ensure_topics(settings.kafka, specs)
    print(json.dumps({"created": created, "topics": [s.name for s in specs]}, indent=2))
    return 0


async def _trace(correlation_id: str) -> int:
    from runtime.trace import trace_flow

    events = await trace_flow(ServiceSettings(), SERVICES, correlation_id)
    print(json.dumps(events, indent=2))
    return 0 if events else 1


def contract_drift() -> list[str]:
    """Differences between the models and the committed schemas/EVENTS.md."""
    problems = []
    current = all_schemas()
    for name, schema in current.items():
        path = SCHEMA_DIR / name
        if not path.exists():
            problems.append(f"{name}: not exported (run `frontdesk contracts export`)")
            continue
        committed = json.loads(path.read_text())
        incompatible = compatibility_problems(committed, schema)
        if incompatible:
            problems.append(
                f"{name}: incompatible change without a new version: {'; '.join(incompatible)}"
            )
        elif dump(committed) != dump(schema):
            problems.append(f"{name}: compatible change not exported (run contracts export)")
    for path in SCHEMA_DIR.glob("*.json"):
        if path.name not in current:
            problems.append(f"{path.name}: committed schema has no model any more")
    if not EVENTS_DOC.exists() or EVENTS_DOC.read_text() != render_events_doc():
        problems.append("contracts/EVENTS.md is out of date (run `frontdesk contracts export`)")
    for path, render in GUIDES.items():
        guide = path.read_text()
        if render(guide) != guide:
            problems.append(
                f"docs/{path.name}: the generated tables are out of date "
                "(run `frontdesk contracts export`)"
            )
    return problems


def cmd_contracts(args: argparse.Namespace) -> int:
    if args.action == "export":
        SCHEMA_DIR.mkdir(exist_ok=True)
        for name, schema in all_schemas().items():
            path = SCHEMA_DIR / name
            if path.exists():
                incompatible = compatibility_problems(json.loads(path.read_text()), schema)
                if incompatible:
                    print(f"{name}: incompatible: {'; '.join(incompatible)}", file=sys.stderr)
                    print("add a new version with an upcaster instead", file=sys.stderr)
                    return 1
            path.write_text(dump(schema))
        EVENTS_DOC.write_text(render_events_doc())
        for path, render in GUIDES.items():
            path.write_text(render(path.read_text()))
        print(
            f"exported {len(all_schemas())} schemas, {EVENTS_DOC.name} and the generated tables "
            f"of {', '.join(f'docs/{path.name}' for path in GUIDES)}"
        )
        return 0
    problems = contract_drift()
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


class RebuildMeter:
    """A rebuild's progress on stderr (stdout keeps the JSON report): one line redrawn in place
    on a terminal, a plain line every few seconds otherwise (logs, CI)."""

    def __init__(self, stream: TextIO, every: float = 5.0) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.every = 0.2 if self.tty else every
        self.shown_at = 0.0
        self.group: str | None = None

    def __call__(self, progress: RebuildProgress) -> None:
        finished = progress.records >= progress.total
        now = time.monotonic()
        if not finished and now - self.shown_at < self.every:
            return
        self.shown_at = now
        line = self.line(progress)
        if self.tty:
            self.stream.write("\r\033[K" + line + ("\n" if finished else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    @staticmethod
    def line(progress: RebuildProgress) -> str:
        left = progress.seconds_left
        share = progress.records / progress.total if progress.total else 1.0
        return (
            f"{progress.group}: {progress.records:,}/{progress.total:,} records ({share:.0%}), "
            f"{progress.rate:,.0f}/s, {progress.elapsed:.0f} s elapsed, "
            + ("done" if progress.records >= progress.total else f"~{_duration(left)} left")
        )


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


async def _retention_after_rebuild(
    runtime: ServiceRuntime, groups: Sequence[ConsumerGroup]
) -> dict[str, int]:
    """A replay brings back the rows the retention job had removed (the events are kept for
    good; their personal values go by crypto-shredding, the rows a read model made of them by
    retention): once every group is replayed, the rebuilt tables get their retention policies
    again, in the service's order (a policy may time its rows by another rebuilt table's), as
    the daily job would, which publishes ``retention.data_purged`` likewise."""
    from runtime.retention import purge

    tables = {table for group in groups for table in group.read_models}
    policies = [policy for policy in runtime.retention_policies if policy.table in tables]
    if not policies:
        return {}
    async with runtime.pool.acquire() as conn, conn.transaction():
        return await purge(conn, runtime, policies, runtime.clock.now())


def _run(command: Coroutine[Any, Any, int]) -> int:
    """A command on the event loop the services run on (uvicorn picks uvloop): a rebuild's
    socket round trips and turns cost less there (docs/performance-history.md, "Session 9")."""
    return uvloop.run(command)


async def _with_service(
    service: str, action: str, group: str | None, commit_every: int = REPLAY_BATCH
) -> int:
    from runtime.consumer import ConsumerRunner, broker_dead_letter_publisher
    from runtime.service import ServiceRuntime, settle_collector

    settings = ServiceSettings()
    runtime = ServiceRuntime(definition_of(service), settings)
    await runtime.connect_database()
    settle_collector()  # as a service process's: what start-up loaded, out of its sight
    try:
        if action == "migrate":
            print(f"{service}: migrations applied")
            return 0
        if action == "digest":
            print(json.dumps(await read_model_digest(runtime.pool, runtime.groups), indent=2))
            return 0
        names = {g.name for g in runtime.groups if g.rebuildable}
        if group is not None and group not in names:
            print(f"{service} has no projection {group!r}; one of {sorted(names)}", file=sys.stderr)
            return 2
        await runtime.broker.connect()
        dead_letters = broker_dead_letter_publisher(runtime.broker, settings.kafka.topic)
        reports = []
        for consumer_group in runtime.groups:
            if not consumer_group.rebuildable or (group and consumer_group.name != group):
                continue
            runner = ConsumerRunner(
                runtime.pool,
                consumer_group,
                dead_letters,
                max_attempts=settings.kafka.consumer_max_attempts,
                topic_name=settings.kafka.topic,
                privacy=runtime.privacy,
            )
            report = await runner.rebuild(
                settings.kafka.bootstrap_servers,
                commit_every=commit_every,
                progress=RebuildMeter(sys.stderr),
            )
            reports.append(report)
        rebuilt = [g for g in runtime.groups if any(g.name == r["group"] for r in reports)]
        purged = await _retention_after_rebuild(runtime, rebuilt)
        for report, rebuilt_group in zip(reports, rebuilt, strict=True):
            report["purged"] = {
                policy.name: purged[policy.name]
                for policy in runtime.retention_policies
                if policy.name in purged and policy.table in rebuilt_group.read_models
            }
        print(json.dumps(reports, indent=2))
        return 0
    finally:
        await runtime.stop()


async def _parked(action: str, service: str, position: int | None) -> int:
    """Outbox records the relay set aside (runtime/relay.py): list them, put them back into
    the outbox (one, or all), or drop one (its event stays in the store, unpublished)."""
    from runtime.db import create_pool, migrate
    from runtime.relay import drop_parked, parked_records, retry_parked

    definition = definition_of(service)
    settings = ServiceSettings()
    pool = await create_pool(settings.dsn(service), min_size=1, max_size=2)
    try:
        await migrate(pool, [definition.migrations])
        if action == "list":
            print(json.dumps(await parked_records(pool), indent=2, default=str))
            return 0
        if action == "retry":
            print(json.dumps({"retried": await retry_parked(pool, position)}))
            return 0
        if position is None:
            print("drop needs the POSITION of one parked record", file=sys.stderr)
            return 2
        if not await drop_parked(pool, position):
            print(f"no parked record at position {position}", file=sys.stderr)
            return 1
        print(json.dumps({"dropped": position}))
        return 0
    finally:
        await pool.close()


async def read_model_digest(pool: Any, groups: Any) -> dict[str, str]:
    """sha256 of every read-model table's rows, in primary-key order."""
    digests = {}
    async with pool.acquire() as conn:
        for group in groups:
            for table in group.read_models:
                rows = await conn.fetch(f"SELECT to_jsonb(t) AS row FROM {table} t ORDER BY 1")
                lines = sorted(json.dumps(row["row"], sort_keys=True) for row in rows)
                digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()
                digests[table] = f"{len(lines)}:{digest}"
    return digests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="frontdesk", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    token = commands.add_parser("token", help="print a development token")
    token.add_argument("--role", action="append", choices=ROLES)
    token.add_argument("--sub", help="the caller's id (default dev-<role>)")
    token.add_argument("--ttl", type=int, default=8 * 3600)
    token.add_argument(
        "--phone", help="a phone number the sign-in verified (E.164; customers' virtual queue)"
    )
    token.add_argument(
        "--org", type=UUID, help="an organization's staff: its id (its contact centre only)"
    )
    commands.add_parser("topics", help="create every topic with its retention")
    trace = commands.add_parser("trace", help="every event of a flow, across the services")
    trace.add_argument("correlation_id", help="the X-Correlation-Id the flow began with")
    contracts_parser = commands.add_parser("contracts", help="export or check the contracts")
    contracts_parser.add_argument("action", choices=["export", "check"])
    for name in ("migrate", "rebuild", "digest"):
        sub = commands.add_parser(name)
        sub.add_argument("service", choices=SERVICES)
        if name == "rebuild":
            sub.add_argument("--group", help="only this consumer group")
            sub.add_argument(
                "--commit-every",
                type=int,
                default=REPLAY_BATCH,
                help=f"records per transaction while replaying (default {REPLAY_BATCH})",
            )
    parked = commands.add_parser("parked", help="outbox records Kafka refused for good")
    parked.add_argument("action", choices=["list", "retry", "drop"])
    parked.add_argument("service", choices=SERVICES)
    parked.add_argument("position", nargs="?", type=int, help="one record (retry: all if none)")
    args = parser.parse_args(argv)
    if args.command == "token":
        return cmd_token(args)
    if args.command == "contracts":
        return cmd_contracts(args)
    if args.command == "parked":
        return _run(_parked(args.action, args.service, args.position))
    if args.command == "topics":
        return _run(_topics())
    if args.command == "trace":
        return _run(_trace(args.correlation_id))
    return _run(
        _with_service(
            args.service,
            args.command,
            getattr(args, "group", None),
            getattr(args, "commit_every", REPLAY_BATCH),
        )
    )


if __name__ == "__main__":
    sys.exit(main())
