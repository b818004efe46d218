"""HTTP API of a case's lifecycle: status, verification, decision, reopen or appeal, close,
the customer's reply, escalation, priority, the disputed report, merge and split. Each route
parses, names the command, and runs it (``api/cases.py``); every rule is in the domain."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any
from uuid import UUID

import asyncpg
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, Field, field_validator

from contracts.events.cases import (
    CasePriority,
    CaseStatus,
    CaseType,
    DecisionOutcome,
    Evidence,
    ReporterCategory,
)
from contracts.fields import MAX_INTEGER, MAX_NUMBER
from contracts.vocabulary import PersonRole, RiskLevel, VerificationPurpose
from runtime.auth import Principal
from runtime.commands import IdempotencyKey, command, fingerprint, idempotent
from runtime.context import CommandContext
from runtime.limits import RateLimited
from runtime.service import Runtime
from services.cases.api.cases import (
    CaseId,
    CommandResult,
    CustomerOrWorker,
    Openers,
    Workers,
    change,
    forbid_extra,
    idempotent_change,
    result,
)
from services.cases.application.cases import merge_cases
from services.cases.application.cases import split_contact as split_contact_case
from services.cases.config import CasesWiring
from services.cases.domain.case import (
    Case,
    ChangePriority,
    ChangeStatus,
    Close,
    CustomerReply,
    Escalate,
    EscalationReason,
    RecordDecision,
    RecordReport,
    Reopen,
    RequestVerification,
    SplitContact,
)

router = APIRouter(tags=["cases"])
FACT_KEY = r"^[a-z][a-z0-9_]{0,39}$"
FactValue = (
    Annotated[str, Field(max_length=200)]
    | Annotated[int, Field(ge=-MAX_INTEGER, le=MAX_INTEGER)]
    | Annotated[float, Field(ge=-MAX_NUMBER, le=MAX_NUMBER, allow_inf_nan=False)]
)


class StatusRequest(BaseModel):
    model_config = forbid_extra()

    status: CaseStatus
    reason: str = Field(default="agent", min_length=1, max_length=200)


@router.post(
    "/cases/{case_id}/status",
    response_model=CommandResult,
    summary="Move the case in its lifecycle (409 with the reason when not allowed)",
)
async def change_status(
    case_id: CaseId,
    body: StatusRequest,
    runtime: Runtime,
    principal: Annotated[Principal, Workers],
) -> CommandResult:
    role = principal.actor().role
    command = ChangeStatus(body.status, body.reason, role, runtime.clock.now())
    case = await change(runtime, principal, case_id, command)
    return result(case)


class VerificationRequest(BaseModel):
    model_config = forbid_extra()

    purpose: VerificationPurpose | None = Field(
        default=None, description="Default: what the case type requires."
    )
    person_role: PersonRole | None = Field(
        default=None, description="Whose identity: default what the case type requires."
    )
    person_ref: str | None = Field(default=None, max_length=100)
    risk_level: RiskLevel | None = None


@router.post(
    "/cases/{case_id}/verifications",
    status_code=201,
    summary="Ask the verification service to verify someone; the case awaits it",
)
async def request_verification(
    case_id: CaseId,
    body: VerificationRequest,
    runtime: Runtime,
    principal: Annotated[Principal, Workers],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    verification_id = uuid.uuid4()
    command = RequestVerification(
        verification_id=verification_id,
        at=runtime.clock.now(),
        purpose=body.purpose,
        person_role=body.person_role,
        person_ref=body.person_ref,
        risk_level=body.risk_level,
    )
    return await idempotent_change(
        runtime,
        principal,
        case_id,
        "verification",
        idempotency_key,
        body,
        command,
        lambda c: {"verification_id": str(verification_id)},
    )


class DecisionRequest(BaseModel):
    model_config = forbid_extra()

    outcome: DecisionOutcome
    reason_code: str = Field(min_length=2, max_length=64, examples=["OWNERSHIP-PROVEN"])
    policy_version: int | None = Field(
        default=None, ge=1, le=10_000, description="Default: the latest."
    )
    facts: dict[str, FactValue] = Field(
        default_factory=dict,
        max_length=20,
        description="The concrete facts the rule's explanation names; recorded sealed under "
        "the account's key (null once the account is erased).",
    )
    refund_amount: str | None = Field(default=None, pattern=r"^[0-9]{1,12}(\.[0-9]{1,2})?$")
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")

    @field_validator("facts")
    @classmethod
    def _fact_names(cls, facts: dict[str, Any]) -> dict[str, Any]:
        for name, value in facts.items():
            if not re.match(FACT_KEY, name):
                raise ValueError(f"fact names are lower_snake_case ({FACT_KEY})")
            if len(str(value)) > 200:
                raise ValueError("a fact is at most 200 characters")
        return facts


@router.post(
    "/cases/{case_id}/decision",
    status_code=201,
    summary="Decide the case: outcome, rule from the policy catalogue, facts; explained",
)
async def record_decision(
    case_id: CaseId,
    body: DecisionRequest,
    runtime: Runtime,
    wiring: CasesWiring,
    principal: Annotated[Principal, Workers],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    command = RecordDecision(
        decision_id=uuid.uuid4(),
        outcome=body.outcome,
        reason_code=body.reason_code,
        facts={k: str(v) for k, v in body.facts.items()},
        by_role=principal.actor().role,
        at=runtime.clock.now(),
        policy_version=body.policy_version,
        refund_amount=body.refund_amount,
        currency=body.currency,
        appeal_period=wiring.settings.appeal_period,
    )

    def decision(case: Case) -> dict[str, Any]:
        assert case.decision is not None
        return {"decision": case.decision.model_dump(mode="json")}

    return await idempotent_change(
        runtime,
        principal,
        case_id,
        "decision",
        idempotency_key,
        body,
        command,
        decision,
    )


class ReopenRequest(BaseModel):
    model_config = forbid_extra()

    statement: str | None = Field(
        default=None, max_length=2000, description="Why (the appellant's words; personal data)."
    )
    evidence: list[Evidence] = Field(default_factory=list, max_length=20)


@router.post(
    "/cases/{case_id}/reopen",
    response_model=CommandResult,
    summary="Reopen (staff) or appeal (the customer) within the appeal period",
    dependencies=[RateLimited("customer", customers_only=True)],
)
async def reopen(
    case_id: CaseId,
    body: ReopenRequest,
    runtime: Runtime,
    wiring: CasesWiring,
    principal: Annotated[Principal, CustomerOrWorker],
) -> CommandResult:
    command = Reopen(
        appeal=not principal.is_staff,
        at=runtime.clock.now(),
        appeal_period=wiring.settings.appeal_period,
        statement=body.statement,
        evidence=tuple(body.evidence),
    )
    case = await change(runtime, principal, case_id, command)
    return result(case)


class CloseRequest(BaseModel):
    model_config = forbid_extra()

    reason: str = Field(default="resolved", min_length=1, max_length=200)


@router.post(
    "/cases/{case_id}/close", response_model=CommandResult, summary="Close a resolved case"
)
async def close(
    case_id: CaseId,
    body: CloseRequest,
    runtime: Runtime,
    principal: Annotated[Principal, Workers],
) -> CommandResult:
    command = Close(body.reason, runtime.clock.now())
    return result(await change(runtime, principal, case_id, command))


class ReplyRequest(BaseModel):
    model_config = forbid_extra()


@router.post(
    "/cases/{case_id}/replies",
    response_model=CommandResult,
    summary="The customer answered: the case leaves awaiting_customer, its clock resumes",
    dependencies=[RateLimited("customer", customers_only=True)],
)
async def customer_reply(
    case_id: CaseId,
    body: ReplyRequest,
    runtime: Runtime,
    principal: Annotated[Principal, CustomerOrWorker],
) -> CommandResult:
    command = CustomerReply(runtime.clock.now())
    case = await change(runtime, principal, case_id, command)
    return result(case)


class EscalateRequest(BaseModel):
    model_config = forbid_extra()


@router.post(
    "/cases/{case_id}/escalation",
    response_model=CommandResult,
    summary="Escalate to a supervisor (again: one level up)",
)
async def escalate(
    case_id: CaseId,
    body: EscalateRequest,
    runtime: Runtime,
    principal: Annotated[Principal, Workers],
) -> CommandResult:
    command = Escalate(EscalationReason.AGENT, runtime.clock.now())
    return result(await change(runtime, principal, case_id, command))


class PriorityRequest(BaseModel):
    model_config = forbid_extra()

    priority: CasePriority
    reason: str = Field(default="agent", min_length=1, max_length=200)


@router.post("/cases/{case_id}/priority", response_model=CommandResult, summary="Set the priority")
async def change_priority(
    case_id: CaseId,
    body: PriorityRequest,
    runtime: Runtime,
    principal: Annotated[Principal, Workers],
) -> CommandResult:
    command = ChangePriority(body.priority, body.reason, runtime.clock.now())
    case = await change(runtime, principal, case_id, command)
    return result(case)


class ReportRequest(BaseModel):
    model_config = forbid_extra()

    report_id: str = Field(min_length=1, max_length=100)
    reporter_category: ReporterCategory
    organization_name: str | None = Field(
        default=None, min_length=1, max_length=200, description="Organizations only."
    )
    reporter_ref: str | None = Field(default=None, max_length=100)
    rule_code: str | None = Field(default=None, max_length=64)
    evidence: list[Evidence] = Field(default_factory=list, max_length=50)
    reported_at: AwareDatetime


@router.post(
    "/cases/{case_id}/report",
    response_model=CommandResult,
    summary="Record the third-party report a dispute is about (who reported, evidence)",
)
async def record_report(
    case_id: CaseId,
    body: ReportRequest,
    runtime: Runtime,
    principal: Annotated[Principal, Openers],
) -> CommandResult:
    command = RecordReport(
        report_id=body.report_id,
        reporter_category=body.reporter_category,
        reported_at=body.reported_at,
        at=runtime.clock.now(),
        organization_name=body.organization_name,
        reporter_ref=body.reporter_ref,
        rule_code=body.rule_code,
        evidence=tuple(body.evidence),
    )
    case = await change(runtime, principal, case_id, command)
    return result(case)


class MergeRequest(BaseModel):
    model_config = forbid_extra()

    merge_case_id: UUID = Field(description="The case that folds into this one and ends.")


@router.post(
    "/cases/{case_id}/merge",
    response_model=CommandResult,
    summary="Merge another case of the same account into this one",
)
async def merge(
    case_id: CaseId,
    body: MergeRequest,
    runtime: Runtime,
    principal: Annotated[Principal, Workers],
) -> CommandResult:
    async def act(conn: asyncpg.Connection) -> Case:
        return await merge_cases(
            conn,
            runtime.store,
            case_id,
            body.merge_case_id,
            runtime.clock.now(),
            CommandContext.new(principal.actor()),
        )

    return result(await command(runtime.pool, act))


class SplitRequest(BaseModel):
    model_config = forbid_extra()

    case_type: CaseType = Field(description="The other problem the contact is about.")
    account_ref: str | None = Field(
        default=None, min_length=1, max_length=100, description="Default: the same account."
    )


@router.post(
    "/cases/{case_id}/contacts/{contact_id}/split",
    status_code=201,
    summary="Split a contact out into a case of its own",
)
async def split_contact(
    case_id: CaseId,
    contact_id: UUID,
    body: SplitRequest,
    runtime: Runtime,
    principal: Annotated[Principal, Workers],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    new_case_id = uuid.uuid4()

    async def act(conn: asyncpg.Connection) -> tuple[int, Any]:
        command = SplitContact(
            contact_id=contact_id,
            new_case_id=new_case_id,
            case_type=body.case_type,
            at=runtime.clock.now(),
            account_ref=body.account_ref,
        )
        case = await split_contact_case(
            conn, runtime.store, case_id, command, CommandContext.new(principal.actor())
        )
        return 201, result(case).model_dump(mode="json")

    scope = f"cases:split:{principal.id}:{case_id}:{contact_id}"
    return await idempotent(runtime.pool, scope, idempotency_key, fingerprint(body), act)
