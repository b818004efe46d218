"""The notifications domain: messages (one per trigger, recipient and kind), callbacks,
the hours a person may be reached in, and the localized templates. Pure, no I/O."""

from services.notifications.domain.messages import (
    NOTIFICATION,
    Notification,
    NotificationStatus,
    RequestNotification,
    decide_request,
    idempotency_key,
    notification_id,
)

__all__ = [
    "NOTIFICATION",
    "Notification",
    "NotificationStatus",
    "RequestNotification",
    "decide_request",
    "idempotency_key",
    "notification_id",
]
