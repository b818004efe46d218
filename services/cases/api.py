"""HTTP API of cases."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime, BaseModel, Field

from contracts.events.cases import CaseType
from contracts.vocabulary import ProblemCategory
from runtime.auth import STAFF_ROLES, Principal, require_roles
from runtime.errors import NotFound
from runtime.service import Runtime

router = APIRouter(tags=["cases"])

Readers = require_roles("customer", *STAFF_ROLES, "service")


class CaseView(BaseModel):
    case_id: UUID
    account_ref: str
    case_type: CaseType
    problem_category: ProblemCategory
    status: str
    language: str
    source_channel: str | None
    source_ticket_id: UUID | None
    opened_at: AwareDatetime
    correlation_id: UUID
    summary: str | None = Field(
        default=None, description="The customer's own words (None once their data is erased)."
    )


_COLUMNS = """case_id, account_ref, case_type, problem_category, status, customer_id, language,
              source_channel, source_ticket_id, opened_at, correlation_id, summary"""


def _visible(row: dict[str, object] | None, principal: Principal) -> bool:
    if row is None:
        return False
    return principal.is_staff or row["customer_id"] == principal.id


@router.get("/cases/{case_id}", response_model=CaseView, summary="A case")
async def get_case(
    case_id: Annotated[UUID, Path()],
    runtime: Runtime,
    principal: Annotated[Principal, Readers],
) -> CaseView:
    row = await runtime.pool.fetchrow(
        f"SELECT {_COLUMNS} FROM case_views WHERE case_id = $1", case_id
    )
    if row is None or not _visible(dict(row), principal):
        raise NotFound(f"case {case_id} not found")
    return CaseView.model_validate(dict(row))


@router.get("/cases", response_model=list[CaseView], summary="Cases by ticket or account")
async def list_cases(
    runtime: Runtime,
    principal: Annotated[Principal, Readers],
    ticket_id: Annotated[UUID | None, Query()] = None,
    account_ref: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[CaseView]:
    rows = await runtime.pool.fetch(
        f"""SELECT {_COLUMNS} FROM case_views
            WHERE ($1::uuid IS NULL OR source_ticket_id = $1)
              AND ($2::text IS NULL OR account_ref = $2)
              AND ($3::text IS NULL OR customer_id = $3)
            ORDER BY opened_at DESC LIMIT $4""",
        ticket_id,
        account_ref,
        None if principal.is_staff else principal.id,
        limit,
    )
    return [CaseView.model_validate(dict(row)) for row in rows]
