"""What cases holds about a person, for their copy of their data (runtime/export.py).

The cases of the person's account as the customer reads them (decision with its rule,
verification outcomes, callbacks, suspensions; never a private reporter nor internal fields),
each case's timeline as the customer sees it, the tags on the customer (the platform's and
every organization's, each with its owner: who tagged the person, for whose campaigns), and who
looked at the person's data (the audit log). The events recorded about the person (their own
words decrypted) come with it from the runtime.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from services.cases.api.case_views import shaped
from services.cases.config import Wiring
from services.cases.domain.visibility import Audience, timeline_entry_for
from services.cases.projections import account_timeline, accounts, audit_log, case_views


async def export_subject(conn: asyncpg.Connection, subject_id: str, wiring: Any) -> dict[str, Any]:
    kind, _, ref = subject_id.partition(":")
    if kind != "account":
        return {}
    assert isinstance(wiring, Wiring), "the cases service exports with its own wiring"
    appeal_period = wiring.settings.appeal_period
    cases = []
    for row in await case_views.cases_of_account(conn, ref):
        case = shaped(row, Audience.CUSTOMER, appeal_period).model_dump(mode="json")
        entries = await account_timeline.of_case(conn, row["case_id"], 1000)
        case["timeline"] = [
            {**entry, "at": entry["at"].isoformat(), "case_id": str(row["case_id"])}
            for entry in (timeline_entry_for(e, Audience.CUSTOMER) for e in entries)
            if entry is not None
        ]
        cases.append(case)
    tags = [
        {
            **tag,
            "organization_id": str(tag["organization_id"]) if tag["organization_id"] else None,
            "case_id": str(tag["case_id"]) if tag["case_id"] else None,
            "tagged_at": tag["tagged_at"].isoformat(),
        }
        for tag in await accounts.every_tag_of(conn, ref)
    ]
    accesses = await audit_log.accesses_for_export(conn, subject_id)
    return {
        "cases": cases,
        "tags": tags,
        "accesses": [{**a, "accessed_at": a["accessed_at"].isoformat()} for a in accesses],
    }
