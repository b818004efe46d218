"""The notification aggregate: one message to one person, decided once, sent once.

Pure, no I/O. States: requested (queued on its first channel) → sent (a provider accepted it
under an idempotency key) → delivered | failed; a queued marketing message may instead be
withdrawn (never sent). Transient failures are retried on the same
channel with exponential backoff and jitter; after ``max_attempts`` (or a permanent error, or
a failure receipt) the message falls back to the next channel that has an address, else it is
finally failed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from contracts.base import EventPayload
from contracts.events.notifications import (
    CodeDelivery,
    MessageChannel,
    MessagePurpose,
    NotificationAttemptFailed,
    NotificationDelivered,
    NotificationFailed,
    NotificationKind,
    NotificationRequested,
    NotificationSent,
    NotificationWithdrawn,
    WithdrawalReason,
)
from runtime.aggregate import AggregateType
from runtime.errors import RuleViolation

_NOTIFICATIONS_NAMESPACE = uuid.UUID("0b7e8f52-93c4-4d7a-8d5b-3a0f6c2e9d41")


def notification_id(triggered_by: UUID, recipient_ref: str, kind: StrEnum) -> UUID:
    """One message per (triggering event, recipient, kind): the exactly-once key."""
    return uuid.uuid5(_NOTIFICATIONS_NAMESPACE, f"{triggered_by}|{recipient_ref}|{kind.value}")


def idempotency_key(notification: UUID, channel: MessageChannel) -> str:
    """What the provider is given: the same on every retry of one message on one channel, so a
    provider asked again (after a crash between its answer and our commit) sends nothing new."""
    return f"{notification}:{channel.value}"


def retry_delay(
    attempt: int,
    jitter: float,
    base: timedelta = timedelta(seconds=30),
    cap: timedelta = timedelta(hours=1),
) -> timedelta:
    """Exponential backoff with "equal jitter": half the step fixed, half random
    (``jitter`` in [0, 1)). Attempt 1 → 15-30 s, 2 → 30-60 s, 3 → 60-120 s, …, capped."""
    if not 0.0 <= jitter < 1.0:
        raise ValueError("jitter must be in [0, 1)")
    step = min(cap, base * 2 ** (attempt - 1))
    return step / 2 + step / 2 * jitter


class NotificationStatus(StrEnum):
    NONE = "none"
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class Notification:
    requested: bool = False
    notification_id: UUID | None = None
    status: NotificationStatus = NotificationStatus.NONE
    kind: NotificationKind | None = None
    purpose: MessagePurpose = MessagePurpose.SERVICE
    channels: tuple[MessageChannel, ...] = ()
    channel_index: int = 0
    attempts_on_channel: int = 0
    recipient_ref: str = ""
    subject_ref: str | None = None
    account_ref: str | None = None
    language: str = "und"
    timezone: str | None = None
    # None: the recipient was erased (the sealed variables read as null): nothing to send
    variables: dict[str, str] | None = field(default_factory=dict)
    addresses: dict[MessageChannel, str] = field(default_factory=dict)
    not_before: datetime | None = None
    provider_message_id: str | None = None
    idempotency_key: str | None = None
    campaign_id: UUID | None = None
    code_delivery: CodeDelivery | None = None

    @property
    def channel(self) -> MessageChannel | None:
        if self.channel_index < len(self.channels):
            return self.channels[self.channel_index]
        return None

    @property
    def address(self) -> str | None:
        channel = self.channel
        return self.addresses.get(channel) if channel else None

    def fallback_after(self, index: int) -> MessageChannel | None:
        """The next channel that has an address; none for marketing (never chase a person
        across channels with an offer), none for a one-time code (verification chose the
        verified channel, and a claimed code is spent)."""
        if self.purpose in (MessagePurpose.MARKETING, MessagePurpose.ONE_TIME_CODE):
            return None
        for channel in self.channels[index + 1 :]:
            if channel in self.addresses:
                return channel
        return None


@dataclass(frozen=True)
class RequestNotification:
    kind: NotificationKind
    channels: tuple[MessageChannel, ...]
    recipient_ref: str
    language: str
    triggered_by: UUID
    variables: dict[str, str]
    at: datetime
    purpose: MessagePurpose = MessagePurpose.SERVICE
    account_ref: str | None = None
    timezone: str | None = None
    addresses: dict[MessageChannel, str] = field(default_factory=dict)
    campaign_id: UUID | None = None
    not_before: datetime | None = None
    subject_ref: str | None = None  # whose personal data the addresses are (default: account)
    code_delivery: CodeDelivery | None = None  # one_time_code: where the code is claimed


_ADDRESS_FIELDS = {
    MessageChannel.SMS: "to_phone",
    MessageChannel.EMAIL: "to_email",
    MessageChannel.WECHAT: "to_wechat",
    MessageChannel.QQ: "to_qq",
}


RECIPIENT_ERASED = "the recipient was erased before it was sent: nothing left to send"


def decide_request(state: Notification, command: RequestNotification) -> list[EventPayload]:
    if state.requested:
        raise RuleViolation("this notification was already requested")
    if not command.channels:
        raise RuleViolation("a message needs at least one channel")
    is_code = command.kind is NotificationKind.ONE_TIME_CODE
    if is_code != (command.code_delivery is not None):
        raise RuleViolation("a one-time code message, and only one, names its code delivery")
    if is_code and command.purpose is not MessagePurpose.ONE_TIME_CODE:
        raise RuleViolation("a one-time code message has the one_time_code purpose")
    if is_code and (command.variables or command.addresses):
        raise RuleViolation(
            "a one-time code message carries no variables or address: both come with the "
            "code, claimed when it is sent"
        )
    subject_ref = command.subject_ref or (
        f"account:{command.account_ref}" if command.account_ref else None
    )
    if command.addresses and subject_ref is None:
        raise RuleViolation("addresses are personal data: the message needs a data subject")
    return [
        NotificationRequested(
            notification_id=notification_id(
                command.triggered_by, command.recipient_ref, command.kind
            ),
            kind=command.kind,
            purpose=command.purpose,
            channels=list(command.channels),
            recipient_ref=command.recipient_ref,
            subject_ref=subject_ref,
            account_ref=command.account_ref,
            language=command.language,
            timezone=command.timezone,
            triggered_by=command.triggered_by,
            variables=command.variables,
            campaign_id=command.campaign_id,
            code_delivery=command.code_delivery,
            not_before=command.not_before,
            requested_at=command.at,
            **{
                _ADDRESS_FIELDS[channel]: address
                for channel, address in command.addresses.items()
                if channel in command.channels
            },
        )
    ]


def _require_queued(state: Notification) -> MessageChannel:
    if state.status is not NotificationStatus.QUEUED or state.channel is None:
        raise RuleViolation(f"the notification is {state.status.value}, not queued")
    return state.channel


def decide_sent(
    state: Notification, provider: str, provider_message_id: str, at: datetime
) -> list[EventPayload]:
    channel = _require_queued(state)
    return [
        NotificationSent(
            notification_id=state.notification_id,
            channel=channel,
            provider=provider,
            provider_message_id=provider_message_id,
            idempotency_key=idempotency_key(state.notification_id, channel),  # type: ignore[arg-type]
            attempt=state.attempts_on_channel + 1,
            sent_at=at,
        )
    ]


def _give_up(state: Notification, attempts: int, reason: str, at: datetime) -> NotificationFailed:
    assert state.channel is not None
    return NotificationFailed(
        notification_id=state.notification_id,
        channel=state.channel,
        attempts=attempts,
        reason=reason,
        fallback_channel=state.fallback_after(state.channel_index),
        failed_at=at,
    )


def decide_send_failure(
    state: Notification,
    reason: str,
    *,
    transient: bool,
    at: datetime,
    jitter: float,
    max_attempts: int,
) -> list[EventPayload]:
    """A send attempt failed: retry later (transient, attempts left), else give up on this
    channel (falling back to the next one where that makes sense)."""
    channel = _require_queued(state)
    attempt = state.attempts_on_channel + 1
    if transient and attempt < max_attempts:
        return [
            NotificationAttemptFailed(
                notification_id=state.notification_id,
                channel=channel,
                attempt=attempt,
                reason=reason,
                retry_at=at + retry_delay(attempt, jitter),
                failed_at=at,
            )
        ]
    return [_give_up(state, attempt, reason, at)]


def decide_failed(state: Notification, reason: str, at: datetime) -> list[EventPayload]:
    """Finally failed, whatever channels are left (a one-time code that cannot be sent: too
    late to claim, already claimed, or spent on a failed send)."""
    channel = _require_queued(state)
    return [
        NotificationFailed(
            notification_id=state.notification_id,
            channel=channel,
            attempts=state.attempts_on_channel,
            reason=reason[:200],
            fallback_channel=None,
            failed_at=at,
        )
    ]


def decide_withdraw(
    state: Notification, reason: WithdrawalReason, at: datetime
) -> list[EventPayload]:
    """Withdraw a queued marketing message: it will never be sent. Nothing when it is no
    longer queued (sent, failed, withdrawn already): a message a provider accepted stays
    sent. A message about the person's own case, callback or code is never withdrawn."""
    if not state.requested:
        raise RuleViolation("no such message")
    if state.purpose is not MessagePurpose.MARKETING:
        raise RuleViolation(f"a {state.purpose.value} message is never withdrawn")
    if state.status is not NotificationStatus.QUEUED:
        return []
    return [
        NotificationWithdrawn(
            notification_id=state.notification_id,
            campaign_id=state.campaign_id,
            reason=reason,
            withdrawn_at=at,
        )
    ]


