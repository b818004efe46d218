"""Use cases of notifications: request a message, send it (once), take a receipt; request,
schedule, attempt, reschedule, cancel and close callbacks. Each runs inside the caller's
transaction (HTTP request, consumer record or timer), so events, outbox rows and timers commit
together."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar
from uuid import UUID

import asyncpg

from contracts import Actor, Envelope, EventPayload
from contracts.events.notifications import (
    CallbackAttemptRecorded,
    CallbackAttemptsExhausted,
    CallbackCancelled,
    CallbackCompleted,
    CallbackMissed,
    CallbackOutcome,
    CallbackReminderSent,
    CallbackRescheduled,
    CallbackScheduled,
    HoursWindow,
    MessageChannel,
    MessagePurpose,
    NotificationAttemptFailed,
    NotificationFailed,
    NotificationKind,
    RecipientPreferencesSet,
    WithdrawalReason,
)
from runtime.errors import NotFound
from runtime.eventstore import AggregateType, CommandContext, EventStore
from runtime.scheduler import Timer, TimerHandler, cancel, schedule
from runtime.telemetry import log_fields
from services.notifications.adapters.channels import Channels, OutgoingMessage, SendError
from services.notifications.adapters.channels import ChannelAdapter, SendResult
from services.notifications.adapters.code_claims import (
    ClaimedCode,
    ClaimRefused,
    VerificationCodeClaims,
)
from services.notifications.config import NotificationSettings
from services.notifications.domain.callbacks import (
    CALLBACK,
    REMINDER_LEAD,
    Callback,
    decide_deadline,
    decide_reminder,
)
from services.notifications.domain.campaigns import COMPLAINT_OR_APPEAL_TYPES
from services.notifications.domain.hours import (
    DEFAULT_PREFERRED,
    DEFAULT_QUIET,
    Availability,
    next_marketing_moment,
)
from services.notifications.domain.messages import (
    NOTIFICATION,
    Notification,
    NotificationStatus,
    RequestNotification,
    code_minutes,
    decide_failed,
    decide_receipt,
    decide_request,
    decide_send_failure,
    decide_sent,
    decide_withdraw,
    idempotency_key,
    notification_id,
)
from services.notifications.domain.recipients import RECIPIENT, address_of, recipient_stream
from services.notifications.domain.templates import TemplateError, render
from services.notifications.domain.unsubscribe import sign_token

log = logging.getLogger(__name__)

SEND_TIMER = "notification.send"
CALLBACK_DEADLINE_TIMER = "callback.deadline"
CALLBACK_REMINDER_TIMER = "callback.reminder"
SERVICE_ACTOR = Actor(id="notifications", role="service")

S = TypeVar("S")


async def decide_and_append(
    conn: asyncpg.Connection,
    store: EventStore,
    aggregate: AggregateType[S],
    stream_id: str,
    decide: Callable[[S], Sequence[EventPayload]],
    context: CommandContext,
) -> tuple[S, list[tuple[EventPayload, Envelope]]]:
    """``runtime.eventstore.execute``, except that a decision with no events appends nothing
    (a repeated request, a timer whose moment has passed, a receipt already taken): the
    runtime's append refuses an empty batch."""
    history = await store.load(conn, stream_id)
    state = aggregate.fold([event.payload for event in history])
    events = list(decide(state))
    if not events:
        return state, []
    envelopes = await store.append(conn, stream_id, len(history), events, context)
    for event in events:
        state = aggregate.evolve(state, event)
    return state, list(zip(events, envelopes, strict=True))


def notification_stream(notification: UUID) -> str:
    return f"notification-{notification}"


def callback_stream(callback: UUID) -> str:
    return f"callback-{callback}"


# -- how to reach a person ------------------------------------------------------------------


@dataclass(frozen=True)
class Reach:
    """Where and how a person wants messages: channels in order, with an address each."""

    channels: tuple[MessageChannel, ...]
    addresses: dict[MessageChannel, str] = field(default_factory=dict)
    language: str | None = None
    timezone: str | None = None
    marketing_consent: frozenset[MessageChannel] = frozenset()

    def without(self, *excluded: MessageChannel) -> Reach:
        channels = tuple(c for c in self.channels if c not in excluded)
        return Reach(channels, self.addresses, self.language, self.timezone, self.marketing_consent)


