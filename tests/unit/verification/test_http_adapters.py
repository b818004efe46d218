"""The real HTTP adapters of the account platform and the bank, against the sandboxes serving
the same protocol in process (no network): what the sandbox answers in process, the adapter
reads back over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from runtime.service import Sandbox
from sandboxes import account_platform, bank
from services.verification.adapters.account_platform import (
    AccountPlatformUnavailable,
    HttpAccountPlatform,
)
from services.verification.adapters.bank import BankUnavailable, HttpBank

pytestmark = pytest.mark.unit

KEY = "test-key"


def platform(key: str = KEY) -> HttpAccountPlatform:
    app = account_platform.create_app(KEY)
    return HttpAccountPlatform(
        base_url="http://platform", api_key=key, transport=httpx.ASGITransport(app=app)
    )


async def test_the_account_platform_adapter_reads_the_sandbox_facts_over_http() -> None:
    answers = account_platform.SandboxAccountFacts.sandbox_answers("acct-http-1")
    client = platform()
    assert await client.facts("acct-http-1") == answers.facts
    assert await client.facts("unknown-acct") is None
    assert await client.verify_past_password("acct-http-1", answers.past_password)
    assert not await client.verify_past_password("acct-http-1", "not-it")
    decoys = await client.decoys("friend", set(answers.facts.friends), 3, 7)
    assert len(decoys) == 3
    assert not set(decoys) & set(answers.facts.friends)
    with pytest.raises(AccountPlatformUnavailable):
        await platform("wrong-key").facts("acct-http-1")


async def test_the_bank_adapter_sends_micro_deposits_to_the_sandbox_over_http() -> None:
    ledger = bank.SandboxBank()
    app = bank.create_app(KEY, ledger)
    client = HttpBank(base_url="http://bank", api_key=KEY, transport=httpx.ASGITransport(app=app))
    at = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    refs = await client.send_micro_deposits(
        account_number="6222020000001", bank_name="ICBC", amounts_cents=(12, 34),
        reference="Frontdesk verification 1234", at=at,
    )  # fmt: skip
    assert [(c.transfer_ref, c.amount_cents) for c in ledger.statement("6222020000001")] == list(
        zip(refs, (12, 34), strict=True)
    )
    wrong = HttpBank(base_url="http://bank", api_key="no", transport=httpx.ASGITransport(app=app))
    with pytest.raises(BankUnavailable):
        await wrong.send_micro_deposits(
            account_number="1", bank_name="x", amounts_cents=(1, 2), reference="r", at=at
        )


async def test_only_the_account_holder_reads_the_statement_of_incoming_transfers() -> None:
    ledger = bank.SandboxBank()
    app = bank.create_app(KEY, ledger)
    transport = httpx.ASGITransport(app=app)
    gateway = HttpBank(base_url="http://bank", api_key=KEY, transport=transport)
    at = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    refs = await gateway.send_micro_deposits(
        account_number="6222020000002", bank_name="ICBC", amounts_cents=(56, 7),
        reference="Frontdesk verification 5678", at=at,
    )  # fmt: skip
    holder = ledger.holder_credential("6222020000002")
    entries = await gateway.incoming_transfers(
        account_number="6222020000002", holder_credential=holder
    )
    assert [(e.transfer_ref, e.amount_cents, e.description) for e in entries] == [
        (refs[0], 56, "Frontdesk verification 5678"),
        (refs[1], 7, "Frontdesk verification 5678"),
    ]
    assert {(e.currency, e.booked_at) for e in entries} == {("CNY", at)}
    async with httpx.AsyncClient(transport=transport, base_url="http://bank") as client:
        path = "/v1/accounts/6222020000002/statement"
        assert (await client.get(path)).status_code == 401
        as_gateway = await client.get(path, headers={"Authorization": f"Bearer {KEY}"})
        assert as_gateway.status_code == 403  # the platform never reads a company's statement
        other = ledger.holder_credential("6222020000001")
        as_other = await client.get(path, headers={"Authorization": f"Bearer {other}"})
        assert as_other.status_code == 403
    with pytest.raises(BankUnavailable):
        await gateway.incoming_transfers(account_number="6222020000002", holder_credential=KEY)


def test_the_in_process_sandboxes_are_marked_so_that_production_refuses_them() -> None:
    assert isinstance(bank.SandboxBank(), Sandbox)
    assert isinstance(account_platform.SandboxAccountFacts(), Sandbox)