def code_minutes(expires_at: datetime, now: datetime) -> int:
    """How many whole minutes a code claimed now is valid for, as the message says (rounded
    down, at least 1: "valid for 5 minutes" must not overstate it)."""
    return max(1, int((expires_at - now).total_seconds() // 60))


def decide_receipt(
    state: Notification,
    provider_message_id: str,
    delivered: bool,
    reason: str | None,
    at: datetime,
) -> list[EventPayload]:
    """A provider's delivery receipt. Receipts for another send, or repeated, change nothing."""
    if state.status is not NotificationStatus.SENT:
        return []
    if state.provider_message_id != provider_message_id or state.channel is None:
        return []
    if delivered:
        return [
            NotificationDelivered(
                notification_id=state.notification_id,
                channel=state.channel,
                provider_message_id=provider_message_id,
                delivered_at=at,
            )
        ]
    return [_give_up(state, state.attempts_on_channel, reason or "undeliverable", at)]


# -- sending ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MarketingFacts:
    """A marketing message's situation when its moment comes (it may have waited hours)."""

    consented: bool  # consent on its channel, with an address there (none once erased)
    complaint_or_appeal: bool  # the account has an open complaint or appeal
    moment: datetime | None  # the next moment marketing may reach the person (None: no hour)


@dataclass(frozen=True)
class SendFacts:
    """What the application found out before a send; ``decide_send`` weighs it."""

    now: datetime
    recent_sends: tuple[datetime, ...] = ()  # sends to the recipient in the past hour, ordered
    rate_limit_per_hour: int = 10
    marketing: MarketingFacts | None = None  # for a marketing message
    provider: bool = True  # an adapter is configured for the message's channel
    code_claims: bool = True  # a verification client is configured (one-time codes)
    unsubscribe_link: bool = True  # a campaign email's link could be made (account, campaign)
    template_error: str | None = None  # rendering the message failed (names no value)


@dataclass(frozen=True)
class SendPlan:
    """What to do with a due message: append ``events`` without sending (failed, withdrawn),
    or wait until ``hold_until``, or ``send`` it now. Nothing of the three: it is not queued."""

    events: list[EventPayload] = field(default_factory=list)
    hold_until: datetime | None = None
    send: bool = False


@dataclass(frozen=True)
class Retry:
    """How a failed attempt is retried: ``jitter`` in [0, 1), at most ``max_attempts``."""

    jitter: float
    max_attempts: int


def rate_limited_until(
    recent_sends: tuple[datetime, ...], limit: int, now: datetime
) -> datetime | None:
    """When the recipient may get the next message under ``limit`` per hour (None: now)."""
    recent = [sent for sent in recent_sends if sent > now - timedelta(hours=1)]
    if len(recent) < limit:
        return None
    return recent[len(recent) - limit] + timedelta(hours=1)


def decide_send(state: Notification, facts: SendFacts, retry: Retry) -> SendPlan:
    """Whether a due message goes out now. A message not queued any more does nothing; one
    whose ``not_before`` is ahead waits. A marketing message is checked again: consent
    withdrawn on its channel or a complaint or appeal opened since → withdrawn; outside the
    hours marketing may reach the person → held until the next allowed moment (withdrawn when
    there is none). Every message but a one-time code waits for the recipient's rate limit. A
    one-time code is finally failed when stale (its claim_before passed), when there is no
    provider or verification client, or when its template is broken (before the claim: a
    broken template must not spend the code). Any other message fails on its channel
    (falling back) without an address or a provider, or a campaign email without its
    unsubscribe link; a broken template fails it finally. A message whose recipient was
    erased before it went out (its sealed variables and addresses read as null) is finally
    failed at once, whatever its kind: there is no one left to tell, and no text to send."""
    now = facts.now
    if state.status is not NotificationStatus.QUEUED or state.channel is None:
        return SendPlan()
    if state.variables is None:
        return SendPlan(events=decide_failed(state, RECIPIENT_ERASED, now))
    channel = state.channel
    if state.not_before is not None and now < state.not_before:
        return SendPlan(hold_until=state.not_before)
    if state.purpose is MessagePurpose.MARKETING:
        marketing = facts.marketing
        assert marketing is not None, "a marketing message is decided with its marketing facts"
        reason = None
        if not marketing.consented:
            reason = WithdrawalReason.CONSENT_WITHDRAWN
        elif marketing.complaint_or_appeal:
            reason = WithdrawalReason.COMPLAINT_OR_APPEAL
        elif marketing.moment is None:
            reason = WithdrawalReason.NO_ALLOWED_HOURS
        elif marketing.moment > now:
            return SendPlan(hold_until=marketing.moment)
        if reason is not None:
            return SendPlan(events=decide_withdraw(state, reason, now))
    if state.purpose is not MessagePurpose.ONE_TIME_CODE:
        free_at = rate_limited_until(facts.recent_sends, facts.rate_limit_per_hour, now)
        if free_at is not None:
            return SendPlan(hold_until=free_at)
    if state.code_delivery is not None:
        delivery = state.code_delivery
        if now >= delivery.claim_before:
            failure = (
                f"code delivery is stale (claim_before {delivery.claim_before:%H:%M:%S} UTC "
                "passed before it could be sent); verification must issue a new code"
            )
        elif not facts.provider or not facts.code_claims:
            missing = "provider" if not facts.provider else "verification client"
            failure = f"no {channel.value} {missing} configured"
        elif facts.template_error is not None:
            failure = f"template: {facts.template_error}"
        else:
            return SendPlan(send=True)
        return SendPlan(events=decide_failed(state, failure, now))
    refused: str | None = None
    if state.address is None:
        refused = f"no {channel.value} address (never given, or erased)"
    elif not facts.provider:
        refused = f"no {channel.value} provider configured"
    elif not facts.unsubscribe_link:
        refused = "a campaign email needs its account and campaign for its unsubscribe link"
    if refused is not None:
        return SendPlan(
            events=decide_send_failure(
                state,
                refused,
                transient=False,
                at=now,
                jitter=retry.jitter,
                max_attempts=retry.max_attempts,
            )
        )
    if facts.template_error is not None:
        return SendPlan(events=decide_failed(state, f"template: {facts.template_error}", now))
    return SendPlan(send=True)


def needs_unsubscribe_link(state: Notification) -> bool:
    """A campaign email carries a one-click unsubscribe link (RFC 8058) in its footer."""
    return state.kind is NotificationKind.CAMPAIGN and state.channel is MessageChannel.EMAIL


@dataclass(frozen=True)
class Accepted:
    """The provider took the message."""

    provider: str
    provider_message_id: str
    at: datetime


@dataclass(frozen=True)
class NotSent:
    """The provider (or verification's claim) refused or could not be reached; nothing was
    handed out. ``transient``: worth retrying later."""

    reason: str
    transient: bool
    at: datetime


@dataclass(frozen=True)
class CodeNotClaimed:
    """Verification refused the claim for good (already claimed, too late, unknown)."""

    reason: str
    at: datetime


@dataclass(frozen=True)
class CodeClaimedForAnotherChannel:
    claimed_channel: str
    at: datetime


@dataclass(frozen=True)
class CodeSpent:
    """The code was claimed, then could not be sent (``reason``)."""

    reason: str
    at: datetime


DeliveryOutcome = Accepted | NotSent | CodeNotClaimed | CodeClaimedForAnotherChannel | CodeSpent


def decide_delivery(
    state: Notification, outcome: DeliveryOutcome, retry: Retry
) -> list[EventPayload]:
    """What a send attempt's outcome makes of the message: sent; retried later or failed on
    its channel (falling back); a one-time code whose claim was refused for good, or that was
    claimed and then not sent, is finally failed (a claimed code is spent: verification must
    issue a new one)."""
    match outcome:
        case Accepted():
            return decide_sent(state, outcome.provider, outcome.provider_message_id, outcome.at)
        case NotSent():
            return decide_send_failure(
                state,
                outcome.reason,
                transient=outcome.transient,
                at=outcome.at,
                jitter=retry.jitter,
                max_attempts=retry.max_attempts,
            )
        case CodeNotClaimed():
            reason = (
                f"one-time code not claimed: {outcome.reason}; verification must issue a new code"
            )
            return decide_failed(state, reason, outcome.at)
        case CodeClaimedForAnotherChannel():
            channel = _require_queued(state)
            reason = f"the claimed code is for {outcome.claimed_channel[:10]}, not {channel.value}"
            return decide_failed(state, reason, outcome.at)
        case CodeSpent():
            reason = (
                f"{outcome.reason}; the claimed code is spent: verification must issue a new code"
            )
            return decide_failed(state, reason, outcome.at)


def evolve(state: Notification, event: EventPayload) -> Notification:
    match event:
        case NotificationRequested():
            addresses = {
                channel: getattr(event, name)
                for channel, name in _ADDRESS_FIELDS.items()
                if getattr(event, name)
            }
            return Notification(
                requested=True,
                notification_id=event.notification_id,
                status=NotificationStatus.QUEUED,
                kind=event.kind,
                purpose=event.purpose,
                channels=tuple(event.channels),
                recipient_ref=event.recipient_ref,
                subject_ref=event.subject_ref,
                account_ref=event.account_ref,
                language=event.language,
                timezone=event.timezone,
                variables=None if event.variables is None else dict(event.variables),
                addresses=addresses,
                not_before=event.not_before,
                campaign_id=event.campaign_id,
                code_delivery=event.code_delivery,
            )
        case NotificationSent():
            return replace(
                state,
                status=NotificationStatus.SENT,
                provider_message_id=event.provider_message_id,
                idempotency_key=event.idempotency_key,
                attempts_on_channel=event.attempt,
            )
        case NotificationAttemptFailed():
            return replace(state, attempts_on_channel=event.attempt)
        case NotificationFailed():
            if event.fallback_channel is None:
                return replace(state, status=NotificationStatus.FAILED)
            return replace(
                state,
                status=NotificationStatus.QUEUED,
                channel_index=state.channels.index(event.fallback_channel),
                attempts_on_channel=0,
                provider_message_id=None,
                idempotency_key=None,
            )
        case NotificationDelivered():
            return replace(state, status=NotificationStatus.DELIVERED)
        case NotificationWithdrawn():
            return replace(state, status=NotificationStatus.WITHDRAWN)
    return state


NOTIFICATION = AggregateType[Notification]("notification", Notification, evolve)