async def preferences_of(
    conn: asyncpg.Connection, store: EventStore, recipient_ref: str | None
) -> RecipientPreferencesSet | None:
    """The person's own preferences, read from the event store (consistent with the command
    that set them; the addresses decrypted, or None once erased)."""
    if recipient_ref is None or not recipient_ref.startswith("account:"):
        return None
    account_ref = recipient_ref.removeprefix("account:")
    history = await store.load(conn, recipient_stream(account_ref))
    return RECIPIENT.fold([event.payload for event in history]).preferences


async def reach_of(
    conn: asyncpg.Connection,
    store: EventStore,
    recipient_ref: str | None,
    phone: str | None = None,
) -> Reach:
    """The person's own channels when they set some, else SMS to the phone the triggering
    event gave. A phone from the event is kept as the last resort when they have none."""
    prefs = await preferences_of(conn, store, recipient_ref)
    addresses: dict[MessageChannel, str] = {}
    if phone:
        addresses[MessageChannel.SMS] = phone
    if prefs is None:
        return Reach((MessageChannel.SMS,) if phone else (), addresses)
    for channel, value in (
        (MessageChannel.SMS, prefs.phone),
        (MessageChannel.EMAIL, prefs.email),
        (MessageChannel.WECHAT, prefs.wechat),
        (MessageChannel.QQ, prefs.qq),
    ):
        if value:
            addresses[channel] = value
    channels = tuple(c for c in prefs.channels if c in addresses)
    if MessageChannel.SMS in addresses and MessageChannel.SMS not in channels:
        channels = (*channels, MessageChannel.SMS)
    return Reach(
        channels,
        addresses,
        prefs.language,
        prefs.timezone,
        frozenset(c for c in prefs.marketing_consent if c in addresses),
    )


# -- marketing: consent, complaints and hours -------------------------------------------------

COMPLAINT_OR_APPEAL = sorted(t.value for t in COMPLAINT_OR_APPEAL_TYPES)


def excluded_sql(account: str, types: str) -> str:
    """SQL: the account has an open case that is a complaint or an appeal (by its type, or
    appealed, or escalated) — read model ``campaign_account_cases``."""
    return f"""SELECT 1 FROM campaign_account_cases c
               WHERE c.account_ref = {account} AND c.open
                 AND (c.case_type = ANY({types}::text[]) OR c.appealed OR c.escalated)"""


async def has_open_complaint_or_appeal(conn: asyncpg.Connection, account_ref: str) -> bool:
    return bool(await conn.fetchval(excluded_sql("$1", "$2"), account_ref, COMPLAINT_OR_APPEAL))


def marketing_moment(
    prefs: RecipientPreferencesSet | None, settings: NotificationSettings, after: datetime
) -> datetime | None:
    """When marketing may next reach the person (``after`` itself when it may now): the
    service's marketing window in their timezone, their preferred hours, never their quiet
    hours (the defaults when they set none). None: no moment in the coming week."""
    availability = Availability(
        timezone=(prefs.timezone if prefs else None) or settings.marketing_timezone,
        preferred=(prefs.preferred_hours if prefs else None) or DEFAULT_PREFERRED,
        quiet=(prefs.quiet_hours if prefs else None) or DEFAULT_QUIET,
    )
    window = HoursWindow(start=settings.marketing_window_start, end=settings.marketing_window_end)
    return next_marketing_moment(after, availability, window)


def marketing_consented(prefs: RecipientPreferencesSet | None, channel: MessageChannel) -> bool:
    """Consent to marketing on the channel, with an address for it (none once erased)."""
    return (
        prefs is not None
        and channel in prefs.marketing_consent
        and address_of(prefs, channel) is not None
    )


# -- messages --------------------------------------------------------------------------------


