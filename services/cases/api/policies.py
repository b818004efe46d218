"""HTTP API of the versioned policy catalogue: every rule a decision or a suspension can name,
for every caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from runtime.auth import STAFF_ROLES, Principal, require_roles
from services.cases.domain.policies import CATALOGUE, Policy, policy

router = APIRouter(tags=["accounts, staff and policies"])

Anyone = require_roles("customer", *STAFF_ROLES, "service")


class PolicyView(BaseModel):
    code: str
    version: int
    kind: str
    title: dict[str, str]
    explanation: dict[str, str] = Field(description="Templates per language.")
    threshold: int | None
    threshold_unit: str | None
    window_hours: int | None
    outcomes: list[str]
    case_types: list[str]
    required_facts: list[str]


def _policy_view(rule: Policy) -> PolicyView:
    return PolicyView(
        code=rule.code,
        version=rule.version,
        kind=rule.kind.value,
        title=rule.title,
        explanation=rule.explanation,
        threshold=rule.threshold,
        threshold_unit=rule.threshold_unit,
        window_hours=rule.window_hours,
        outcomes=sorted(o.value for o in rule.outcomes),
        case_types=sorted(t.value for t in rule.case_types),
        required_facts=rule.required_facts(),
    )


@router.get(
    "/policies",
    response_model=list[PolicyView],
    summary="The versioned policy catalogue (every rule a decision or suspension can name)",
)
async def list_policies(principal: Annotated[Principal, Anyone]) -> list[PolicyView]:
    return [_policy_view(rule) for rule in CATALOGUE]


@router.get("/policies/{code}", response_model=PolicyView, summary="One rule (latest or a version)")
async def get_policy(
    code: Annotated[str, Path(max_length=64)],
    principal: Annotated[Principal, Anyone],
    version: Annotated[int | None, Query(ge=1, le=10_000)] = None,
) -> PolicyView:
    return _policy_view(policy(code, version))
