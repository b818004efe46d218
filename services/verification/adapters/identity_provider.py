"""Document and face liveness through an identity provider.

The person completes the check AT THE PROVIDER (their video, their ID document): this service
only creates the provider's session and receives the outcome by a signed webhook. Nothing
biometric and no document image ever reaches this service.

``IdentityProvider`` is the interface a commercial provider's adapter implements.
``HttpIdentityProvider`` speaks the Frontdesk identity-provider protocol below, which the local
sandbox (``python -m sandboxes.identity_provider``) implements; an adapter for a
commercial provider maps that provider's API and webhook format onto the same interface.

Protocol:

- ``POST {base}/v1/sessions`` with ``Authorization: Bearer <api key>`` and
  ``{"reference": ..., "callback_url": ..., "language": ...}`` → 201
  ``{"id": ..., "url": ..., "expires_at": ...}`` (``url``: where the person goes).
- The outcome: ``POST <callback_url>`` with the JSON body
  ``{"delivery_id", "session_id", "reference", "status": "approved"|"declined",
  "checks": {"document": "pass"|"fail", "liveness": ..., "face_match": ...},
  "reasons": [...], "completed_at"}`` and the headers ``X-Delivery-Id``,
  ``X-Signature-Timestamp`` (unix seconds) and ``X-Signature: v1=<hex>`` where the hex is
  HMAC-SHA256(webhook secret, ``"<timestamp>.<delivery id>." + raw body``).
- The receiver rejects a wrong signature, a timestamp outside the tolerance (default 5 min,
  against the wall clock both parties share) and a delivery id it has already processed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import httpx

SIGNATURE_HEADER = "X-Signature"
TIMESTAMP_HEADER = "X-Signature-Timestamp"
DELIVERY_HEADER = "X-Delivery-Id"


class ProviderUnavailable(Exception):
    """The provider could not create a session (network, 5xx, refused)."""


class WebhookRejected(Exception):
    """A webhook whose signature, timestamp or shape is wrong: nothing is processed."""


@dataclass(frozen=True)
class ProviderSession:
    provider_session_ref: str
    url: str
    expires_at: datetime | None


@dataclass(frozen=True)
class ProviderResult:
    delivery_id: str
    provider_session_ref: str
    reference: str
    approved: bool
    checks: dict[str, str]
    reasons: list[str]

    def explanation(self) -> str:
        words = {
            "document": "identity document",
            "liveness": "live person",
            "face_match": "face matches the document",
        }
        parts = [f"{words.get(name, name)}: {outcome}" for name, outcome in self.checks.items()]
        return "; ".join(parts + self.reasons) or ("approved" if self.approved else "declined")


class IdentityProvider(Protocol):
    name: str

    async def create_session(
        self, *, reference: str, callback_url: str, language: str
    ) -> ProviderSession: ...

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> ProviderResult:
        """The outcome carried by an authentic, fresh webhook; raises WebhookRejected."""
        ...


def sign(secret: bytes, timestamp: int, delivery_id: str, body: bytes) -> str:
    mac = hmac.new(secret, f"{timestamp}.{delivery_id}.".encode() + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def signed_headers(secret: bytes, delivery_id: str, body: bytes, timestamp: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        DELIVERY_HEADER: delivery_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, delivery_id, body),
    }


class HttpIdentityProvider:
    """The Frontdesk identity-provider protocol over HTTP (httpx)."""

    def __init__(
        self,
        *,
        name: str,
        base_url: str,
        api_key: str,
        webhook_secret: bytes,
        tolerance_seconds: int = 300,
        wall_clock: Any = time.time,
        timeout: float = 10.0,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._secret = webhook_secret
        self.tolerance_seconds = tolerance_seconds
        # the replay window is about network time shared with the provider, hence the wall
        # clock and not the service's (test-adjustable) domain clock
        self._wall_clock = wall_clock
        self._timeout = timeout

    async def create_session(
        self, *, reference: str, callback_url: str, language: str
    ) -> ProviderSession:
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                response = await client.post(
                    f"{self.base_url}/v1/sessions",
                    json={
                        "reference": reference,
                        "callback_url": callback_url,
                        "language": language,
                    },
                    headers={"Authorization": f"Bearer {self._api_key}"},
                )
        except httpx.HTTPError as error:
            raise ProviderUnavailable(f"{self.name}: {type(error).__name__}") from None
        if response.status_code != 201:
            raise ProviderUnavailable(f"{self.name} answered {response.status_code}")
        data = response.json()
        expires = data.get("expires_at")
        return ProviderSession(
            provider_session_ref=str(data["id"]),
            url=str(data["url"]),
            expires_at=datetime.fromisoformat(expires) if expires else None,
        )

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> ProviderResult:
        lowered = {key.lower(): value for key, value in headers.items()}
        signature = lowered.get(SIGNATURE_HEADER.lower())
        timestamp_text = lowered.get(TIMESTAMP_HEADER.lower())
        delivery_id = lowered.get(DELIVERY_HEADER.lower())
        if not signature or not timestamp_text or not delivery_id:
            raise WebhookRejected("missing signature, timestamp or delivery id")
        try:
            timestamp = int(timestamp_text)
        except ValueError:
            raise WebhookRejected("the timestamp is not a number") from None
        expected = sign(self._secret, timestamp, delivery_id, body)
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise WebhookRejected("wrong signature")
        if abs(self._wall_clock() - timestamp) > self.tolerance_seconds:
            raise WebhookRejected("the timestamp is outside the accepted window (replay?)")
        try:
            data = json.loads(body)
            if data["delivery_id"] != delivery_id:
                raise WebhookRejected("the body's delivery id differs from the header's")
            status = data["status"]
            if status not in ("approved", "declined"):
                raise WebhookRejected("unknown status")
            return ProviderResult(
                delivery_id=delivery_id,
                provider_session_ref=str(data["session_id"]),
                reference=str(data["reference"]),
                approved=status == "approved",
                checks={str(k): str(v) for k, v in (data.get("checks") or {}).items()},
                reasons=[str(reason) for reason in data.get("reasons") or []],
            )
        except (ValueError, KeyError, TypeError):
            raise WebhookRejected("the body is not a provider result") from None
