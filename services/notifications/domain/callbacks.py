"""The callback aggregate: a promise that someone calls a person back within a window.

Pure: commands carry ``at`` (the caller's now); nothing here reads a clock or does I/O.

Life: requested → scheduled (due time inside the person's preferred hours, never in their
quiet hours) → attempts (no answer → next attempt after the spacing, within the window; at
most ``max_attempts``; then the person is told we tried) → completed (reached) | missed (the
window ended) | cancelled. The customer may reschedule (at most twice, at least an hour ahead,
within 14 days of the promised window, not into quiet hours) or cancel while it is open.

A phone caller's queue callback starts earlier (``waiting_turn``): its commands are in
``queue_callbacks.py``; its events fold here, like every callback's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

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
    HoursWindow,
    QueueCallbackRequested,
)
from contracts.vocabulary import LanguagePreference, PersonRole, ServiceQueue
from runtime.aggregate import AggregateType
from runtime.errors import InvalidValue, NotFound, RuleViolation
from services.notifications.domain.hours import Availability, zone

SLOT = timedelta(hours=1)  # the promise made when a time is chosen explicitly
REMINDER_LEAD = timedelta(minutes=15)
MAX_CUSTOMER_RESCHEDULES = 2
RESCHEDULE_NOTICE = timedelta(hours=1)
RESCHEDULE_HORIZON = timedelta(days=14)
PROMISE_NOTICE = timedelta(minutes=10)  # an agent's promise leaves time to call
PROMISE_HORIZON = timedelta(days=366)  # an agent's promise ends within a year from now


class CallbackStatus(StrEnum):
    NONE = "none"
    WAITING_TURN = "waiting_turn"  # a queue callback: the caller's turn has not come yet
    SCHEDULED = "scheduled"
    COMPLETED = "completed"
    MISSED = "missed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Callback:
    status: CallbackStatus = CallbackStatus.NONE
    callback_id: UUID | None = None
    case_id: UUID | None = None
    account_ref: str = ""
    customer_id: str | None = None
    queue: ServiceQueue = ServiceQueue.GENERAL
    recipient_ref: str = ""
    recipient_role: PersonRole = PersonRole.HOLDER
    phone: str | None = None
    language: str = "und"
    availability: Availability | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    due_at: datetime | None = None
    promised_start: datetime | None = None
    promised_end: datetime | None = None
    attempts: int = 0
    attempts_in_slot: int = 0
    max_attempts: int = 3
    spacing: timedelta = timedelta(hours=2)
    exhausted: bool = False
    customer_reschedules: int = 0
    requested_at: datetime | None = None
    promised_window_end: datetime | None = None  # as first requested
    ticket_id: UUID | None = None  # a queue callback's check-in ticket
    ticket_number: str | None = None
    agent_id: str | None = None  # a queue callback: the agent the contact was offered to

    @property
    def is_open(self) -> bool:
        return self.status is CallbackStatus.SCHEDULED

    def require_open(self) -> None:
        if self.status is CallbackStatus.NONE:
            raise NotFound("no such callback")
        if self.status is CallbackStatus.WAITING_TURN:
            raise RuleViolation("the caller's turn has not come yet: nothing is due")
        if not self.is_open:
            raise RuleViolation(f"the callback is {self.status.value}")


@dataclass(frozen=True)
class RequestCallback:
    callback_id: UUID
    case_id: UUID | None
    account_ref: str
    customer_id: str | None
    queue: ServiceQueue
    recipient_role: PersonRole
    recipient_ref: str
    phone: str | None
    timezone: str
    language: LanguagePreference
    window_start: datetime
    window_end: datetime
    preferred_hours: HoursWindow
    quiet_hours: HoursWindow | None
    max_attempts: int
    attempt_spacing: timedelta
    requested_by: CallbackActor
    at: datetime


@dataclass(frozen=True)
class RecordAttempt:
    outcome: CallbackOutcome
    agent_id: str
    at: datetime
    call_back_at: datetime | None = None


@dataclass(frozen=True)
class Reschedule:
    start: datetime
    by: CallbackActor
    at: datetime


@dataclass(frozen=True)
class Cancel:
    by: CallbackActor
    reason: str | None
    at: datetime


def decide_request(state: Callback, command: RequestCallback) -> list[EventPayload]:
    """A new promise; a repeated request for the same callback id changes nothing."""
    if state.status is not CallbackStatus.NONE:
        return []
    if command.window_end <= command.window_start:
        raise RuleViolation("the callback window ends before it starts")
    if command.requested_by is CallbackActor.STAFF:
        _check_agent_window(command)
    zone(command.timezone)
    availability = Availability(command.timezone, command.preferred_hours, command.quiet_hours)
    accepted = CallbackAccepted(
        callback_id=command.callback_id,
        case_id=command.case_id,
        account_ref=command.account_ref,
        customer_id=command.customer_id,
        queue=command.queue,
        recipient_role=command.recipient_role,
        recipient_ref=command.recipient_ref,
        phone=command.phone,
        timezone=command.timezone,
        language=command.language,
        window_start=command.window_start,
        window_end=command.window_end,
        preferred_hours=command.preferred_hours,
        quiet_hours=command.quiet_hours,
        max_attempts=command.max_attempts,
        attempt_spacing_minutes=int(command.attempt_spacing.total_seconds() // 60),
        requested_by=command.requested_by,
        requested_at=command.at,
    )
    earliest = max(command.window_start, command.at)
    stretch = availability.first_callable(earliest, command.window_end)
    within = stretch is not None
    if stretch is None:
        # nothing allowed is left in the window: the first allowed time after it; the deadline
        # stays, so the case is escalated when the window ends (the promise cannot be kept)
        stretch = availability.next_allowed(earliest)
    return [
        accepted,
        CallbackScheduled(
            callback_id=command.callback_id,
            case_id=command.case_id,
            queue=command.queue,
            due_at=stretch[0],
            promised_start=stretch[0],
            promised_end=stretch[1],
            timezone=command.timezone,
            within_window=within,
            scheduled_at=command.at,
        ),
    ]


def _check_agent_window(command: RequestCallback) -> None:
    """An agent's promise (``POST /callbacks``) ends at least ``PROMISE_NOTICE`` and at most
    ``PROMISE_HORIZON`` from now. (Cases' promises carry their own window: a refusal there
    would drop a promise already made to the person.)"""
    if command.window_end <= command.at + PROMISE_NOTICE:
        raise RuleViolation("the window must end at least 10 minutes from now")
    if command.window_end > command.at + PROMISE_HORIZON:
        raise InvalidValue("window_end", f"at most {PROMISE_HORIZON.days} days from now")


def decide_attempt(state: Callback, command: RecordAttempt) -> list[EventPayload]:
    """An attempt is refused once the promised time's ``max_attempts`` are spent (moving the
    callback gives a new time its own attempts) and while the person is in quiet hours."""
    state.require_open()
    assert state.availability is not None
    assert state.window_end is not None
    if state.attempts_in_slot >= state.max_attempts:
        raise RuleViolation(
            f"all {state.max_attempts} attempts for this promised time were made: reschedule "
            "the callback to try again",
            rule="max_attempts",
        )
    if state.availability.is_quiet(command.at):
        local = state.availability.local(command.at).strftime("%Y-%m-%d %H:%M")
        raise RuleViolation(
            f"{local} ({state.availability.timezone}) falls in the person's quiet hours: "
            "nobody may call them now",
            rule="quiet_hours",
        )
    attempt = state.attempts + 1
    base = {
        "callback_id": state.callback_id,
        "case_id": state.case_id,
        "attempt": attempt,
        "outcome": command.outcome,
        "agent_id": command.agent_id,
        "recorded_at": command.at,
    }
    if command.outcome is CallbackOutcome.REACHED:
        return [
            CallbackAttemptRecorded(**base),
            CallbackCompleted(
                callback_id=state.callback_id,
                case_id=state.case_id,
                attempts=attempt,
                completed_at=command.at,
            ),
        ]
    if command.outcome is CallbackOutcome.ASKED_TO_CALL_LATER:
        later = command.call_back_at
        if later is None:
            raise RuleViolation("asked_to_call_later needs call_back_at")
        if later <= command.at:
            raise RuleViolation("call_back_at must be in the future")
        if later - command.at > RESCHEDULE_HORIZON:
            raise RuleViolation("call_back_at is more than 14 days ahead")
        _refuse_quiet(state.availability, later)
        promised_end = later + SLOT
        return [
            CallbackAttemptRecorded(**base, next_attempt_at=later),
            CallbackRescheduled(
                callback_id=state.callback_id,
                case_id=state.case_id,
                queue=state.queue,
                due_at=later,
                promised_start=later,
                promised_end=promised_end,
                window_end=max(state.window_end, promised_end),
                by=CallbackActor.RECIPIENT_ASKED,
                rescheduled_at=command.at,
            ),
        ]
    next_at = None
    if command.outcome is CallbackOutcome.NO_ANSWER and state.attempts_in_slot + 1 < (
        state.max_attempts
    ):
        stretch = state.availability.first_callable(command.at + state.spacing, state.window_end)
        next_at = stretch[0] if stretch else None
    events: list[EventPayload] = [CallbackAttemptRecorded(**base, next_attempt_at=next_at)]
    if next_at is None and not state.exhausted:
        events.append(
            CallbackAttemptsExhausted(
                callback_id=state.callback_id,
                case_id=state.case_id,
                attempts=attempt,
                last_outcome=command.outcome,
                exhausted_at=command.at,
            )
        )
    return events


def _refuse_quiet(availability: Availability, start: datetime, length: timedelta = SLOT) -> None:
    if availability.allowed_intervals(start, start + length) != [(start, start + length)]:
        local = availability.local(start).strftime("%Y-%m-%d %H:%M")
        raise RuleViolation(
            f"{local} ({availability.timezone}) falls in the person's quiet hours",
            rule="quiet_hours",
        )


def decide_reschedule(state: Callback, command: Reschedule) -> list[EventPayload]:
    state.require_open()
    assert state.availability is not None
    assert state.promised_window_end is not None
    if command.by is CallbackActor.CUSTOMER:
        if state.customer_reschedules >= MAX_CUSTOMER_RESCHEDULES:
            raise RuleViolation(
                f"a callback can be rescheduled at most {MAX_CUSTOMER_RESCHEDULES} times",
                rule="max_reschedules",
            )
        if command.start < command.at + RESCHEDULE_NOTICE:
            raise RuleViolation(
                "a new time must be at least one hour from now", rule="reschedule_notice"
            )
        if command.start > state.promised_window_end + RESCHEDULE_HORIZON:
            raise RuleViolation(
                "a new time must be within 14 days of the promised window",
                rule="reschedule_horizon",
            )
    elif command.start <= command.at:
        raise RuleViolation("a new time must be in the future")
    _refuse_quiet(state.availability, command.start)
    end = command.start + SLOT
    return [
        CallbackRescheduled(
            callback_id=state.callback_id,
            case_id=state.case_id,
            queue=state.queue,
            due_at=command.start,
            promised_start=command.start,
            promised_end=end,
            window_end=end,
            by=command.by,
            rescheduled_at=command.at,
        )
    ]


def decide_cancel(state: Callback, command: Cancel) -> list[EventPayload]:
    state.require_open()
    return [
        CallbackCancelled(
            callback_id=state.callback_id,
            case_id=state.case_id,
            by=command.by,
            reason=command.reason,
            cancelled_at=command.at,
            account_ref=state.account_ref or None,  # whose key seals the reason
        )
    ]


ALL_DAY = HoursWindow(start="00:00", end="00:00")  # the caller is waiting: any hour is theirs


def decide_deadline(state: Callback, now: datetime) -> list[EventPayload]:
    """The window's end: missed unless reached or cancelled (or the deadline moved)."""
    if not state.is_open or state.window_end is None or now < state.window_end:
        return []
    return [
        CallbackMissed(
            callback_id=state.callback_id,
            case_id=state.case_id,
            attempts=state.attempts,
            missed_at=now,
        )
    ]


