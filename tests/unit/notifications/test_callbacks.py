"""The callback aggregate: given events, when a command, then events or a refusal."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from contracts.base import EventPayload
from contracts.events.notifications import (
    CallbackAccepted,
    CallbackActor,
    CallbackAttemptRecorded,
    CallbackAttemptsExhausted,
    CallbackCancelled,
    CallbackCompleted,
    CallbackMissed,
    CallbackOutcome,
    CallbackReminderSent,
    CallbackRescheduled,
    CallbackScheduled,
)
from contracts.vocabulary import LanguagePreference, PersonRole, ServiceQueue
from runtime.errors import InvalidValue, NotFound, RuleViolation
from services.notifications.domain.callbacks import (
    CALLBACK,
    Callback,
    CallbackStatus,
    Cancel,
    RecordAttempt,
    RequestCallback,
    Reschedule,
    decide_attempt,
    decide_cancel,
    decide_deadline,
    decide_reminder,
    decide_request,
    decide_reschedule,
)
from services.notifications.domain.hours import DEFAULT_PREFERRED, DEFAULT_QUIET

pytestmark = pytest.mark.unit

CALLBACK_ID = UUID("2c3d4e5f-6071-4829-93a4-b5c6d7e8f901")
CASE_ID = UUID("7c2f1a40-6a0b-5f3e-9c1d-2b4e6f8a0c13")


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def request(**overrides: object) -> RequestCallback:
    values: dict[str, object] = {
        "callback_id": CALLBACK_ID,
        "case_id": CASE_ID,
        "account_ref": "acct-minor-01",
        "customer_id": None,
        "queue": ServiceQueue.MINORS_FAMILY,
        "recipient_role": PersonRole.PROXY,
        "recipient_ref": f"callback:{CALLBACK_ID}",
        "phone": "+8613800000009",
        "timezone": "Asia/Shanghai",
        "language": LanguagePreference(tag="zh-CN"),
        # "within a day": from 08:10 local on the 23rd to 08:10 local on the 24th
        "window_start": utc(23, 0, 10),
        "window_end": utc(24, 0, 10),
        "preferred_hours": DEFAULT_PREFERRED,
        "quiet_hours": DEFAULT_QUIET,
        "max_attempts": 3,
        "attempt_spacing": timedelta(hours=2),
        "requested_by": CallbackActor.CASES,
        "at": utc(23, 0, 10),
    }
    values.update(overrides)
    return RequestCallback(**values)  # type: ignore[arg-type]


def given(*events: Sequence[EventPayload]) -> Callback:
    return CALLBACK.fold([event for batch in events for event in batch])


def scheduled(**overrides: object) -> list[EventPayload]:
    return decide_request(Callback(), request(**overrides))


def test_a_requested_callback_is_scheduled_in_the_persons_preferred_hours() -> None:
    accepted, planned = scheduled()
    assert isinstance(accepted, CallbackAccepted)
    assert accepted.recipient_role is PersonRole.PROXY
    assert accepted.attempt_spacing_minutes == 120
    assert planned == CallbackScheduled(
        callback_id=CALLBACK_ID,
        case_id=CASE_ID,
        queue=ServiceQueue.MINORS_FAMILY,
        due_at=utc(23, 1),  # 09:00 Shanghai
        promised_start=utc(23, 1),
        promised_end=utc(23, 12),  # 20:00 Shanghai
        timezone="Asia/Shanghai",
        within_window=True,
        scheduled_at=utc(23, 0, 10),
    )


def test_a_request_arriving_in_quiet_hours_is_scheduled_the_next_morning() -> None:
    # cases promised at 21:30 local, a day's window; quiet hours run 21:00-08:00
    _, planned = scheduled(
        window_start=utc(23, 13, 30), window_end=utc(24, 13, 30), at=utc(23, 13, 30)
    )
    assert isinstance(planned, CallbackScheduled)
    assert planned.due_at == utc(24, 1)  # 09:00 the next day
    assert planned.due_at.utcoffset() == timedelta(0)


def test_a_guardian_abroad_is_called_in_their_own_hours() -> None:
    _, planned = scheduled(timezone="Europe/Berlin", window_start=utc(23, 0), window_end=utc(24, 0))
    assert isinstance(planned, CallbackScheduled)
    assert planned.due_at == utc(23, 8)  # 09:00 in Berlin (UTC+1)
    assert planned.timezone == "Europe/Berlin"


def test_a_window_with_no_allowed_moment_is_scheduled_after_it_and_says_so() -> None:
    _, planned = scheduled(window_start=utc(23, 14), window_end=utc(23, 20), at=utc(23, 14))
    assert isinstance(planned, CallbackScheduled)
    assert planned.within_window is False
    assert planned.due_at == utc(24, 1)


def test_a_repeated_request_changes_nothing() -> None:
    assert decide_request(given(scheduled()), request()) == []


def test_an_agents_promise_ends_soon_enough_to_be_kept() -> None:
    with pytest.raises(InvalidValue, match="window_end: at most 366 days") as refused:
        scheduled(requested_by=CallbackActor.STAFF, window_end=datetime(9999, 12, 31, tzinfo=UTC))
    assert refused.value.members()["errors"][0]["field"] == "window_end"
    with pytest.raises(RuleViolation, match="at least 10 minutes"):
        scheduled(requested_by=CallbackActor.STAFF, window_end=utc(23, 0, 15))
    assert scheduled(
        requested_by=CallbackActor.STAFF, window_end=utc(23, 0, 10) + timedelta(days=366)
    )


def test_a_window_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(RuleViolation, match="ends before it starts"):
        scheduled(window_end=utc(22, 0))


def attempt(outcome: CallbackOutcome, at: datetime, **extra: object) -> RecordAttempt:
    return RecordAttempt(outcome=outcome, agent_id="spec-1", at=at, **extra)  # type: ignore[arg-type]


def test_reached_completes_the_callback() -> None:
    events = decide_attempt(given(scheduled()), attempt(CallbackOutcome.REACHED, utc(23, 1, 5)))
    assert events[1] == CallbackCompleted(
        callback_id=CALLBACK_ID, case_id=CASE_ID, attempts=1, completed_at=utc(23, 1, 5)
    )
    state = given(scheduled(), events)
    assert state.status is CallbackStatus.COMPLETED
    with pytest.raises(RuleViolation, match="completed"):
        decide_attempt(state, attempt(CallbackOutcome.REACHED, utc(23, 2)))


def test_no_answer_schedules_the_next_attempt_after_the_spacing() -> None:
    [recorded] = decide_attempt(given(scheduled()), attempt(CallbackOutcome.NO_ANSWER, utc(23, 1)))
    assert isinstance(recorded, CallbackAttemptRecorded)
    assert recorded.next_attempt_at == utc(23, 3)
    assert recorded.attempt == 1


def test_a_next_attempt_never_falls_in_quiet_hours() -> None:
    # tried at 19:30 local: +2 h is 21:30 (quiet), so the next try is 09:00 the next day, but
    # the window ends at 08:10 → any non-quiet time is 08:00; that is used
    [recorded] = decide_attempt(
        given(scheduled()), attempt(CallbackOutcome.NO_ANSWER, utc(23, 11, 30))
    )
    assert isinstance(recorded, CallbackAttemptRecorded)
    assert recorded.next_attempt_at == utc(24, 0)  # 08:00 local


def test_after_the_last_attempt_the_person_is_told_we_tried() -> None:
    state = given(scheduled())
    history: list[list[EventPayload]] = [scheduled()]
    for hour in (1, 3):
        events = decide_attempt(state, attempt(CallbackOutcome.NO_ANSWER, utc(23, hour)))
        history.append(events)
        state = given(*history)
    events = decide_attempt(state, attempt(CallbackOutcome.NO_ANSWER, utc(23, 5)))
    assert events == [
        CallbackAttemptRecorded(
            callback_id=CALLBACK_ID,
            case_id=CASE_ID,
            attempt=3,
            outcome=CallbackOutcome.NO_ANSWER,
            agent_id="spec-1",
            next_attempt_at=None,
            recorded_at=utc(23, 5),
        ),
        CallbackAttemptsExhausted(
            callback_id=CALLBACK_ID,
            case_id=CASE_ID,
            attempts=3,
            last_outcome=CallbackOutcome.NO_ANSWER,
            exhausted_at=utc(23, 5),
        ),
    ]
    # the callback stays open until its window ends (moved, a late call can still reach them)
    state = given(*history, events)
    assert state.status is CallbackStatus.SCHEDULED
    # and the "we tried" message is not sent twice: a fourth attempt is refused, naming the rule
    with pytest.raises(RuleViolation, match="all 3 attempts") as refused:
        decide_attempt(state, attempt(CallbackOutcome.NO_ANSWER, utc(23, 6)))
    assert refused.value.rule == "max_attempts"


def test_no_attempt_left_in_the_window_ends_the_attempts() -> None:
    early = given(scheduled(window_end=utc(23, 11)))  # the window ends at 19:00 local
    events = decide_attempt(
        early, attempt(CallbackOutcome.NO_ANSWER, utc(23, 10))
    )  # 18:00 local; +2h is after the window's end
    assert isinstance(events[-1], CallbackAttemptsExhausted)
    # a late call within the attempts left is still taken, and "we tried" is not told twice
    later = decide_attempt(
        given(scheduled(window_end=utc(23, 11)), events),
        attempt(CallbackOutcome.NO_ANSWER, utc(23, 10, 30)),
    )
    assert not any(isinstance(e, CallbackAttemptsExhausted) for e in later)


def test_an_attempt_in_the_persons_quiet_hours_is_refused() -> None:
    with pytest.raises(RuleViolation, match="quiet hours") as refused:
        decide_attempt(given(scheduled()), attempt(CallbackOutcome.REACHED, utc(23, 14)))
    assert refused.value.rule == "quiet_hours"  # 22:00 local


def test_a_moved_callback_gets_new_attempts() -> None:
    history = [scheduled()]
    for hour in (1, 3, 5):
        history.append(
            decide_attempt(given(*history), attempt(CallbackOutcome.NO_ANSWER, utc(23, hour)))
        )
    staff = Reschedule(start=utc(24, 2), by=CallbackActor.STAFF, at=utc(23, 6))
    history.append(decide_reschedule(given(*history), staff))
    _, completed = decide_attempt(given(*history), attempt(CallbackOutcome.REACHED, utc(24, 2)))
    assert isinstance(completed, CallbackCompleted)
    assert completed.attempts == 4


def test_a_wrong_number_ends_the_attempts_at_once() -> None:
    events = decide_attempt(given(scheduled()), attempt(CallbackOutcome.WRONG_NUMBER, utc(23, 1)))
    assert isinstance(events[-1], CallbackAttemptsExhausted)
    assert events[-1].last_outcome is CallbackOutcome.WRONG_NUMBER


def test_asked_to_call_later_moves_the_call_and_the_deadline() -> None:
    later = utc(24, 1)  # 09:00 next day, after the window's end
    recorded, moved = decide_attempt(
        given(scheduled()),
        attempt(CallbackOutcome.ASKED_TO_CALL_LATER, utc(23, 2), call_back_at=later),
    )
    assert isinstance(recorded, CallbackAttemptRecorded)
    assert recorded.next_attempt_at == later
    assert moved == CallbackRescheduled(
        callback_id=CALLBACK_ID,
        case_id=CASE_ID,
        queue=ServiceQueue.MINORS_FAMILY,
        due_at=later,
        promised_start=later,
        promised_end=later + timedelta(hours=1),
        window_end=later + timedelta(hours=1),
        by=CallbackActor.RECIPIENT_ASKED,
        rescheduled_at=utc(23, 2),
    )


@pytest.mark.parametrize(
    ("call_back_at", "message"),
    [
        (None, "needs call_back_at"),
        (utc(23, 1), "in the future"),
        (utc(23, 14), "quiet hours"),  # 22:00 local
    ],
)
def test_asked_to_call_later_needs_an_allowed_future_time(
    call_back_at: datetime | None, message: str
) -> None:
    with pytest.raises(RuleViolation, match=message):
        decide_attempt(
            given(scheduled()),
            attempt(CallbackOutcome.ASKED_TO_CALL_LATER, utc(23, 2), call_back_at=call_back_at),
        )


def reschedule(start: datetime, at: datetime = utc(23, 0, 30)) -> Reschedule:
    return Reschedule(start=start, by=CallbackActor.CUSTOMER, at=at)


def test_the_customer_reschedules_to_an_allowed_time() -> None:
    [moved] = decide_reschedule(given(scheduled()), reschedule(utc(24, 2)))
    assert isinstance(moved, CallbackRescheduled)
    assert (moved.due_at, moved.window_end) == (utc(24, 2), utc(24, 3))
    assert moved.by is CallbackActor.CUSTOMER


@pytest.mark.parametrize(
    ("start", "message"),
    [
        (utc(23, 1), "at least one hour"),
        (utc(24, 0, 10) + timedelta(days=14, hours=2), "within 14 days"),
        (utc(24, 15), "quiet hours"),  # 23:00 local
        (utc(24, 12, 30), "quiet hours"),  # 20:30 local: the hour runs into 21:00
    ],
)
def test_a_customer_reschedule_outside_the_limits_is_refused(start: datetime, message: str) -> None:
    with pytest.raises(RuleViolation, match=message):
        decide_reschedule(given(scheduled()), reschedule(start))


def test_a_customer_reschedules_at_most_twice() -> None:
    history = [scheduled()]
    for day in (24, 25):
        history.append(decide_reschedule(given(*history), reschedule(utc(day, 2))))
    with pytest.raises(RuleViolation, match="at most 2 times"):
        decide_reschedule(given(*history), reschedule(utc(26, 2)))
    # staff may still move it
    staff = Reschedule(start=utc(26, 2), by=CallbackActor.STAFF, at=utc(23, 1))
    assert decide_reschedule(given(*history), staff)


def test_cancel_then_nothing_more() -> None:
    cancelled = decide_cancel(
        given(scheduled()), Cancel(by=CallbackActor.CUSTOMER, reason=None, at=utc(23, 1))
    )
    assert isinstance(cancelled[0], CallbackCancelled)
    state = given(scheduled(), cancelled)
    with pytest.raises(RuleViolation, match="cancelled"):
        decide_cancel(state, Cancel(by=CallbackActor.CUSTOMER, reason=None, at=utc(23, 2)))
    assert decide_deadline(state, utc(24, 1)) == []


def test_commands_on_an_unknown_callback_are_not_found() -> None:
    with pytest.raises(NotFound):
        decide_cancel(Callback(), Cancel(by=CallbackActor.STAFF, reason=None, at=utc(23, 1)))


def test_the_window_end_misses_an_open_callback() -> None:
    state = given(
        scheduled(),
        decide_attempt(given(scheduled()), attempt(CallbackOutcome.NO_ANSWER, utc(23, 1))),
    )
    assert decide_deadline(state, utc(24, 0)) == []  # not yet
    assert decide_deadline(state, utc(24, 0, 10)) == [
        CallbackMissed(
            callback_id=CALLBACK_ID, case_id=CASE_ID, attempts=1, missed_at=utc(24, 0, 10)
        )
    ]


def test_a_completed_callback_is_never_missed() -> None:
    events = decide_attempt(given(scheduled()), attempt(CallbackOutcome.REACHED, utc(23, 1)))
    assert decide_deadline(given(scheduled(), events), utc(24, 1)) == []


def test_a_reminder_is_sent_only_for_the_current_due_time() -> None:
    state = given(scheduled())
    assert decide_reminder(state, utc(23, 1), utc(23, 0, 45)) == [
        CallbackReminderSent(
            callback_id=CALLBACK_ID,
            case_id=CASE_ID,
            queue=ServiceQueue.MINORS_FAMILY,
            due_at=utc(23, 1),
            reminded_at=utc(23, 0, 45),
        )
    ]
    assert decide_reminder(state, utc(23, 5), utc(23, 4, 45)) == []  # moved since
