"""HTTP API of notifications."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel

from contracts.events.notifications import MessageChannel, MessageKind
from runtime.auth import STAFF_ROLES, Principal, require_roles
from runtime.service import Runtime

router = APIRouter(tags=["notifications"])


class NotificationView(BaseModel):
    notification_id: UUID
    kind: MessageKind
    channel: MessageChannel
    recipient_ref: str
    language: str
    status: str
    requested_at: AwareDatetime


@router.get(
    "/notifications", response_model=list[NotificationView], summary="Messages to a recipient"
)
async def list_notifications(
    recipient_ref: Annotated[str, Query(min_length=3, max_length=200)],
    runtime: Runtime,
    principal: Annotated[Principal, require_roles(*STAFF_ROLES, "service")],
) -> list[NotificationView]:
    rows = await runtime.pool.fetch(
        """SELECT notification_id, kind, channel, recipient_ref, language, status, requested_at
           FROM notification_log WHERE recipient_ref = $1 ORDER BY requested_at""",
        recipient_ref,
    )
    return [NotificationView.model_validate(dict(row)) for row in rows]
