"""Account use cases: tags on the account's customer, and the platform's suspensions (recorded
on the account, linked to every unresolved case of it)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import asyncpg

from contracts.events.cases import SuspensionRule
from contracts.events.platform import AccountSuspended
from runtime.context import CommandContext
from runtime.eventstore import EventStore
from runtime.organizations import verified_organization
from services.cases.application import open_problems, repositories
from services.cases.application.cases import change_case
from services.cases.domain.account import (
    NO_FACTS,
    Account,
    AccountFacts,
    RecordSuspension,
    TagCustomer,
    UntagCustomer,
    account_stream,
    decide,
)
from services.cases.domain.case import LinkSuspension


async def change_account(
    conn: asyncpg.Connection,
    store: EventStore,
    command: TagCustomer | UntagCustomer,
    context: CommandContext,
) -> Account:
    """Tag or untag the customer, for the platform or for a verified organization's contact
    centre (the fact whether it is verified is gathered here, the rule is the domain's)."""
    organization = command.organization_id
    facts = AccountFacts(await verified_organization(conn, organization))
    executed = await repositories.accounts(store).execute(
        conn,
        account_stream(command.account_ref),
        lambda account: decide(account, facts, command),
        context,
    )
    return executed.state


@dataclass(frozen=True)
class SuspensionOutcome:
    """What recording a platform suspension did: whether the account learnt it now (False: it
    knew it already, from Kafka or an earlier request), and the cases that link it."""

    recorded: bool
    linked_cases: list[UUID]


async def record_suspension(
    conn: asyncpg.Connection,
    store: EventStore,
    suspended: AccountSuspended,
    platform_event_id: UUID,
    context: CommandContext,
) -> SuspensionOutcome:
    """Record the platform's suspension on the account and link it to every unresolved case
    of the account (cases opened later link it when they open). Idempotent by the platform's
    suspension id, whichever way it came (Kafka or HTTP).

    The account is held first (``open_problems.hold_account``), so a case opening at the same
    moment either finds the suspension on the account or is found here, in either order."""
    await open_problems.hold_account(conn, suspended.account_ref)
    rule = SuspensionRule(
        suspension_id=suspended.suspension_id,
        rule_code=suspended.rule_code,
        rule_version=suspended.rule_version,
        threshold=suspended.threshold,
        threshold_unit=suspended.threshold_unit,
        window_hours=suspended.window_hours,
        facts=suspended.facts,
        suspended_at=suspended.suspended_at,
        scope=suspended.scope,
    )
    command = RecordSuspension(
        account_ref=suspended.account_ref,
        scope=suspended.scope,
        suspension=rule,
        platform_event_id=platform_event_id,
        at=suspended.suspended_at,
    )
    executed = await repositories.accounts(store).execute(
        conn,
        account_stream(suspended.account_ref),
        lambda account: decide(account, NO_FACTS, command),
        context,
    )
    open_cases = await open_problems.open_cases_of(conn, suspended.account_ref)
    link = LinkSuspension(rule, suspended.suspended_at)
    for case_id in open_cases:
        await change_case(conn, store, case_id, link, context)
    return SuspensionOutcome(recorded=executed.changed, linked_cases=open_cases)
