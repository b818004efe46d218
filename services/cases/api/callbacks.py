"""HTTP API of callbacks: promise one within a window (notifications schedules and tracks
it; cases records how it went)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, Field, field_validator

from contracts.vocabulary import E164_PATTERN, PersonRole
from runtime.auth import Principal
from runtime.commands import IdempotencyKey
from runtime.service import Runtime
from services.cases.api.cases import CaseId, Workers, forbid_extra, idempotent_change
from services.cases.domain.case import RequestCallback

router = APIRouter(tags=["cases"])


class CallbackRequest(BaseModel):
    model_config = forbid_extra()

    recipient_role: PersonRole = PersonRole.HOLDER
    phone: str | None = Field(
        default=None, pattern=E164_PATTERN, description="E.164 (personal data)."
    )
    timezone: str = Field(default="Asia/Shanghai", min_length=3, max_length=64)
    within_hours: int | None = Field(
        default=None, ge=1, le=24 * 14, description="Promise: within this many hours from now."
    )
    window_start: AwareDatetime | None = None
    window_end: AwareDatetime | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("an IANA timezone, e.g. Asia/Shanghai") from None
        return value


@router.post(
    "/cases/{case_id}/callbacks",
    status_code=201,
    summary="Promise a callback within a window; notifications schedules and tracks it",
)
async def request_callback(
    case_id: CaseId,
    body: CallbackRequest,
    runtime: Runtime,
    principal: Annotated[Principal, Workers],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    now = runtime.clock.now()
    start = body.window_start or now
    end = body.window_end or (start + timedelta(hours=body.within_hours or 24))
    callback_id = uuid.uuid4()
    command = RequestCallback(
        callback_id=callback_id,
        recipient_role=body.recipient_role,
        timezone=body.timezone,
        window_start=start,
        window_end=end,
        at=now,
        phone=body.phone,
    )
    return await idempotent_change(
        runtime,
        principal,
        case_id,
        "callback",
        idempotency_key,
        body,
        command,
        lambda c: {"callback_id": str(callback_id), "window_end": end.isoformat()},
    )
