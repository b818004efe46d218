"""Read model ``case_check_plans``: for each opened case, the checks it will need."""

from __future__ import annotations

import asyncpg

from contracts.events.cases import CaseOpened
from contracts.topics import CASES_CASES
from runtime.consumer import ConsumerGroup, ReceivedEvent
from runtime.eventstore import EventStore
from services.verification.domain import required_checks


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


def consumer_groups(store: EventStore) -> list[ConsumerGroup]:
    return [
        ConsumerGroup(
            name="verification.case_plans",
            topics=[CASES_CASES],
            handlers={"cases.case_opened": on_case_opened},
            read_models=("case_check_plans",),
            description="Plans the checks each opened case needs (verify while you wait).",
        )
    ]
