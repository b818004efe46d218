"""Callbacks: request, attempt, reschedule, cancel, and the deadline and reminder timers.

Every change goes through the callback repository, whose after-append hook keeps the
reminder and deadline timers in step with the callback; ``change_callback`` then tells the
person what changed, on their channels (unless told not to: a queue callback closed by its
ticket's end, which the person knows of)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

from contracts import Envelope, EventPayload
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
    MessageChannel,
    NotificationKind,
)
from runtime.context import CommandContext
from runtime.errors import NotFound
from runtime.eventstore import EventStore
from runtime.repository import Executed, Repository
from runtime.running import RunningService
from runtime.scheduler import Timer, TimerHandler, cancel, schedule
from services.notifications.application.messages import SERVICE, request_message
from services.notifications.application.recipients import reach
from services.notifications.config import NotificationSettings
from services.notifications.domain.callbacks import (
    CALLBACK,
    REMINDER_LEAD,
    Callback,
    decide_deadline,
    decide_reminder,
)
from services.notifications.domain.messages import RequestNotification
from services.notifications.wiring import NotificationsWiring

CALLBACK_DEADLINE_TIMER = "callback.deadline"
CALLBACK_REMINDER_TIMER = "callback.reminder"

MESSAGE_FOR = {
    CallbackScheduled: NotificationKind.CALLBACK_SCHEDULED,
    CallbackRescheduled: NotificationKind.CALLBACK_RESCHEDULED,
    CallbackReminderSent: NotificationKind.CALLBACK_REMINDER,
    CallbackAttemptsExhausted: NotificationKind.CALLBACK_UNREACHABLE,
    CallbackCancelled: NotificationKind.CALLBACK_CANCELLED,
}


def callback_stream(callback: UUID) -> str:
    return f"callback-{callback}"


async def _keep_timers(
    conn: asyncpg.Connection, executed: Executed[Callback], context: CommandContext
) -> None:
    state = executed.state
    ident = str(state.callback_id)
    payload = {"callback_id": ident}
    for event in executed.events:
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
                {**payload, "due_at": due_at.isoformat()},
                context,
            )
        if isinstance(event, CallbackScheduled | CallbackRescheduled):
            assert state.window_end is not None
            await schedule(
                conn,
                f"{CALLBACK_DEADLINE_TIMER}:{ident}",
                CALLBACK_DEADLINE_TIMER,
                state.window_end,
                payload,
                context,
            )
        if isinstance(event, CallbackCompleted | CallbackMissed | CallbackCancelled):
            await cancel(conn, f"{CALLBACK_REMINDER_TIMER}:{ident}")
            await cancel(conn, f"{CALLBACK_DEADLINE_TIMER}:{ident}")


def callbacks(store: EventStore) -> Repository[Callback]:
    return Repository(store, CALLBACK, after_append=[_keep_timers])


async def existing_callback(
    conn: asyncpg.Connection, store: EventStore, callback: UUID
) -> Callback:
    loaded = await callbacks(store).get(conn, callback_stream(callback))
    if loaded.version == 0:
        raise NotFound(f"callback {callback} not found")
    return loaded.state


async def change_callback(
    conn: asyncpg.Connection,
    store: EventStore,
    settings: NotificationSettings,
    callback: UUID,
    decide: Callable[[Callback], Sequence[EventPayload]],
    context: CommandContext,
    *,
    tell: bool = True,
) -> Callback:
    """Load, decide, append (the timers follow); then tell the person what changed (unless
    ``tell`` is false: a queue callback closed by its ticket's end, which the person knows
    of)."""
    executed = await callbacks(store).execute(conn, callback_stream(callback), decide, context)
    if tell:
        for event, envelope in zip(executed.events, executed.envelopes, strict=True):
            kind = MESSAGE_FOR.get(type(event))
            if kind is not None:
                await _tell_the_person(
                    conn, store, settings, executed.state, event, envelope, kind, context
                )
    return executed.state


async def _tell_the_person(
    conn: asyncpg.Connection,
    store: EventStore,
    settings: NotificationSettings,
    state: Callback,
    event: EventPayload,
    envelope: Envelope,
    kind: NotificationKind,
    context: CommandContext,
) -> None:
    person = await reach(conn, store, state.recipient_ref, state.phone)
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
            person = person.without(MessageChannel.SMS)
    assert state.availability is not None
    await request_message(
        conn,
        store,
        RequestNotification(
            kind=kind,
            channels=person.channels,
            recipient_ref=state.recipient_ref,
            language=state.language,
            triggered_by=envelope.event_id,
            variables=variables,
            at=envelope.occurred_at,
            account_ref=state.account_ref,
            timezone=state.availability.timezone,
            addresses=person.addresses,
        ),
        context,
    )


def callback_timers(runtime: RunningService) -> dict[str, TimerHandler]:
    def settings() -> NotificationSettings:
        wiring = runtime.wiring
        assert isinstance(wiring, NotificationsWiring)
        return wiring.settings

    async def on_deadline(conn: asyncpg.Connection, timer: Timer, now: datetime) -> None:
        await change_callback(
            conn,
            runtime.store,
            settings(),
            UUID(timer.payload["callback_id"]),
            lambda state: decide_deadline(state, now),
            timer.context(SERVICE),
        )

    async def on_reminder(conn: asyncpg.Connection, timer: Timer, now: datetime) -> None:
        due_at = datetime.fromisoformat(timer.payload["due_at"])
        await change_callback(
            conn,
            runtime.store,
            settings(),
            UUID(timer.payload["callback_id"]),
            lambda state: decide_reminder(state, due_at, now),
            timer.context(SERVICE),
        )

    return {CALLBACK_DEADLINE_TIMER: on_deadline, CALLBACK_REMINDER_TIMER: on_reminder}
