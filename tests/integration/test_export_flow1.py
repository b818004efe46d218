"""A person's copy of their data after BRIEF flow 1, gathered by cases from every service over
HTTP: walk-in, ticket, case, verification steps, decision, callback, messages, consents; and
the holder's own copy after a verification they passed (self-service). Both are audited."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
import uvicorn

from runtime.scheduler import OffsetClock
from sandboxes.account_platform import SandboxAccountFacts
from services.cases.domain.data_subject import check_self_export
from tests.conftest import auth, eventually
from tests.integration.conftest import RunningService
from tests.integration.verification.conftest import free_port, right_option

pytestmark = pytest.mark.integration

Stack = dict[str, RunningService]
WORDS = "FAKE: my phone number is dead and the account is suspended"
PHONE = "+8613800000123"
DOCUMENT = b"%PDF-1.4 FAKE IDENTITY DOCUMENT SCAN 0xDEADBEEF"


@pytest_asyncio.fixture(loop_scope="session")
async def peers(stack: Stack) -> AsyncIterator[dict[str, str]]:
    """The four in-process services served over real HTTP (as their processes would be), and
    the peers setting pointing at them, so the gathering and the self-service check call the
    services' real APIs."""
    servers, tasks, urls = [], [], {}
    for name, service in stack.items():
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(
                service.app,
                host="127.0.0.1",
                port=port,
                lifespan="off",
                log_config=None,
                access_log=False,
            )
        )
        servers.append(server)
        tasks.append(asyncio.create_task(server.serve()))
        urls[name] = f"http://127.0.0.1:{port}"
    settings = stack["cases"].runtime.settings
    before = settings.peers
    try:
        for server in servers:

            async def started(server: uvicorn.Server = server) -> bool:
                return server.started

            await eventually(started, within=90)
        settings.peers = ",".join(f"{name}={url}" for name, url in urls.items())
        yield urls
    finally:
        settings.peers = before
        for server in servers:
            server.should_exit = True
        for task in tasks:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 10)


async def until(probe: Callable[[], Any], within: float = 30) -> Any:
    return await eventually(probe, within=within)