async def request_message(
    conn: asyncpg.Connection,
    store: EventStore,
    command: RequestNotification,
    context: CommandContext,
) -> UUID | None:
    """Record the message and its send timer, unless it was requested before (same trigger,
    recipient and kind) or there is no channel to send it on. Returns its id."""
    if not command.channels:
        log.info(
            "no channel to reach the recipient",
            extra=log_fields(kind=command.kind.value, trigger=str(command.triggered_by)),
        )
        return None
    message = notification_id(command.triggered_by, command.recipient_ref, command.kind)
    stream = notification_stream(message)
    if await conn.fetchval("SELECT 1 FROM events WHERE stream_id = $1 LIMIT 1", stream):
        return message  # a repeated trigger: the message exists, nothing more to do
    await decide_and_append(
        conn, store, NOTIFICATION, stream, lambda state: decide_request(state, command), context
    )
    await schedule(
        conn,
        f"{SEND_TIMER}:{message}",
        SEND_TIMER,
        command.not_before or command.at,
        {"notification_id": str(message), "correlation_id": str(context.correlation_id)},
    )
    return message


def unsubscribe_link(
    settings: NotificationSettings, account_ref: str, campaign_id: UUID, now: datetime
) -> str:
    token = sign_token(
        settings.unsubscribe_key.get_secret_value().encode(),
        account_ref,
        MessageChannel.EMAIL,
        campaign_id,
        now,
        timedelta(days=settings.unsubscribe_link_days),
    )
    return f"{settings.unsubscribe_url}?token={token}"


def _context(payload: dict[str, str]) -> CommandContext:
    return CommandContext(actor=SERVICE_ACTOR, correlation_id=UUID(payload["correlation_id"]))


