"""The notification aggregate: one message per (trigger, recipient, kind), decided once."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from uuid import UUID

import pytest

from contracts.events.notifications import MessageChannel, MessageKind, NotificationRequested
from runtime.errors import RuleViolation
from services.notifications.domain import (
    NOTIFICATION,
    Notification,
    RequestNotification,
    decide_request,
    notification_id,
)

pytestmark = pytest.mark.unit

TRIGGER = UUID("9b0e7c52-1d3f-4a8e-b6c2-5f4d3e2a1b07")
OTHER_TRIGGER = UUID("9b0e7c52-1d3f-4a8e-b6c2-5f4d3e2a1b08")
RECIPIENT = "ticket:3f2a9c4e-8b1d-4e6f-9a7c-2d5e8f1b3c60"
T0 = datetime(2025, 3, 14, 1, 30, 1, tzinfo=UTC)


class _FutureKind(StrEnum):
    """Stands in for a second message kind (MessageKind has one member today)."""

    TICKET_CALLED = "ticket_called"


def request(
    triggered_by: UUID = TRIGGER, recipient_ref: str = RECIPIENT, at: datetime = T0
) -> RequestNotification:
    return RequestNotification(
        kind=MessageKind.TICKET_ISSUED,
        channel=MessageChannel.SMS,
        recipient_ref=recipient_ref,
        language="zh-CN",
        triggered_by=triggered_by,
        variables={"number": "A017"},
        at=at,
    )


def test_the_notification_id_is_deterministic() -> None:
    first = notification_id(TRIGGER, RECIPIENT, MessageKind.TICKET_ISSUED)
    again = notification_id(UUID(str(TRIGGER)), str(RECIPIENT), MessageKind("ticket_issued"))
    assert first == again
    assert first.version == 5
    # pinned: changing the derivation would re-send every message on a replay
    assert first == UUID("feb6ee04-1129-5a22-9620-a5f0ba69360a")


@pytest.mark.parametrize(
    ("triggered_by", "recipient_ref", "kind"),
    [
        pytest.param(OTHER_TRIGGER, RECIPIENT, MessageKind.TICKET_ISSUED, id="other-trigger"),
        pytest.param(TRIGGER, "ticket:other", MessageKind.TICKET_ISSUED, id="other-recipient"),
        pytest.param(TRIGGER, RECIPIENT, _FutureKind.TICKET_CALLED, id="other-kind"),
    ],
)
def test_the_notification_id_differs_when_any_part_differs(
    triggered_by: UUID, recipient_ref: str, kind: MessageKind
) -> None:
    base = notification_id(TRIGGER, RECIPIENT, MessageKind.TICKET_ISSUED)
    assert notification_id(triggered_by, recipient_ref, kind) != base


def test_request_a_notification() -> None:
    assert decide_request(Notification(), request()) == [
        NotificationRequested(
            notification_id=notification_id(TRIGGER, RECIPIENT, MessageKind.TICKET_ISSUED),
            kind=MessageKind.TICKET_ISSUED,
            channel=MessageChannel.SMS,
            recipient_ref=RECIPIENT,
            language="zh-CN",
            triggered_by=TRIGGER,
            variables={"number": "A017"},
            requested_at=T0,
        )
    ]


def test_a_redelivered_trigger_yields_the_same_notification_id() -> None:
    [first] = decide_request(Notification(), request(at=T0))
    [again] = decide_request(Notification(), request(at=datetime(2025, 3, 15, tzinfo=UTC)))
    assert isinstance(first, NotificationRequested)
    assert isinstance(again, NotificationRequested)
    assert first.notification_id == again.notification_id


def test_requesting_twice_is_refused() -> None:
    state = NOTIFICATION.fold(decide_request(Notification(), request()))
    assert state == Notification(
        requested=True,
        notification_id=notification_id(TRIGGER, RECIPIENT, MessageKind.TICKET_ISSUED),
    )
    with pytest.raises(RuleViolation, match="already requested"):
        decide_request(state, request())
