"""Look-alike domain flags across organizations (read model ``lookalike_flags``)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter
from pydantic import AwareDatetime

from runtime.auth import Principal, require_roles
from runtime.service import Runtime
from services.verification.api.organizations import FlagView
from services.verification.projections.organizations import flags

router = APIRouter(tags=["organizations"])


class FlagListItem(FlagView):
    organization_id: UUID
    status: str
    flagged_at: AwareDatetime


@router.get(
    "/verification/lookalike-flags",
    response_model=list[FlagListItem],
    summary="Look-alike domain flags (read model), newest first",
)
async def lookalike_flags(
    runtime: Runtime,
    principal: Annotated[Principal, require_roles("reviewer", "supervisor", "admin")],
    status: Literal["open", "cleared", "rejected"] = "open",
) -> list[FlagListItem]:
    rows = await flags(runtime.pool, status)
    return [FlagListItem.model_validate(dict(row)) for row in rows]
