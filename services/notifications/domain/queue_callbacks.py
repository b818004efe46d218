"""A phone caller's queue callback, the callback aggregate's earlier life (``callbacks.py``
holds the aggregate): the caller asked to be called back instead of holding (their place is
kept) → when check-in assigns their contact to an agent, a callback due at once for a short
window → the same attempts, completion, miss and cancellation as any callback. The ticket's
end closes it: served → completed, left → cancelled, no-show → missed (while due) or cancelled
(before its turn). Pure: commands carry ``at``; nothing here reads a clock or does I/O."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from contracts.base import EventPayload
from contracts.events.checkin import TicketCompleted, TicketLeft, TicketNoShow, TicketTransferred
from contracts.events.notifications import (
    CallbackAccepted,
    CallbackActor,
    CallbackCancelled,
    CallbackCompleted,
    CallbackMissed,
    QueueCallbackRequested,
)
from contracts.vocabulary import LanguagePreference, PersonRole, ServiceQueue
from services.notifications.domain.callbacks import (
    ALL_DAY,
    Callback,
    CallbackStatus,
    RequestCallback,
    decide_request,
)

_QUEUE_CALLBACKS = uuid.UUID("5f0c2b7e-4d1a-4e8b-9a3c-6d2e1f0b7c94")


def queue_callback_id(ticket_id: UUID) -> UUID:
    """One callback per ticket (check-in takes one callback request per ticket): the id is
    derived from the ticket, so a redelivered request or a re-offer finds the same stream."""
    return uuid.uuid5(_QUEUE_CALLBACKS, f"queue-callback|{ticket_id}")


@dataclass(frozen=True)
class RequestQueueCallback:
    ticket_id: UUID
    ticket_number: str
    queue: ServiceQueue
    account_ref: str
    customer_id: str | None
    phone: str | None
    language: LanguagePreference
    expected_minutes: int | None
    at: datetime


@dataclass(frozen=True)
class TurnCame:
    """Check-in offered the caller's contact to an agent: the call is due now."""

    agent_id: str
    case_id: UUID | None
    timezone: str
    window: timedelta  # the agent has this long (at least the contact's answer window)
    answer_by: datetime
    max_attempts: int
    attempt_spacing: timedelta
    at: datetime


class TicketEnd(StrEnum):
    COMPLETED = "completed"
    LEFT = "left"
    NO_SHOW = "no_show"
    TRANSFERRED = "transferred"


@dataclass(frozen=True)
class TicketEnded:
    end: TicketEnd
    at: datetime
    detail: str | None = None


