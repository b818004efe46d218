"""HTTP API of tags on the customer of an account (for campaigns; consent is checked at
sending, by notifications)."""

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

Staff = require_roles(*STAFF_ROLES, "service")
Taggers = require_roles("agent", "specialist", "supervisor", "admin", "service")
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
    tag = TagCustomer(account_ref, body.tag, runtime.clock.now(), body.campaign_id, body.case_id)
    account = await command(runtime.pool, changing(runtime, principal, tag))
    return TagsView(account_ref=account_ref, tags=sorted(account.tags))


@router.delete(
    "/accounts/{account_ref}/tags/{tag}", response_model=TagsView, summary="Remove a tag"
)
async def untag_customer(
    account_ref: AccountRef, tag: Tag, runtime: Runtime, principal: Annotated[Principal, Taggers]
) -> TagsView:
    untag = UntagCustomer(account_ref, tag, runtime.clock.now())
    account = await command(runtime.pool, changing(runtime, principal, untag))
    return TagsView(account_ref=account_ref, tags=sorted(account.tags))


@router.get(
    "/accounts/{account_ref}/tags", response_model=list[TagView], summary="Tags of a customer"
)
async def list_tags(
    account_ref: AccountRef, runtime: Runtime, principal: Annotated[Principal, Staff]
) -> list[TagView]:
    rows = await accounts.tags_of(runtime.pool, account_ref)
    return [TagView.model_validate(row) for row in rows]


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
    return await accounts.accounts_with_tag(runtime.pool, tag, limit)
