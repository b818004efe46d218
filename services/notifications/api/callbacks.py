"""HTTP API of notifications: messages, delivery receipts, inbound replies (opt-out),
callbacks and the due lists."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Header, Path, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from contracts.events.notifications import (
    CallbackActor,
    CallbackOutcome,
    HoursWindow,
    MessageChannel,
    NotificationKind,
)
from contracts.vocabulary import E164_PATTERN, LanguagePreference, PersonRole, ServiceQueue
from runtime.audit import record_access
from runtime.auth import STAFF_ROLES, Principal, require_roles
from runtime.errors import FrontdeskError, NotFound, RuleViolation
from runtime.eventstore import CommandContext, EventStore
from runtime.http import IdempotencyKey, fingerprint, idempotent
from runtime.service import Runtime
from services.notifications.application.messages import (
    callback_stream,
    change_callback,
    decide_and_append,
    preferences_of,
)
from services.notifications.domain.callbacks import (
    CALLBACK,
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
from services.notifications.domain.recipients import (
    RECIPIENT,
    SetPreferences,
    decide_preferences,
    recipient_stream,
)
from services.notifications.application.recipients import INBOUND_CHANNELS, InboundReply, take_inbound_reply
from services.notifications.wiring import DISPATCHER, SETTINGS

router = APIRouter(tags=["notifications"])

CALLERS = ("agent", "specialist", "supervisor")
HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class Forbid(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- messages ---------------------------------------------------------------------------------


class NotificationView(BaseModel):
    notification_id: UUID
    kind: NotificationKind
    purpose: str
    channel: MessageChannel
    recipient_ref: str
    language: str
    status: str
    attempts: int
    provider_message_id: str | None
    failure_reason: str | None
    requested_at: AwareDatetime
    sent_at: AwareDatetime | None
    delivered_at: AwareDatetime | None


@router.get(
    "/notifications", response_model=list[NotificationView], summary="Messages to a recipient"
)
async def list_notifications(
    recipient_ref: Annotated[str, Query(min_length=3, max_length=200)],
    runtime: Runtime,
    principal: Annotated[Principal, require_roles(*STAFF_ROLES, "service")],
) -> list[NotificationView]:
    rows = await runtime.pool.fetch(
        """SELECT notification_id, kind, purpose, channel, recipient_ref, language, status,
               attempts, provider_message_id, failure_reason, requested_at, sent_at,
               delivered_at
           FROM notification_log WHERE recipient_ref = $1 ORDER BY requested_at""",
        recipient_ref,
    )
    if rows:
        await audit_read(
            runtime,
            principal,
            await subject_of_recipient(runtime, recipient_ref),
            "messages",
            recipient_ref,
            ["recipient_ref", "channel", "status"],
            recipient_ref,
        )
    return [NotificationView.model_validate(dict(row)) for row in rows]


async def subject_of_recipient(runtime: Any, recipient_ref: str) -> str | None:
    """Whose messages these are: an account's own, or the account of a ticket or callback."""
    kind, _, ref = recipient_ref.partition(":")
    if kind == "account":
        return recipient_ref
    query = {
        "ticket": "SELECT subject_id FROM ticket_reach WHERE ticket_id::text = $1",
        "callback": "SELECT subject_id FROM callback_queue WHERE callback_id::text = $1",
    }.get(kind)
    return await runtime.pool.fetchval(query, ref) if query else None


async def audit_read(
    runtime: Any,
    principal: Principal,
    subject_id: str | None,
    resource: str,
    resource_id: str,
    fields: list[str],
    purpose: str,
) -> None:
    """A staff read of a person's contact data or messages (docs/privacy.md)."""
    async with runtime.pool.acquire() as conn:
        await record_access(
            conn,
            runtime,
            principal,
            subject_id=subject_id,
            resource=resource,
            resource_id=resource_id,
            fields=fields,
            purpose=purpose,
        )


