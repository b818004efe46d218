"""SMS, WeChat and QQ through an HTTP provider. The interface a provider (or its thin
gateway) implements — also what the local sandbox (``sandboxes.message_provider``)
serves:

``POST {base_url}/v1/messages``
  headers: ``Authorization: Bearer <api key>``, ``Idempotency-Key: <key>``
  body: ``{"channel": "sms"|"wechat"|"qq", "to": "...", "subject": "...", "body": "...",
  "reference": "<notification id>", "receipt_url": "<url>"|null}``
  → ``200``/``201``/``202`` ``{"message_id": "...", "status": "accepted"}``. The same key again
  answers with the first message's id and sends nothing (``200``, header
  ``Idempotent-Replay: true``).
  → ``408``, ``425``, ``429``, ``5xx`` or no answer: transient, retried with backoff.
  → any other ``4xx``: permanent (bad address, refused content, the key reused for another
  message).

Receipts: the provider ``POST``s ``{"message_id", "status": "delivered"|"failed", "reason"}``
to ``receipt_url`` with header ``X-Frontdesk-Signature: sha256=<hex HMAC of the body>``
(``signature_of``; checked by ``api/webhooks.py``). Inbound replies are signed the same way.
"""

from __future__ import annotations

import hashlib
import hmac

import httpx

from contracts.events.notifications import MessageChannel
from services.notifications.adapters.channels import OutgoingMessage, SendError, SendResult

TRANSIENT_STATUSES = frozenset({408, 425, 429})
SIGNATURE_HEADER = "X-Frontdesk-Signature"


def signature_of(secret: str, body: bytes) -> str:
    """The signature a provider sends with a webhook's body: ``sha256=<hex HMAC>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class HttpProviderAdapter:
    def __init__(
        self,
        channel: MessageChannel,
        base_url: str,
        api_key: str,
        *,
        provider: str | None = None,
        receipt_url: str | None = None,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.channel = channel
        self.provider = provider or f"http-{channel.value}"
        self.base_url = base_url.rstrip("/")
        self.receipt_url = receipt_url
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=timeout,
            headers={"Authorization": f"Bearer {api_key}"},
            transport=transport,
        )

    async def send(self, message: OutgoingMessage) -> SendResult:
        try:
            response = await self._client.post(
                "/v1/messages",
                headers={"Idempotency-Key": message.idempotency_key},
                json={
                    "channel": self.channel.value,
                    "to": message.to,
                    "subject": message.subject,
                    "body": message.body,
                    "reference": str(message.notification_id),
                    "receipt_url": self.receipt_url,
                },
            )
        except httpx.TransportError as error:
            raise SendError(f"{self.provider}: {type(error).__name__}", transient=True) from None
        status = response.status_code
        if status in (200, 201, 202):
            try:
                provider_message_id = str(response.json()["message_id"])
            except (ValueError, KeyError, TypeError):
                raise SendError(f"{self.provider}: malformed answer", transient=True) from None
            return SendResult(self.provider, provider_message_id)
        transient = status in TRANSIENT_STATUSES or status >= 500
        raise SendError(f"{self.provider}: HTTP {status}", transient=transient)

    async def aclose(self) -> None:
        await self._client.aclose()