class Dispatcher:
    """Sends due messages through the channel adapters, exactly once in effect.

    The send runs in the timer's transaction, which holds the timer row locked (no other
    replica sends the same message meanwhile). The provider gets an idempotency key derived
    from (notification, channel): if the process dies after the provider accepted but before
    the commit, the timer fires again, the provider is asked again with the same key and
    answers with the first message's id — it sends nothing twice, and ``notification_sent`` is
    recorded once.
    """

    def __init__(
        self,
        settings: NotificationSettings,
        channels: Channels,
        rng: random.Random | None = None,
        code_claims: VerificationCodeClaims | None = None,
    ) -> None:
        self.settings = settings
        self.channels = channels
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not a secret
        self.code_claims = code_claims

    async def send_due(
        self, conn: asyncpg.Connection, store: EventStore, timer: Timer, now: datetime
    ) -> None:
        message = UUID(timer.payload["notification_id"])
        stream = notification_stream(message)
        history = await store.load(conn, stream)
        state = NOTIFICATION.fold([event.payload for event in history])
        if state.status is not NotificationStatus.QUEUED or state.channel is None:
            return
        context = _context(timer.payload)
        if state.not_before is not None and now < state.not_before:
            await self._again(conn, message, state.not_before, context)
            return
        if state.purpose is MessagePurpose.MARKETING and await self._marketing_held(
            conn, store, stream, state, now, context
        ):
            return
        if state.purpose is not MessagePurpose.ONE_TIME_CODE:
            free_at = await self._rate_limited_until(conn, state.recipient_ref, now)
            if free_at is not None:
                await self._again(conn, message, free_at, context)
                return
        if state.code_delivery is not None:
            await self._send_code(conn, store, stream, state, now, context)
            return
        channel = state.channel
        reason = None
        adapter = self.channels.get(channel)
        address = state.address
        if address is None:
            reason = f"no {channel.value} address (never given, or erased)"
        elif adapter is None:
            reason = f"no {channel.value} provider configured"
        if reason is not None:
            await self._failed(conn, store, stream, state, reason, False, now, context)
            return
        assert adapter is not None
        assert address is not None
        variables, headers = dict(state.variables), dict[str, str]()
        if state.kind is NotificationKind.CAMPAIGN and channel is MessageChannel.EMAIL:
            if state.account_ref is None or state.campaign_id is None:
                reason = "a campaign email needs its account and campaign for its unsubscribe link"
                await self._failed(conn, store, stream, state, reason, False, now, context)
                return
            variables["unsubscribe"], headers = self._unsubscribe(
                state.account_ref, state.campaign_id, now
            )
        try:
            rendered = render(state.kind, state.language, variables, state.timezone)  # type: ignore[arg-type]
        except TemplateError as error:
            await self._append(
                conn,
                store,
                stream,
                [
                    NotificationFailed(
                        notification_id=message,
                        channel=channel,
                        attempts=state.attempts_on_channel,
                        reason=f"template: {error}"[:200],
                        fallback_channel=None,
                        failed_at=now,
                    )
                ],
                context,
            )
            return
        outgoing = OutgoingMessage(
            notification_id=message,
            channel=channel,
            idempotency_key=idempotency_key(message, channel),
            language=rendered.language,
            to=address,
            subject=rendered.subject,
            body=rendered.body,
            headers=headers,
        )
        try:
            result = await adapter.send(outgoing)
        except SendError as error:
            await self._failed(
                conn, store, stream, state, error.reason, error.transient, now, context
            )
            return
        await self._record_sent(conn, store, stream, state, result, now, context)

    def _unsubscribe(
        self, account_ref: str, campaign_id: UUID, now: datetime
    ) -> tuple[str, dict[str, str]]:
        """A campaign email's one-click unsubscribe link (in its footer) and the RFC 8058
        headers naming it; the token is signed now and works ``unsubscribe_link_days``."""
        link = unsubscribe_link(self.settings, account_ref, campaign_id, now)
        return link, {
            "List-Unsubscribe": f"<{link}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }

    async def _marketing_held(
        self,
        conn: asyncpg.Connection,
        store: EventStore,
        stream: str,
        state: Notification,
        now: datetime,
        context: CommandContext,
    ) -> bool:
        """A marketing message is checked again when its moment comes (it may have waited
        hours): consent withdrawn on its channel (a STOP reply, a preference change, an
        erasure), or a complaint or appeal opened since → withdrawn; outside the hours
        marketing may reach the person → held until the next allowed moment. True when it
        is not to be sent now."""
        assert state.channel is not None
        prefs = await preferences_of(conn, store, state.recipient_ref)
        reason = None
        if not marketing_consented(prefs, state.channel):
            reason = WithdrawalReason.CONSENT_WITHDRAWN
        elif state.account_ref and await has_open_complaint_or_appeal(conn, state.account_ref):
            reason = WithdrawalReason.COMPLAINT_OR_APPEAL
        else:
            moment = marketing_moment(prefs, self.settings, now)
            if moment is None:
                reason = WithdrawalReason.NO_ALLOWED_HOURS
            elif moment > now:
                await self._again(conn, state.notification_id, moment, context)  # type: ignore[arg-type]
                return True
        if reason is None:
            return False
        await self._append(conn, store, stream, decide_withdraw(state, reason, now), context)
        log.info(
            "marketing message withdrawn",
            extra=log_fields(notification_id=str(state.notification_id), reason=reason.value),
        )
        return True

    async def _send_code(
        self,
        conn: asyncpg.Connection,
        store: EventStore,
        stream: str,
        state: Notification,
        now: datetime,
        context: CommandContext,
    ) -> None:
        """A one-time code: claim it from verification now, render it, hand it to the adapter,
        forget it. The claim is once-only, so every refusal after it is final: a crash or a
        provider failure after the claim fails the message (the person asks verification
        for a new code) rather than sending a message without its code or a stale one."""
        delivery = state.code_delivery
        channel = state.channel
        assert delivery is not None
        assert channel is not None
        if now >= delivery.claim_before:
            await self._finally_failed(
                conn,
                store,
                stream,
                state,
                f"code delivery is stale (claim_before {delivery.claim_before:%H:%M:%S} UTC "
                "passed before it could be sent); verification must issue a new code",
                now,
                context,
            )
            return
        adapter = self.channels.get(channel)
        if adapter is None or self.code_claims is None:
            missing = "provider" if adapter is None else "verification client"
            await self._finally_failed(
                conn, store, stream, state, f"no {channel.value} {missing} configured", now, context
            )
            return
        try:  # the template first: a broken template must not spend the code
            render(
                NotificationKind.ONE_TIME_CODE,
                state.language,
                {"code": "000000", "minutes": "5"},
                state.timezone,
            )
        except TemplateError as error:
            await self._finally_failed(
                conn, store, stream, state, f"template: {error}", now, context
            )
            return
        try:
            claimed = await self.code_claims.claim(delivery)
        except ClaimRefused as error:
            if error.transient:  # verification handed nothing out: try again (backoff)
                await self._failed(conn, store, stream, state, error.reason, True, now, context)
            else:
                await self._finally_failed(
                    conn,
                    store,
                    stream,
                    state,
                    f"one-time code not claimed: {error.reason}; verification must issue a "
                    "new code",
                    now,
                    context,
                )
            return
        if claimed.channel != channel.value:
            await self._finally_failed(
                conn,
                store,
                stream,
                state,
                f"the claimed code is for {claimed.channel[:10]}, not {channel.value}",
                now,
                context,
            )
            return
        result = await self._hand_over_code(adapter, state, claimed, now)
        if isinstance(result, str):
            await self._finally_failed(
                conn,
                store,
                stream,
                state,
                f"{result}; the claimed code is spent: verification must issue a new code",
                now,
                context,
            )
            return
        await self._record_sent(conn, store, stream, state, result, now, context)

    async def _hand_over_code(
        self,
        adapter: ChannelAdapter,
        state: Notification,
        claimed: ClaimedCode,
        now: datetime,
    ) -> SendResult | str:
        """Render the code and send it; transient provider errors are retried here, a few
        times within seconds (the code cannot be claimed again later). Returns the provider's
        answer, or why it failed."""
        assert state.channel is not None
        assert state.notification_id is not None
        try:
            rendered = render(
                NotificationKind.ONE_TIME_CODE,
                state.language,
                {"code": claimed.code, "minutes": str(code_minutes(claimed.expires_at, now))},
                state.timezone,
            )
        except TemplateError as error:  # names the variable, never its value
            return f"template: {error}"
        outgoing = OutgoingMessage(
            notification_id=state.notification_id,
            channel=state.channel,
            idempotency_key=idempotency_key(state.notification_id, state.channel),
            language=rendered.language,
            to=claimed.destination,
            subject=rendered.subject,
            body=rendered.body,
        )
        attempts = self.settings.code_send_attempts
        for attempt in range(1, attempts + 1):
            try:
                return await adapter.send(outgoing)
            except SendError as error:
                if not error.transient or attempt == attempts:
                    return f"send failed after the claim ({error.reason})"
                log.warning(
                    "one-time code send failed, retrying at once",
                    extra=log_fields(
                        notification_id=str(state.notification_id),
                        reason=error.reason,
                        attempt=attempt,
                    ),
                )
                await asyncio.sleep(self.settings.code_send_retry_seconds * attempt)
        raise AssertionError("unreachable")

    async def _finally_failed(
        self,
        conn: asyncpg.Connection,
        store: EventStore,
        stream: str,
        state: Notification,
        reason: str,
        now: datetime,
        context: CommandContext,
    ) -> None:
        await self._append(conn, store, stream, decide_failed(state, reason, now), context)
        log.warning(
            "notification failed",
            extra=log_fields(notification_id=str(state.notification_id), reason=reason[:200]),
        )

    async def _record_sent(
        self,
        conn: asyncpg.Connection,
        store: EventStore,
        stream: str,
        state: Notification,
        result: SendResult,
        now: datetime,
        context: CommandContext,
    ) -> None:
        message = state.notification_id
        channel = state.channel
        assert message is not None
        assert channel is not None
        await self._append(
            conn,
            store,
            stream,
            decide_sent(state, result.provider, result.provider_message_id, now),
            context,
        )
        await conn.execute(
            """INSERT INTO provider_messages (provider_message_id, notification_id, channel,
                   provider) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING""",
            result.provider_message_id,
            message,
            channel.value,
            result.provider,
        )
        await conn.execute(
            """INSERT INTO recipient_sends (notification_id, recipient_ref, sent_at)
               VALUES ($1, $2, $3) ON CONFLICT (notification_id) DO UPDATE SET sent_at = $3""",
            message,
            state.recipient_ref,
            now,
        )
        log.info(
            "notification sent",
            extra=log_fields(
                notification_id=str(message), channel=channel.value, provider=result.provider
            ),
        )

    async def _rate_limited_until(
        self, conn: asyncpg.Connection, recipient_ref: str, now: datetime
    ) -> datetime | None:
        hour_ago = now - timedelta(hours=1)
        rows = await conn.fetch(
            """SELECT sent_at FROM recipient_sends WHERE recipient_ref = $1 AND sent_at > $2
               ORDER BY sent_at""",
            recipient_ref,
            hour_ago,
        )
        limit = self.settings.rate_limit_per_hour
        if len(rows) < limit:
            return None
        return rows[len(rows) - limit]["sent_at"] + timedelta(hours=1)

    async def _again(
        self, conn: asyncpg.Connection, message: UUID, at: datetime, context: CommandContext
    ) -> None:
        await schedule(
            conn,
            f"{SEND_TIMER}:{message}",
            SEND_TIMER,
            at,
            {"notification_id": str(message), "correlation_id": str(context.correlation_id)},
        )

    async def _failed(
        self,
        conn: asyncpg.Connection,
        store: EventStore,
        stream: str,
        state: Notification,
        reason: str,
        transient: bool,
        now: datetime,
        context: CommandContext,
    ) -> None:
        events = decide_send_failure(
            state,
            reason,
            transient=transient,
            at=now,
            jitter=self.rng.random(),
            max_attempts=self.settings.max_send_attempts,
        )
        await self._append(conn, store, stream, events, context)
        log.warning(
            "notification send failed",
            extra=log_fields(
                notification_id=str(state.notification_id),
                channel=state.channel.value if state.channel else None,
                reason=reason,
                transient=transient,
            ),
        )

    async def _append(
        self,
        conn: asyncpg.Connection,
        store: EventStore,
        stream: str,
        events: Sequence[EventPayload],
        context: CommandContext,
    ) -> None:
        await decide_and_append(conn, store, NOTIFICATION, stream, lambda state: events, context)
        for event in events:
            message = event.notification_id  # type: ignore[attr-defined]
            if isinstance(event, NotificationAttemptFailed):
                await self._again(conn, message, event.retry_at, context)
            elif isinstance(event, NotificationFailed) and event.fallback_channel is not None:
                await self._again(conn, message, event.failed_at, context)

    async def take_receipt(
        self,
        conn: asyncpg.Connection,
        store: EventStore,
        provider_message_id: str,
        delivered: bool,
        reason: str | None,
        now: datetime,
    ) -> UUID:
        """A provider's delivery receipt: delivered, or failed (then the next channel)."""
        message = await conn.fetchval(
            "SELECT notification_id FROM provider_messages WHERE provider_message_id = $1",
            provider_message_id,
        )
        if message is None:
            raise NotFound(f"no message with provider id {provider_message_id}")
        context = CommandContext.new(SERVICE_ACTOR)
        stream = notification_stream(message)
        _, appended = await decide_and_append(
            conn,
            store,
            NOTIFICATION,
            stream,
            lambda state: decide_receipt(state, provider_message_id, delivered, reason, now),
            context,
        )
        for event, _envelope in appended:
            if isinstance(event, NotificationFailed) and event.fallback_channel is not None:
                await self._again(conn, message, now, context)
        return message  # type: ignore[no-any-return]


# -- callbacks -------------------------------------------------------------------------------


MESSAGE_FOR = {
    CallbackScheduled: NotificationKind.CALLBACK_SCHEDULED,
    CallbackRescheduled: NotificationKind.CALLBACK_RESCHEDULED,
    CallbackReminderSent: NotificationKind.CALLBACK_REMINDER,
    CallbackAttemptsExhausted: NotificationKind.CALLBACK_UNREACHABLE,
    CallbackCancelled: NotificationKind.CALLBACK_CANCELLED,
}


async def change_callback(
    conn: asyncpg.Connection,
    store: EventStore,
    callback: UUID,
    decide: Callable[[Callback], Sequence[EventPayload]],
    context: CommandContext,
    settings: NotificationSettings,
    *,
    tell: bool = True,
) -> Callback:
    """Load, decide, append; then keep the timers in step and tell the person what changed
    (unless ``tell`` is false: a queue callback closed by its ticket's end, which the person
    knows of)."""
    state, appended = await decide_and_append(
        conn, store, CALLBACK, callback_stream(callback), decide, context
    )
    await after_callback_events(conn, store, state, appended, context, settings, tell=tell)
    return state


async def after_callback_events(
    conn: asyncpg.Connection,
    store: EventStore,
    state: Callback,
    appended: Sequence[tuple[EventPayload, Envelope]],
    context: CommandContext,
    settings: NotificationSettings,
    *,
    tell: bool = True,
) -> None:
    ident = str(state.callback_id)
    timer_payload = {"callback_id": ident, "correlation_id": str(context.correlation_id)}
    for event, envelope in appended:
        due_at = None
        if isinstance(event, CallbackScheduled | CallbackRescheduled):
            due_at = event.due_at
        elif isinstance(event, CallbackAttemptRecorded) and event.next_attempt_at is not None:
            due_at = event.next_attempt_at
        # a queue callback is due the moment the caller's turn comes: nothing to remind of
        if due_at is not None and state.ticket_id is None:
            await schedule(
                conn,
                f"{CALLBACK_REMINDER_TIMER}:{ident}",
                CALLBACK_REMINDER_TIMER,
                due_at - REMINDER_LEAD,
                {**timer_payload, "due_at": due_at.isoformat()},
            )
        if isinstance(event, CallbackScheduled | CallbackRescheduled):
            assert state.window_end is not None
            await schedule(
                conn,
                f"{CALLBACK_DEADLINE_TIMER}:{ident}",
                CALLBACK_DEADLINE_TIMER,
                state.window_end,
                timer_payload,
            )
        if isinstance(event, CallbackCompleted | CallbackMissed | CallbackCancelled):
            await cancel(conn, f"{CALLBACK_REMINDER_TIMER}:{ident}")
            await cancel(conn, f"{CALLBACK_DEADLINE_TIMER}:{ident}")
        kind = MESSAGE_FOR.get(type(event))
        if kind is not None and tell:
            await _tell_the_person(conn, store, state, event, envelope, kind, context, settings)


async def _tell_the_person(
    conn: asyncpg.Connection,
    store: EventStore,
    state: Callback,
    event: EventPayload,
    envelope: Envelope,
    kind: NotificationKind,
    context: CommandContext,
    settings: NotificationSettings,
) -> None:
    reach = await reach_of(conn, store, state.recipient_ref, state.phone)
    variables: dict[str, str] = {}
    if isinstance(event, CallbackScheduled | CallbackRescheduled):
        variables = {
            "window_start": event.promised_start.isoformat(),
            "window_end": event.promised_end.isoformat(),
        }
    elif isinstance(event, CallbackReminderSent):
        variables = {"due_at": event.due_at.isoformat()}
    elif isinstance(event, CallbackAttemptsExhausted):
        variables = {
            "hotline": settings.hotline,
            "link": f"{settings.public_url}/callbacks/{state.callback_id}",
        }
        # we could not reach them by phone: say so on their next channel; an SMS to a wrong
        # number would not reach them either
        if event.last_outcome is CallbackOutcome.WRONG_NUMBER:
            reach = reach.without(MessageChannel.SMS)
    assert state.availability is not None
    await request_message(
        conn,
        store,
        RequestNotification(
            kind=kind,
            channels=reach.channels,
            recipient_ref=state.recipient_ref,
            language=state.language,
            triggered_by=envelope.event_id,
            variables=variables,
            at=envelope.occurred_at,
            account_ref=state.account_ref,
            timezone=state.availability.timezone,
            addresses=reach.addresses,
        ),
        context,
    )


def timer_handlers(
    store: EventStore, settings: NotificationSettings, dispatcher: Dispatcher
) -> dict[str, TimerHandler]:
    async def on_send(conn: asyncpg.Connection, timer: Timer, now: datetime) -> None:
        await dispatcher.send_due(conn, store, timer, now)

    async def on_deadline(conn: asyncpg.Connection, timer: Timer, now: datetime) -> None:
        await change_callback(
            conn,
            store,
            UUID(timer.payload["callback_id"]),
            lambda state: decide_deadline(state, now),
            _context(timer.payload),
            settings,
        )

    async def on_reminder(conn: asyncpg.Connection, timer: Timer, now: datetime) -> None:
        due_at = datetime.fromisoformat(timer.payload["due_at"])
        await change_callback(
            conn,
            store,
            UUID(timer.payload["callback_id"]),
            lambda state: decide_reminder(state, due_at, now),
            _context(timer.payload),
            settings,
        )

    return {
        SEND_TIMER: on_send,
        CALLBACK_DEADLINE_TIMER: on_deadline,
        CALLBACK_REMINDER_TIMER: on_reminder,
    }
