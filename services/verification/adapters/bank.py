"""Micro-deposits to an organization's registered bank account, and the statement on which the
organization reads them.

``BankTransfers`` is what the verification service uses: ``HttpBank`` speaks the protocol
below to the platform's payment gateway (``FRONTDESK_VERIFICATION_BANK_URL`` and
``..._BANK_API_KEY``). Without a URL, a development or test service uses the in-process
sandbox bank (``sandboxes/bank.py``, which also serves this protocol); production refuses the
sandbox.

``AccountStatements`` is what a bank offers its *account holder*, never the platform: the
account's incoming transfers. That is how the organization learns the two amounts (they are in
no event, message or answer of Frontdesk: only a keyed digest of the pair is kept), and why
confirming them proves that the submitter controls the registered account. A real bank offers
it as online banking or an account-information API (open banking) behind its own customer
authentication; the sandbox gives each account holder a bearer credential.

Protocol (JSON over HTTP):

- ``POST {base}/v1/micro-deposits`` (``Authorization: Bearer <gateway api key>``)
  ``{"account_number", "bank_name", "amounts_cents": [a, b], "reference", "at"}`` → 201
  ``{"transfer_refs": [...]}``: each amount is its own transfer.
- ``GET {base}/v1/accounts/{account_number}/statement`` (``Authorization: Bearer <the account
  holder's credential>``) → 200 ``{"account_number", "entries": [{"transfer_ref", "direction":
  "credit", "amount_cents", "currency", "description", "counterparty", "booked_at"}]}``, oldest
  first (the micro-deposits' ``description`` is the ``reference`` they were sent with);
  401 without a credential, 403 with another account's credential or the gateway's API key
  (the platform never reads a company's statement).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import httpx


class BankUnavailable(Exception):
    """The bank did not take the transfers (network, 5xx, refused)."""


@dataclass(frozen=True)
class StatementEntry:
    """One incoming transfer on an account's statement, as the account holder sees it."""

    transfer_ref: str
    amount_cents: int
    currency: str
    description: str
    counterparty: str
    booked_at: datetime


class BankTransfers(Protocol):
    name: str

    async def send_micro_deposits(
        self,
        *,
        account_number: str,
        bank_name: str,
        amounts_cents: tuple[int, int],
        reference: str,
        at: datetime,
    ) -> list[str]:
        """Send each amount as its own transfer; returns the bank's transfer references."""
        ...


class AccountStatements(Protocol):
    async def incoming_transfers(
        self, *, account_number: str, holder_credential: str
    ) -> list[StatementEntry]:
        """The account's incoming transfers, oldest first, for its authenticated holder."""
        ...


class HttpBank:
    """The bank protocol over HTTP (httpx): the gateway's micro-deposits and, for an account
    holder's own client, the statement."""

    name = "bank"

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._timeout = timeout
        self._transport = transport  # tests: the sandbox app in process

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.base_url, timeout=self._timeout, transport=self._transport
        )

    async def send_micro_deposits(
        self,
        *,
        account_number: str,
        bank_name: str,
        amounts_cents: tuple[int, int],
        reference: str,
        at: datetime,
    ) -> list[str]:
        body = {
            "account_number": account_number,
            "bank_name": bank_name,
            "amounts_cents": list(amounts_cents),
            "reference": reference,
            "at": at.isoformat(),
        }
        try:
            async with self._client() as client:
                response = await client.post(
                    "/v1/micro-deposits",
                    json=body,
                    headers={"Authorization": f"Bearer {self._api_key}"},
                )
        except httpx.HTTPError as error:
            raise BankUnavailable(type(error).__name__) from None
        if response.status_code != 201:
            raise BankUnavailable(f"the bank answered {response.status_code}")
        return [str(ref) for ref in response.json()["transfer_refs"]]

    async def incoming_transfers(
        self, *, account_number: str, holder_credential: str
    ) -> list[StatementEntry]:
        try:
            async with self._client() as client:
                response = await client.get(
                    f"/v1/accounts/{account_number}/statement",
                    headers={"Authorization": f"Bearer {holder_credential}"},
                )
        except httpx.HTTPError as error:
            raise BankUnavailable(type(error).__name__) from None
        if response.status_code != 200:
            raise BankUnavailable(f"the bank answered {response.status_code}")
        return [
            StatementEntry(
                transfer_ref=str(entry["transfer_ref"]),
                amount_cents=int(entry["amount_cents"]),
                currency=str(entry["currency"]),
                description=str(entry["description"]),
                counterparty=str(entry["counterparty"]),
                booked_at=datetime.fromisoformat(entry["booked_at"]),
            )
            for entry in response.json()["entries"]
            if entry["direction"] == "credit"
        ]
