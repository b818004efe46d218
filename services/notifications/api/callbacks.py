"""HTTP API of callbacks: promise one, follow it, record attempts, move or cancel it, and the
specialist queues' due lists."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, Field, field_validator

from contracts import EventPayload
from contracts.events.notifications import CallbackActor, CallbackOutcome, HoursWindow
from contracts.vocabulary import E164_PATTERN, LanguagePreference, PersonRole, ServiceQueue
from runtime.auth import STAFF_ROLES, Principal, require_roles
from runtime.commands import IdempotencyKey, command, fingerprint, idempotent
from runtime.context import CommandContext
from runtime.errors import NotFound, RuleViolation
from runtime.service import Runtime, ServiceRuntime
from services.notifications.api.access import CALLERS, HHMM, Forbid, audit_read
from services.notifications.application.callbacks import change_callback, existing_callback
from services.notifications.application.recipients import preferences_of
from services.notifications.domain.callbacks import (
    MAX_CUSTOMER_RESCHEDULES,
    Callback,
    Cancel,
    RecordAttempt,
    RequestCallback,
    Reschedule,
    decide_attempt,
    decide_cancel,
    decide_request,
    decide_reschedule,
)
from services.notifications.domain.hours import DEFAULT_PREFERRED, DEFAULT_QUIET, zone
from services.notifications.projections.callbacks import due_callbacks as due_callbacks_of
from services.notifications.projections.case_customers import customer_of_case
from services.notifications.wiring import NotificationsWiring, Wired

router = APIRouter(tags=["notifications"])


class Hours(Forbid):
    start: str = Field(pattern=HHMM, examples=["09:00"])
    end: str = Field(pattern=HHMM, examples=["20:00"])

    def contract(self) -> HoursWindow:
        return HoursWindow(start=self.start, end=self.end)


class Language(Forbid):
    tag: str = Field(
        pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$", max_length=35, examples=["zh-CN"]
    )
    dialect: str | None = Field(default=None, max_length=40)


class CallbackRequestBody(Forbid):
    case_id: UUID | None = None
    account_ref: str = Field(min_length=1, max_length=100)
    customer_id: str | None = Field(default=None, min_length=1, max_length=100)
    queue: ServiceQueue
    recipient_role: PersonRole = PersonRole.HOLDER
    phone: str = Field(pattern=E164_PATTERN, description="Number to call, E.164; personal data.")
    timezone: str = Field(min_length=1, max_length=64, examples=["Asia/Shanghai"])
    language: Language
    window_start: AwareDatetime
    window_end: AwareDatetime
    preferred_hours: Hours | None = None
    quiet_hours: Hours | None = None
    max_attempts: int | None = Field(default=None, ge=1, le=10)
    attempt_spacing_minutes: int | None = Field(default=None, ge=5, le=24 * 60)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zone(value)
        except RuleViolation:
            raise ValueError("not an IANA timezone") from None
        return value


class AttemptBody(Forbid):
    outcome: CallbackOutcome
    call_back_at: AwareDatetime | None = Field(
        default=None, description="Required for asked_to_call_later."
    )


class RescheduleBody(Forbid):
    start: AwareDatetime = Field(description="The new time to call; an hour is promised.")


class CancelBody(Forbid):
    reason: str | None = Field(default=None, max_length=200)


class CallbackView(BaseModel):
    callback_id: UUID
    case_id: UUID | None
    queue: ServiceQueue
    status: str
    recipient_role: PersonRole
    timezone: str
    language: str
    window_start: AwareDatetime | None = Field(
        description="Null while a queue callback waits for the caller's turn."
    )
    window_end: AwareDatetime | None
    due_at: AwareDatetime | None
    promised_start: AwareDatetime | None
    promised_end: AwareDatetime | None
    promised_local: str | None = Field(description="The promised window in the person's time.")
    attempts: int
    reschedules_left: int
    ticket_id: UUID | None = Field(
        default=None, description="A phone caller's queue callback: their check-in ticket."
    )
    agent_id: str | None = Field(
        default=None, description="A queue callback: the agent the caller's contact went to."
    )


def view_of(state: Callback) -> CallbackView:
    assert state.availability is not None
    promised_local = None
    if state.promised_start is not None and state.promised_end is not None:
        start = state.availability.local(state.promised_start)
        end = state.availability.local(state.promised_end)
        promised_local = f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} ({start.tzname()})"
    return CallbackView(
        callback_id=state.callback_id,  # type: ignore[arg-type]
        case_id=state.case_id,
        queue=state.queue,
        status=state.status.value,
        recipient_role=state.recipient_role,
        timezone=state.availability.timezone,
        language=state.language,
        window_start=state.window_start,
        window_end=state.window_end,
        due_at=state.due_at,
        promised_start=state.promised_start,
        promised_end=state.promised_end,
        promised_local=promised_local,
        attempts=state.attempts,
        reschedules_left=MAX_CUSTOMER_RESCHEDULES - state.customer_reschedules,
        ticket_id=state.ticket_id,
        agent_id=state.agent_id,
    )


async def _visible(conn: asyncpg.Connection, principal: Principal, state: Callback) -> None:
    """Staff see every callback; a customer only those of their own cases (else 404)."""
    if principal.is_staff:
        return
    owner = state.customer_id
    if owner is None and state.case_id is not None:
        owner = await customer_of_case(conn, state.case_id)
    if owner != principal.id:
        raise NotFound(f"callback {state.callback_id} not found")


@router.post(
    "/callbacks",
    status_code=201,
    response_model=CallbackView,
    summary="Promise a callback (agent): scheduled in the person's hours",
)
async def request_callback(
    body: CallbackRequestBody,
    runtime: Runtime,
    wiring: Wired,
    principal: Annotated[Principal, require_roles(*CALLERS)],
    idempotency_key: IdempotencyKey = None,
) -> Any:
    now = runtime.clock.now()
    if body.window_end <= now + timedelta(minutes=10):
        raise RuleViolation("the window must end at least 10 minutes from now")

    async def act(conn: asyncpg.Connection) -> tuple[int, Any]:
        callback_id = uuid.uuid4()
        recipient_ref = (
            f"account:{body.account_ref}"
            if body.recipient_role is PersonRole.HOLDER
            else f"callback:{callback_id}"
        )
        prefs = await preferences_of(conn, runtime.store, recipient_ref)
        preferred = (
            body.preferred_hours.contract()
            if body.preferred_hours
            else (prefs.preferred_hours if prefs else None) or DEFAULT_PREFERRED
        )
        quiet = (
            body.quiet_hours.contract()
            if body.quiet_hours
            else (prefs.quiet_hours if prefs else None) or DEFAULT_QUIET
        )
        command = RequestCallback(
            callback_id=callback_id,
            case_id=body.case_id,
            account_ref=body.account_ref,
            customer_id=body.customer_id,
            queue=body.queue,
            recipient_role=body.recipient_role,
            recipient_ref=recipient_ref,
            phone=body.phone,
            timezone=body.timezone,
            language=LanguagePreference(tag=body.language.tag, dialect=body.language.dialect),
            window_start=body.window_start,
            window_end=body.window_end,
            preferred_hours=preferred,
            quiet_hours=quiet,
            max_attempts=body.max_attempts or wiring.settings.callback_max_attempts,
            attempt_spacing=timedelta(
                minutes=body.attempt_spacing_minutes
                or wiring.settings.callback_attempt_spacing_minutes
            ),
            requested_by=CallbackActor.STAFF,
            at=now,
        )
        state = await change_callback(
            conn,
            runtime.store,
            wiring.settings,
            callback_id,
            lambda state: decide_request(state, command),
            CommandContext.new(principal.actor()),
        )
        return 201, view_of(state)

    return await idempotent(
        runtime.pool, f"request-callback:{principal.id}", idempotency_key, fingerprint(body), act
    )


@router.get("/callbacks/{callback_id}", response_model=CallbackView, summary="One callback")
async def get_callback(
    callback_id: UUID,
    runtime: Runtime,
    principal: Annotated[Principal, require_roles("customer", *STAFF_ROLES, "service")],
) -> CallbackView:
    async with runtime.pool.acquire() as conn:
        state = await existing_callback(conn, runtime.store, callback_id)
        await _visible(conn, principal, state)
    shown = view_of(state)
    await audit_read(
        runtime,
        principal,
        f"account:{state.account_ref}",
        "callback",
        str(callback_id),
        [name for name in ("phone", "timezone", "language") if name in CallbackView.model_fields],
        f"case:{state.case_id}" if state.case_id else f"callback:{callback_id}",
    )
    return shown


async def _change(
    runtime: ServiceRuntime,
    wiring: NotificationsWiring,
    principal: Principal,
    callback_id: UUID,
    decide: Callable[[Callback], Sequence[EventPayload]],
) -> CallbackView:
    context = CommandContext.new(principal.actor())

    async def act(conn: asyncpg.Connection) -> Callback:
        await _visible(conn, principal, await existing_callback(conn, runtime.store, callback_id))
        return await change_callback(
            conn, runtime.store, wiring.settings, callback_id, decide, context
        )

    return view_of(await command(runtime.pool, act))


@router.post(
    "/callbacks/{callback_id}/attempts",
    response_model=CallbackView,
    summary="Record a call attempt (reached, no answer, wrong number, asked to call later)",
)
async def record_attempt(
    callback_id: UUID,
    body: AttemptBody,
    runtime: Runtime,
    wiring: Wired,
    principal: Annotated[Principal, require_roles(*CALLERS)],
) -> CallbackView:
    attempt = RecordAttempt(
        outcome=body.outcome,
        agent_id=principal.id,
        at=runtime.clock.now(),
        call_back_at=body.call_back_at,
    )
    return await _change(
        runtime, wiring, principal, callback_id, lambda state: decide_attempt(state, attempt)
    )


@router.post(
    "/callbacks/{callback_id}/reschedule",
    response_model=CallbackView,
    summary="Move a callback (the customer, for their own, within limits; or staff)",
)
async def reschedule_callback(
    callback_id: UUID,
    body: RescheduleBody,
    runtime: Runtime,
    wiring: Wired,
    principal: Annotated[Principal, require_roles("customer", *CALLERS)],
) -> CallbackView:
    by = CallbackActor.STAFF if principal.is_staff else CallbackActor.CUSTOMER
    move = Reschedule(start=body.start, by=by, at=runtime.clock.now())
    return await _change(
        runtime, wiring, principal, callback_id, lambda state: decide_reschedule(state, move)
    )


@router.post(
    "/callbacks/{callback_id}/cancel",
    response_model=CallbackView,
    summary="Cancel a callback (the customer, for their own; or staff)",
)
async def cancel_callback(
    callback_id: UUID,
    body: CancelBody,
    runtime: Runtime,
    wiring: Wired,
    principal: Annotated[Principal, require_roles("customer", *CALLERS)],
) -> CallbackView:
    by = CallbackActor.STAFF if principal.is_staff else CallbackActor.CUSTOMER
    cancellation = Cancel(by=by, reason=body.reason, at=runtime.clock.now())
    return await _change(
        runtime, wiring, principal, callback_id, lambda state: decide_cancel(state, cancellation)
    )


class DueCallback(BaseModel):
    callback_id: UUID
    case_id: UUID | None
    queue: ServiceQueue
    due_at: AwareDatetime | None
    due_local: str | None
    window_end: AwareDatetime
    timezone: str
    language: str
    recipient_role: PersonRole
    phone: str | None = Field(description="Number to call (personal data; null once erased).")
    attempts: int
    last_outcome: CallbackOutcome | None
    exhausted: bool
    reminded_at: AwareDatetime | None
    ticket_id: UUID | None = Field(
        default=None, description="A phone caller's queue callback: their check-in ticket."
    )
    agent_id: str | None = Field(
        default=None, description="A queue callback: the agent the caller's contact went to."
    )


@router.get(
    "/queues/{queue}/callbacks",
    response_model=list[DueCallback],
    summary="A specialist queue's open callbacks, ordered by due time",
)
async def due_callbacks(
    queue: ServiceQueue,
    runtime: Runtime,
    principal: Annotated[Principal, require_roles(*CALLERS)],
    due_before: Annotated[datetime | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    agent_id: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
) -> list[DueCallback]:
    async with runtime.pool.acquire() as conn:
        rows = await due_callbacks_of(conn, queue.value, due_before, limit, agent_id)
    due = []
    for row in rows:
        local = None
        if row["due_at"] is not None:
            moment = row["due_at"].astimezone(zone(row["timezone"]))
            local = f"{moment:%Y-%m-%d %H:%M} ({moment.tzname()})"
        due.append(DueCallback.model_validate({**dict(row), "due_local": local}))
    for row in rows:  # the queue's list shows each person's phone: one audited read each
        await audit_read(
            runtime,
            principal,
            row["subject_id"],
            "callback",
            str(row["callback_id"]),
            ["phone", "timezone", "language"],
            f"case:{row['case_id']}" if row["case_id"] else f"callback:{row['callback_id']}",
        )
    return due
