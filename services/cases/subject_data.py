"""What cases holds about a person, for their copy of their data (runtime/export.py).

The cases of the person's account as the customer reads them (decision with its rule,
verification outcomes, callbacks, suspensions; never a private reporter nor internal fields),
each case's timeline as the customer sees it, and who looked at the person's data (the audit
log). The events recorded about the person (their own words decrypted) come with it from the
runtime.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from services.cases.api.cases import _COLUMNS, _TIMELINE, shaped
from services.cases.domain.visibility import Audience, timeline_entry_for


async def export_subject(conn: asyncpg.Connection, subject_id: str) -> dict[str, Any]:
    kind, _, ref = subject_id.partition(":")
    if kind != "account":
        return {}
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM case_views WHERE account_ref = $1 ORDER BY opened_at", ref
    )
    cases = []
    for row in rows:
        case = shaped(dict(row), Audience.CUSTOMER).model_dump(mode="json")
        entries = await conn.fetch(_TIMELINE.format(where="t.case_id = $1"), row["case_id"], 1000)
        case["timeline"] = [
            {**entry, "at": entry["at"].isoformat(), "case_id": str(row["case_id"])}
            for entry in (timeline_entry_for(dict(e), Audience.CUSTOMER) for e in entries)
            if entry is not None
        ]
        cases.append(case)
    accesses = await conn.fetch(
        """SELECT service, resource, resource_id, fields, purpose, actor_role, accessed_at
           FROM personal_data_accesses WHERE subject_id = $1 ORDER BY accessed_at""",
        subject_id,
    )
    return {
        "cases": cases,
        "accesses": [{**dict(a), "accessed_at": a["accessed_at"].isoformat()} for a in accesses],
    }
