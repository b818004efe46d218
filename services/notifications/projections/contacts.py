"""Read model ``notification_contacts``: the phone a ticket's holder left (personal data,
decrypted here, erased on request)."""

from __future__ import annotations

import asyncpg

from contracts.events.checkin import TicketIssued
from runtime.consumer import EventHandler, ReceivedEvent

TABLES = ("notification_contacts",)


async def project_contact(conn: asyncpg.Connection, event: ReceivedEvent[TicketIssued]) -> None:
    """Where to reach a ticket's holder: personal data, decrypted here, erased on request."""
    ticket = event.payload
    if ticket.intake.contact_phone is None:
        return
    await conn.execute(
        """INSERT INTO notification_contacts
               (recipient_ref, subject_id, phone, language, issued_at)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT (recipient_ref) DO NOTHING""",
        f"ticket:{ticket.ticket_id}",
        ticket.data_subject_id,
        ticket.intake.contact_phone,
        ticket.intake.language.tag,
        ticket.issued_at,
    )


handlers: dict[type, EventHandler] = {TicketIssued: project_contact}


async def redact(conn: asyncpg.Connection, subject_id: str) -> None:
    await conn.execute("DELETE FROM notification_contacts WHERE subject_id = $1", subject_id)
