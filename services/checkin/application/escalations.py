"""The reaction ``checkin.escalations``: ``cases.case_escalated`` raises the routing priority
of that account's waiting tickets. Never replayed (it appends events of its own)."""

from __future__ import annotations

import asyncpg

from contracts.events.cases import CaseEscalated
from contracts.topics import CASES_CASES
from runtime.consumer import ConsumerGroup, ReceivedEvent
from runtime.context import CommandContext
from runtime.running import RunningService
from services.checkin.application.tickets import change_ticket
from services.checkin.domain.tickets import RaisePriority


def escalation_group(runtime: RunningService) -> ConsumerGroup:
    async def on_case_escalated(
        conn: asyncpg.Connection, event: ReceivedEvent[CaseEscalated]
    ) -> None:
        escalated = event.payload
        context = CommandContext.caused_by(event.envelope, "checkin")
        rows = await conn.fetch(
            """SELECT ticket_id FROM ticket_index WHERE account_ref = $1
                 AND status IN ('waiting', 'parked') AND NOT escalated ORDER BY ticket_id""",
            escalated.account_ref,
        )
        for row in rows:
            command = RaisePriority(at=escalated.escalated_at, case_id=escalated.case_id)
            await change_ticket(conn, runtime.store, row["ticket_id"], command, context)

    return ConsumerGroup(
        name="checkin.escalations",
        topics=[CASES_CASES],
        handlers={CaseEscalated: on_case_escalated},
        description="Raises the priority of an escalated account's waiting tickets.",
    )
