"""What the notifications service is wired with, built once at start-up
(``bootstrap.DEFINITION.wiring``): its settings (``config.py``), the channel adapters, the
client that claims one-time codes from verification, and the jitter of retries. Routes reach
it through ``Wired``; consumers and timers through ``runtime.wiring``. Tests pass their own
(``create_app(..., wiring=...)``) or point its adapters at sandboxes."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from contracts.events.notifications import MessageChannel
from runtime.auth import TokenVerifier
from runtime.settings import ServiceSettings
from services.notifications.adapters.channels import ChannelAdapter, Channels
from services.notifications.adapters.code_claims import VerificationCodeClaims
from services.notifications.adapters.http_provider import HttpProviderAdapter
from services.notifications.adapters.smtp import SmtpEmailAdapter
from services.notifications.config import NotificationSettings


@dataclass
class NotificationsWiring:
    settings: NotificationSettings
    channels: Channels
    code_claims: VerificationCodeClaims | None
    # a retry's jitter in [0, 1): random in production, fixed in some tests
    jitter: Callable[[], float] = field(default=random.Random().random)  # noqa: S311


def channels_from(settings: NotificationSettings) -> Channels:
    """The adapters the settings configure, by channel."""
    adapters: dict[MessageChannel, ChannelAdapter] = {}
    if settings.smtp_host:
        adapters[MessageChannel.EMAIL] = SmtpEmailAdapter(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_sender,
            starttls=settings.smtp_starttls,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        )
    for channel, url in (
        (MessageChannel.SMS, settings.sms_provider_url),
        (MessageChannel.WECHAT, settings.wechat_provider_url),
        (MessageChannel.QQ, settings.qq_provider_url),
    ):
        if url:
            adapters[channel] = HttpProviderAdapter(
                channel,
                url,
                settings.provider_api_key.get_secret_value(),
                receipt_url=settings.receipt_url,
                timeout=settings.provider_timeout_seconds,
            )
    return Channels(adapters)


def code_claims_from(
    settings: NotificationSettings, platform: ServiceSettings
) -> VerificationCodeClaims:
    """The client of verification's claim endpoint (``FRONTDESK_PEERS``'s "verification"
    unless the settings name it), with a short-lived service token naming our claimant."""
    verifier = TokenVerifier(
        platform.jwt_secret.get_secret_value(), platform.jwt_issuer, platform.jwt_audience
    )

    def token() -> str:
        return verifier.issue(settings.code_claimant, ["service"], ttl_seconds=60)

    url = settings.verification_url or platform.peer_urls().get(
        "verification", "http://127.0.0.1:8003"
    )
    return VerificationCodeClaims(url, token, timeout=settings.provider_timeout_seconds)


def build_wiring(platform: ServiceSettings) -> NotificationsWiring:
    settings = NotificationSettings()
    return NotificationsWiring(
        settings=settings,
        channels=channels_from(settings),
        code_claims=code_claims_from(settings, platform),
    )


async def wiring_of(request: Request) -> NotificationsWiring:
    wiring = request.app.state.runtime.wiring
    assert isinstance(wiring, NotificationsWiring)
    return wiring


Wired = Annotated[NotificationsWiring, Depends(wiring_of)]
