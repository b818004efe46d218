"""The HTTP API of notifications, one router per resource."""

from services.notifications.api import (
    callbacks,
    campaigns,
    messages,
    recipients,
    unsubscribe,
    webhooks,
)

ROUTERS = [
    messages.router,
    webhooks.router,
    callbacks.router,
    recipients.router,
    campaigns.router,
    unsubscribe.router,
]
