"""HTTP API of timelines: an account's (staff: every contact, ticket, verification, decision,
callback and note, with the contacts' words, audited) and a case's (customers: what they may
see)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime, BaseModel, Field

from runtime.audit import record_access
from runtime.auth import Principal
from runtime.limits import RateLimited
from runtime.service import Runtime
from services.cases.api.cases import CaseId, Readers, Staff, visible
from services.cases.domain.visibility import Audience, timeline_entry_for
from services.cases.projections import case_views
from services.cases.projections.account_timeline import of_account, of_case

router = APIRouter(tags=["cases"])
AccountRef = Annotated[str, Path(min_length=1, max_length=100)]


class TimelineEntry(BaseModel):
    at: AwareDatetime
    kind: str
    case_id: UUID | None
    details: dict[str, Any]
    actor_role: str | None = None
    words: str | None = Field(default=None, description="A contact's own words (staff only).")


class AccountTimeline(BaseModel):
    account_ref: str
    contacts_last_90_days: int
    open_cases: int
    entries: list[TimelineEntry]


@router.get(
    "/accounts/{account_ref}/timeline",
    response_model=AccountTimeline,
    summary="Every contact, ticket, verification, decision, callback and note, in order",
)
async def account_timeline(
    account_ref: AccountRef,
    runtime: Runtime,
    principal: Annotated[Principal, Staff],
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    for_case: Annotated[
        UUID | None,
        Query(description="The case this look is for: the audit records it as the reason."),
    ] = None,
) -> AccountTimeline:
    rows = await of_account(runtime.pool, account_ref, limit)
    if any(row["words"] for row in rows):
        async with runtime.pool.acquire() as conn:
            await record_access(
                conn,
                runtime,
                principal,
                subject_id=f"account:{account_ref}",
                resource="account_timeline",
                resource_id=account_ref,
                fields=["words"],
                purpose=f"case:{for_case}" if for_case else "account_timeline",
            )
    since = runtime.clock.now() - timedelta(days=90)
    contacts = await case_views.contacts_since(runtime.pool, account_ref, since)
    open_cases = await case_views.unresolved_count(runtime.pool, account_ref)
    return AccountTimeline(
        account_ref=account_ref,
        contacts_last_90_days=contacts,
        open_cases=open_cases,
        entries=[TimelineEntry.model_validate(row) for row in rows],
    )


@router.get(
    "/cases/{case_id}/timeline",
    response_model=list[TimelineEntry],
    summary="The case's history (customers: what they may see)",
    dependencies=[RateLimited("customer", customers_only=True)],
)
async def case_timeline(
    case_id: CaseId,
    runtime: Runtime,
    principal: Annotated[Principal, Readers],
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> list[TimelineEntry]:
    view, audience = await visible(runtime, principal, case_id)
    rows = await of_case(runtime.pool, case_id, limit)
    if audience is Audience.STAFF and any(row["words"] for row in rows):
        async with runtime.pool.acquire() as conn:
            await record_access(
                conn,
                runtime,
                principal,
                subject_id=view["subject_id"],
                resource="case_timeline",
                resource_id=str(case_id),
                fields=["words"],
                purpose=f"case:{case_id}",
            )
    entries = []
    for row in rows:
        entry = timeline_entry_for(row, audience)
        if entry is not None:
            entries.append(TimelineEntry.model_validate(entry))
    return entries
