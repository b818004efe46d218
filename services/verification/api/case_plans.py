"""The checks a case needs before a decision (read model ``case_check_plans``)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path
from pydantic import AwareDatetime, BaseModel

from contracts.events.cases import CaseType
from runtime.auth import Principal
from runtime.errors import NotFound
from runtime.service import Runtime
from services.verification.api.access import StaffOrService
from services.verification.domain.plans import Check
from services.verification.projections.case_plans import plan_of

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
    principal: Annotated[Principal, StaffOrService],
) -> CheckPlan:
    row = await plan_of(runtime.pool, case_id)
    if row is None:
        raise NotFound(f"no check plan for case {case_id}")
    return CheckPlan.model_validate(dict(row))
