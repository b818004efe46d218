"""HTTP API of assignment: to a specialist queue and one person in it, and who should take a
case (the active person with the skill and the fewest open cases)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from contracts.vocabulary import ServiceQueue
from runtime.auth import Principal
from runtime.service import Runtime
from services.cases.api.cases import (
    CaseId,
    CommandResult,
    Workers,
    change,
    forbid_extra,
    result,
    visible,
)
from services.cases.domain.case import Assign
from services.cases.projections import staff_skills

router = APIRouter(tags=["cases"])


class AssignRequest(BaseModel):
    model_config = forbid_extra()

    queue: ServiceQueue | None = Field(default=None, description="Default: the type's queue.")
    assignee_id: str | None = Field(default=None, min_length=1, max_length=100)
    suggested: bool = Field(default=False, description="The suggestion was followed.")


@router.post(
    "/cases/{case_id}/assignment",
    response_model=CommandResult,
    summary="Assign to a specialist queue, and to one person in it",
)
async def assign(
    case_id: CaseId,
    body: AssignRequest,
    runtime: Runtime,
    principal: Annotated[Principal, Workers],
) -> CommandResult:
    command = Assign(runtime.clock.now(), body.queue, body.assignee_id, body.suggested)
    return result(await change(runtime, principal, case_id, command))


class Suggestion(BaseModel):
    queue: ServiceQueue
    assignee_id: str | None = Field(description="None when nobody active has the skill.")
    open_cases: int | None = Field(description="Open cases the suggested person holds now.")
    candidates: list[dict[str, Any]]


@router.get(
    "/cases/{case_id}/assignment-suggestion",
    response_model=Suggestion,
    summary="Who should take it: the active person with the skill and the fewest open cases",
)
async def suggest_assignee(
    case_id: CaseId, runtime: Runtime, principal: Annotated[Principal, Workers]
) -> Suggestion:
    row, _ = await visible(runtime, principal, case_id)
    queue = ServiceQueue(row["queue"])
    candidates = await staff_skills.candidates(runtime.pool, queue)
    best = candidates[0] if candidates else None
    return Suggestion(
        queue=queue,
        assignee_id=best["staff_id"] if best else None,
        open_cases=best["open_cases"] if best else None,
        candidates=candidates,
    )