async def walk_in_to_decision(
    stack: Stack, token: Callable[..., str], account: str, holder: str
) -> dict[str, Any]:
    """BRIEF flow 1 through the real APIs: check-in, case, verification steps, decision,
    callback, consents. Returns the ids the export must contain."""
    visitor = auth(token("customer", sub=holder))
    agent = auth(token("agent", sub="agent-flow1-export"))
    issued = await stack["checkin"].client.post(
        "/tickets",
        json={
            "site_id": "shenzhen-01",
            "channel": "walk_in",
            "intake": {
                "problem_category": "account_recovery_lost_phone",
                "account_ref": account,
                "contact_phone": PHONE,
                "language": {"tag": "zh-CN"},
                "description": WORDS,
            },
        },
        headers=visitor,
    )
    assert issued.status_code == 201, issued.text
    ticket_id = issued.json()["ticket_id"]
    cases = stack["cases"].client

    async def case_of_ticket() -> Any:
        response = await cases.get("/cases", params={"ticket_id": ticket_id}, headers=visitor)
        return response.json()

    [case] = await until(case_of_ticket)
    case_id = case["case_id"]
    triaged = await cases.post(f"/cases/{case_id}/status", json={"status": "triage"}, headers=agent)
    assert triaged.status_code == 200, triaged.text
    requested = await cases.post(
        f"/cases/{case_id}/verifications", json={"person_ref": holder}, headers=agent
    )
    assert requested.status_code == 201, requested.text
    verification_id = requested.json()["verification_id"]

    verification = stack["verification"].client

    async def session() -> Any:
        response = await verification.get(
            f"/verification/sessions/{verification_id}", headers=visitor
        )
        return response.json() if response.status_code == 200 else None

    state = await until(session)
    facts = SandboxAccountFacts.sandbox_answers(account).facts
    media_id = None
    while state["status"] == "open":
        check = state["current_check"]
        base = f"/verification/sessions/{verification_id}"
        if check == "knowledge_challenge":
            challenge = await verification.post(f"{base}/knowledge-challenge", headers=visitor)
            assert challenge.status_code == 201, challenge.text
            for question in challenge.json()["questions"]:
                answered = await verification.post(
                    f"{base}/knowledge-challenge/answers",
                    json={
                        "question_id": question["question_id"],
                        "answer": right_option(question, account),
                    },
                    headers=visitor,
                )
                assert answered.status_code == 200, answered.text
                if answered.json()["session"]["current_check"] != check:
                    break
        elif check == "ownership_evidence":
            evidence = await verification.post(
                f"{base}/ownership-evidence",
                json={
                    "device": facts.devices[0],
                    "login_cities": list(facts.login_cities[:2]),
                    "payment": {
                        "card_last4": facts.payments[0].card_last4,
                        "amount_cents": facts.payments[0].amount_cents,
                    },
                },
                headers=visitor,
            )
            assert evidence.status_code == 200, evidence.text
        else:  # the document: uploaded, and a reviewer (or two) checks it against the person
            uploaded = await verification.post(
                f"{base}/media",
                json={
                    "kind": "ownership_evidence",
                    "content_type": "application/pdf",
                    "content_base64": base64.b64encode(DOCUMENT).decode(),
                },
                headers=visitor,
            )
            assert uploaded.status_code == 201, uploaded.text
            media_id = uploaded.json()["media_id"]
            queued = await verification.post(
                f"{base}/reviews/requests",
                json={
                    "check": check,
                    "reason": "document checked at the desk",
                    "evidence_refs": [media_id],
                },
                headers=agent,
            )
            assert queued.status_code == 200, queued.text
            for reviewer in ("reviewer-flow1-a", "reviewer-flow1-b"):
                decided = await verification.post(
                    f"{base}/reviews/decisions",
                    json={"check": check, "approved": True, "reason": "the document matches"},
                    headers=auth(token("reviewer", sub=reviewer)),
                )
                assert decided.status_code == 200, decided.text
                if decided.json()["current_check"] != check:
                    break
        state = await session()
    assert state["status"] == "verified", state

    async def in_review() -> Any:
        response = await cases.get(f"/cases/{case_id}", headers=agent)
        return response.json()["status"] == "in_review"

    await until(in_review)
    # the agent promises to call back with the outcome's next steps
    callback = await cases.post(
        f"/cases/{case_id}/callbacks",
        json={"phone": PHONE, "within_hours": 24},
        headers=agent,
    )
    assert callback.status_code == 201, callback.text
    decided = await cases.post(
        f"/cases/{case_id}/decision",
        json={
            "outcome": "restored",
            "reason_code": "OWNERSHIP-PROVEN",
            "facts": {"checks": "knowledge, ownership, document"},
        },
        headers=agent,
    )
    assert decided.status_code == 201, decided.text
    consent = await stack["notifications"].client.put(
        f"/recipients/{account}/preferences",
        json={"channels": ["sms"], "phone": PHONE, "marketing_consent": ["sms"]},
        headers=agent,
    )
    assert consent.status_code == 200, consent.text
    return {
        "ticket_id": ticket_id,
        "case_id": case_id,
        "verification_id": verification_id,
        "media_id": media_id,
        "callback_id": callback.json()["callback_id"],
    }


def events_of(document: dict[str, Any], service: str, event_type: str) -> list[dict[str, Any]]:
    return [e for e in document["services"][service]["events"] if e["event_type"] == event_type]


