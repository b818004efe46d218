"""Sending due messages through the channel adapters, exactly once in effect.

The send runs in the send timer's transaction, which holds the timer row locked (no other
replica sends the same message meanwhile). The provider gets an idempotency key derived from
(notification, channel): if the process dies after the provider accepted but before the
commit, the timer fires again, the provider is asked again with the same key and answers with
the first message's id — it sends nothing twice, and ``notification_sent`` is recorded once.

Here the facts are gathered (the person's consent, complaints and hours for marketing, the
recipient's recent sends, which adapters exist, whether the template renders); the domain
decides (``decide_send`` before the send, ``decide_delivery`` on its outcome).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from contracts import EventPayload
from contracts.events.notifications import (
    MessageChannel,
    MessagePurpose,
    NotificationKind,
    NotificationWithdrawn,
)
from runtime.context import CommandContext
from runtime.eventstore import EventStore
from runtime.running import RunningService
from runtime.scheduler import Timer, TimerHandler
from runtime.telemetry import log_fields
from services.notifications.adapters.channels import (
    ChannelAdapter,
    OutgoingMessage,
    SendError,
    SendResult,
)
from services.notifications.adapters.code_claims import ClaimedCode, ClaimRefused
from services.notifications.application.campaigns import campaign_owner
from services.notifications.application.messages import (
    SEND_TIMER,
    SERVICE,
    messages,
    notification_stream,
    schedule_send,
)
from services.notifications.application.recipients import preferences_of, recipient_of
from services.notifications.domain.messages import (
    Accepted,
    CodeClaimedForAnotherChannel,
    CodeNotClaimed,
    CodeSpent,
    DeliveryOutcome,
    MarketingFacts,
    Notification,
    NotSent,
    Retry,
    SendFacts,
    code_minutes,
    decide_delivery,
    decide_send,
    idempotency_key,
    needs_unsubscribe_link,
)
from services.notifications.domain.recipients import marketing_consented, marketing_moment
from services.notifications.domain.templates import Rendered, TemplateError, render
from services.notifications.domain.unsubscribe import sign_token
from services.notifications.projections.campaign_audience import has_open_complaint_or_appeal
from services.notifications.wiring import NotificationsWiring

log = logging.getLogger(__name__)


async def send_due(
    conn: asyncpg.Connection,
    store: EventStore,
    wiring: NotificationsWiring,
    message: UUID,
    now: datetime,
    context: CommandContext,
) -> None:
    repository = messages(store)
    stream = notification_stream(message)
    state = await repository.state(conn, stream)
    retry = Retry(jitter=wiring.jitter(), max_attempts=wiring.settings.max_send_attempts)
    facts, rendered, headers = await _facts(conn, store, wiring, state, now)
    plan = decide_send(state, facts, retry)
    if plan.hold_until is not None:
        await schedule_send(conn, message, plan.hold_until, context)
        return
    if plan.events:
        await repository.execute(
            conn, stream, lambda state: decide_send(state, facts, retry).events, context
        )
        _log_decided(state, plan.events)
        return
    if not plan.send:
        return
    if state.code_delivery is not None:
        outcome = await _send_code(wiring, state, now)
    else:
        assert rendered is not None
        outcome = await _send(wiring, state, rendered, headers, now)
    await repository.execute(
        conn, stream, lambda state: decide_delivery(state, outcome, retry), context
    )
    _log_outcome(state, outcome)


async def _facts(
    conn: asyncpg.Connection,
    store: EventStore,
    wiring: NotificationsWiring,
    state: Notification,
    now: datetime,
) -> tuple[SendFacts, Rendered | None, dict[str, str]]:
    """What the decision needs to know, and the rendered message (with its headers)."""
    settings = wiring.settings
    channel = state.channel
    if channel is None:
        return SendFacts(now=now), None, {}
    marketing = None
    if state.purpose is MessagePurpose.MARKETING:
        prefs = await preferences_of(conn, store, state.recipient_ref)
        # consent is per sender: to the platform's marketing, or to the organization's
        # whose campaign it is
        owner = await campaign_owner(conn, store, state.campaign_id) if state.campaign_id else None
        consent: frozenset[MessageChannel] | None = None  # None: the platform's
        if owner is not None:
            account = state.account_ref
            recipient = await recipient_of(conn, store, account) if account else None
            consent = recipient.consent_to(owner) if recipient else frozenset()
        marketing = MarketingFacts(
            consented=marketing_consented(prefs, channel, consent),
            complaint_or_appeal=bool(
                state.account_ref and await has_open_complaint_or_appeal(conn, state.account_ref)
            ),
            moment=marketing_moment(prefs, settings, now),
        )
    recent = await conn.fetch(
        """SELECT sent_at FROM recipient_sends WHERE recipient_ref = $1 AND sent_at > $2
           ORDER BY sent_at""",
        state.recipient_ref,
        now - timedelta(hours=1),
    )
    if state.variables is None:  # the recipient was erased: decide_send drops it
        return SendFacts(now=now), None, {}
    variables, headers = dict(state.variables), dict[str, str]()
    unsubscribe_link = True
    if needs_unsubscribe_link(state):
        if state.account_ref is None or state.campaign_id is None:
            unsubscribe_link = False
        else:
            variables["unsubscribe"], headers = _unsubscribe(
                wiring, state.account_ref, state.campaign_id, now
            )
    rendered, template_error = None, None
    try:
        if state.code_delivery is not None:  # the template first: a broken one must not
            # spend the code; the code itself is claimed only to be sent
            render(
                NotificationKind.ONE_TIME_CODE,
                state.language,
                {"code": "000000", "minutes": "5"},
                state.timezone,
            )
        elif state.kind is not None:
            rendered = render(state.kind, state.language, variables, state.timezone)
    except TemplateError as error:  # names the variable, never its value
        template_error = str(error)
    facts = SendFacts(
        now=now,
        recent_sends=tuple(row["sent_at"] for row in recent),
        rate_limit_per_hour=settings.rate_limit_per_hour,
        marketing=marketing,
        provider=wiring.channels.get(channel) is not None,
        code_claims=wiring.code_claims is not None,
        unsubscribe_link=unsubscribe_link,
        template_error=template_error,
    )
    return facts, rendered, headers


def _unsubscribe(
    wiring: NotificationsWiring, account_ref: str, campaign_id: UUID, now: datetime
) -> tuple[str, dict[str, str]]:
    """A campaign email's one-click unsubscribe link (in its footer) and the RFC 8058
    headers naming it; the token is signed now and works ``unsubscribe_link_days``."""
    link = unsubscribe_link(wiring, account_ref, campaign_id, now)
    return link, {
        "List-Unsubscribe": f"<{link}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def unsubscribe_link(
    wiring: NotificationsWiring, account_ref: str, campaign_id: UUID, now: datetime
) -> str:
    settings = wiring.settings
    token = sign_token(
        settings.unsubscribe_key.get_secret_value().encode(),
        account_ref,
        MessageChannel.EMAIL,
        campaign_id,
        now,
        timedelta(days=settings.unsubscribe_link_days),
    )
    return f"{settings.unsubscribe_url}?token={token}"


async def _send(
    wiring: NotificationsWiring,
    state: Notification,
    rendered: Rendered,
    headers: dict[str, str],
    now: datetime,
) -> DeliveryOutcome:
    assert state.channel is not None
    assert state.notification_id is not None
    assert state.address is not None
    adapter = wiring.channels.get(state.channel)
    assert adapter is not None
    outgoing = OutgoingMessage(
        notification_id=state.notification_id,
        channel=state.channel,
        idempotency_key=idempotency_key(state.notification_id, state.channel),
        language=rendered.language,
        to=state.address,
        subject=rendered.subject,
        body=rendered.body,
        headers=headers,
    )
    try:
        result = await adapter.send(outgoing)
    except SendError as error:
        return NotSent(error.reason, error.transient, now)
    return Accepted(result.provider, result.provider_message_id, now)


async def _send_code(
    wiring: NotificationsWiring, state: Notification, now: datetime
) -> DeliveryOutcome:
    """A one-time code: claim it from verification now, render it, hand it to the adapter,
    forget it. The claim is once-only, so every refusal after it is final."""
    delivery, channel = state.code_delivery, state.channel
    assert delivery is not None
    assert channel is not None
    adapter = wiring.channels.get(channel)
    assert adapter is not None
    assert wiring.code_claims is not None
    try:
        claimed = await wiring.code_claims.claim(delivery)
    except ClaimRefused as error:
        if error.transient:  # verification handed nothing out: try again (backoff)
            return NotSent(error.reason, True, now)
        return CodeNotClaimed(error.reason, now)
    if claimed.channel != channel.value:
        return CodeClaimedForAnotherChannel(claimed.channel, now)
    result = await _hand_over_code(wiring, adapter, state, claimed, now)
    if isinstance(result, str):
        return CodeSpent(result, now)
    return Accepted(result.provider, result.provider_message_id, now)


async def _hand_over_code(
    wiring: NotificationsWiring,
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
    attempts = wiring.settings.code_send_attempts
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
            await asyncio.sleep(wiring.settings.code_send_retry_seconds * attempt)
    raise AssertionError("unreachable")


def _log_decided(state: Notification, events: list[EventPayload]) -> None:
    for event in events:
        if isinstance(event, NotificationWithdrawn):
            log.info(
                "marketing message withdrawn",
                extra=log_fields(
                    notification_id=str(state.notification_id), reason=event.reason.value
                ),
            )
        else:
            log.warning(
                "notification failed",
                extra=log_fields(
                    notification_id=str(state.notification_id),
                    reason=str(getattr(event, "reason", ""))[:200],
                ),
            )


def _log_outcome(state: Notification, outcome: DeliveryOutcome) -> None:
    channel = state.channel.value if state.channel else None
    if isinstance(outcome, Accepted):
        log.info(
            "notification sent",
            extra=log_fields(
                notification_id=str(state.notification_id),
                channel=channel,
                provider=outcome.provider,
            ),
        )
        return
    log.warning(
        "notification send failed",
        extra=log_fields(
            notification_id=str(state.notification_id),
            channel=channel,
            reason=str(getattr(outcome, "reason", type(outcome).__name__))[:200],
            transient=isinstance(outcome, NotSent) and outcome.transient,
        ),
    )


def send_timer(runtime: RunningService) -> dict[str, TimerHandler]:
    async def on_send(conn: asyncpg.Connection, timer: Timer, now: datetime) -> None:
        wiring = runtime.wiring
        assert isinstance(wiring, NotificationsWiring)
        await send_due(
            conn,
            runtime.store,
            wiring,
            UUID(timer.payload["notification_id"]),
            now,
            timer.context(SERVICE),
        )

    return {SEND_TIMER: on_send}
