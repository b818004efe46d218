"""Micro-deposits to an organization's registered bank account.

``BankTransfers`` is the interface; ``HttpBank`` speaks the protocol below to the platform's
payment gateway (``FRONTDESK_VERIFICATION_BANK_URL`` and ``..._BANK_API_KEY``). Without a URL,
a development or test service uses the in-process sandbox bank (``sandboxes/bank.py``, which
also serves this protocol); production refuses the sandbox.

Protocol (JSON, ``Authorization: Bearer <api key>``):

- ``POST {base}/v1/micro-deposits`` ``{"account_number", "bank_name", "amounts_cents": [a, b],
  "reference", "at"}`` → 201 ``{"transfer_refs": [...]}``: each amount is its own transfer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import httpx


class BankUnavailable(Exception):
    """The bank did not take the transfers (network, 5xx, refused)."""


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


class HttpBank:
    """The payment gateway's micro-deposit API over HTTP (httpx)."""

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
            async with httpx.AsyncClient(
                base_url=self.base_url, timeout=self._timeout, transport=self._transport
            ) as client:
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
