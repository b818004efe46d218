"""The notification aggregate: one message per (trigger, recipient, kind); its send state
machine (queued → sent → delivered | failed), retries and fallback."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

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
from contracts.registry import REGISTRY
from runtime.errors import RuleViolation
from runtime.privacy import TOKEN_PREFIX, Privacy
from services.notifications.domain.messages import (
    NOTIFICATION,
    RECIPIENT_ERASED,
    Notification,
    NotificationStatus,
    RequestNotification,
    Retry,
    SendFacts,
    decide_receipt,
    decide_request,
    decide_send,
    decide_send_failure,
    decide_sent,
    idempotency_key,
    notification_id,
    retry_delay,
)
from tests.unit.test_privacy import KeysInMemory, envelope

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


# -- the variables are the recipient's personal data (v5) -----------------------------------


async def test_the_variables_are_sealed_under_the_recipients_key_and_forgotten_with_it() -> None:
    keys = KeysInMemory()
    privacy, event_id = Privacy(keys), uuid4()
    [requested] = decide_request(Notification(), request())
    explained = requested.model_copy(update={"variables": {"explanation": "FAKE personal words"}})
    sealed, ref = await privacy.seal(event_id, explained)
    assert ref is not None
    assert ref.subject_id == "account:acct-1"
    assert "variables" in ref.fields
    assert isinstance(sealed["variables"], str)
    assert sealed["variables"].startswith(TOKEN_PREFIX)
    assert "FAKE personal words" not in json.dumps(sealed)
    revealed = await privacy.reveal(envelope(event_id, sealed, ref))
    assert revealed["variables"] == {"explanation": "FAKE personal words"}

    # a recipient with no subject named: sealed under the recipient's own key
    anonymous = explained.model_copy(
        update={"subject_ref": None, "account_ref": None, "to_phone": None, "to_wechat": None}
    )
    _, own = await privacy.seal(uuid4(), anonymous)
    assert own is not None
    assert own.subject_id == RECIPIENT

    await keys.erase("account:acct-1")
    erased = await privacy.reveal(envelope(event_id, sealed, ref))
    assert erased["variables"] is None
    assert erased["to_phone"] is None


def test_v4_messages_read_as_v5_with_their_variables_as_written() -> None:
    sample = json.loads(
        open("contracts/samples/notifications.notification_requested.v4.json").read()  # noqa: SIM115
    )
    decoded = REGISTRY.decode("notifications.notification_requested", 4, sample)
    assert isinstance(decoded, NotificationRequested)
    assert decoded.variables == {"number": "P012", "wait_minutes": "25"}


def test_a_message_whose_recipient_was_erased_is_dropped_not_sent() -> None:
    """Erased before it went out: the variables (and the addresses) read as null. Nothing is
    rendered or handed to a provider; the message is finally failed at once, saying why, on
    no other channel — there is no one left to tell."""
    [requested] = decide_request(Notification(), request())
    as_read_after_erasure = requested.model_copy(
        update={"variables": None, "to_phone": None, "to_wechat": None}
    )
    state = NOTIFICATION.fold([as_read_after_erasure])
    assert state.status is NotificationStatus.QUEUED
    assert state.variables is None
    plan = decide_send(state, SendFacts(now=T0), Retry(jitter=0.0, max_attempts=3))
    assert not plan.send
    [failed] = plan.events
    assert isinstance(failed, NotificationFailed)
    assert failed.reason == RECIPIENT_ERASED
    assert failed.fallback_channel is None
    assert NOTIFICATION.fold([as_read_after_erasure, failed]).status is NotificationStatus.FAILED
    # a message not erased renders and goes
    assert decide_send(queued(), SendFacts(now=T0), Retry(jitter=0.0, max_attempts=3)).send