class Receipt(BaseModel):
    model_config = ConfigDict(extra="ignore")

    message_id: str = Field(min_length=1, max_length=200)
    status: str = Field(pattern="^(delivered|failed)$")
    reason: str | None = Field(default=None, max_length=200)


class ReceiptAnswer(BaseModel):
    notification_id: UUID


def signature_of(body: bytes) -> str:
    secret = SETTINGS.webhook_secret.get_secret_value().encode()
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class BadSignature(FrontdeskError):
    status = 401
    title = "Unauthenticated"


@router.post(
    "/notifications/receipts",
    response_model=ReceiptAnswer,
    summary="Delivery receipt from a provider (webhook, HMAC-signed)",
)
async def take_receipt(
    request: Request,
    runtime: Runtime,
    signature: Annotated[str | None, Header(alias="X-Frontdesk-Signature")] = None,
) -> ReceiptAnswer:
    body = await request.body()
    if signature is None or not hmac.compare_digest(signature, signature_of(body)):
        raise BadSignature("the receipt's X-Frontdesk-Signature does not match its body")
    try:
        receipt = Receipt.model_validate(json.loads(body))
    except (ValueError, TypeError):
        raise RuleViolation("the receipt is not a valid receipt document") from None
    async with runtime.pool.acquire() as conn, conn.transaction():
        notification = await DISPATCHER.take_receipt(
            conn,
            runtime.store,
            receipt.message_id,
            receipt.status == "delivered",
            receipt.reason,
            runtime.clock.now(),
        )
    return ReceiptAnswer(notification_id=notification)


