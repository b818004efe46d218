"""Cases use cases: load, decide (pure), append, inside the caller's transaction.

Beside the event store, one write-side table is kept in the same transaction as the events:
``open_problems`` (account, case type) → the one unresolved case of that problem. It is what
makes attach-or-open safe under concurrency (two contacts of one account arriving at once: the
second waits on the first's row and attaches to its case). Durable timers for service levels
are (re)scheduled in the same transaction too.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar
from uuid import UUID

import asyncpg

from contracts import Actor, Envelope, EventPayload
from contracts.events.cases import (
    CaseSource,
    CaseType,
    ServiceLevelBreached,
    ServiceLevelKind,
    ServiceLevelsScheduled,
    ServiceLevelWarning,
    SuspensionRule,
)
from contracts.events.platform import AccountSuspended
from contracts.vocabulary import (
    AccessibilityNeed,
    LanguagePreference,
    PersonRole,
    ProblemCategory,
    ProxyRelationship,
)
from runtime.errors import NotFound, RuleViolation
from runtime.eventstore import AggregateType, CommandContext, EventStore
from runtime.scheduler import Timer, TimerHandler, cancel, schedule
from services.cases.domain.account import (
    ACCOUNT,
    Account,
    RecordSuspension,
    account_stream,
    decide_account,
)
from services.cases.domain.staff_member import STAFF_MEMBER, StaffMember, staff_stream
from services.cases.domain.case import (
    CASE,
    AttachContact,
    Case,
    CheckServiceLevel,
    LinkSuspension,
    Merge,
    OpenCase,
    SplitContact,
    decide_attach,
    decide_check_service_level,
    decide_link_suspension,
    decide_merge,
    decide_open,
    decide_split,
)

S = TypeVar("S")
_CASES_NAMESPACE = uuid.UUID("6f1c3f0e-4a52-4b7e-9f0a-2d7c9b1e5a10")
SERVICE_LEVEL_TIMER = "cases.service_level"


def case_stream(case_id: UUID) -> str:
    return f"case-{case_id}"


def case_id_for_ticket(ticket_id: UUID) -> UUID:
    """The case a check-in ticket opens: derived, so a replayed ticket maps to the same case."""
    return uuid.uuid5(_CASES_NAMESPACE, f"ticket:{ticket_id}")


def contact_id_for_ticket(ticket_id: UUID) -> UUID:
    """The contact a ticket is: derived, so a redelivered ticket never attaches twice."""
    return uuid.uuid5(_CASES_NAMESPACE, f"contact:ticket:{ticket_id}")


async def run(
    conn: asyncpg.Connection,
    store: EventStore,
    aggregate: AggregateType[S],
    stream_id: str,
    decide: Callable[[S], Sequence[EventPayload]],
    context: CommandContext,
) -> tuple[S, list[EventPayload], list[Envelope]]:
    """Load, decide, append (only when there is something to append)."""
    history = await store.load(conn, stream_id)
    state = aggregate.fold([recorded.payload for recorded in history])
    events = list(decide(state))
    envelopes: list[Envelope] = []
    if events:
        envelopes = await store.append(conn, stream_id, len(history), events, context)
        for event in events:
            state = aggregate.evolve(state, event)
    return state, events, envelopes


async def load_case(conn: asyncpg.Connection, store: EventStore, case_id: UUID) -> Case:
    history = await store.load(conn, case_stream(case_id))
    return CASE.fold([recorded.payload for recorded in history])


async def load_account(conn: asyncpg.Connection, store: EventStore, account_ref: str) -> Account:
    history = await store.load(conn, account_stream(account_ref))
    return ACCOUNT.fold([recorded.payload for recorded in history])


# -- after every change of a case -------------------------------------------------------------


async def _keep_index(conn: asyncpg.Connection, case: Case) -> None:
    """The open-problem index follows the case: one unresolved case per account and type."""
    assert case.case_id is not None
    assert case.case_type is not None
    if not case.active:
        await conn.execute("DELETE FROM open_problems WHERE case_id = $1", case.case_id)
        return
    owner = await conn.fetchval(
        """INSERT INTO open_problems (account_ref, case_type, case_id) VALUES ($1, $2, $3)
           ON CONFLICT (account_ref, case_type) DO UPDATE SET case_id = open_problems.case_id
           RETURNING case_id""",
        case.account_ref,
        case.case_type.value,
        case.case_id,
    )
    if owner != case.case_id:
        raise RuleViolation(
            f"case {owner} is already open for this account and problem: "
            "attach the contact to it, or merge the cases"
        )


def timer_id(case_id: UUID, kind: ServiceLevelKind, warning: bool) -> str:
    return f"sla:{case_id}:{kind.value}:{'warning' if warning else 'breach'}"


async def _keep_timers(conn: asyncpg.Connection, case: Case, context: CommandContext) -> None:
    """Durable timers mirror the running service-level clocks (ids are deterministic)."""
    assert case.case_id is not None
    for kind in ServiceLevelKind:
        target = case.target(kind)
        running = (
            target is not None
            and case.active
            and not case.sla_paused
            and (kind, target.due_at) not in case.breached
        )
        if not running:
            await cancel(conn, timer_id(case.case_id, kind, False))
            await cancel(conn, timer_id(case.case_id, kind, True))
            continue
        assert target is not None
        base = {
            "case_id": str(case.case_id),
            "kind": kind.value,
            "due_at": target.due_at.isoformat(),
            "correlation_id": str(context.correlation_id),
        }
        await schedule(
            conn,
            timer_id(case.case_id, kind, False),
            SERVICE_LEVEL_TIMER,
            target.due_at,
            {**base, "warning": False},
        )
        if (kind, target.due_at) in case.warned or target.warn_at >= target.due_at:
            await cancel(conn, timer_id(case.case_id, kind, True))
        else:
            await schedule(
                conn,
                timer_id(case.case_id, kind, True),
                SERVICE_LEVEL_TIMER,
                target.warn_at,
                {**base, "warning": True},
            )


_CLOCK_EVENTS = (ServiceLevelsScheduled, ServiceLevelWarning, ServiceLevelBreached)


async def _after(
    conn: asyncpg.Connection,
    case: Case,
    events: Sequence[EventPayload],
    context: CommandContext,
) -> None:
    if not events:
        return
    await _keep_index(conn, case)
    if any(isinstance(event, _CLOCK_EVENTS) for event in events):
        await _keep_timers(conn, case, context)


async def case_command(
    conn: asyncpg.Connection,
    store: EventStore,
    case_id: UUID,
    decide: Callable[[Case], Sequence[EventPayload]],
    context: CommandContext,
) -> Case:
    """Any command on one case: decide, append, keep the index and timers."""
    case, events, _ = await run(conn, store, CASE, case_stream(case_id), decide, context)
    await _after(conn, case, events, context)
    return case


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
    Returns the case and whether the contact was attached (False: a case was opened)."""
    claimed = await conn.fetchval(
        """INSERT INTO open_problems (account_ref, case_type, case_id) VALUES ($1, $2, $3)
           ON CONFLICT (account_ref, case_type) DO NOTHING RETURNING case_id""",
        contact.account_ref,
        contact.case_type.value,
        contact.new_case_id,
    )
    if claimed is None:
        # the row lock serializes contacts of one problem: each attaches after the other
        existing = await conn.fetchval(
            """SELECT case_id FROM open_problems WHERE account_ref = $1 AND case_type = $2
               FOR UPDATE""",
            contact.account_ref,
            contact.case_type.value,
        )
        if existing == contact.new_case_id:  # this very contact opened it already
            return await load_case(conn, store, existing), False
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
            case = await case_command(
                conn, store, existing, lambda state: decide_attach(state, attach), context
            )
            return case, True
    account = await load_account(conn, store, contact.account_ref)
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
    case = await case_command(
        conn, store, contact.new_case_id, lambda state: decide_open(state, command), context
    )
    return case, False


