"""The notification aggregate: one message per (trigger, recipient, kind); its send state
machine (queued → sent → delivered | failed), retries and fallback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from contracts.events.notifications import (
    MessageChannel,
    MessageKind,
    MessagePurpose,
    NotificationAttemptFailed,
    NotificationDelivered,
    NotificationFailed,
    NotificationKind,
    NotificationRequested,
    NotificationSent,
)
from runtime.errors import RuleViolation
from services.notifications.domain.messages import (
    NOTIFICATION,
    Notification,
    NotificationStatus,
    RequestNotification,
    decide_receipt,
    decide_request,
    decide_send_failure,
    decide_sent,
    idempotency_key,
    notification_id,
    retry_delay,
)

pytestmark = pytest.mark.unit

TRIGGER = UUID("9b0e7c52-1d3f-4a8e-b6c2-5f4d3e2a1b07")
RECIPIENT = "ticket:3f2a9c4e-8b1d-4e6f-9a7c-2d5e8f1b3c60"
T0 = datetime(2025, 3, 14, 1, 30, 1, tzinfo=UTC)
SMS, WECHAT, EMAIL = MessageChannel.SMS, MessageChannel.WECHAT, MessageChannel.EMAIL


def request(
    channels: tuple[MessageChannel, ...] = (SMS, WECHAT),
    purpose: MessagePurpose = MessagePurpose.SERVICE,
    addresses: dict[MessageChannel, str] | None = None,
) -> RequestNotification:
    return RequestNotification(
        kind=NotificationKind.TICKET_ISSUED,
        channels=channels,
        recipient_ref=RECIPIENT,
        language="zh-CN",
        triggered_by=TRIGGER,
        variables={"number": "A017"},
        at=T0,
        purpose=purpose,
        account_ref="acct-1",
        addresses=addresses
        if addresses is not None
        else {SMS: "+8613800000001", WECHAT: "wx-open-1"},
    )


def queued(**kwargs: object) -> Notification:
    return NOTIFICATION.fold(decide_request(Notification(), request(**kwargs)))  # type: ignore[arg-type]


def test_the_notification_id_is_pinned() -> None:
    # the derivation must never change: a replayed trigger would otherwise send again; v1's
    # ticket_issued kind and v2's give the same id
    expected = UUID("feb6ee04-1129-5a22-9620-a5f0ba69360a")
    assert notification_id(TRIGGER, RECIPIENT, NotificationKind.TICKET_ISSUED) == expected
    assert notification_id(TRIGGER, RECIPIENT, MessageKind.TICKET_ISSUED) == expected


def test_the_idempotency_key_is_stable_per_message_and_channel() -> None:
    message = notification_id(TRIGGER, RECIPIENT, NotificationKind.TICKET_ISSUED)
    assert idempotency_key(message, SMS) == f"{message}:sms"
    assert idempotency_key(message, SMS) != idempotency_key(message, WECHAT)


def test_a_request_carries_the_addresses_of_its_channels_only() -> None:
    [requested] = decide_request(
        Notification(), request(channels=(SMS,), addresses={SMS: "+861", EMAIL: "a@b.example"})
    )
    assert isinstance(requested, NotificationRequested)
    assert requested.to_phone == "+861"
    assert requested.to_email is None
    assert requested.channels == [SMS]


def test_requesting_twice_is_refused() -> None:
    with pytest.raises(RuleViolation, match="already requested"):
        decide_request(queued(), request())


def test_sent_records_the_provider_id_and_the_key() -> None:
    state = queued()
    [sent] = decide_sent(state, "http-sms", "sms-1", T0)
    assert sent == NotificationSent(
        notification_id=state.notification_id,
        channel=SMS,
        provider="http-sms",
        provider_message_id="sms-1",
        idempotency_key=f"{state.notification_id}:sms",
        attempt=1,
        sent_at=T0,
    )
    state = NOTIFICATION.evolve(state, sent)
    with pytest.raises(RuleViolation, match="sent, not queued"):
        decide_sent(state, "http-sms", "sms-2", T0)


@pytest.mark.parametrize("attempt", range(1, 12))
def test_retry_delays_grow_exponentially_with_bounded_jitter(attempt: int) -> None:
    step = min(timedelta(hours=1), timedelta(seconds=30) * 2 ** (attempt - 1))
    assert retry_delay(attempt, 0.0) == step / 2
    assert step / 2 <= retry_delay(attempt, 0.999) < step
    assert retry_delay(attempt, 0.5) < retry_delay(attempt + 1, 0.5) or step == timedelta(hours=1)


def test_jitter_outside_its_range_is_refused() -> None:
    with pytest.raises(ValueError, match="jitter"):
        retry_delay(1, 1.0)


def fail(state: Notification, transient: bool = True, at: datetime = T0) -> list[object]:
    return decide_send_failure(  # type: ignore[return-value]
        state, "http-sms: HTTP 503", transient=transient, at=at, jitter=0.0, max_attempts=3
    )


def test_a_transient_failure_is_retried_later_on_the_same_channel() -> None:
    [failed] = fail(queued())
    assert isinstance(failed, NotificationAttemptFailed)
    assert failed.retry_at == T0 + timedelta(seconds=15)
    assert failed.attempt == 1


def test_after_n_failures_the_message_falls_back_to_the_next_channel() -> None:
    state = queued()
    for _ in range(2):
        [event] = fail(state)
        state = NOTIFICATION.evolve(state, event)  # type: ignore[arg-type]
    [failed] = fail(state)
    assert failed == NotificationFailed(
        notification_id=state.notification_id,
        channel=SMS,
        attempts=3,
        reason="http-sms: HTTP 503",
        fallback_channel=WECHAT,
        failed_at=T0,
    )
    state = NOTIFICATION.evolve(state, failed)  # type: ignore[arg-type]
    assert (state.status, state.channel, state.attempts_on_channel) == (
        NotificationStatus.QUEUED,
        WECHAT,
        0,
    )
    assert state.address == "wx-open-1"


def test_a_permanent_failure_falls_back_at_once_and_the_last_channel_fails_finally() -> None:
    state = queued()
    [failed] = fail(state, transient=False)
    assert isinstance(failed, NotificationFailed)
    assert failed.fallback_channel is WECHAT
    state = NOTIFICATION.evolve(state, failed)
    [final] = fail(state, transient=False)
    assert isinstance(final, NotificationFailed)
    assert final.fallback_channel is None
    assert NOTIFICATION.evolve(state, final).status is NotificationStatus.FAILED


def test_channels_without_an_address_are_skipped_in_the_fallback() -> None:
    state = queued(channels=(SMS, EMAIL, WECHAT))  # no email address
    [failed] = fail(state, transient=False)
    assert isinstance(failed, NotificationFailed)
    assert failed.fallback_channel is WECHAT


def test_marketing_never_falls_back_to_another_channel() -> None:
    [failed] = fail(queued(purpose=MessagePurpose.MARKETING), transient=False)
    assert isinstance(failed, NotificationFailed)
    assert failed.fallback_channel is None


def sent_state() -> Notification:
    state = queued()
    return NOTIFICATION.fold(
        [*decide_request(Notification(), request()), *decide_sent(state, "http-sms", "sms-1", T0)]
    )


def test_a_delivery_receipt_marks_it_delivered_once() -> None:
    state = sent_state()
    [delivered] = decide_receipt(state, "sms-1", True, None, T0)
    assert isinstance(delivered, NotificationDelivered)
    state = NOTIFICATION.evolve(state, delivered)
    assert state.status is NotificationStatus.DELIVERED
    assert decide_receipt(state, "sms-1", True, None, T0) == []  # a repeated receipt


def test_a_receipt_for_another_send_changes_nothing() -> None:
    assert decide_receipt(sent_state(), "sms-other", True, None, T0) == []
    assert decide_receipt(queued(), "sms-1", True, None, T0) == []


def test_a_failure_receipt_falls_back_to_the_next_channel() -> None:
    [failed] = decide_receipt(sent_state(), "sms-1", False, "unreachable handset", T0)
    assert isinstance(failed, NotificationFailed)
    assert failed.fallback_channel is WECHAT
    assert failed.reason == "unreachable handset"
