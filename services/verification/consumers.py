"""What verification reacts to, and the read models it keeps.

- ``verification.case_plans`` (projection of frontdesk.cases.cases): the checks each opened
  case will need, shown to agents as soon as the case opens (verify while you wait).
- ``verification.case_requests`` (reaction): ``cases.verification_requested`` opens a session
  (its id is the request's verification_id, so a redelivered request opens nothing new).
- ``verification.sessions`` (projection of frontdesk.verification.sessions): session views and
  the reviewer queue.
- ``verification.organizations`` (projection of frontdesk.verification.organizations):
  organization views, look-alike flags, verified domains.
- ``verification.code_delivery_outcomes`` (reaction to frontdesk.notifications.messages): what
  became of each one-time code's message — sent, delivered, or failed — recorded on its
  session (a failed one frees the person to ask for a new code at once).
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
from contracts.events.verification import VerificationCompleted
from contracts.events.verification_organizations import (
    VERIFICATION_ORGANIZATIONS,
    DepositConfirmationFailed,
    DepositsConfirmed,
    DepositsExpired,
    DepositsSent,
    LookalikeDomainCleared,
    LookalikeDomainFlagged,
    OrganizationRejected,
    OrganizationReviewDecided,
    OrganizationSubmitted,
    OrganizationVerified,
    PhoneConfirmed,
)
from contracts.events.verification_sessions import (
    CheckFailed,
    CheckPassed,
    CodeDeliveryFailed,
    CodeDeliveryReported,
    CodeDeliveryRequested,
    CodeDeliveryStatus,
    CodeIssued,
    CooldownEnded,
    LockedOut,
    ReviewDecided,
    ReviewRequested,
    SessionOrigin,
    SessionStarted,
)
from contracts.topics import CASES_CASES, NOTIFICATIONS_MESSAGES, VERIFICATION_SESSIONS
from runtime.consumer import ConsumerGroup, ReceivedEvent
from runtime.eventstore import CommandContext, EventStore
from services.verification.application import (
    remember_code_message,
    report_code_message,
    start_session,
)
from services.verification.domain.plans import required_checks
from services.verification.domain.sessions import (
    RecordCodeDeliveryFailure,
    RecordCodeDeliveryProgress,
    StartSession,
)
from services.verification.wiring import adapters_for

# -- case plans (projection) ------------------------------------------------------------------


async def on_case_opened(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    opened = event.payload
    assert isinstance(opened, CaseOpened)
    await conn.execute(
        """INSERT INTO case_check_plans (case_id, account_ref, case_type, required_checks,
               opened_at, correlation_id)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (case_id) DO NOTHING""",
        opened.case_id,
        opened.account_ref,
        opened.case_type.value,
        [check.value for check in required_checks(opened.case_type)],
        opened.opened_at,
        event.envelope.correlation_id,
    )


# -- case requests (reaction) -----------------------------------------------------------------


def case_request_handlers(store: EventStore) -> dict[str, object]:
    async def remember_case(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
        opened = event.payload
        assert isinstance(opened, CaseOpened)
        await conn.execute(
            """INSERT INTO case_facts (case_id, account_ref, case_type) VALUES ($1, $2, $3)
               ON CONFLICT (case_id) DO NOTHING""",
            opened.case_id,
            opened.account_ref,
            opened.case_type.value,
        )

    async def open_session(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
        request = event.payload
        assert isinstance(request, VerificationRequested)
        settings = adapters_for(store).settings
        case_type = await conn.fetchval(
            "SELECT case_type FROM case_facts WHERE case_id = $1", request.case_id
        )
        command = StartSession(
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
        await start_session(
            conn, store, command, CommandContext.caused_by(event.envelope, "verification")
        )

    return {"cases.case_opened": remember_case, "cases.verification_requested": open_session}


# -- what became of a code's message (reaction) ------------------------------------------------


def code_outcome_handlers(store: EventStore) -> dict[str, object]:
    """The notifications service's outcome of each one-time code's message. Its
    ``notification_requested`` (v3) names the code delivery; the later events name only the
    message, so the pair is remembered (all of a message's events are on one partition, in
    order). Decisions use the reported event's own time, never a clock."""

    def context(event: ReceivedEvent) -> CommandContext:
        return CommandContext.caused_by(event.envelope, "verification")

    async def remember(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
        requested = event.payload
        assert isinstance(requested, NotificationRequested)
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

    async def sent(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
        message = event.payload
        assert isinstance(message, NotificationSent)
        await report_code_message(
            conn,
            store,
            message.notification_id,
            lambda delivery_id: RecordCodeDeliveryProgress(
                delivery_id, message.notification_id, CodeDeliveryStatus.SENT, message.sent_at
            ),
            context(event),
        )

    async def delivered(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
        message = event.payload
        assert isinstance(message, NotificationDelivered)
        await report_code_message(
            conn,
            store,
            message.notification_id,
            lambda delivery_id: RecordCodeDeliveryProgress(
                delivery_id,
                message.notification_id,
                CodeDeliveryStatus.DELIVERED,
                message.delivered_at,
            ),
            context(event),
        )

    async def failed(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
        message = event.payload
        assert isinstance(message, NotificationFailed)
        if message.fallback_channel is not None:
            return  # it goes on on another channel (never for a code: no fallback)
        await report_code_message(
            conn,
            store,
            message.notification_id,
            lambda delivery_id: RecordCodeDeliveryFailure(
                delivery_id, message.notification_id, message.failed_at
            ),
            context(event),
        )

    return {
        "notifications.notification_requested": remember,
        "notifications.notification_sent": sent,
        "notifications.notification_delivered": delivered,
        "notifications.notification_failed": failed,
    }


# -- sessions (projection) --------------------------------------------------------------------


async def project_session(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    payload = event.payload
    version = event.envelope.stream_version
    match payload:
        case SessionStarted():
            await conn.execute(
                """INSERT INTO session_views (verification_id, case_id, account_ref, purpose,
                       risk_level, person_role, person_ref, checks, status, ticket_id,
                       started_at, expires_at, version)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9, $10, $11, $12)
                   ON CONFLICT (verification_id) DO NOTHING""",
                payload.verification_id,
                payload.case_id,
                payload.account_ref,
                payload.purpose.value,
                payload.risk_level.value,
                payload.person_role.value,
                payload.person_ref,
                [check.value for check in payload.checks],
                payload.ticket_id,
                payload.started_at,
                payload.expires_at,
                version,
            )
            return
        case CheckPassed():
            await conn.execute(
                """UPDATE session_views SET passed_checks = array_append(passed_checks, $2),
                       version = $3 WHERE verification_id = $1""",
                payload.verification_id,
                payload.check.value,
                version,
            )
        case ReviewRequested():
            row = await conn.fetchrow(
                "SELECT account_ref, purpose FROM session_views WHERE verification_id = $1",
                payload.verification_id,
            )
            await conn.execute(
                """INSERT INTO review_queue (verification_id, check_name, account_ref, purpose,
                       reason, required_approvals, evidence_refs, status, requested_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8)
                   ON CONFLICT (verification_id, check_name) DO UPDATE
                   SET reason = EXCLUDED.reason, required_approvals = EXCLUDED.required_approvals,
                       evidence_refs = EXCLUDED.evidence_refs, status = 'open', approvals = '{}',
                       requested_at = EXCLUDED.requested_at, decided_at = NULL""",
                payload.verification_id,
                payload.check.value,
                row["account_ref"],
                row["purpose"],
                payload.reason,
                payload.required_approvals,
                payload.evidence_refs,
                payload.requested_at,
            )
        case ReviewDecided():
            await conn.execute(
                """UPDATE review_queue
                   SET approvals = CASE WHEN $3::boolean THEN array_append(approvals, $4::text)
                                        ELSE approvals END,
                       status = CASE WHEN NOT $3::boolean THEN 'rejected'
                                     WHEN cardinality(approvals) + 1 >= required_approvals
                                     THEN 'approved' ELSE 'open' END,
                       decided_at = CASE WHEN NOT $3::boolean
                                          OR cardinality(approvals) + 1 >= required_approvals
                                     THEN $5::timestamptz END
                   WHERE verification_id = $1 AND check_name = $2""",
                payload.verification_id,
                payload.check.value,
                payload.approved,
                payload.reviewer_id,
                payload.decided_at,
            )
        case CodeDeliveryRequested():
            await conn.execute(
                """UPDATE session_views SET code_delivery_id = $2,
                       code_delivery_status = 'requested', code_delivery_reason = NULL
                   WHERE verification_id = $1""",
                payload.verification_id,
                payload.delivery_id,
            )
        case CodeIssued() | CodeDeliveryReported():
            status = "claimed" if isinstance(payload, CodeIssued) else payload.status.value
            await conn.execute(
                """UPDATE session_views SET code_delivery_status = $3
                   WHERE verification_id = $1 AND code_delivery_id = $2""",
                payload.verification_id,
                payload.delivery_id,
                status,
            )
        case CodeDeliveryFailed():
            await conn.execute(
                """UPDATE session_views SET codes_undelivered = codes_undelivered + 1,
                       code_delivery_status = CASE WHEN code_delivery_id = $2 THEN 'failed'
                                                   ELSE code_delivery_status END,
                       code_delivery_reason = CASE WHEN code_delivery_id = $2 THEN $3
                                                   ELSE code_delivery_reason END
                   WHERE verification_id = $1""",
                payload.verification_id,
                payload.delivery_id,
                payload.reason,
            )
        case CheckFailed() | CooldownEnded():
            pass
        case LockedOut():
            await conn.execute(
                "UPDATE session_views SET cooldown_until = $2 WHERE verification_id = $1",
                payload.verification_id,
                payload.cooldown_until,
            )
        case VerificationCompleted():
            await conn.execute(
                """UPDATE session_views SET status = $2, outcome_reasons = $3, completed_at = $4
                   WHERE verification_id = $1""",
                payload.verification_id,
                payload.outcome.value,
                payload.reasons,
                payload.completed_at,
            )
            await conn.execute(
                """UPDATE review_queue SET status = 'closed', decided_at = $2
                   WHERE verification_id = $1 AND status = 'open'""",
                payload.verification_id,
                payload.completed_at,
            )
    await conn.execute(
        "UPDATE session_views SET version = greatest(version, $2) WHERE verification_id = $1",
        payload.verification_id,  # type: ignore[attr-defined]
        version,
    )


SESSION_EVENTS = (
    "verification.session_started",
    "verification.check_passed",
    "verification.check_failed",
    "verification.review_requested",
    "verification.review_decided",
    "verification.locked_out",
    "verification.cooldown_ended",
    "verification.verification_completed",
    "verification.code_delivery_requested",
    "verification.code_issued",
    "verification.code_delivery_reported",
    "verification.code_delivery_failed",
)


# -- organizations (projection) ---------------------------------------------------------------


async def project_organization(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    payload = event.payload
    version = event.envelope.stream_version
    match payload:
        case OrganizationSubmitted():
            await conn.execute(
                """INSERT INTO organization_views (organization_id, legal_name,
                       unified_social_credit_code, official_domains, contact_email_domain,
                       bank_account_last4, submitted_by, status, deposits, submitted_at, version)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, 'submitted', 'not_sent', $8, $9)
                   ON CONFLICT (organization_id) DO NOTHING""",
                payload.organization_id,
                payload.legal_name,
                payload.unified_social_credit_code,
                payload.official_domains,
                payload.contact_email_domain,
                payload.bank_account_last4,
                payload.submitted_by,
                payload.submitted_at,
                version,
            )
            return
        case LookalikeDomainFlagged():
            await conn.execute(
                """INSERT INTO lookalike_flags (flag_id, organization_id, domain, resembles,
                       techniques, source, status, flagged_at)
                   VALUES ($1, $2, $3, $4, $5, $6, 'open', $7) ON CONFLICT (flag_id) DO NOTHING""",
                payload.flag_id,
                payload.organization_id,
                payload.domain,
                payload.resembles,
                [t.value for t in payload.techniques],
                payload.source,
                payload.flagged_at,
            )
        case LookalikeDomainCleared():
            await conn.execute(
                "UPDATE lookalike_flags SET status = 'cleared', decided_at = $2 WHERE flag_id = $1",
                payload.flag_id,
                payload.cleared_at,
            )
        case DepositsSent():
            await _set_deposits(conn, payload.organization_id, "sent")
        case DepositConfirmationFailed():
            await _set_deposits(
                conn, payload.organization_id, "sent" if payload.attempts_left else "failed"
            )
        case DepositsConfirmed():
            await _set_deposits(conn, payload.organization_id, "confirmed")
        case DepositsExpired():
            await _set_deposits(conn, payload.organization_id, "expired")
        case OrganizationReviewDecided():
            await conn.execute(
                "UPDATE organization_views SET documents_approved = $2 WHERE organization_id = $1",
                payload.organization_id,
                payload.approved,
            )
        case PhoneConfirmed():
            await conn.execute(
                "UPDATE organization_views SET phone_confirmed = $2 WHERE organization_id = $1",
                payload.organization_id,
                payload.confirmed,
            )
        case OrganizationVerified():
            await conn.execute(
                """UPDATE organization_views SET status = 'verified', reasons = $2,
                       decided_at = $3 WHERE organization_id = $1""",
                payload.organization_id,
                payload.reasons,
                payload.verified_at,
            )
            for domain in payload.verified_domains:
                await conn.execute(
                    """INSERT INTO verified_domains (domain, organization_id, verified_at)
                       VALUES ($1, $2, $3) ON CONFLICT (domain) DO NOTHING""",
                    domain,
                    payload.organization_id,
                    payload.verified_at,
                )
        case OrganizationRejected():
            await conn.execute(
                """UPDATE organization_views SET status = 'rejected', reasons = $2,
                       decided_at = $3 WHERE organization_id = $1""",
                payload.organization_id,
                payload.reasons,
                payload.rejected_at,
            )
            await conn.execute(
                """UPDATE lookalike_flags SET status = 'rejected', decided_at = $2
                   WHERE organization_id = $1 AND status = 'open'""",
                payload.organization_id,
                payload.rejected_at,
            )
    await conn.execute(
        "UPDATE organization_views SET version = greatest(version, $2) WHERE organization_id = $1",
        payload.organization_id,  # type: ignore[attr-defined]
        version,
    )


async def _set_deposits(conn: asyncpg.Connection, organization_id: object, status: str) -> None:
    await conn.execute(
        "UPDATE organization_views SET deposits = $2 WHERE organization_id = $1",
        organization_id,
        status,
    )


ORGANIZATION_EVENTS = (
    "verification.organization_submitted",
    "verification.lookalike_domain_flagged",
    "verification.lookalike_domain_cleared",
    "verification.deposits_sent",
    "verification.deposit_confirmation_failed",
    "verification.deposits_confirmed",
    "verification.deposits_expired",
    "verification.organization_review_decided",
    "verification.phone_confirmed",
    "verification.organization_verified",
    "verification.organization_rejected",
)


def consumer_groups(store: EventStore) -> list[ConsumerGroup]:
    return [
        ConsumerGroup(
            name="verification.case_plans",
            topics=[CASES_CASES],
            handlers={"cases.case_opened": on_case_opened},
            read_models=("case_check_plans",),
            description="Plans the checks each opened case needs (verify while you wait).",
        ),
        ConsumerGroup(
            name="verification.case_requests",
            topics=[CASES_CASES],
            handlers=case_request_handlers(store),  # type: ignore[arg-type]
            description="Opens a verification session for each request of the cases service.",
        ),
        ConsumerGroup(
            name="verification.code_delivery_outcomes",
            topics=[NOTIFICATIONS_MESSAGES],
            handlers=code_outcome_handlers(store),  # type: ignore[arg-type]
            description="Records on its session what became of each one-time code's message.",
        ),
        ConsumerGroup(
            name="verification.sessions",
            topics=[VERIFICATION_SESSIONS],
            handlers=dict.fromkeys(SESSION_EVENTS, project_session),
            read_models=("session_views", "review_queue"),
            description="Session views and the reviewer queue.",
        ),
        ConsumerGroup(
            name="verification.organizations",
            topics=[VERIFICATION_ORGANIZATIONS],
            handlers=dict.fromkeys(ORGANIZATION_EVENTS, project_organization),
            read_models=("organization_views", "lookalike_flags", "verified_domains"),
            description="Organization views, look-alike flags and verified domains.",
        ),
    ]


async def redact_subject(conn: asyncpg.Connection, subject_id: str) -> None:
    """Read models keep no personal data (ids, statuses and reasons only); the write-side
    questions of an erased account's open sessions (they quote its facts) are deleted."""
    kind, _, ref = subject_id.partition(":")
    if kind == "account":
        await conn.execute(
            """DELETE FROM knowledge_questions WHERE verification_id IN
                   (SELECT verification_id FROM session_views WHERE account_ref = $1)""",
            ref,
        )
