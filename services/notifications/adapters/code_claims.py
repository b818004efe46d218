"""Claiming a one-time code from the verification service, at send time.

``POST {verification}/internal/code-deliveries/{delivery_id}/claim`` with a service token
(``sub`` = this service's claimant id, role ``service``) answers once with the code, the
destination (the account's verified phone or email), the language and the code's expiry; a
second claim is refused (409), as is a late one. The answer is held in memory only, passed to
the renderer and the channel adapter, and dropped: the code is in no event, log line, table or
exception message (``ClaimedCode`` keeps it and the destination out of ``repr``; a refusal
names the HTTP status and verification's reason, never the answer's body on success).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import httpx

from contracts.events.notifications import CodeDelivery


@dataclass(frozen=True)
class ClaimedCode:
    code: str = field(repr=False)
    destination: str = field(repr=False)
    channel: str
    language: str
    expires_at: datetime


class ClaimRefused(Exception):
    """The code could not be claimed. ``transient``: verification could not be reached or
    failed (5xx, 429): it did not hand out the code, so asking again may work; otherwise final
    (already claimed, too late, unknown delivery, not allowed)."""

    def __init__(self, reason: str, *, transient: bool) -> None:
        super().__init__(reason)
        self.reason = reason[:200]
        self.transient = transient


class VerificationCodeClaims:
    """The HTTP client of verification's claim endpoint. ``use`` points it elsewhere (an
    in-process app's ASGI transport in tests)."""

    def __init__(
        self,
        base_url: str,
        token: Callable[[], str],
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.transport = transport
        self.claims = 0  # how many claims this process made (observability and tests)

    def use(self, base_url: str, transport: httpx.AsyncBaseTransport | None) -> None:
        self.base_url = base_url.rstrip("/")
        self.transport = transport

    async def claim(self, delivery: CodeDelivery) -> ClaimedCode:
        if not delivery.claim_path.startswith("/internal/code-deliveries/"):
            raise ClaimRefused("unexpected claim path", transient=False)
        self.claims += 1
        try:
            async with httpx.AsyncClient(
                base_url=self.base_url, timeout=self.timeout, transport=self.transport
            ) as client:
                answer = await client.post(
                    delivery.claim_path, headers={"Authorization": f"Bearer {self.token()}"}
                )
        except httpx.HTTPError as error:
            raise ClaimRefused(
                f"verification unreachable ({type(error).__name__})", transient=True
            ) from None
        if answer.status_code == 200:
            try:
                body = answer.json()
                return ClaimedCode(
                    code=str(body["code"]),
                    destination=str(body["destination"]),
                    channel=str(body["channel"]),
                    language=str(body["language"]),
                    expires_at=datetime.fromisoformat(body["expires_at"]),
                )
            except (ValueError, KeyError, TypeError):
                # the body holds the code: never quoted, not even in the error
                raise ClaimRefused("malformed claim answer", transient=False) from None
        transient = answer.status_code >= 500 or answer.status_code == 429
        raise ClaimRefused(
            f"claim refused ({answer.status_code}: {_detail(answer)})", transient=transient
        )


def _detail(answer: httpx.Response) -> str:
    try:
        detail = answer.json().get("detail")
    except ValueError:
        detail = None
    return str(detail)[:120] if detail else answer.reason_phrase or "no reason given"
