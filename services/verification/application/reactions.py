"""What verification does when other services speak (reactions: they append events of their
own and are never replayed).

- ``verification.case_requests`` (frontdesk.cases.cases): ``cases.verification_requested``
  opens a session (its id is the request's verification_id, so a redelivered request opens
  nothing new); ``cases.case_opened`` remembers the case's type for it.
- ``verification.code_delivery_outcomes`` (frontdesk.notifications.messages): what became of
  each one-time code's message — sent, delivered, or failed — recorded on its session (a
  failed one frees the person to ask for a new code at once). The message's
  ``notification_requested`` (v3) names the code delivery; the later events name only the
  message, so the pair is remembered (all of a message's events are on one partition, in
  order). Decisions use the reported event's own time, never a clock.
"""

from __future__ import annotations

import asyncpg

from contracts.events.cases import CaseOpened, CaseType, VerificationRequested
from contracts.events.notifications import (
    NotificationDelivered,
    NotificationFailed,
    NotificationRequested,
    NotificationSent,
)
from contracts.events.verification_sessions import CodeDeliveryStatus, SessionOrigin
from contracts.topics import CASES_CASES, NOTIFICATIONS_MESSAGES
from runtime.consumer import ConsumerGroup, ReceivedEvent
from runtime.context import CommandContext
from runtime.running import RunningService
from services.verification.application.codes import remember_code_message, report_code_message
from services.verification.application.sessions import SERVICE, start_session
from services.verification.domain.sessions import (
    RecordCodeDeliveryFailure,
    RecordCodeDeliveryProgress,
    StartSession,
)
from services.verification.wiring import wiring_of


def case_requests(runtime: RunningService) -> ConsumerGroup:
    async def remember_case(conn: asyncpg.Connection, event: ReceivedEvent[CaseOpened]) -> None:
        opened = event.payload
        await conn.execute(
            """INSERT INTO case_facts (case_id, account_ref, case_type) VALUES ($1, $2, $3)
               ON CONFLICT (case_id) DO NOTHING""",
            opened.case_id,
            opened.account_ref,
            opened.case_type.value,
        )

    async def open_session(
        conn: asyncpg.Connection, event: ReceivedEvent[VerificationRequested]
    ) -> None:
        request = event.payload
        settings = wiring_of(runtime).settings
        case_type = await conn.fetchval(
            "SELECT case_type FROM case_facts WHERE case_id = $1", request.case_id
        )
        start = StartSession(
            verification_id=request.verification_id,
            account_ref=request.account_ref,
            purpose=request.purpose,
            risk_level=request.risk_level,
            person_role=request.person_role,
            origin=SessionOrigin.CASE_REQUEST,
            at=request.requested_at,
            ttl=settings.session_ttl,
            cooldown=settings.lockout_cooldown,
            case_id=request.case_id,
            person_ref=request.person_ref,
            phone_unavailable=case_type == CaseType.ACCOUNT_RECOVERY_LOST_PHONE.value,
            ticket_id=request.ticket_id,
            language=request.language,
        )
        context = CommandContext.caused_by(event.envelope, SERVICE)
        await start_session(conn, runtime.store, start, context)

    return ConsumerGroup(
        name="verification.case_requests",
        topics=[CASES_CASES],
        handlers={CaseOpened: remember_case, VerificationRequested: open_session},
        description="Opens a verification session for each request of the cases service.",
        reads_personal_data=False,  # a session needs the case's type, not its summary
    )


def code_delivery_outcomes(runtime: RunningService) -> ConsumerGroup:
    async def remember(
        conn: asyncpg.Connection, event: ReceivedEvent[NotificationRequested]
    ) -> None:
        requested = event.payload
        delivery = requested.code_delivery
        if delivery is None:
            return  # not a one-time code
        await remember_code_message(
            conn,
            requested.notification_id,
            delivery.verification_id,
            delivery.delivery_id,
            requested.requested_at,
        )

    async def sent(conn: asyncpg.Connection, event: ReceivedEvent[NotificationSent]) -> None:
        message = event.payload
        await report_code_message(
            conn,
            runtime.store,
            message.notification_id,
            lambda delivery_id: RecordCodeDeliveryProgress(
                delivery_id, message.notification_id, CodeDeliveryStatus.SENT, message.sent_at
            ),
            CommandContext.caused_by(event.envelope, SERVICE),
        )

    async def delivered(
        conn: asyncpg.Connection, event: ReceivedEvent[NotificationDelivered]
    ) -> None:
        message = event.payload
        await report_code_message(
            conn,
            runtime.store,
            message.notification_id,
            lambda delivery_id: RecordCodeDeliveryProgress(
                delivery_id,
                message.notification_id,
                CodeDeliveryStatus.DELIVERED,
                message.delivered_at,
            ),
            CommandContext.caused_by(event.envelope, SERVICE),
        )

    async def failed(conn: asyncpg.Connection, event: ReceivedEvent[NotificationFailed]) -> None:
        message = event.payload
        if message.fallback_channel is not None:
            return  # it goes on on another channel (never for a code: no fallback)
        await report_code_message(
            conn,
            runtime.store,
            message.notification_id,
            lambda delivery_id: RecordCodeDeliveryFailure(
                delivery_id, message.notification_id, message.failed_at
            ),
            CommandContext.caused_by(event.envelope, SERVICE),
        )

    return ConsumerGroup(
        name="verification.code_delivery_outcomes",
        topics=[NOTIFICATIONS_MESSAGES],
        handlers={
            NotificationRequested: remember,
            NotificationSent: sent,
            NotificationDelivered: delivered,
            NotificationFailed: failed,
        },
        description="Records on its session what became of each one-time code's message.",
        reads_personal_data=False,  # never the message's address or its variables
    )