async def test_the_copy_of_a_person_who_went_through_flow_1_has_everything_and_is_audited(
    stack: Stack, token: Callable[..., str], peers: dict[str, str]
) -> None:
    account, holder = f"acct-{uuid.uuid4().hex[:8]}", f"cust-{uuid.uuid4().hex[:8]}"
    subject = f"account:{account}"
    ids = await walk_in_to_decision(stack, token, account, holder)

    exports_made = 0  # each export is audited: the polling below may take more than one

    async def exported() -> dict[str, Any] | None:
        nonlocal exports_made
        exports_made += 1
        response = await stack["cases"].client.get(
            f"/privacy/subjects/{subject}/export",
            headers=auth(token("supervisor", sub="supervisor-export")),
        )
        assert response.status_code == 200, response.text
        document = response.json()
        services = document["services"]
        # every part asserted below comes from a read model of its own consumer group (or
        # stream): the verification sessions', the audit log's, the ticket's message
        sessions = services["verification"]["verifications"]
        complete = (
            services["notifications"]["callbacks"]
            and any(
                m["recipient_ref"] == f"ticket:{ids['ticket_id']}"
                for m in services["notifications"]["messages"]
            )
            and services["notifications"]["preferences"]
            and services["cases"]["cases"]
            and services["cases"]["cases"][0]["decision"]
            and services["cases"]["cases"][0]["callbacks"]
            and services["cases"]["accesses"]
            and sessions
            and sessions[0]["status"] == "verified"
        )
        return document if complete else None

    document = await until(exported, within=120)
    assert document["subject_id"] == subject
    assert set(document["services"]) == {"checkin", "cases", "verification", "notifications"}
    # the ticket and the intake, decrypted
    [ticket] = events_of(document, "checkin", "checkin.ticket_issued")
    assert ticket["payload"]["intake"]["description"] == WORDS
    assert ticket["payload"]["intake"]["contact_phone"] == PHONE
    assert [t["ticket_id"] for t in document["services"]["checkin"]["tickets"]] == [
        ids["ticket_id"]
    ]
    # the case, its timeline, the decision naming its rule, the verification outcome
    [case] = document["services"]["cases"]["cases"]
    assert case["case_id"] == ids["case_id"]
    assert case["summary"] == WORDS
    assert case["decision"]["reason_code"] == "OWNERSHIP-PROVEN"
    assert case["verifications"][0]["outcome"] == "verified"
    kinds = [entry["kind"] for entry in case["timeline"]]
    assert "case_opened" in kinds, kinds
    assert "decision_recorded" in kinds, kinds
    # verifications: the steps and outcome, the evidence's fingerprint — never its content
    [session] = document["services"]["verification"]["verifications"]
    assert session["verification_id"] == ids["verification_id"]
    assert session["status"] == "verified"
    assert session["passed_checks"]
    [evidence] = document["services"]["verification"]["evidence"]
    assert evidence["media_id"] == ids["media_id"]
    assert evidence["size_bytes"] == len(DOCUMENT)
    text = json.dumps(document)
    assert "DEADBEEF" not in text
    assert base64.b64encode(DOCUMENT).decode() not in text
    assert "code_digest" not in text
    assert "answer_digest" not in text
    # the callback with its number, the messages sent, the consents given
    [callback] = document["services"]["notifications"]["callbacks"]
    assert (callback["callback_id"], callback["phone"]) == (ids["callback_id"], PHONE)
    messages = document["services"]["notifications"]["messages"]
    assert any(m["recipient_ref"] == f"ticket:{ids['ticket_id']}" for m in messages), messages
    [preferences] = document["services"]["notifications"]["preferences"]
    assert preferences["marketing_consent"] == ["sms"]

    # the export itself is audited, with the reviewers' and staff's reads before it
    async def audited() -> list[Any] | None:
        response = await stack["cases"].client.get(
            f"/privacy/subjects/{subject}/accesses", headers=auth(token("supervisor"))
        )
        accesses = response.json()
        exports = [a for a in accesses if a["resource"] == "data_export"]
        # the agent's reads are audit events of their own (each its own stream): wait for
        # them as well as for the exports
        agent_read = any(
            (a["service"], a["actor_id"]) == ("cases", "agent-flow1-export") for a in accesses
        )
        return accesses if len(exports) == exports_made and agent_read else None

    accesses = await until(audited)
    exports = [a for a in accesses if a["resource"] == "data_export"]
    assert len(exports) == exports_made  # every export audited, once each
    for export in exports:
        assert (export["actor_id"], export["purpose"]) == ("supervisor-export", f"export:{subject}")
    assert any((a["service"], a["actor_id"]) == ("cases", "agent-flow1-export") for a in accesses)
    # the person's copy lists who looked at their data too
    assert document["services"]["cases"]["accesses"]


