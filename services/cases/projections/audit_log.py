"""Who looked at a person's data: the audit events of every service, kept by cases (which owns
the account timeline) for supervisors to list."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime, BaseModel

from contracts.events.audit import PersonalDataAccessed
from contracts.events.privacy import SUBJECT_ID
from contracts.topics import AUDIT_ACCESSES
from runtime.auth import Principal, require_roles
from runtime.consumer import ConsumerGroup, ReceivedEvent
from runtime.service import Runtime

router = APIRouter(prefix="/privacy", tags=["privacy"])


async def project_access(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    access = event.payload
    assert isinstance(access, PersonalDataAccessed)
    actor = event.envelope.actor
    await conn.execute(
        """INSERT INTO personal_data_accesses (event_id, subject_id, service, resource,
               resource_id, fields, purpose, actor_id, actor_role, accessed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING""",
        event.envelope.event_id,
        access.subject_id,
        access.service,
        access.resource,
        access.resource_id,
        access.fields,
        access.purpose,
        actor.id if actor else None,
        actor.role if actor else None,
        access.accessed_at,
    )


def audit_group() -> ConsumerGroup:
    return ConsumerGroup(
        name="cases.audit_log",
        topics=[AUDIT_ACCESSES],
        handlers={"audit.personal_data_accessed": project_access},
        read_models=("personal_data_accesses",),
        description="Keeps who read whose personal data, from every service's audit events.",
    )


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
    rows = await runtime.pool.fetch(
        """SELECT service, resource, resource_id, fields, purpose, actor_id, actor_role,
                  accessed_at
           FROM personal_data_accesses WHERE subject_id = $1
           ORDER BY accessed_at DESC, event_id LIMIT $2""",
        subject_id,
        limit,
    )
    return [AccessView.model_validate(dict(row)) for row in rows]