def decide_reminder(state: Callback, due_at: datetime, now: datetime) -> list[EventPayload]:
    """Remind the queue of a call due soon, if it is still due then."""
    if not state.is_open or state.due_at != due_at:
        return []
    return [
        CallbackReminderSent(
            callback_id=state.callback_id,
            case_id=state.case_id,
            queue=state.queue,
            due_at=due_at,
            reminded_at=now,
        )
    ]


def evolve(state: Callback, event: EventPayload) -> Callback:
    match event:
        case QueueCallbackRequested():
            return Callback(
                status=CallbackStatus.WAITING_TURN,
                callback_id=event.callback_id,
                account_ref=event.account_ref,
                customer_id=event.customer_id,
                queue=event.queue,
                recipient_ref=f"account:{event.account_ref}",
                phone=event.phone,
                language=event.language.tag,
                availability=Availability("UTC", ALL_DAY, None),
                requested_at=event.requested_at,
                ticket_id=event.ticket_id,
                ticket_number=event.ticket_number,
            )
        case CallbackAccepted():
            return Callback(
                status=CallbackStatus.SCHEDULED,
                callback_id=event.callback_id,
                case_id=event.case_id,
                account_ref=event.account_ref,
                customer_id=event.customer_id,
                queue=event.queue,
                recipient_ref=event.recipient_ref,
                recipient_role=event.recipient_role,
                phone=event.phone,
                language=event.language.tag,
                availability=Availability(event.timezone, event.preferred_hours, event.quiet_hours),
                window_start=event.window_start,
                window_end=event.window_end,
                max_attempts=event.max_attempts,
                spacing=timedelta(minutes=event.attempt_spacing_minutes),
                requested_at=event.requested_at,
                promised_window_end=event.window_end,
                ticket_id=event.ticket_id,
                ticket_number=state.ticket_number,
                agent_id=event.agent_id,
            )
        case CallbackScheduled():
            return replace(
                state,
                due_at=event.due_at,
                promised_start=event.promised_start,
                promised_end=event.promised_end,
            )
        case CallbackRescheduled():
            return replace(
                state,
                due_at=event.due_at,
                promised_start=event.promised_start,
                promised_end=event.promised_end,
                window_end=event.window_end,
                attempts_in_slot=0,
                exhausted=False,
                customer_reschedules=state.customer_reschedules
                + (event.by is CallbackActor.CUSTOMER),
            )
        case CallbackAttemptRecorded():
            return replace(
                state,
                attempts=event.attempt,
                attempts_in_slot=state.attempts_in_slot + 1,
                due_at=event.next_attempt_at or state.due_at,
            )
        case CallbackAttemptsExhausted():
            return replace(state, exhausted=True)
        case CallbackCompleted():
            return replace(state, status=CallbackStatus.COMPLETED)
        case CallbackMissed():
            return replace(state, status=CallbackStatus.MISSED)
        case CallbackCancelled():
            return replace(state, status=CallbackStatus.CANCELLED)
    return state


CALLBACK = AggregateType[Callback]("callback", Callback, evolve)
