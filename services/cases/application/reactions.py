"""What the cases service reacts to, and the read models it keeps.

Reactions (each appends events of its own, exactly once in effect through the inbox):

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

import asyncpg

from contracts.events.cases import CallbackOutcome, CaseSource
from contracts.events.checkin import TicketIssued
from contracts.events.notifications import CallbackCompleted, CallbackMissed
from contracts.events.platform import PLATFORM_ACCOUNTS, AccountSuspended
from contracts.events.verification import VerificationCompleted
from contracts.topics import CHECKIN_TICKETS, NOTIFICATIONS_CALLBACKS, VERIFICATION_SESSIONS
from contracts.vocabulary import PersonRole
from runtime.consumer import ConsumerGroup, ReceivedEvent
from runtime.eventstore import CommandContext, EventStore
from runtime.telemetry import log_fields
from services.cases.application.cases import (
    NewContact,
    case_command,
    case_id_for_ticket,
    contact_id_for_ticket,
    load_case,
    open_or_attach,
    record_suspension,
)
from services.cases.domain.case_types import CASE_TYPE_OF
from services.cases.domain.case import (
    RecordCallback,
    RecordVerification,
    decide_record_callback,
    decide_record_verification,
)
from services.cases.projections.cases import projection_group

log = logging.getLogger(__name__)


def consumer_groups(store: EventStore) -> list[ConsumerGroup]:
    async def on_ticket_issued(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
        """A check-in intake (walk-in or remote contact) attaches to the account's open case
        of the same problem, or opens one."""
        ticket = event.payload
        assert isinstance(ticket, TicketIssued)
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
            conn, store, contact, CommandContext.caused_by(event.envelope, "cases")
        )

    async def on_verification_completed(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
        completed = event.payload
        assert isinstance(completed, VerificationCompleted)
        if (
            completed.case_id is None
            or not (await load_case(conn, store, completed.case_id)).opened
        ):
            return
        command = RecordVerification(
            verification_id=completed.verification_id,
            purpose=completed.purpose,
            person_role=completed.person_role,
            outcome=completed.outcome.value,
            reasons=tuple(completed.reasons),
            at=completed.completed_at,
        )
        await case_command(
            conn,
            store,
            completed.case_id,
            lambda case: decide_record_verification(case, command),
            CommandContext.caused_by(event.envelope, "cases"),
        )

    async def on_callback(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
        answer = event.payload
        assert isinstance(answer, CallbackCompleted | CallbackMissed)
        if answer.case_id is None or not (await load_case(conn, store, answer.case_id)).opened:
            return
        if isinstance(answer, CallbackCompleted):
            outcome, at = CallbackOutcome.COMPLETED, answer.completed_at
        else:
            outcome, at = CallbackOutcome.MISSED, answer.missed_at
        command = RecordCallback(answer.callback_id, outcome, answer.attempts, at)
        await case_command(
            conn,
            store,
            answer.case_id,
            lambda case: decide_record_callback(case, command),
            CommandContext.caused_by(event.envelope, "cases"),
        )

    async def on_account_suspended(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
        suspended = event.payload
        assert isinstance(suspended, AccountSuspended)
        linked = await record_suspension(
            conn,
            store,
            suspended,
            event.envelope.event_id,
            CommandContext.caused_by(event.envelope, "cases"),
        )
        log.info(
            "platform suspension recorded",
            extra=log_fields(suspension_id=str(suspended.suspension_id), cases=len(linked)),
        )

    return [
        ConsumerGroup(
            name="cases.intake",
            topics=[CHECKIN_TICKETS],
            handlers={"checkin.ticket_issued": on_ticket_issued},
            description="Attaches each check-in contact to the open case of its problem, or "
            "opens one.",
        ),
        ConsumerGroup(
            name="cases.verification",
            topics=[VERIFICATION_SESSIONS],
            handlers={"verification.verification_completed": on_verification_completed},
            description="Records verification outcomes on their cases; the case moves on.",
        ),
        ConsumerGroup(
            name="cases.callbacks",
            topics=[NOTIFICATIONS_CALLBACKS],
            handlers={
                "notifications.callback_completed": on_callback,
                "notifications.callback_missed": on_callback,
            },
            description="Tracks promised callbacks; a missed one escalates the case.",
        ),
        ConsumerGroup(
            name="cases.platform",
            topics=[PLATFORM_ACCOUNTS],
            handlers={"platform.account_suspended": on_account_suspended},
            description="Records platform suspensions and links them to the account's cases.",
        ),
        projection_group(),
    ]


async def redact_subject(conn: asyncpg.Connection, subject_id: str) -> None:
    """An erased person's own words leave every read model; the cases themselves stay."""
    await conn.execute("UPDATE case_views SET summary = NULL WHERE subject_id = $1", subject_id)
    await conn.execute("UPDATE case_contacts SET words = NULL WHERE subject_id = $1", subject_id)
    await conn.execute("UPDATE case_notes SET text = NULL WHERE subject_id = $1", subject_id)
