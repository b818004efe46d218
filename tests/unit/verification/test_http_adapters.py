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


def test_the_in_process_sandboxes_are_marked_so_that_production_refuses_them() -> None:
    assert isinstance(bank.SandboxBank(), Sandbox)
    assert isinstance(account_platform.SandboxAccountFacts(), Sandbox)