# -- merge and split --------------------------------------------------------------------------


async def merge_cases(
    conn: asyncpg.Connection,
    store: EventStore,
    survivor_id: UUID,
    merged_id: UUID,
    at: datetime,
    context: CommandContext,
) -> Case:
    survivor_history = await store.load(conn, case_stream(survivor_id))
    merged_history = await store.load(conn, case_stream(merged_id))
    survivor = CASE.fold([r.payload for r in survivor_history])
    merged = CASE.fold([r.payload for r in merged_history])
    if not survivor.opened:
        raise NotFound(f"case {survivor_id} not found")
    if not merged.opened:
        raise NotFound(f"case {merged_id} not found")
    into, away = decide_merge(survivor, merged, Merge(at))
    # the merged case leaves the index first, so the survivor's entry is never contested
    await store.append(conn, case_stream(merged_id), len(merged_history), away, context)
    merged = CASE.fold([*(r.payload for r in merged_history), *away])
    await _after(conn, merged, away, context)
    await store.append(conn, case_stream(survivor_id), len(survivor_history), into, context)
    survivor = CASE.fold([*(r.payload for r in survivor_history), *into])
    await _after(conn, survivor, into, context)
    return survivor


async def split_contact(
    conn: asyncpg.Connection,
    store: EventStore,
    source_id: UUID,
    command: SplitContact,
    context: CommandContext,
) -> Case:
    history = await store.load(conn, case_stream(source_id))
    source = CASE.fold([r.payload for r in history])
    if not source.opened:
        raise NotFound(f"case {source_id} not found")
    account = await load_account(conn, store, command.account_ref or source.account_ref or "")
    away, opened = decide_split(source, command, account.standing_suspensions())
    await store.append(conn, case_stream(source_id), len(history), away, context)
    source = CASE.fold([*(r.payload for r in history), *away])
    await _after(conn, source, away, context)
    await store.append(conn, case_stream(command.new_case_id), 0, opened, context)
    new_case = CASE.fold(opened)
    await _after(conn, new_case, opened, context)
    return new_case


