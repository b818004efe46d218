"""The channel adapter interface."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol
from uuid import UUID

from contracts.events.notifications import MessageChannel


@dataclass(frozen=True)
class OutgoingMessage:
    """A rendered message. ``to`` and the texts are personal data: never logged (not in repr)."""

    notification_id: UUID
    channel: MessageChannel
    idempotency_key: str
    language: str
    to: str = field(repr=False)
    subject: str = field(repr=False)
    body: str = field(repr=False)
    # extra headers where the channel has them (email: List-Unsubscribe, RFC 8058); the
    # unsubscribe link's token names the account: not in repr either
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class SendResult:
    provider: str
    provider_message_id: str


class SendError(Exception):
    """A send that did not happen. ``transient``: worth retrying later (timeouts, 429, 5xx,
    4xx SMTP replies); otherwise permanent (refused address, bad request). ``reason`` names
    the failure without the message or the address."""

    def __init__(self, reason: str, *, transient: bool) -> None:
        super().__init__(reason)
        self.reason = reason[:200]
        self.transient = transient


class ChannelAdapter(Protocol):
    channel: MessageChannel
    provider: str

    async def send(self, message: OutgoingMessage) -> SendResult:
        """Hand the message to the provider under ``message.idempotency_key``. Asking again
        with the same key must not send a second message (the provider answers with the first
        message's id). Raises SendError."""
        ...


class Channels:
    """The adapters configured for this process, by channel."""

    def __init__(self, adapters: Mapping[MessageChannel, ChannelAdapter] | None = None) -> None:
        self.adapters: dict[MessageChannel, ChannelAdapter] = dict(adapters or {})

    def get(self, channel: MessageChannel) -> ChannelAdapter | None:
        return self.adapters.get(channel)

    def replace(self, adapters: Mapping[MessageChannel, ChannelAdapter]) -> None:
        self.adapters = dict(adapters)
