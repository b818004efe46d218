"""What must not be kept is not kept: one-time codes, knowledge answers, past passwords and
media bytes never reach a Kafka record or a log line; held media is encrypted and purged by
timer with an event. And verification's read models are a function of the stream."""

from __future__ import annotations

import base64
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest

from contracts.events.verification_media import VERIFICATION_MEDIA
from runtime.scheduler import OffsetClock
from runtime.telemetry import JsonLogFormatter
from sandboxes.account_platform import SandboxAccountFacts
from tests.conftest import auth, eventually
from tests.integration.conftest import RunningService
from tests.integration.kafka_tools import standing_still
from tests.integration.test_privacy import raw_log
from tests.integration.test_rebuild import cli
from tests.integration.verification.conftest import SandboxIdp, events_on_topic
from tests.integration.verification.test_organizations import (
    brand,
    profile,
    staff_flags,
    verify_steps,
)

pytestmark = pytest.mark.integration

Stack = dict[str, RunningService]


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(JsonLogFormatter("verification-test"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextmanager
def captured_logs() -> Iterator[Collect]:
    handler = Collect()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


def code_pattern(code: str) -> re.Pattern[bytes]:
    """The code as a JSON value or a bare token (not digits inside a timestamp or an id)."""
    return re.compile(rb"(?<![0-9a-fA-F.:\-])" + code.encode() + rb"(?![0-9a-fA-F])")


async def test_codes_answers_passwords_and_media_never_reach_kafka_or_logs_and_media_is_purged(
    stack: Stack, token: Callable[..., str], sandbox_idp: SandboxIdp, clock: OffsetClock
) -> None:
    client = stack["verification"].client
    account, person = f"acct-{uuid.uuid4().hex[:8]}", f"cust-{uuid.uuid4().hex[:8]}"
    me = auth(token("customer", sub=person))
    secrets_seen: list[bytes] = []
    marker = f"FACE-AND-DOCUMENT-BYTES-{uuid.uuid4().hex}".encode()
    with captured_logs() as logs:
        started = await client.post(
            "/verification/sessions",
            json={
                "account_ref": account,
                "purpose": "wallet_reactivation",
                "risk_level": "low",
                "person_role": "holder",
                "person_ref": person,
            },
            headers=auth(token("agent")),
        )
        verification_id = started.json()["verification_id"]
        requested = await client.post(
            f"/verification/sessions/{verification_id}/possession-code",
            json={"channel": "sms"},
            headers=me,
        )
        claim = f"/internal/code-deliveries/{requested.json()['delivery_id']}/claim"
        claimed = await client.post(claim, headers=auth(token("service", sub="notifications")))
        code = claimed.json()["code"]
        assert re.fullmatch(r"[0-9]{6}", code)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        for attempt in (wrong, code):
            await client.post(
                f"/verification/sessions/{verification_id}/possession-code/verification",
                json={"code": attempt},
                headers=me,
            )
        challenge = await client.post(
            f"/verification/sessions/{verification_id}/knowledge-challenge", headers=me
        )
        assert challenge.status_code == 201, challenge.text
        password = SandboxAccountFacts.sandbox_answers(account).past_password
        secrets_seen.append(password.encode())
        for question in challenge.json()["questions"]:
            if question["kind"] == "past_password":
                answered = await client.post(
                    f"/verification/sessions/{verification_id}/knowledge-challenge/answers",
                    json={"question_id": question["question_id"], "answer": password},
                    headers=me,
                )
                assert answered.json()["correct"] is True
        uploaded = await client.post(
            f"/verification/sessions/{verification_id}/media",
            json={
                "kind": "ownership_evidence",
                "content_type": "image/jpeg",
                "content_base64": base64.b64encode(marker).decode(),
            },
            headers=me,
        )
        assert uploaded.status_code == 201, uploaded.text
        media_id = uploaded.json()["media_id"]
        sealed = await stack["verification"].runtime.pool.fetchval(
            "SELECT sealed FROM media_objects WHERE media_id = $1", uuid.UUID(media_id)
        )
        assert sealed is not None
        assert marker not in bytes(sealed)  # held encrypted

        clock.advance(timedelta(days=1, minutes=1))  # media are kept a day in these tests
        await stack["verification"].timers.fire_due()

        async def purged() -> Any:
            return [
                e
                for e in await events_on_topic(stack, VERIFICATION_MEDIA.name)
                if e.event_type == "verification.media_purged" and e.payload["media_id"] == media_id
            ]

        [event] = await eventually(purged)
        assert event.payload["reason"] == "retention_period_ended"
        row = await stack["verification"].runtime.pool.fetchrow(
            "SELECT sealed, purged_at FROM media_objects WHERE media_id = $1", uuid.UUID(media_id)
        )
        assert row["sealed"] is None
        assert row["purged_at"] is not None

        async def completed() -> Any:
            return await stack["verification"].runtime.pool.fetchval(
                "SELECT count(*) FROM events WHERE stream_id = $1 AND event_type = $2",
                f"verification-{verification_id}",
                "verification.verification_completed",
            )

        await eventually(completed)  # the session ended (expired) — its topic is complete
        raw = await raw_log(stack["verification"].runtime.settings)

    assert raw, "no Kafka records read"
    log_text = "\n".join(logs.lines).encode()
    assert log_text, "no log lines captured"
    for haystack, where in ((raw, "Kafka"), (log_text, "logs")):
        assert not code_pattern(code).search(haystack), f"the one-time code is in the {where}"
        for secret in [*secrets_seen, marker, base64.b64encode(marker)]:
            assert secret not in haystack, f"a secret is in the {where}"
    # the database keeps the code only as a keyed digest, and only while the session is open
    stored = await stack["verification"].runtime.pool.fetch(
        "SELECT to_jsonb(c)::text AS row FROM code_deliveries c WHERE verification_id = $1",
        uuid.UUID(verification_id),
    )
    assert all(not code_pattern(code).search(r["row"].encode()) for r in stored)


# -- state rebuilt from the stream equals live state -------------------------------------------


async def test_verification_read_models_rebuilt_from_kafka_equal_the_live_ones(
    stack: Stack,
    token: Callable[..., str],
    sandbox_idp: SandboxIdp,
    env_for_processes: dict[str, str],
) -> None:
    client = stack["verification"].client
    # a session waiting for a reviewer (any check can go to the queue)
    started = await client.post(
        "/verification/sessions",
        json={
            "account_ref": f"acct-{uuid.uuid4().hex[:8]}",
            "purpose": "suspension_appeal",
            "risk_level": "high",
            "person_role": "holder",
        },
        headers=auth(token("agent")),
    )
    verification_id = started.json()["verification_id"]
    queued = await client.post(
        f"/verification/sessions/{verification_id}/reviews/requests",
        json={"check": "knowledge_challenge", "reason": "the holder cannot read the questions"},
        headers=auth(token("agent")),
    )
    assert queued.status_code == 200, queued.text
    await client.post(
        f"/verification/sessions/{verification_id}/reviews/decisions",
        json={"check": "knowledge_challenge", "approved": True, "reason": "asked in person"},
        headers=auth(token("reviewer", sub="rev-x")),
    )
    # a verified organization and a flagged one
    name = brand()
    admin = auth(token("customer", sub=f"admin-{name}"))
    body = profile(f"{name}.com", contact_domain=f"{name}-support.com")
    org = (await client.post("/verification/organizations", json=body, headers=admin)).json()
    await verify_steps(
        stack, token, sandbox_idp, org["organization_id"], admin, body["bank_account_number"]
    )
    [flag] = await staff_flags(client, token, org["organization_id"])
    await client.post(
        f"/verification/organizations/{org['organization_id']}/flags/{flag['flag_id']}/clearance",
        json={"reason": "the support subsidiary's domain"},
        headers=auth(token("reviewer", sub="rev-x")),
    )
    async with standing_still(stack):  # nothing in flight, no timer fires meanwhile
        before = await cli(env_for_processes, "digest", "verification")
        for table in (
            "session_views",
            "review_queue",
            "organization_views",
            "lookalike_flags",
            "verified_domains",
        ):
            assert not before[table].startswith("0:"), before
        reports = await cli(env_for_processes, "rebuild", "verification")
        assert len(reports) == 3, reports  # case plans, sessions, organizations
        applied = {report["group"]: report["applied"] for report in reports}
        assert applied["verification.sessions"] > 0, reports
        assert applied["verification.organizations"] > 0, reports
        after = await cli(env_for_processes, "digest", "verification")
    assert after == before
