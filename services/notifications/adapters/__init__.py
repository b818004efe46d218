"""Channel adapters: how a rendered message leaves Frontdesk (SMTP email, HTTP providers for
SMS, WeChat and QQ)."""

from services.notifications.adapters.channels import (
    ChannelAdapter,
    Channels,
    OutgoingMessage,
    SendError,
    SendResult,
)

__all__ = ["ChannelAdapter", "Channels", "OutgoingMessage", "SendError", "SendResult"]
