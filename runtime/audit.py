"""Audit of staff reads of personal data: one call in the endpoint that shows it.

    await record_access(conn, runtime, principal, subject_id="account:acct-42",
                        resource="case", resource_id=str(case_id),
                        fields=["summary"], purpose=f"case:{case_id}")

Appends ``audit.personal_data_accessed`` (who: the envelope's actor; whose data, what, why,
when: the payload) to the service's event store in the caller's transaction, so the read is
audited if and only if it is answered. Customers reading their own data are not audited (the
audit is about staff), except where a service asks for it with ``include_self=True``: a
customer's copy of all their data is recorded as a self-access.
"""

from __future__ import annotations

import uuid

import asyncpg

from contracts.events.audit import PersonalDataAccessed
from runtime.auth import Principal
from runtime.eventstore import CommandContext
from runtime.running import RunningService


async def record_access(
    conn: asyncpg.Connection,
    runtime: RunningService,
    principal: Principal,
    *,
    subject_id: str | None,
    resource: str,
    resource_id: str,
    fields: list[str],
    purpose: str,
    include_self: bool = False,
) -> bool:
    """Record the read when staff (or, with ``include_self``, anyone) sees personal data of a
    subject; returns whether it did."""
    if subject_id is None or not fields or not (principal.is_staff or include_self):
        return False
    access = PersonalDataAccessed(
        service=runtime.name,
        subject_id=subject_id,
        resource=resource,
        resource_id=resource_id,
        fields=sorted(fields),
        purpose=purpose,
        accessed_at=runtime.clock.now(),
    )
    if not conn.is_in_transaction():
        async with conn.transaction():
            await _append(conn, runtime, principal, access)
    else:
        await _append(conn, runtime, principal, access)
    return True


async def _append(
    conn: asyncpg.Connection,
    runtime: RunningService,
    principal: Principal,
    access: PersonalDataAccessed,
) -> None:
    await runtime.store.append(
        conn, f"access-{uuid.uuid4()}", 0, [access], CommandContext.new(principal.actor())
    )
