"""Fixtures of verification's integration tests.

- ``sandbox_idp``: the sandbox identity provider as its OWN process
  (``python -m sandboxes.identity_provider``) on a free port;
- the in-process verification service is also served on a real port, so that the sandbox's
  webhooks travel over HTTP like a provider's, and its wiring points at the sandbox (the real
  ``HttpIdentityProvider`` code path: httpx calls, signature checks). The shared ``stack``
  builds its services before this fixture knows the ports, so the fixture gives the running
  service its own wiring (``runtime.wiring``) and restores the previous one afterwards;
- the sandbox bank served over HTTP on a free port: the service sends its micro-deposits
  through the real ``HttpBank``, and an organization reads its statement there as the account
  holder (``bank_url``; ``bank`` is the same ledger in process).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest_asyncio
import uvicorn

from contracts import Actor, Envelope
from contracts.events.cases import VerificationRequested
from contracts.vocabulary import LanguagePreference, PersonRole, RiskLevel, VerificationPurpose
from runtime.errors import ConcurrencyConflict
from runtime.eventstore import CommandContext
from sandboxes import bank as sandbox_bank
from sandboxes.account_platform import SandboxAccountFacts
from sandboxes.bank import SandboxBank
from services.verification.adapters.bank import HttpBank
from services.verification.adapters.identity_provider import HttpIdentityProvider
from services.verification.config import VerificationSettings
from services.verification.wiring import Wiring
from tests.conftest import ROOT, auth, eventually
from tests.integration.conftest import RunningService
from tests.integration.kafka_tools import read_topic
from tests.integration.test_http import intake

API_KEY = "sandbox-api-key-for-tests"
WEBHOOK_SECRET = "sandbox-webhook-secret-for-tests"
BANK_API_KEY = "sandbox-bank-api-key-for-tests"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SandboxIdp:
    base_url: str
    verification_url: str
    process: subprocess.Popen[bytes]
    wiring: Wiring
    bank: SandboxBank
    bank_url: str

    @property
    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, timeout=30)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def sandbox_idp(stack: dict[str, RunningService]) -> AsyncIterator[SandboxIdp]:
    idp_port, service_port, bank_port = free_port(), free_port(), free_port()
    process = subprocess.Popen(  # noqa: ASYNC220 - a long-lived child process
        [
            sys.executable,
            "-m",
            "sandboxes.identity_provider",
            "--port",
            str(idp_port),
            "--api-key",
            API_KEY,
            "--webhook-secret",
            WEBHOOK_SECRET,
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base_url = f"http://127.0.0.1:{idp_port}"
    verification = stack["verification"]
    server = uvicorn.Server(
        uvicorn.Config(
            verification.app,
            host="127.0.0.1",
            port=service_port,
            lifespan="off",
            log_config=None,
            access_log=False,
        )
    )
    serving = asyncio.create_task(server.serve())
    bank = SandboxBank()
    bank_server = uvicorn.Server(
        uvicorn.Config(
            sandbox_bank.create_app(BANK_API_KEY, bank),
            host="127.0.0.1",
            port=bank_port,
            lifespan="off",
            log_config=None,
            access_log=False,
        )
    )
    bank_serving = asyncio.create_task(bank_server.serve())
    bank_url = f"http://127.0.0.1:{bank_port}"
    try:

        async def healthy() -> bool:
            with contextlib.suppress(httpx.HTTPError):
                async with httpx.AsyncClient(timeout=60) as client:
                    return (await client.get(f"{base_url}/healthz")).status_code == 200
            return False

        await eventually(healthy, within=90)
        await eventually(lambda: _started(server), within=90)
        await eventually(lambda: _started(bank_server), within=90)
        settings = VerificationSettings(
            public_base_url=f"http://127.0.0.1:{service_port}",
            idp_base_url=base_url,
            idp_api_key=API_KEY,
            idp_webhook_secret=WEBHOOK_SECRET,
            # short periods: the test clock is shared, and every service's retention job
            # (inboxes: 30 days) runs on it; these tests move it by about two days in all
            session_ttl_minutes=60,
            lockout_cooldown_minutes=60,
            media_retention_days=1,
            deposit_expiry_days=1,
        )
        wiring = Wiring(
            settings=settings,
            facts=SandboxAccountFacts(),
            identity_provider=HttpIdentityProvider(
                name="sandbox",
                base_url=base_url,
                api_key=API_KEY,
                webhook_secret=WEBHOOK_SECRET.encode(),
            ),
            bank=HttpBank(base_url=bank_url, api_key=BANK_API_KEY),
        )
        previous, verification.runtime.wiring = verification.runtime.wiring, wiring
        yield SandboxIdp(base_url, settings.public_base_url, process, wiring, bank, bank_url)
        verification.runtime.wiring = previous
    finally:
        server.should_exit = bank_server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(serving, 10)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(bank_serving, 10)
        process.terminate()
        process.wait(10)


async def _started(server: uvicorn.Server) -> bool:
    return server.started


# -- helpers shared by the tests --------------------------------------------------------------


async def open_case(
    stack: dict[str, RunningService],
    token: Callable[..., str],
    account: str,
    customer: str,
    category: str,
) -> dict[str, Any]:
    """A visitor checks in; the cases service opens the case (the real flow)."""
    body = intake(account)
    body["intake"]["problem_category"] = category
    created = await stack["checkin"].client.post(
        "/tickets", json=body, headers=auth(token("customer", sub=customer))
    )
    assert created.status_code == 201, created.text
    ticket_id = created.json()["ticket_id"]

    async def case() -> Any:
        response = await stack["cases"].client.get(
            "/cases", params={"ticket_id": ticket_id}, headers=auth(token("agent"))
        )
        return response.json()

    [opened] = await eventually(case)
    return {"ticket_id": ticket_id, **opened}


async def request_verification(
    cases: RunningService,
    case_id: str,
    account: str,
    *,
    purpose: VerificationPurpose,
    person_role: PersonRole,
    person_ref: str | None,
    risk: RiskLevel,
    now: datetime,
) -> uuid.UUID:
    """Append ``cases.verification_requested`` to the case's stream in the cases service's own
    event store, exactly as the cases service does: its relay publishes it to
    frontdesk.cases.cases (the cases service has no endpoint for it yet)."""
    verification_id = uuid.uuid4()
    request = VerificationRequested(
        case_id=uuid.UUID(case_id),
        verification_id=verification_id,
        account_ref=account,
        purpose=purpose,
        person_role=person_role,
        person_ref=person_ref,
        risk_level=risk,
        language=LanguagePreference(tag="zh-CN"),
        requested_at=now,
    )
    stream_id = f"case-{case_id}"
    context = CommandContext(actor=Actor(id="agent-7", role="agent"), correlation_id=uuid.uuid4())
    for attempt in range(5):
        try:
            async with cases.runtime.pool.acquire() as conn, conn.transaction():
                version = await conn.fetchval(
                    "SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = $1",
                    stream_id,
                )
                await cases.runtime.store.append(conn, stream_id, version, [request], context)
            return verification_id
        except ConcurrencyConflict:
            # the cases service's own reactions append to the same case (e.g. an earlier
            # verification completed): reload and try again, as a command does
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


async def events_on_topic(stack: dict[str, RunningService], topic: str) -> list[Envelope]:
    settings = stack["verification"].runtime.settings
    records = await read_topic(settings.kafka.bootstrap_servers, settings.kafka.topic(topic))
    return [Envelope.from_bytes(record.value) for record in records if record.value]


def right_option(question: dict[str, Any], account: str) -> str:
    """The right answer of a sandbox question (the sandbox data set says what is true)."""
    answers = SandboxAccountFacts.sandbox_answers(account)
    facts = answers.facts
    match question["kind"]:
        case "past_password":
            return answers.past_password
        case "phone_last4":
            assert facts.phone_last4 is not None
            return facts.phone_last4
        case "friend":
            [right] = [o for o in question["options"] if o in facts.friends]
            return right
        case "login_city":
            [right] = [o for o in question["options"] if o in facts.login_cities]
            return right
    raise AssertionError(question["kind"])


def wrong_option(question: dict[str, Any], account: str) -> str:
    right = right_option(question, account)
    if question["options"]:
        return next(o for o in question["options"] if o != right)
    return f"not-{right}-{time.time_ns()}"
