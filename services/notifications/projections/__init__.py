"""The read models of notifications, one module each (its tables, a handler per typed event,
its queries), assembled here into the projection groups. Every group is rebuildable:
truncate its tables, replay its topics."""

from __future__ import annotations

import asyncpg

from contracts.events.cases_accounts import CASES_ACCOUNTS
from contracts.events.notifications import NOTIFICATIONS_RECIPIENTS
from contracts.events.notifications_campaigns import NOTIFICATIONS_CAMPAIGNS
from contracts.topics import (
    CASES_CASES,
    CHECKIN_TICKETS,
    NOTIFICATIONS_CALLBACKS,
    NOTIFICATIONS_MESSAGES,
)
from runtime.consumer import ConsumerGroup
from services.notifications.projections import (
    callbacks,
    campaign_audience,
    campaigns,
    case_customers,
    contacts,
    messages,
    preferences,
    ticket_cases,
)


def projection_groups() -> list[ConsumerGroup]:
    return [
        ConsumerGroup(
            name="notifications.ticket_cases",
            topics=[CASES_CASES],
            handlers=ticket_cases.handlers,
            read_models=ticket_cases.TABLES,
            description="The case each check-in ticket opened or joined (queue callbacks name it).",
            reads_personal_data=False,  # ids only: no summary, no words
        ),
        ConsumerGroup(
            name="notifications.case_customers",
            topics=[CASES_CASES],
            handlers=case_customers.handlers,
            read_models=case_customers.TABLES,
            description="Which customer each case belongs to (their own callbacks).",
            reads_personal_data=False,  # ids only: no summary
        ),
        ConsumerGroup(
            name="notifications.projections",
            topics=[
                NOTIFICATIONS_MESSAGES,
                NOTIFICATIONS_CALLBACKS,
                NOTIFICATIONS_RECIPIENTS,
                CHECKIN_TICKETS,
            ],
            handlers={
                **contacts.handlers,
                **messages.handlers,
                **callbacks.handlers,
                **preferences.handlers,
            },
            read_models=(
                *messages.TABLES,
                *contacts.TABLES,
                *callbacks.TABLES,
                *preferences.TABLES,
            ),
            description="Messages, callbacks (the due lists), preferences, and the contact "
            "details to reach people.",
        ),
        ConsumerGroup(
            name="notifications.campaign_audience",
            topics=[CASES_ACCOUNTS, CASES_CASES],
            handlers=campaign_audience.handlers,
            read_models=campaign_audience.TABLES,
            description="Who carries each tag, and who has an open complaint or appeal.",
            reads_personal_data=False,  # who and whether, never what was said
        ),
        ConsumerGroup(
            name="notifications.campaigns",
            topics=[NOTIFICATIONS_CAMPAIGNS],
            handlers=campaigns.handlers,
            read_models=campaigns.TABLES,
            description="The campaigns and their progress.",
        ),
    ]


async def redact_subject(conn: asyncpg.Connection, subject_id: str) -> None:
    """Forget how to reach a person: their contacts, callback numbers and preferences."""
    await contacts.redact(conn, subject_id)
    await callbacks.redact(conn, subject_id)
    await preferences.redact(conn, subject_id)
