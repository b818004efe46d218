"""What the cases service reacts to, and the read models it keeps."""

from __future__ import annotations

import asyncpg

from contracts.events.cases import CaseOpened, CaseSource
from contracts.events.checkin import TicketIssued
from contracts.topics import CASES_CASES, CHECKIN_TICKETS
from runtime.consumer import ConsumerGroup, ReceivedEvent
from runtime.eventstore import CommandContext, EventStore
from services.cases.application import case_id_for_ticket, open_case
from services.cases.domain import OpenCase


def consumer_groups(store: EventStore) -> list[ConsumerGroup]:
    async def on_ticket_issued(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
        """A check-in intake opens a case for the account and the problem."""
        ticket = event.payload
        assert isinstance(ticket, TicketIssued)
        command = OpenCase(
            case_id=case_id_for_ticket(ticket.ticket_id),
            account_ref=ticket.intake.account_ref,
            problem_category=ticket.intake.problem_category,
            source=CaseSource(channel=ticket.channel, ticket_id=ticket.ticket_id),
            customer_id=ticket.customer_id,
            language=ticket.intake.language,
            summary=ticket.intake.description,
            at=ticket.issued_at,
        )
        await open_case(conn, store, command, CommandContext.caused_by(event.envelope, "cases"))

    return [
        ConsumerGroup(
            name="cases.intake",
            topics=[CHECKIN_TICKETS],
            handlers={"checkin.ticket_issued": on_ticket_issued},
            description="Opens a case for each check-in intake.",
        ),
        ConsumerGroup(
            name="cases.projections",
            topics=[CASES_CASES],
            handlers={"cases.case_opened": project_case_opened},
            read_models=("case_views",),
            description="Keeps the case read model the API serves.",
        ),
    ]


async def project_case_opened(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    opened = event.payload
    assert isinstance(opened, CaseOpened)
    await conn.execute(
        """INSERT INTO case_views (case_id, account_ref, case_type, problem_category, status,
               customer_id, language, source_channel, source_ticket_id, opened_at,
               correlation_id, version, subject_id, summary)
           VALUES ($1, $2, $3, $4, 'open', $5, $6, $7, $8, $9, $10, $11, $12, $13)
           ON CONFLICT (case_id) DO NOTHING""",
        opened.case_id,
        opened.account_ref,
        opened.case_type.value,
        opened.problem_category.value,
        opened.customer_id,
        opened.language.tag,
        opened.source.channel.value if opened.source.channel else None,
        opened.source.ticket_id,
        opened.opened_at,
        event.envelope.correlation_id,
        event.envelope.stream_version,
        opened.data_subject_id,
        opened.summary,
    )


async def redact_subject(conn: asyncpg.Connection, subject_id: str) -> None:
    """An erased person's own words leave the case views; the case itself stays."""
    await conn.execute("UPDATE case_views SET summary = NULL WHERE subject_id = $1", subject_id)
