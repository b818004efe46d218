"""HTTP API around the cases: the policy catalogue, tags on customers for campaigns, and the
specialist queues each member of staff works."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.events.cases_accounts import TAG
from contracts.vocabulary import ServiceQueue
from runtime.auth import STAFF_ROLES, Principal, require_roles
from runtime.eventstore import CommandContext
from runtime.service import Runtime
from services.cases.domain.account import TagCustomer, UntagCustomer, decide_account
from services.cases.domain.staff_member import SetSkills, decide_skills
from services.cases.application.cases import account_command, set_staff_skills
from services.cases.domain.policies import CATALOGUE, Policy, policy

router = APIRouter(tags=["accounts, staff and policies"])

Anyone = require_roles("customer", *STAFF_ROLES, "service")
Staff = require_roles(*STAFF_ROLES, "service")
Taggers = require_roles("agent", "specialist", "supervisor", "admin", "service")
Supervisors = require_roles("supervisor", "admin")
AccountRef = Annotated[str, Path(min_length=1, max_length=100)]
Tag = Annotated[str, Path(pattern=TAG)]


# -- the policy catalogue ---------------------------------------------------------------------


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
    version: Annotated[int | None, Query(ge=1)] = None,
) -> PolicyView:
    return _policy_view(policy(code, version))


# -- tags on customers ------------------------------------------------------------------------


class TagRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tag: str = Field(pattern=TAG, examples=["wallet-reactivated"])
    campaign_id: str | None = Field(default=None, max_length=100)
    case_id: UUID | None = None


class TagView(BaseModel):
    account_ref: str
    tag: str
    campaign_id: str | None
    case_id: UUID | None
    tagged_at: AwareDatetime


class TagsView(BaseModel):
    account_ref: str
    tags: list[str]


@router.post(
    "/accounts/{account_ref}/tags",
    status_code=201,
    response_model=TagsView,
    summary="Tag the customer of an account (for campaigns; consent is checked at sending)",
)
async def tag_customer(
    account_ref: AccountRef,
    body: TagRequest,
    runtime: Runtime,
    principal: Annotated[Principal, Taggers],
) -> TagsView:
    command = TagCustomer(
        account_ref, body.tag, runtime.clock.now(), body.campaign_id, body.case_id
    )
    async with runtime.pool.acquire() as conn, conn.transaction():
        account = await account_command(
            conn,
            runtime.store,
            account_ref,
            lambda state: decide_account(state, command),
            CommandContext.new(principal.actor()),
        )
    return TagsView(account_ref=account_ref, tags=sorted(account.tags))


@router.delete(
    "/accounts/{account_ref}/tags/{tag}", response_model=TagsView, summary="Remove a tag"
)
async def untag_customer(
    account_ref: AccountRef, tag: Tag, runtime: Runtime, principal: Annotated[Principal, Taggers]
) -> TagsView:
    command = UntagCustomer(account_ref, tag, runtime.clock.now())
    async with runtime.pool.acquire() as conn, conn.transaction():
        account = await account_command(
            conn,
            runtime.store,
            account_ref,
            lambda state: decide_account(state, command),
            CommandContext.new(principal.actor()),
        )
    return TagsView(account_ref=account_ref, tags=sorted(account.tags))


@router.get(
    "/accounts/{account_ref}/tags", response_model=list[TagView], summary="Tags of a customer"
)
async def list_tags(
    account_ref: AccountRef, runtime: Runtime, principal: Annotated[Principal, Staff]
) -> list[TagView]:
    rows = await runtime.pool.fetch(
        "SELECT account_ref, tag, campaign_id, case_id, tagged_at FROM customer_tags "
        "WHERE account_ref = $1 ORDER BY tag",
        account_ref,
    )
    return [TagView.model_validate(dict(row)) for row in rows]


@router.get(
    "/tags/{tag}/accounts",
    response_model=list[str],
    summary="The accounts carrying a tag (a campaign's audience before consent is checked)",
)
async def accounts_with_tag(
    tag: Tag,
    runtime: Runtime,
    principal: Annotated[Principal, require_roles("supervisor", "admin", "service")],
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
) -> list[str]:
    rows = await runtime.pool.fetch(
        "SELECT account_ref FROM customer_tags WHERE tag = $1 ORDER BY account_ref LIMIT $2",
        tag,
        limit,
    )
    return [row["account_ref"] for row in rows]


# -- staff skills -----------------------------------------------------------------------------


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
async def set_skills(
    staff_id: Annotated[str, Path(min_length=1, max_length=100)],
    body: SkillsRequest,
    runtime: Runtime,
    principal: Annotated[Principal, Supervisors],
) -> StaffView:
    command = SetSkills(staff_id, tuple(body.queues), body.active, runtime.clock.now())
    async with runtime.pool.acquire() as conn, conn.transaction():
        member = await set_staff_skills(
            conn,
            runtime.store,
            staff_id,
            lambda state: decide_skills(state, command),
            CommandContext.new(principal.actor()),
        )
    return StaffView(staff_id=staff_id, queues=list(member.queues), active=member.active)


@router.get(
    "/staff",
    response_model=list[StaffView],
    summary="Staff, their queues and their open cases now",
)
async def list_staff(
    runtime: Runtime, principal: Annotated[Principal, require_roles("supervisor", "admin")]
) -> list[StaffView]:
    rows = await runtime.pool.fetch(
        """SELECT s.staff_id, s.queues, s.active, count(v.case_id) AS open_cases
           FROM staff_skills s
           LEFT JOIN case_views v ON v.assignee_id = s.staff_id
                AND v.status NOT IN ('resolved', 'closed', 'merged')
           GROUP BY s.staff_id, s.queues, s.active ORDER BY s.staff_id"""
    )
    return [StaffView.model_validate(dict(row)) for row in rows]
