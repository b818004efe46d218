"""The notification aggregate: one message to one person, decided once. Pure, no I/O."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from contracts.base import EventPayload
from contracts.events.notifications import MessageChannel, MessageKind, NotificationRequested
from runtime.errors import RuleViolation
from runtime.eventstore import AggregateType

_NOTIFICATIONS_NAMESPACE = uuid.UUID("0b7e8f52-93c4-4d7a-8d5b-3a0f6c2e9d41")


def notification_id(triggered_by: UUID, recipient_ref: str, kind: MessageKind) -> UUID:
    """One message per (triggering event, recipient, kind): the exactly-once key."""
    return uuid.uuid5(_NOTIFICATIONS_NAMESPACE, f"{triggered_by}|{recipient_ref}|{kind.value}")


@dataclass(frozen=True)
class Notification:
    requested: bool = False
    notification_id: UUID | None = None


@dataclass(frozen=True)
class RequestNotification:
    kind: MessageKind
    channel: MessageChannel
    recipient_ref: str
    language: str
    triggered_by: UUID
    variables: dict[str, str]
    at: datetime


def decide_request(state: Notification, command: RequestNotification) -> list[EventPayload]:
    if state.requested:
        raise RuleViolation("this notification was already requested")
    return [
        NotificationRequested(
            notification_id=notification_id(
                command.triggered_by, command.recipient_ref, command.kind
            ),
            kind=command.kind,
            channel=command.channel,
            recipient_ref=command.recipient_ref,
            language=command.language,
            triggered_by=command.triggered_by,
            variables=command.variables,
            requested_at=command.at,
        )
    ]


def evolve(state: Notification, event: EventPayload) -> Notification:
    if isinstance(event, NotificationRequested):
        return Notification(requested=True, notification_id=event.notification_id)
    return state


NOTIFICATION = AggregateType[Notification]("notification", Notification, evolve)
