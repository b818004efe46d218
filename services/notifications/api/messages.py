"""HTTP API of messages: what was sent to a recipient (read model ``notification_log``)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel

from contracts.events.notifications import MessageChannel, NotificationKind
from runtime.auth import STAFF_ROLES, Principal, require_roles
from runtime.service import Runtime
from services.notifications.api.access import audit_read
from services.notifications.projections.messages import messages_to, subject_of_recipient

router = APIRouter(tags=["notifications"])


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
