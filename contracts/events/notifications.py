"""Events published by the notifications service on ``frontdesk.notifications.messages``."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from pydantic import AwareDatetime, Field

from contracts.base import EventPayload
from contracts.registry import REGISTRY
from contracts.topics import NOTIFICATIONS_CALLBACKS, NOTIFICATIONS_MESSAGES


class MessageKind(StrEnum):
    TICKET_ISSUED = "ticket_issued"


class MessageChannel(StrEnum):
    SMS = "sms"
    EMAIL = "email"
    WECHAT = "wechat"
    QQ = "qq"


@REGISTRY.event("notifications.notification_requested", version=1, topic=NOTIFICATIONS_MESSAGES)
class NotificationRequested(EventPayload):
    """A message to a person was decided on. Its id is derived from (triggering event,
    recipient, kind), so a redelivered trigger never requests a second message."""

    notification_id: UUID
    kind: MessageKind
    channel: MessageChannel
    recipient_ref: str = Field(description="Who receives it, e.g. ticket:<id>; no contact data.")
    language: str = Field(description="BCP 47 tag the message is rendered in.")
    triggered_by: UUID = Field(description="Event id of the triggering event.")
    variables: dict[str, str] = Field(default_factory=dict, description="Template variables.")
    requested_at: AwareDatetime


@REGISTRY.event("notifications.callback_completed", version=1, topic=NOTIFICATIONS_CALLBACKS)
class CallbackCompleted(EventPayload):
    """The promised callback reached the person."""

    callback_id: UUID
    case_id: UUID | None = None
    attempts: int = Field(ge=1)
    completed_at: AwareDatetime


@REGISTRY.event("notifications.callback_missed", version=1, topic=NOTIFICATIONS_CALLBACKS)
class CallbackMissed(EventPayload):
    """The callback window ended without reaching the person: cases escalates the case."""

    callback_id: UUID
    case_id: UUID | None = None
    attempts: int = Field(ge=0)
    missed_at: AwareDatetime