def wait_left(
    expected_minutes: int | None, estimated_at: datetime | None, at: datetime
) -> int | None:
    """The wait left at ``at`` by check-in's latest estimate (never below zero); None when
    check-in gave none."""
    if expected_minutes is None or estimated_at is None:
        return None
    elapsed = max(0, int((at - estimated_at).total_seconds() // 60))
    return max(0, expected_minutes - elapsed)


def ticket_end_of(event: object) -> tuple[UUID, TicketEnded] | None:
    """Which end of a ticket an event is, with its time."""
    match event:
        case TicketCompleted():
            return event.ticket_id, TicketEnded(TicketEnd.COMPLETED, event.completed_at)
        case TicketLeft():
            return event.ticket_id, TicketEnded(TicketEnd.LEFT, event.left_at)
        case TicketNoShow():
            return event.ticket_id, TicketEnded(TicketEnd.NO_SHOW, event.at)
        case TicketTransferred():
            return event.ticket_id, TicketEnded(
                TicketEnd.TRANSFERRED, event.transferred_at, event.to_queue.value
            )
    return None


def decide_queue_request(state: Callback, command: RequestQueueCallback) -> list[EventPayload]:
    """Record that the caller waits for their turn to be called back; a repeat is nothing."""
    if state.status is not CallbackStatus.NONE:
        return []
    return [
        QueueCallbackRequested(
            callback_id=queue_callback_id(command.ticket_id),
            ticket_id=command.ticket_id,
            ticket_number=command.ticket_number,
            queue=command.queue,
            account_ref=command.account_ref,
            customer_id=command.customer_id,
            phone=command.phone,
            language=command.language,
            expected_minutes=command.expected_minutes,
            requested_at=command.at,
        )
    ]


def decide_turn(state: Callback, command: TurnCame) -> list[EventPayload]:
    """The caller's turn: a callback due at once, for the agent, until the window ends. Only
    the first offer makes it due: a re-offer to another agent, a repeated assignment or a
    turn after the callback closed change nothing (exactly one callback per request)."""
    if state.status is not CallbackStatus.WAITING_TURN:
        return []
    assert state.callback_id is not None
    assert state.ticket_id is not None
    window_end = max(command.at + command.window, command.answer_by)
    request = RequestCallback(
        callback_id=state.callback_id,
        case_id=command.case_id,
        account_ref=state.account_ref,
        customer_id=state.customer_id,
        queue=state.queue,
        recipient_role=PersonRole.HOLDER,
        recipient_ref=state.recipient_ref,
        phone=state.phone,
        timezone=command.timezone,
        language=LanguagePreference(tag=state.language),
        window_start=command.at,
        window_end=window_end,
        preferred_hours=ALL_DAY,
        quiet_hours=None,
        max_attempts=command.max_attempts,
        attempt_spacing=command.attempt_spacing,
        requested_by=CallbackActor.CUSTOMER,
        at=command.at,
    )
    events = decide_request(replace(state, status=CallbackStatus.NONE), request)
    accepted = events[0]
    assert isinstance(accepted, CallbackAccepted)
    events[0] = accepted.model_copy(
        update={"ticket_id": state.ticket_id, "agent_id": command.agent_id}
    )
    return events


def decide_ticket_ended(state: Callback, command: TicketEnded) -> list[EventPayload]:
    """The ticket ended: close what is still open. Served while due → completed (the agent had
    the caller); left → cancelled (the caller gave up); no-show while due → missed (the
    promise was not kept: cases escalates); anything before the turn → cancelled. A transfer
    without a reached call cancels it (the receiving queue takes the ticket as a contact)."""
    if state.status is CallbackStatus.WAITING_TURN:
        reason = {
            TicketEnd.COMPLETED: "the ticket was served before its turn to be called back",
            TicketEnd.LEFT: "the caller left the queue",
            TicketEnd.NO_SHOW: "the ticket was marked a no-show",
            TicketEnd.TRANSFERRED: "the ticket was transferred",
        }[command.end]
        by = CallbackActor.CUSTOMER if command.end is TicketEnd.LEFT else CallbackActor.STAFF
        return [
            CallbackCancelled(
                callback_id=state.callback_id,
                case_id=state.case_id,
                by=by,
                reason=reason,
                cancelled_at=command.at,
            )
        ]
    if not state.is_open:
        return []
    match command.end:
        case TicketEnd.COMPLETED:
            return [
                CallbackCompleted(
                    callback_id=state.callback_id,
                    case_id=state.case_id,
                    attempts=max(state.attempts, 1),
                    completed_at=command.at,
                )
            ]
        case TicketEnd.NO_SHOW:
            return [
                CallbackMissed(
                    callback_id=state.callback_id,
                    case_id=state.case_id,
                    attempts=state.attempts,
                    missed_at=command.at,
                )
            ]
        case TicketEnd.LEFT:
            reason = "the caller left the queue"
            by = CallbackActor.CUSTOMER
        case _:
            reason = (
                f"the ticket was transferred{f' to {command.detail}' if command.detail else ''}"
            )
            by = CallbackActor.STAFF
    return [
        CallbackCancelled(
            callback_id=state.callback_id,
            case_id=state.case_id,
            by=by,
            reason=reason,
            cancelled_at=command.at,
        )
    ]
