"""HTTP API of the cases themselves: read a case (shaped by the caller's role), list cases,
record a contact (attach it to the open case of its problem, or open one); and the one way the
case routes run a command on a case."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from contracts.events.cases import CasePriority, CaseSource, CaseStatus, CaseType, WaitingOn
from contracts.vocabulary import (
    AccessibilityNeed,
    Channel,
    LanguagePreference,
    PersonRole,
    ProxyRelationship,
)
from runtime.audit import record_access
from runtime.auth import STAFF_ROLES, Principal, require_roles
from runtime.commands import IdempotencyKey, command, fingerprint, idempotent
from runtime.context import CommandContext
from runtime.errors import NotFound
from runtime.limits import RateLimited
from runtime.service import Runtime
from services.cases.api.case_views import CaseView, CustomerCaseView, shaped
from services.cases.application.cases import NewContact, change_case, open_or_attach
from services.cases.config import CasesWiring
from services.cases.domain.case import Case, CaseCommand, waiting_on
from services.cases.domain.case_types import PROBLEM_CATEGORY_OF
from services.cases.domain.visibility import Audience, audience_for
from services.cases.projections import case_views

router = APIRouter(tags=["cases"])

Readers = require_roles("customer", *STAFF_ROLES, "service")
Openers = require_roles("agent", "specialist", "supervisor", "admin", "service")
Workers = require_roles("agent", "specialist", "supervisor", "admin")
Staff = require_roles(*STAFF_ROLES, "service")
CustomerOrWorker = require_roles("customer", "agent", "specialist", "supervisor", "admin")
CaseId = Annotated[UUID, Path(description="The case id.")]


def forbid_extra() -> ConfigDict:
    return ConfigDict(extra="forbid")


# -- reading ----------------------------------------------------------------------------------


async def audit_staff_reads(
    runtime: Runtime, principal: Principal, rows: list[dict[str, Any]]
) -> None:
    """Staff seeing a customer's own words is a read of personal data: audited, the case being
    the reason (docs/privacy.md). Customers reading their own cases are not audited."""
    shown = [row for row in rows if row.get("summary")]
    if not shown or not principal.is_staff:
        return
    async with runtime.pool.acquire() as conn, conn.transaction():
        for row in shown:
            await record_access(
                conn,
                runtime,
                principal,
                subject_id=row["subject_id"],
                resource="case",
                resource_id=str(row["case_id"]),
                fields=["summary"],
                purpose=f"case:{row['case_id']}",
            )


async def visible(
    runtime: Runtime, principal: Principal, case_id: UUID
) -> tuple[dict[str, Any], Audience]:
    """The case's row and the caller's audience; 404 when it is unknown or not theirs."""
    row = await case_views.case_row(runtime.pool, case_id)
    audience = audience_for(principal, row["viewer_ids"]) if row else None
    if row is None or audience is None:
        raise NotFound(f"case {case_id} not found")
    return row, audience


@router.get(
    "/cases/{case_id}",
    response_model=CaseView | CustomerCaseView,
    summary="A case (customers see their own, without internal fields)",
    dependencies=[RateLimited("customer", customers_only=True)],
)
async def get_case(
    case_id: CaseId,
    runtime: Runtime,
    wiring: CasesWiring,
    principal: Annotated[Principal, Readers],
) -> CaseView | CustomerCaseView:
    row, audience = await visible(runtime, principal, case_id)
    await audit_staff_reads(runtime, principal, [row])
    return shaped(row, audience, wiring.settings.appeal_period)


@router.get(
    "/cases",
    response_model=list[CaseView | CustomerCaseView],
    summary="Cases by ticket, account, status or assignee (customers: their own)",
    dependencies=[RateLimited("customer", customers_only=True)],
)
async def list_cases(
    runtime: Runtime,
    wiring: CasesWiring,
    principal: Annotated[Principal, Readers],
    ticket_id: Annotated[UUID | None, Query()] = None,
    account_ref: Annotated[str | None, Query(max_length=100)] = None,
    status: Annotated[CaseStatus | None, Query()] = None,
    assignee_id: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[CaseView | CustomerCaseView]:
    rows = await case_views.case_rows(
        runtime.pool,
        ticket_id=ticket_id,
        account_ref=account_ref,
        viewer_id=None if principal.is_staff else principal.id,
        status=status.value if status else None,
        assignee_id=assignee_id,
        limit=limit,
    )
    audience = Audience.STAFF if principal.is_staff else Audience.CUSTOMER
    await audit_staff_reads(runtime, principal, rows)
    return [shaped(row, audience, wiring.settings.appeal_period) for row in rows]


# -- commands ---------------------------------------------------------------------------------


class CommandResult(BaseModel):
    """The case right after the command (the read views follow a moment later)."""

    case_id: UUID
    status: CaseStatus
    priority: CasePriority
    waiting_on: WaitingOn
    escalation_level: int


def result(case: Case) -> CommandResult:
    assert case.case_id is not None
    assert case.status is not None
    return CommandResult(
        case_id=case.case_id,
        status=case.status,
        priority=case.priority,
        waiting_on=waiting_on(case, case.status),
        escalation_level=case.escalation_level,
    )


async def change(
    runtime: Runtime, principal: Principal, case_id: UUID, case_command: CaseCommand
) -> Case:
    """Run a command on a case for the caller (a customer must follow it: 404 otherwise)."""

    async def act(conn: asyncpg.Connection) -> Case:
        return await change_case(
            conn,
            runtime.store,
            case_id,
            case_command,
            CommandContext.new(principal.actor()),
            principal,
        )

    return await command(runtime.pool, act)


async def idempotent_change(
    runtime: Runtime,
    principal: Principal,
    case_id: UUID,
    action: str,
    key: str | None,
    body: BaseModel,
    case_command: CaseCommand,
    extra: Callable[[Case], dict[str, Any]] = lambda case: {},
) -> JSONResponse:
    """``change`` under an Idempotency-Key: a retry returns the first answer (201)."""

    async def act(conn: asyncpg.Connection) -> tuple[int, Any]:
        case = await change_case(
            conn,
            runtime.store,
            case_id,
            case_command,
            CommandContext.new(principal.actor()),
            principal,
        )
        return 201, {**result(case).model_dump(mode="json"), **extra(case)}

    scope = f"cases:{action}:{principal.id}:{case_id}"
    return await idempotent(runtime.pool, scope, key, fingerprint(body), act)


class NewContactRequest(BaseModel):
    model_config = forbid_extra()

    account_ref: str = Field(min_length=1, max_length=100)
    case_type: CaseType
    channel: Channel = Channel.PHONE
    language: LanguagePreference
    words: str | None = Field(
        default=None, max_length=2000, description="The person's own words (personal data)."
    )
    customer_id: str | None = Field(
        default=None, max_length=100, description="Signed-in customer who may follow the case."
    )
    requester_role: PersonRole = PersonRole.HOLDER
    proxy_relationship: ProxyRelationship | None = None
    site_id: str | None = Field(default=None, max_length=64)
    accessibility_needs: list[AccessibilityNeed] = Field(default_factory=list, max_length=4)


class ContactResult(CommandResult):
    attached: bool = Field(description="True: joined the open case of the same problem.")
    contact_id: UUID


@router.post(
    "/cases",
    status_code=201,
    response_model=ContactResult,
    summary="Record a contact: attach it to the open case of the same problem, or open one",
    description="A phone, chat or email contact, or an agent's entry. When the account already "
    "has an unresolved case of this type, the contact attaches to it (contact_attached) "
    "instead of opening a duplicate; repeated contacts raise the priority and escalate.",
)
async def record_contact(
    body: NewContactRequest,
    runtime: Runtime,
    principal: Annotated[Principal, Openers],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    if body.proxy_relationship is not None and body.requester_role is not PersonRole.PROXY:
        body = body.model_copy(update={"requester_role": PersonRole.PROXY})
    contact_id, new_case_id = uuid.uuid4(), uuid.uuid4()

    async def act(conn: asyncpg.Connection) -> tuple[int, Any]:
        contact = NewContact(
            account_ref=body.account_ref,
            problem_category=PROBLEM_CATEGORY_OF[body.case_type],
            case_type=body.case_type,
            source=CaseSource(channel=body.channel),
            customer_id=body.customer_id,
            language=body.language,
            at=runtime.clock.now(),
            new_case_id=new_case_id,
            contact_id=contact_id,
            words=body.words,
            site_id=body.site_id,
            requester_role=body.requester_role,
            proxy_relationship=body.proxy_relationship,
            accessibility_needs=tuple(body.accessibility_needs),
        )
        case, attached = await open_or_attach(
            conn, runtime.store, contact, CommandContext.new(principal.actor())
        )
        answer = ContactResult(
            **result(case).model_dump(), attached=attached, contact_id=contact_id
        )
        return 201, answer.model_dump(mode="json")

    scope = f"cases:contact:{principal.id}"
    return await idempotent(runtime.pool, scope, idempotency_key, fingerprint(body), act)
