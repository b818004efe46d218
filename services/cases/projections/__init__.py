"""The read models of cases, one module each, assembled into their projection groups:
``cases.projections`` (the case file, the account timeline, accounts, staff skills, from the
service's own topics) and ``cases.audit_log`` (who looked at whose data, from every service)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg

from contracts import EventPayload
from contracts.events.cases_accounts import CASES_ACCOUNTS, CASES_STAFF
from contracts.topics import AUDIT_ACCESSES, CASES_CASES
from runtime.consumer import ConsumerGroup, EventHandler
from services.cases.projections import (
    account_timeline,
    accounts,
    audit_log,
    case_views,
    staff_skills,
)


def _merged(
    *tables: Mapping[type[EventPayload], EventHandler],
) -> dict[type[EventPayload], EventHandler]:
    handlers: dict[type[EventPayload], EventHandler] = {}
    for table in tables:
        for payload, handler in table.items():
            if payload in handlers:
                raise ValueError(f"two read models of one group handle {payload.__name__}")
            handlers[payload] = handler
    return handlers


def _read_models(*modules: Any) -> Sequence[str]:
    return tuple(table for module in modules for table in module.TABLES)


def projection_groups() -> list[ConsumerGroup]:
    return [
        ConsumerGroup(
            name="cases.projections",
            topics=[CASES_CASES, CASES_ACCOUNTS, CASES_STAFF],
            handlers=_merged(case_views.handlers, accounts.handlers, staff_skills.handlers),
            read_models=_read_models(case_views, account_timeline, accounts, staff_skills),
            description="Case views, contacts, notes, the account timeline, suspensions, tags "
            "and staff skills, from the cases service's own topics; written by the commands "
            "themselves where the group is caught up on the stream (inline), so a case is on "
            "the case file when its events commit.",
            inline=True,
        ),
        ConsumerGroup(
            name="cases.audit_log",
            topics=[AUDIT_ACCESSES],
            handlers=audit_log.handlers,
            read_models=audit_log.TABLES,
            description="Keeps who read whose personal data, from every service's audit events.",
        ),
    ]


async def redact_subject(conn: asyncpg.Connection, subject_id: str) -> None:
    """An erased person's own words leave every read model; the cases themselves stay."""
    await case_views.redact(conn, subject_id)
    await account_timeline.redact(conn, subject_id)