async def test_the_holder_gets_their_own_copy_after_a_verification_they_passed(
    stack: Stack, token: Callable[..., str], peers: dict[str, str], clock: OffsetClock
) -> None:
    account, holder = f"acct-{uuid.uuid4().hex[:8]}", f"cust-{uuid.uuid4().hex[:8]}"
    subject = f"account:{account}"
    ids = await walk_in_to_decision(stack, token, account, holder)
    cases = stack["cases"].client
    mine = auth(token("customer", sub=holder))

    copy = await cases.get(
        "/privacy/my-data", params={"verification_id": ids["verification_id"]}, headers=mine
    )
    assert copy.status_code == 200, copy.text
    document = copy.json()
    assert document["subject_id"] == subject
    [case] = document["services"]["cases"]["cases"]
    assert case["case_id"] == ids["case_id"]

    # someone else with the same verification id: as if it did not exist
    other = await cases.get(
        "/privacy/my-data",
        params={"verification_id": ids["verification_id"]},
        headers=auth(token("customer", sub="cust-someone-else")),
    )
    assert other.status_code == 404
    unknown = await cases.get(
        "/privacy/my-data", params={"verification_id": str(uuid.uuid4())}, headers=mine
    )
    assert unknown.status_code == 404
    staff = await cases.get(
        "/privacy/my-data",
        params={"verification_id": ids["verification_id"]},
        headers=auth(token("agent")),
    )
    assert staff.status_code == 403

    async def self_access() -> list[Any] | None:
        response = await cases.get(
            f"/privacy/subjects/{subject}/accesses", headers=auth(token("supervisor"))
        )
        found = [a for a in response.json() if a["actor_role"] == "customer"]
        return found or None

    [access] = await until(self_access)
    assert access["actor_id"] == holder
    assert access["resource"] == "data_export"
    assert access["purpose"] == f"self_service:verification:{ids['verification_id']}"

    # too long after the verification: verify again
    clock.advance(timedelta(minutes=31))
    stale = await cases.get(
        "/privacy/my-data", params={"verification_id": ids["verification_id"]}, headers=mine
    )
    assert stale.status_code == 409
    assert "verify again" in stale.json()["detail"]


def test_only_the_holder_who_passed_recently_gets_a_copy() -> None:
    from datetime import UTC, datetime

    from runtime.auth import Principal
    from runtime.errors import NotFound, RuleViolation

    now = datetime(2030, 1, 1, 12, tzinfo=UTC)
    holder = Principal(id="cust-1", roles=frozenset({"customer"}))
    session = {
        "person_ref": "cust-1",
        "status": "verified",
        "person_role": "holder",
        "account_ref": "acct-1",
        "completed_at": (now - timedelta(minutes=5)).isoformat(),
    }
    window = timedelta(minutes=30)
    assert check_self_export(session, holder, now, window) == "account:acct-1"
    with pytest.raises(NotFound):
        check_self_export(None, holder, now, window)
    with pytest.raises(NotFound):
        check_self_export({**session, "person_ref": "cust-2"}, holder, now, window)
    with pytest.raises(RuleViolation, match="has not passed"):
        check_self_export({**session, "status": "failed"}, holder, now, window)
    with pytest.raises(RuleViolation, match="only the account holder"):
        check_self_export({**session, "person_role": "proxy"}, holder, now, window)
    old = (now - timedelta(minutes=31)).isoformat()
    with pytest.raises(RuleViolation, match="verify again"):
        check_self_export({**session, "completed_at": old}, holder, now, window)
