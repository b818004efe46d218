"""What notifications does when other services' events call for a message or a callback,
and the tables these reactions keep to reach people (``ticket_reach``, a ticket's phone,
queue and estimate; ``organization_contacts``): command-side state, not rebuildable.

Reactions decide with the triggering event's own time (``envelope.occurred_at``): they are
functions of the event, whenever it is processed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from contracts.events.cases import CallbackRequested, DecisionRecorded
from contracts.events.checkin import TicketCalled, TicketIssued, TicketPositionChanged
from contracts.events.checkin_appointments import CHECKIN_APPOINTMENTS, AppointmentReminderDue
from contracts.events.notifications import (
    CallbackActor,
    CodeDelivery,
    MessageChannel,
    MessagePurpose,
    NotificationKind,
)
from contracts.events.verification_organizations import (
    VERIFICATION_ORGANIZATIONS,
    DepositConfirmationFailed,
    DepositsConfirmed,
    DepositsExpired,
    DepositsSent,
    OrganizationRejected,
    OrganizationReviewDecided,
    OrganizationSubmitted,
    OrganizationVerified,
)
from contracts.events.verification_sessions import CodeDeliveryRequested
from contracts.topics import CASES_CASES, CHECKIN_TICKETS, VERIFICATION_SESSIONS
from contracts.vocabulary import Channel, PersonRole
from runtime.consumer import ConsumerGroup, ReceivedEvent
from runtime.context import CommandContext
from runtime.running import RunningService
from services.notifications.application.callbacks import change_callback
from services.notifications.application.messages import SERVICE, request_message
from services.notifications.application.queue_callbacks import queue_callback_handlers
from services.notifications.application.recipients import preferences_of, reach
from services.notifications.config import NotificationSettings
from services.notifications.domain.appointments import (
    DEFAULT_LANGUAGE,
    reminder_not_before,
    reminder_variables,
)
from services.notifications.domain.callbacks import RequestCallback, decide_request
from services.notifications.domain.decisions import decision_variables
from services.notifications.domain.hours import DEFAULT_PREFERRED, DEFAULT_QUIET
from services.notifications.domain.messages import RequestNotification
from services.notifications.domain.organizations import organization_message
from services.notifications.domain.recipients import reach_of
from services.notifications.wiring import NotificationsWiring

OrganizationStep = (
    OrganizationSubmitted
    | DepositsSent
    | DepositConfirmationFailed
    | DepositsConfirmed
    | DepositsExpired
    | OrganizationReviewDecided
    | OrganizationVerified
    | OrganizationRejected
)
ORGANIZATION_STEPS: tuple[type[OrganizationStep], ...] = (
    OrganizationSubmitted,
    DepositsSent,
    DepositConfirmationFailed,
    DepositsConfirmed,
    DepositsExpired,
    OrganizationReviewDecided,
    OrganizationVerified,
    OrganizationRejected,
)


def recipient_of_callback(requested: CallbackRequested) -> str:
    """The holder is reached as their account; anyone else (a guardian, a spouse) only as
    the person this callback is for."""
    if requested.recipient_role is PersonRole.HOLDER:
        return f"account:{requested.account_ref}"
    return f"callback:{requested.callback_id}"


def reaction_groups(runtime: RunningService) -> list[ConsumerGroup]:
    """The groups that act on other services' events (reactions: never replayed)."""
    store = runtime.store

    def settings() -> NotificationSettings:
        wiring = runtime.wiring
        assert isinstance(wiring, NotificationsWiring)
        return wiring.settings

    async def on_ticket_issued(
        conn: asyncpg.Connection, event: ReceivedEvent[TicketIssued]
    ) -> None:
        """Tell the person their number, on their channel (SMS to the phone they left)."""
        ticket = event.payload
        await conn.execute(
            """INSERT INTO ticket_reach (ticket_id, account_ref, subject_id, number, phone,
                   language, issued_at, queue, customer_id, expected_minutes, estimated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
               ON CONFLICT (ticket_id) DO NOTHING""",
            ticket.ticket_id,
            ticket.intake.account_ref,
            ticket.data_subject_id,
            ticket.number,
            ticket.intake.contact_phone,
            ticket.intake.language.tag,
            ticket.issued_at,
            ticket.queue.value,
            ticket.customer_id,
            ticket.estimate.expected_minutes if ticket.estimate else None,
            ticket.estimate.estimated_at if ticket.estimate else None,
        )
        person = await reach(
            conn, store, f"account:{ticket.intake.account_ref}", ticket.intake.contact_phone
        )
        if ticket.intake.contact_phone is None and not person.channels:
            return
        await request_message(
            conn,
            store,
            RequestNotification(
                kind=NotificationKind.TICKET_ISSUED,
                channels=person.channels,
                recipient_ref=f"ticket:{ticket.ticket_id}",
                language=ticket.intake.language.tag,
                triggered_by=event.envelope.event_id,
                variables={
                    "number": ticket.number,
                    "queue": ticket.queue.value,
                    "link": f"{settings().public_url}/tickets/{ticket.ticket_id}",
                },
                at=ticket.issued_at,
                account_ref=ticket.intake.account_ref,
                timezone=person.timezone,
                addresses=person.addresses,
            ),
            CommandContext.caused_by(event.envelope, SERVICE),
        )

    async def tell_ticket_holder(
        conn: asyncpg.Connection,
        event: ReceivedEvent[TicketCalled | TicketPositionChanged],
        ticket_id: UUID,
        kind: NotificationKind,
        variables: dict[str, str],
        at: datetime,
    ) -> None:
        row = await conn.fetchrow("SELECT * FROM ticket_reach WHERE ticket_id = $1", ticket_id)
        if row is None:
            return  # no ticket we know how to reach (issued before this service kept them)
        person = await reach(conn, store, f"account:{row['account_ref']}", row["phone"])
        await request_message(
            conn,
            store,
            RequestNotification(
                kind=kind,
                channels=person.channels,
                recipient_ref=f"ticket:{ticket_id}",
                language=person.language or row["language"],
                triggered_by=event.envelope.event_id,
                variables={"number": row["number"], **variables},
                at=at,
                account_ref=row["account_ref"],
                timezone=person.timezone,
                addresses=person.addresses,
            ),
            CommandContext.caused_by(event.envelope, SERVICE),
        )

    async def on_ticket_called(
        conn: asyncpg.Connection, event: ReceivedEvent[TicketCalled]
    ) -> None:
        """ "You are next, please come to desk X"; a phone, chat or email contact goes to no
        desk: "you are next, please get ready. An agent is about to contact you"."""
        called = event.payload
        channel = called.channel
        told = {"desk": called.desk_id}
        if channel is not None and channel not in (Channel.WALK_IN, Channel.VIRTUAL_QUEUE):
            told = {"contact": channel.value}
        await tell_ticket_holder(
            conn, event, called.ticket_id, NotificationKind.QUEUE_NEXT, told, called.called_at
        )

    async def on_position_changed(
        conn: asyncpg.Connection, event: ReceivedEvent[TicketPositionChanged]
    ) -> None:
        """Virtual queue: "N ahead", or "you are next"."""
        moved = event.payload
        await conn.execute(
            """UPDATE ticket_reach SET expected_minutes = $2, estimated_at = $3
               WHERE ticket_id = $1 AND (estimated_at IS NULL OR estimated_at <= $3)""",
            moved.ticket_id,
            moved.expected_minutes,
            moved.at,
        )
        if moved.you_are_next or moved.ahead == 0:
            kind, variables = NotificationKind.QUEUE_NEXT, {}
        else:
            kind = NotificationKind.QUEUE_POSITION
            variables = {
                "ahead": str(moved.ahead),
                "link": f"{settings().public_url}/tickets/{moved.ticket_id}",
            }
        await tell_ticket_holder(conn, event, moved.ticket_id, kind, variables, moved.at)

    async def on_decision_recorded(
        conn: asyncpg.Connection, event: ReceivedEvent[DecisionRecorded]
    ) -> None:
        """The case was decided: tell the person the outcome and its explanation."""
        decided = event.payload
        recipient = f"account:{decided.account_ref}"
        latest = await conn.fetchrow(
            """SELECT phone, language FROM ticket_reach WHERE account_ref = $1
               AND phone IS NOT NULL ORDER BY issued_at DESC LIMIT 1""",
            decided.account_ref,
        )
        person = await reach(conn, store, recipient, latest["phone"] if latest else None)
        await request_message(
            conn,
            store,
            RequestNotification(
                kind=NotificationKind.CASE_DECISION,
                channels=person.channels,
                recipient_ref=recipient,
                language=decided.explanation_language,
                triggered_by=event.envelope.event_id,
                variables=decision_variables(decided, settings().public_url),
                at=decided.decided_at,
                account_ref=decided.account_ref,
                timezone=person.timezone,
                addresses=person.addresses,
            ),
            CommandContext.caused_by(event.envelope, SERVICE),
        )

    async def on_appointment_reminder(
        conn: asyncpg.Connection, event: ReceivedEvent[AppointmentReminderDue]
    ) -> None:
        """A booked appointment starts soon: remind the person through the booking's
        account (their channels and language), outside their quiet hours where it can."""
        due = event.payload
        if due.account_ref is None:
            return  # booked without an account: no one to reach
        recipient = f"account:{due.account_ref}"
        prefs = await preferences_of(conn, store, recipient)
        person = reach_of(prefs)
        if not person.channels:
            return  # no channel with an address: nothing to send on
        await request_message(
            conn,
            store,
            RequestNotification(
                kind=NotificationKind.APPOINTMENT_REMINDER,
                channels=person.channels,
                recipient_ref=recipient,
                language=person.language or DEFAULT_LANGUAGE,
                triggered_by=event.envelope.event_id,
                variables=reminder_variables(due),
                at=due.due_at,
                account_ref=due.account_ref,
                timezone=due.timezone,  # the time at the site, where the appointment is
                addresses=person.addresses,
                not_before=reminder_not_before(
                    due, prefs.quiet_hours if prefs else None, person.timezone
                ),
            ),
            CommandContext.caused_by(event.envelope, SERVICE),
        )

    async def on_callback_requested(
        conn: asyncpg.Connection, event: ReceivedEvent[CallbackRequested]
    ) -> None:
        """Cases promised a call: schedule it in the person's hours and tell them when."""
        requested = event.payload
        recipient_ref = recipient_of_callback(requested)
        prefs = await preferences_of(conn, store, recipient_ref)
        preferred = (prefs.preferred_hours if prefs else None) or DEFAULT_PREFERRED
        quiet = (prefs.quiet_hours if prefs else None) or DEFAULT_QUIET
        config = settings()
        command = RequestCallback(
            callback_id=requested.callback_id,
            case_id=requested.case_id,
            account_ref=requested.account_ref,
            customer_id=None,
            queue=requested.queue,
            recipient_role=requested.recipient_role,
            recipient_ref=recipient_ref,
            phone=requested.phone,
            timezone=requested.timezone,
            language=requested.language,
            window_start=requested.window_start,
            window_end=requested.window_end,
            preferred_hours=preferred,
            quiet_hours=quiet,
            max_attempts=config.callback_max_attempts,
            attempt_spacing=timedelta(minutes=config.callback_attempt_spacing_minutes),
            requested_by=CallbackActor.CASES,
            at=event.envelope.occurred_at,
        )
        await change_callback(
            conn,
            store,
            config,
            requested.callback_id,
            lambda state: decide_request(state, command),
            CommandContext.caused_by(event.envelope, SERVICE),
        )

    async def on_code_delivery_requested(
        conn: asyncpg.Connection, event: ReceivedEvent[CodeDeliveryRequested]
    ) -> None:
        """Verification wants a one-time code delivered: queue the message now, claim the code
        when it is sent (never here: the code must not exist in any event or row)."""
        requested = event.payload
        await request_message(
            conn,
            store,
            RequestNotification(
                kind=NotificationKind.ONE_TIME_CODE,
                channels=(MessageChannel(requested.channel.value),),
                recipient_ref=f"account:{requested.account_ref}",
                language=requested.language,
                triggered_by=event.envelope.event_id,
                variables={},
                at=requested.requested_at,
                purpose=MessagePurpose.ONE_TIME_CODE,
                account_ref=requested.account_ref,
                code_delivery=CodeDelivery(
                    verification_id=requested.verification_id,
                    delivery_id=requested.delivery_id,
                    claim_path=requested.claim_path,
                    claim_before=requested.claim_before,
                ),
            ),
            CommandContext.caused_by(event.envelope, SERVICE),
        )

    async def on_organization_step(
        conn: asyncpg.Connection, event: ReceivedEvent[OrganizationStep]
    ) -> None:
        """A step of an organization's verification: tell its contact person (email first,
        then SMS), under the organization's own data subject."""
        step = event.payload
        organization_id: UUID = step.organization_id
        if isinstance(step, OrganizationSubmitted):
            await conn.execute(
                """INSERT INTO organization_contacts (organization_id, subject_id, legal_name,
                       phone, email, submitted_at) VALUES ($1, $2, $3, $4, $5, $6)
                   ON CONFLICT (organization_id) DO UPDATE SET legal_name = $3, phone = $4,
                       email = $5, submitted_at = $6, ended_at = NULL""",
                organization_id,
                f"organization:{organization_id}",
                step.legal_name,
                step.contact_phone,
                step.contact_email,
                step.submitted_at,
            )
        elif isinstance(step, OrganizationVerified | OrganizationRejected):
            # the verification ended: retention times the contact from here
            await conn.execute(
                "UPDATE organization_contacts SET ended_at = $2 WHERE organization_id = $1",
                organization_id,
                event.envelope.occurred_at,
            )
        message = organization_message(step, settings())
        if message is None:
            return
        contact = await conn.fetchrow(
            "SELECT legal_name, phone, email FROM organization_contacts WHERE organization_id = $1",
            organization_id,
        )
        if contact is None:
            return  # submitted before this reaction existed, or erased
        addresses = {
            channel: value
            for channel, value in (
                (MessageChannel.EMAIL, contact["email"]),
                (MessageChannel.SMS, contact["phone"]),
            )
            if value
        }
        kind, variables = message
        subject = f"organization:{organization_id}"
        await request_message(
            conn,
            store,
            RequestNotification(
                kind=kind,
                channels=tuple(addresses),
                recipient_ref=subject,
                subject_ref=subject,
                language=settings().organization_language,
                timezone=settings().organization_timezone,
                triggered_by=event.envelope.event_id,
                variables={"organization": contact["legal_name"], **variables},
                at=event.envelope.occurred_at,
                addresses=addresses,
            ),
            CommandContext.caused_by(event.envelope, SERVICE),
        )

    return [
        ConsumerGroup(
            name="notifications.code_deliveries",
            topics=[VERIFICATION_SESSIONS],
            handlers={CodeDeliveryRequested: on_code_delivery_requested},
            description="Delivers verification's one-time codes (claimed at send time).",
        ),
        ConsumerGroup(
            name="notifications.organization_messages",
            topics=[VERIFICATION_ORGANIZATIONS],
            handlers={step: on_organization_step for step in ORGANIZATION_STEPS},
            description="Tells an organization's contact the steps of its verification.",
        ),
        ConsumerGroup(
            name="notifications.triggers",
            topics=[CHECKIN_TICKETS],
            handlers={
                TicketIssued: on_ticket_issued,
                TicketCalled: on_ticket_called,
                TicketPositionChanged: on_position_changed,
                **queue_callback_handlers(runtime),
            },
            description="Decides the messages that check-in events call for, and carries "
            "out the callbacks phone callers ask for while they wait.",
        ),
        ConsumerGroup(
            name="notifications.appointment_reminders",
            topics=[CHECKIN_APPOINTMENTS],
            handlers={AppointmentReminderDue: on_appointment_reminder},
            description="Reminds people of their booked appointments before they start.",
        ),
        ConsumerGroup(
            name="notifications.callback_requests",
            topics=[CASES_CASES],
            handlers={CallbackRequested: on_callback_requested},
            description="Takes on the callbacks cases promised: schedules, tracks, answers.",
        ),
        ConsumerGroup(
            name="notifications.case_messages",
            topics=[CASES_CASES],
            handlers={DecisionRecorded: on_decision_recorded},
            description="Tells people the decision on their case, with its explanation.",
        ),
    ]


async def redact(conn: asyncpg.Connection, subject_id: str) -> None:
    """Forget how to reach a person in what the reactions keep: their ticket's phone, the
    organization contact an organization's verification gave."""
    await conn.execute("UPDATE ticket_reach SET phone = NULL WHERE subject_id = $1", subject_id)
    await conn.execute("DELETE FROM organization_contacts WHERE subject_id = $1", subject_id)
