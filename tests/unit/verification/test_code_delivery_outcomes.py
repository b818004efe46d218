"""What became of a one-time code's message, as the notifications service reports it: given a
session's events -> when the report -> then the session's events (or none), and what the
person may do next (a failed delivery never counts against their codes)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from contracts.events.verification import VerificationOutcome
from contracts.events.verification_sessions import (
    CheckAttemptFailed,
    CheckPassed,
    CodeChannel,
    CodeDeliveryFailed,
    CodeDeliveryFailure,
    CodeDeliveryReported,
    CodeDeliveryRequested,
    CodeDeliveryStatus,
)
from runtime.errors import RuleViolation
from services.verification.domain.plans import (
    MAX_CODE_DELIVERIES,
    MAX_UNDELIVERED_CODES,
    Check,
)
from services.verification.domain.sessions import (
    CheckCode,
    CheckStatus,
    DeliveryStatus,
    Expire,
    IssueCode,
    RecordCodeDeliveryFailure,
    RecordCodeDeliveryProgress,
    RequestCode,
    Session,
    codes_left,
    decide,
)
from tests.unit.verification.test_sessions import at, code_session, completed, run

pytestmark = pytest.mark.unit

VALID = timedelta(minutes=5)


def request(minute: float, claim_minutes: float = 2) -> tuple[RequestCode, uuid.UUID]:
    delivery = uuid.uuid4()
    command = RequestCode(
        delivery, CodeChannel.SMS, "zh-CN", "/claim", at(minute + claim_minutes), at(minute)
    )
    return command, delivery


def failure(delivery: uuid.UUID, minute: float) -> RecordCodeDeliveryFailure:
    return RecordCodeDeliveryFailure(delivery, uuid.uuid4(), at(minute))


def failed_event(session: Session, delivery: uuid.UUID, minute: float) -> CodeDeliveryFailed:
    [event] = decide(session, failure(delivery, minute))
    assert isinstance(event, CodeDeliveryFailed)
    return event


# -- the failure's category comes from verification's own record of the delivery --------------


def test_a_message_that_failed_before_the_claim_names_no_code_and_frees_a_new_one() -> None:
    state, delivery = code_session()  # requested at 1, claim before 5
    event = failed_event(state, delivery, 2)
    assert event.failure is CodeDeliveryFailure.NOT_CLAIMED
    assert event.channel is CodeChannel.SMS
    assert event.codes_left == MAX_CODE_DELIVERIES
    assert event.reason == (
        "the one-time code sent by sms could not be delivered (the message failed before the "
        "code was created); request a new code: 3 may still be requested"
    )
    assert "code" not in event.model_dump()  # no code, and no address either
    state, _ = run([failure(delivery, 2)], state)
    assert state.last_delivery is not None
    assert state.last_delivery.status is DeliveryStatus.FAILED
    assert codes_left(state) == MAX_CODE_DELIVERIES


def test_a_message_gone_stale_unclaimed_says_the_claim_window_passed() -> None:
    state, delivery = code_session()
    event = failed_event(state, delivery, 5)  # at claim_before
    assert event.failure is CodeDeliveryFailure.CLAIM_WINDOW_PASSED
    assert "could not be sent before 08:05:00 UTC; no code was created" in event.reason


def test_a_message_that_failed_after_the_claim_says_the_code_was_created() -> None:
    state, delivery = code_session()
    state, _ = run([IssueCode(delivery, "notifications", VALID, at(2))], state)
    event = failed_event(state, delivery, 9)  # well past claim_before: claimed decides
    assert event.failure is CodeDeliveryFailure.FAILED_AFTER_CLAIM
    assert "failed after the code was created" in event.reason


# -- what the person may do next ---------------------------------------------------------------


def test_after_a_failed_delivery_a_new_code_is_requested_at_once_and_works() -> None:
    state, first = code_session()
    state, _ = run([failure(first, 2)], state)
    with pytest.raises(RuleViolation, match="the last code could not be delivered"):
        decide(state, CheckCode(first, True, at(2)))
    command, second = request(2.5)
    state, events = run([command], state)
    assert [type(e) for e in events] == [CodeDeliveryRequested]
    state, events = run(
        [IssueCode(second, "notifications", VALID, at(3)), CheckCode(second, True, at(4))], state
    )
    assert [type(e) for e in events] == [CheckPassed]
    assert state.progress_of(Check.POSSESSION_CODE).status is CheckStatus.PASSED


def test_failed_deliveries_do_not_count_against_the_three_codes() -> None:
    state, first = code_session()
    state, _ = run([failure(first, 1.5)], state)
    for n in range(MAX_CODE_DELIVERIES):  # three more, all delivered
        command, _ = request(2 + n)
        state, _ = run([command], state)
    assert codes_left(state) == 0
    with pytest.raises(RuleViolation, match="3 codes were already sent"):
        decide(state, request(6)[0])


def test_undelivered_codes_are_capped_too_with_a_way_forward() -> None:
    state, delivery = code_session()
    for n in range(MAX_UNDELIVERED_CODES):
        event = failed_event(state, delivery, 1.5 + n)
        state, _ = run([failure(delivery, 1.5 + n)], state)
        if n < MAX_UNDELIVERED_CODES - 1:
            assert event.codes_left > 0
            command, delivery = request(2 + n)
            state, _ = run([command], state)
    assert event.codes_left == 0
    assert "no more codes can be sent for this session" in event.reason
    assert "without a code" in event.reason
    with pytest.raises(RuleViolation, match="3 codes could not be delivered"):
        decide(state, request(9)[0])


def test_a_failed_delivery_is_not_a_failed_attempt() -> None:
    state, delivery = code_session()
    state, events = run([failure(delivery, 2)], state)
    assert not [e for e in events if isinstance(e, CheckAttemptFailed)]
    assert all(p.failures == 0 for p in state.progress)


def test_a_delivery_reported_failed_can_no_longer_be_claimed() -> None:
    state, delivery = code_session()
    state, _ = run([failure(delivery, 2)], state)
    with pytest.raises(RuleViolation, match="reported failed; request a new code"):
        decide(state, IssueCode(delivery, "notifications", VALID, at(3)))


def test_a_code_received_despite_a_failed_report_is_still_accepted() -> None:
    """A crash after the provider accepted makes the message read "failed" although the person
    got a valid code: accepting it costs nothing (it went to the verified channel)."""
    state, delivery = code_session()
    state, _ = run(
        [IssueCode(delivery, "notifications", VALID, at(2)), failure(delivery, 2)], state
    )
    state, _ = run([CheckCode(delivery, True, at(3))], state)
    assert state.progress_of(Check.POSSESSION_CODE).status is CheckStatus.PASSED


def test_a_late_failure_of_a_superseded_code_frees_its_slot_but_leaves_the_newer_one() -> None:
    state, first = code_session()
    command, second = request(2)
    state, _ = run([command], state)
    assert codes_left(state) == 1
    event = failed_event(state, first, 3)
    assert "a newer code was requested since" in event.reason
    state, _ = run([failure(first, 3)], state)
    assert codes_left(state) == 2
    assert state.last_delivery is not None
    assert state.last_delivery.delivery_id == second
    assert state.last_delivery.status is DeliveryStatus.REQUESTED


# -- reports that change nothing (a reaction must never fail on them) --------------------------


def test_repeated_unknown_and_late_reports_change_nothing() -> None:
    state, delivery = code_session()
    failed, _ = run([failure(delivery, 2)], state)
    assert decide(failed, failure(delivery, 3)) == []  # the same failure again
    assert decide(state, failure(uuid.uuid4(), 2)) == []  # not a delivery of this session
    assert decide(Session(), failure(delivery, 2)) == []  # no such session
    expired, events = run([Expire(at(61))], state)
    assert completed(events).outcome is VerificationOutcome.EXPIRED
    assert decide(expired, failure(delivery, 62)) == []  # nobody waits any more
    passed, _ = run(
        [IssueCode(delivery, "notifications", VALID, at(2)), CheckCode(delivery, True, at(3))],
        state,
    )
    assert decide(passed, failure(delivery, 4)) == []
    assert (
        decide(
            passed,
            RecordCodeDeliveryProgress(delivery, uuid.uuid4(), CodeDeliveryStatus.DELIVERED, at(4)),
        )
        == []
    )


# -- sent and delivered -----------------------------------------------------------------------


def test_sent_then_delivered_is_recorded_once_each_and_never_after_a_failure() -> None:
    state, delivery = code_session()
    message = uuid.uuid4()
    state, _ = run([IssueCode(delivery, "notifications", VALID, at(2))], state)
    assert state.last_delivery is not None
    assert state.last_delivery.status is DeliveryStatus.CLAIMED
    sent = RecordCodeDeliveryProgress(delivery, message, CodeDeliveryStatus.SENT, at(2))
    delivered = RecordCodeDeliveryProgress(delivery, message, CodeDeliveryStatus.DELIVERED, at(3))
    state, events = run([sent], state)
    [event] = events
    assert isinstance(event, CodeDeliveryReported)
    assert event.status is CodeDeliveryStatus.SENT
    assert event.notification_id == message
    assert decide(state, sent) == []
    state, events = run([delivered], state)
    assert [type(e) for e in events] == [CodeDeliveryReported]
    assert state.last_delivery.status is DeliveryStatus.DELIVERED  # type: ignore[union-attr]
    assert decide(state, sent) == []  # never backwards
    # a failure receipt after "sent" is still a failure (the provider could not deliver it)
    other, second = code_session()
    other, _ = run(
        [
            IssueCode(second, "notifications", VALID, at(2)),
            RecordCodeDeliveryProgress(second, message, CodeDeliveryStatus.SENT, at(2)),
            failure(second, 4),
        ],
        other,
    )
    assert other.last_delivery.status is DeliveryStatus.FAILED  # type: ignore[union-attr]
    assert other.last_delivery.failure is CodeDeliveryFailure.FAILED_AFTER_CLAIM  # type: ignore[union-attr]
    assert (
        decide(
            other, RecordCodeDeliveryProgress(second, message, CodeDeliveryStatus.DELIVERED, at(5))
        )
        == []
    )
