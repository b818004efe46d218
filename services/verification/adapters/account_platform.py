"""The account platform's facts about an account, for knowledge challenges and ownership
evidence.

``AccountPlatform`` is the interface; ``HttpAccountPlatform`` speaks the protocol below
(``FRONTDESK_VERIFICATION_ACCOUNT_PLATFORM_URL`` and ``..._API_KEY``). Without a URL, a
development or test service uses the in-process sandbox (``sandboxes/account_platform.py``,
which also serves this protocol); production refuses the sandbox.

The platform never hands out a secret to compare in the clear: a past password is checked by
the platform against its stored hash. Protocol (JSON, ``Authorization: Bearer <api key>``):

- ``GET {base}/v1/accounts/{account_ref}/facts`` → 200 ``{"account_ref", "registered_phone",
  "registered_email", "phone_verified", "email_verified", "friends": [...],
  "login_cities": [...], "devices": [...], "payments": [{"card_last4", "amount_cents",
  "month"}], "vouching_contacts": [...], "has_past_password"}``; 404 for an unknown account.
- ``POST {base}/v1/decoys`` ``{"kind": "friend"|"city"|"device", "exclude": [...],
  "count", "seed"}`` → 200 ``{"values": [...]}``: plausible wrong options.
- ``POST {base}/v1/accounts/{account_ref}/past-passwords/check`` ``{"candidate"}`` → 200
  ``{"matches": true|false}``.
"""

from __future__ import annotations

from typing import Any, Protocol
from urllib.parse import quote

import httpx
from pydantic import TypeAdapter

from services.verification.domain.accounts import AccountFacts

FACTS = TypeAdapter(AccountFacts)


class AccountPlatformUnavailable(Exception):
    """The account platform did not answer (network, 5xx, refused)."""


class AccountPlatform(Protocol):
    name: str

    async def facts(self, account_ref: str) -> AccountFacts | None:
        """The account's facts, or None for an unknown account."""
        ...

    async def decoys(self, kind: str, exclude: set[str], count: int, seed: int) -> list[str]:
        """Plausible wrong options of ``kind`` (friend, city) that are not in ``exclude``."""
        ...

    async def verify_past_password(self, account_ref: str, candidate: str) -> bool:
        """Whether ``candidate`` is a password the account used before (hash comparison)."""
        ...


class HttpAccountPlatform:
    """The account platform's facts API over HTTP (httpx)."""

    name = "account-platform"

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

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            async with httpx.AsyncClient(
                base_url=self.base_url, timeout=self._timeout, transport=self._transport
            ) as client:
                response = await client.request(
                    method, path, json=body, headers={"Authorization": f"Bearer {self._api_key}"}
                )
        except httpx.HTTPError as error:
            raise AccountPlatformUnavailable(type(error).__name__) from None
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise AccountPlatformUnavailable(
                f"the account platform answered {response.status_code}"
            )
        return response.json()

    async def facts(self, account_ref: str) -> AccountFacts | None:
        data = await self._call("GET", f"/v1/accounts/{quote(account_ref, safe='')}/facts")
        return None if data is None else FACTS.validate_python(data)

    async def decoys(self, kind: str, exclude: set[str], count: int, seed: int) -> list[str]:
        body = {"kind": kind, "exclude": sorted(exclude), "count": count, "seed": seed}
        data = await self._call("POST", "/v1/decoys", body)
        return [str(value) for value in (data or {}).get("values", [])]

    async def verify_past_password(self, account_ref: str, candidate: str) -> bool:
        path = f"/v1/accounts/{quote(account_ref, safe='')}/past-passwords/check"
        data = await self._call("POST", path, {"candidate": candidate})
        return bool(data and data.get("matches"))
