"""HTTP API of cases: read a case (shaped by the caller's role in services/cases/visibility.py),
open or attach, move it through its lifecycle, decide, promise callbacks, assign."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from contracts import EventPayload
from contracts.events.cases import (
    CasePriority,
    CaseSource,
    CaseStatus,
    CaseType,
    DecisionOutcome,
    Evidence,
    ReporterCategory,
    WaitingOn,
)
from contracts.vocabulary import (
    E164_PATTERN,
    AccessibilityNeed,
    Channel,
    LanguagePreference,
    PersonRole,
    ProxyRelationship,
    RiskLevel,
    ServiceQueue,
    VerificationPurpose,
)
from runtime.audit import record_access
from runtime.auth import STAFF_ROLES, Principal, require_roles
from runtime.errors import NotFound
from runtime.eventstore import CommandContext
from runtime.http import IdempotencyKey, fingerprint, idempotent
from runtime.service import Runtime
from services.cases.application.cases import NewContact, case_command, merge_cases, open_or_attach
from services.cases.application.cases import split_contact as split_contact_use_case
from services.cases.domain.case_types import PROBLEM_CATEGORY_OF
from services.cases.config import appeal_period
from services.cases.domain.case import (
    AddNote,
    Assign,
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
    RequestCallback,
    RequestVerification,
    SplitContact,
    decide_add_note,
    decide_assign,
    decide_change_priority,
    decide_change_status,
    decide_close,
    decide_customer_reply,
    decide_escalate,
    decide_record_decision,
    decide_record_report,
    decide_reopen,
    decide_request_callback,
    decide_request_verification,
    waiting_on,
)
from services.cases.domain.visibility import (
    Audience,
    appeal_until,
    audience_for,
    case_for,
    next_step,
    suspension_for,
    timeline_entry_for,
)

router = APIRouter(tags=["cases"])

Readers = require_roles("customer", *STAFF_ROLES, "service")
Openers = require_roles("agent", "specialist", "supervisor", "admin", "service")
Workers = require_roles("agent", "specialist", "supervisor", "admin")
Supervisors = require_roles("supervisor", "admin")
Staff = require_roles(*STAFF_ROLES, "service")
CustomerOrWorker = require_roles("customer", "agent", "specialist", "supervisor", "admin")
CaseId = Annotated[UUID, Path(description="The case id.")]
AccountRef = Annotated[str, Path(min_length=1, max_length=100)]
FACT_KEY = r"^[a-z][a-z0-9_]{0,39}$"


def _forbid() -> ConfigDict:
    return ConfigDict(extra="forbid")


# -- views ------------------------------------------------------------------------------------


class DueTimes(BaseModel):
    first_response_due: AwareDatetime | None = None
    next_response_due: AwareDatetime | None = None
    resolution_due: AwareDatetime | None = None
    paused: bool = Field(default=False, description="True while the case awaits the customer.")


class CustomerCaseView(BaseModel):
    """What a customer (or the proxy who opened it) reads about their case."""

    case_id: UUID
    account_ref: str
    case_type: CaseType
    problem_category: str
    status: CaseStatus
    language: str
    source_channel: str | None
    source_ticket_id: UUID | None
    opened_at: AwareDatetime
    correlation_id: UUID
    summary: str | None = Field(
        default=None, description="The customer's latest own words (None once erased)."
    )
    waiting_on: WaitingOn
    next_step: str = Field(description="What happens next, in the case's language.")
    due: DueTimes
    verifications: list[dict[str, Any]]
    callbacks: list[dict[str, Any]]
    suspensions: list[dict[str, Any]] = Field(
        description="Platform rules that suspended the account: code, version, threshold, "
        "facts and explanation."
    )
    report: dict[str, Any] | None = Field(
        description="The disputed report: category, an organization's name, the evidence."
    )
    decision: dict[str, Any] | None = Field(
        description="Outcome, reason code and version, threshold, facts, explanation."
    )
    appeal_until: AwareDatetime | None
    merged_into: UUID | None


class CaseView(CustomerCaseView):
    """The whole case, for staff."""

    customer_id: str | None
    viewer_ids: list[str]
    priority: CasePriority
    site_id: str | None
    requester_role: str | None
    proxy_relationship: str | None
    queue: str | None
    assignee_id: str | None
    escalation_level: int
    escalations: list[dict[str, Any]]
    contacts: int
    service_levels: dict[str, Any]
    split_from: UUID | None
    updated_at: AwareDatetime | None


_COLUMNS = """case_id, account_ref, case_type, problem_category, status, customer_id, language,
    source_channel, source_ticket_id, opened_at, correlation_id, summary, priority, waiting_on,
    site_id, requester_role, proxy_relationship, viewer_ids, queue, assignee_id,
    escalation_level, escalations, contacts, service_levels, verifications, callbacks,
    suspensions, report, decision, merged_into, split_from, updated_at, subject_id"""


async def _audit_staff_reads(
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


def full_view(row: dict[str, Any]) -> dict[str, Any]:
    """The staff view of a case_views row: every field, plus the derived ones."""
    view = dict(row)
    levels = view["service_levels"]
    targets = {t["kind"]: t["due_at"] for t in levels.get("targets", [])}
    view["due"] = DueTimes(
        first_response_due=targets.get("first_response"),
        next_response_due=targets.get("next_response"),
        resolution_due=targets.get("resolution"),
        paused=levels.get("paused", False),
    )
    status, waiting = CaseStatus(view["status"]), WaitingOn(view["waiting_on"])
    decided_at = (
        datetime.fromisoformat(view["decision"]["decided_at"]) if view["decision"] else None
    )
    until = appeal_until(decided_at, appeal_period())
    view["appeal_until"] = until if status in (CaseStatus.RESOLVED, CaseStatus.CLOSED) else None
    pending = [v["purpose"] for v in view["verifications"] if v.get("outcome") is None]
    view["next_step"] = next_step(status, waiting, pending, view["appeal_until"], view["language"])
    view["suspensions"] = [suspension_for(s, view["language"]) for s in view["suspensions"]]
    return view


def shaped(row: dict[str, Any], audience: Audience) -> CaseView | CustomerCaseView:
    view = case_for(full_view(row), audience)
    model = CaseView if audience is Audience.STAFF else CustomerCaseView
    return model.model_validate(view)


async def _row(conn: asyncpg.Connection | asyncpg.Pool, case_id: UUID) -> dict[str, Any] | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM case_views WHERE case_id = $1", case_id)
    return dict(row) if row else None


async def _visible(
    runtime: Runtime, principal: Principal, case_id: UUID
) -> tuple[dict[str, Any], Audience]:
    row = await _row(runtime.pool, case_id)
    audience = audience_for(principal, row["viewer_ids"]) if row else None
    if row is None or audience is None:
        raise NotFound(f"case {case_id} not found")
    return row, audience


@router.get(
    "/cases/{case_id}",
    response_model=CaseView | CustomerCaseView,
    summary="A case (customers see their own, without internal fields)",
)
async def get_case(
    case_id: CaseId, runtime: Runtime, principal: Annotated[Principal, Readers]
) -> CaseView | CustomerCaseView:
    row, audience = await _visible(runtime, principal, case_id)
    await _audit_staff_reads(runtime, principal, [row])
    return shaped(row, audience)


@router.get(
    "/cases",
    response_model=list[CaseView | CustomerCaseView],
    summary="Cases by ticket, account, status or assignee (customers: their own)",
)
async def list_cases(
    runtime: Runtime,
    principal: Annotated[Principal, Readers],
    ticket_id: Annotated[UUID | None, Query()] = None,
    account_ref: Annotated[str | None, Query(max_length=100)] = None,
    status: Annotated[CaseStatus | None, Query()] = None,
    assignee_id: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[CaseView | CustomerCaseView]:
    rows = await runtime.pool.fetch(
        f"""SELECT {_COLUMNS} FROM case_views
            WHERE ($1::uuid IS NULL OR case_id IN
                      (SELECT case_id FROM case_contacts WHERE ticket_id = $1))
              AND ($2::text IS NULL OR account_ref = $2)
              AND ($3::text IS NULL OR $3 = ANY(viewer_ids))
              AND ($4::text IS NULL OR status = $4)
              AND ($5::text IS NULL OR assignee_id = $5)
            ORDER BY opened_at DESC, case_id LIMIT $6""",
        ticket_id,
        account_ref,
        None if principal.is_staff else principal.id,
        status.value if status else None,
        assignee_id,
        limit,
    )
    audience = Audience.STAFF if principal.is_staff else Audience.CUSTOMER
    await _audit_staff_reads(runtime, principal, [dict(row) for row in rows])
    return [shaped(dict(row), audience) for row in rows]


# -- commands ---------------------------------------------------------------------------------


class CommandResult(BaseModel):
    """The case right after the command (the read views follow a moment later)."""

    case_id: UUID
    status: CaseStatus
    priority: CasePriority
    waiting_on: WaitingOn
    escalation_level: int


def _result(case: Case) -> CommandResult:
    assert case.case_id is not None
    assert case.status is not None
    return CommandResult(
        case_id=case.case_id,
        status=case.status,
        priority=case.priority,
        waiting_on=waiting_on(case, case.status),
        escalation_level=case.escalation_level,
    )


def _guarded(
    case_id: UUID,
    principal: Principal,
    decide: Callable[[Case], Sequence[EventPayload]],
) -> Callable[[Case], Sequence[EventPayload]]:
    """Unknown cases, and cases a customer does not follow, are 404 before any rule."""

    def guarded(case: Case) -> Sequence[EventPayload]:
        if not case.opened or (not principal.is_staff and principal.id not in case.viewers):
            raise NotFound(f"case {case_id} not found")
        return decide(case)

    return guarded


async def _change(
    runtime: Runtime,
    principal: Principal,
    case_id: UUID,
    decide: Callable[[Case], Sequence[EventPayload]],
    conn: asyncpg.Connection | None = None,
) -> Case:
    context = CommandContext.new(principal.actor())
    guarded = _guarded(case_id, principal, decide)
    if conn is not None:
        return await case_command(conn, runtime.store, case_id, guarded, context)
    async with runtime.pool.acquire() as own, own.transaction():
        return await case_command(own, runtime.store, case_id, guarded, context)


async def _idempotent_change(
    runtime: Runtime,
    principal: Principal,
    case_id: UUID,
    action: str,
    key: str | None,
    body: BaseModel,
    decide: Callable[[Case], Sequence[EventPayload]],
    extra: Callable[[Case], dict[str, Any]] = lambda case: {},
) -> JSONResponse:
    async def act(conn: asyncpg.Connection) -> tuple[int, Any]:
        case = await _change(runtime, principal, case_id, decide, conn)
        return 201, {**_result(case).model_dump(mode="json"), **extra(case)}

    scope = f"cases:{action}:{principal.id}:{case_id}"
    return await idempotent(runtime.pool, scope, key, fingerprint(body), act)


class NewContactRequest(BaseModel):
    model_config = _forbid()

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
        result = ContactResult(
            **_result(case).model_dump(), attached=attached, contact_id=contact_id
        )
        return 201, result.model_dump(mode="json")

    scope = f"cases:contact:{principal.id}"
    return await idempotent(runtime.pool, scope, idempotency_key, fingerprint(body), act)


class StatusRequest(BaseModel):
    model_config = _forbid()

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
    case = await _change(runtime, principal, case_id, lambda c: decide_change_status(c, command))
    return _result(case)


class VerificationRequest(BaseModel):
    model_config = _forbid()

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
    return await _idempotent_change(
        runtime,
        principal,
        case_id,
        "verification",
        idempotency_key,
        body,
        lambda c: decide_request_verification(c, command),
        lambda c: {"verification_id": str(verification_id)},
    )


class DecisionRequest(BaseModel):
    model_config = _forbid()

    outcome: DecisionOutcome
    reason_code: str = Field(min_length=2, max_length=64, examples=["OWNERSHIP-PROVEN"])
    policy_version: int | None = Field(default=None, ge=1, description="Default: the latest.")
    facts: dict[str, str | int | float] = Field(
        default_factory=dict,
        max_length=20,
        description="The concrete facts the rule's explanation names (no personal data).",
    )
    refund_amount: str | None = Field(default=None, pattern=r"^[0-9]{1,12}(\.[0-9]{1,2})?$")
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")

    @field_validator("facts")
    @classmethod
    def _fact_names(cls, facts: dict[str, Any]) -> dict[str, Any]:
        import re

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
    )

    def decision(case: Case) -> dict[str, Any]:
        assert case.decision is not None
        return {"decision": case.decision.model_dump(mode="json")}

    return await _idempotent_change(
        runtime,
        principal,
        case_id,
        "decision",
        idempotency_key,
        body,
        lambda c: decide_record_decision(c, command),
        decision,
    )


class ReopenRequest(BaseModel):
    model_config = _forbid()

    statement: str | None = Field(
        default=None, max_length=2000, description="Why (the appellant's words; personal data)."
    )
    evidence: list[Evidence] = Field(default_factory=list, max_length=20)


@router.post(
    "/cases/{case_id}/reopen",
    response_model=CommandResult,
    summary="Reopen (staff) or appeal (the customer) within the appeal period",
)
async def reopen(
    case_id: CaseId,
    body: ReopenRequest,
    runtime: Runtime,
    principal: Annotated[Principal, CustomerOrWorker],
) -> CommandResult:
    command = Reopen(
        appeal=not principal.is_staff,
        at=runtime.clock.now(),
        appeal_period=appeal_period(),
        statement=body.statement,
        evidence=tuple(body.evidence),
    )
    case = await _change(runtime, principal, case_id, lambda c: decide_reopen(c, command))
    return _result(case)


class CloseRequest(BaseModel):
    model_config = _forbid()

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
    return _result(await _change(runtime, principal, case_id, lambda c: decide_close(c, command)))


class ReplyRequest(BaseModel):
    model_config = _forbid()


@router.post(
    "/cases/{case_id}/replies",
    response_model=CommandResult,
    summary="The customer answered: the case leaves awaiting_customer, its clock resumes",
)
async def customer_reply(
    case_id: CaseId,
    body: ReplyRequest,
    runtime: Runtime,
    principal: Annotated[Principal, CustomerOrWorker],
) -> CommandResult:
    command = CustomerReply(runtime.clock.now())
    case = await _change(runtime, principal, case_id, lambda c: decide_customer_reply(c, command))
    return _result(case)


class EscalateRequest(BaseModel):
    model_config = _forbid()


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
    return _result(
        await _change(runtime, principal, case_id, lambda c: decide_escalate(c, command))
    )


class AssignRequest(BaseModel):
    model_config = _forbid()

    queue: ServiceQueue | None = Field(default=None, description="Default: the type's queue.")
    assignee_id: str | None = Field(default=None, min_length=1, max_length=100)
    suggested: bool = Field(default=False, description="The suggestion was followed.")


@router.post(
    "/cases/{case_id}/assignment",
    response_model=CommandResult,
    summary="Assign to a specialist queue, and to one person in it",
)
async def assign(
    case_id: CaseId,
    body: AssignRequest,
    runtime: Runtime,
    principal: Annotated[Principal, Workers],
) -> CommandResult:
    command = Assign(runtime.clock.now(), body.queue, body.assignee_id, body.suggested)
    return _result(await _change(runtime, principal, case_id, lambda c: decide_assign(c, command)))


class Suggestion(BaseModel):
    queue: ServiceQueue
    assignee_id: str | None = Field(description="None when nobody active has the skill.")
    open_cases: int | None = Field(description="Open cases the suggested person holds now.")
    candidates: list[dict[str, Any]]


@router.get(
    "/cases/{case_id}/assignment-suggestion",
    response_model=Suggestion,
    summary="Who should take it: the active person with the skill and the fewest open cases",
)
async def suggest_assignee(
    case_id: CaseId, runtime: Runtime, principal: Annotated[Principal, Workers]
) -> Suggestion:
    row, _ = await _visible(runtime, principal, case_id)
    queue = ServiceQueue(row["queue"])
    candidates = await runtime.pool.fetch(
        """SELECT s.staff_id, count(v.case_id) AS open_cases
           FROM staff_skills s
           LEFT JOIN case_views v ON v.assignee_id = s.staff_id
                AND v.status NOT IN ('resolved', 'closed', 'merged')
           WHERE s.active AND $1 = ANY(s.queues)
           GROUP BY s.staff_id ORDER BY open_cases, s.staff_id LIMIT 20""",
        queue.value,
    )
    best = candidates[0] if candidates else None
    return Suggestion(
        queue=queue,
        assignee_id=best["staff_id"] if best else None,
        open_cases=best["open_cases"] if best else None,
        candidates=[dict(c) for c in candidates],
    )


class PriorityRequest(BaseModel):
    model_config = _forbid()

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
    case = await _change(runtime, principal, case_id, lambda c: decide_change_priority(c, command))
    return _result(case)


class CallbackRequest(BaseModel):
    model_config = _forbid()

    recipient_role: PersonRole = PersonRole.HOLDER
    phone: str | None = Field(
        default=None, pattern=E164_PATTERN, description="E.164 (personal data)."
    )
    timezone: str = Field(default="Asia/Shanghai", min_length=3, max_length=64)
    within_hours: int | None = Field(
        default=None, ge=1, le=24 * 14, description="Promise: within this many hours from now."
    )
    window_start: AwareDatetime | None = None
    window_end: AwareDatetime | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("an IANA timezone, e.g. Asia/Shanghai") from None
        return value


@router.post(
    "/cases/{case_id}/callbacks",
    status_code=201,
    summary="Promise a callback within a window; notifications schedules and tracks it",
)
async def request_callback(
    case_id: CaseId,
    body: CallbackRequest,
    runtime: Runtime,
    principal: Annotated[Principal, Workers],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    now = runtime.clock.now()
    start = body.window_start or now
    end = body.window_end or (start + timedelta(hours=body.within_hours or 24))
    callback_id = uuid.uuid4()
    command = RequestCallback(
        callback_id=callback_id,
        recipient_role=body.recipient_role,
        timezone=body.timezone,
        window_start=start,
        window_end=end,
        at=now,
        phone=body.phone,
    )
    return await _idempotent_change(
        runtime,
        principal,
        case_id,
        "callback",
        idempotency_key,
        body,
        lambda c: decide_request_callback(c, command),
        lambda c: {"callback_id": str(callback_id), "window_end": end.isoformat()},
    )


class NoteRequest(BaseModel):
    model_config = _forbid()

    text: str = Field(min_length=1, max_length=4000, description="Internal; never shown.")


@router.post("/cases/{case_id}/notes", status_code=201, summary="Add an internal note")
async def add_note(
    case_id: CaseId,
    body: NoteRequest,
    runtime: Runtime,
    principal: Annotated[Principal, Workers],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    note_id = uuid.uuid4()
    command = AddNote(note_id, body.text, runtime.clock.now())
    return await _idempotent_change(
        runtime,
        principal,
        case_id,
        "note",
        idempotency_key,
        body,
        lambda c: decide_add_note(c, command),
        lambda c: {"note_id": str(note_id)},
    )


class NoteView(BaseModel):
    note_id: UUID
    author_id: str | None
    text: str | None
    added_at: AwareDatetime


@router.get(
    "/cases/{case_id}/notes",
    response_model=list[NoteView],
    summary="Internal notes (staff only)",
)
async def list_notes(
    case_id: CaseId, runtime: Runtime, principal: Annotated[Principal, Staff]
) -> list[NoteView]:
    rows = await runtime.pool.fetch(
        "SELECT note_id, author_id, text, added_at FROM case_notes WHERE case_id = $1 "
        "ORDER BY added_at, note_id",
        case_id,
    )
    return [NoteView.model_validate(dict(row)) for row in rows]


class ReportRequest(BaseModel):
    model_config = _forbid()

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
    case = await _change(runtime, principal, case_id, lambda c: decide_record_report(c, command))
    return _result(case)


class MergeRequest(BaseModel):
    model_config = _forbid()

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
    async with runtime.pool.acquire() as conn, conn.transaction():
        case = await merge_cases(
            conn,
            runtime.store,
            case_id,
            body.merge_case_id,
            runtime.clock.now(),
            CommandContext.new(principal.actor()),
        )
    return _result(case)


class SplitRequest(BaseModel):
    model_config = _forbid()

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
        case = await split_contact_use_case(
            conn, runtime.store, case_id, command, CommandContext.new(principal.actor())
        )
        return 201, _result(case).model_dump(mode="json")

    scope = f"cases:split:{principal.id}:{case_id}:{contact_id}"
    return await idempotent(runtime.pool, scope, idempotency_key, fingerprint(body), act)


# -- timelines --------------------------------------------------------------------------------


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


_TIMELINE = """SELECT t.at, t.kind, t.case_id, t.details, t.actor_role, c.words
               FROM account_timeline t
               LEFT JOIN case_contacts c ON c.contact_id = (t.details->>'contact_id')::uuid
               WHERE {where} ORDER BY t.at, t.stream_id, t.stream_version LIMIT $2"""


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
    rows = await runtime.pool.fetch(
        _TIMELINE.format(where="t.account_ref = $1"), account_ref, limit
    )
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
    contacts = await runtime.pool.fetchval(
        "SELECT count(*) FROM case_contacts WHERE account_ref = $1 AND at >= $2",
        account_ref,
        since,
    )
    open_cases = await runtime.pool.fetchval(
        "SELECT count(*) FROM case_views WHERE account_ref = $1 "
        "AND status NOT IN ('resolved', 'closed', 'merged')",
        account_ref,
    )
    return AccountTimeline(
        account_ref=account_ref,
        contacts_last_90_days=contacts,
        open_cases=open_cases,
        entries=[TimelineEntry.model_validate(dict(row)) for row in rows],
    )


@router.get(
    "/cases/{case_id}/timeline",
    response_model=list[TimelineEntry],
    summary="The case's history (customers: what they may see)",
)
async def case_timeline(
    case_id: CaseId,
    runtime: Runtime,
    principal: Annotated[Principal, Readers],
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> list[TimelineEntry]:
    view, audience = await _visible(runtime, principal, case_id)
    rows = await runtime.pool.fetch(_TIMELINE.format(where="t.case_id = $1"), case_id, limit)
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
        entry = timeline_entry_for(dict(row), audience)
        if entry is not None:
            entries.append(TimelineEntry.model_validate(entry))
    return entries
