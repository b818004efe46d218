"""Crypto-shredding over real Kafka and PostgreSQL: personal values never travel in clear;
readers with the key store see them; erasure (unless a legal hold blocks it) makes them
unreadable everywhere, for good — also after a rebuild from the stream."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from contracts import TOPICS, Envelope
from contracts.events.checkin import TicketIssued
from runtime.privacy import TOKEN_PREFIX, Privacy
from runtime.settings import ServiceSettings
from tests.conftest import auth, eventually
from tests.integration.conftest import RunningService
from tests.integration.kafka_tools import read_topic
from tests.integration.test_http import intake
from tests.integration.test_rebuild import cli

pytestmark = pytest.mark.integration


async def raw_log(settings: ServiceSettings) -> bytes:
    """Every byte of every event topic of this namespace."""
    chunks = []
    for spec in TOPICS.values():
        for record in await read_topic(
            settings.kafka.bootstrap_servers, settings.kafka.topic(spec.name)
        ):
            chunks.append(record.value or b"")
    return b"\n".join(chunks)


async def check_in(
    stack: dict[str, RunningService],
    token: Callable[..., str],
    account: str,
    phone: str,
    words: str,
) -> dict[str, Any]:
    body = intake(account)
    body["intake"]["contact_phone"] = phone
    body["intake"]["description"] = words
    created = await stack["checkin"].client.post(
        "/tickets", json=body, headers=auth(token("customer", sub=f"cust-{account}"))
    )
    assert created.status_code == 201, created.text
    ticket = created.json()

    async def case() -> Any:
        response = await stack["cases"].client.get(
            "/cases", params={"ticket_id": ticket["ticket_id"]}, headers=auth(token("agent"))
        )
        return response.json()

    [opened] = await eventually(case)

    async def contact() -> Any:
        return await stack["notifications"].runtime.pool.fetchrow(
            "SELECT subject_id, phone FROM notification_contacts WHERE recipient_ref = $1",
            f"ticket:{ticket['ticket_id']}",
        )

    await eventually(contact)
    return {"ticket": ticket, "case": opened}


async def test_personal_values_never_travel_in_clear_and_readers_with_keys_see_them(
    stack: dict[str, RunningService], token: Callable[..., str], settings: ServiceSettings
) -> None:
    account = f"acct-{uuid.uuid4().hex[:8]}"
    phone, words = "+8613811112222", f"lost my phone {uuid.uuid4().hex[:6]}"
    flow = await check_in(stack, token, account, phone, words)

    log = await raw_log(settings)
    assert phone.encode() not in log
    assert words.encode() not in log
    assert account.encode() in log  # non-personal fields stay readable for routing
    assert TOKEN_PREFIX.encode() in log
    for service in stack.values():  # nor in clear in any service's own event store
        stored = await service.runtime.pool.fetchval(
            "SELECT count(*) FROM events WHERE envelope::text LIKE $1", f"%{phone}%"
        )
        assert stored == 0

    # readers with access: the case shows the words, notifications can reach the phone
    assert flow["case"]["summary"] == words
    contact = await stack["notifications"].runtime.pool.fetchrow(
        "SELECT subject_id, phone FROM notification_contacts WHERE recipient_ref = $1",
        f"ticket:{flow['ticket']['ticket_id']}",
    )
    assert dict(contact) == {"subject_id": f"account:{account}", "phone": phone}

    # a reader without access decodes the same record and still works
    records = await read_topic(
        settings.kafka.bootstrap_servers, settings.kafka.topic("frontdesk.checkin.tickets")
    )
    [record] = [
        r
        for r in records
        if flow["ticket"]["ticket_id"].encode() in (r.value or b"")
        and b"ticket_issued" in (r.value or b"")
    ]
    envelope = Envelope.from_bytes(record.value)
    assert envelope.personal_data is not None
    assert envelope.personal_data.subject_id == f"account:{account}"
    assert sorted(envelope.personal_data.fields) == ["intake.contact_phone", "intake.description"]
    blind = TicketIssued.model_validate(await Privacy(None).reveal(envelope))
    assert blind.intake.contact_phone is not None
    assert blind.intake.contact_phone.startswith(TOKEN_PREFIX)
    assert blind.intake.account_ref == account


async def test_erasure_is_blocked_by_a_legal_hold_then_forgets_the_person_everywhere(
    stack: dict[str, RunningService],
    token: Callable[..., str],
    settings: ServiceSettings,
    env_for_processes: dict[str, str],
) -> None:
    account = f"acct-{uuid.uuid4().hex[:8]}"
    subject = f"account:{account}"
    phone, words = "+8613833334444", f"my son spent it {uuid.uuid4().hex[:6]}"
    flow = await check_in(stack, token, account, phone, words)
    cases, supervisor = stack["cases"].client, auth(token("supervisor"))
    keystore = stack["cases"].runtime.privacy.keystore
    assert keystore is not None

    held = await cases.post(
        f"/privacy/subjects/{subject}/legal-holds",
        json={"reason": "court order 2026-0042", "case_id": flow["case"]["case_id"]},
        headers=supervisor,
    )
    assert held.status_code == 201, held.text
    [hold] = held.json()["legal_holds"]
    refused = await cases.post(
        f"/privacy/subjects/{subject}/erasure",
        json={"reason": "the person asked"},
        headers=supervisor,
    )
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        f"erasure blocked by legal hold {hold['hold_id']}: court order 2026-0042"
    )
    assert await keystore.key(subject, 1) is not None  # nothing was erased

    agent_try = await cases.post(
        f"/privacy/subjects/{subject}/erasure",
        json={"reason": "x" * 5},
        headers=auth(token("agent")),
    )
    assert agent_try.status_code == 403

    released = await cases.delete(
        f"/privacy/subjects/{subject}/legal-holds/{hold['hold_id']}", headers=supervisor
    )
    assert released.status_code == 200
    accepted = await cases.post(
        f"/privacy/subjects/{subject}/erasure",
        json={"reason": "the person asked"},
        headers=supervisor,
    )
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["erasures"] == 1

    async def forgotten() -> bool:
        case = await cases.get(f"/cases/{flow['case']['case_id']}", headers=auth(token("agent")))
        contact = await stack["notifications"].runtime.pool.fetchval(
            "SELECT count(*) FROM notification_contacts WHERE subject_id = $1", subject
        )
        return case.json()["summary"] is None and contact == 0

    await eventually(forgotten)
    # every service forgets the key once its own privacy consumer has the erasure (until then
    # it may still hold it in its short-lived cache): wait for each, not for two of them
    for service in stack.values():
        keystore = service.runtime.privacy.keystore
        assert keystore is not None

        async def key_gone(keystore: Any = keystore) -> bool:
            return await keystore.key(subject, 1) is None

        await eventually(key_gone)

    # the events are still in the log, unreadable; a rebuild from it shows the data as erased
    log = await raw_log(settings)
    assert flow["ticket"]["ticket_id"].encode() in log
    assert phone.encode() not in log
    for name in ("cases", "notifications"):
        await cli(env_for_processes, "rebuild", name)
    case = await cases.get(f"/cases/{flow['case']['case_id']}", headers=auth(token("agent")))
    assert case.status_code == 200
    assert case.json()["summary"] is None
    assert case.json()["account_ref"] == account  # the case itself stays
    assert (
        await stack["notifications"].runtime.pool.fetchval(
            "SELECT count(*) FROM notification_contacts WHERE subject_id = $1", subject
        )
        == 0
    )
    ticket = await stack["checkin"].client.get(
        f"/tickets/{flow['ticket']['ticket_id']}", headers=auth(token("agent"))
    )
    assert ticket.status_code == 200  # the aggregate still folds, without the erased values

    # a person who comes back after erasure gets a new key; the old data stays unreadable
    again = await check_in(stack, token, account, "+8613855556666", "back again")
    assert again["case"]["summary"] == "back again"
    assert (await keystore.current_key(subject)).version == 2
