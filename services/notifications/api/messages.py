"""HTTP API of messages: what was sent to a recipient (read model ``notification_log``)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, Field

from contracts.events.notifications import MessageChannel, NotificationKind
from runtime.auth import STAFF_ROLES, Principal, require_roles
from runtime.errors import NotFound
from runtime.service import Runtime
from services.notifications.api.access import audit_read
from services.notifications.projections.messages import (
    message,
    messages_to,
    subject_of_recipient,
)

router = APIRouter(tags=["notifications"])


class ChannelGaveUp(BaseModel):
    channel: MessageChannel
    attempts: int
    reason: str = Field(description="Why the channel gave up (error class and status).")
    failed_at: AwareDatetime
    next_channel: MessageChannel | None = Field(
        description="The channel tried next; null when none was left (the message failed)."
    )


class NotificationView(BaseModel):
    notification_id: UUID
    kind: NotificationKind
    purpose: str
    channel: MessageChannel
    recipient_ref: str
    language: str
    status: str
    attempts: int
    provider_message_id: str | None
    failure_reason: str | None
    requested_at: AwareDatetime
    sent_at: AwareDatetime | None
    delivered_at: AwareDatetime | None
    fallbacks: list[ChannelGaveUp] = Field(
        description="Each channel the message gave up on, in order, and why; `channel` is the "
        "one it is on now (or the last one tried)."
    )


@router.get(
    "/notifications", response_model=list[NotificationView], summary="Messages to a recipient"
)
async def list_notifications(
    recipient_ref: Annotated[str, Query(min_length=3, max_length=200)],
    runtime: Runtime,
    principal: Annotated[Principal, require_roles(*STAFF_ROLES, "service")],
) -> list[NotificationView]:
    async with runtime.pool.acquire() as conn:
        rows = await messages_to(conn, recipient_ref)
        subject = await subject_of_recipient(conn, recipient_ref) if rows else None
    if rows:
        await audit_read(
            runtime,
            principal,
            subject,
            "messages",
            recipient_ref,
            ["recipient_ref", "channel", "status"],
            recipient_ref,
        )
    return [NotificationView.model_validate(dict(row)) for row in rows]


@router.get(
    "/notifications/{notification_id:uuid}",  # never "unsubscribe", "receipts"
    response_model=NotificationView,
    summary="One message: where it stands, and each channel it fell back from",
)
async def get_notification(
    notification_id: UUID,
    runtime: Runtime,
    principal: Annotated[Principal, require_roles(*STAFF_ROLES, "service")],
) -> NotificationView:
    async with runtime.pool.acquire() as conn:
        row = await message(conn, notification_id)
        if row is None:
            raise NotFound(f"notification {notification_id} not found")
        subject = await subject_of_recipient(conn, row["recipient_ref"])
    await audit_read(
        runtime,
        principal,
        subject,
        "message",
        str(notification_id),
        ["recipient_ref", "channel", "status"],
        row["recipient_ref"],
    )
    return NotificationView.model_validate(dict(row))
