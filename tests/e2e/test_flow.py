"""The walking skeleton end to end, across four service processes, real Kafka and PostgreSQL:
a check-in opens a case readable from the cases API; verification and notifications react;
one trace spans the services; a Kafka outage loses nothing."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ROOT, auth, eventually
from tests.e2e.conftest import ServiceProcess, TraceCollector, new_id

pytestmark = pytest.mark.e2e


def check_in(account_ref: str) -> dict[str, Any]:
    return {
        "site_id": "shenzhen-01",
        "channel": "walk_in",
        "intake": {
            "problem_category": "account_recovery_lost_phone",
            "account_ref": account_ref,
            "contact_phone": "+8613800000002",
            "language": {"tag": "zh-CN"},
            "accessibility_needs": ["elderly"],
        },
    }


async def follow_flow(
    client: httpx.AsyncClient,
    processes: dict[str, ServiceProcess],
    customer: dict[str, str],
    staff: dict[str, str],
    ticket_id: str,
) -> dict[str, Any]:
    async def case_of_ticket() -> Any:
        response = await client.get(
            f"{processes['cases'].url}/cases", params={"ticket_id": ticket_id}, headers=customer
        )
        assert response.status_code == 200, response.text
        return response.json()

    [case] = await eventually(case_of_ticket, within=120)
    read = await client.get(f"{processes['cases'].url}/cases/{case['case_id']}", headers=customer)
    assert read.status_code == 200
    assert read.json()["case_type"] == "account_recovery_lost_phone"

    async def check_plan() -> Any:
        response = await client.get(
            f"{processes['verification'].url}/verification/case-plans/{case['case_id']}",
            headers=staff,
        )
        return response.json() if response.status_code == 200 else None

    plan = await eventually(check_plan, within=120)
    assert plan["required_checks"] == ["knowledge_challenge", "document_and_liveness"]

    async def notification() -> Any:
        response = await client.get(
            f"{processes['notifications'].url}/notifications",
            params={"recipient_ref": f"ticket:{ticket_id}"},
            headers=staff,
        )
        return response.json()

    [message] = await eventually(notification, within=120)
    assert message["kind"] == "ticket_issued"
    return case


async def test_check_in_opens_a_case_and_one_trace_spans_the_services(
    processes: dict[str, ServiceProcess],
    collector: tuple[TraceCollector, str],
    token: Callable[..., str],
) -> None:
    traces, _ = collector
    customer = auth(token("customer", sub=f"cust-{new_id()}"))
    staff = auth(token("agent"))
    async with httpx.AsyncClient(timeout=10) as client:
        issued = await client.post(
            f"{processes['checkin'].url}/tickets",
            json=check_in(f"acct-{new_id()}"),
            headers=customer,
        )
        assert issued.status_code == 201, issued.text
        ticket = issued.json()
        assert ticket["number"].startswith("A")
        await follow_flow(client, processes, customer, staff, ticket["ticket_id"])

    def http_trace_id() -> str | None:
        for span in list(traces.spans):
            if span.service == "checkin" and span.name == "POST /tickets":
                return span.trace_id
        return None

    def orphans(spans: list[Any]) -> list[Any]:
        by_id = {span.span_id for span in spans}
        return [s for s in spans if s.parent_span_id and s.parent_span_id not in by_id]

    async def complete_trace_across_services() -> list[Any] | None:
        """All four services in the trace of the HTTP request, and every span's parent in it
        (a parent span is exported when it ends, after its children: wait for it)."""
        trace_id = http_trace_id()
        if trace_id is None:
            return None
        spans = traces.trace(trace_id)
        services = {span.service for span in spans}
        wanted = {"checkin", "cases", "verification", "notifications"}
        return spans if wanted <= services and not orphans(spans) else None

    try:
        spans = await eventually(complete_trace_across_services, within=90)
    except AssertionError:
        spans = traces.trace(http_trace_id() or "")
        raise AssertionError(
            f"services {sorted({s.service for s in spans})}; orphans {orphans(spans)}"
        ) from None
    names = {(span.service, span.name) for span in spans}
    assert any(service == "cases" and "process" in name for service, name in names), names
    assert any(service == "checkin" and "INSERT" in name for service, name in names), names


async def test_a_persons_copy_of_their_data_comes_from_every_service(
    processes: dict[str, ServiceProcess], token: Callable[..., str]
) -> None:
    account = f"acct-{new_id()}"
    customer = auth(token("customer", sub=f"cust-{account}"))
    staff, supervisor = auth(token("agent")), auth(token("supervisor"))
    async with httpx.AsyncClient(timeout=20) as client:
        issued = await client.post(
            f"{processes['checkin'].url}/tickets", json=check_in(account), headers=customer
        )
        assert issued.status_code == 201, issued.text
        await follow_flow(client, processes, customer, staff, issued.json()["ticket_id"])
        subject = f"account:{account}"
        refused = await client.get(
            f"{processes['cases'].url}/privacy/subjects/{subject}/export", headers=staff
        )
        assert refused.status_code == 403
        exported = await client.get(
            f"{processes['cases'].url}/privacy/subjects/{subject}/export", headers=supervisor
        )
    assert exported.status_code == 200, exported.text
    document = exported.json()
    assert document["subject_id"] == subject
    assert set(document["services"]) == {"checkin", "cases", "verification", "notifications"}
    [ticket] = [
        e
        for e in document["services"]["checkin"]["events"]
        if e["event_type"] == "checkin.ticket_issued"
    ]
    assert ticket["payload"]["intake"]["contact_phone"] == "+8613800000002"  # decrypted
    assert any(
        e["event_type"] == "cases.case_opened" for e in document["services"]["cases"]["events"]
    )


async def scraped(client: httpx.AsyncClient, service: ServiceProcess, name: str) -> float:
    answer = await client.get(f"{service.url}/metrics")
    assert answer.status_code == 200, answer.text
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            if sample.name == name:
                return float(sample.value)
    raise AssertionError(f"{name} is not exposed by {service.name}")


async def outbox_age(
    client: httpx.AsyncClient, service: ServiceProcess, *, above: float
) -> float | None:
    age = await scraped(client, service, "frontdesk_outbox_oldest_age_seconds")
    return age if age > above else None


async def outbox_drained(client: httpx.AsyncClient, service: ServiceProcess) -> bool:
    pending = await scraped(client, service, "frontdesk_outbox_pending")
    age = await scraped(client, service, "frontdesk_outbox_oldest_age_seconds")
    return pending == 0 and age == 0


async def test_frontdesk_trace_follows_a_check_in_across_the_services(
    processes: dict[str, ServiceProcess], token: Callable[..., str]
) -> None:
    customer = auth(token("customer", sub=f"cust-{new_id()}"))
    staff = auth(token("agent"))
    correlation = str(uuid.uuid4())
    async with httpx.AsyncClient(timeout=20) as client:
        issued = await client.post(
            f"{processes['checkin'].url}/tickets",
            json=check_in(f"acct-{new_id()}"),
            headers={**customer, "X-Correlation-Id": correlation},
        )
        assert issued.status_code == 201, issued.text
        assert issued.headers["X-Correlation-Id"] == correlation
        await follow_flow(client, processes, customer, staff, issued.json()["ticket_id"])

    last: dict[str, Any] = {}

    async def traced() -> list[dict[str, Any]] | None:
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "runtime.cli", "trace", correlation],
            env=processes["checkin"].env,  # the processes' namespace
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        last.update(returncode=done.returncode, stderr=done.stderr[-2000:])
        if done.returncode != 0:
            return None
        events: list[dict[str, Any]] = json.loads(done.stdout)
        producers = {event["service"] for event in events}
        groups = {group.split(".")[0] for event in events for group in event["applied_by"]}
        last.update(producers=sorted(producers), groups=sorted(groups), events=len(events))
        everyone = {"checkin", "cases", "verification", "notifications"}
        complete = {"checkin", "cases", "notifications"} <= producers and everyone <= groups
        return events if complete else None

    try:
        events = await eventually(traced, within=180, interval=1.0)
    except AssertionError:
        raise AssertionError(f"the trace never covered the flow: {last}") from None
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
    first = events[0]
    assert first["event"].startswith("checkin.ticket_issued")
    assert any("cases.case_opened" in e["event"] for e in events)
    assert all(e["trace_id"] for e in events)
    assert "acct-" not in json.dumps(events)  # nothing that names the person


async def test_a_kafka_outage_loses_nothing(
    processes: dict[str, ServiceProcess], token: Callable[..., str]
) -> None:
    customer = auth(token("customer", sub=f"cust-{new_id()}"))
    staff = auth(token("agent"))
    infra = ["bash", str(ROOT / "deploy" / "infra.sh")]
    await asyncio.to_thread(subprocess.run, [*infra, "kafka-stop"], check=True)
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            issued = await client.post(
                f"{processes['checkin'].url}/tickets",
                json=check_in(f"acct-{new_id()}"),
                headers=customer,
            )
            assert issued.status_code == 201, issued.text  # accepted while Kafka is down

            async def waiting_in_the_outbox() -> httpx.Response | None:
                ready = await client.get(f"{processes['checkin'].url}/readyz")
                assert ready.status_code == 503, ready.text  # Kafka is down
                return ready if (ready.json()["checks"]["outbox_pending"] or 0) >= 1 else None

            await eventually(waiting_in_the_outbox)
            # what an SRE sees meanwhile: a backlog whose oldest row grows older
            first = await eventually(lambda: outbox_age(client, processes["checkin"], above=0))
            await eventually(lambda: outbox_age(client, processes["checkin"], above=first))
            await asyncio.to_thread(subprocess.run, [*infra, "kafka-start"], check=True)
            await follow_flow(client, processes, customer, staff, issued.json()["ticket_id"])

            async def ready_again() -> bool:
                answer = await client.get(f"{processes['checkin'].url}/readyz")
                return answer.status_code == 200

            await eventually(ready_again)
            await eventually(lambda: outbox_drained(client, processes["checkin"]))
    finally:  # whatever happened, leave the broker running for the rest of the session
        await asyncio.to_thread(subprocess.run, [*infra, "kafka-start"], check=True)
