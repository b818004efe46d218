"""What notifications reacts to, and the read models it keeps.

Reactions decide with the triggering event's own time (``envelope.occurred_at``): they are
functions of the event, whenever it is processed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from contracts.base import EventPayload
from contracts.events.cases import CallbackRequested, CaseOpened, DecisionRecorded
from contracts.events.checkin import TicketCalled, TicketIssued, TicketPositionChanged
from contracts.events.notifications import (
    NOTIFICATIONS_RECIPIENTS,
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
from contracts.topics import (
    CASES_CASES,
    CHECKIN_TICKETS,
    NOTIFICATIONS_CALLBACKS,
    NOTIFICATIONS_MESSAGES,
    VERIFICATION_SESSIONS,
)
from contracts.vocabulary import PersonRole
from runtime.consumer import ConsumerGroup, ReceivedEvent
from runtime.eventstore import CommandContext, EventStore
from services.notifications.application.messages import (
    change_callback,
    preferences_of,
    reach_of,
    request_message,
)
from services.notifications.config import NotificationSettings
from services.notifications.domain.callbacks import RequestCallback, decide_request
from services.notifications.domain.hours import DEFAULT_PREFERRED, DEFAULT_QUIET
from services.notifications.domain.messages import RequestNotification
from services.notifications.projections.messages import PROJECTION_HANDLERS, READ_MODELS
from services.notifications.projections.messages import redact_subject as redact_read_models
from services.notifications.application.queue_callbacks import queue_callback_handlers, ticket_cases_group


def recipient_of_callback(requested: CallbackRequested) -> str:
    """The holder is reached as their account; anyone else (a guardian, a spouse) only as
    the person this callback is for."""
    if requested.recipient_role is PersonRole.HOLDER:
        return f"account:{requested.account_ref}"
    return f"callback:{requested.callback_id}"


def organization_message(
    event: EventPayload, settings: NotificationSettings
) -> tuple[NotificationKind, dict[str, str]] | None:
    """Which step of an organization's verification its contact is told about, with what.
    Pure. Not told: a rejected document review or a last failed deposit confirmation (the
    ``organization_rejected`` that comes with them says it, with the reasons), the reviewer's
    phone confirmation (the contact was on that call), and look-alike domain flags (a warning
    to an impersonator would teach them; reviewers handle those)."""
    link = f"{settings.public_url}/organizations/"
    match event:
        case OrganizationSubmitted():
            return NotificationKind.ORGANIZATION_SUBMITTED, {
                "link": f"{link}{event.organization_id}"
            }
        case DepositsSent():
            return NotificationKind.ORGANIZATION_DEPOSITS_SENT, {
                "account_last4": event.bank_account_last4,
                "expires_at": event.expires_at.isoformat(),
            }
        case DepositConfirmationFailed() if event.attempts_left > 0:
            return NotificationKind.ORGANIZATION_DEPOSIT_CONFIRMATION_FAILED, {
                "attempts_left": str(event.attempts_left)
            }
        case DepositsConfirmed():
            return NotificationKind.ORGANIZATION_DEPOSITS_CONFIRMED, {}
        case DepositsExpired():
            return NotificationKind.ORGANIZATION_DEPOSITS_EXPIRED, {}
        case OrganizationReviewDecided() if event.approved:
            return NotificationKind.ORGANIZATION_DOCUMENTS_APPROVED, {}
        case OrganizationVerified():
            variables = {"domains": ", ".join(event.verified_domains)}
            return NotificationKind.ORGANIZATION_VERIFIED, (
                variables if event.verified_domains else {}
            )
        case OrganizationRejected():
            return NotificationKind.ORGANIZATION_REJECTED, {"reasons": "; ".join(event.reasons)}
    return None


async def redact_subject(conn: asyncpg.Connection, subject_id: str) -> None:
    """Erase a data subject here: the read models, and the organization contacts the
    organization-verification reaction keeps."""
    await redact_read_models(conn, subject_id)
    await conn.execute("DELETE FROM organization_contacts WHERE subject_id = $1", subject_id)


def consumer_groups(store: EventStore, settings: NotificationSettings) -> list[ConsumerGroup]:
    async def on_ticket_issued(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
        """Tell the person their number, on their channel (SMS to the phone they left)."""
        ticket = event.payload
        assert isinstance(ticket, TicketIssued)
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
        reach = await reach_of(
            conn, store, f"account:{ticket.intake.account_ref}", ticket.intake.contact_phone
        )
        if ticket.intake.contact_phone is None and not reach.channels:
            return
        await request_message(
            conn,
            store,
            RequestNotification(
                kind=NotificationKind.TICKET_ISSUED,
                channels=reach.channels,
                recipient_ref=f"ticket:{ticket.ticket_id}",
                language=ticket.intake.language.tag,
                triggered_by=event.envelope.event_id,
                variables={
                    "number": ticket.number,
                    "queue": ticket.queue.value,
                    "link": f"{settings.public_url}/tickets/{ticket.ticket_id}",
                },
                at=ticket.issued_at,
                account_ref=ticket.intake.account_ref,
                timezone=reach.timezone,
                addresses=reach.addresses,
            ),
            CommandContext.caused_by(event.envelope, "notifications"),
        )

    async def tell_ticket_holder(
        conn: asyncpg.Connection,
        event: ReceivedEvent,
        ticket_id: UUID,
        kind: NotificationKind,
        variables: dict[str, str],
        at: datetime,
    ) -> None:
        row = await conn.fetchrow("SELECT * FROM ticket_reach WHERE ticket_id = $1", ticket_id)
        if row is None:
            return  # no ticket we know how to reach (issued before this service kept them)
        reach = await reach_of(conn, store, f"account:{row['account_ref']}", row["phone"])
        await request_message(
            conn,
            store,
            RequestNotification(
                kind=kind,
                channels=reach.channels,
                recipient_ref=f"ticket:{ticket_id}",
                language=reach.language or row["language"],
                triggered_by=event.envelope.event_id,
                variables={"number": row["number"], **variables},
                at=at,
                account_ref=row["account_ref"],
                timezone=reach.timezone,
                addresses=reach.addresses,
            ),
            CommandContext.caused_by(event.envelope, "notifications"),
        )

    async def on_ticket_called(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
        """ "You are next, please come to desk X"."""
        called = event.payload
        assert isinstance(called, TicketCalled)
        await tell_ticket_holder(
            conn,
            event,
            called.ticket_id,
            NotificationKind.QUEUE_NEXT,
            {"desk": called.desk_id},
            called.called_at,
        )

    async def on_position_changed(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
        """Virtual queue: "N ahead", or "you are next"."""
        moved = event.payload
        assert isinstance(moved, TicketPositionChanged)
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
                "link": f"{settings.public_url}/tickets/{moved.ticket_id}",
            }
        await tell_ticket_holder(conn, event, moved.ticket_id, kind, variables, moved.at)

    async def on_decision_recorded(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
        """The case was decided: tell the person the outcome and its explanation."""
        decided = event.payload
        assert isinstance(decided, DecisionRecorded)
        recipient = f"account:{decided.account_ref}"
        latest = await conn.fetchrow(
            """SELECT phone, language FROM ticket_reach WHERE account_ref = $1
               AND phone IS NOT NULL ORDER BY issued_at DESC LIMIT 1""",
            decided.account_ref,
        )
        reach = await reach_of(conn, store, recipient, latest["phone"] if latest else None)
        await request_message(
            conn,
            store,
            RequestNotification(
                kind=NotificationKind.CASE_DECISION,
                channels=reach.channels,
                recipient_ref=recipient,
                language=decided.explanation_language,
                triggered_by=event.envelope.event_id,
                variables={
                    "case_ref": str(decided.case_id)[:8].upper(),
                    "decision": decided.outcome.value.replace("_", " "),
                    "explanation": decided.explanation,
                    "link": f"{settings.public_url}/cases/{decided.case_id}",
                },
                at=decided.decided_at,
                account_ref=decided.account_ref,
                timezone=reach.timezone,
                addresses=reach.addresses,
            ),
            CommandContext.caused_by(event.envelope, "notifications"),
        )

    async def on_callback_requested(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
        """Cases promised a call: schedule it in the person's hours and tell them when."""
        requested = event.payload
        assert isinstance(requested, CallbackRequested)
        recipient_ref = recipient_of_callback(requested)
        prefs = await preferences_of(conn, store, recipient_ref)
        preferred = (prefs.preferred_hours if prefs else None) or DEFAULT_PREFERRED
        quiet = (prefs.quiet_hours if prefs else None) or DEFAULT_QUIET
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
            max_attempts=settings.callback_max_attempts,
            attempt_spacing=timedelta(minutes=settings.callback_attempt_spacing_minutes),
            requested_by=CallbackActor.CASES,
            at=event.envelope.occurred_at,
        )
        await change_callback(
            conn,
            store,
            requested.callback_id,
            lambda state: decide_request(state, command),
            CommandContext.caused_by(event.envelope, "notifications"),
            settings,
        )

    async def on_case_opened(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
        opened = event.payload
        assert isinstance(opened, CaseOpened)
        if opened.customer_id is None:
            return
        await conn.execute(
            """INSERT INTO case_customers (case_id, customer_id) VALUES ($1, $2)
               ON CONFLICT (case_id) DO NOTHING""",
            opened.case_id,
            opened.customer_id,
        )

    async def on_code_delivery_requested(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
        """Verification wants a one-time code delivered: queue the message now, claim the code
        when it is sent (never here: the code must not exist in any event or row)."""
        requested = event.payload
        assert isinstance(requested, CodeDeliveryRequested)
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
            CommandContext.caused_by(event.envelope, "notifications"),
        )

    async def on_organization_step(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
        """A step of an organization's verification: tell its contact person (email first,
        then SMS), under the organization's own data subject."""
        step = event.payload
        organization_id: UUID = step.organization_id  # type: ignore[attr-defined]
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
        message = organization_message(step, settings)
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
                language=settings.organization_language,
                timezone=settings.organization_timezone,
                triggered_by=event.envelope.event_id,
                variables={"organization": contact["legal_name"], **variables},
                at=event.envelope.occurred_at,
                addresses=addresses,
            ),
            CommandContext.caused_by(event.envelope, "notifications"),
        )

    return [
        ConsumerGroup(
            name="notifications.code_deliveries",
            topics=[VERIFICATION_SESSIONS],
            handlers={"verification.code_delivery_requested": on_code_delivery_requested},
            description="Delivers verification's one-time codes (claimed at send time).",
        ),
        ConsumerGroup(
            name="notifications.organization_messages",
            topics=[VERIFICATION_ORGANIZATIONS],
            handlers={
                event_type: on_organization_step
                for event_type in (
                    "verification.organization_submitted",
                    "verification.deposits_sent",
                    "verification.deposit_confirmation_failed",
                    "verification.deposits_confirmed",
                    "verification.deposits_expired",
                    "verification.organization_review_decided",
                    "verification.organization_verified",
                    "verification.organization_rejected",
                )
            },
            description="Tells an organization's contact the steps of its verification.",
        ),
        ConsumerGroup(
            name="notifications.triggers",
            topics=[CHECKIN_TICKETS],
            handlers={
                "checkin.ticket_issued": on_ticket_issued,
                "checkin.ticket_called": on_ticket_called,
                "checkin.ticket_position_changed": on_position_changed,
                **queue_callback_handlers(store, settings),
            },
            description="Decides the messages that check-in events call for, and carries "
            "out the callbacks phone callers ask for while they wait.",
        ),
        ticket_cases_group(),
        ConsumerGroup(
            name="notifications.callback_requests",
            topics=[CASES_CASES],
            handlers={"cases.callback_requested": on_callback_requested},
            description="Takes on the callbacks cases promised: schedules, tracks, answers.",
        ),
        ConsumerGroup(
            name="notifications.case_messages",
            topics=[CASES_CASES],
            handlers={"cases.decision_recorded": on_decision_recorded},
            description="Tells people the decision on their case, with its explanation.",
        ),
        ConsumerGroup(
            name="notifications.case_customers",
            topics=[CASES_CASES],
            handlers={"cases.case_opened": on_case_opened},
            read_models=("case_customers",),
            description="Which customer each case belongs to (their own callbacks).",
        ),
        ConsumerGroup(
            name="notifications.projections",
            topics=[
                NOTIFICATIONS_MESSAGES,
                NOTIFICATIONS_CALLBACKS,
                NOTIFICATIONS_RECIPIENTS,
                CHECKIN_TICKETS,
            ],
            handlers=PROJECTION_HANDLERS,
            read_models=READ_MODELS,
            description="Messages, callbacks (the due lists), preferences, and the contact "
            "details to reach people.",
        ),
    ]
