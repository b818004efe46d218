"""The write-side index ``open_problems``: (account, case type) → the one unresolved case of
that problem.

It is kept in the same transaction as the case's events (an after-append hook of the case
repository), never rebuilt from Kafka. It is what makes attach-or-open safe under concurrency:
two contacts of one account arriving at once, the second waits on the first's row and attaches
to its case. ``decide`` refuses a second case of one problem from the facts gathered here; the
hook's unique row is the guard when two transactions race past that check.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg

from contracts.events.cases import CaseType
from runtime.context import CommandContext
from runtime.errors import RuleViolation
from runtime.repository import Executed
from services.cases.domain.case import ALREADY_OPEN, Case


async def keep_open_problems(
    conn: asyncpg.Connection, executed: Executed[Case], context: CommandContext
) -> None:
    """The index follows the case: one unresolved case per account and type."""
    case = executed.state
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
        raise RuleViolation(ALREADY_OPEN.format(owner=owner))


async def hold_account(conn: asyncpg.Connection, account_ref: str) -> None:
    """Hold the account until the end of the transaction, against the other writer that must
    see what this one does: a case opening reads the account's suspensions after claiming its
    problem here, a platform suspension reads this index after recording itself on the
    account. Without it the two transactions each miss the other's uncommitted write and the
    case never links the suspension; with it the later one sees the earlier one's commit, in
    either order."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('cases.account:' || $1, 0))", account_ref
    )


async def claim(
    conn: asyncpg.Connection, account_ref: str, case_type: CaseType, case_id: UUID
) -> bool:
    """Claim the problem for a new case; False when a case of it is open already."""
    claimed = await conn.fetchval(
        """INSERT INTO open_problems (account_ref, case_type, case_id) VALUES ($1, $2, $3)
           ON CONFLICT (account_ref, case_type) DO NOTHING RETURNING case_id""",
        account_ref,
        case_type.value,
        case_id,
    )
    return claimed is not None


async def owner(
    conn: asyncpg.Connection, account_ref: str, case_type: CaseType, *, lock: bool = False
) -> UUID | None:
    """The unresolved case of the problem, if any. ``lock``: hold its row until the end of the
    transaction (contacts of one problem then attach one after the other)."""
    return await conn.fetchval(  # type: ignore[no-any-return]
        "SELECT case_id FROM open_problems WHERE account_ref = $1 AND case_type = $2"
        + (" FOR UPDATE" if lock else ""),
        account_ref,
        case_type.value,
    )


async def open_cases_of(conn: asyncpg.Connection, account_ref: str) -> list[UUID]:
    rows = await conn.fetch(
        "SELECT case_id FROM open_problems WHERE account_ref = $1 ORDER BY case_id", account_ref
    )
    return [row["case_id"] for row in rows]
