"""HTTP API of tags on the customer of an account (for campaigns; consent is checked at
sending, by notifications).

Also an organization's contact centre: its staff tag customers for its own campaigns. A tag
belongs to the caller's centre (``Principal.organization``; None: the platform's service
centre) and every read shows the caller only its own centre's tags: the platform's ``vip``,
organization A's and organization B's on one account are three tags, each seen by its owner
alone. Nothing else about the account (cases, timeline, suspensions) opens to an
organization's staff."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.events.cases_accounts import TAG
from runtime.auth import STAFF_ROLES, Principal, require_roles
from runtime.commands import command
from runtime.context import CommandContext
from runtime.service import Runtime
from services.cases.application.accounts import change_account
from services.cases.domain.account import Account, TagCustomer, UntagCustomer
from services.cases.projections import accounts

router = APIRouter(tags=["accounts, staff and policies"])

Staff = require_roles(*STAFF_ROLES, "service", organizations=True)
Taggers = require_roles("agent", "specialist", "supervisor", "admin", "service", organizations=True)
Audience = require_roles("supervisor", "admin", "service", organizations=True)
AccountRef = Annotated[str, Path(min_length=1, max_length=100)]
Tag = Annotated[str, Path(pattern=TAG)]


def changing(
    runtime: Runtime, principal: Principal, change: TagCustomer | UntagCustomer
) -> Callable[[asyncpg.Connection], Awaitable[Account]]:
    async def act(conn: asyncpg.Connection) -> Account:
        return await change_account(
            conn, runtime.store, change, CommandContext.new(principal.actor())
        )

    return act


class TagRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tag: str = Field(pattern=TAG, examples=["wallet-reactivated"])
    campaign_id: str | None = Field(default=None, max_length=100)
    case_id: UUID | None = None


class TagView(BaseModel):
    account_ref: str
    tag: str
    organization_id: UUID | None = Field(
        description="Whose tag: the organization's contact centre (None: the platform's)."
    )
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
    description="The tag belongs to the caller's centre: the platform's, or (an "
    "organization's staff) their verified organization's, for its campaigns alone "
    "(409 `organization_not_verified` until verification verified it). An organization's tag "
    "names no case (422 `case_id`).",
)
async def tag_customer(
    account_ref: AccountRef,
    body: TagRequest,
    runtime: Runtime,
    principal: Annotated[Principal, Taggers],
) -> TagsView:
    owner = principal.organization
    tag = TagCustomer(
        account_ref, body.tag, runtime.clock.now(), body.campaign_id, body.case_id, owner
    )
    account = await command(runtime.pool, changing(runtime, principal, tag))
    return TagsView(account_ref=account_ref, tags=sorted(account.tags_of(owner)))


@router.delete(
    "/accounts/{account_ref}/tags/{tag}", response_model=TagsView, summary="Remove a tag"
)
async def untag_customer(
    account_ref: AccountRef, tag: Tag, runtime: Runtime, principal: Annotated[Principal, Taggers]
) -> TagsView:
    owner = principal.organization
    untag = UntagCustomer(account_ref, tag, runtime.clock.now(), owner)
    account = await command(runtime.pool, changing(runtime, principal, untag))
    return TagsView(account_ref=account_ref, tags=sorted(account.tags_of(owner)))


@router.get(
    "/accounts/{account_ref}/tags", response_model=list[TagView], summary="Tags of a customer"
)
async def list_tags(
    account_ref: AccountRef, runtime: Runtime, principal: Annotated[Principal, Staff]
) -> list[TagView]:
    rows = await accounts.tags_of(runtime.pool, account_ref, principal.organization)
    return [TagView.model_validate(row) for row in rows]


@router.get(
    "/tags/{tag}/accounts",
    response_model=list[str],
    summary="The accounts carrying a tag (a campaign's audience before consent is checked)",
)
async def accounts_with_tag(
    tag: Tag,
    runtime: Runtime,
    principal: Annotated[Principal, Audience],
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
) -> list[str]:
    return await accounts.accounts_with_tag(runtime.pool, tag, principal.organization, limit)
