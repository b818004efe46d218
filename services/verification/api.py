"""HTTP API of verification."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path
from pydantic import AwareDatetime, BaseModel

from contracts.events.cases import CaseType
from runtime.auth import STAFF_ROLES, Principal, require_roles
from runtime.errors import NotFound
from runtime.service import Runtime
from services.verification.domain import Check

router = APIRouter(tags=["verification"])


class CheckPlan(BaseModel):
    case_id: UUID
    case_type: CaseType
    required_checks: list[Check]
    opened_at: AwareDatetime


@router.get(
    "/verification/case-plans/{case_id}",
    response_model=CheckPlan,
    summary="The checks a case needs before a decision",
)
async def case_plan(
    case_id: Annotated[UUID, Path()],
    runtime: Runtime,
    principal: Annotated[Principal, require_roles(*STAFF_ROLES, "service")],
) -> CheckPlan:
    row = await runtime.pool.fetchrow(
        "SELECT case_id, case_type, required_checks, opened_at FROM case_check_plans "
        "WHERE case_id = $1",
        case_id,
    )
    if row is None:
        raise NotFound(f"no check plan for case {case_id}")
    return CheckPlan.model_validate(dict(row))
