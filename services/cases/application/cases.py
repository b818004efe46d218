"""Cases use cases: gather the facts, then the one command path (load, decide, append, the
index and the timers in the same transaction), inside the caller's transaction.

A contact attaches to the account's open case of its problem, or opens one; merging and
splitting change two cases in one transaction; a service-level timer checks its clock.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from contracts.events.cases import CaseSource, CaseType, ServiceLevelKind
from contracts.vocabulary import (
    AccessibilityNeed,
    LanguagePreference,
    PersonRole,
    ProblemCategory,
    ProxyRelationship,
)
from runtime.context import CommandContext
from runtime.errors import NotFound
from runtime.eventstore import EventStore
from runtime.running import RunningService
from runtime.scheduler import Timer, TimerHandler
from services.cases.application import open_problems, repositories
from services.cases.domain.account import account_stream
from services.cases.domain.case import (
    AttachContact,
    Case,
    CaseCommand,
    CaseFacts,
    CheckServiceLevel,
    CloseAfterAppealPeriod,
    Merge,
    OpenCase,
    Reopen,
    SplitContact,
    case_stream,
    decide,
    decide_merge,
    decide_split,
)
from services.cases.domain.visibility import Caller

_CASES_NAMESPACE = uuid.UUID("6f1c3f0e-4a52-4b7e-9f0a-2d7c9b1e5a10")


def case_id_for_ticket(ticket_id: UUID) -> UUID:
    """The case a check-in ticket opens: derived, so a replayed ticket maps to the same case."""
    return uuid.uuid5(_CASES_NAMESPACE, f"ticket:{ticket_id}")


def contact_id_for_ticket(ticket_id: UUID) -> UUID:
    """The contact a ticket is: derived, so a redelivered ticket never attaches twice."""
    return uuid.uuid5(_CASES_NAMESPACE, f"contact:ticket:{ticket_id}")


async def case_facts(
    conn: asyncpg.Connection,
    store: EventStore,
    case_id: UUID,
    command: CaseCommand,
    caller: Caller | None,
) -> CaseFacts:
    """What ``decide`` needs beside the case: who asks; for a reopening, which case of the
    same problem is open now and the account's standing suspensions (the account held first,
    as for an opening: a suspension recorded at the same moment is seen here or links the
    reopened case)."""
    if isinstance(command, Reopen):
        case = await repositories.cases(store).state(conn, case_stream(case_id))
        if case.account_ref is not None and case.case_type is not None:
            await open_problems.hold_account(conn, case.account_ref)
            account = await repositories.accounts(store).state(
                conn, account_stream(case.account_ref)
            )
            return CaseFacts(
                case_id=case_id,
                caller=caller,
                open_case=await open_problems.owner(conn, case.account_ref, case.case_type),
                suspensions=account.standing_suspensions(),
            )
    return CaseFacts(case_id=case_id, caller=caller)


async def change_case(
    conn: asyncpg.Connection,
    store: EventStore,
    case_id: UUID,
    command: CaseCommand,
    context: CommandContext,
    caller: Caller | None = None,
) -> Case:
    """Any command on one case; ``caller`` when it comes through the API (a customer must
    follow the case). Returns the case after it."""
    facts = await case_facts(conn, store, case_id, command, caller)
    executed = await repositories.cases(store).execute(
        conn, case_stream(case_id), lambda case: decide(case, facts, command), context
    )
    return executed.state


# -- attach or open ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NewContact:
    """A contact about a problem of an account: from a ticket, a remote channel or an agent."""

    account_ref: str
    problem_category: ProblemCategory
    case_type: CaseType
    source: CaseSource
    customer_id: str | None
    language: LanguagePreference
    at: datetime
    new_case_id: UUID  # the case it opens if no case of the problem is open
    contact_id: UUID
    words: str | None = None
    site_id: str | None = None
    requester_role: PersonRole | None = None
    proxy_relationship: ProxyRelationship | None = None
    accessibility_needs: tuple[AccessibilityNeed, ...] = ()


async def open_or_attach(
    conn: asyncpg.Connection, store: EventStore, contact: NewContact, context: CommandContext
) -> tuple[Case, bool]:
    """Attach the contact to the account's open case of the same problem, or open one.
    Returns the case and whether the contact was attached (False: a case was opened).

    The account is held first (``open_problems.hold_account``): a platform suspension
    recorded at the same moment is then either seen here, or sees this case and links it."""
    await open_problems.hold_account(conn, contact.account_ref)
    if not await open_problems.claim(
        conn, contact.account_ref, contact.case_type, contact.new_case_id
    ):
        # the row lock serializes contacts of one problem: each attaches after the other
        existing = await open_problems.owner(
            conn, contact.account_ref, contact.case_type, lock=True
        )
        if existing == contact.new_case_id:  # this very contact opened it already
            return await repositories.cases(store).state(conn, case_stream(existing)), False
        if existing is not None:
            attach = AttachContact(
                contact_id=contact.contact_id,
                source=contact.source,
                customer_id=contact.customer_id,
                language=contact.language,
                at=contact.at,
                words=contact.words,
                site_id=contact.site_id,
                requester_role=contact.requester_role,
                proxy_relationship=contact.proxy_relationship,
            )
            return await change_case(conn, store, existing, attach, context), True
    account = await repositories.accounts(store).state(conn, account_stream(contact.account_ref))
    command = OpenCase(
        case_id=contact.new_case_id,
        account_ref=contact.account_ref,
        problem_category=contact.problem_category,
        case_type=contact.case_type,
        source=contact.source,
        customer_id=contact.customer_id,
        language=contact.language,
        at=contact.at,
        summary=contact.words,
        contact_id=contact.contact_id,
        site_id=contact.site_id,
        requester_role=contact.requester_role,
        proxy_relationship=contact.proxy_relationship,
        accessibility_needs=contact.accessibility_needs,
        suspensions=account.standing_suspensions(),
    )
    return await change_case(conn, store, contact.new_case_id, command, context), False


# -- merge and split --------------------------------------------------------------------------


async def merge_cases(
    conn: asyncpg.Connection,
    store: EventStore,
    survivor_id: UUID,
    merged_id: UUID,
    at: datetime,
    context: CommandContext,
) -> Case:
    repository = repositories.cases(store)
    survivor = await repository.state(conn, case_stream(survivor_id))
    if not survivor.opened:
        raise NotFound(f"case {survivor_id} not found")
    if not (await repository.state(conn, case_stream(merged_id))).opened:
        raise NotFound(f"case {merged_id} not found")
    command = Merge(at)
    # the merged case leaves the index first, so the survivor's entry is never contested
    away = await repository.execute(
        conn,
        case_stream(merged_id),
        lambda merged: decide_merge(survivor, merged, command)[1],
        context,
    )
    into = await repository.execute(
        conn,
        case_stream(survivor_id),
        lambda current: decide_merge(current, away.before, command)[0],
        context,
    )
    return into.state


async def split_contact(
    conn: asyncpg.Connection,
    store: EventStore,
    source_id: UUID,
    command: SplitContact,
    context: CommandContext,
) -> Case:
    repository = repositories.cases(store)
    source = await repository.state(conn, case_stream(source_id))
    if not source.opened:
        raise NotFound(f"case {source_id} not found")
    account_ref = command.account_ref or source.account_ref or ""
    await open_problems.hold_account(conn, account_ref)
    account = await repositories.accounts(store).state(conn, account_stream(account_ref))
    facts = CaseFacts(
        case_id=command.new_case_id,
        open_case=await open_problems.owner(conn, account_ref, command.case_type),
        suspensions=account.standing_suspensions(),
    )
    away = await repository.execute(
        conn,
        case_stream(source_id),
        lambda current: decide_split(current, command, facts)[0],
        context,
    )
    opened = await repository.execute(
        conn,
        case_stream(command.new_case_id),
        lambda _: decide_split(away.before, command, facts)[1],
        context,
    )
    return opened.state


# -- service-level timers ---------------------------------------------------------------------


def service_level_timer(runtime: RunningService) -> TimerHandler:
    """Fires a service-level warning or breach, if the clock still runs as scheduled; in the
    flow of the command that scheduled the timer."""

    async def fire(conn: asyncpg.Connection, timer: Timer, now: datetime) -> None:
        payload = timer.payload
        command = CheckServiceLevel(
            kind=ServiceLevelKind(payload["kind"]),
            due_at=datetime.fromisoformat(payload["due_at"]),
            warning=bool(payload["warning"]),
            at=now,
        )
        await change_case(
            conn, runtime.store, UUID(payload["case_id"]), command, timer.context("cases")
        )

    return fire


def appeal_period_timer(runtime: RunningService) -> TimerHandler:
    """Closes a decided case when its appeal period is over (nothing if it was reopened); in
    the flow of the decision that scheduled the timer."""

    async def fire(conn: asyncpg.Connection, timer: Timer, now: datetime) -> None:
        await change_case(
            conn,
            runtime.store,
            UUID(timer.payload["case_id"]),
            CloseAfterAppealPeriod(now),
            timer.context("cases"),
        )

    return fire