class InboundBody(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    message_id: str = Field(min_length=1, max_length=200)
    channel: MessageChannel
    sender: str = Field(alias="from", min_length=1, max_length=200)
    text: str = Field(max_length=2000)

    def __repr__(self) -> str:  # never the sender or the text
        return f"InboundBody(message_id={self.message_id!r}, channel={self.channel.value})"


class InboundAnswer(BaseModel):
    opt_out: bool = Field(description="The reply was an opt-out keyword (TD, 退订, STOP).")
    accounts: int = Field(description="Accounts whose marketing consent it withdrew.")
    duplicate: bool = Field(description="This reply was taken before: nothing changed now.")


@router.post(
    "/notifications/webhooks/inbound",
    response_model=InboundAnswer,
    summary="A reply a person sent to a message (webhook, HMAC-signed): TD / 退订 / STOP "
    "withdraws marketing consent on that channel",
)
async def take_inbound(
    request: Request,
    runtime: Runtime,
    signature: Annotated[str | None, Header(alias="X-Frontdesk-Signature")] = None,
) -> InboundAnswer:
    body = await request.body()
    if signature is None or not hmac.compare_digest(signature, signature_of(body)):
        raise BadSignature("the reply's X-Frontdesk-Signature does not match its body")
    try:
        inbound = InboundBody.model_validate(json.loads(body))
    except (ValueError, TypeError):
        raise RuleViolation("the reply is not a valid inbound document") from None
    if inbound.channel not in INBOUND_CHANNELS:
        raise RuleViolation(f"no inbound replies on {inbound.channel.value}")
    reply = InboundReply(
        message_id=inbound.message_id,
        channel=inbound.channel,
        sender=inbound.sender,
        text=inbound.text,
        received_at=runtime.clock.now(),  # ours: a provider's clock decides nothing
    )
    async with runtime.pool.acquire() as conn, conn.transaction():
        outcome = await take_inbound_reply(conn, runtime.store, reply)
    return InboundAnswer(
        opt_out=outcome.opt_out, accounts=outcome.accounts, duplicate=outcome.duplicate
    )


# -- callbacks --------------------------------------------------------------------------------


class Hours(Forbid):
    start: str = Field(pattern=HHMM, examples=["09:00"])
    end: str = Field(pattern=HHMM, examples=["20:00"])

    def contract(self) -> HoursWindow:
        return HoursWindow(start=self.start, end=self.end)


class Language(Forbid):
    tag: str = Field(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$", examples=["zh-CN"])
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
    from services.notifications.domain.callbacks import MAX_CUSTOMER_RESCHEDULES

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


async def _load(conn: asyncpg.Connection, store: EventStore, callback_id: UUID) -> Callback:
    history = await store.load(conn, callback_stream(callback_id))
    state = CALLBACK.fold([event.payload for event in history])
    if not history:
        raise NotFound(f"callback {callback_id} not found")
    return state


async def _visible(conn: asyncpg.Connection, principal: Principal, state: Callback) -> None:
    """Staff see every callback; a customer only those of their own cases (else 404)."""
    if principal.is_staff:
        return
    owner = state.customer_id
    if owner is None and state.case_id is not None:
        owner = await conn.fetchval(
            "SELECT customer_id FROM case_customers WHERE case_id = $1", state.case_id
        )
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
            max_attempts=body.max_attempts or SETTINGS.callback_max_attempts,
            attempt_spacing=timedelta(
                minutes=body.attempt_spacing_minutes or SETTINGS.callback_attempt_spacing_minutes
            ),
            requested_by=CallbackActor.STAFF,
            at=now,
        )
        state = await change_callback(
            conn,
            runtime.store,
            callback_id,
            lambda state: decide_request(state, command),
            CommandContext.new(principal.actor()),
            SETTINGS,
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
        state = await _load(conn, runtime.store, callback_id)
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
    runtime: Any,
    principal: Principal,
    callback_id: UUID,
    decide: Any,
) -> CallbackView:
    async with runtime.pool.acquire() as conn, conn.transaction():
        state = await _load(conn, runtime.store, callback_id)
        await _visible(conn, principal, state)
        state = await change_callback(
            conn,
            runtime.store,
            callback_id,
            decide,
            CommandContext.new(principal.actor()),
            SETTINGS,
        )
    return view_of(state)


@router.post(
    "/callbacks/{callback_id}/attempts",
    response_model=CallbackView,
    summary="Record a call attempt (reached, no answer, wrong number, asked to call later)",
)
async def record_attempt(
    callback_id: UUID,
    body: AttemptBody,
    runtime: Runtime,
    principal: Annotated[Principal, require_roles(*CALLERS)],
) -> CallbackView:
    command = RecordAttempt(
        outcome=body.outcome,
        agent_id=principal.id,
        at=runtime.clock.now(),
        call_back_at=body.call_back_at,
    )
    return await _change(
        runtime, principal, callback_id, lambda state: decide_attempt(state, command)
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
    principal: Annotated[Principal, require_roles("customer", *CALLERS)],
) -> CallbackView:
    by = CallbackActor.STAFF if principal.is_staff else CallbackActor.CUSTOMER
    command = Reschedule(start=body.start, by=by, at=runtime.clock.now())
    return await _change(
        runtime, principal, callback_id, lambda state: decide_reschedule(state, command)
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
    principal: Annotated[Principal, require_roles("customer", *CALLERS)],
) -> CallbackView:
    by = CallbackActor.STAFF if principal.is_staff else CallbackActor.CUSTOMER
    command = Cancel(by=by, reason=body.reason, at=runtime.clock.now())
    return await _change(
        runtime, principal, callback_id, lambda state: decide_cancel(state, command)
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
    rows = await runtime.pool.fetch(
        """SELECT callback_id, case_id, queue, due_at, window_end, timezone, language,
               recipient_role, phone, attempts, last_outcome, exhausted, reminded_at, subject_id,
               ticket_id, agent_id
           FROM callback_queue
           WHERE queue = $1 AND status = 'scheduled'
             AND ($2::timestamptz IS NULL OR due_at <= $2)
             AND ($4::text IS NULL OR agent_id = $4)
           ORDER BY due_at, callback_id LIMIT $3""",
        queue.value,
        due_before,
        limit,
        agent_id,
    )
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


# -- recipients -------------------------------------------------------------------------------


class PreferencesBody(Forbid):
    channels: list[MessageChannel] = Field(min_length=1, max_length=4)
    language: Language | None = None
    timezone: str | None = Field(default=None, min_length=1, max_length=64)
    preferred_hours: Hours | None = None
    quiet_hours: Hours | None = None
    marketing_consent: list[MessageChannel] = Field(default_factory=list, max_length=4)
    phone: str | None = Field(default=None, pattern=E164_PATTERN)
    email: str | None = Field(
        default=None, max_length=254, pattern=r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$"
    )
    wechat: str | None = Field(default=None, min_length=1, max_length=128)
    qq: str | None = Field(default=None, min_length=1, max_length=128)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            zone(value)
        except RuleViolation:
            raise ValueError("not an IANA timezone") from None
        return value


class PreferencesView(BaseModel):
    account_ref: str
    channels: list[MessageChannel]
    language: str | None
    timezone: str | None
    preferred_hours: HoursWindow | None
    quiet_hours: HoursWindow | None
    marketing_consent: list[MessageChannel]
    addresses: dict[str, str | None] = Field(description="Personal data; null once erased.")
    set_at: AwareDatetime


def preferences_view(prefs: Any) -> PreferencesView:
    return PreferencesView(
        account_ref=prefs.account_ref,
        channels=prefs.channels,
        language=prefs.language,
        timezone=prefs.timezone,
        preferred_hours=prefs.preferred_hours,
        quiet_hours=prefs.quiet_hours,
        marketing_consent=prefs.marketing_consent,
        addresses={
            "sms": prefs.phone,
            "email": prefs.email,
            "wechat": prefs.wechat,
            "qq": prefs.qq,
        },
        set_at=prefs.set_at,
    )


@router.put(
    "/recipients/{account_ref}/preferences",
    response_model=PreferencesView,
    summary="Set a person's channels, language, hours and marketing consent",
)
async def set_preferences(
    account_ref: Annotated[str, Path(min_length=1, max_length=100)],
    body: PreferencesBody,
    runtime: Runtime,
    principal: Annotated[Principal, require_roles(*STAFF_ROLES, "service")],
) -> PreferencesView:
    addresses = {
        channel: value
        for channel, value in (
            (MessageChannel.SMS, body.phone),
            (MessageChannel.EMAIL, body.email),
            (MessageChannel.WECHAT, body.wechat),
            (MessageChannel.QQ, body.qq),
        )
        if value
    }
    command = SetPreferences(
        account_ref=account_ref,
        channels=tuple(body.channels),
        language=body.language.tag if body.language else None,
        timezone=body.timezone,
        preferred_hours=body.preferred_hours.contract() if body.preferred_hours else None,
        quiet_hours=body.quiet_hours.contract() if body.quiet_hours else None,
        marketing_consent=tuple(dict.fromkeys(body.marketing_consent)),
        addresses=addresses,
        set_by=principal.id,
        at=runtime.clock.now(),
    )
    async with runtime.pool.acquire() as conn, conn.transaction():
        state, _ = await decide_and_append(
            conn,
            runtime.store,
            RECIPIENT,
            recipient_stream(account_ref),
            lambda state: decide_preferences(state, command),
            CommandContext.new(principal.actor()),
        )
    return preferences_view(state.preferences)


@router.get(
    "/recipients/{account_ref}/preferences",
    response_model=PreferencesView,
    summary="A person's message preferences",
)
async def get_preferences(
    account_ref: Annotated[str, Path(min_length=1, max_length=100)],
    runtime: Runtime,
    principal: Annotated[Principal, require_roles(*STAFF_ROLES, "service")],
) -> PreferencesView:
    async with runtime.pool.acquire() as conn:
        prefs = await preferences_of(conn, runtime.store, f"account:{account_ref}")
    if prefs is None:
        raise NotFound(f"no preferences for {account_ref}")
    await audit_read(
        runtime,
        principal,
        f"account:{account_ref}",
        "recipient_preferences",
        account_ref,
        ["addresses", "marketing_consent", "language", "timezone"],
        f"account:{account_ref}",
    )
    return preferences_view(prefs)
