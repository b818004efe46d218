"""HTTP API of the audit log: who looked at a person's personal data, when and why."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime, BaseModel

from contracts.events.privacy import SUBJECT_ID
from runtime.auth import Principal, require_roles
from runtime.service import Runtime
from services.cases.projections import audit_log

router = APIRouter(prefix="/privacy", tags=["privacy"])


class AccessView(BaseModel):
    service: str
    resource: str
    resource_id: str
    fields: list[str]
    purpose: str
    actor_id: str | None
    actor_role: str | None
    accessed_at: AwareDatetime


@router.get(
    "/subjects/{subject_id}/accesses",
    response_model=list[AccessView],
    summary="Who looked at a person's personal data, when and why (newest first)",
)
async def list_accesses(
    subject_id: Annotated[str, Path(pattern=SUBJECT_ID)],
    runtime: Runtime,
    principal: Annotated[Principal, require_roles("supervisor", "admin")],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AccessView]:
    rows = await audit_log.accesses_of(runtime.pool, subject_id, limit)
    return [AccessView.model_validate(row) for row in rows]
