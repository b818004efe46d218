"""HTTP API of staff: the specialist queues each member of staff works, and their open cases."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from contracts.vocabulary import ServiceQueue
from runtime.auth import Principal, require_roles
from runtime.commands import command
from runtime.context import CommandContext
from runtime.service import Runtime
from services.cases.application.staff import set_skills
from services.cases.domain.staff_member import SetSkills, StaffMember
from services.cases.projections import staff_skills

router = APIRouter(tags=["accounts, staff and policies"])

Supervisors = require_roles("supervisor", "admin")


class SkillsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    queues: list[ServiceQueue] = Field(max_length=len(ServiceQueue))
    active: bool = True


class StaffView(BaseModel):
    staff_id: str
    queues: list[ServiceQueue]
    active: bool
    open_cases: int | None = None


@router.put(
    "/staff/{staff_id}/skills",
    response_model=StaffView,
    summary="Set the specialist queues a member of staff works (and whether they take cases)",
)
async def put_skills(
    staff_id: Annotated[str, Path(min_length=1, max_length=100)],
    body: SkillsRequest,
    runtime: Runtime,
    principal: Annotated[Principal, Supervisors],
) -> StaffView:
    skills = SetSkills(staff_id, tuple(body.queues), body.active, runtime.clock.now())

    async def act(conn: asyncpg.Connection) -> StaffMember:
        return await set_skills(conn, runtime.store, skills, CommandContext.new(principal.actor()))

    member = await command(runtime.pool, act)
    return StaffView(staff_id=staff_id, queues=list(member.queues), active=member.active)


@router.get(
    "/staff",
    response_model=list[StaffView],
    summary="Staff, their queues and their open cases now",
)
async def list_staff(
    runtime: Runtime, principal: Annotated[Principal, require_roles("supervisor", "admin")]
) -> list[StaffView]:
    rows = await staff_skills.staff_with_open_cases(runtime.pool)
    return [StaffView.model_validate(row) for row in rows]
