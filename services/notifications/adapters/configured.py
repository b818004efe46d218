"""The adapters this process uses, from its settings."""

from __future__ import annotations

from contracts.events.notifications import MessageChannel
from services.notifications.adapters.channels import ChannelAdapter, Channels
from services.notifications.adapters.http_provider import HttpProviderAdapter
from services.notifications.adapters.smtp import SmtpEmailAdapter
from services.notifications.config import NotificationSettings


def channels_from(settings: NotificationSettings) -> Channels:
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
