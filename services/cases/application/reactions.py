"""What the cases service reacts to (each reaction appends events of its own, exactly once in
effect through the inbox):

- ``cases.intake``: checkin.ticket_issued → attach the contact to the account's open case of
  the same problem, or open one;
- ``cases.verification``: verification.verification_completed → the case records the outcome
  and moves on;
- ``cases.callbacks``: notifications.callback_completed / callback_missed → the case records
  it; a missed callback escalates the case;
- ``cases.platform``: platform.account_suspended → the account records the suspension and
  every open case of the account links it.

Events that name a case this service does not know are ignored (another system's session).
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

import asyncpg

from contracts.events.cases import CallbackOutcome, CaseSource
from contracts.events.checkin import TicketIssued
from contracts.events.notifications import CallbackCompleted, CallbackMissed
from contracts.events.platform import PLATFORM_ACCOUNTS, AccountSuspended
from contracts.events.verification import VerificationCompleted
from contracts.topics import CHECKIN_TICKETS, NOTIFICATIONS_CALLBACKS, VERIFICATION_SESSIONS
from contracts.vocabulary import PersonRole
from runtime.consumer import ConsumerGroup, ReceivedEvent
from runtime.context import CommandContext
from runtime.running import RunningService
from runtime.telemetry import log_fields
from services.cases.application import repositories
from services.cases.application.accounts import record_suspension
from services.cases.application.cases import (
    NewContact,
    case_id_for_ticket,
    change_case,
    contact_id_for_ticket,
    open_or_attach,
)
from services.cases.domain.case import CaseCommand, RecordCallback, RecordVerification, case_stream
from services.cases.domain.case_types import CASE_TYPE_OF

log = logging.getLogger(__name__)


def reaction_groups(runtime: RunningService) -> list[ConsumerGroup]:
    """The reactions; ``runtime`` is read only when an event arrives."""

    async def react(
        conn: asyncpg.Connection, event: ReceivedEvent[Any], case_id: UUID, command: CaseCommand
    ) -> None:
        """A case changed in reaction to ``event``: same flow, caused by it."""
        await change_case(
            conn, runtime.store, case_id, command, CommandContext.caused_by(event.envelope, "cases")
        )

    async def known(conn: asyncpg.Connection, case_id: UUID) -> bool:
        case = await repositories.cases(runtime.store).state(conn, case_stream(case_id))
        return case.opened

    async def on_ticket_issued(
        conn: asyncpg.Connection, event: ReceivedEvent[TicketIssued]
    ) -> None:
        """A check-in intake (walk-in or remote contact) attaches to the account's open case
        of the same problem, or opens one."""
        ticket = event.payload
        intake = ticket.intake
        proxy = intake.acting_for
        contact = NewContact(
            account_ref=intake.account_ref,
            problem_category=intake.problem_category,
            case_type=CASE_TYPE_OF[intake.problem_category],
            source=CaseSource(channel=ticket.channel, ticket_id=ticket.ticket_id),
            customer_id=ticket.customer_id,
            language=intake.language,
            at=ticket.issued_at,
            new_case_id=case_id_for_ticket(ticket.ticket_id),
            contact_id=contact_id_for_ticket(ticket.ticket_id),
            words=intake.description,
            site_id=ticket.site_id,
            requester_role=PersonRole.PROXY if proxy else PersonRole.HOLDER,
            proxy_relationship=proxy.relationship if proxy else None,
            accessibility_needs=tuple(intake.accessibility_needs),
        )
        await open_or_attach(
            conn, runtime.store, contact, CommandContext.caused_by(event.envelope, "cases")
        )

    async def on_verification_completed(
        conn: asyncpg.Connection, event: ReceivedEvent[VerificationCompleted]
    ) -> None:
        completed = event.payload
        if completed.case_id is None or not await known(conn, completed.case_id):
            return
        command = RecordVerification(
            verification_id=completed.verification_id,
            purpose=completed.purpose,
            person_role=completed.person_role,
            outcome=completed.outcome.value,
            reasons=tuple(completed.reasons),
            at=completed.completed_at,
        )
        await react(conn, event, completed.case_id, command)

    async def on_callback_completed(
        conn: asyncpg.Connection, event: ReceivedEvent[CallbackCompleted]
    ) -> None:
        answer = event.payload
        if answer.case_id is None or not await known(conn, answer.case_id):
            return
        command = RecordCallback(
            answer.callback_id, CallbackOutcome.COMPLETED, answer.attempts, answer.completed_at
        )
        await react(conn, event, answer.case_id, command)

    async def on_callback_missed(
        conn: asyncpg.Connection, event: ReceivedEvent[CallbackMissed]
    ) -> None:
        answer = event.payload
        if answer.case_id is None or not await known(conn, answer.case_id):
            return
        command = RecordCallback(
            answer.callback_id, CallbackOutcome.MISSED, answer.attempts, answer.missed_at
        )
        await react(conn, event, answer.case_id, command)

    async def on_account_suspended(
        conn: asyncpg.Connection, event: ReceivedEvent[AccountSuspended]
    ) -> None:
        suspended = event.payload
        outcome = await record_suspension(
            conn,
            runtime.store,
            suspended,
            event.envelope.event_id,
            CommandContext.caused_by(event.envelope, "cases"),
        )
        log.info(
            "platform suspension recorded",
            extra=log_fields(
                suspension_id=str(suspended.suspension_id), cases=len(outcome.linked_cases)
            ),
        )

    return [
        ConsumerGroup(
            name="cases.intake",
            topics=[CHECKIN_TICKETS],
            handlers={TicketIssued: on_ticket_issued},
            description="Attaches each check-in contact to the open case of its problem, or "
            "opens one.",
        ),
        ConsumerGroup(
            name="cases.verification",
            topics=[VERIFICATION_SESSIONS],
            handlers={VerificationCompleted: on_verification_completed},
            description="Records verification outcomes on their cases; the case moves on.",
        ),
        ConsumerGroup(
            name="cases.callbacks",
            topics=[NOTIFICATIONS_CALLBACKS],
            handlers={CallbackCompleted: on_callback_completed, CallbackMissed: on_callback_missed},
            description="Tracks promised callbacks; a missed one escalates the case.",
        ),
        ConsumerGroup(
            name="cases.platform",
            topics=[PLATFORM_ACCOUNTS],
            handlers={AccountSuspended: on_account_suspended},
            description="Records platform suspensions and links them to the account's cases.",
        ),
    ]