# -- platform suspensions ---------------------------------------------------------------------


async def record_suspension(
    conn: asyncpg.Connection,
    store: EventStore,
    suspended: AccountSuspended,
    platform_event_id: UUID,
    context: CommandContext,
) -> list[UUID]:
    """Record the platform's suspension on the account and link it to every unresolved case
    of the account (cases opened later link it when they open). Returns the linked cases."""
    rule = SuspensionRule(
        suspension_id=suspended.suspension_id,
        rule_code=suspended.rule_code,
        rule_version=suspended.rule_version,
        threshold=suspended.threshold,
        threshold_unit=suspended.threshold_unit,
        window_hours=suspended.window_hours,
        facts=suspended.facts,
        suspended_at=suspended.suspended_at,
    )
    command = RecordSuspension(
        account_ref=suspended.account_ref,
        scope=suspended.scope,
        suspension=rule,
        platform_event_id=platform_event_id,
        at=suspended.suspended_at,
    )
    await run(
        conn,
        store,
        ACCOUNT,
        account_stream(suspended.account_ref),
        lambda account: decide_account(account, command),
        context,
    )
    open_cases = await conn.fetch(
        "SELECT case_id FROM open_problems WHERE account_ref = $1 ORDER BY case_id",
        suspended.account_ref,
    )
    link = LinkSuspension(rule, suspended.suspended_at)
    for row in open_cases:
        await case_command(
            conn,
            store,
            row["case_id"],
            lambda case: decide_link_suspension(case, link),
            context,
        )
    return [row["case_id"] for row in open_cases]


async def set_staff_skills(
    conn: asyncpg.Connection,
    store: EventStore,
    staff_id: str,
    decide: Callable[[StaffMember], Sequence[EventPayload]],
    context: CommandContext,
) -> StaffMember:
    member, _, _ = await run(conn, store, STAFF_MEMBER, staff_stream(staff_id), decide, context)
    return member


async def account_command(
    conn: asyncpg.Connection,
    store: EventStore,
    account_ref: str,
    decide: Callable[[Account], Sequence[EventPayload]],
    context: CommandContext,
) -> Account:
    account, _, _ = await run(conn, store, ACCOUNT, account_stream(account_ref), decide, context)
    return account


# -- timers -----------------------------------------------------------------------------------


def service_level_timer(store: EventStore) -> TimerHandler:
    """Fires a service-level warning or breach, if the clock still runs as scheduled."""

    async def fire(conn: asyncpg.Connection, timer: Timer, now: datetime) -> None:
        payload = timer.payload
        command = CheckServiceLevel(
            kind=ServiceLevelKind(payload["kind"]),
            due_at=datetime.fromisoformat(payload["due_at"]),
            warning=bool(payload["warning"]),
            at=now,
        )
        context = CommandContext(
            actor=Actor(id="cases", role="service"),
            correlation_id=UUID(payload["correlation_id"]),
        )
        await case_command(
            conn,
            store,
            UUID(payload["case_id"]),
            lambda case: decide_check_service_level(case, command),
            context,
        )

    return fire
