"""HTTP API of the account platform's suspensions: the platform reports a suspension here, as it
can on Kafka (``platform.account_suspended``); either way cases records it once on the account
(idempotent by the platform's suspension id) and links it to every unresolved case of it."""

from __future__ import annotations

import uuid
from typing import Annotated
from uuid import UUID

import asyncpg
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from contracts.events.platform import AccountSuspended
from runtime.auth import Principal, require_roles
from runtime.commands import command
from runtime.context import CommandContext
from runtime.service import Runtime
from services.cases.application.accounts import SuspensionOutcome, record_suspension

router = APIRouter(tags=["accounts, staff and policies"])

Platform = require_roles("service")

_HTTP_REPORTS = uuid.UUID("3b0f7c52-9d1e-4c1a-8f57-6a2e0d4b9c31")


FactName = Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[a-z][a-z0-9_]*$")]
FactValue = Annotated[str, Field(max_length=200)]


class SuspensionReport(AccountSuspended):
    """The platform's suspension, the same fields as ``platform.account_suspended``, each
    bounded as a request must be (the event's own model reads what was published)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule_version: int = Field(ge=1, le=1_000_000, description="Version of the rule that fired.")
    threshold: int | None = Field(
        default=None, ge=0, le=1_000_000_000, description="The rule's N (e.g. 10 group chats)."
    )
    window_hours: int | None = Field(
        default=None, ge=1, le=24 * 366, description="The rule's time window in hours."
    )
    facts: dict[FactName, FactValue] = Field(
        default_factory=dict,
        max_length=20,
        description="The concrete facts that triggered it, e.g. {'group_chats': '14'}; "
        "no personal data.",
    )


class SuspensionAnswer(BaseModel):
    suspension_id: UUID
    account_ref: str
    recorded: bool = Field(
        description="True when this request recorded it; false when cases knew it already "
        "(an earlier request or the Kafka event with the same suspension id)."
    )
    linked_cases: list[UUID] = Field(description="The account's unresolved cases, which link it.")


def report_event_id(suspension_id: UUID) -> UUID:
    """The id a suspension reported over HTTP is recorded under, in place of the platform's
    event id: derived from the suspension, so a repeated report is the same report."""
    return uuid.uuid5(_HTTP_REPORTS, str(suspension_id))


@router.post(
    "/platform/suspensions",
    status_code=201,
    response_model=SuspensionAnswer,
    summary="The account platform reports a suspension (the HTTP twin of "
    "platform.account_suspended; idempotent by suspension_id: 201 recorded, 200 known already)",
)
async def report_suspension(
    body: SuspensionReport, runtime: Runtime, principal: Annotated[Principal, Platform]
) -> JSONResponse:
    suspended = AccountSuspended.model_validate(body.model_dump())

    async def act(conn: asyncpg.Connection) -> SuspensionOutcome:
        return await record_suspension(
            conn,
            runtime.store,
            suspended,
            report_event_id(suspended.suspension_id),
            CommandContext.new(principal.actor()),
        )

    outcome = await command(runtime.pool, act)
    answer = SuspensionAnswer(
        suspension_id=suspended.suspension_id,
        account_ref=suspended.account_ref,
        recorded=outcome.recorded,
        linked_cases=outcome.linked_cases,
    )
    return JSONResponse(
        answer.model_dump(mode="json"), status_code=201 if outcome.recorded else 200
    )
