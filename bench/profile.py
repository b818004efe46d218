"""Profile a service under load: start it from this checkout in a bench namespace, drive
``POST /tickets`` with N clients, sample the server with py-spy, and print where its CPU went
(inclusive and self shares of the samples, by function and by layer).

    .venv/bin/python -m bench.profile [--seconds 30] [--clients 8] [--new-site-each-time]

The report is printed and written to ``.local/profiles/profile-checkin.txt`` (``--output``),
py-spy's samples beside it, out of git's way. Needs py-spy (``pip install '.[bench]'``) and the
right to ptrace (root, or ``kernel.yama.ptrace_scope=0``).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

from bench.load import run_load
from bench.stack import ROOT, Namespace, load_average

# a frame's layer, by the file it runs in (first match wins)
LAYERS = (
    ("asyncpg", "asyncpg (driver)"),
    ("opentelemetry/instrumentation/asyncpg", "OpenTelemetry asyncpg spans"),
    ("opentelemetry", "OpenTelemetry (spans, context)"),
    ("starlette", "Starlette (middleware, routing)"),
    ("fastapi", "FastAPI (dependencies, validation, serialisation)"),
    ("pydantic", "pydantic"),
    ("uvicorn", "uvicorn / httptools"),
    ("anyio", "anyio (threads for sync dependencies)"),
    ("faststream", "FastStream"),
    ("aiokafka", "aiokafka"),
    ("services/", "service code"),
    ("runtime/", "runtime code"),
    ("contracts/", "contracts"),
    ("json", "json"),
    ("logging", "logging"),
    ("asyncio", "asyncio event loop"),
)


def ticket_request(new_site: bool, run: str):  # type: ignore[no-untyped-def]
    def make(n: int) -> tuple[str, str, dict[str, object]]:
        return (
            "POST",
            "/tickets",
            {
                "site_id": f"bench-{run}-{n}" if new_site else "shenzhen-01",
                "intake": {
                    "problem_category": "account_suspended",
                    "account_ref": f"acct-{run}-{n}",
                    "contact_phone": "+8613800000001",
                    "language": {"tag": "zh-CN"},
                },
            },
        )

    return make


LINE = re.compile(r":\d+\)$")


def layer_of(frame: str) -> str:
    where = frame.split("(", 1)[-1]
    for needle, name in LAYERS:
        if needle in where:
            return name
    return "other (python, stdlib)"


def summarise(collapsed: Path, top: int = 40) -> str:
    """Shares of samples from py-spy's collapsed output (``frame;frame;... count``)."""
    inclusive: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    layers: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        frames = [LINE.sub(")", frame) for frame in stack.split(";")]  # by function
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        leaf[frames[-1]] += count
        # the layer a sample is charged to: the innermost frame outside the stdlib's asyncio
        layers[layer_of(frames[-1])] += count
    if not total:
        return "no samples"
    lines = [f"{total} samples", "", "by layer (self time of the innermost frame):"]
    lines += [f"  {share / total:6.1%}  {name}" for name, share in layers.most_common()]
    lines += ["", f"top {top} frames by inclusive share:"]
    lines += [f"  {count / total:6.1%}  {frame}" for frame, count in inclusive.most_common(top)]
    ours = [(f, c) for f, c in inclusive.most_common() if "services/" in f or "runtime/" in f]
    lines += ["", f"top {top} frames of the services and the runtime by inclusive share:"]
    lines += [f"  {count / total:6.1%}  {frame}" for frame, count in ours[:top]]
    lines += ["", f"top {top} frames by self share:"]
    lines += [f"  {count / total:6.1%}  {frame}" for frame, count in leaf.most_common(top)]
    return "\n".join(lines)


async def main(seconds: float, clients: int, new_site: bool, output: Path) -> None:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    async with Namespace() as namespace:
        checkin = await namespace.service("checkin")
        token = namespace.token("agent")
        make = ticket_request(new_site, namespace.id)
        # warm up (imports, caches, connections), then sample under load
        await run_load(
            checkin.url, make, clients=2, count=20, headers={"Authorization": f"Bearer {token}"}
        )
        output.parent.mkdir(parents=True, exist_ok=True)
        collapsed = output.with_suffix(".collapsed.txt")
        sampler = subprocess.Popen(  # noqa: ASYNC220 - one per run
            [
                py_spy,
                "record",
                "--pid",
                str(checkin.pid),
                "--format",
                "raw",
                "--rate",
                "200",
                "--duration",
                str(int(seconds)),
                "--nonblocking",
                "--output",
                str(collapsed),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        await asyncio.sleep(1)  # py-spy attaches
        result = await run_load(
            checkin.url,
            ticket_request(new_site, uuid.uuid4().hex[:6]),
            clients=clients,
            seconds=seconds - 2,
            headers={"Authorization": f"Bearer {token}"},
            server_pid=checkin.pid,
        )
        _, errors = await asyncio.to_thread(sampler.communicate)
        header = (
            f"POST /tickets, {clients} clients, {result.seconds:.0f} s, "
            f"{'a new site each time' if new_site else 'one site (the queue grows)'}: "
            f"{result.requests} tickets, {result.per_second:.1f}/s, "
            f"p50 {result.p50_ms:.0f} ms, p99 {result.p99_ms:.0f} ms, "
            f"server CPU {result.cpu_ms_per_request or 0:.1f} ms per ticket, "
            f"{result.errors} errors; load average {load_average()}"
        )
        if not collapsed.exists():
            raise SystemExit(f"py-spy wrote nothing: {errors.decode()[-2000:]}")
        report = header + "\n\n" + summarise(collapsed)
        await asyncio.to_thread(output.write_text, report + "\n")
        print(report)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--new-site-each-time", action="store_true")
    parser.add_argument(
        "--output",
        type=Path,
        default=ROOT / ".local" / "profiles" / "profile-checkin.txt",  # git ignores .local/
        help="the report; py-spy's samples go beside it (.collapsed.txt)",
    )
    arguments = parser.parse_args()
    asyncio.run(
        main(arguments.seconds, arguments.clients, arguments.new_site_each_time, arguments.output)
    )
